import Foundation
import Logging
import QuorumBus
import QuorumKafka
import Testing

/// The local cluster's durable broker (scripts/broker with s3 storage: Tansu on a local S3 server), on a broker of the
/// test's own: a topic's records and a group's committed offsets survive a restart of the broker, a clean stop and
/// start of the broker with its S3 server (what `scripts/cluster down` then `up` does), and a kill -9 of both. With
/// memory storage every check fails: the topic and the offsets are gone after the restart.
@Suite("DurableBrokerIntegrationTests", .serialized, .timeLimit(.minutes(5)))
struct DurableBrokerIntegrationTests {
    static let messages = 300
    static let handledBeforeRestart = 120

    @Test("a broker restart keeps the topic, its records and the group's committed offsets; the group resumes where it committed")
    func brokerRestart() async throws {
        try await Self.checkSurvival(storage: .s3) { broker in try await broker.restart() }
    }

    @Test("a clean stop and start of the broker and its S3 server (as scripts/cluster down, then up) keeps them too")
    func cleanStopAndStart() async throws {
        try await Self.checkSurvival(storage: .s3) { broker in
            broker.stop()
            try await broker.start()
        }
    }

    @Test("a crash of the broker and its S3 server (kill -9 of both) keeps them too: the S3 server has them on disk")
    func crashOfBoth() async throws {
        try await Self.checkSurvival(storage: .s3) { broker in
            try broker.crash()
            try await broker.start()
        }
    }

    /// Produces `messages` records to a new 3-partition topic, lets a group handle and commit `handledBeforeRestart` of
    /// them, runs `restart`, then checks that the topic and the committed offsets are unchanged and that a new member of
    /// the group gets exactly the records that were not handled before.
    static func checkSurvival(storage: TestBroker.Storage, restart: (TestBroker) async throws -> Void) async throws {
        let folder = NSTemporaryDirectory() + "quorum-durable-broker-\(UUID().uuidString.prefix(8))"
        let broker = try await TestBroker(folder: folder, storage: storage)
        defer {
            broker.stop()
            try? FileManager.default.removeItem(atPath: folder)  // best effort: a temp folder
        }
        var logger = Logger(label: "durable-broker-test")
        logger.logLevel = .critical  // librdkafka reports the lost connections of the restart; the outcome is what counts
        let bus = try KafkaBus(configuration: KafkaConfiguration(brokers: broker.address, clientID: "durable-test", sessionTimeoutMs: 6000,
                                                                 requestTimeoutMs: 3000, messageTimeoutMs: 10_000),
                               logger: logger)
        let topic = "test.durable.\(UUID().uuidString.prefix(8).lowercased())"
        let group = "durable-\(topic)"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 3, retentionMs: 3_600_000,
                                              summary: "test")])
        let producer = try bus.makeProducer(clientID: "durable-producer")
        _ = try await producer.send((0..<messages).map { OutgoingMessage(topic: topic, key: "K\($0 % 7)", value: Array("m\($0)".utf8)) })
        await producer.close()

        let before = try await handle(bus, topic: topic, group: group, count: handledBeforeRestart, within: .seconds(60))
        let committed = try await bus.committedOffsets(group: group, topic: topic)
        #expect(committed.values.reduce(0, +) == Int64(handledBeforeRestart), "committed before the restart: \(committed)")

        try await restart(broker)

        let partitions = try await answer(within: .seconds(30)) { try await bus.topicPartitionCounts()[topic] }
        #expect(partitions == 3, "the topic after the restart: \(partitions.map(String.init) ?? "gone")")
        let committedAfter = try await answer(within: .seconds(30)) { try await bus.committedOffsets(group: group, topic: topic) }
        #expect(committedAfter == committed, "committed offsets after the restart: \(committedAfter) (before: \(committed))")
        let after = try await handle(bus, topic: topic, group: group, count: messages - handledBeforeRestart, within: .seconds(60))
        #expect(before.isDisjoint(with: after), "records handled twice: \(before.intersection(after).sorted())")
        #expect(before.union(after) == Set((0..<messages).map { "m\($0)" }),
                "records handled before and after the restart: \(before.count) + \(after.count) of \(messages)")
    }

    /// A new member of `group` handles (and commits) up to `count` records, or what arrives within `limit`; returns their
    /// values.
    static func handle(_ bus: KafkaBus, topic: String, group: String, count: Int, within limit: Duration) async throws -> Set<String> {
        let consumer = try bus.makeConsumer(group: group, topics: [topic], clientID: "durable-consumer", startAt: .earliest)
        let timer = Task {
            try? await Task.sleep(for: limit)  // cancelled when done early
            consumer.interrupt()
        }
        var values = Set<String>()
        while values.count < count, let message = try await consumer.next() {
            values.insert(String(decoding: message.value, as: UTF8.self))
            try consumer.commit(message)
        }
        timer.cancel()
        try await consumer.commitNow()
        await consumer.close()
        return values
    }

    /// The first answer of `ask` that is not nil and does not throw (the broker may not answer yet right after a restart),
    /// or nil at `limit`.
    static func answer<T>(within limit: Duration, _ ask: () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let value = try? await ask() { return value }  // asked again until the deadline
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }
}
