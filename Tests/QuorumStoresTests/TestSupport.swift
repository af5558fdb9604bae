import Foundation
import Logging
import QuorumModel
import QuorumPostgres

/// Test databases on the real Postgres that `make test` starts (QUORUM_POSTGRES_URL), as in QuorumPostgresTests:
/// each test gets a database of its own (`t_<uuid>`, migrated), dropped at the end, so tests are independent.
enum StoresTestDatabase {
    static let logger: Logger = {
        var logger = Logger(label: "quorum.stores.tests")
        logger.logLevel = .notice  // the pool logs every failed connection attempt at info; keep test output short
        return logger
    }()

    struct MissingURL: Error, CustomStringConvertible {
        var description: String { "QUORUM_POSTGRES_URL is not set: run the integration tests via `make test` (scripts/test), which starts Postgres" }
    }

    /// The admin configuration from QUORUM_POSTGRES_URL.
    static func adminConfiguration() throws -> PostgresConfiguration {
        let url = ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"] ?? ""
        guard !url.isEmpty else { throw MissingURL() }
        return try PostgresConfiguration(url: url, maximumConnections: 4, connectTimeout: .seconds(3))
    }

    /// Runs `body` with a store whose pool is running; stops the pool afterwards.
    static func withStore<Result: Sendable>(
        _ configuration: PostgresConfiguration,
        _ body: (PostgresStore) async throws -> Result
    ) async throws -> Result {
        let store = PostgresStore(configuration: configuration, logger: self.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// Creates a fresh database, migrates it, runs `body` with a store on it, drops the database.
    static func with(_ body: (PostgresStore) async throws -> Void) async throws {
        let admin = try self.adminConfiguration()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await self.adminExecute(admin, "CREATE DATABASE \(name)")
        var configuration = admin
        configuration.database = name
        do {
            try await self.withStore(configuration) { store in
                try await store.migrate()
                try await body(store)
            }
        } catch {
            try? await self.adminExecute(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await self.adminExecute(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func adminExecute(_ admin: PostgresConfiguration, _ sql: String) async throws {
        try await self.withStore(admin) { store in
            try await self.execute(store, sql)
        }
    }

    /// Runs trusted test SQL.
    static func execute(_ store: PostgresStore, _ sql: String) async throws {
        let logger = self.logger
        try await store.withConnection { connection in
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {}
        }
    }

    /// Every row of `sql` as text (columns joined by `|`), to compare table contents exactly.
    static func dump(_ store: PostgresStore, _ sql: String) async throws -> [String] {
        let logger = self.logger
        return try await store.withConnection { connection in
            var rows: [String] = []
            let query = PostgresQuery(unsafeSQL: "SELECT t::text FROM (\(sql)) t")
            for try await (text,) in try await connection.query(query, logger: logger).decode((String,).self) {
                rows.append(text)
            }
            return rows
        }
    }
}

extension Fixed {
    /// A literal in tests: `Fixed.of("1.25")`.
    static func of(_ text: String) -> Fixed { Fixed(text)! }
}
