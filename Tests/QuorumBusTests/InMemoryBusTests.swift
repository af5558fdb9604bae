import Foundation
import Logging
import QuorumBus
import Testing

private func spec(_ name: String, partitions: Int32) -> TopicSpec {
    TopicSpec(name: name, key: .symbol, valueType: "bytes", partitions: partitions, retentionMs: -1, summary: "test")
}

/// Reads until nothing arrives for 50 ms (the producer is done before this is called).
private func drain(_ c: any MessageConsumer, commit: Bool = true) async throws -> [IncomingMessage] {
    var got: [IncomingMessage] = []
    while true {
        let next = try await withThrowingTaskGroup(of: IncomingMessage?.self) { group in
            group.addTask { try await c.next() }
            group.addTask { try await Task.sleep(for: .milliseconds(50)); return nil }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        guard let m = next else { return got }
        got.append(m)
        if commit { try c.commit(m) }
    }
}

@Suite("InMemoryBus")
struct InMemoryBusTests {
    @Test("keys map to partitions with Kafka's murmur2; per-key order is kept")
    func partitionsByKey() async throws {
        let bus = InMemoryBus()
        try await bus.createTopics([spec("t", partitions: 4)])
        let p = try bus.makeProducer(clientID: "p")
        let sent = (0..<100).map { OutgoingMessage(topic: "t", key: "K\($0 % 5)", value: [UInt8($0)]) }
        let reports = try await p.send(sent)
        for (m, r) in zip(sent, reports) { #expect(r.partition == Partitioner.partition(forKey: m.key, partitions: 4)) }
        let c = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "c", startAt: .earliest)
        let got = try await drain(c)
        #expect(got.count == 100)
        for k in 0..<5 {
            #expect(got.filter { $0.keyString == "K\(k)" }.map { $0.value[0] } == sent.filter { $0.key == Array("K\(k)".utf8) }.map { $0.value[0] })
        }
    }

    @Test("two members split the partitions; a third joining rebalances; no message is delivered twice after commits")
    func groupRebalance() async throws {
        let bus = InMemoryBus()
        try await bus.createTopics([spec("t", partitions: 6)])
        let a = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "a", startAt: .earliest)
        let b = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "b", startAt: .earliest)
        #expect(a.assignment().count == 3 && b.assignment().count == 3)
        #expect(a.assignment().isDisjoint(with: b.assignment()))
        let p = try bus.makeProducer(clientID: "p")
        _ = try await p.send((0..<60).map { OutgoingMessage(topic: "t", key: "K\($0)", value: [UInt8($0)]) })
        let fromA = try await drain(a)
        let c = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "c", startAt: .earliest)
        #expect(a.assignment().count == 2 && b.assignment().count == 2 && c.assignment().count == 2)
        _ = try await p.send((60..<120).map { OutgoingMessage(topic: "t", key: "K\($0)", value: [UInt8($0)]) })
        let rest = try await drain(a) + drain(b) + drain(c)
        let all = (fromA + rest).map { $0.value[0] }
        #expect(all.count == 120)
        #expect(Set(all).count == 120)
    }

    @Test("uncommitted messages are delivered again to the next member; committed ones are not")
    func redeliveryWithoutCommit() async throws {
        let bus = InMemoryBus()
        try await bus.createTopics([spec("t", partitions: 1)])
        let p = try bus.makeProducer(clientID: "p")
        _ = try await p.send((0..<5).map { OutgoingMessage(topic: "t", key: "k", value: [UInt8($0)]) })
        let a = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "a", startAt: .earliest)
        let m0 = try #require(try await a.next())
        try a.commit(m0)
        _ = try #require(try await a.next())  // handled but never committed ("killed" before commit)
        await a.close()
        let b = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "b", startAt: .earliest)
        let again = try await drain(b)
        #expect(again.map { $0.value[0] } == [1, 2, 3, 4])
        #expect(try await bus.committedOffsets(group: "g", topic: "t") == [0: 5])
    }

    @Test("offsets-for-times, watermarks and resetting a group")
    func offsetsForTimes() async throws {
        let bus = InMemoryBus()
        try await bus.createTopics([spec("t", partitions: 1)])
        let p = try bus.makeProducer(clientID: "p")
        _ = try await p.send((0..<10).map { OutgoingMessage(topic: "t", key: "k", value: [UInt8($0)], timestampMs: Int64($0) * 10) })
        #expect(try await bus.offsetsForTimes(topic: "t", timestampMs: 45) == [0: 5])
        #expect(try await bus.offsetsForTimes(topic: "t", timestampMs: 1000) == [0: 10])
        #expect(try await bus.watermarks(topic: "t") == [0: Watermark(low: 0, high: 10)])
        try await bus.createTopics([spec("u", partitions: 2)])
        #expect(try await bus.watermarks(topics: ["t", "u", "t"])
                == ["t": [0: Watermark(low: 0, high: 10)], "u": [0: Watermark(low: 0, high: 0), 1: Watermark(low: 0, high: 0)]])
        try await bus.setCommittedOffsets(group: "g", topic: "t", offsets: [0: 8])
        let c = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "c", startAt: .earliest)
        #expect(try await drain(c).map { $0.value[0] } == [8, 9])
        await #expect(throws: BusError.self) { try await bus.setCommittedOffsets(group: "g", topic: "t", offsets: [0: 0]) }
    }

    @Test("ConsumerLoop: a rejected message goes to <topic>.dlq with reason headers and is committed; transient errors retry")
    func deadLetters() async throws {
        let bus = InMemoryBus()
        try await bus.createTopics([spec("t", partitions: 1), spec("t.dlq", partitions: 1)])
        let p = try bus.makeProducer(clientID: "p")
        _ = try await p.send(["ok1", "bad", "ok2", "flaky"].map { OutgoingMessage(topic: "t", key: "k", value: Array($0.utf8)) })
        let consumer = try bus.makeConsumer(group: "g", topics: ["t"], clientID: "c", startAt: .earliest)
        let loop = ConsumerLoop(consumer: consumer, deadLetters: p, group: "g", logger: Logger(label: "test"),
                                maxBackoff: .milliseconds(10))
        final class Seen: @unchecked Sendable {  // @unchecked: only touched by the loop's single task
            var handled: [String] = []
            var flakyFailures = 0
        }
        let seen = Seen()
        try await loop.run { m in
            let text = String(decoding: m.value, as: UTF8.self)
            if text == "bad" { throw RejectedMessage(.undecodable, "not a Bar") }
            if text == "flaky" && seen.flakyFailures < 2 {
                seen.flakyFailures += 1
                struct Transient: Error {}
                throw Transient()
            }
            seen.handled.append(text)
            if text == "flaky" { loop.stop() }
        }
        #expect(seen.handled == ["ok1", "ok2", "flaky"])
        #expect(seen.flakyFailures == 2)
        #expect(try await bus.committedOffsets(group: "g", topic: "t") == [0: 4])
        let dlqReader = try bus.makeConsumer(group: "dlq", topics: ["t.dlq"], clientID: "d", startAt: .earliest)
        let letters = try await drain(dlqReader)
        #expect(letters.count == 1)
        #expect(letters.first?.header(DeadLetterHeader.reason)?.text == "undecodable")
        #expect(letters.first?.header(DeadLetterHeader.detail)?.text == "not a Bar")
        #expect(letters.first?.header(DeadLetterHeader.sourceOffset)?.text == "1")
    }
}

