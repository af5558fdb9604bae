import QuorumModel
import Testing

@Suite("Fixed as text")
struct FixedTextTests {
    /// The text the way it is defined: sign, integer part, then "." and the eight fraction digits without trailing zeros
    /// (none without a fraction), made with the standard library's integer printing.
    static func reference(_ units: Int64) -> String {
        let magnitude = units.magnitude
        let integer = String(magnitude / 100_000_000)
        var fraction = String(magnitude % 100_000_000)
        fraction = String(repeating: "0", count: 8 - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        return (units < 0 ? "-" : "") + integer + (fraction.isEmpty ? "" : "." + fraction)
    }

    @Test("worked examples: zero, whole numbers, the smallest unit, trailing zeros, negatives, the extremes")
    func examples() {
        #expect(Fixed.zero.description == "0")
        #expect(Fixed(units: 300_000_000).description == "3")
        #expect(Fixed(units: 1).description == "0.00000001")
        #expect(Fixed(units: -1).description == "-0.00000001")
        #expect(Fixed(units: 1_250_000_000).description == "12.5")
        #expect(Fixed(units: -6_425_049_999_999).description == "-64250.49999999")
        #expect(Fixed(units: 1_000_000_000_000).description == "10000")
        #expect(Fixed(units: .max).description == "92233720368.54775807")
        #expect(Fixed(units: .min).description == "-92233720368.54775808")
    }

    @Test("random values print as the reference does and parse back to the same units")
    func randomValues() {
        var rng = SplitMix64(seed: 42)
        for k in 0..<20_000 {
            // Every magnitude from one unit to the whole range, and round numbers (trailing zeros) among them.
            var units = Int64(truncatingIfNeeded: rng.next()) >> Int64(rng.next() % 63)
            if k % 4 == 0 { units = units / 1_000 * 1_000 }
            let text = Fixed(units: units).description
            #expect(text == Self.reference(units), "units \(units)")
            #expect(Fixed(text)?.units == units, "parsing \(text) back")
        }
    }
}
