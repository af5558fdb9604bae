import Foundation
import QuorumModel

/// A strftime-like pattern for the time column of a file whose times are neither ISO-8601 nor epoch numbers
/// (`quorum ingest --time-format`).
///
/// Directives: `%Y` four-digit year, `%y` two-digit year (2000–2099), `%m` month, `%d` day, `%H` hour (0–23),
/// `%I` hour (1–12) with `%p` AM/PM, `%M` minute, `%S` second (numbers of one or two digits), `%f` a fraction
/// of a second (1–9 digits), `%b` a month name of three letters (`Jan`), `%z` a zone (`Z`, `+02:00`, `+0200`,
/// `+02`), `%s` Unix seconds, `%T` = `%H:%M:%S`, `%%` a percent sign. Any other character must match itself.
/// Times without `%z` or `%s` are naive (see `FileTimeZone`).
public struct TimeFormat: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Sendable, Hashable {
        case literal(UInt8)
        case year4, year2, month, day, hour24, hour12, ampm, minute, second, fraction, monthName, zone, epochSeconds
    }

    /// Errors name the directive that is not supported.
    public init(_ pattern: String) throws(TimeFormatError) {
        self.pattern = pattern
        var tokens: [Token] = []
        var bytes = Array(pattern.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "%") else { tokens.append(.literal(byte)); continue }
            guard let directive = bytes.popFirst() else { throw TimeFormatError(pattern: pattern, problem: "ends with a lone %") }
            switch directive {
            case UInt8(ascii: "Y"): tokens.append(.year4)
            case UInt8(ascii: "y"): tokens.append(.year2)
            case UInt8(ascii: "m"): tokens.append(.month)
            case UInt8(ascii: "d"): tokens.append(.day)
            case UInt8(ascii: "H"): tokens.append(.hour24)
            case UInt8(ascii: "I"): tokens.append(.hour12)
            case UInt8(ascii: "p"): tokens.append(.ampm)
            case UInt8(ascii: "M"): tokens.append(.minute)
            case UInt8(ascii: "S"): tokens.append(.second)
            case UInt8(ascii: "f"): tokens.append(.fraction)
            case UInt8(ascii: "b"): tokens.append(.monthName)
            case UInt8(ascii: "z"): tokens.append(.zone)
            case UInt8(ascii: "s"): tokens.append(.epochSeconds)
            case UInt8(ascii: "T"): tokens += [.hour24, .literal(UInt8(ascii: ":")), .minute, .literal(UInt8(ascii: ":")), .second]
            case UInt8(ascii: "%"): tokens.append(.literal(UInt8(ascii: "%")))
            default:
                throw TimeFormatError(pattern: pattern, problem: "%\(Character(Unicode.Scalar(directive))) is not a supported directive "
                                      + "(supported: %Y %y %m %d %H %I %p %M %S %f %b %z %s %T %%)")
            }
        }
        guard tokens.contains(where: { [.year4, .year2, .epochSeconds].contains($0) }) else {
            throw TimeFormatError(pattern: pattern, problem: "has no year (%Y or %y) and no %s")
        }
        if tokens.contains(.hour12) != tokens.contains(.ampm) {
            throw TimeFormatError(pattern: pattern, problem: "%I (12-hour clock) and %p (AM/PM) go together")
        }
        self.tokens = tokens
    }

    public var description: String { pattern }

    /// The formats `TimestampParser` tries by itself after ISO-8601 and epoch numbers.
    static let builtIn: [TimeFormat] = [
        "%Y-%m-%d %I-%p",                       // CryptoDataDownload hourly files: 2019-10-17 09-AM
        "%d.%m.%Y %H:%M:%S.%f",                  // Dukascopy: 01.01.2017 22:00:00.000
        "%d.%m.%Y %H:%M:%S.%f GMT%z",            // Dukascopy local time: 01.01.2017 23:00:00.000 GMT+0100
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y",
    ].map { try! TimeFormat($0) }  // swiftlint:disable:this force_try — constant patterns, checked by the tests

    /// The time in `text`, or nil when it does not match the pattern or names an impossible date.
    public func parse(_ text: some StringProtocol) -> TimestampParser.Parsed? { parse(Array(text.utf8)) }

    func parse(_ b: [UInt8]) -> TimestampParser.Parsed? {
        var i = 0
        func number(maxDigits: Int, minDigits: Int = 1) -> Int? {
            var value = 0
            let start = i
            while i < b.count, i - start < maxDigits, let d = TimestampParser.digitValue(b[i]) {
                value = value * 10 + d
                i += 1
            }
            return i - start >= minDigits ? value : nil
        }
        var year: Int?, month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos: Int64 = 0
        var pm: Bool?, offset: Int?, epoch: Int64?
        for token in tokens {
            switch token {
            case .literal(let c):
                guard i < b.count, b[i] == c else { return nil }
                i += 1
            case .year4: guard let v = number(maxDigits: 4, minDigits: 4) else { return nil }; year = v
            case .year2: guard let v = number(maxDigits: 2, minDigits: 2) else { return nil }; year = 2000 + v
            case .month: guard let v = number(maxDigits: 2), (1...12).contains(v) else { return nil }; month = v
            case .day: guard let v = number(maxDigits: 2), v >= 1 else { return nil }; day = v
            case .hour24: guard let v = number(maxDigits: 2), v < 24 else { return nil }; hour = v
            case .hour12: guard let v = number(maxDigits: 2), (1...12).contains(v) else { return nil }; hour = v
            case .minute: guard let v = number(maxDigits: 2), v < 60 else { return nil }; minute = v
            case .second: guard let v = number(maxDigits: 2), v < 60 else { return nil }; second = v
            case .fraction:
                let start = i
                var scale: Int64 = 100_000_000
                while i < b.count, i - start < 9, let d = TimestampParser.digitValue(b[i]) {
                    nanos += Int64(d) * scale
                    scale /= 10
                    i += 1
                }
                guard i > start else { return nil }
            case .ampm:
                guard i + 2 <= b.count else { return nil }
                let word = String(decoding: b[i..<(i + 2)], as: UTF8.self).uppercased()
                guard word == "AM" || word == "PM" else { return nil }
                pm = word == "PM"
                i += 2
            case .monthName:
                guard i + 3 <= b.count,
                      let index = Self.monthNames.firstIndex(of: String(decoding: b[i..<(i + 3)], as: UTF8.self).lowercased())
                else { return nil }
                month = index + 1
                i += 3
            case .zone:
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") { offset = 0; i += 1; continue }
                guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
                let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let hours = number(maxDigits: 2, minDigits: 2), hours <= 23 else { return nil }
                var minutes = 0
                if i < b.count, b[i] == UInt8(ascii: ":") { i += 1 }
                if i < b.count, TimestampParser.digitValue(b[i]) != nil {
                    guard let m = number(maxDigits: 2, minDigits: 2), m < 60 else { return nil }
                    minutes = m
                }
                offset = sign * (hours * 3600 + minutes * 60)
            case .epochSeconds:
                guard let v = number(maxDigits: 12) else { return nil }
                epoch = Int64(v)
            }
        }
        guard i == b.count else { return nil }
        if let epoch {
            return TimestampParser.nanos(epoch, unit: 1_000_000_000, plus: nanos).map { TimestampParser.Parsed(nanos: $0, naive: false) }
        }
        guard let year, day <= TimestampParser.daysInMonth(month, year: year) else { return nil }
        if let pm { hour = hour % 12 + (pm ? 12 : 0) }
        let seconds = Int64(TimestampParser.daysSinceEpoch(year: year, month: month, day: day)) * 86_400
            + Int64(hour * 3600 + minute * 60 + second) - Int64(offset ?? 0)
        return TimestampParser.nanos(seconds, unit: 1_000_000_000, plus: nanos).map { TimestampParser.Parsed(nanos: $0, naive: offset == nil) }
    }

    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
}

