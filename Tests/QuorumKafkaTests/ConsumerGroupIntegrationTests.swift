import CRdKafka
import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPostgres
import Synchronization
import Testing

/// Records which member handled which message value.
final class Ledger: Sendable {
    let entries = Mutex<[(member: String, value: String)]>([])
    func add(_ member: String, _ value: String) { entries.withLock { $0.append((member, value)) } }
    var values: [String] { entries.withLock { $0.map(\.value) } }
    func count(of member: String) -> Int { entries.withLock { $0.filter { $0.member == member }.count } }
}

/// Runs a member that handles (records + commits) every message until stopped.
func runMember(_ consumer: any MessageConsumer, name: String, ledger: Ledger) -> Task<Void, any Error> {
    Task {
        while let m = try await consumer.next() {
            ledger.add(name, String(decoding: m.value, as: UTF8.self))
            try consumer.commit(m)
        }
    }
}

@Suite("ConsumerGroupIntegrationTests", .serialized, .timeLimit(.minutes(5)))
struct ConsumerGroupIntegrationTests {
    @Test("two members split the partitions; a third joining rebalances without loss or duplicate processing")
    func splitAndRebalance() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("group")
        try await bus.createTopics([spec(topic, partitions: 6)])
        let group = "g-\(topic)"
        let producer = try bus.makeProducer(clientID: "group-producer")
        let ledger = Ledger()

        let a = try bus.makeConsumer(group: group, topics: [topic], clientID: "a", startAt: .earliest)
        let b = try bus.makeConsumer(group: group, topics: [topic], clientID: "b", startAt: .earliest)
        let ta = runMember(a, name: "a", ledger: ledger)
        let tb = runMember(b, name: "b", ledger: ledger)
        #expect(try await eventually(.seconds(30)) { a.assignment().count + b.assignment().count == 6 && !a.assignment().isEmpty && !b.assignment().isEmpty })
        #expect(a.assignment().isDisjoint(with: b.assignment()))

        // Traffic flows while the third member joins.
        var sent = 0
        func send(_ n: Int) async throws {
            _ = try await producer.send((sent..<sent + n).map { OutgoingMessage(topic: topic, key: "K\($0 % 23)", value: Array("m\($0)".utf8)) })
            sent += n
        }
        try await send(300)
        #expect(try await eventually(.seconds(20)) { ledger.values.count == 300 })
        #expect(ledger.count(of: "a") > 0 && ledger.count(of: "b") > 0)

        let c = try bus.makeConsumer(group: group, topics: [topic], clientID: "c", startAt: .earliest)
        let tc = runMember(c, name: "c", ledger: ledger)
        for _ in 0..<10 {
            try await send(30)
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(try await eventually(.seconds(30)) {
            !c.assignment().isEmpty && a.assignment().count + b.assignment().count + c.assignment().count == 6
        })
        try await send(300)
        #expect(try await eventually(.seconds(30)) { ledger.values.count >= sent })
        try await Task.sleep(for: .seconds(1))  // let any duplicate show up

        for consumer in [a, b, c] { consumer.interrupt() }
        _ = try await (ta.value, tb.value, tc.value)
        for consumer in [a, b, c] { await consumer.close() }
        await producer.close()

        let values = ledger.values
        #expect(values.count == sent, "every message handled exactly once: \(values.count) handled for \(sent) sent")
        #expect(Set(values).count == sent)
        #expect(ledger.count(of: "c") > 0, "the third member took over partitions")
    }

    @Test("an undecodable message goes to <topic>.dlq with reason headers; the loop commits and moves on")
    func deadLetterRouting() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("dlq")
        try await bus.createTopics([spec(topic, partitions: 1), spec(topic + ".dlq", partitions: 1)])
        let producer = try bus.makeProducer(clientID: "dlq-producer")
        _ = try await producer.send(["1", "2", "not-a-number", "4"].map { OutgoingMessage(topic: topic, key: "k", value: Array($0.utf8)) })
        let group = "g-\(topic)"
        let consumer = try bus.makeConsumer(group: group, topics: [topic], clientID: "dlq", startAt: .earliest)
        let loop = ConsumerLoop(consumer: consumer, deadLetters: producer, group: group, logger: testLogger("dlq"))
        let sum = Mutex(0)
        try await loop.run { m in
            guard let n = Int(String(decoding: m.value, as: UTF8.self)) else {
                throw RejectedMessage(.undecodable, "value is not an integer")
            }
            let total = sum.withLock { $0 += n; return $0 }
            if total == 7 { loop.stop() }
        }
        await consumer.close()
        #expect(sum.withLock { $0 } == 7)
        #expect(try await bus.committedOffsets(group: group, topic: topic) == [0: 4])

