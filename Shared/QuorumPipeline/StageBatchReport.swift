import QuorumBus

/// What one batch of a `StageHost` did: records handled per input topic, dead letters per input topic and reason,
/// outputs published per topic, and how long the batch took. The host hands it to `StageHost.onBatchReport` after the
/// batch is committed (the service turns it into Prometheus counters and a latency histogram).
public struct StageBatchReport: Sendable {
    /// A dead-lettered input: its topic and why.
    public struct DeadLetterKey: Sendable, Hashable {
        public var topic: String
        public var reason: DeadLetterReason

        public init(topic: String, reason: DeadLetterReason) {
            self.topic = topic
            self.reason = reason
        }
    }

    /// Input records handled, by topic (dead letters included).
    public private(set) var handled: [String: Int] = [:]
    /// Input records sent to the dead-letter topic, by topic and reason.
    public private(set) var deadLetters: [DeadLetterKey: Int] = [:]
    /// Output records published and acknowledged, by topic (dead letters included).
    public private(set) var published: [String: Int] = [:]
    /// When the batch's first record was handled (nil for a batch of ticks only).
    public private(set) var startedAt: ContinuousClock.Instant?
    /// From the first record handled to the batch committed; nil for a batch of ticks only.
    public private(set) var duration: Duration?

    public init() {}

    mutating func handled(_ topic: String) {
        handled[topic, default: 0] += 1
        if startedAt == nil { startedAt = .now }
    }

    mutating func deadLettered(_ topic: String, _ reason: DeadLetterReason) {
        deadLetters[DeadLetterKey(topic: topic, reason: reason), default: 0] += 1
    }

    mutating func published(_ outputs: [OutgoingMessage]) {
        for output in outputs { published[output.topic, default: 0] += 1 }
    }

    /// Marks the batch committed (sets `duration`).
    mutating func finish() {
        if let startedAt { duration = .now - startedAt }
    }
}
