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
        Migration(version: 2, name: "create_pipeline_records", sql: """
            -- Durable records of the pipeline (DESIGN.md §4). Money, prices and quantities are exact bigint
            -- counts of 1e-8 units (QuorumModel's Fixed.units); times are event-time nanoseconds (*_ns).

            -- Bar archive: one row per (symbol, interval, open time); re-ingesting a file inserts nothing.
            CREATE TABLE bars (
                symbol           text   NOT NULL,
                interval_seconds int    NOT NULL CHECK (interval_seconds > 0),
                open_time_ns     bigint NOT NULL,
                open             bigint NOT NULL,
                high             bigint NOT NULL,
                low              bigint NOT NULL,
                close            bigint NOT NULL,
                volume           bigint NOT NULL,
                source_file      text   NOT NULL,
                source_line      bigint NOT NULL,
                bar_id           text   NOT NULL,
                PRIMARY KEY (symbol, interval_seconds, open_time_ns)
            );

            -- Model registry: versions, lineage (job, run, training window, feature spec), metrics, artifacts.
            CREATE TABLE models (
                model_id             text        PRIMARY KEY,
                symbol               text        NOT NULL,
                version              text        NOT NULL,
                model_kind           text        NOT NULL,
                feature_spec         text        NOT NULL,
                feature_spec_version int         NOT NULL,
                train_from_ns        bigint      NOT NULL,
                train_to_ns          bigint      NOT NULL,
                validate_to_ns       bigint      NOT NULL,
                metrics              jsonb       NOT NULL DEFAULT '{}',
                artifact             bytea       NOT NULL,
                job_id               text        NOT NULL UNIQUE,
                run_id               text        NOT NULL,
                status               text        NOT NULL DEFAULT 'registered'
                                     CHECK (status IN ('registered', 'active', 'retired', 'rejected')),
                created_at           timestamptz NOT NULL DEFAULT now(),
                activated_at         timestamptz NULL
            );
            CREATE INDEX models_symbol_status ON models (symbol, status);
            -- At most one active model per symbol, whatever the code does.
            CREATE UNIQUE INDEX models_one_active_per_symbol ON models (symbol) WHERE status = 'active';

            -- Training runs: one row per training job, whatever its outcome.
            CREATE TABLE training_runs (
                job_id      text        PRIMARY KEY,
                run_id      text        NOT NULL,
                symbol      text        NOT NULL,
                worker      text        NOT NULL,
                status      text        NOT NULL CHECK (status IN ('succeeded', 'failed', 'rejected')),
                metrics     jsonb       NOT NULL DEFAULT '{}',
                error       text        NULL,
                model_id    text        NULL,
                finished_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX training_runs_status ON training_runs (status);

            -- Orders: one row per client order id, holding its furthest status.
            CREATE TABLE orders (
                client_order_id text        PRIMARY KEY,
                decision_id     text        NOT NULL,
                symbol          text        NOT NULL,
                side            text        NOT NULL CHECK (side IN ('buy', 'sell')),
                quantity        bigint      NOT NULL CHECK (quantity > 0),
                status          text        NOT NULL
                                CHECK (status IN ('new', 'accepted', 'filled', 'rejected', 'cancelled')),
                reason          text        NULL,
                ts_event_ns     bigint      NOT NULL,
                updated_at      timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX orders_symbol ON orders (symbol);

            -- Fills: applied to positions exactly once (the fill id is the key).
            CREATE TABLE fills (
                fill_id         text   PRIMARY KEY,
                client_order_id text   NOT NULL REFERENCES orders (client_order_id),
                symbol          text   NOT NULL,
                side            text   NOT NULL CHECK (side IN ('buy', 'sell')),
                quantity        bigint NOT NULL CHECK (quantity > 0),
                price           bigint NOT NULL,
                fee             bigint NOT NULL,
                ts_event_ns     bigint NOT NULL
            );
            CREATE INDEX fills_client_order_id ON fills (client_order_id);
            CREATE INDEX fills_symbol ON fills (symbol);

            -- Position ledger: per symbol, the sums over its fills. cost = Σ signed quantity × price, each product
            -- rounded half-to-even at 1e-8 as Fixed * does; a buy adds, a sell subtracts.
            CREATE TABLE positions (
                symbol     text   PRIMARY KEY,
                quantity   bigint NOT NULL,
                cost       bigint NOT NULL,
                fees       bigint NOT NULL,
                fill_count int    NOT NULL
            );

            -- Risk denials (audit): one row per denied client order id.
            CREATE TABLE risk_denials (
                client_order_id text   PRIMARY KEY,
                decision_id     text   NOT NULL,
                symbol          text   NOT NULL,
                reason_code     text   NOT NULL,
                reason          text   NOT NULL,
                ts_event_ns     bigint NOT NULL
            );

            -- Alerts raised by any service.
            CREATE TABLE alerts (
                alert_id    text        PRIMARY KEY,
                severity    text        NOT NULL,
                source      text        NOT NULL,
                code        text        NOT NULL,
                message     text        NOT NULL,
                ts_event_ns bigint      NOT NULL,
                created_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX alerts_ts_event ON alerts (ts_event_ns DESC);
            """),
        Migration(version: 3, name: "create_tuning_records", sql: """
            -- How long each training job took (milliseconds of the worker's wall time; capacity planning only).
            ALTER TABLE training_runs ADD COLUMN duration_ms bigint NULL;
            CREATE INDEX training_runs_run ON training_runs (run_id);

            -- Where a model comes from beyond its job: the tuning search, trial and folds that chose its
            -- hyperparameters, the data range, the code version (TrainingJob.lineage).
            ALTER TABLE models ADD COLUMN lineage jsonb NOT NULL DEFAULT '{}';

            -- Hyperparameter searches (`quorum tune --cluster`): one row per search, its settings and outcome.
            CREATE TABLE tuning_searches (
                search_id   text        PRIMARY KEY,
                family      text        NOT NULL,
                objective   text        NOT NULL,
                settings    jsonb       NOT NULL,
                status      text        NOT NULL CHECK (status IN ('running', 'finished')),
                best_trial  int         NULL,
                best_rung   int         NULL,
                best_loss   double precision NULL,
                started_at  timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz NULL
            );

            -- One row per trial and rung run: its hyperparameters, budget, loss (NULL: a job failed) and jobs.
            CREATE TABLE tuning_trials (
                search_id       text             NOT NULL REFERENCES tuning_searches (search_id),
                trial           int              NOT NULL,
                rung            int              NOT NULL,
                hyperparameters jsonb            NOT NULL,
                budget          double precision NOT NULL,
                loss            double precision NULL,
                jobs            int              NOT NULL,
                failed_jobs     int              NOT NULL,
                duration_ms     bigint           NOT NULL,
                finished_at     timestamptz      NOT NULL DEFAULT now(),
                PRIMARY KEY (search_id, trial, rung)
            );
            """),
        Migration(version: 4, name: "create_stage_checkpoints", sql: """
            -- The newest checkpoint of each stateful stage (StageHost): its state, and per input partition the
            -- offset the state reaches and the records it holds back. A restarted stage restores it and re-reads
            -- only what follows.
            CREATE TABLE stage_checkpoints (
                group_id  text        PRIMARY KEY,
                format    int         NOT NULL,
                sequence  bigint      NOT NULL,
                positions jsonb       NOT NULL,
                state     bytea       NOT NULL,
                saved_at  timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(version: 5, name: "count_model_activations", sql: """
            -- How many activations the model's symbol had when this model was activated (1, 2, ...; NULL: never
            -- activated). The models events carry it, so inference serves the latest activation whatever order
            -- two workers' events arrive in.
            ALTER TABLE models ADD COLUMN activation_seq bigint NULL;
            """),
        Migration(version: 6, name: "create_operator_audit", sql: """
            -- Every operator action (kill switch, model activation and rollback, group rewinds), from the CLI or the
            -- dashboard: who, what, on what, why, and how it ended. Append-only: an action writes a 'requested' row
            -- before it acts and a 'done' or 'failed' row after; the trigger refuses UPDATE and DELETE.
            CREATE TABLE operator_audit (
                entry_id   bigserial   PRIMARY KEY,
                at         timestamptz NOT NULL DEFAULT now(),
                actor      text        NOT NULL CHECK (actor <> ''),
                action     text        NOT NULL CHECK (action <> ''),
                target     text        NOT NULL,
                reason     text        NOT NULL CHECK (reason <> ''),
                outcome    text        NOT NULL,
                origin     text        NOT NULL
            );
            CREATE FUNCTION operator_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'operator_audit is append-only: % is not allowed', TG_OP;
            END $$;
            CREATE TRIGGER operator_audit_append_only BEFORE UPDATE OR DELETE ON operator_audit
                FOR EACH ROW EXECUTE FUNCTION operator_audit_append_only();
            """),
    ]
}
