import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPipeline
import QuorumPostgres
import QuorumServices
import QuorumStores
import Testing

/// A stage whose state is the count and sum of the bytes it handled: what a checkpoint must carry over.
struct SummingLogic: StageLogic {
    let group: String
    let inputs: [String]
    var count = 0
    var sum = 0
    var rebuildsState: Bool { true }
    var stateFormat: Int { 1 }

    mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        count += 1
        sum += Int(message.value.first ?? 0)
        return .done(message)
    }

    func checkpointState() throws -> [UInt8] { try Self.encodeState([count, sum]) }

    mutating func restoreState(_ bytes: [UInt8]) throws {
        let values = try Self.decodeState([Int].self, bytes)
        (count, sum) = (values[0], values[1])
    }
}

/// Checkpoints on the real servers: a stage restored from its Postgres checkpoint re-reads only the records after it
/// (the local broker has no DeleteRecords and no retention; deleting what a checkpoint covers is tested on the in-memory
/// bus, `CheckpointRestartTests`).
@Suite("CheckpointIntegrationTests", .serialized, .timeLimit(.minutes(5)))
struct CheckpointIntegrationTests {
    static func postgres() throws -> PostgresConfiguration {
        guard let url = ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"], !url.isEmpty else {
            throw ClusterTestError("QUORUM_POSTGRES_URL is not set: run through `make test` (scripts/test)")
        }
        return try PostgresConfiguration(url: url, maximumConnections: 2)
    }

    /// Runs a host on `logic` until it has handled `expected` records live, stops it, and returns it.
    static func life(_ logic: SummingLogic, bus: KafkaBus, store: (any CheckpointStore)?, expected: Int) async throws -> StageHost<SummingLogic> {
        var options = StageHostOptions()
        options.checkpoints = store
        options.checkpointInterval = .seconds(3600)  // only the one written when it stops
        var logger = Logger(label: "checkpoint-test")
        logger.logLevel = .warning
        let host = StageHost(logic: logic, bus: bus, options: options, logger: logger)
        let run = Task { try await host.run() }
        for _ in 0..<600 where host.handledTotal.load(ordering: .relaxed) < expected { try await Task.sleep(for: .milliseconds(100)) }
        host.stop()
        try await run.value
        return host
    }

    static func send(_ values: Range<Int>, to topic: String, bus: KafkaBus) async throws {
        _ = try await bus.makeProducer(clientID: "checkpoint-test").send(values.map {
            OutgoingMessage(topic: topic, key: "k\($0 % 5)", value: [UInt8($0 % 251)])
        })
    }

    static func sum(_ values: Range<Int>) -> Int { values.reduce(0) { $0 + $1 % 251 } }

    @Test("restored from its Postgres checkpoint, a stage re-reads only the records committed after it, then goes on live")
    func restoreFromCheckpoint() async throws {
        let bus = try StageRebuildIntegrationTests.bus()
        let tag = UUID().uuidString.prefix(8).lowercased()
        let topic = "test.checkpoint.\(tag)"
        let group = "test-checkpoint-\(tag)"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 2, retentionMs: 3_600_000,
                                              summary: "test")])
        let pg = PostgresStore(configuration: try Self.postgres(), logger: Logger(label: "checkpoint-test"))
        let pool = Task { await pg.run() }
        defer { pool.cancel() }
        try await pg.migrate()
        let store = PostgresCheckpointStore(checkpoints: StageCheckpoints(store: pg))
        let logic = SummingLogic(group: group, inputs: [topic])

        // Life 1: 200 records; the checkpoint written as it stops covers them.
        try await Self.send(0..<200, to: topic, bus: bus)
        let first = try await Self.life(logic, bus: bus, store: store, expected: 200)
        #expect(first.checkpointCount >= 1)
        let checkpoint = try #require(try await store.latest(group: group))
        #expect(checkpoint.positions.reduce(0) { $0 + $1.next } == 200)

        // Life 2 without checkpoints: 100 more records are committed after the checkpoint.
        try await Self.send(200..<300, to: topic, bus: bus)
        _ = try await Self.life(logic, bus: bus, store: nil, expected: 100)  // rebuilds the first 200 from the topic, then 100 live

        // Life 3: restores the checkpoint, re-reads only the 100 records after it (through a throw-away group started at
        // the checkpoint's offsets), then takes 50 new ones live.
        try await Self.send(300..<350, to: topic, bus: bus)
        let third = try await Self.life(logic, bus: bus, store: store, expected: 50)
        #expect(third.rebuiltCount == 100)
        #expect(third.state.count == 350)
        #expect(third.state.sum == Self.sum(0..<350))
        #expect(try await store.latest(group: group).map { $0.positions.reduce(0) { $0 + $1.next } } == 350)

        try await StageCheckpoints(store: pg).delete(group: group)
        try await bus.deleteConsumerGroup(group)
        try await bus.deleteTopics([topic])
    }
}
