import Foundation

/// A parsed configuration value.
public enum ConfigValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case duration(Duration)
    /// The URL text, checked to have a scheme (kept as text so no normalisation changes it).
    case url(String)
    case list([String])

    /// Parses `text` as `type`; on failure returns a short reason (never the text itself, which may be secret).
    static func parse(_ text: String, as type: ConfigValueType) -> Result<ConfigValue, ParseProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch type {
        case .string:
            return .success(.string(text))
        case .int:
            guard let value = Int(trimmed) else { return .failure(ParseProblem("not a whole number")) }
            return .success(.int(value))
        case .double:
            guard let value = Double(trimmed), value.isFinite else { return .failure(ParseProblem("not a finite decimal number")) }
            return .success(.double(value))
        case .bool:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return .success(.bool(true))
            case "false", "0", "no", "off": return .success(.bool(false))
            default: return .failure(ParseProblem("not true or false"))
            }
        case .duration:
            return parseDuration(trimmed).map(ConfigValue.duration)
        case .url:
            if trimmed.isEmpty { return .success(.url("")) }
            guard let components = URLComponents(string: trimmed), let scheme = components.scheme, !scheme.isEmpty,
                  trimmed.contains("://")
            else { return .failure(ParseProblem("not an absolute URL of the form scheme://host")) }
            return .success(.url(trimmed))
        case .list:
            return .success(.list(splitList(text)))
        }
    }

    /// Splits a comma-separated list, trimming blanks and dropping empty items.
    static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `250ms`, `30s`, `1.5s`, `5m`, `1h`, `0`.
    static func parseDuration(_ text: String) -> Result<Duration, ParseProblem> {
        if text == "0" { return .success(.zero) }
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("us", 0.000_001), ("s", 1), ("m", 60), ("h", 3600)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard let value = Double(number), value.isFinite, value >= 0 else { continue }
            let nanoseconds = (value * unit.seconds * 1_000_000_000).rounded()
            guard nanoseconds < Double(Int64.max) else { return .failure(ParseProblem("duration too large")) }
            return .success(.nanoseconds(Int64(nanoseconds)))
        }
        return .failure(ParseProblem("not a non-negative number followed by ms, s, m or h"))
    }

    /// Why a text did not parse; contains no part of the text.
    struct ParseProblem: Error, Sendable, Equatable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Where a configuration value came from.
public enum ConfigSource: Sendable, Hashable, CustomStringConvertible {
    /// The key's registered default.
    case defaultValue
    /// A configuration file (`--config` or `QUORUM_CONFIG`).
    case file(path: String)
    /// An environment variable such as `QUORUM_KAFKA_BROKERS`.
    case environment(variable: String)
    /// A command-line flag such as `--kafka.brokers`.
    case commandLine(flag: String)
    /// Set in code (tests and in-memory configuration).
    case override

    /// The path and the flag are shown as typed, but without URL passwords (a URL given as the `--config` path shows in
    /// `--print-config`'s source column).
    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path): "file \(Redaction.redactURLPasswords(in: path))"
        case .environment(let variable): "environment variable \(variable)"
        case .commandLine(let flag): "command-line flag \(Redaction.redactURLPasswords(in: flag))"
        case .override: "set in code"
        }
    }
}
