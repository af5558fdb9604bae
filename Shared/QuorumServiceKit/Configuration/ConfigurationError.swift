/// A configuration problem found at start-up. Its ``description`` says which key, where it came from and what to do;
/// it never contains the offending value of a secret key or a URL password.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A key that is not registered was set.
        case unknownKey(key: String, source: ConfigSource, suggestion: String?)
        /// A value that does not parse as the key's type.
        case badValue(key: String, source: ConfigSource, expected: ConfigValueType, reason: String, shownValue: String?)
        /// A flag such as `--kafka.brokers` at the end of the command line with no value.
        case missingValue(flag: String)
        /// A command-line argument that is not a `--flag`.
        case unexpectedArgument(String)
        /// The configuration file could not be read or is not a JSON object.
        case unreadableFile(path: String, reason: String)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// Where every key is documented.
    public static let documentation = "docs/configuration.md"

    public var description: String {
        switch kind {
        case .unknownKey(let key, let source, let suggestion):
            var text = "unknown configuration key '\(key)' from \(source)"
            if let suggestion { text += "; did you mean \(suggestion)?" }
            return text + " Every key is listed in \(Self.documentation)."
        case .badValue(let key, let source, let expected, let reason, let shownValue):
            let value = shownValue.map { " '\($0)'" } ?? ""
            return "configuration key '\(key)' from \(source) has a bad value\(value): \(reason); "
                + "expected \(expected) — \(expected.expectation). See \(Self.documentation)."
        case .missingValue(let flag):
            return "command-line flag \(flag) needs a value: write \(flag)=VALUE or \(flag) VALUE."
        case .unexpectedArgument(let argument):
            return "unexpected command-line argument '\(Redaction.redactURLPasswords(in: argument))': "
                + "configuration flags look like --key=value (keys are listed in \(Self.documentation))."
        case .unreadableFile(let path, let reason):
            return "configuration file \(path) cannot be used: \(reason). "
                + "It must be a JSON object with dotted keys or nested objects (see \(Self.documentation))."
        }
    }
}

/// Finds the known name closest to a misspelt one (Levenshtein distance), for "did you mean" hints.
enum Suggestion {
    static func closest(to name: String, among candidates: [String]) -> String? {
        let lowered = name.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = levenshtein(Array(lowered), Array(candidate.lowercased()))
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        guard let best else { return nil }
        // Only suggest when the names are reasonably alike.
        let limit = max(3, min(name.count, best.candidate.count) / 2)
        return best.distance <= limit ? best.candidate : nil
    }

    static func levenshtein(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
