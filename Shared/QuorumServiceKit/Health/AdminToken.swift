import Foundation

/// The secret that an HTTP request must carry to change anything (kill switch, model activation): `Authorization: Bearer
/// <token>`. It is compared in constant time, and neither it nor what a caller sent is ever printed: `description` says
/// only whether a token is configured.
public struct AdminToken: Sendable, CustomStringConvertible {
    private let secret: [UInt8]

    /// - Returns: nil for an empty (or all-whitespace) token: mutating endpoints then refuse every request.
    public init?(_ secret: String) {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        self.secret = Array(trimmed.utf8)
    }

    /// Whether `candidate` is the token. The time taken depends on the candidate's length only, never on how many leading
    /// bytes match (every byte of the longer of the two is compared).
    public func matches(_ candidate: String) -> Bool {
        Self.constantTimeEquals(secret, Array(candidate.utf8))
    }

    /// Whether the `Authorization` header value is `Bearer <token>`.
    public func authorizes(authorizationHeader: String?) -> Bool {
        guard let header = authorizationHeader else { return false }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else { return false }
        return matches(String(header.dropFirst(prefix.count)))
    }

    /// Byte-wise equality without an early exit: XOR of every position of the longer array (missing bytes count as 0
    /// against a length mismatch flag).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    public var description: String { "AdminToken(***)" }
}