        let reader = try bus.makeConsumer(group: "r-\(topic)", topics: [topic + ".dlq"], clientID: "dlq-reader", startAt: .earliest)
        let letters = try await collect(reader, count: 1, timeout: .seconds(30))
        await reader.close()
        await producer.close()
        let letter = try #require(letters.first)
        #expect(String(decoding: letter.value, as: UTF8.self) == "not-a-number")
        #expect(letter.header(DeadLetterHeader.reason)?.text == "undecodable")
        #expect(letter.header(DeadLetterHeader.detail)?.text == "value is not an integer")
        #expect(letter.header(DeadLetterHeader.sourceTopic)?.text == topic)
        #expect(letter.header(DeadLetterHeader.sourceOffset)?.text == "2")
    }

    @Test("commit after effect: a consumer that dies between effect and commit gets the message again; the idempotent handler skips it")
    func commitAfterEffect() async throws {
        guard let url = ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"] else {
            Issue.record("QUORUM_POSTGRES_URL is not set: run the integration tests through `make test`")
            return
        }
        let store = PostgresStore(configuration: try PostgresConfiguration(url: url), logger: testLogger("pg"))
        let runner = Task { await store.run() }
        defer { runner.cancel() }
        try await store.migrate()
        let table = "effects_\(UUID().uuidString.prefix(8).lowercased())"
        try await store.withConnection { conn in
            _ = try await conn.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (value text NOT NULL)"), logger: testLogger("pg"))
        }

        let bus = try makeTestBus()
        let topic = uniqueTopic("effect")
        try await bus.createTopics([spec(topic, partitions: 1)])
        let producer = try bus.makeProducer(clientID: "effect-producer")
        _ = try await producer.send(["first", "second"].map { OutgoingMessage(topic: topic, key: "k", value: Array($0.utf8)) })
        await producer.close()
        let group = "g-\(topic)"

        /// The idempotent handler: the effect (a row) and the processed-message mark in one transaction.
        func handle(_ m: IncomingMessage) async throws -> PostgresStore.IdempotencyOutcome {
            let id = "\(m.topic)/\(m.partition)/\(m.offset)"
            let value = String(decoding: m.value, as: UTF8.self)
            return try await store.processOnce(consumer: group, messageID: id) { conn in
                _ = try await conn.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table) (value) VALUES ('\(value)')"), logger: testLogger("pg"))
            }
        }

        // Member 1: handles "first" and commits; handles "second" (effect durable) and dies before the commit.
        let first = try bus.makeConsumer(group: group, topics: [topic], clientID: "m1", startAt: .earliest)
        let m1 = try #require(try await first.next())
        #expect(try await handle(m1) == .applied)
        try first.commit(m1)
        let m2 = try #require(try await first.next())
        #expect(try await handle(m2) == .applied)
        await first.close()  // no commit of m2: as if killed between effect and commit

        // Member 2: "second" is delivered again and the handler recognises it.
        let second = try bus.makeConsumer(group: group, topics: [topic], clientID: "m2", startAt: .earliest)
        let again = try #require(try await second.next())
        #expect(String(decoding: again.value, as: UTF8.self) == "second")
        #expect(again.offset == m2.offset)
        #expect(try await handle(again) == .duplicate)
        try second.commit(again)
        await second.close()

        let rows = try await store.withConnection { conn in
            var values: [String] = []
            for try await (v) in try await conn.query(PostgresQuery(unsafeSQL: "SELECT value FROM \(table) ORDER BY value"), logger: testLogger("pg")).decode(String.self) {
                values.append(v)
            }
            return values
        }
        #expect(rows == ["first", "second"], "each effect exactly once")
        #expect(try await bus.committedOffsets(group: group, topic: topic) == [0: 2])
    }

    @Test("deleteConsumerGroup removes a group without members and its offsets; a missing group counts as deleted")
    func deleteGroup() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("delete")
        try await bus.createTopics([spec(topic, partitions: 1)])
        let group = "g-\(topic)"
        _ = try await bus.makeProducer(clientID: "delete").send((0..<3).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)]) })
        let consumer = try bus.makeConsumer(group: group, topics: [topic], clientID: "delete", startAt: .earliest)
        #expect(try await collect(consumer, count: 3, timeout: .seconds(60)).count == 3)
        try await consumer.commitNow()
        await consumer.close()
        #expect(try await bus.consumerGroups().contains(group))
        #expect(try await bus.committedOffsets(group: group, topic: topic) == [0: 3])

        try await bus.deleteConsumerGroup(group)
        #expect(try await !bus.consumerGroups().contains(group))
        #expect(try await bus.committedOffsets(group: group, topic: topic).isEmpty)
        try await bus.deleteConsumerGroup(group)  // already gone: no error
        try await bus.deleteTopics([topic])
    }

    @Test("creating and closing clients repeatedly frees every handle (no thread or descriptor leak)")
    func noLeaks() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("leak")
        try await bus.createTopics([spec(topic, partitions: 1)])
        func openFDs() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }
        // Warm up once so lazily created process-wide resources exist before the baseline.
        let warm = try bus.makeProducer(clientID: "leak")
        _ = try await warm.send(OutgoingMessage(topic: topic, key: "k", value: [1]))
        await warm.close()
        try await Task.sleep(for: .milliseconds(500))
        let fdBefore = openFDs(), threadsBefore = threads()
        for i in 0..<30 {
            let p = try bus.makeProducer(clientID: "leak-\(i)")
            _ = try await p.send(OutgoingMessage(topic: topic, key: "k", value: [UInt8(i)]))
            await p.close()
            let c = try bus.makeConsumer(group: "leak-\(topic)", topics: [topic], clientID: "leak-\(i)", startAt: .earliest)
            await c.close()
        }
        try await Task.sleep(for: .seconds(1))
        let fdAfter = openFDs(), threadsAfter = threads()
        #expect(fdAfter - fdBefore <= 4, "file descriptors: \(fdBefore) before, \(fdAfter) after 30 producer+consumer cycles")
        #expect(threadsAfter - threadsBefore <= 4, "threads: \(threadsBefore) before, \(threadsAfter) after")
    }
}
