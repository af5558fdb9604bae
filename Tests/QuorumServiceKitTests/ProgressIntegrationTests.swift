import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPipeline
import QuorumServiceKit
import Testing

/// Readiness on the real broker of `make test`: lost topics come back, a consumer that owns nothing is reported.
@Suite("ProgressIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct ProgressIntegrationTests {
    static func bus() throws -> KafkaBus {
        guard let brokers = ProcessInfo.processInfo.environment["QUORUM_KAFKA_BROKERS"] else {
            throw BusError(.invalidConfiguration, "QUORUM_KAFKA_BROKERS is not set: run through `make test`")
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try KafkaBus(configuration: KafkaConfiguration(brokers: brokers, clientID: "test", sessionTimeoutMs: 6000), logger: logger)
    }

    static func spec(_ name: String, partitions: Int32) -> TopicSpec {
        TopicSpec(name: name, key: .symbol, valueType: "bytes", partitions: partitions, retentionMs: 3_600_000, summary: "test")
    }

    @Test("TopicGuard re-creates missing topics from the registry, and its check names a topic with the wrong partition count")
    func topicGuard() async throws {
        let bus = try Self.bus()
        let tag = UUID().uuidString.prefix(8).lowercased()
        let missing = Self.spec("test.guard.\(tag).missing", partitions: 3)
        let mismatched = Self.spec("test.guard.\(tag).mismatched", partitions: 2)
        try await bus.createTopics([Self.spec(mismatched.name, partitions: 1)])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let guardian = TopicGuard(bus: bus, specs: [missing, mismatched], interval: .seconds(1), logger: logger)
        await guardian.checkOnce()
        let counts = try await bus.topicPartitionCounts()
        #expect(counts[missing.name] == 3, "the missing topic is created with the registry's partitions: \(counts[missing.name] as Any)")
        await #expect {
            try await guardian.check.check()
        } throws: { error in
            "\(error)".contains("\(mismatched.name) has 1 partitions, the registry says 2")
        }
        let fine = TopicGuard(bus: bus, specs: [missing], interval: .seconds(1), logger: logger)
        await fine.checkOnce()
        try await fine.check.check()
    }

    /// A logic that consumes and does nothing.
    struct IdleLogic: StageLogic {
        let group: String
        let inputs: [String]
        var rebuildsState: Bool { false }
        func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep { .done(message) }
    }

    @Test("a stage whose consumer owns no partition for stage.unassigned.timeout reports unassigned with the reason")
    func unassigned() async throws {
        let bus = try Self.bus()
        let tag = UUID().uuidString.prefix(8).lowercased()
        let topic = "test.unassigned.\(tag)"
        try await bus.createTopics([Self.spec(topic, partitions: 1)])
        var options = StageHostOptions()
        options.unassignedTimeout = .seconds(8)  // above the broker's first assignment (half the session timeout)
        options.watchInterval = .milliseconds(200)
        options.rejoinAfter = .seconds(600)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // Two members of one group on one partition: one of them owns nothing.
        let progress = [StageProgress(), StageProgress()]
        let hosts = progress.map {
            StageHost(logic: IdleLogic(group: "test-unassigned-\(tag)", inputs: [topic]), bus: bus, options: options, logger: logger, progress: $0)
        }
        let runs = hosts.map { host in Task { try await host.run() } }
        let deadline = ContinuousClock.now + .seconds(60)
        var reasons: [String] = []
        while ContinuousClock.now < deadline {
            reasons = progress.compactMap { $0.problems[.unassigned] }
            if !reasons.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(1))
        reasons = progress.compactMap { $0.problems[.unassigned] }
        #expect(reasons.count == 1, "exactly one member owns nothing: \(reasons)")
        #expect(reasons.first?.contains("its consumer has owned no partition for") == true, "\(reasons)")
        let states = progress.map { p in Result { try p.checkRunning() } }
        #expect(states.filter { if case .failure = $0 { true } else { false } }.count == 1)
        for host in hosts { host.stop() }
        for run in runs { try await run.value }
    }
}
