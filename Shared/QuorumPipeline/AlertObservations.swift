import DequeModule
import QuorumAlerts
import QuorumModel
import Synchronization

/// Samples that the monitor's pollers take outside the stage (consumer lag, readiness probes), waiting for the stage to
/// feed them to its `AlertRulesCore` (at its next message or tick). Bounded: beyond `limit` the oldest are dropped,
/// since a newer sample of the same thing says more.
public final class AlertObservations: Sendable {
    public let limit: Int
    private let pending = Mutex<Deque<Observation>>([])

    public struct Observation: Sendable {
        public var event: AlertEvent
        /// Wall-clock time of the sample (ns since the epoch).
        public var now: Nanos
    }

    public init(limit: Int = 10_000) { self.limit = limit }

    /// Adds a sample taken at wall time `now`.
    public func add(_ event: AlertEvent, now: Nanos) {
        pending.withLock { queue in
            queue.append(Observation(event: event, now: now))
            if queue.count > limit { queue.removeFirst(queue.count - limit) }
        }
    }

    /// Takes every waiting sample, oldest first.
    func drain() -> [Observation] {
        pending.withLock { queue in
            defer { queue.removeAll() }
            return Array(queue)
        }
    }
}
