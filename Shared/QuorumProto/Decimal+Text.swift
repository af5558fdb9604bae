// Exact conversion between Quorum_V1_Decimal (units × 10^-scale) and decimal text, without Double.

/// Why a decimal string could not be read, or a ``Quorum_V1_Decimal`` could not be rescaled.
public struct QuorumDecimalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The text was empty.
        case empty
        /// A character other than a sign, a digit or one decimal point, at a 0-based character offset.
        case unexpectedCharacter(Character, offset: Int)
        /// A sign or decimal point without digits on both sides of the point (e.g. "-", ".5", "1.").
        case missingDigits
        /// The digits do not fit in a signed 64-bit integer.
        case overflow
        /// More than ``Quorum_V1_Decimal/maxScale`` digits after the decimal point.
        case scaleTooLarge(UInt32)
        /// Rescaling to fewer decimal places would drop non-zero digits.
        case precisionLoss(targetScale: UInt32)
    }

    /// What went wrong.
    public let kind: Kind
    /// The offending text or value (shortened to 64 characters in ``description``).
    public let input: String

    public init(kind: Kind, input: String) {
        self.kind = kind
        self.input = input
    }

    public var description: String {
        let shown = input.count > 64 ? String(input.prefix(64)) + "…" : input
        let what: String
        switch kind {
        case .empty:
            what = "the text is empty"
        case .unexpectedCharacter(let character, let offset):
            what = "unexpected character \"\(character)\" at offset \(offset)"
        case .missingDigits:
            what = "digits are missing before or after the decimal point"
        case .overflow:
            what = "the digits do not fit in a signed 64-bit integer"
        case .scaleTooLarge(let scale):
            what = "scale \(scale) is above the maximum of \(Quorum_V1_Decimal.maxScale) decimal places"
        case .precisionLoss(let target):
            what = "rescaling to \(target) decimal places would drop non-zero digits"
        }
        return "invalid decimal \"\(shown)\": \(what); "
            + "write an optional sign, digits and at most one decimal point, e.g. \"-12.345\""
    }
}

extension Quorum_V1_Decimal {
    /// The largest scale accepted by ``init(parsing:)`` and ``rescaled(to:)``: 18 decimal places
    /// (1e-18, the smallest unit of most crypto assets).
    public static let maxScale: UInt32 = 18

    /// The value `units × 10^(-scale)`, e.g. `Quorum_V1_Decimal(units: 12345, scale: 2)` is 123.45.
    public init(units: Int64, scale: UInt32) {
        self.init()
        self.units = units
        self.scale = scale
    }

    /// Reads plain decimal text exactly: an optional `+` or `-`, one or more digits, and optionally a
    /// point followed by one or more digits. The scale is the number of digits after the point, so
    /// "1.50" is `{units: 150, scale: 2}`. No exponents, spaces or thousands separators.
    /// - Throws: ``QuorumDecimalError`` saying what is wrong with the text.
    public init(parsing text: String) throws(QuorumDecimalError) {
        func fail(_ kind: QuorumDecimalError.Kind) -> QuorumDecimalError {
            QuorumDecimalError(kind: kind, input: text)
        }
        if text.isEmpty { throw fail(.empty) }
        var negative = false
        var magnitude: UInt64 = 0
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        var overflowed = false
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "0"..."9":
                let digit = UInt64(scalar.value - 48)
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                overflowed = overflowed || o1 || o2
                magnitude = sum
                if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
            case "-" where offset == 0:
                negative = true
            case "+" where offset == 0:
                break
            case "." where !seenPoint:
                seenPoint = true
            default:
                throw fail(.unexpectedCharacter(Character(scalar), offset: offset))
            }
        }
        if integerDigits == 0 || (seenPoint && fractionDigits == 0) { throw fail(.missingDigits) }
        if fractionDigits > Int(Self.maxScale) { throw fail(.scaleTooLarge(UInt32(clamping: fractionDigits))) }
        let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        if overflowed || magnitude > limit { throw fail(.overflow) }
        let units: Int64 = negative ? (magnitude == limit ? .min : -Int64(magnitude)) : Int64(magnitude)
        self.init(units: units, scale: UInt32(fractionDigits))
    }

    /// The same number with trailing fractional zeros removed, e.g. 1.500 → 1.5 and 0.00 → 0.
    public func normalized() -> Quorum_V1_Decimal {
        if units == 0 { return Quorum_V1_Decimal(units: 0, scale: 0) }
        var units = self.units
        var scale = self.scale
        while scale > 0 && units % 10 == 0 {
            units /= 10
            scale -= 1
        }
        return Quorum_V1_Decimal(units: units, scale: scale)
    }

    /// The same number written with `targetScale` decimal places, e.g. 1.5 rescaled to 3 is 1.500.
    /// - Throws: ``QuorumDecimalError`` when non-zero digits would be lost, the units would
    ///   overflow, or `targetScale` is above ``maxScale``.
    public func rescaled(to targetScale: UInt32) throws(QuorumDecimalError) -> Quorum_V1_Decimal {
        if targetScale > Self.maxScale {
            throw QuorumDecimalError(kind: .scaleTooLarge(targetScale), input: description)
        }
        if units == 0 { return Quorum_V1_Decimal(units: 0, scale: targetScale) }
        var units = self.units
        var scale = self.scale
        while scale < targetScale {
            let (product, overflow) = units.multipliedReportingOverflow(by: 10)
            if overflow { throw QuorumDecimalError(kind: .overflow, input: description) }
            units = product
            scale += 1
        }
        while scale > targetScale {
            // Terminates quickly even for absurd scales: units reaches a non-zero remainder
            // within 19 steps, since it is non-zero and at most 19 digits long.
            if units % 10 != 0 {
                throw QuorumDecimalError(kind: .precisionLoss(targetScale: targetScale), input: description)
            }
            units /= 10
            scale -= 1
        }
        return Quorum_V1_Decimal(units: units, scale: scale)
    }

    /// True when both denote the same number, whatever their scales (1.5 equals 1.50).
    /// The generated `==` compares fields, so it calls those two different.
    public func isNumericallyEqual(to other: Quorum_V1_Decimal) -> Bool {
        normalized() == other.normalized()
    }
}

extension Quorum_V1_Decimal: CustomStringConvertible {
    /// Plain decimal text that ``init(parsing:)`` reads back to the same units and scale,
    /// e.g. "123.45", "-0.001", "7". A scale above ``maxScale`` (never produced by Quorum) is shown
    /// as "<units>E-<scale>" instead of being padded with that many zeros.
    public var description: String {
        if scale > Self.maxScale { return "\(units)E-\(scale)" }
        let sign = units < 0 ? "-" : ""
        let digits = String(units.magnitude)
        if scale == 0 { return sign + digits }
        let width = Int(scale) + 1
        let padded = digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
        let point = padded.index(padded.endIndex, offsetBy: -Int(scale))
        return sign + padded[..<point] + "." + padded[point...]
    }
}
