import QuorumProto
import SwiftProtobuf
import Testing

@Suite("Quorum_V1_Decimal text conversion and rescaling")
struct DecimalTests {
    struct Parsed: Sendable, CustomTestStringConvertible {
        let text: String
        let units: Int64
        let scale: UInt32
        let canonical: String
        var testDescription: String { text }
    }

    static let valid: [Parsed] = [
        Parsed(text: "123.45", units: 12345, scale: 2, canonical: "123.45"),
        Parsed(text: "-0.001", units: -1, scale: 3, canonical: "-0.001"),
        Parsed(text: "7", units: 7, scale: 0, canonical: "7"),
        Parsed(text: "+1.50", units: 150, scale: 2, canonical: "1.50"),
        Parsed(text: "0", units: 0, scale: 0, canonical: "0"),
        Parsed(text: "-0", units: 0, scale: 0, canonical: "0"),
        Parsed(text: "0.00", units: 0, scale: 2, canonical: "0.00"),
        Parsed(text: "-12.5", units: -125, scale: 1, canonical: "-12.5"),
        Parsed(text: "007.10", units: 710, scale: 2, canonical: "7.10"),
        Parsed(text: "0.000000000000000001", units: 1, scale: 18, canonical: "0.000000000000000001"),
        Parsed(text: "9223372036854775807", units: .max, scale: 0, canonical: "9223372036854775807"),
        Parsed(text: "-9223372036854775808", units: .min, scale: 0, canonical: "-9223372036854775808"),
        Parsed(text: "-9.223372036854775808", units: .min, scale: 18, canonical: "-9.223372036854775808"),
    ]

    @Test("valid text parses to exact units and scale, and prints back canonically", arguments: valid)
    func parsesExactly(_ sample: Parsed) throws {
        let value = try Quorum_V1_Decimal(parsing: sample.text)
        #expect(value.units == sample.units)
        #expect(value.scale == sample.scale)
        #expect(value.description == sample.canonical)
        #expect(try Quorum_V1_Decimal(parsing: value.description) == value)
    }

    @Test("0.1 + 0.2 is exactly 0.3")
    func tenthPlusTwoTenths() throws {
        let a = try Quorum_V1_Decimal(parsing: "0.1")
        let b = try Quorum_V1_Decimal(parsing: "0.2")
        #expect(a.scale == b.scale)
        let sum = Quorum_V1_Decimal(units: a.units + b.units, scale: a.scale)
        #expect(sum == (try Quorum_V1_Decimal(parsing: "0.3")))
        #expect(sum.description == "0.3")
    }

    @Test("adding values of different scales after rescaling is exact")
    func mixedScaleSum() throws {
        let price = try Quorum_V1_Decimal(parsing: "64250.5")
        let tick = try Quorum_V1_Decimal(parsing: "-0.00000001")
        let scale = max(price.scale, tick.scale)
        let sum = Quorum_V1_Decimal(
            units: try price.rescaled(to: scale).units + tick.rescaled(to: scale).units, scale: scale)
        #expect(sum.description == "64250.49999999")
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        let text: String
        let kind: QuorumDecimalError.Kind
        var testDescription: String { "\"\(text)\"" }
    }

    static let invalid: [Invalid] = [
        Invalid(text: "", kind: .empty),
        Invalid(text: "abc", kind: .unexpectedCharacter("a", offset: 0)),
        Invalid(text: "1.2.3", kind: .unexpectedCharacter(".", offset: 3)),
        Invalid(text: "1e5", kind: .unexpectedCharacter("e", offset: 1)),
        Invalid(text: " 1", kind: .unexpectedCharacter(" ", offset: 0)),
        Invalid(text: "1,000", kind: .unexpectedCharacter(",", offset: 1)),
        Invalid(text: "--1", kind: .unexpectedCharacter("-", offset: 1)),
        Invalid(text: "1-", kind: .unexpectedCharacter("-", offset: 1)),
        Invalid(text: "1.", kind: .missingDigits),
        Invalid(text: ".5", kind: .missingDigits),
        Invalid(text: "-", kind: .missingDigits),
        Invalid(text: "+", kind: .missingDigits),
        Invalid(text: "9223372036854775808", kind: .overflow),
        Invalid(text: "-9223372036854775809", kind: .overflow),
        Invalid(text: "123456789012345678901234567890", kind: .overflow),
        Invalid(text: "0.0000000000000000001", kind: .scaleTooLarge(19)),
    ]

