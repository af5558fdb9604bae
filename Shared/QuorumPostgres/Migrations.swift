extension Migration {
    /// Every schema change of Quorum's database, oldest first. Applied by ``PostgresStore/migrate()`` at start-up.
    ///
    /// To change the schema, append ONE entry with the next version number and a short snake_case name:
    /// ```swift
    /// Migration(version: 2, name: "create_bars", sql: """
    ///     CREATE TABLE bars (...);
    ///     CREATE INDEX bars_symbol_ts ON bars (symbol, ts_event);
    ///     """),
    /// ```
    /// Rules:
    /// - Never edit or remove an entry once it has been applied anywhere: its SHA-256 is stored in
    ///   `schema_migrations`, and a service refuses to start when they differ. Fix mistakes with a new entry.
    /// - Versions are 1, 2, 3, ... without gaps (a unit test checks this).
    /// - `sql` may hold several statements separated by `;`; they run in one transaction with the bookkeeping
    ///   row, so a migration applies completely or not at all. Statements that cannot run in a transaction
    ///   (`CREATE INDEX CONCURRENTLY`, `VACUUM`) are therefore not allowed.
    public static let all: [Migration] = [
        Migration(version: 1, name: "create_processed_messages", sql: """
            -- Idempotent consumers: one row per (consumer, message id) whose side effects are committed.
            CREATE TABLE processed_messages (
                consumer     text        NOT NULL,
                message_id   text        NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, message_id)
            );
            """),
    ]
}
