import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPostgres
import QuorumProto
import QuorumServiceKit
import QuorumServices
import QuorumStores
import Testing

struct IntegrationSetupError: Error, CustomStringConvertible {
    var description: String
}

/// The monitor as its executable runs it (`QuorumStages.monitor`) on the real broker and Postgres that `scripts/test`
/// starts, with a local receiver as its Slack webhook: risk's kill-switch alert and a dead letter trip two rules; each
/// alert appears on `alerts`, in Postgres and at the receiver.
@Suite("MonitorAlertsIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct MonitorAlertsIntegrationTests {
    static func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw IntegrationSetupError(description: "\(name) is not set: run through `scripts/test --filter MonitorAlertsIntegrationTests` (it starts the servers)")
        }
        return value
    }

    @Test("a kill switch and a dead letter raise alerts that reach the alerts topic, Postgres and the webhook")
    func monitorRaisesAlerts() async throws {
        let brokers = try Self.env("QUORUM_KAFKA_BROKERS")
        let postgresURL = try Self.env("QUORUM_POSTGRES_URL")
        let redisURL = try Self.env("QUORUM_REDIS_URL")
        let prefix = "alerts-" + UUID().uuidString.prefix(8).lowercased()
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }

        let config = try Configuration(registry: ServiceRunner.makeRegistry(name: "quorum-monitor", extraKeys: ServiceKeys.monitor), values: [
            "http.port": "0", "log.level": "critical", "topic.prefix": prefix, "kafka.brokers": brokers,
            "postgres.url": postgresURL, "redis.url": redisURL, "kafka.session.timeout.ms": "6000",
            "monitor.alerts.slack.url": "\(base)/ok/slack/T1/B1/integration-secret", "monitor.lag.interval": "1s",
        ])
        let app = try await ServiceRunner.build(config: config) { @Sendable context in try await QuorumStages.monitor(context) }
        let running = Task { try await app.run() }
        defer { running.cancel() }

        let namer = try TopicNamer(prefix: prefix)
        let bus = try KafkaBus(configuration: Backends.kafkaConfiguration(config), logger: Logger(label: "test"))
        let producer = try bus.makeProducer(clientID: "alerts-test")
        let killTime: Int64 = 1_551_398_400_000_000_000
        var kill = Quorum_V1_Alert()
        kill.envelope = Quorum_V1_Envelope(id: "ks-\(killTime)-true", tsEventNs: killTime, tsInitNs: killTime, producer: "quorum-risk")
        kill.severity = .critical
        kill.source = "quorum-risk"
        kill.code = "KILL_SWITCH_ON"
        kill.message = "daily loss 3.1 % >= 3 %"
        // The monitor creates the topics at start-up; send until they are there.
        let deadLetter = OutgoingMessage(topic: namer.deadLetterName(Topic.bars), key: "BTC-USD", value: Array("not a bar".utf8),
                                         headers: [MessageHeader(DeadLetterHeader.reason, "undecodable")])
        var sent = false
        for _ in 0..<100 where !sent {
            do {
                _ = try await producer.send([try OutgoingMessage(topic: namer.name(Topic.alerts), key: "quorum-risk", message: kill, eventTimeNs: killTime),
                                         deadLetter])
                sent = true
            } catch {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(sent)

        // Postgres (the run's schema).
        var pg = try PostgresConfiguration(url: postgresURL)
        pg.schema = PostgresConfiguration.schema(forTopicPrefix: prefix)
        let store = PostgresStore(configuration: pg, logger: Logger(label: "test"))
        let storeTask = Task { await store.run() }
        defer { storeTask.cancel() }
        let alerts = Alerts(store: store)
        let killID = "kill_switch:risk:\(killTime)"
        var stored: [AlertRecord] = []
        for _ in 0..<300 {
            stored = (try? await alerts.recent()) ?? []
            if stored.contains(where: { $0.alertID == killID }) && stored.contains(where: { $0.code == "dlq_growth" }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let killRecord = stored.first { $0.alertID == killID }
        #expect(killRecord?.severity == "critical")
        #expect(killRecord?.source == "quorum-monitor")
        #expect(killRecord?.message.contains("daily loss 3.1 %") == true)
        #expect(stored.contains { $0.code == "dlq_growth" && $0.alertID.hasPrefix("dlq_growth:md.bars:") })

        // The alerts topic: the monitor's records next to risk's.
        let consumer = try bus.makeConsumer(group: "\(prefix)-reader", topics: [namer.name(Topic.alerts)], clientID: "alerts-test", startAt: .earliest)
        var monitorCodes: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, monitorCodes.count < 2 {
            guard let m = try await consumer.next() else { break }
            let alert = try Quorum_V1_Alert(serializedBytes: m.value)
            if alert.source == "quorum-monitor" { monitorCodes.insert(alert.code) }
        }
        await consumer.close()
        #expect(monitorCodes == ["kill_switch", "dlq_growth"])

        // The webhook.
        #expect(await eventually(.seconds(20)) { receiver.requests("/ok/slack").count >= 2 })
        let texts = receiver.requests("/ok/slack").compactMap { $0.body["text"] as? String }
        #expect(texts.contains { $0.contains("[CRITICAL] kill_switch") && $0.contains(killID) })
        #expect(texts.contains { $0.contains("[WARNING] dlq_growth") })

        await app.shutdown()
        await producer.close()
        try? await bus.deleteTopics(namer.specsWithNames().map(\.name))  // clean-up only; the servers are the test's own
    }
}
