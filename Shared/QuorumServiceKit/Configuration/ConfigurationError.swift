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
        /// A key naming a file (a TLS CA, certificate or key) whose file cannot be used; `reason` names the path,
        /// `remedy` says what to do (never the file's content).
        case badFile(key: String, source: ConfigSource, reason: String, remedy: String)
        /// Keys that do not fit together (e.g. a TLS CA file for a plain connection).
        case conflict(keys: [String], reason: String)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// Where every key is documented.
    public static let documentation = "docs/configuration.md"

    /// Every part taken from the input (key names and flags as typed, file paths, values) has its URL passwords
    /// replaced: a URL typed where a flag or path belongs (`--postgres://u:p@h/db`, `--config $QUORUM_POSTGRES_URL`)
    /// must not print its password.
    public var description: String { Redaction.redactURLPasswords(in: unredactedDescription) }

    private var unredactedDescription: String {
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
            return "unexpected command-line argument '\(argument)': "
                + "configuration flags look like --key=value (keys are listed in \(Self.documentation))."
        case .badFile(let key, let source, let reason, let remedy):
            return "configuration key '\(key)' from \(source): \(reason); \(remedy). See \(Self.documentation)."
        case .conflict(let keys, let reason):
            return "configuration keys \(keys.map { "'\($0)'" }.joined(separator: " and ")) do not fit together: \(reason)."
                + " See \(Self.documentation)."
        case .unreadableFile(let path, let reason):
            return "configuration file \(path) cannot be used: \(reason). "
                + "It must be a JSON object with dotted keys or nested objects (see \(Self.documentation))."
        }
    }
}
