import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// The outcome of one training job (`training_runs`).
public struct TrainingRunRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Trained and registered a model.
        case succeeded
        /// Crashed or could not train (see `error`).
        case failed
        /// Trained, but the model failed validation.
        case rejected
    }

    /// The job's id (the key: one record per job).
    public var jobID: String
    public var runID: String
    public var symbol: Symbol
    /// Which worker ran it.
    public var worker: String
    public var status: Status
    public var metrics: [String: Double]
    public var error: String?
    /// The model it produced, if any.
    public var modelID: String?
    /// The worker's wall time on the job, in milliseconds (nil in records made before it was kept).
    public var durationMs: Int64?
    /// Set by the database when recorded; nil in a record not yet stored.
    public var finishedAt: Date?

    public init(jobID: String, runID: String, symbol: Symbol, worker: String, status: Status, metrics: [String: Double] = [:],
                error: String? = nil, modelID: String? = nil, durationMs: Int64? = nil, finishedAt: Date? = nil) {
        self.jobID = jobID
        self.runID = runID
        self.symbol = symbol
        self.worker = worker
        self.status = status
        self.metrics = metrics
        self.error = error
        self.modelID = modelID
        self.durationMs = durationMs
        self.finishedAt = finishedAt
    }
}

/// Training runs (`training_runs`): one record per job, written once.
public struct TrainingRuns: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.training-runs")) {
        self.store = store
        self.logger = logger
    }

    /// Records `run` unless its job id is recorded already (`finishedAt` is set by the database).
    /// - Returns: true when inserted, false when it existed (nothing changed).
    @discardableResult
    public func record(_ run: TrainingRunRecord) async throws -> Bool {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await Self.record(run, on: connection, logger: logger)
        }
    }

    /// ``record(_:)`` on a connection the caller holds (e.g. inside `PostgresStore.processOnce`).
    @discardableResult
    public static func record(_ run: TrainingRunRecord, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let metrics = try MetricsJSON.encode(run.metrics, what: "training run \(run.jobID)")
        let inserted = try await scalar("""
            WITH inserted AS (
                INSERT INTO training_runs (job_id, run_id, symbol, worker, status, metrics, error, model_id, duration_ms)
                VALUES (\(run.jobID), \(run.runID), \(run.symbol.name), \(run.worker), \(run.status.rawValue),
                        \(metrics)::jsonb, \(run.error), \(run.modelID), \(run.durationMs))
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """, on: connection, logger: logger)
        return inserted == 1
    }

    /// The run of `jobID`, if recorded.
    public func run(jobID: String) async throws -> TrainingRunRecord? {
        try await select("WHERE job_id = \(jobID)", what: "training run \(jobID)").first
    }

    /// Every recorded run of a training run (`run_id`, e.g. a tuning search), by job id.
    public func runs(runID: String) async throws -> [TrainingRunRecord] {
        try await select("WHERE run_id = \(runID) ORDER BY job_id", what: "a run of \(runID)")
    }

    private func select(_ condition: PostgresQuery, what: String) async throws -> [TrainingRunRecord] {
        let logger = self.logger
        let query = PostgresQuery(unsafeSQL: """
            SELECT job_id, run_id, symbol, worker, status, metrics::text AS metrics, error, model_id, duration_ms, finished_at
            FROM training_runs
            """ + " " + condition.sql, binds: condition.binds)
        return try await self.store.withConnection { connection in
            try await collect(query, on: connection, logger: logger) { row in
                TrainingRunRecord(
                    jobID: try row.value("job_id"), runID: try row.value("run_id"), symbol: Symbol(try row.value("symbol")),
                    worker: try row.value("worker"),
                    status: try row.enumeration("status", as: TrainingRunRecord.Status.self, in: "training_runs"),
                    metrics: try MetricsJSON.decode(try row.value("metrics"), what: what),
                    error: try row.value("error", as: String?.self), modelID: try row.value("model_id", as: String?.self),
                    durationMs: try row.value("duration_ms", as: Int64?.self), finishedAt: try row.value("finished_at", as: Date.self))
            }
        }
    }

    /// How many runs are recorded with `status` (all of them when nil).
    public func count(status: TrainingRunRecord.Status? = nil) async throws -> Int {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            let query: PostgresQuery = if let status {
                "SELECT count(*) FROM training_runs WHERE status = \(status.rawValue)"
            } else {
                "SELECT count(*) FROM training_runs"
            }
            return Int(try await scalar(query, on: connection, logger: logger))
        }
    }
}
