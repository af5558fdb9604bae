import QuorumBus
import QuorumPipeline
import QuorumServiceKit
import QuorumServices
import Synchronization
import Testing

/// A stage that rebuilds its state (like execution): it only counts what it sees.
struct CountingLogic: StageLogic {
    let group = "test-rebuilding"
    let inputs: [String]
    var rebuildsState: Bool { true }
    func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep { .done(message) }
}

@Suite("Stage readiness follows the state rebuild")
struct StageReadinessTests {
    static func config() throws -> Configuration {
        try Configuration(registry: ServiceRunner.makeRegistry(name: "quorum-test"),
                          values: ["http.port": "0", "readiness.check.interval": "0", "log.level": "critical"])
    }

    /// Polls readiness until `condition` holds (about 10 s at most); returns the last report.
    static func waitForReadiness(_ app: QuorumApp, _ condition: (ReadinessReport) -> Bool) async throws -> ReadinessReport {
        var report = await app.context.health.readiness()
        for _ in 0..<500 where !condition(report) {
            try await Task.sleep(for: .milliseconds(20))
            report = await app.context.health.readiness()
        }
        return report
    }

    @Test("a stage is not ready while it rebuilds its state; ready once it handles live input; the rebuild group is deleted")
    func notReadyWhileRebuilding() async throws {
        let bus = InMemoryBus()
        let topic = "test.rebuild.input"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 1, retentionMs: -1, summary: "test")])
        let producer = try bus.makeProducer(clientID: "test")
        _ = try await producer.send((0..<3).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)]) })
        // The group committed 5 records before its restart; only 3 are there yet, so the rebuild waits for the rest.
        try await bus.setCommittedOffsets(group: "test-rebuilding", topic: topic, offsets: [0: 5])

        let app = try await ServiceRunner.build(config: try Self.config()) { context in
            [await StageHostService(logic: CountingLogic(inputs: [topic]), bus: bus, context: context, checkpoints: nil)]
        }
        let running = Task { try await app.run() }

        let rebuilding = try await Self.waitForReadiness(app) { $0.checks.contains { $0.failure?.contains("rebuilding") == true } }
        #expect(!rebuilding.isReady)
        #expect(rebuilding.checks.first { $0.name == "stage" }?.failure?.contains("rebuilding state from its inputs") == true,
                "\(rebuilding)")
        #expect(try await bus.consumerGroups().contains { $0.hasPrefix("test-rebuilding.rebuild.") })

        _ = try await producer.send((3..<6).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)]) })
        let ready = try await Self.waitForReadiness(app) { $0.isReady }
        #expect(ready.isReady, "\(ready)")
        #expect(try await bus.consumerGroups() == ["test-rebuilding"])

        await app.shutdown()
        try await running.value
    }
}

/// A stage that forwards every input to `output`.
struct ForwardingLogic: StageLogic {
    let group = "test-forwarding"
    let inputs: [String]
    let output: String
    var rebuildsState: Bool { false }
    func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        .done(message, [OutgoingMessage(topic: output, key: message.key, value: message.value)])
    }
}

/// An in-memory bus whose producers fail every send while `failing` is set (a broker away, topics missing).
final class FlakyBus: MessageBus, Sendable {
    let inner = InMemoryBus()
    let failing = Mutex(false)
    func makeProducer(clientID: String) throws -> any MessageProducer { FlakyProducer(inner: try inner.makeProducer(clientID: clientID), bus: self) }
    func makeConsumer(group: String, topics: [String], clientID: String, startAt: StartPosition) throws -> any MessageConsumer {
        try inner.makeConsumer(group: group, topics: topics, clientID: clientID, startAt: startAt)
    }
    func createTopics(_ specs: [TopicSpec]) async throws { try await inner.createTopics(specs) }
    func offsetsForTimes(topic: String, timestampMs: Int64) async throws -> [Int32: Int64] {
        try await inner.offsetsForTimes(topic: topic, timestampMs: timestampMs)
    }
    func watermarks(topic: String) async throws -> [Int32: Watermark] { try await inner.watermarks(topic: topic) }
    func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] { try await inner.committedOffsets(group: group, topic: topic) }
    func setCommittedOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws {
        try await inner.setCommittedOffsets(group: group, topic: topic, offsets: offsets)
    }
    func deleteConsumerGroup(_ group: String) async throws { try await inner.deleteConsumerGroup(group) }
    func consumerGroups() async throws -> [String] { try await inner.consumerGroups() }
}

final class FlakyProducer: MessageProducer, Sendable {
    let inner: any MessageProducer
    let bus: FlakyBus
    init(inner: any MessageProducer, bus: FlakyBus) { self.inner = inner; self.bus = bus }
    func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        if bus.failing.withLock({ $0 }) { throw BusError(.deliveryFailed, "test: the broker is away", isRetriable: true) }
        return try await inner.send(messages)
    }
    func flush(timeout: Duration) async throws { try await inner.flush(timeout: timeout) }
    func close() async { await inner.close() }
}

@Suite("Stage readiness follows progress")
struct StageProgressReadinessTests {
    @Test("publishing that keeps failing makes the stage unready with the error; it is ready again, with nothing lost, once a retry works")
    func publishingFailures() async throws {
        let bus = FlakyBus()
        let (input, output) = ("test.progress.input", "test.progress.output")
        try await bus.createTopics([input, output].map { TopicSpec(name: $0, key: .symbol, valueType: "bytes", partitions: 1, retentionMs: -1, summary: "test") })
        let config = try Configuration(registry: ServiceRunner.makeRegistry(name: "quorum-test"),
                                       values: ["http.port": "0", "readiness.check.interval": "0", "log.level": "critical",
                                                "stage.publish.retry.limit": "3"])
        let app = try await ServiceRunner.build(config: config) { context in
            [await StageHostService(logic: ForwardingLogic(inputs: [input], output: output), bus: bus, context: context, checkpoints: nil)]
        }
        let running = Task { try await app.run() }
        let ready = try await StageReadinessTests.waitForReadiness(app) { $0.isReady }
        #expect(ready.isReady, "\(ready)")

        bus.failing.withLock { $0 = true }
        let producer = try bus.inner.makeProducer(clientID: "test")
        _ = try await producer.send([OutgoingMessage(topic: input, key: "k", value: [1])])
        let stuck = try await StageReadinessTests.waitForReadiness(app) { !$0.isReady }
        let failure = stuck.checks.first { $0.name == "stage" }?.failure ?? ""
        // At least the limit (3); a loaded machine may see a later attempt's count, the reason is updated each time.
        #expect(failure.contains("publish failed ") && failure.contains(" times in a row") && failure.contains("the broker is away"), "\(stuck)")

        bus.failing.withLock { $0 = false }
        let back = try await StageReadinessTests.waitForReadiness(app) { $0.isReady }
        #expect(back.isReady, "\(back)")
        #expect(try await bus.watermarks(topic: output)[0]?.high == 1)

        await app.shutdown()
        try await running.value
    }
}