/// A `--time-format` pattern that cannot be used.
public struct TimeFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var pattern: String
    public var problem: String
    public var description: String { "time format '\(pattern)' \(problem)" }
}

/// The zone of naive times in a file (`quorum ingest --timezone`): UTC (the default), a fixed offset, or a
/// time-zone database name whose offset (daylight saving included) is looked up for each time.
public enum FileTimeZone: Sendable, Hashable, CustomStringConvertible {
    case utc
    case offset(seconds: Int)
    case named(String)

    /// `UTC`, `Z`, `+02:00`, `-0530`, `+02`, or a name such as `Europe/Berlin`; nil when none of these.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["utc", "z", "gmt"].contains(trimmed.lowercased()) { self = .utc; return }
        if let first = trimmed.first, first == "+" || first == "-" {
            // A zone alone is read as the offset of 1970-01-01T00:00 in that zone.
            guard let parsed = Self.zoneOnly.parse("1970" + trimmed) else { return nil }
            self = .offset(seconds: -Int(parsed.nanos / 1_000_000_000))
            return
        }
        guard TimeZone(identifier: trimmed) != nil else { return nil }
        self = .named(trimmed)
    }

    private static let zoneOnly = try! TimeFormat("%Y%z")  // swiftlint:disable:this force_try — a constant pattern

    public var description: String {
        switch self {
        case .utc: "UTC"
        case .offset(let seconds):
            "\(seconds < 0 ? "-" : "+")\(String(format: "%02d:%02d", abs(seconds) / 3600, abs(seconds) % 3600 / 60))"
        case .named(let name): name
        }
    }

    /// The UTC time of a naive wall-clock time read as UTC (`wallClock`).
    public func toUTC(_ wallClock: Nanos) -> Nanos {
        switch self {
        case .utc: return wallClock
        case .offset(let seconds): return wallClock - Int64(seconds) * 1_000_000_000
        case .named(let name):
            guard let zone = TimeZone(identifier: name) else { return wallClock }
            // The offset at the wall-clock instant, then corrected once at the resulting UTC instant (DST edges).
            let wallSeconds = Double(wallClock) / 1e9
            let first = zone.secondsFromGMT(for: Date(timeIntervalSince1970: wallSeconds))
            let second = zone.secondsFromGMT(for: Date(timeIntervalSince1970: wallSeconds - Double(first)))
            return wallClock - Int64(second) * 1_000_000_000
        }
    }
}
