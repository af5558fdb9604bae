/// An error from the Postgres store: what went wrong, where, and what to do.
///
/// The ``description`` never contains a password or a URL with credentials: messages are built from the
/// host, port, user and database only, plus the server's own message and SQLSTATE.
public struct PostgresStoreError: Error, Sendable, Hashable {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case invalidURL, authenticationFailed, databaseNotFound, unreachable, timeout, tls
            case migrationChecksumMismatch, migrationNewerThanCode, migrationFailed, query, shutdown
        }
        let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configured URL cannot be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// The server rejected the user name or password (SQLSTATE 28P01 / 28000).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The database named in the URL does not exist (SQLSTATE 3D000).
        public static let databaseNotFound = Code(.databaseNotFound)
        /// No server answered at the configured host and port within the connect timeout, it closed the
        /// connection, or it is starting up / shutting down / out of connection slots.
        public static let unreachable = Code(.unreachable)
        /// An operation took longer than allowed (for example ``PostgresStore/ping(timeout:)``).
        public static let timeout = Code(.timeout)
        /// TLS was required but could not be set up.
        public static let tls = Code(.tls)
        /// A migration that the database has applied differs from the code's migration of that version.
        public static let migrationChecksumMismatch = Code(.migrationChecksumMismatch)
        /// The database has applied a migration version this code does not know (a newer build ran).
        public static let migrationNewerThanCode = Code(.migrationNewerThanCode)
        /// A migration's SQL failed; it was rolled back.
        public static let migrationFailed = Code(.migrationFailed)
        /// A statement failed on the server (constraint violation, syntax error, serialization failure, ...).
        public static let query = Code(.query)
        /// The store was used after its ``PostgresStore/run()`` ended.
        public static let shutdown = Code(.shutdown)

        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and where (host, port, user, database, migration, SQLSTATE).
    public var message: String
    /// What to do about it.
    public var hint: String
    /// The server's SQLSTATE, when the server reported the error.
    public var sqlState: String?
    /// Whether trying the same thing again later may succeed (the server was down or busy, a transaction
    /// lost a serialization race, ...). Configuration and migration errors are not retriable.
    public var isRetriable: Bool

    /// Creates an error; ``isRetriable`` defaults from the code and SQLSTATE.
    public init(code: Code, message: String, hint: String, sqlState: String? = nil, isRetriable: Bool? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.sqlState = sqlState
        self.isRetriable = isRetriable ?? Self.defaultRetriable(code: code, sqlState: sqlState)
    }

    static func defaultRetriable(code: Code, sqlState: String?) -> Bool {
        switch code.base {
        case .unreachable, .timeout:
            return true
        case .query:
            guard let state = sqlState else { return false }
            // 40001 serialization_failure, 40P01 deadlock_detected, 08xxx connection exceptions,
            // 53xxx insufficient resources, 57P01-57P03 admin shutdown / crash / cannot connect now,
            // 55P03 lock_not_available.
            return state == "40001" || state == "40P01" || state == "55P03" || state.hasPrefix("08")
                || state.hasPrefix("53") || ["57P01", "57P02", "57P03"].contains(state)
        case .invalidURL, .authenticationFailed, .databaseNotFound, .tls, .migrationChecksumMismatch,
             .migrationNewerThanCode, .migrationFailed, .shutdown:
            return false
        }
    }
}

extension PostgresStoreError: CustomStringConvertible {
    /// `message (hint)` plus the SQLSTATE when there is one; never a password.
    public var description: String {
        var text = "\(self.message) (\(self.hint))"
        if let state = self.sqlState { text += " [SQLSTATE \(state)]" }
        return text
    }
}
