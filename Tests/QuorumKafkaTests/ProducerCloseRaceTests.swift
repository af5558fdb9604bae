import Foundation
import Logging
import QuorumBus
@testable import QuorumKafka
import Synchronization
import Testing

/// A producer closed (directly, or by its `RenewingProducer`) while a send is still enqueueing — the memory error
/// behind the `make bench-bus` crash. Before the fix, close() flushed for at most `message.timeout.ms`, then destroyed
/// the client and topic handles while the send went on calling `rd_kafka_produceva` with its cached topic handle
/// (AddressSanitizer: a double free inside librdkafka; without it, heap corruption that crashed later, e.g. in a
/// String comparison of the next send). No server: librdkafka's built-in mock cluster with a slow broker makes the
/// interleaving certain instead of likely.
@Suite("ProducerCloseRaceTests", .serialized, .timeLimit(.minutes(3)))
struct ProducerCloseRaceTests {
    /// A mock broker that answers every request after `rtt` ms, and messages that expire after `timeoutMs`.
    static func slowMockConfiguration(rttMs: Int = 3000, messageTimeoutMs: Int = 4000) -> KafkaConfiguration {
        KafkaConfiguration(brokers: "127.0.0.1:9", clientID: "close-race", messageTimeoutMs: messageTimeoutMs,
                           properties: ["test.mock.num.brokers": "1", "test.mock.broker.rtt": String(rttMs)])
    }

    /// One send more messages than the local queue holds (500,000): once the queue is full it waits inside its enqueue
    /// loop for room, which the slow broker gives no earlier than the first expiry.
    static let bigSend = (0..<520_000).map { i in
        OutgoingMessage(topic: "close-race", key: Array("k\(i % 16)".utf8), value: [UInt8](repeating: 7, count: 8))
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    enum Outcome: Sendable, Equatable {
        case delivered(Int)
        case undelivered
        case refused
        case other(String)
    }

    static func run(_ send: @escaping @Sendable () async throws -> [DeliveryReport]) -> Task<Outcome, Never> {
        Task {
            do {
                let reports = try await send()
                return .delivered(reports.count)
            } catch let error as BusError where error.code == .deliveryFailed {
                return .undelivered
            } catch let error as BusError where error.code == .closed {
                return .refused
            } catch {
                return .other(String(describing: error))
            }
        }
    }

    /// Starts the big send on `producer`, waits until it has filled the local queue (so it is inside its enqueue loop),
    /// closes through `close`, and checks that close returned only after the send had ended, with a delivery outcome.
    static func closeWhileEnqueueing(_ kafka: KafkaProducer, send: @escaping @Sendable () async throws -> [DeliveryReport],
                                     close: () async -> Void) async throws {
        let ended = Flag()
        let sending = run {
            defer { ended.set() }
            return try await send()
        }
        let full = try await eventually(.seconds(60)) { kafka.queuedMessages >= 500_000 }  // a state to reach, not a speed
        #expect(full, "the send did not fill the local queue (\(kafka.queuedMessages) queued)")
        await close()
        // Before the fix close() returned here with the send still enqueueing into destroyed handles, and the send then
        // never ended (its queued messages were dropped at destroy without a delivery report): do not wait for it.
        guard ended.isSet else {
            Issue.record("close() returned while a send was still using the producer")
            return
        }
        let outcome = await sending.value
        // The broker cannot deliver before the messages expire: the send reports them undelivered.
        #expect(outcome == .undelivered, "\(outcome)")
        #expect(kafka.queuedMessages == 0)
        await #expect(throws: BusError.self, "a send after close is refused") {
            _ = try await send()
        }
    }

    @Test("KafkaProducer.close() while a send waits for room in the full local queue: close waits for the send; the send ends with its delivery errors")
    func closeDuringEnqueue() async throws {
        let producer = try KafkaProducer(configuration: Self.slowMockConfiguration(), clientID: "close-race", logger: testLogger("close-race"))
        try await Self.closeWhileEnqueueing(producer, send: { try await producer.send(Self.bigSend) }, close: { await producer.close() })
    }

    @Test("RenewingProducer.close() while its producer's send is enqueueing: the same (the bench and the services close this way)")
    func renewingCloseDuringEnqueue() async throws {
        let made = Mutex<[KafkaProducer]>([])
        let configuration = Self.slowMockConfiguration()
        let renewing = try RenewingProducer(logger: testLogger("close-race")) {
            let p = try KafkaProducer(configuration: configuration, clientID: "close-race", logger: testLogger("close-race"))
            made.withLock { $0.append(p) }
            return p
        }
        let inner = try #require(made.withLock { $0.first })
        try await Self.closeWhileEnqueueing(inner, send: { try await renewing.send(Self.bigSend) }, close: { await renewing.close() })
    }
}
