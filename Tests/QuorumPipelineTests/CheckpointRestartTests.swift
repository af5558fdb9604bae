import Foundation
import Logging
import QuorumBus
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumStrategy
import Testing

/// Restarts of the stateful stages after retention deleted their inputs: with checkpoints, every stage (features,
/// inference, consensus, risk, execution, monitor) goes on exactly as an uninterrupted run.
@Suite("Checkpoint restarts", .serialized, .timeLimit(.minutes(5)))
struct CheckpointRestartTests {
    /// Two symbols, a model each, 700 bars; the first `split` bars run in the first life of the stages.
    static let split = 350

    static func scenario() throws -> (bars: [Bar], models: [ServedModel]) {
        let btc = Fixtures.bars(symbol: "BTC-USD", count: 1_200, seed: 11, startPrice: 20_000)
        let eth = Fixtures.bars(symbol: "ETH-USD", count: 1_200, seed: 12, startPrice: 1_500)
        let models = [try Fixtures.model(bars: btc, trainBars: 500), try Fixtures.model(bars: eth, trainBars: 500)]
        let input = Fixtures.input([Array(btc.dropFirst(500)), Array(eth.dropFirst(500))])
        return (input.bars.map(\.bar), models)
    }

    /// The stages as the services build them, plus the monitor on a short retraining schedule (so that its state matters).
    static func stages(models: [ServedModel]) -> [any StageLogic] {
        var pipeline = InProcessPipeline(models: models)
        pipeline.featureSpec = .coreV1  // the fixture models were trained on core-v1 vectors
        pipeline.consensus = ConsensusConfig(threshold: 0.2)
        let hour: Int64 = 3_600 * 1_000_000_000
        let policy = RetrainPolicy(every: 40 * hour, window: 60 * hour, validation: 20 * hour)
        let monitor = MonitorStage(namer: .live, stats: MonitorStats(), policy: policy, featureSpec: .coreV1)
        return pipeline.stages(symbols: ["BTC-USD", "ETH-USD"]) + [monitor]
    }

    /// A running host, whatever its logic's type.
    struct Running {
        let stop: @Sendable () -> Void
        let handled: @Sendable () -> Int
        let restored: @Sendable () -> Int
        let task: Task<Void, any Error>
    }

    static func start<L: StageLogic>(_ logic: L, bus: InMemoryBus, checkpoints: (any CheckpointStore)?) -> Running {
        var options = StageHostOptions()
        options.checkpoints = checkpoints
        options.checkpointInterval = .milliseconds(200)
        options.watchInterval = .milliseconds(100)
        var logger = Logger(label: "checkpoint-test")
        logger.logLevel = .error
        let host = StageHost(logic: logic, bus: bus, options: options, logger: logger)
        let task = Task { try await host.run() }
        return Running(stop: { host.stop() }, handled: { host.handledTotal.load(ordering: .relaxed) },
                       restored: { host.rebuiltCount }, task: task)
    }

    /// Runs the stages until nothing moves for a second, then stops them (each writes its checkpoint as it stops).
    static func live(_ stages: [any StageLogic], bus: InMemoryBus, checkpoints: (any CheckpointStore)?) async throws -> [Running] {
        let hosts = stages.map { start($0, bus: bus, checkpoints: checkpoints) }
        var last = -1
        var quiet = 0
        while quiet < 10 {
            try await Task.sleep(for: .milliseconds(100))
            let now = hosts.reduce(0) { $0 + $1.handled() }
            quiet = now == last && now > 0 ? quiet + 1 : 0
            last = now
        }
        for h in hosts { h.stop() }
        for h in hosts { try await h.task.value }
        return hosts
    }

    static func publish(_ bars: some Sequence<Bar>, to bus: InMemoryBus) async throws {
        let stamp = EnvelopeStamp(producer: "test-ingest")
        let messages = try bars.map { bar in
            let wire = bar.wire(stamp: stamp)
            return try OutgoingMessage(topic: TopicNamer.live.name(Topic.bars), key: bar.symbol.name, message: wire, eventTimeNs: bar.closeTime)
        }
        _ = try await bus.makeProducer(clientID: "test").send(messages)
    }

    /// The records the ledger topics and the monitor's jobs hold now, by topic.
    static func records(_ bus: InMemoryBus) async throws -> [String: [[UInt8]]] {
        var out: [String: [[UInt8]]] = [:]
        for spec in RecordDigest.ledgerTopics + [Topic.trainingJobs] {
            out[spec.name] = try await bus.readAll(topic: TopicNamer.live.name(spec)).map(\.value)
        }
        return out
    }

    /// Digests of the ledger topics, and the training jobs' ids.
    static func summary(_ records: [String: [[UInt8]]]) throws -> [String: String] {
        var out: [String: String] = [:]
        for spec in RecordDigest.ledgerTopics {
            out[spec.name] = try RecordDigest.digest(valueType: spec.valueType, values: records[spec.name] ?? []).description
        }
        let jobs = try (records[Topic.trainingJobs.name] ?? []).map { try Quorum_V1_TrainingJob(serializedBytes: $0).jobID }
        out[Topic.trainingJobs.name] = Set(jobs).sorted().joined(separator: ",")
        return out
    }

