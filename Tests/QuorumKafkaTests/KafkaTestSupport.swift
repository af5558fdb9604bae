import Foundation
import Logging
import QuorumBus
import QuorumKafka
import Testing

/// The broker `make test` started (scripts/servers writes QUORUM_KAFKA_BROKERS).
func testBrokers() throws -> String {
    guard let brokers = ProcessInfo.processInfo.environment["QUORUM_KAFKA_BROKERS"], !brokers.isEmpty else {
        Issue.record("QUORUM_KAFKA_BROKERS is not set: run the integration tests through `make test`, which starts the broker")
        throw BusError(.invalidConfiguration, "QUORUM_KAFKA_BROKERS is not set")
    }
    return brokers
}

func testLogger(_ label: String) -> Logger {
    var l = Logger(label: label)
    l.logLevel = ProcessInfo.processInfo.environment["QUORUM_TEST_LOG"] == "debug" ? .debug : .warning
    return l
}

func makeTestBus() throws -> KafkaBus {
    try KafkaBus(configuration: KafkaConfiguration(brokers: try testBrokers(), clientID: "test", sessionTimeoutMs: 6000),
                 logger: testLogger("test.kafka"))
}

/// A topic name no other test or run uses.
func uniqueTopic(_ label: String) -> String {
    "test.\(label).\(UUID().uuidString.prefix(8).lowercased())"
}

func spec(_ name: String, partitions: Int32) -> TopicSpec {
    TopicSpec(name: name, key: .symbol, valueType: "bytes", partitions: partitions, retentionMs: 3_600_000, summary: "test")
}

/// Reads from `consumer` until `count` messages arrived or `timeout` passed.
func collect(_ consumer: any MessageConsumer, count: Int, timeout: Duration, commit: Bool = true) async throws -> [IncomingMessage] {
    try await withThrowingTaskGroup(of: [IncomingMessage].self) { group in
        group.addTask {
            var got: [IncomingMessage] = []
            while got.count < count, let m = try await consumer.next() {
                got.append(m)
                if commit { try consumer.commit(m) }
            }
            return got
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            consumer.interrupt()
            return []
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
