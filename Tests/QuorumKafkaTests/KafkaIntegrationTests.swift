import CRdKafka
import Foundation
import QuorumBus
import QuorumKafka
import Testing

@Suite("KafkaIntegrationTests", .serialized, .timeLimit(.minutes(5)))
struct KafkaIntegrationTests {
    @Test("librdkafka at run time is >= 2.3 (older cannot talk to the local broker)")
    func runtimeVersion() {
        #expect(rd_kafka_version() >= RdKafkaVersion.minimum, "linked librdkafka \(RdKafkaVersion.string) is older than 2.3")
    }

    @Test("produce then consume: every message comes back once, with key, headers, timestamp and its partition")
    func roundTrip() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("roundtrip")
        try await bus.createTopics([spec(topic, partitions: 3)])
        let producer = try bus.makeProducer(clientID: "rt-producer")
        let messages = (0..<300).map { i in
            OutgoingMessage(topic: topic, key: "SYM\(i % 7)", value: Array("value-\(i)".utf8),
                            headers: [MessageHeader("n", "\(i)")], timestampMs: 1_500_000_000_000 + Int64(i))
        }
        let reports = try await producer.send(messages)
        #expect(reports.count == 300)
        for (m, r) in zip(messages, reports) {
            // librdkafka's murmur2 partitioner and ours agree, so the in-memory bus places keys identically.
            #expect(r.partition == Partitioner.partition(forKey: m.key, partitions: 3))
        }
        await producer.close()