    /// One uninterrupted life of the stages over every bar.
    static func uninterrupted(_ bars: [Bar], models: [ServedModel]) async throws -> [String: String] {
        let bus = InMemoryBus(defaultPartitions: 2)
        try await bus.createTopics(TopicNamer.live.specsWithNames())
        try await publish(bars, to: bus)
        _ = try await live(stages(models: models), bus: bus, checkpoints: nil)
        return try summary(try await records(bus))
    }

    /// Two lives: the first over the first `split` bars of each symbol; then retention deletes every record read so far,
    /// the rest of the bars arrive, and new stages (fresh state) take over.
    static func restartedAfterRetention(_ bars: [Bar], models: [ServedModel], checkpoints: (any CheckpointStore)?)
        async throws -> (summary: [String: String], second: [Running]) {
        let bus = InMemoryBus(defaultPartitions: 2)
        try await bus.createTopics(TopicNamer.live.specsWithNames())
        let cut = bars.firstIndex { $0.openTime >= bars[0].openTime + Int64(split) * Fixtures.interval * 1_000_000_000 }!
        try await publish(bars[..<cut], to: bus)
        _ = try await live(stages(models: models), bus: bus, checkpoints: checkpoints)
        var seen = try await records(bus)
        for spec in TopicNamer.live.specsWithNames() {
            let marks = try await bus.watermarks(topic: spec.name)
            try await bus.deleteRecords(topic: spec.name, before: marks.mapValues(\.high))
        }
        try await publish(bars[cut...], to: bus)
        let second = try await live(stages(models: models), bus: bus, checkpoints: checkpoints)
        for (topic, values) in try await records(bus) { seen[topic, default: []] += values }
        return (try summary(seen), second)
    }

    @Test("after retention deleted everything read, stages restored from checkpoints trade exactly as an uninterrupted run")
    func restartFromCheckpoints() async throws {
        let (bars, models) = try Self.scenario()
        let reference = try await Self.uninterrupted(bars, models: models)
        let store = InMemoryCheckpointStore()
        let (restarted, second) = try await Self.restartedAfterRetention(bars, models: models, checkpoints: store)
        #expect(restarted == reference)
        #expect(second.allSatisfy { $0.restored() == 0 }, "nothing re-read: every stage started from its checkpoint")
        // The run is not trivial: orders, fills and retraining jobs in both lives.
        #expect(reference[Topic.ordersApproved.name]?.hasPrefix("0 records") == false)
        #expect(reference[Topic.executionReports.name]?.hasPrefix("0 records") == false)
        #expect((reference[Topic.trainingJobs.name]?.split(separator: ",").count ?? 0) >= 4, "\(reference[Topic.trainingJobs.name] ?? "")")
        for group in ["quorum-features", "quorum-inference", "quorum-consensus", "quorum-risk", "quorum-execution", "quorum-monitor"] {
            #expect(try await store.latest(group: group) != nil, "\(group) keeps a checkpoint")
        }
    }

    @Test("without checkpoints the same restart rebuilds from what retention left, and trades differently")
    func restartWithoutCheckpointsDiffers() async throws {
        let (bars, models) = try Self.scenario()
        let reference = try await Self.uninterrupted(bars, models: models)
        let (restarted, _) = try await Self.restartedAfterRetention(bars, models: models, checkpoints: nil)
        #expect(restarted != reference)
    }
}

extension CheckpointRestartTests {
    /// Counts what it handled; the count is its checkpoint.
    struct Counter: StageLogic {
        let group = "counter"
        let inputs = ["numbers"]
        var seen = 0
        var rebuildsState: Bool { true }
        var stateFormat: Int { 1 }
        mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
            seen += 1
            return .done(message)
        }
        func checkpointState() throws -> [UInt8] { try Self.encodeState(seen) }
        mutating func restoreState(_ bytes: [UInt8]) throws { seen = try Self.decodeState(Int.self, bytes) }
    }

    @Test("records deleted after the checkpoint, before the stage re-read them, stop the stage with StateGap instead of a wrong state")
    func gapAfterCheckpoint() async throws {
        let bus = InMemoryBus()
        let store = InMemoryCheckpointStore()
        func send(_ n: Int) async throws {
            _ = try await bus.makeProducer(clientID: "t").send((0..<n).map { OutgoingMessage(topic: "numbers", key: "k", value: [UInt8($0 % 200)]) })
        }
        func life(_ checkpoints: (any CheckpointStore)?, until handled: Int) async throws -> StageHost<Counter> {
            var options = StageHostOptions()
            options.checkpoints = checkpoints
            options.checkpointInterval = .seconds(3600)
            let host = StageHost(logic: Counter(), bus: bus, options: options, logger: Logger(label: "gap-test"))
            let run = Task { try await host.run() }
            for _ in 0..<300 where host.handledTotal.load(ordering: .relaxed) < handled { try await Task.sleep(for: .milliseconds(20)) }
            host.stop()
            try await run.value
            return host
        }
        try await send(200)
        _ = try await life(store, until: 200)                          // checkpoint at 200
        try await send(100)
        _ = try await life(nil, until: 100)                            // rebuilds 200, 100 live: commits 300, no checkpoint
        try await bus.deleteRecords(topic: "numbers", before: [0: 250])  // 200..<250 gone before anyone re-read them
        let host = StageHost(logic: Counter(), bus: bus, options: { var o = StageHostOptions(); o.checkpoints = store; return o }(),
                             logger: Logger(label: "gap-test"))
        await #expect(throws: StateGap.self) { try await host.run() }
    }
}
