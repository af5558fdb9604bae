import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// One row of the operator audit (`operator_audit`): who did what, to what, why, and how it ended.
public struct AuditEntry: Sendable, Hashable {
    /// How an action stands in this row: an action writes `.requested` before it acts, then `.done` or `.failed`.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case requested, done, failed
    }

    /// Set by the database (increasing); nil in an entry not yet stored.
    public var entryID: Int64?
    /// Who: an operator's name (the OS user or `--actor` for the CLI; the dashboard's form).
    public var actor: String
    /// What: e.g. `kill_switch_on`, `model_activate`, `model_rollback`, `replay_group_reset`.
    public var action: String
    /// On what: a model id, a symbol, a consumer group, `quorum-risk`.
    public var target: String
    /// Why, as the operator wrote it (never empty).
    public var reason: String
    public var outcome: Outcome
    /// Details of the outcome (what changed, or the error), empty for `.requested`.
    public var detail: String
    /// Where it came from: `cli` or `dashboard`.
    public var origin: String
    /// When (set by the database); nil in an entry not yet stored.
    public var at: Date?

    public init(actor: String, action: String, target: String, reason: String, outcome: Outcome, detail: String = "",
                origin: String, entryID: Int64? = nil, at: Date? = nil) {
        self.entryID = entryID
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        self.outcome = outcome
        self.detail = detail
        self.origin = origin
        self.at = at
    }
}

/// The append-only operator audit (`operator_audit`, migration 5): rows are only ever inserted (a trigger refuses UPDATE
/// and DELETE), so the table is the history of every operator action.
public struct OperatorAudit: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.audit")) {
        self.store = store
        self.logger = logger
    }

    /// Appends `entry`; returns its id.
    /// - Throws: ``StoresError`` `.invalidArgument` when actor, action or reason is empty (the table requires them).
    @discardableResult
    public func append(_ entry: AuditEntry) async throws -> Int64 {
        for (name, value) in [("actor", entry.actor), ("action", entry.action), ("reason", entry.reason)]
        where value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoresError(code: .invalidArgument, message: "an operator audit entry needs a \(name) (action '\(entry.action)' on '\(entry.target)')")
        }
        let outcome = entry.outcome == .requested ? entry.outcome.rawValue : "\(entry.outcome.rawValue): \(entry.detail)"
        let logger = self.logger
        return try await store.withConnection { connection in
            try await scalar("""
                INSERT INTO operator_audit (actor, action, target, reason, outcome, origin)
                VALUES (\(entry.actor), \(entry.action), \(entry.target), \(entry.reason), \(outcome), \(entry.origin))
                RETURNING entry_id
                """, on: connection, logger: logger)
        }
    }

    /// The `limit` latest entries, newest first.
    public func recent(limit: Int = 50) async throws -> [AuditEntry] {
        let logger = self.logger
        let limit = Int64(max(0, limit))
        return try await store.withConnection { connection in
            try await collect("""
                SELECT entry_id, at, actor, action, target, reason, outcome, origin FROM operator_audit
                ORDER BY entry_id DESC LIMIT \(limit)
                """, on: connection, logger: logger) { row in
                let stored = try row.value("outcome", as: String.self)
                let (outcome, detail) = Self.split(stored)
                return AuditEntry(actor: try row.value("actor"), action: try row.value("action"), target: try row.value("target"),
                                  reason: try row.value("reason"), outcome: outcome, detail: detail, origin: try row.value("origin"),
                                  entryID: try row.value("entry_id", as: Int64.self), at: try row.value("at", as: Date.self))
            }
        }
    }

    /// `done: detail` → (.done, "detail"). A stored text that names no outcome is kept whole as a failure's detail.
    static func split(_ stored: String) -> (AuditEntry.Outcome, String) {
        let parts = stored.split(separator: ":", maxSplits: 1)
        guard let first = parts.first, let outcome = AuditEntry.Outcome(rawValue: String(first)) else { return (.failed, stored) }
        return (outcome, parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
    }
}
