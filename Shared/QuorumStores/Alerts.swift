import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// An alert raised by a service (`alerts`).
public struct AlertRecord: Sendable, Hashable {
    /// Deterministic id (the key: an alert is stored once).
    public var alertID: String
    /// E.g. "info", "warning", "critical".
    public var severity: String
    /// The service or component that raised it.
    public var source: String
    /// Machine-readable code.
    public var code: String
    public var message: String
    /// Event time that triggered it.
    public var time: Nanos
    /// Set by the database when recorded; nil in a record not yet stored.
    public var createdAt: Date?

    public init(alertID: String, severity: String, source: String, code: String, message: String, time: Nanos, createdAt: Date? = nil) {
        self.alertID = alertID
        self.severity = severity
        self.source = source
        self.code = code
        self.message = message
        self.time = time
        self.createdAt = createdAt
    }
}

/// Alerts (`alerts`), each stored once.
public struct Alerts: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.alerts")) {
        self.store = store
        self.logger = logger
    }

    /// Records `alert` unless its id is recorded already.
    /// - Returns: true when inserted, false when it existed (nothing changed).
    @discardableResult
    public func record(_ alert: AlertRecord) async throws -> Bool {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await Self.record(alert, on: connection, logger: logger)
        }
    }

    /// ``record(_:)`` on a connection the caller holds.
    @discardableResult
    public static func record(_ alert: AlertRecord, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let inserted = try await scalar("""
            WITH inserted AS (
                INSERT INTO alerts (alert_id, severity, source, code, message, ts_event_ns)
                VALUES (\(alert.alertID), \(alert.severity), \(alert.source), \(alert.code), \(alert.message), \(alert.time))
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """, on: connection, logger: logger)
        return inserted == 1
    }

    /// The `limit` latest alerts by event time (then by when they were recorded), newest first.
    public func recent(limit: Int = 100) async throws -> [AlertRecord] {
        let logger = self.logger
        let limit = Int64(max(0, limit))
        return try await self.store.withConnection { connection in
            try await collect("""
                SELECT alert_id, severity, source, code, message, ts_event_ns, created_at FROM alerts
                ORDER BY ts_event_ns DESC, created_at DESC, alert_id DESC
                LIMIT \(limit)
                """, on: connection, logger: logger) { row in
                AlertRecord(alertID: try row.value("alert_id"), severity: try row.value("severity"), source: try row.value("source"),
                            code: try row.value("code"), message: try row.value("message"), time: try row.value("ts_event_ns"),
                            createdAt: try row.value("created_at", as: Date.self))
            }
        }
    }
}
