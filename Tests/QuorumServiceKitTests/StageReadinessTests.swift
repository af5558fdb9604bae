import QuorumBus
import QuorumPipeline
import QuorumServiceKit
import QuorumServices
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
            [await StageHostService(logic: CountingLogic(inputs: [topic]), bus: bus, context: context)]
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
