import Foundation
import Logging
import PostgresNIO
import QuorumPostgres

/// One stage checkpoint as stored (`stage_checkpoints`): the newest per consumer group.
public struct StageCheckpointRow: Sendable, Hashable {
    public var group: String
    /// The stage's state format version.
    public var format: Int
    /// Increases with every checkpoint of the group.
    public var sequence: Int64
    /// The input positions the state covers, as JSON (the pipeline's `StageCheckpoint.positions`).
    public var positionsJSON: String
    public var state: [UInt8]

    public init(group: String, format: Int, sequence: Int64, positionsJSON: String, state: [UInt8]) {
        self.group = group
        self.format = format
        self.sequence = sequence
        self.positionsJSON = positionsJSON
        self.state = state
    }
}

/// Stage checkpoints (`stage_checkpoints`), one row per group: saving replaces the row unless it holds a newer one.
public struct StageCheckpoints: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.checkpoints")) {
        self.store = store
        self.logger = logger
    }

    /// Keeps `row` as its group's checkpoint, unless a checkpoint with a higher sequence is stored (one statement).
    public func save(_ row: StageCheckpointRow) async throws {
        let logger = self.logger
        let format = try int32(Int64(row.format), "format of the checkpoint of \(row.group)")
        let state = ByteBuffer(bytes: row.state)
        try await store.withConnection { connection in
            try await execute("""
                INSERT INTO stage_checkpoints (group_id, format, sequence, positions, state)
                VALUES (\(row.group), \(format), \(row.sequence), \(row.positionsJSON)::jsonb, \(state))
                ON CONFLICT (group_id) DO UPDATE SET format = EXCLUDED.format, sequence = EXCLUDED.sequence,
                    positions = EXCLUDED.positions, state = EXCLUDED.state, saved_at = now()
                WHERE stage_checkpoints.sequence <= EXCLUDED.sequence
                """, on: connection, logger: logger)
        }
    }

    /// The checkpoint of `group`, nil when none is stored.
    public func latest(group: String) async throws -> StageCheckpointRow? {
        let logger = self.logger
        return try await store.withConnection { connection in
            try await collect("""
                SELECT group_id, format, sequence, positions::text AS positions, state FROM stage_checkpoints WHERE group_id = \(group)
                """, on: connection, logger: logger) { row in
                StageCheckpointRow(group: try row.value("group_id"), format: Int(try row.value("format", as: Int32.self)),
                                   sequence: try row.value("sequence"), positionsJSON: try row.value("positions"),
                                   state: Array(try row.value("state", as: ByteBuffer.self).readableBytesView))
            }.first
        }
    }

    /// Deletes the checkpoint of `group` (a replay from an earlier point resets the stage's state). Returns whether one existed.
    @discardableResult
    public func delete(group: String) async throws -> Bool {
        let logger = self.logger
        return try await store.withConnection { connection in
            try await scalar("""
                WITH deleted AS (DELETE FROM stage_checkpoints WHERE group_id = \(group) RETURNING 1) SELECT count(*) FROM deleted
                """, on: connection, logger: logger) == 1
        }
    }
}
