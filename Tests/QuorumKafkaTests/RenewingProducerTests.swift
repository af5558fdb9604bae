import Logging
import QuorumBus
import QuorumKafka
import Synchronization
import Testing

/// An inner producer of the test: fails sends while `failures` > 0, reports `reason` as its renewal reason.
final class ScriptedProducer: RenewableProducer, Sendable {
    let number: Int
    let state: Mutex<(failures: Int, reason: String?, sent: Int, closed: Bool)>
    init(number: Int, failures: Int = 0) {
        self.number = number
        state = Mutex((failures, nil, 0, false))
    }
    var renewalReason: String? { state.withLock { $0.reason } }
    func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        try state.withLock { s in
            if s.failures > 0 {
                s.failures -= 1
                throw BusError(.fatal, "test: producer \(number) can no longer deliver", isRetriable: true)
            }
            s.sent += messages.count
        }
        return messages.map { DeliveryReport(topic: $0.topic, partition: 0, offset: 0) }
    }
    func flush(timeout: Duration) async throws {}
    func close() async { state.withLock { $0.closed = true } }
}

@Suite("RenewingProducer")
struct RenewingProducerTests {
    /// Makes producers in order from `script` (failures of each), remembering them.
    final class Factory: Sendable {
        let made = Mutex<[ScriptedProducer]>([])
        let script: [Int]
        init(_ script: [Int]) { self.script = script }
        func make() -> ScriptedProducer {
            made.withLock { made in
                let p = ScriptedProducer(number: made.count, failures: made.count < script.count ? script[made.count] : 0)
                made.append(p)
                return p
            }
        }
        var producers: [ScriptedProducer] { made.withLock { $0 } }
    }

    static let message = [OutgoingMessage(topic: "t", key: "k", value: [1])]

    @Test("a failed send retires the producer (closed) and the retry goes out on a new one")
    func failedSendRenews() async throws {
        let factory = Factory([1])
        let producer = try RenewingProducer(logger: Logger(label: "test")) { factory.make() }
        await #expect(throws: BusError.self) { _ = try await producer.send(Self.message) }
        #expect(producer.renewals == 1)
        _ = try await producer.send(Self.message)
        let made = factory.producers
        #expect(made.count == 2)
        #expect(made[0].state.withLock { $0.closed } && made[0].state.withLock { $0.sent } == 0)
        #expect(made[1].state.withLock { $0.sent } == 1)
        await producer.close()
        #expect(made[1].state.withLock { $0.closed })
    }

    @Test("a producer that reports a renewal reason (fatal error, every broker lost) is replaced before the next send")
    func reasonRenewsBeforeSend() async throws {
        let factory = Factory([])
        let producer = try RenewingProducer(logger: Logger(label: "test")) { factory.make() }
        _ = try await producer.send(Self.message)
        factory.producers[0].state.withLock { $0.reason = "every broker was reported down" }
        _ = try await producer.send(Self.message)
        let made = factory.producers
        #expect(made.count == 2 && producer.renewals == 1)
        #expect(made[0].state.withLock { $0.sent } == 1 && made[1].state.withLock { $0.sent } == 1)
        #expect(made[0].state.withLock { $0.closed })
        await producer.close()
    }
}
