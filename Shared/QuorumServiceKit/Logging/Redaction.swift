import Logging

/// Removes secrets from text and log metadata before they are written anywhere.
///
/// - A URL with a password, `scheme://user:pass@host`, becomes `scheme://user:***@host`.
/// - A metadata value whose key looks secret (`password`, `*.password`, `*.secret`, `*api_key*`, `*.token`, …)
///   becomes `***`.
public enum Redaction {
    /// The text that replaces a secret.
    public static let mask = "***"

    /// Replaces the password of every `scheme://user:password@host` URL inside `text` by `***`.
    public static func redactURLPasswords(in text: String) -> String {
        guard text.contains("://") else { return text }
        var result = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            // The authority ends at the first '/', '?', '#' or blank.
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0.isWhitespace } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            // The user info is everything before the LAST '@' (a password may contain an unescaped '@').
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[...colon]
                result += mask
                result += authority[at...]
            } else {
                result += authority
            }
            rest = rest[authorityEnd...]
        }
        result += rest
        return result
    }

    /// Whether a metadata key names a secret: `password`, `secret`, `token`, `passwd` (alone or as the last dotted,
    /// underscored or dashed part) or anything containing `api_key`/`apikey`/`api-key`.
    public static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        if lowered.contains("api_key") || lowered.contains("apikey") || lowered.contains("api-key") { return true }
        let last = lowered.split(whereSeparator: { $0 == "." || $0 == "_" || $0 == "-" }).last.map(String.init) ?? lowered
        return ["password", "passwd", "secret", "token"].contains(last)
    }

    /// Redacts one metadata value: secrets by key name, URL passwords anywhere (recursively).
    public static func redact(_ value: Logger.MetadataValue, key: String) -> Logger.MetadataValue {
        if isSecretKey(key) { return .string(mask) }
        switch value {
        case .string(let text):
            return .string(redactURLPasswords(in: text))
        case .stringConvertible(let convertible):
            let text = convertible.description
            let redacted = redactURLPasswords(in: text)
            return redacted == text ? value : .string(redacted)
        case .array(let items):
            return .array(items.map { redact($0, key: key) })
        case .dictionary(let members):
            var result: Logger.Metadata = [:]
            for (memberKey, member) in members { result[memberKey] = redact(member, key: memberKey) }
            return .dictionary(result)
        }
    }

    /// Redacts every value of a metadata dictionary.
    public static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result: Logger.Metadata = [:]
        for (key, value) in metadata { result[key] = redact(value, key: key) }
        return result
    }
}
