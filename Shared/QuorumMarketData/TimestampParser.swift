import QuorumModel

/// Parses the timestamps found in OHLCV files into `Nanos` (UTC).
///
/// Accepted forms:
/// - ISO-8601 / RFC 3339: `2017-10-01T00:00:00Z`, `2017-10-01 00:00:00`, `2017-10-01T00:00`,
///   `2017-10-01T02:00:00+02:00`, `…+0200`, `…+02`, fractional seconds up to 9 digits, or a date alone
///   (`2017-10-01`, midnight). Without `Z` or an offset the time is taken as UTC.
/// - Unix epoch integers, unit chosen by magnitude: below 10¹¹ seconds (optionally with a fraction,
///   `1506816000.5`), below 10¹⁴ milliseconds (Binance klines), below 10¹⁷ microseconds (Binance spot data
///   since 2025), otherwise nanoseconds. 10¹¹ s is the year 5138 and 10¹¹ ms is 1973, so the ranges do not
///   overlap for market data.
/// - The exports of two data vendors whose times are neither (`TimeFormat.builtIn`): CryptoDataDownload's hourly
///   `2019-10-17 09-AM` and Dukascopy's `01.01.2017 22:00:00.000` (optionally followed by ` GMT+0100`).
public enum TimestampParser {
    /// A parsed time: nanoseconds since the Unix epoch, and whether the text named no zone (a wall-clock time,
    /// taken as UTC unless the reader is given a time zone).
    public struct Parsed: Sendable, Hashable {
        public var nanos: Nanos
        /// true when the text had neither `Z` nor an offset (epoch numbers are never naive).
        public var naive: Bool
    }

    /// The timestamp in nanoseconds since the Unix epoch, or nil when `text` is not one of the accepted forms.
    /// Naive times are taken as UTC.
    public static func parse(_ text: some StringProtocol) -> Nanos? { parseDetailed(text)?.nanos }

