/// An exact decimal number with 8 fractional digits, stored as an `Int64` count of 10⁻⁸ units.
///
/// Money, prices and quantities use `Fixed` (DESIGN.md §2: money is exact): sums are exact, products and
/// quotients round half-to-even at the 8th decimal and trap on overflow instead of wrapping.
/// Range: ±92,233,720,368.54775807. Features and model maths use `Double` instead.
public struct Fixed: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Units of 10⁻⁸.
    public var units: Int64

    public static let scale: Int64 = 100_000_000
    public static let decimals = 8
    public static let zero = Fixed(units: 0)
    public static let one = Fixed(units: scale)

    public init(units: Int64) { self.units = units }

    public init(_ integer: Int) { units = Int64(integer) * Self.scale }

    /// Exact parse of a plain decimal ("-12.345"). Returns nil for anything else or more than 8 decimals
    /// that are not zeros, or a value out of range.
    public init?(_ text: some StringProtocol) {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let intPart = parts.first, !(intPart.isEmpty && (parts.count < 2 || parts[1].isEmpty)) else { return nil }
        var frac = parts.count == 2 ? parts[1] : ""
        guard intPart.allSatisfy(\.isASCII), intPart.allSatisfy(\.isNumber), frac.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        while frac.count > Self.decimals, frac.last == "0" { frac = frac.dropLast() }
        guard frac.count <= Self.decimals else { return nil }
        var value: Int64 = 0
        for c in intPart {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c.wholeNumberValue!))
            if o1 || o2 { return nil }
            value = a
        }
        let (scaled, o3) = value.multipliedReportingOverflow(by: Self.scale)
        if o3 { return nil }
        var fracUnits: Int64 = 0
        for (i, c) in frac.enumerated() {
            var digit = Int64(c.wholeNumberValue!)
            for _ in 0..<(Self.decimals - 1 - i) { digit *= 10 }
            fracUnits += digit
        }
        let (total, o4) = scaled.addingReportingOverflow(fracUnits)
        if o4 { return nil }
        units = negative ? -total : total
    }

    /// Nearest `Fixed` to a `Double` (half-to-even); for converting model outputs into sizes, never for money
    /// that came in exact.
    public init(approximating value: Double) {
        units = Int64((value * Double(Self.scale)).rounded(.toNearestOrEven))
    }

    public var doubleValue: Double { Double(units) / Double(Self.scale) }

    /// The shortest exact decimal: "-12.5", "0.00000001", "3" (no trailing zeros, no point without a fraction). Written
    /// digit by digit into one string (risk's check texts and the CSV writers make millions of these).
    public var description: String {
        let magnitude = units.magnitude
        var integer = magnitude / UInt64(Self.scale)
        var fraction = magnitude % UInt64(Self.scale)
        var fractionDigits = fraction == 0 ? 0 : Self.decimals
        while fractionDigits > 0 && fraction % 10 == 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        var integerDigits = 1
        var rest = integer / 10
        while rest > 0 {
            integerDigits += 1
            rest /= 10
        }
        let count = (units < 0 ? 1 : 0) + integerDigits + (fractionDigits > 0 ? 1 + fractionDigits : 0)
        return String(unsafeUninitializedCapacity: count) { buffer in
            var end = count
            for _ in 0..<fractionDigits {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: 48 + fraction % 10)
                fraction /= 10
            }
            if fractionDigits > 0 {
                end -= 1
                buffer[end] = UInt8(ascii: ".")
            }
            for _ in 0..<integerDigits {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: 48 + integer % 10)
                integer /= 10
            }
            if units < 0 { buffer[0] = UInt8(ascii: "-") }
            return count
        }
    }

    public static func < (a: Fixed, b: Fixed) -> Bool { a.units < b.units }
    public static func + (a: Fixed, b: Fixed) -> Fixed { Fixed(units: a.units + b.units) }
    public static func - (a: Fixed, b: Fixed) -> Fixed { Fixed(units: a.units - b.units) }
    public static prefix func - (a: Fixed) -> Fixed { Fixed(units: -a.units) }
    public static func += (a: inout Fixed, b: Fixed) { a.units += b.units }
    public static func -= (a: inout Fixed, b: Fixed) { a.units -= b.units }

    /// Product rounded half-to-even at 8 decimals. Traps on overflow.
    public static func * (a: Fixed, b: Fixed) -> Fixed {
        let wide = a.units.multipliedFullWidth(by: b.units)
        return Fixed(units: divideRounded(high: wide.high, low: wide.low, by: scale))
    }

    /// Quotient rounded half-to-even at 8 decimals. Traps on division by zero or overflow.
    public static func / (a: Fixed, b: Fixed) -> Fixed {
        precondition(b.units != 0, "Fixed division by zero")
        let wide = a.units.multipliedFullWidth(by: scale)
        return Fixed(units: divideRounded(high: wide.high, low: wide.low, by: b.units))
    }

    public var magnitude: Fixed { Fixed(units: units < 0 ? -units : units) }
    public var isZero: Bool { units == 0 }
    public var signum: Int { units > 0 ? 1 : units < 0 ? -1 : 0 }

    /// Rounds toward zero to a multiple of `step` (e.g. a lot size).
    public func truncated(toMultipleOf step: Fixed) -> Fixed {
        precondition(step.units > 0, "step must be positive")
        return Fixed(units: units / step.units * step.units)
    }

    /// (high, low) / divisor, rounded half-to-even.
    private static func divideRounded(high: Int64, low: UInt64, by divisor: Int64) -> Int64 {
        let negative = (high < 0) != (divisor < 0)
        // Work on magnitudes with 128-bit unsigned arithmetic.
        var (h, l) = (UInt64(bitPattern: high), low)
        if high < 0 { (h, l) = negate(h, l) }
        let d = divisor.magnitude
        precondition(h < d, "Fixed arithmetic overflow")
        let (q, r) = d.dividingFullWidth((h, l))
        var quotient = q
        let twice = r.multipliedFullWidth(by: 2)
        if twice.high > 0 || twice.low > d || (twice.low == d && quotient % 2 == 1) { quotient += 1 }
        precondition(quotient <= UInt64(Int64.max), "Fixed arithmetic overflow")
        return negative ? -Int64(quotient) : Int64(quotient)
    }

    private static func negate(_ h: UInt64, _ l: UInt64) -> (UInt64, UInt64) {
        let nl = ~l &+ 1
        let nh = ~h &+ (nl == 0 ? 1 : 0)
        return (nh, nl)
    }
}

extension Fixed: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}
