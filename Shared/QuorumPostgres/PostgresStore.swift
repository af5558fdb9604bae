// QuorumPostgres hands `PostgresConnection` to callers' closures (effects, transactions), so its users need
// PostgresNIO's query API; re-exporting it spares every importer a direct dependency on postgres-nio.
@_exported import PostgresNIO
import Logging
import NIOCore
import NIOSSL
import QuorumTLS

/// Quorum's durable store: a pool of Postgres connections (PostgresNIO's `PostgresClient`) with versioned
/// migrations, transactions and exactly-once message processing.
///
/// The pool only hands out connections while ``run()`` is running, so a service starts it first and keeps it
/// running for its whole life, in a task group or a swift-service-lifecycle `ServiceGroup`:
/// ```swift
/// let store = PostgresStore(configuration: try PostgresConfiguration(url: url), logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await store.run() }
///     try await store.migrate()          // fails fast with a clear error if Postgres is unusable
///     try await serve(store)             // ... the service's work
///     group.cancelAll()                  // stops run()
/// }
/// ```
/// (QuorumPostgres does not depend on ServiceLifecycle; the service kit wraps ``run()`` in a `Service`.
/// Inside a `ServiceGroup`, graceful shutdown also ends ``run()``.)
///
/// Errors thrown by this type are ``PostgresStoreError``s, except errors thrown by the caller's own closures,
/// which pass through unchanged (after the transaction is rolled back).
public final class PostgresStore: Sendable {
    /// The configuration this store was made with (its `description` hides the password).
    public let configuration: PostgresConfiguration
    let client: PostgresClient
    let logger: Logger
    /// TLS settings for one-off connections (nil: `sslmode=disable`), or why the CA file cannot be used.
    let tlsSetup: Result<TLSConfiguration?, PostgresStoreError>

