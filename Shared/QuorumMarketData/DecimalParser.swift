import QuorumModel

/// What to do with a number that has more than 8 decimals (`Fixed`'s resolution).
public enum ExcessDecimalsPolicy: Sendable, Hashable {
    /// Round half-to-even to 8 decimals (the default: exchanges sometimes print volumes with 9–12 decimals,
    /// and the 9th decimal of a price or volume is below anything we trade or model).
    case roundHalfEven
    /// Reject the row with `RowRejectionCode.tooManyDecimals`.
    case reject
}

/// Result of parsing one numeric CSV field into `Fixed`.
enum ParsedDecimal: Equatable {
    case value(Fixed)
    /// "NaN", "inf", "-Infinity", … (case-insensitive).
    case nonFinite
    /// Not a decimal number at all.
    case invalid
    /// Outside `Fixed`'s range (±92 billion).
    case outOfRange
    /// More than 8 significant decimals and the policy is `.reject`.
    case tooManyDecimals
}

/// Exact text → `Fixed` conversion, never through `Double`.
///
/// Accepts an optional sign, digits with an optional decimal point, and an optional exponent
/// (`1.5e-05`, as pandas writes small volumes). The value is scaled to 10⁻⁸ units on the decimal digits
/// themselves; digits beyond the 8th decimal are rounded half-to-even or rejected, per the policy.
enum DecimalParser {
    static func parse(_ text: Substring, excess: ExcessDecimalsPolicy) -> ParsedDecimal {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        if isNonFiniteWord(bytes) { return .nonFinite }

        var digits: [UInt8] = []       // significant digits, leading zeros removed
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                sawDigit = true
                if !(digits.isEmpty && byte == UInt8(ascii: "0")) { digits.append(byte - UInt8(ascii: "0")) }
                if sawPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { return .invalid }
        var exponent = 0
        if index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") else { return .invalid }
            index += 1
            var exponentNegative = false
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentDigits = bytes[index...]
            guard !exponentDigits.isEmpty, exponentDigits.count <= 4,
                  exponentDigits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return .invalid }
            exponent = exponentDigits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            if exponentNegative { exponent = -exponent }
        }
        // Trailing zeros of the digit string do not count as "excess" decimals.
        // value = digits × 10^(exponent − fractionDigits); units = value × 10^8.
        var shift = exponent - fractionDigits + Fixed.decimals
        while shift < 0, let last = digits.last, last == 0 { digits.removeLast(); shift += 1 }
        if digits.isEmpty { return .value(.zero) }

        var kept = digits[...]
        var roundUp = false
        if shift < 0 {
            if excess == .reject { return .tooManyDecimals }
            let drop = -shift
            let keepCount = max(0, digits.count - drop)
            kept = digits[0..<keepCount]
            let roundDigit: UInt8 = drop <= digits.count ? digits[keepCount] : 0
            let restNonZero = drop <= digits.count ? digits[(keepCount + 1)...].contains { $0 != 0 } : true
            let keptIsOdd = (kept.last ?? 0) % 2 == 1
            roundUp = roundDigit > 5 || (roundDigit == 5 && (restNonZero || keptIsOdd))
            shift = 0
        }
        var units: Int64 = 0
        for digit in kept {
            let (m, o1) = units.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return .outOfRange }
            units = a
        }
        for _ in 0..<shift {
            let (m, o) = units.multipliedReportingOverflow(by: 10)
            if o { return .outOfRange }
            units = m
        }
        if roundUp {
            let (a, o) = units.addingReportingOverflow(1)
            if o { return .outOfRange }
            units = a
        }
        return .value(Fixed(units: negative ? -units : units))
    }

    private static func isNonFiniteWord(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= 3, bytes.count <= 8 else { return false }
        let word = String(decoding: bytes, as: UTF8.self).lowercased()
        return word == "nan" || word == "inf" || word == "infinity"
    }
}
