import DequeModule

/// Settings of alert delivery (the monitor's `monitor.alerts.*` keys).
public struct DeliveryPolicy: Sendable, Hashable {
    /// Notices waiting per destination; beyond it a new one is dropped (and counted).
    public var queueLimit: Int = 1_000
    /// Attempts per notice before it is given up (and counted).
    public var maxAttempts: Int = 8
    /// Wait after the first failed attempt; doubles after each further one, up to `maxBackoff`.
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(300)
    /// A 429's Retry-After is honoured up to this long.
    public var maxRetryAfter: Duration = .seconds(3_600)
    /// Sends per minute per destination (a token bucket refilled at this rate), and the burst it allows.
    public var perMinute: Double = 20
    public var burst: Int = 5
    /// Alert ids remembered for de-duplication (the oldest are forgotten first).
    public var rememberedIDs: Int = 10_000

    public init() {}
}

/// When, what and whether to send: the delivery of alerts to destinations as a state machine, with no clock, no I/O
/// and no locks (`WebhookDispatcher` owns it behind one lock and does the sending).
///
/// Per destination, notices go out one at a time in the order they came (a lane): a rate limit (token bucket), then the
/// request; a failure that may pass (a 5xx, 408, 429, no answer) waits an exponential back-off — or a 429's Retry-After —
/// before the same notice is tried again, up to `maxAttempts`; a refusal (another 4xx) is not retried. A notice whose
/// id was enqueued before is a duplicate and goes nowhere; a full lane drops the new notice.
public struct DeliveryScheduler: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// What became of an enqueued notice at one destination, or of an attempt.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case queued, duplicate, dropped, delivered, retried, rejected
        /// Given up after `maxAttempts`.
        case failed
    }

    /// The answer to one attempt.
    public enum AttemptResult: Sendable, Hashable {
        case delivered
        /// May pass: try again after `after` (a 429's Retry-After) or the back-off.
        case retry(after: Duration?)
        /// Will not pass (e.g. 404: the webhook was deleted).
        case rejected
    }

    /// What a destination's worker should do now.
    public enum Next: Sendable, Hashable {
        case send(AlertNotice, attempt: Int)
        case wait(until: Instant)
        case idle
    }

    struct Pending: Sendable {
        var notice: AlertNotice
        var attempts = 0
    }

    struct Lane: Sendable {
        var queue: Deque<Pending> = []
        var inFlight = false
        var notBefore: Instant?
        var tokens: Double
        var refilled: Instant?
    }

    public let policy: DeliveryPolicy
    private var lanes: [Lane]
    private var seen: Set<String> = []
    private var seenOrder: Deque<String> = []

    public init(destinations: Int, policy: DeliveryPolicy) {
        self.policy = policy
        lanes = Array(repeating: Lane(tokens: Double(max(1, policy.burst))), count: destinations)
    }

    /// Notices waiting (or in flight) at destination `lane`.
    public func depth(_ lane: Int) -> Int { lanes[lane].queue.count }

    /// Queues `notice` at every destination, unless its id was seen before. Returns the outcome per destination.
    public mutating func enqueue(_ notice: AlertNotice) -> [Outcome] {
        guard seen.insert(notice.id).inserted else { return lanes.map { _ in .duplicate } }
        seenOrder.append(notice.id)
        if seenOrder.count > policy.rememberedIDs, let oldest = seenOrder.popFirst() { seen.remove(oldest) }
        return lanes.indices.map { i in
            guard lanes[i].queue.count < policy.queueLimit else { return .dropped }
            lanes[i].queue.append(Pending(notice: notice))
            return .queued
        }
    }

    /// What destination `lane` should do at `now`; `.send` takes a rate-limit token and marks the lane busy until
    /// `finished` is called.
    public mutating func next(_ lane: Int, now: Instant) -> Next {
        var l = lanes[lane]
        defer { lanes[lane] = l }
        guard !l.inFlight, let head = l.queue.first else { return .idle }
        if let notBefore = l.notBefore, notBefore > now { return .wait(until: notBefore) }
        l.notBefore = nil
        // Token bucket: `perMinute` tokens a minute, at most `burst` saved up.
        let burst = Double(max(1, policy.burst))
        let perSecond = max(policy.perMinute, 0.001) / 60
        if let refilled = l.refilled {
            l.tokens = min(burst, l.tokens + Self.seconds(now - refilled) * perSecond)
        }
        l.refilled = now
        guard l.tokens >= 1 else {
            return .wait(until: now + .milliseconds(Int64(((1 - l.tokens) / perSecond * 1_000).rounded(.up))))
        }
        l.tokens -= 1
        l.inFlight = true
        return .send(head.notice, attempt: head.attempts + 1)
    }

    /// The answer to the attempt `next` handed out at `lane`. Returns `delivered`, `retried`, `rejected` or `failed`.
    public mutating func finished(_ lane: Int, _ result: AttemptResult, now: Instant) -> Outcome {
        var l = lanes[lane]
        defer { lanes[lane] = l }
        guard l.inFlight, !l.queue.isEmpty else { return .failed }
        l.inFlight = false
        l.queue[0].attempts += 1
        let attempts = l.queue[0].attempts
        switch result {
        case .delivered:
            l.queue.removeFirst()
            return .delivered
        case .rejected:
            l.queue.removeFirst()
            return .rejected
        case .retry(let after):
            guard attempts < policy.maxAttempts else {
                l.queue.removeFirst()
                return .failed
            }
            l.notBefore = now + (after.map { min(max($0, .zero), policy.maxRetryAfter) } ?? backoff(afterAttempts: attempts))
            return .retried
        }
    }

    /// `initialBackoff × 2^(attempts − 1)`, at most `maxBackoff`.
    public func backoff(afterAttempts attempts: Int) -> Duration {
        var delay = policy.initialBackoff
        for _ in 1..<max(1, attempts) {
            delay *= 2
            if delay >= policy.maxBackoff { return policy.maxBackoff }
        }
        return min(delay, policy.maxBackoff)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