    /// Creates the store and its (not yet running) connection pool. Nothing connects until ``run()`` runs and
    /// a connection is needed.
    /// - Parameters:
    ///   - configuration: Where Postgres is; see ``PostgresConfiguration``.
    ///   - logger: Receives the store's own logs (info and below) and the pool's background logs.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "postgres.endpoint"] = "\(configuration.endpoint)"
        logger[metadataKey: "postgres.database"] = "\(configuration.database)"
        self.logger = logger
        self.tlsSetup = Result { () throws(PostgresStoreError) in try Self.tlsConfiguration(configuration) }

        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: Self.clientTLS(configuration.tls, self.tlsSetup)
        )
        clientConfiguration.options.connectTimeout = configuration.connectTimeout
        clientConfiguration.options.maximumConnections = configuration.maximumConnections
        if let schema = configuration.schema {
            clientConfiguration.options.additionalStartupParameters = [("search_path", schema)]
        }
        self.client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    }

    /// Runs the connection pool until the calling task is cancelled (or, inside a `ServiceGroup`, until graceful
    /// shutdown). Call it exactly once, in a long-running child task; other methods wait for connections
    /// until it runs.
    public func run() async {
        self.logger.info("Postgres pool running", metadata: ["postgres.pool.size": "\(self.configuration.maximumConnections)"])
        await self.client.run()
        self.logger.info("Postgres pool stopped")
    }

    // MARK: - Readiness

    /// Readiness check: runs `SELECT 1` on a pooled connection.
    ///
    /// If that does not succeed within `timeout`, a separate one-off connection (bounded by the configured connect
    /// timeout) finds out why, so the error says what is wrong (wrong password, server unreachable, ...).
    /// - Throws: ``PostgresStoreError`` (``PostgresStoreError/Code/authenticationFailed``,
    ///   ``PostgresStoreError/Code/unreachable``, ``PostgresStoreError/Code/timeout``, ...).
    public func ping(timeout: Duration = .seconds(2)) async throws {
        let client = self.client
        let logger = self.logger
        let answered: Bool
        do {
            answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                    }
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw await self.diagnose(after: error)
        }
        if !answered {
            try Task.checkCancellation()
            throw await self.diagnose(after: PostgresStoreError(
                code: .timeout,
                message: "Postgres at \(self.configuration.endpoint) did not answer SELECT 1 within \(timeout)",
                hint: "the server or the pool (size \(self.configuration.maximumConnections)) is overloaded; check the server's load and postgres.pool.size"
            ))
        }
    }

    /// Opens one connection outside the pool and closes it again: a start-up check that reports exactly why
    /// Postgres cannot be used, within the connect timeout.
    public func checkConnection() async throws {
        let connection = try await self.connectDirectly()
        try? await connection.close()  // harmless: the check succeeded once connected; nothing was written
    }

    // MARK: - Connections and transactions

    /// Leases a pooled connection for the closure's duration. The closure must not keep the connection.
    ///
    /// When no connection can be had (the server is down, the password is wrong), the error says why; note that
    /// the pool keeps retrying for a while before it gives up, so call ``ping(timeout:)`` or ``migrate(_:)`` at
    /// start-up to fail fast.
    public func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var leased = false
        do {
            return try await self.client.withConnection { connection in
                leased = true
                return try await body(connection)
            }
        } catch {
            if !leased, !(error is CancellationError) { throw await self.diagnose(after: error) }
            throw self.translate(error)
        }
    }

    /// Runs the closure inside `BEGIN` ... `COMMIT` on a pooled connection. If the closure throws, the
    /// transaction is rolled back and the closure's error is rethrown (Postgres errors as ``PostgresStoreError``).
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await self.withConnection { connection in
            try await Self.transaction(on: connection, logger: logger, body)
        }
    }

    // MARK: - Exactly-once processing

    /// Whether ``processOnce(consumer:messageID:_:)`` ran the effect.
    public enum IdempotencyOutcome: Sendable, Hashable {
        /// First time this message was seen by this consumer: the effect ran and was committed with the mark.
        case applied
        /// Already processed (committed earlier): the effect did not run.
        case duplicate
    }

    /// Runs `effect` at most once per `(consumer, messageID)`, atomically with recording that it ran.
    ///
    /// In ONE transaction: inserts `(consumer, messageID)` into `processed_messages` (`ON CONFLICT DO NOTHING`);
    /// if the row already existed, returns ``IdempotencyOutcome/duplicate`` without running the effect; otherwise
    /// runs `effect` on the same connection, inside the same transaction, and commits. If the effect throws, the
    /// mark is rolled back too, so a redelivered message is processed again. Two concurrent calls with the same id
    /// serialise on the row: one applies, the other returns `.duplicate` after the first commits.
    ///
    /// The effect must do its writes through the connection it is given (not another connection), or they are
    /// not part of the transaction.
    @discardableResult
    public func processOnce(
        consumer: String,
        messageID: String,
        _ effect: (PostgresConnection) async throws -> Void
    ) async throws -> IdempotencyOutcome {
        let logger = self.logger
        return try await self.withTransaction { (connection) async throws -> IdempotencyOutcome in
            let inserted = try await connection.query("""
                INSERT INTO processed_messages (consumer, message_id) VALUES (\(consumer), \(messageID))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            var count = 0
            for try await _ in inserted { count += 1 }
            guard count == 1 else {
                logger.debug("duplicate message skipped", metadata: ["postgres.consumer": "\(consumer)", "message.id": "\(messageID)"])
                return .duplicate
            }
            try await effect(connection)
            return .applied
        }
    }

    // MARK: - Internals

    /// BEGIN, body, COMMIT; ROLLBACK and rethrow when the body throws.
    static func transaction<Result>(
        on connection: PostgresConnection,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        let value: Result
        do {
            value = try await body(connection)
        } catch {
            do {
                try await connection.query("ROLLBACK", logger: logger)
            } catch {
                // The connection is broken; close it so the pool does not hand it out mid-transaction.
                logger.debug("ROLLBACK failed; closing the connection", metadata: ["error.sqlstate": "\((error as? PSQLError)?.serverInfo?[.sqlState] ?? "none")"])
                try? await connection.close()  // harmless: the original error is thrown below
            }
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return value
    }

    /// A connection outside the pool, bounded by the connect timeout; errors translated.
    func connectDirectly() async throws -> PostgresConnection {
        var connectionConfiguration = PostgresConnection.Configuration(
            host: self.configuration.host,
            port: self.configuration.port,
            username: self.configuration.username,
            password: self.configuration.password,
            database: self.configuration.database,
            tls: try self.connectionTLS()
        )
        let (seconds, attoseconds) = self.configuration.connectTimeout.components
        connectionConfiguration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if let schema = configuration.schema {
            connectionConfiguration.options.additionalStartupParameters = [("search_path", schema)]
        }
        do {
            return try await PostgresConnection.connect(configuration: connectionConfiguration, id: 0, logger: self.logger)
        } catch {
            throw self.translate(error)
        }
    }

    /// After the pool failed to give a connection: find out why with a one-off connection.
    func diagnose(after error: any Error) async -> any Error {
        let translated = self.translate(error)
        if let storeError = translated as? PostgresStoreError,
           [.authenticationFailed, .databaseNotFound, .tls, .shutdown].contains(storeError.code) {
            return storeError
        }
        do {
            let connection = try await self.connectDirectly()
            try? await connection.close()  // harmless: a probe connection, nothing was written
            return translated  // the server is fine now; report the original problem
        } catch {
            return error
        }
    }

    /// The client TLS settings of a mode: `nil` for `disable`; otherwise the CA file (or the system's store) as trust
    /// roots, with the host name checked except for `verify-ca`.
    static func tlsConfiguration(_ configuration: PostgresConfiguration) throws(PostgresStoreError) -> TLSConfiguration? {
        let verification: ClientTLS.Verification
        switch configuration.tls {
        case .disable: return nil
        case .verifyCA: verification = .caOnly
        case .prefer, .require, .verifyFull: verification = .fullVerification
        }
        do {
            return try ClientTLS.configuration(caFile: configuration.caFile, verification: verification)
        } catch {
            throw PostgresStoreError(
                code: .tls,
                message: "Cannot set up TLS (sslmode=\(configuration.tls.rawValue)) for Postgres at \(configuration.endpoint): \(error.reason)",
                hint: "\(error.remedy); it is set by postgres.tls.ca.file or sslrootcert= in postgres.url")
        }
    }

    /// The pool's TLS. When the CA file cannot be used the pool still gets TLS, trusting no CA at all, so that it can never
    /// connect without verification; `ping`, `checkConnection` and `migrate` report the file's problem (``tlsSetup``).
    static func clientTLS(_ mode: PostgresConfiguration.TLSMode,
                          _ setup: Result<TLSConfiguration?, PostgresStoreError>) -> PostgresClient.Configuration.TLS {
        var trustNothing = TLSConfiguration.makeClientConfiguration()
        trustNothing.trustRoots = .certificates([])
        let tls: TLSConfiguration
        switch setup {
        case .success(let configuration?): tls = configuration
        case .success(nil), .failure: tls = trustNothing
        }
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(tls)
        case .require, .verifyCA, .verifyFull: return .require(tls)
        }
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let tlsConfiguration = try self.tlsSetup.get() else { return .disable }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tlsConfiguration)
        } catch {
            throw PostgresStoreError(
                code: .tls,
                message: "Could not set up TLS for Postgres at \(self.configuration.endpoint): \(error)",
                hint: "check postgres.tls.ca.file (or sslrootcert= in postgres.url), or use sslmode=disable on a trusted network"
            )
        }
        switch self.configuration.tls {
        case .disable: return .disable
        case .prefer: return .prefer(context)
        case .require, .verifyCA, .verifyFull: return .require(context)
        }
    }
}