@Suite("TopicRegistry")
struct TopicRegistryTests {
    @Test("every topic has a unique name, a dead-letter twin, and positive partitions")
    func registry() {
        let names = Topic.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Topic.allWithDeadLetters.count == 2 * Topic.all.count)
        for t in Topic.all {
            #expect(t.name.hasPrefix("quorum.v1."))
            #expect(t.partitions > 0)
            #expect(t.deadLetter.name == t.name + ".dlq")
        }
    }

    @Test("a prefix puts every topic beside live traffic; bad prefixes are refused with a clear message")
    func prefix() throws {
        let namer = try TopicNamer(prefix: "replay-7")
        #expect(namer.name(Topic.bars) == "replay-7.quorum.v1.md.bars")
        #expect(namer.deadLetterName(Topic.bars) == "replay-7.quorum.v1.md.bars.dlq")
        #expect(TopicNamer.live.name(Topic.bars) == "quorum.v1.md.bars")
        #expect(Topic.spec(forFullName: "replay-7.quorum.v1.features", namer: namer) == Topic.features)
        do {
            _ = try TopicNamer(prefix: "bad prefix/")
            Issue.record("expected an error")
        } catch let e as BusError {
            #expect(e.description.contains("bad prefix/"))
        }
    }

    @Test("murmur2 partitioner: deterministic, in range, spreads keys")
    func partitioner() {
        var counts = [Int](repeating: 0, count: 6)
        for i in 0..<6000 {
            let p = Partitioner.partition(forKey: Array("key-\(i)".utf8), partitions: 6)
            #expect(p >= 0 && p < 6)
            counts[Int(p)] += 1
        }
        #expect(counts.allSatisfy { $0 > 700 })
        #expect(Partitioner.partition(forKey: Array("BTC-USD".utf8), partitions: 6) == Partitioner.partition(forKey: Array("BTC-USD".utf8), partitions: 6))
    }
}

@Suite("TopicDocs")
struct TopicDocsTests {
    @Test("docs/topics.md lists every topic of the registry")
    func docsListEveryTopic() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/topics.md"), encoding: .utf8)
        for t in Topic.all {
            #expect(doc.contains("| `\(t.name)` |"), "docs/topics.md misses \(t.name): add a row to its Topics table")
        }
    }
}
