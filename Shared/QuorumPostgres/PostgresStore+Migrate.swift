import Logging
import PostgresNIO

extension PostgresStore {
    /// Key of the session advisory lock that serialises migrations when several services start at once
    /// ("quorum" in ASCII). Advisory locks are per database.
    static let migrationLockKey: Int64 = 0x71_75_6F_72_75_6D

    /// Brings the database schema up to date: applies the `migrations` (by default ``Migration/all``) that the
    /// database has not applied yet, in version order, each in its own transaction together with its row in
    /// `schema_migrations(version, name, checksum, applied_at)`.
    ///
    /// Safe to call from several processes at once: it holds a Postgres advisory lock on a dedicated connection
    /// (not from the pool, so it works before the pool is warm and reports connection problems precisely).
    /// Running it again when everything is applied changes nothing.
    ///
    /// - Returns: The migrations applied by this call (empty when the schema was already up to date).
    /// - Throws: ``PostgresStoreError`` — ``PostgresStoreError/Code/migrationChecksumMismatch`` when an applied
    ///   migration's SQL has been edited since, ``PostgresStoreError/Code/migrationNewerThanCode`` when the
    ///   database has a version this code does not know, ``PostgresStoreError/Code/migrationFailed`` when a
    ///   migration's SQL fails (that migration is rolled back; earlier ones stay), or a connection error.
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migration.all) async throws -> [Migration] {
        try Self.validate(migrations)
        let connection = try await self.connectDirectly()
        do {
            let applied = try await self.migrate(migrations, on: connection)
            try? await connection.close()  // harmless: migrations are committed; closing also releases the advisory lock
            return applied
        } catch {
            try? await connection.close()  // harmless: the migration's own error is thrown below
            throw self.translate(error)
        }
    }

    /// Checks the code's list: versions positive, unique, ascending.
    static func validate(_ migrations: [Migration]) throws {
        var previous = 0
        for migration in migrations {
            guard migration.version > previous else {
                throw PostgresStoreError(
                    code: .migrationFailed,
                    message: "Migration \(migration.version) '\(migration.name)' is out of order (after version \(previous))",
                    hint: "versions in Migration.all must be positive and strictly increasing; fix Migrations.swift")
            }
            previous = migration.version
        }
    }

    private func migrate(_ migrations: [Migration], on connection: PostgresConnection) async throws -> [Migration] {
        let logger = self.logger
        let where_ = "database '\(self.configuration.database)' at \(self.configuration.endpoint)"
        // Waits while another process migrates this database.
        for try await _ in try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger) {}
        if let schema = self.configuration.schema {
            // The schema of a prefixed run; the name is letters, digits and '_' (PostgresConfiguration.schema(forTopicPrefix:)).
            guard schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw PostgresStoreError(code: .migrationFailed, message: "invalid schema name '\(schema)'",
                                         hint: "use letters, digits and '_' only")
            }
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
        }
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)

        var appliedVersions = Set<Int>()
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let newestKnown = migrations.last?.version ?? 0
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: logger)
        for try await (version32, name, checksum) in rows.decode((Int32, String, String).self) {
            let version = Int(version32)
            appliedVersions.insert(version)
            guard let migration = known[version] else {
                throw PostgresStoreError(
                    code: .migrationNewerThanCode,
                    message: "The \(where_) has migration \(version) '\(name)' applied, which this build does not know (it knows up to \(newestKnown))",
                    hint: "a newer build has migrated this database: run that build or a newer one, not an older one")
            }
            guard migration.checksum == checksum else {
                throw PostgresStoreError(
                    code: .migrationChecksumMismatch,
                    message: "Migration \(version) '\(migration.name)' applied to the \(where_) differs from the code (checksum stored \(checksum.prefix(12))…, code \(migration.checksum.prefix(12))…)",
                    hint: "never edit an applied migration: restore its SQL in Migrations.swift and put the change in a new migration")
            }
        }

        var appliedNow: [Migration] = []
        for migration in migrations where !appliedVersions.contains(migration.version) {
            do {
                try await Self.transaction(on: connection, logger: logger) { connection in
                    for statement in migration.statements {
                        // Read every row so that an error raised while producing rows surfaces here.
                        for try await _ in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) {}
                    }
                    try await connection.query("""
                        INSERT INTO schema_migrations (version, name, checksum)
                        VALUES (\(Int32(migration.version)), \(migration.name), \(migration.checksum))
                        """, logger: logger)
                }
            } catch let error as PSQLError where error.code == .server {
                let serverMessage = error.serverInfo?[.message] ?? "no message"
                throw PostgresStoreError(
                    code: .migrationFailed,
                    message: "Migration \(migration.version) '\(migration.name)' failed on the \(where_): \(serverMessage); it was rolled back",
                    hint: "fix its SQL in Migrations.swift (it was never applied, so editing it is fine)",
                    sqlState: error.serverInfo?[.sqlState])
            }
            logger.info("applied Postgres migration", metadata: [
                "postgres.migration.version": "\(migration.version)",
                "postgres.migration.name": "\(migration.name)",
            ])
            appliedNow.append(migration)
        }
        for try await _ in try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger) {}
        return appliedNow
    }
}
