import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// One hyperparameter search of `quorum tune --cluster` (`tuning_searches`).
public struct TuningSearchRecord: Sendable, Hashable {
    public var searchID: String
    public var family: String
    /// `log_loss` or `auc`.
    public var objective: String
    /// The search's settings as JSON (space, trials, halving, seed, folds).
    public var settings: String
    public var finished: Bool
    public var bestTrial: Int?
    public var bestRung: Int?
    public var bestLoss: Double?

    public init(searchID: String, family: String, objective: String, settings: String, finished: Bool = false,
                bestTrial: Int? = nil, bestRung: Int? = nil, bestLoss: Double? = nil) {
        self.searchID = searchID
        self.family = family
        self.objective = objective
        self.settings = settings
        self.finished = finished
        self.bestTrial = bestTrial
        self.bestRung = bestRung
        self.bestLoss = bestLoss
    }
}

/// One trial run at one rung (`tuning_trials`): what the search measured for it.
public struct TuningTrialRecord: Sendable, Hashable {
    public var searchID: String
    public var trial: Int
    public var rung: Int
    public var hyperparameters: [String: Double]
    /// The share of each fold's training window the rung trains on (successive halving's budget).
    public var budget: Double
    /// The objective averaged over the trial's jobs; nil when one of them failed.
    public var loss: Double?
    public var jobs: Int
    public var failedJobs: Int
    /// The workers' wall time over the trial's jobs, summed.
    public var durationMs: Int64

    public init(searchID: String, trial: Int, rung: Int, hyperparameters: [String: Double], budget: Double, loss: Double?,
                jobs: Int, failedJobs: Int, durationMs: Int64) {
        self.searchID = searchID
        self.trial = trial
        self.rung = rung
        self.hyperparameters = hyperparameters
        self.budget = budget
        self.loss = loss
        self.jobs = jobs
        self.failedJobs = failedJobs
        self.durationMs = durationMs
    }
}

/// The searches and trials of `quorum tune --cluster`. Every write is idempotent: a resumed search records the same
/// trials again (the same seed and results give the same values), which changes nothing.
public struct TuningSearches: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.tuning")) {
        self.store = store
        self.logger = logger
    }

    /// Records the search unless it is recorded already (a resumed search keeps its row).
    public func begin(_ search: TuningSearchRecord) async throws {
        let logger = self.logger
        try await store.withConnection { connection in
            _ = try await connection.query("""
                INSERT INTO tuning_searches (search_id, family, objective, settings, status)
                VALUES (\(search.searchID), \(search.family), \(search.objective), \(search.settings)::jsonb, 'running')
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// Records a trial's rung unless it is recorded already.
    public func record(_ trial: TuningTrialRecord) async throws {
        let logger = self.logger
        let hyperparameters = try MetricsJSON.encode(trial.hyperparameters, what: "trial \(trial.trial) of \(trial.searchID)")
        let loss = trial.loss.flatMap { $0.isFinite ? $0 : nil }
        try await store.withConnection { connection in
            _ = try await connection.query("""
                INSERT INTO tuning_trials (search_id, trial, rung, hyperparameters, budget, loss, jobs, failed_jobs, duration_ms)
                VALUES (\(trial.searchID), \(trial.trial), \(trial.rung), \(hyperparameters)::jsonb, \(trial.budget), \(loss),
                        \(trial.jobs), \(trial.failedJobs), \(trial.durationMs))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// Marks the search finished with its best trial (none when every trial failed).
    public func finish(searchID: String, best: (trial: Int, rung: Int, loss: Double)?) async throws {
        let logger = self.logger
        let (trial, rung, loss) = (best?.trial, best?.rung, best.flatMap { $0.loss.isFinite ? $0.loss : nil })
        try await store.withConnection { connection in
            _ = try await connection.query("""
                UPDATE tuning_searches SET status = 'finished', best_trial = \(trial), best_rung = \(rung), best_loss = \(loss),
                       finished_at = coalesce(finished_at, now())
                WHERE search_id = \(searchID)
                """, logger: logger)
        }
    }

    public func search(id: String) async throws -> TuningSearchRecord? {
        let logger = self.logger
        return try await store.withConnection { connection in
            try await collect("""
                SELECT search_id, family, objective, settings::text AS settings, status, best_trial, best_rung, best_loss
                FROM tuning_searches WHERE search_id = \(id)
                """, on: connection, logger: logger) { row in
                TuningSearchRecord(searchID: try row.value("search_id"), family: try row.value("family"),
                                   objective: try row.value("objective"), settings: try row.value("settings"),
                                   finished: try row.value("status", as: String.self) == "finished",
                                   bestTrial: try row.value("best_trial", as: Int32?.self).map(Int.init),
                                   bestRung: try row.value("best_rung", as: Int32?.self).map(Int.init),
                                   bestLoss: try row.value("best_loss", as: Double?.self))
            }.first
        }
    }

    /// The recorded trials of a search, by trial and rung.
    public func trials(searchID: String) async throws -> [TuningTrialRecord] {
        let logger = self.logger
        return try await store.withConnection { connection in
            try await collect("""
                SELECT trial, rung, hyperparameters::text AS hyperparameters, budget, loss, jobs, failed_jobs, duration_ms
                FROM tuning_trials WHERE search_id = \(searchID) ORDER BY trial, rung
                """, on: connection, logger: logger) { row in
                let trial = Int(try row.value("trial", as: Int32.self))
                return TuningTrialRecord(
                    searchID: searchID, trial: trial, rung: Int(try row.value("rung", as: Int32.self)),
                    hyperparameters: try MetricsJSON.decode(try row.value("hyperparameters"), what: "trial \(trial) of \(searchID)"),
                    budget: try row.value("budget"), loss: try row.value("loss", as: Double?.self),
                    jobs: Int(try row.value("jobs", as: Int32.self)), failedJobs: Int(try row.value("failed_jobs", as: Int32.self)),
                    durationMs: try row.value("duration_ms"))
            }
        }
    }
}
