import Logging
import QuorumBus
import Synchronization

/// A producer that knows when it should be replaced (see `KafkaProducer.renewalReason`).
public protocol RenewableProducer: MessageProducer {
    /// Why the producer should not be used for another send, or nil.
    var renewalReason: String? { get }
}

/// A producer that replaces its inner producer when that one hit a fatal error, lost every broker, or failed a send, so
/// its users (stage hosts, the trainer, ingest) recover by themselves: they retry a failed `send`, and the retry goes to
/// a fresh producer.
///
/// Why: an idempotent producer is fatally failed when the broker no longer knows its producer id or sequence (the local
/// broker keeps that state in memory, so a restart loses it: "Unknown Producer Id", or fencing by "a newer producer
/// with the same transactionalId"), and librdkafka then fails every later message; and a producer that asked for a
/// topic while the restarted broker lacked it waits for its next metadata refresh (minutes) before it sends to the
/// re-created topic, so its messages time out meanwhile. A new producer (new producer id, fresh metadata) has neither
/// problem.
///
/// Before a `send`, a producer whose `renewalReason` is set is replaced. A `send` that fails with a `BusError` retires
/// the producer it used (unless another send already did) and makes the next one; the error is rethrown, so the
/// caller's retry decides when to send again. A retired producer is closed once no `send` uses it any more.
public final class RenewingProducer: MessageProducer, Sendable {
    private struct Current {
        var producer: any MessageProducer
        var generation: Int
    }
    private struct State {
        var current: Current
        /// Sends in progress per generation (retired generations are closed when theirs reaches zero).
        var inFlight: [Int: Int] = [:]
        var retired: [Int: any MessageProducer] = [:]
        var closed = false
    }

    private let make: @Sendable () throws -> any MessageProducer
    private let logger: Logger
    private let state: Mutex<State>
    /// Producers made after the first (read by tests and metrics).
    public var renewals: Int { state.withLock { $0.current.generation } }

    /// - Parameter make: makes a new inner producer (called once now, and again after each fatal error).
    public init(logger: Logger, make: @escaping @Sendable () throws -> any MessageProducer) throws {
        self.make = make
        self.logger = logger
        state = Mutex(State(current: Current(producer: try make(), generation: 0)))
    }

    public func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        let before = state.withLock { $0.current }
        if let reason = (before.producer as? any RenewableProducer)?.renewalReason {
            await closeIfIdle(renew(after: before.generation, reason))
        }
        let current = try state.withLock { s -> Current in
            if s.closed { throw BusError(.closed, "send on a closed producer") }
            s.inFlight[s.current.generation, default: 0] += 1
            return s.current
        }
        do {
            let reports = try await current.producer.send(messages)
            await done(current.generation)
            return reports
        } catch let error as BusError where error.code != .closed {
            renew(after: current.generation, error.message)
            await done(current.generation)
            throw error
        } catch {
            await done(current.generation)
            throw error
        }
    }

    /// Replaces the producer of `generation` if it is still the current one; returns the generation retired, if any.
    @discardableResult
    private func renew(after generation: Int, _ reason: String) -> Int? {
        let outcome: Result<Int, any Error>? = state.withLock { s in
            guard !s.closed, s.current.generation == generation else { return nil }  // already renewed (or closed)
            do {
                let fresh = try make()
                s.retired[generation] = s.current.producer
                s.current = Current(producer: fresh, generation: generation + 1)
                return .success(generation + 1)
            } catch {
                return .failure(error)  // the next fatal send tries again
            }
        }
        switch outcome {
        case .success(let next)?:
            logger.warning("a new producer replaces one that cannot be trusted to deliver", metadata: [
                "reason": .string(reason), "kafka.producer.generation": .stringConvertible(next),
            ])
        case .failure(let makeError)?:
            logger.error("a producer that cannot be trusted to deliver could not be replaced; tried again at the next send", metadata: [
                "reason": .string(reason), "error": .string(String(describing: makeError)),
            ])
        case nil:
            break
        }
        if case .success(let next)? = outcome { return next - 1 }
        return nil
    }

    /// Closes the retired producer of `generation` when no send uses it (otherwise its last send does, in `done`).
    private func closeIfIdle(_ generation: Int?) async {
        guard let generation else { return }
        let toClose = state.withLock { s -> (any MessageProducer)? in
            guard (s.inFlight[generation] ?? 0) == 0 else { return nil }
            return s.retired.removeValue(forKey: generation)
        }
        if let toClose { await toClose.close() }
    }

    /// Ends one send of `generation`; closes that producer if it was retired and this was its last send.
    private func done(_ generation: Int) async {
        let toClose = state.withLock { s -> (any MessageProducer)? in
            s.inFlight[generation, default: 1] -= 1
            guard s.inFlight[generation] == 0 else { return nil }
            s.inFlight[generation] = nil
            return s.retired.removeValue(forKey: generation)
        }
        if let toClose { await toClose.close() }
    }

    public func flush(timeout: Duration) async throws {
        let producer = state.withLock { $0.current.producer }
        try await producer.flush(timeout: timeout)
    }

    /// Refuses new sends and closes the producers. The current producer's close waits for its sends in progress
    /// (`KafkaProducer.close`); a retired producer still in use is closed by its last send.
    public func close() async {
        let producers = state.withLock { s -> [any MessageProducer] in
            guard !s.closed else { return [] }
            s.closed = true
            // A retired producer still in use is closed by its last send (`done`).
            let idle = s.retired.filter { (s.inFlight[$0.key] ?? 0) == 0 }
            for generation in idle.keys { s.retired[generation] = nil }
            return [s.current.producer] + Array(idle.values)
        }
        for producer in producers { await producer.close() }
    }
}