    /// Like `parse`, and says whether the time was naive.
    public static func parseDetailed(_ text: some StringProtocol) -> Parsed? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), let parsed = parseISO(bytes) { return parsed }
        if let nanos = parseEpoch(bytes) { return Parsed(nanos: nanos, naive: false) }
        for format in TimeFormat.builtIn { if let parsed = format.parse(bytes) { return parsed } }
        return nil
    }

    /// `nanos` as ISO-8601 UTC: `2024-01-01T00:30:00Z`, with a fraction only when it is not zero.
    public static func iso(_ nanos: Nanos) -> String {
        let second: Int64 = 1_000_000_000
        var seconds = nanos / second
        var fraction = nanos % second
        if fraction < 0 { fraction += second; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (year, month, day) = civilDate(daysSinceEpoch: Int(days))
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = "\(year)-\(two(Int64(month)))-\(two(Int64(day)))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.last == "0" { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    // MARK: Unix epoch numbers

    private static func parseEpoch(_ bytes: [UInt8]) -> Nanos? {
        var integer: Int64 = 0
        var index = 0
        while index < bytes.count, let digit = digitValue(bytes[index]) {
            let (m, o1) = integer.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            integer = a
            index += 1
        }
        guard index > 0 else { return nil }
        var fractionNanos: Int64 = 0
        if index < bytes.count {
            // Only seconds may carry a fraction ("1506816000.5").
            guard bytes[index] == UInt8(ascii: "."), integer < 100_000_000_000 else { return nil }
            index += 1
            var scale: Int64 = 100_000_000
            let fractionStart = index
            while index < bytes.count, let digit = digitValue(bytes[index]) {
                guard index - fractionStart < 9 else { return nil }
                fractionNanos += Int64(digit) * scale
                scale /= 10
                index += 1
            }
            guard index == bytes.count else { return nil }
        }
        switch integer {
        case ..<100_000_000_000: return nanos(integer, unit: 1_000_000_000, plus: fractionNanos)
        case ..<100_000_000_000_000: return nanos(integer, unit: 1_000_000)
        case ..<100_000_000_000_000_000: return nanos(integer, unit: 1_000)
        default: return integer
        }
    }

    // MARK: ISO-8601

    private static func parseISO(_ b: [UInt8]) -> Parsed? {
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var value = 0
            for k in i..<(i + width) {
                guard let d = digitValue(b[k]) else { return nil }
                value = value * 10 + d
            }
            i += width
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              (1...12).contains(month), day >= 1, day <= daysInMonth(month, year: year) else { return nil }
        var secondsOfDay = 0
        var nanos: Int64 = 0
        var offsetSeconds = 0
        var naive = true
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "t") else { return nil }
            i += 1
            guard let hour = number(2), expect(":"), let minute = number(2), hour < 24, minute < 60 else { return nil }
            var second = 0
            if expect(":") {
                guard let s = number(2), s < 60 else { return nil }
                second = s
                if expect(".") || expect(",") {
                    var scale: Int64 = 100_000_000
                    let start = i
                    while i < b.count, let d = digitValue(b[i]) {
                        guard i - start < 9 else { return nil }
                        nanos += Int64(d) * scale
                        scale /= 10
                        i += 1
                    }
                    guard i > start else { return nil }
                }
            }
            secondsOfDay = hour * 3600 + minute * 60 + second
            if i < b.count {
                if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                    i += 1
                    naive = false
                } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    naive = false
                    let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let offsetHours = number(2), offsetHours <= 23 else { return nil }
                    var offsetMinutes = 0
                    if i < b.count {
                        _ = expect(":")
                        guard let m = number(2), m < 60 else { return nil }
                        offsetMinutes = m
                    }
                    offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
                }
            }
        }
        guard i == b.count else { return nil }
        let seconds = Int64(daysSinceEpoch(year: year, month: month, day: day)) * 86_400
            + Int64(secondsOfDay) - Int64(offsetSeconds)
        return Self.nanos(seconds, unit: 1_000_000_000, plus: nanos).map { Parsed(nanos: $0, naive: naive) }
    }

    /// `value × unit + fraction` nanoseconds, or nil for a time that Int64 nanoseconds cannot hold (before
    /// 1677-09-21 or after 2262-04-11): such a time is unreadable, like any other that is not a time.
    static func nanos(_ value: Int64, unit: Int64, plus fraction: Int64 = 0) -> Nanos? {
        let (scaled, o1) = value.multipliedReportingOverflow(by: unit)
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        return o1 || o2 ? nil : total
    }

    static func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days before the first of each month in a common year.
    private static let daysBeforeMonth = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]

    /// Leap days in the years 1 ..< year (proleptic Gregorian).
    private static func leapDaysBefore(_ year: Int) -> Int { (year - 1) / 4 - (year - 1) / 100 + (year - 1) / 400 }

    /// Days from 1970-01-01 to the given date (negative before 1970). Valid for years 1…9999.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        var days = 365 * (year - 1970) + leapDaysBefore(year) - leapDaysBefore(1970)
        days += daysBeforeMonth[month - 1] + (month > 2 && isLeap(year) ? 1 : 0)
        return days + day - 1
    }

    /// The civil date of a day number (days since 1970-01-01; the inverse of `daysSinceEpoch`).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        // Estimate the year, then correct it; then walk the months (at most 12 steps).
        var year = 1970 + Int((Double(days) / 365.2425).rounded(.down))
        while daysSinceEpoch(year: year, month: 1, day: 1) > days { year -= 1 }
        while daysSinceEpoch(year: year + 1, month: 1, day: 1) <= days { year += 1 }
        var remaining = days - daysSinceEpoch(year: year, month: 1, day: 1)
        var month = 1
        while remaining >= daysInMonth(month, year: year) {
            remaining -= daysInMonth(month, year: year)
            month += 1
        }
        return (year, month, remaining + 1)
    }
}
