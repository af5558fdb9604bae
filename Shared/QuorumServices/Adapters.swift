import Foundation
import QuorumModel
import QuorumPipeline
import QuorumRedis
import QuorumRisk
import QuorumStores

// The pipeline's effect sinks, implemented with the cluster's stores.

/// Hot state in Redis (DESIGN.md §4).
public struct RedisHotStateSink: HotStateSink {
    let state: RedisHotState

    public init(client: RedisClient) { state = RedisHotState(client: client) }

    public func setLatestFeatures(symbol: String, bytes: [UInt8]) async throws {
        try await state.setLatestFeatures(symbol: symbol, bytes: bytes)
    }
    public func setActiveModel(symbol: String, modelID: String) async throws {
        try await state.setActiveModel(symbol: symbol, modelID: modelID)
    }
    public func setExposure(symbol: String, quantity: Fixed) async throws {
        try await state.setExposure(symbol: symbol, quantity.description)
    }
    public func setKillSwitch(on: Bool, reason: String) async throws {
        try await state.setKillSwitch(on: on, reason: reason)
    }
    public func setExecutionBook(startingCash: Fixed, cash: Fixed, positions: [String: Fixed]) async throws {
        try await state.setExecutionBook(startingCash: startingCash.description, cash: cash.description, positions: positions.mapValues(\.description))
    }
}

/// Orders, fills and the position ledger in Postgres (one transaction per batch, idempotent).
public struct PostgresExecutionSink: ExecutionRecordSink {
    let ledger: ExecutionLedgerStore

    public init(ledger: ExecutionLedgerStore) { self.ledger = ledger }

    public func apply(orders: [OrderRow], fills: [Fill]) async throws {
        let records = orders.map { o in
            OrderRecord(clientOrderID: o.clientOrderID, decisionID: o.decisionID, symbol: o.symbol, side: o.side, quantity: o.quantity,
                        status: OrderRecord.Status(rawValue: o.status.rawValue.lowercased()) ?? .new, reason: o.reason, time: o.time)
        }
        _ = try await ledger.apply(ExecutionBatch(orders: records, fills: fills))
    }
}

/// Risk's denial audit in Postgres.
public struct PostgresDenialSink: DenialRecordSink {
    let ledger: ExecutionLedgerStore

    public init(ledger: ExecutionLedgerStore) { self.ledger = ledger }

    public func record(_ denials: [OrderDenial]) async throws {
        _ = try await ledger.recordDenials(denials.map {
            DenialRecord(clientOrderID: $0.clientOrderID, decisionID: $0.decisionID, symbol: $0.symbol, reasonCode: $0.reason.rawValue,
                         reason: $0.text, time: $0.time)
        })
    }
}

/// The bar archive in Postgres.
public struct PostgresBarArchiveSink: BarArchiveSink {
    let archive: BarArchive

    public init(archive: BarArchive) { self.archive = archive }

    public func archive(_ bars: [ArchivedBarRecord]) async throws {
        _ = try await archive.insert(bars.map { ArchivedBar(bar: $0.bar, barID: $0.id, sourceFile: $0.file, sourceLine: Int64($0.line)) })
    }
}

/// Stage checkpoints in Postgres (`stage_checkpoints`, one row per consumer group; see `StageHost`).
public struct PostgresCheckpointStore: CheckpointStore {
    let checkpoints: StageCheckpoints

    public init(checkpoints: StageCheckpoints) { self.checkpoints = checkpoints }

    public func latest(group: String) async throws -> StageCheckpoint? {
        guard let row = try await checkpoints.latest(group: group) else { return nil }
        let positions = try JSONDecoder().decode([StageCheckpoint.Position].self, from: Data(row.positionsJSON.utf8))
        return StageCheckpoint(group: row.group, format: row.format, sequence: row.sequence, positions: positions, state: row.state)
    }

    public func save(_ checkpoint: StageCheckpoint) async throws {
        let positions = String(decoding: try JSONEncoder().encode(checkpoint.positions), as: UTF8.self)
        try await checkpoints.save(StageCheckpointRow(group: checkpoint.group, format: checkpoint.format, sequence: checkpoint.sequence,
                                                      positionsJSON: positions, state: checkpoint.state))
    }
}
