import Foundation
import Logging
import QuorumPostgres
import Testing

/// Against the real Postgres that `make test` starts (QUORUM_POSTGRES_URL). Each test works in a database of its
/// own (`t_<uuid>`, created through the admin connection and dropped at the end), so tests are independent.
@Suite("PostgresIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct PostgresIntegrationTests {
    let logger: Logger = {
        var logger = Logger(label: "quorum.postgres.tests")
        logger.logLevel = .notice  // the pool logs every failed connection attempt at info; keep test output short
        return logger
    }()

    // MARK: - Helpers

    /// The admin configuration from QUORUM_POSTGRES_URL; fails the test when the variable is missing.
    func adminConfiguration() throws -> PostgresConfiguration {
        let url = ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"] ?? ""
        try #require(!url.isEmpty, "QUORUM_POSTGRES_URL is not set: run the integration tests via `make test`, which starts Postgres")
        return try PostgresConfiguration(url: url, maximumConnections: 4, connectTimeout: .seconds(3))
    }

    /// Runs `body` with a store whose pool is running; stops the pool afterwards.
    func withStore<Result: Sendable>(
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

    /// Creates a fresh database, runs `body` with a store on it, drops the database.
    func withTestDatabase(_ body: (PostgresStore, PostgresConfiguration) async throws -> Void) async throws {
        let admin = try self.adminConfiguration()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await self.adminExecute(admin, "CREATE DATABASE \(name)")
        var configuration = admin
        configuration.database = name
        do {
            try await self.withStore(configuration) { store in try await body(store, configuration) }
        } catch {
            try? await self.adminExecute(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await self.adminExecute(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    func adminExecute(_ admin: PostgresConfiguration, _ sql: String) async throws {
        let logger = self.logger
        try await self.withStore(admin) { store in
            try await store.withConnection { connection in
                _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        }
    }

    func count(_ store: PostgresStore, _ sql: String) async throws -> Int {
        let logger = self.logger
        return try await store.withConnection { connection in
            var result = 0
            for try await (n,) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode((Int,).self) {
                result = n
            }
            return result
        }
    }

    struct EffectFailed: Error {}

    // MARK: - Readiness and errors

    @Test func pingSucceedsAgainstTheRealServer() async throws {
        try await self.withTestDatabase { store, _ in
            try await store.ping()
            try await store.checkConnection()
        }
    }

    @Test func wrongPasswordGivesAuthenticationFailedWithoutThePassword() async throws {
        let admin = try self.adminConfiguration()
        var configuration = admin
        let wrong = "wrong-" + UUID().uuidString
        configuration.password = wrong
        try await self.withStore(configuration) { store in
            for attempt in ["ping", "migrate"] {
                do {
                    if attempt == "ping" { try await store.ping() } else { try await store.migrate() }
                    Issue.record("\(attempt) succeeded with a wrong password")
                } catch let error as PostgresStoreError {
                    #expect(error.code == .authenticationFailed, "\(attempt): \(error)")
                    #expect(!error.isRetriable)
                    #expect(error.description.contains("'\(admin.username)'"), "\(error)")
                    #expect(error.description.contains("\(admin.host):\(admin.port)"), "\(error)")
                    #expect(error.description.contains("QUORUM_POSTGRES_URL"), "\(error)")
                    #expect(!error.description.contains(wrong), "wrong password leaked: \(error)")
                    if let real = admin.password { #expect(!error.description.contains(real), "password leaked") }
                }
            }
        }
    }

    @Test func unreachablePortGivesUnreachablePromptly() async throws {
        var configuration = try self.adminConfiguration()
        configuration.port = try Self.closedPort()
        configuration.connectTimeout = .seconds(2)
        try await self.withStore(configuration) { store in
            for attempt in ["ping", "migrate"] {
                do {
                    if attempt == "ping" { try await store.ping(timeout: .seconds(1)) } else { try await store.migrate() }
                    Issue.record("\(attempt) succeeded against a closed port")
                } catch let error as PostgresStoreError {
                    #expect(error.code == .unreachable, "\(attempt): \(error)")
                    #expect(error.isRetriable)
                    #expect(error.description.contains("127.0.0.1:\(configuration.port)"), "\(error)")
                }
            }
        }
    }

    @Test func missingDatabaseIsReportedByName() async throws {
        var configuration = try self.adminConfiguration()
        configuration.database = "no_such_db_" + UUID().uuidString.prefix(8).lowercased()
        try await self.withStore(configuration) { store in
            let error = await #expect(throws: PostgresStoreError.self) { try await store.migrate() }
            #expect(error?.code == .databaseNotFound)
            #expect(error?.description.contains(configuration.database) == true)
        }
    }

    // MARK: - Migrations

    @Test func migrationsApplyOnceAndRerunIsANoOp() async throws {
        try await self.withTestDatabase { store, _ in
            let first = try await store.migrate()
            #expect(first.map(\.version) == Migration.all.map(\.version))
            let second = try await store.migrate()
            #expect(second.isEmpty)
            let count1 = try await self.count(store, "SELECT count(*)::int8 FROM schema_migrations")
            #expect(count1 == Migration.all.count)
            // The stored checksum is the SHA-256 of the SQL, the same as Postgres computes.
            let count2 = try await self.count(store, """
                SELECT count(*)::int8 FROM schema_migrations
                WHERE checksum = encode(sha256(convert_to(\(Self.literal(Migration.all[0].sql)), 'UTF8')), 'hex')
                  AND version = 1
                """)
            #expect(count2 == 1)
            let count3 = try await self.count(store, "SELECT count(*)::int8 FROM processed_messages")
            #expect(count3 == 0)
        }
    }

    @Test func concurrentMigrateCallsApplyEachMigrationOnce() async throws {
        let migrations = Migration.all + [
            Migration(version: Migration.all.count + 1, name: "slow_table", sql: """
                CREATE TABLE slow_table (id int PRIMARY KEY);
                SELECT pg_sleep(0.3);
                INSERT INTO slow_table VALUES (1);
                """),
        ]
        try await self.withTestDatabase { store, configuration in
            let other = PostgresStore(configuration: configuration, logger: self.logger)
            async let a = store.migrate(migrations)
            async let b = other.migrate(migrations)
            let (appliedA, appliedB) = try await (a, b)
            #expect(appliedA.count + appliedB.count == migrations.count)
            #expect(appliedA.isEmpty || appliedB.isEmpty)
            let count4 = try await self.count(store, "SELECT count(*)::int8 FROM schema_migrations")
            #expect(count4 == migrations.count)
            let count5 = try await self.count(store, "SELECT count(*)::int8 FROM slow_table")
            #expect(count5 == 1)
        }
    }

    @Test func anEditedAppliedMigrationIsRefused() async throws {
        try await self.withTestDatabase { store, _ in
            try await store.migrate()
            var edited = Migration.all
            let original = edited[0]
            edited[0] = Migration(version: original.version, name: original.name, sql: original.sql + "\n-- edited")
            let error = await #expect(throws: PostgresStoreError.self) { try await store.migrate(edited) }
            #expect(error?.code == .migrationChecksumMismatch)
            #expect(error?.description.contains("create_processed_messages") == true)
            #expect(error?.isRetriable == false)
        }
    }

    @Test func aDatabaseNewerThanTheCodeIsRefused() async throws {
        let newer = Migration.all + [Migration(version: Migration.all.count + 1, name: "from_the_future", sql: "CREATE TABLE future (x int)")]
        try await self.withTestDatabase { store, _ in
            try await store.migrate(newer)
            let error = await #expect(throws: PostgresStoreError.self) { try await store.migrate(Migration.all) }
            #expect(error?.code == .migrationNewerThanCode)
            #expect(error?.description.contains("from_the_future") == true)
        }
    }

    @Test func aFailingMigrationIsRolledBackCompletely() async throws {
        let broken = Migration.all + [Migration(version: Migration.all.count + 1, name: "broken", sql: """
            CREATE TABLE half_done (x int);
            SELECT * FROM no_such_table;
            """)]
        try await self.withTestDatabase { store, _ in
            let error = await #expect(throws: PostgresStoreError.self) { try await store.migrate(broken) }
            #expect(error?.code == .migrationFailed)
            #expect(error?.sqlState == "42P01")
            #expect(error?.description.contains("broken") == true)
            let count6 = try await self.count(store, "SELECT count(*)::int8 FROM schema_migrations")
            #expect(count6 == Migration.all.count)
            let count7 = try await self.count(store, "SELECT count(*)::int8 FROM pg_tables WHERE tablename = 'half_done'")
            #expect(count7 == 0)
        }
    }

    // MARK: - Transactions and exactly-once processing

    @Test func processOnceRunsTheEffectOncePerMessage() async throws {
        try await self.withTestDatabase { store, _ in
            try await store.migrate()
            let logger = self.logger
            try await store.withConnection { _ = try await $0.query("CREATE TABLE effects (id text)", logger: logger) }
            var runs = 0
            let first = try await store.processOnce(consumer: "risk", messageID: "m-1") { connection in
                runs += 1
                try await connection.query("INSERT INTO effects VALUES ('m-1')", logger: logger)
            }
            let second = try await store.processOnce(consumer: "risk", messageID: "m-1") { connection in
                runs += 1
                try await connection.query("INSERT INTO effects VALUES ('m-1')", logger: logger)
            }
            #expect(first == .applied)
            #expect(second == .duplicate)
            #expect(runs == 1)
            let count8 = try await self.count(store, "SELECT count(*)::int8 FROM effects")
            #expect(count8 == 1)
            // Another consumer processes the same message id independently.
            let otherConsumer = try await store.processOnce(consumer: "monitor", messageID: "m-1") { _ in }
            #expect(otherConsumer == .applied)
        }
    }

    @Test func aThrowingEffectRollsBackTheMarkSoARetryApplies() async throws {
        try await self.withTestDatabase { store, _ in
            try await store.migrate()
            let logger = self.logger
            try await store.withConnection { _ = try await $0.query("CREATE TABLE effects (id text)", logger: logger) }
            await #expect(throws: EffectFailed.self) {
                try await store.processOnce(consumer: "execution", messageID: "m-2") { connection in
                    try await connection.query("INSERT INTO effects VALUES ('m-2')", logger: logger)
                    throw EffectFailed()
                }
            }
            let count9 = try await self.count(store, "SELECT count(*)::int8 FROM effects")
            #expect(count9 == 0)
            let count10 = try await self.count(store, "SELECT count(*)::int8 FROM processed_messages")
            #expect(count10 == 0)
            let retry = try await store.processOnce(consumer: "execution", messageID: "m-2") { connection in
                try await connection.query("INSERT INTO effects VALUES ('m-2')", logger: logger)
            }
            #expect(retry == .applied)
            let count11 = try await self.count(store, "SELECT count(*)::int8 FROM effects")
            #expect(count11 == 1)
        }
    }

    @Test func postgresErrorsInsideATransactionAreTranslatedAndRolledBack() async throws {
        try await self.withTestDatabase { store, _ in
            let logger = self.logger
            try await store.withConnection { _ = try await $0.query("CREATE TABLE uniq (id int PRIMARY KEY)", logger: logger) }
            let error = await #expect(throws: PostgresStoreError.self) {
                try await store.withTransaction { connection in
                    try await connection.query("INSERT INTO uniq VALUES (1)", logger: logger)
                    try await connection.query("INSERT INTO uniq VALUES (1)", logger: logger)
                }
            }
            #expect(error?.code == .query)
            #expect(error?.sqlState == "23505")
            let count12 = try await self.count(store, "SELECT count(*)::int8 FROM uniq")
            #expect(count12 == 0)
        }
    }

    // MARK: - Utilities

    /// A loopback port with nothing listening: bind, read the port, close.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A SQL string literal (single quotes doubled) for test-only SQL built from trusted text.
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
