import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPipeline
import QuorumServiceKit
import Synchronization
import Testing

/// A stage that rebuilds its state (like execution) and only counts what it handles.
struct RebuildingLogic: StageLogic {
    let group: String
    let inputs: [String]
    var rebuildsState: Bool { true }
    func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep { .done(message) }
}

/// Keeps every log message (with its `group` metadata) for inspection.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let group = event.metadata?["group"].map { " group=\($0)" } ?? ""
            log.lines.withLock { $0.append("\(event.level) \(event.message)\(group)") }
        }
    }

    var logger: Logger { Logger(label: "rebuild-test") { _ in Handler(log: self) } }
}

/// A restarted stage on the real broker: it reports running only after its state rebuild, and the rebuild's
/// throw-away consumer group is gone afterwards.
@Suite("StageRebuildIntegrationTests", .serialized, .timeLimit(.minutes(5)))
struct StageRebuildIntegrationTests {
    static func bus() throws -> KafkaBus {
        guard let brokers = ProcessInfo.processInfo.environment["QUORUM_KAFKA_BROKERS"], !brokers.isEmpty else {
            throw ClusterTestError("QUORUM_KAFKA_BROKERS is not set: run through `make test` (scripts/test)")
        }
        var logger = Logger(label: "rebuild-test")
        logger.logLevel = .warning
        return try KafkaBus(configuration: KafkaConfiguration(brokers: brokers, clientID: "rebuild-test", sessionTimeoutMs: 6000),
                            logger: logger)
    }

    @Test("a restart rebuilds its 200 records before it runs live, and the broker deletes the rebuild's consumer group")
    func rebuildThenRunNoGroupLeft() async throws {
        let bus = try Self.bus()
        let tag = UUID().uuidString.prefix(8).lowercased()
        let topic = "test.rebuild.\(tag)"
        let group = "test-rebuild-\(tag)"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 2, retentionMs: 3_600_000,
                                              summary: "test")])
        _ = try await bus.makeProducer(clientID: "rebuild-test").send((0..<200).map {
            OutgoingMessage(topic: topic, key: "k\($0 % 7)", value: [UInt8($0 % 256)])
        })
        var logger = Logger(label: "rebuild-test")
        logger.logLevel = .warning

        // First life: handles and commits everything.
        let first = StageHost(logic: RebuildingLogic(group: group, inputs: [topic]), bus: bus, logger: logger)
        let firstRun = Task { try await first.run() }
        for _ in 0..<600 where first.handledTotal.load(ordering: .relaxed) < 200 { try await Task.sleep(for: .milliseconds(100)) }
        first.stop()
        try await firstRun.value
        #expect(try await bus.committedOffsets(group: group, topic: topic).values.reduce(0, +) == 200)

        // Second life: rebuilds the 200 records, and only then runs.
        let captured = CapturedLog()
        let second = StageHost(logic: RebuildingLogic(group: group, inputs: [topic]), bus: bus, logger: captured.logger)
        let secondRun = Task { try await second.run() }
        var phases: [StageProgress.Phase] = []
        for _ in 0..<6000 {
            let phase = second.progress.phase
            if phases.last != phase { phases.append(phase) }
            if phase == .running { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(phases.last == .running, "\(phases)")
        #expect(second.rebuiltCount == 200, "running only once the 200 committed records are rebuilt")
        #expect(throws: Never.self) { try second.progress.checkRunning() }
        second.stop()
        try await secondRun.value
        #expect(second.rebuiltCount == 200)
        #expect(second.progress.phase == .stopped)

        // The broker accepted the deletion of the rebuild's group (the local broker does not list groups without
        // committed offsets, so the listing below can only catch a leftover on brokers that keep empty groups).
        let lines = captured.lines.withLock { $0 }
        #expect(lines.contains { $0.hasPrefix("info rebuild consumer group deleted group=\(group).rebuild.") }, "\(lines)")
        #expect(!lines.contains { $0.contains("was not deleted") }, "\(lines)")
        let groups = try await bus.consumerGroups()
        #expect(groups.contains(group), "the stage's own group stays: \(groups)")
        #expect(!groups.contains { $0.hasPrefix("\(group).rebuild.") }, "rebuild groups left behind: \(groups.filter { $0.hasPrefix(group) })")
        try await bus.deleteConsumerGroup(group)
        try await bus.deleteTopics([topic])
    }
}