        let consumer = try bus.makeConsumer(group: "g-\(topic)", topics: [topic], clientID: "rt", startAt: .earliest)
        let got = try await collect(consumer, count: 300, timeout: .seconds(30))
        await consumer.close()
        #expect(got.count == 300)
        let byValue = Dictionary(uniqueKeysWithValues: got.map { (String(decoding: $0.value, as: UTF8.self), $0) })
        for (i, m) in messages.enumerated() {
            let g = try #require(byValue["value-\(i)"])
            #expect(g.key == m.key)
            #expect(g.header("n")?.text == "\(i)")
            #expect(g.timestampMs == m.timestampMs)
            #expect(g.partition == reports[i].partition && g.offset == reports[i].offset)
        }
        // Per key, offsets increase in send order.
        for key in Set(messages.map(\.key)) {
            let offsets = got.filter { $0.key == key }.sorted { $0.offset < $1.offset }.map { String(decoding: $0.value, as: UTF8.self) }
            let sent = messages.filter { $0.key == key }.map { String(decoding: $0.value, as: UTF8.self) }
            #expect(offsets == sent)
        }
    }

    @Test("an explicit partition overrides the key's, on the broker and in the in-memory bus alike")
    func explicitPartition() async throws {
        let topic = uniqueTopic("explicit")
        // The key alone would put every record on one partition; the explicit one deals them out.
        let messages = (0..<6).map { i in
            var m = OutgoingMessage(topic: topic, key: "same-key", value: [UInt8(i)])
            m.partition = Int32(i % 3)
            return m
        }
        let bus = try makeTestBus()
        try await bus.createTopics([spec(topic, partitions: 3)])
        let producer = try bus.makeProducer(clientID: "explicit-producer")
        let reports = try await producer.send(messages)
        await producer.close()
        #expect(reports.map(\.partition) == [0, 1, 2, 0, 1, 2])
        let memory = InMemoryBus(defaultPartitions: 3)
        let memoryProducer = try memory.makeProducer(clientID: "explicit-memory")
        #expect(try await memoryProducer.send(messages).map(\.partition) == [0, 1, 2, 0, 1, 2])
    }

    @Test("committed offsets survive the consumer: a new member of the group resumes after the last commit")
    func commitResumes() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("commit")
        try await bus.createTopics([spec(topic, partitions: 1)])
        let producer = try bus.makeProducer(clientID: "c-producer")
        _ = try await producer.send((0..<10).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)]) })
        await producer.close()
        let group = "g-\(topic)"

        let first = try bus.makeConsumer(group: group, topics: [topic], clientID: "c1", startAt: .earliest)
        let firstBatch = try await collect(first, count: 4, timeout: .seconds(30))
        #expect(firstBatch.map { $0.value[0] } == [0, 1, 2, 3])
        await first.close()
        #expect(try await bus.committedOffsets(group: group, topic: topic) == [0: 4])

        let second = try bus.makeConsumer(group: group, topics: [topic], clientID: "c2", startAt: .earliest)
        let rest = try await collect(second, count: 6, timeout: .seconds(30))
        await second.close()
        #expect(rest.map { $0.value[0] } == [4, 5, 6, 7, 8, 9])
    }

    @Test("offsets-for-times finds the first record at or after a time; watermarks; setting a group's offsets")
    func offsetsForTimesAndReset() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("oft")
        try await bus.createTopics([spec(topic, partitions: 1)])
        let producer = try bus.makeProducer(clientID: "oft")
        // Two sends, so the partition holds more than one record batch.
        for range in [0..<5, 5..<10] {
            _ = try await producer.send(range.map {
                OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)], timestampMs: 1_000_000 + Int64($0) * 1000)
            })
        }
        await producer.close()
        #expect(try await bus.offsetsForTimes(topic: topic, timestampMs: 1_004_500) == [0: 5])
        #expect(try await bus.offsetsForTimes(topic: topic, timestampMs: 0) == [0: 0])
        #expect(try await bus.offsetsForTimes(topic: topic, timestampMs: 9_000_000) == [0: 10])
        #expect(try await bus.watermarks(topic: topic) == [0: Watermark(low: 0, high: 10)])

        let group = "g-\(topic)"
        try await bus.setCommittedOffsets(group: group, topic: topic, offsets: [0: 7])
        #expect(try await bus.committedOffsets(group: group, topic: topic) == [0: 7])
        let consumer = try bus.makeConsumer(group: group, topics: [topic], clientID: "oft", startAt: .earliest)
        let got = try await collect(consumer, count: 3, timeout: .seconds(30))
        await consumer.close()
        #expect(got.map { $0.value[0] } == [7, 8, 9])
    }

    @Test("watermarks of many topics at once equal each topic's own, idle and empty partitions included")
    func watermarksOfManyTopics() async throws {
        let bus = try makeTestBus()
        let busy = uniqueTopic("wm-busy"), idle = uniqueTopic("wm-idle")
        try await bus.createTopics([spec(busy, partitions: 3), spec(idle, partitions: 2)])
        let producer = try bus.makeProducer(clientID: "wm")
        // Several sends, so partitions hold more than one batch (the local broker reports a batch's base offset + 1).
        for round in 0..<4 {
            _ = try await producer.send((0..<25).map { OutgoingMessage(topic: busy, key: "k\($0 % 2)", value: [UInt8(round), UInt8($0)]) })
        }
        _ = try await producer.send([OutgoingMessage(topic: idle, key: "only", value: [1])])
        await producer.close()
        let both = try await bus.watermarks(topics: [busy, idle, busy])
        #expect(Set(both.keys) == [busy, idle])
        #expect(both[busy] == (try await bus.watermarks(topic: busy)))
        #expect(both[idle] == (try await bus.watermarks(topic: idle)))
        #expect(both[busy]?.values.map(\.high).reduce(0, +) == 100, "\(both[busy] ?? [:])")
        #expect(both[busy]?.count == 3)
        #expect(both[idle]?.values.map(\.high).sorted() == [0, 1], "one partition empty, one with a record: \(both[idle] ?? [:])")
        // Each partition's end is the number of records read from it.
        let perPartition = Dictionary(grouping: try await bus.readAll(topic: busy), by: \.partition).mapValues { Int64($0.count) }
        #expect(both[busy]?.mapValues(\.high).filter { $0.value > 0 } == perPartition)
    }

    @Test("the end of a partition written all the while: at least what was acknowledged before asking, at most what was sent")
    func watermarksWhileWritten() async throws {
        // A short read deadline, so that a read to the end of a partition its producer keeps ahead of runs out of time:
        // the end is then the last offset read + 1 (RecordProbe.endOffsets), not an error.
        let bus = try KafkaBus(configuration: KafkaConfiguration(brokers: try testBrokers(), clientID: "test-wm-live",
                                                                 requestTimeoutMs: 200),
                               logger: testLogger("test.kafka"))
        let topic = uniqueTopic("wm-live")
        try await bus.createTopics([spec(topic, partitions: 1)])
        actor Count {
            var value: Int64 = 0
            func set(_ v: Int64) { value = v }
        }
        let acknowledged = Count()
        let writer = Task {
            let producer = try bus.makeProducer(clientID: "wm-live")
            for round in 0..<200 {
                _ = try await producer.send((0..<200).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8(round % 256), UInt8($0)]) })
                await acknowledged.set(Int64(round + 1) * 200)
            }
            await producer.close()
        }
        var asked = 0
        while await acknowledged.value < 40_000, asked < 200 {
            let before = await acknowledged.value
            let high = try await bus.watermarks(topic: topic)[0]?.high ?? 0
            #expect(high >= before && high <= 40_000, "end \(high), \(before) acknowledged before asking")
            asked += 1
        }
        try await writer.value
        #expect(try await bus.watermarks(topic: topic)[0]?.high == 40_000)
    }

    @Test("an unreachable broker is reported in one clear line, promptly")
    func unreachableBroker() async throws {
        let bus = try KafkaBus(configuration: KafkaConfiguration(brokers: "127.0.0.1:1", requestTimeoutMs: 1500),
                               logger: testLogger("test.unreachable"))
        do {
            try await bus.checkConnection()
            Issue.record("expected an error for a broker nobody listens on")
        } catch let error as BusError {
            #expect(error.code == .brokerUnreachable)
            #expect(error.isRetriable)
            #expect(error.description.contains("127.0.0.1:1"))
            #expect(error.description.contains("kafka.brokers"))
        }
    }

    @Test("bad broker list is rejected before any client is made")
    func badBrokerList() {
        #expect(throws: BusError.self) { try KafkaConfiguration(brokers: "localhost").validate() }
        #expect(throws: BusError.self) { try KafkaConfiguration(brokers: "host:99999").validate() }
    }
}
