import Foundation
import QuorumBus
import QuorumKafka
import Testing

/// Sends in flight while their producer is renewed (`make bench-bus` renewed its producer on "Local: Unknown partition"
/// of a new topic while the other sends of its window went on). Real broker; `ProducerCloseRaceTests` covers close.
@Suite("ProducerRenewalRaceTests", .serialized, .timeLimit(.minutes(5)))
struct ProducerRenewalRaceTests {
    /// What one concurrent send ended with.
    enum Outcome: Sendable, Equatable {
        case delivered(Int)
        case failed(String)
    }

    static let payload = [UInt8](repeating: 0x42, count: 200)
    static let keys = (0..<64).map { Array("key-\($0)".utf8) }

    static func batch(_ topic: String, _ count: Int) -> [OutgoingMessage] {
        (0..<count).map { i in OutgoingMessage(topic: topic, key: keys[i % keys.count], value: payload) }
    }

    /// Records the topic holds (high - low over its partitions), read back from the broker.
    static func stored(_ bus: KafkaBus, _ topic: String) async throws -> Int {
        try await bus.watermarks(topic: topic).values.reduce(0) { $0 + Int($1.high - $1.low) }
    }

    @Test("sends failing with an unknown partition renew the producer while others are in flight; every other send delivers")
    func unknownPartitionDuringConcurrentSends() async throws {
        let bus = try makeTestBus()
        let topic = uniqueTopic("renewrace")
        try await bus.createTopics([spec(topic, partitions: 3)])
        let producer = try bus.makeProducer(clientID: "renew-race")
        var delivered = 0
        for round in 0..<8 {
            let outcomes = await withTaskGroup(of: (bad: Bool, outcome: Outcome).self) { group in
                for s in 0..<8 {
                    group.addTask {
                        var batch = Self.batch(topic, 2000)
                        let bad = s % 4 == round % 4
                        if bad { batch[1000].partition = 9 }  // the topic has partitions 0...2
                        do {
                            let reports = try await producer.send(batch)
                            return (bad, .delivered(reports.filter { $0.offset >= 0 && (0..<3).contains($0.partition) }.count))
                        } catch {
                            return (bad, .failed(String(describing: error)))
                        }
                    }
                }
                var all: [(bad: Bool, outcome: Outcome)] = []
                for await o in group { all.append(o) }
                return all
            }
            for (bad, outcome) in outcomes {
                if bad {
                    guard case .failed = outcome else { Issue.record("a send with partition 9 of 3 did not fail"); continue }
                } else if case .delivered(let n) = outcome {
                    #expect(n == 2000)
                    delivered += n
                } else {
                    Issue.record("round \(round): a good send failed beside a renewal: \(outcome)")
                }
            }
        }
        #expect((producer as? RenewingProducer)?.renewals ?? 0 > 0)
        await producer.close()
        // Messages before the bad one of a failed send may be delivered too: at least the good sends' are stored.
        #expect(try await Self.stored(bus, topic) >= delivered)
        try? await bus.deleteTopics([topic])
    }
}
