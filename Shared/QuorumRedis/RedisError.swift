/// An error from the Redis client. Its `description` names the server as `host:port` and never contains the password.
///
/// Check ``isRetriable``: `true` means the same call may succeed later (Redis down or restarting, a timeout);
/// `false` means retrying will not help until something is changed (bad URL, wrong password, a closed client).
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Equatable {
        /// The configuration or URL is malformed.
        case invalidConfiguration
        /// No connection could be made before the command timeout (server down, refused, unreachable).
        case connectionFailed
        /// The connection broke or timed out while a command was in flight; it may or may not have run.
        case connectionLost
        /// The server rejected `AUTH` or `SELECT`.
        case authenticationFailed
        /// TLS (`rediss://`) could not be set up: the CA file cannot be used, or the server's certificate is not
        /// signed by a trusted CA or does not name the host. Retrying does not help until the certificate or the
        /// configuration changes.
        case tlsFailed
        /// The server answered with an error reply where the caller needed a value.
        case serverError
        /// The server's reply had a type the caller did not expect.
        case unexpectedReply
        /// A value given to a helper is not acceptable (e.g. not a decimal number).
        case invalidArgument
        /// The client was closed.
        case clientClosed
    }

    /// What went wrong.
    public var code: Code
    /// `host:port` of the server, when known.
    public var endpoint: String?
    /// Human-readable detail (never contains a password).
    public var message: String

    public init(code: Code, endpoint: String?, message: String) {
        self.code = code
        self.endpoint = endpoint
        self.message = message
    }

    /// Whether trying the same call again later may succeed.
    public var isRetriable: Bool {
        switch code {
        case .connectionFailed, .connectionLost: true
        case .invalidConfiguration, .authenticationFailed, .tlsFailed, .serverError, .unexpectedReply, .invalidArgument,
             .clientClosed: false
        }
    }

    public var description: String {
        let place = endpoint.map { "Redis at \($0)" } ?? "Redis"
        return "\(place): \(message) [\(code.rawValue), \(isRetriable ? "retriable" : "not retriable")]"
    }
}