    @Test("invalid text is rejected with a clear error", arguments: invalid)
    func rejectsInvalid(_ sample: Invalid) {
        #expect {
            _ = try Quorum_V1_Decimal(parsing: sample.text)
        } throws: { error in
            guard let error = error as? QuorumDecimalError else { return false }
            return error.kind == sample.kind && error.input == sample.text
                && error.description.hasPrefix("invalid decimal \"\(sample.text)\": ")
        }
    }

    @Test("error description names the problem and shortens long input")
    func errorDescription() throws {
        let error = try #require(throws: QuorumDecimalError.self) {
            try Quorum_V1_Decimal(parsing: "12x")
        }
        #expect(error.description == "invalid decimal \"12x\": unexpected character \"x\" at offset 2; "
            + "write an optional sign, digits and at most one decimal point, e.g. \"-12.345\"")
        let long = String(repeating: "9", count: 100) + "z"
        let longError = try #require(throws: QuorumDecimalError.self) {
            try Quorum_V1_Decimal(parsing: long)
        }
        #expect(longError.description.contains(String(repeating: "9", count: 64) + "…\""))
        #expect(!longError.description.contains(String(repeating: "9", count: 65)))
    }

    @Test("rescaling up pads, rescaling down drops only zeros")
    func rescaling() throws {
        let x = try Quorum_V1_Decimal(parsing: "1.5")
        #expect(try x.rescaled(to: 3) == Quorum_V1_Decimal(units: 1500, scale: 3))
        #expect(try Quorum_V1_Decimal(parsing: "1.500").rescaled(to: 1) == x)
        #expect(try Quorum_V1_Decimal(parsing: "-2.000").rescaled(to: 0) == Quorum_V1_Decimal(units: -2, scale: 0))
        #expect(try Quorum_V1_Decimal(units: 0, scale: 4).rescaled(to: 0) == Quorum_V1_Decimal(units: 0, scale: 0))

        let lossy = try #require(throws: QuorumDecimalError.self) {
            try Quorum_V1_Decimal(parsing: "1.55").rescaled(to: 1)
        }
        #expect(lossy.kind == .precisionLoss(targetScale: 1))
        #expect(lossy.input == "1.55")

        let big = try #require(throws: QuorumDecimalError.self) {
            try Quorum_V1_Decimal(units: .max, scale: 0).rescaled(to: 1)
        }
        #expect(big.kind == .overflow)

        let tooFine = try #require(throws: QuorumDecimalError.self) {
            try x.rescaled(to: 19)
        }
        #expect(tooFine.kind == .scaleTooLarge(19))
    }

    @Test("rescaling a value with an absurd scale from the wire terminates")
    func absurdScale() throws {
        let tiny = Quorum_V1_Decimal(units: 5, scale: 4_000_000_000)
        #expect(tiny.description == "5E-4000000000")
        #expect(throws: QuorumDecimalError.self) { try tiny.rescaled(to: 2) }
        #expect(try Quorum_V1_Decimal(units: 0, scale: 4_000_000_000).rescaled(to: 2)
            == Quorum_V1_Decimal(units: 0, scale: 2))
    }

    @Test("normalized strips trailing zeros; numeric equality ignores scale")
    func normalization() throws {
        #expect(try Quorum_V1_Decimal(parsing: "1.500").normalized() == Quorum_V1_Decimal(units: 15, scale: 1))
        #expect(try Quorum_V1_Decimal(parsing: "-100").normalized() == Quorum_V1_Decimal(units: -100, scale: 0))
        #expect(try Quorum_V1_Decimal(parsing: "0.000").normalized() == Quorum_V1_Decimal(units: 0, scale: 0))

        let a = try Quorum_V1_Decimal(parsing: "1.5")
        let b = try Quorum_V1_Decimal(parsing: "1.50")
        #expect(a != b, "generated == compares fields")
        #expect(a.isNumericallyEqual(to: b))
        #expect(!a.isNumericallyEqual(to: try Quorum_V1_Decimal(parsing: "1.51")))
        #expect(!a.isNumericallyEqual(to: try Quorum_V1_Decimal(parsing: "-1.5")))
    }

    @Test("units are zig-zag encoded: small negative values stay small on the wire")
    func wireEncoding() throws {
        let minusOne: [UInt8] = try Quorum_V1_Decimal(units: -1, scale: 0).serializedBytes()
        #expect(minusOne == [0x08, 0x01])
        let price = Quorum_V1_Decimal(units: -12345, scale: 2)
        let bytes: [UInt8] = try price.serializedBytes()
        #expect(try Quorum_V1_Decimal(serializedBytes: bytes) == price)
    }
}
