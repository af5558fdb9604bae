import Foundation
import Logging
import QuorumBus
import QuorumKafka
import Testing

/// Broker restarts on a broker of the test's own (`TestBroker`): the local broker keeps topics in memory, so a restart
/// loses every topic and committed offset, and the topics come back (re-created, or auto-created by a producer's
/// metadata request) with new topic ids.
@Suite("BrokerRestartIntegrationTests", .serialized, .timeLimit(.minutes(20)))
struct BrokerRestartIntegrationTests {
    static let topicCount = 24
    static let restarts = 3

    /// Regression test of the crashes seen during a broker restart (silent SIGSEGV exits of execution and others, glibc
    /// "corrupted double-linked list" in consensus): two librdkafka 2.8.0 bugs, fixed by
    /// scripts/patches/librdkafka-2.8.0-broker-restart.patch (scripts/bootstrap builds librdkafka with it). Without the
    /// patch the child process dies of SIGSEGV in librdkafka's main thread at the first restart.
    @Test("the Kafka clients of a process survive broker restarts whose topics come back with new topic ids")
    func clientsSurviveRestarts() async throws {
        let work = Self.workFolder(testProcess: getpid())
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // A crashed child cannot stop its broker.
        defer { TestBroker.stopLeftover(pidFile: work + "/broker.pid") }
        // In a child process: the failure this guards against is a crash that would take the test run down with it.
        await #expect(processExitsWith: .success) {
            try await Self.restartUnderClients(work: Self.workFolder(testProcess: getppid()))
        }
    }

    /// The folder of one test process's broker-restart runs (logs, the broker's pid).
    static func workFolder(testProcess: pid_t) -> String {
        NSTemporaryDirectory() + "quorum-broker-restart-\(testProcess)"
    }

    /// Producers, consumers and an admin client on `topicCount` topics; the broker restarts `restarts` times, the topics
    /// are re-created each time, and every producer must deliver to every topic again.
    static func restartUnderClients(work: String) async throws {
        let broker = try await TestBroker(log: work + "/broker.log", pidFile: work + "/broker.pid")
        defer { broker.stop() }
        var logger = Logger(label: "broker-restart-test")
        logger.logLevel = .critical  // librdkafka reports every lost connection; the outcome is what counts here
        let configuration = KafkaConfiguration(brokers: broker.address, clientID: "restart-test", sessionTimeoutMs: 6000,
                                               requestTimeoutMs: 3000, messageTimeoutMs: 10_000)
        let bus = try KafkaBus(configuration: configuration, logger: logger)
        let tag = UUID().uuidString.prefix(8).lowercased()
        let specs = (0..<topicCount).map {
            TopicSpec(name: "test.restart.\(tag).\($0)", key: .symbol, valueType: "bytes", partitions: 3, retentionMs: 3_600_000,
                      summary: "test")
        }
        try await bus.createTopics(specs)
        var producers = try (0..<3).map { try bus.makeProducer(clientID: "restart-producer-\($0)") }
        let consumers = try (0..<3).map {
            try bus.makeConsumer(group: "restart-\(tag)-\($0)", topics: specs.map(\.name), clientID: "restart-consumer", startAt: .earliest)
        }
        for round in 0...restarts {
            if round > 0 {
                try await broker.restart()
                try await retry(for: .seconds(60)) { try await bus.createTopics(specs) }
            }
            for index in producers.indices {
                // After a restart the broker no longer knows the idempotent producer (a fatal error for it): a new one
                // is made, as the stages do.
                try await retry(for: .seconds(60), onFailure: {
                    await producers[index].close()
                    producers[index] = try bus.makeProducer(clientID: "restart-producer-\(index)")
                }) {
                    _ = try await producers[index].send(specs.map { OutgoingMessage(topic: $0.name, key: "k", value: [UInt8(round)]) })
                }
            }
            // The consumers' metadata refreshes and rebalances run meanwhile.
            try await Task.sleep(for: .seconds(2))
        }
        for producer in producers { await producer.close() }
        for consumer in consumers { await consumer.close() }
    }

    /// Runs `body` until it succeeds, calling `onFailure` after each failure, for at most `limit`.
    static func retry(for limit: Duration, onFailure: () async throws -> Void = {}, _ body: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                return try await body()
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await onFailure()
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
