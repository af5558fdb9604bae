/// When a producer's librdkafka handles may be destroyed: only after every operation that uses them has ended.
///
/// A `send` uses the client and topic handles from its first enqueue until its last delivery report, and a `flush`
/// for its whole call. `close()` therefore marks the producer closing (no new operation starts), waits until the
/// operations in progress have ended, and only then stops the poll thread and destroys the handles. Without that, a
/// send that was enqueueing while another task closed the producer went on calling `rd_kafka_produceva` with a
/// destroyed topic handle (a double free inside librdkafka under AddressSanitizer, heap corruption without it), and
/// its messages purged at destroy never got a delivery report (the send waited for ever).
///
/// A value-type state machine: the owner (`KafkaProducer`) keeps it in its Mutex, feeds it events and carries out
/// the returned actions (resuming the closer) outside the lock. `Waiter` is the closer's continuation (a plain value
/// in the unit tests).
struct ProducerLifecycle<Waiter> {
    enum Phase: Equatable {
        case open
        /// `close()` was called; operations in progress finish, new ones are refused.
        case closing
        /// The handles are (being) destroyed; nothing may touch them.
        case closed
    }

    private(set) var phase = Phase.open
    /// Operations in progress that use the handles.
    private(set) var users = 0
    private var closer: Waiter?

    /// Before an operation touches the handles. False: the producer is closing or closed; do not touch them.
    mutating func beginUse() -> Bool {
        guard phase == .open else { return false }
        users += 1
        return true
    }

    enum EndUseAction {
        case none
        /// This was the last operation a pending `close()` waited for: resume it; it destroys the handles.
        case resumeCloser(Waiter)
    }

    /// After an operation that `beginUse` admitted has stopped touching the handles (for a send: after its last
    /// delivery report).
    mutating func endUse() -> EndUseAction {
        precondition(users > 0, "endUse without beginUse")
        users -= 1
        guard phase == .closing, users == 0, let closer else { return .none }
        self.closer = nil
        return .resumeCloser(closer)
    }

    enum CloseAction {
        /// Another `close()` (or deinit) came first: nothing to do.
        case alreadyClosing(Waiter)
        /// No operation in progress: destroy now (resume the waiter at once).
        case destroyNow(Waiter)
        /// Operations in progress: the last one's `endUse` returns `.resumeCloser` with the waiter.
        case waitForUsers
    }

    mutating func close(waiter: Waiter) -> CloseAction {
        guard phase == .open else { return .alreadyClosing(waiter) }
        phase = .closing
        if users == 0 { return .destroyNow(waiter) }
        closer = waiter
        return .waitForUsers
    }

    /// The closer is about to destroy the handles (no users are left). From here on nothing reads them.
    mutating func markDestroyed() {
        precondition(users == 0, "handles destroyed while \(users) operation(s) use them")
        phase = .closed
    }

    /// For deinit: whether the handles still need destroying (nothing can use them any more: no reference is left).
    mutating func takeForDeinit() -> Bool {
        guard phase != .closed else { return false }
        phase = .closed
        return true
    }

    /// Whether the handles exist and may be read (open or closing).
    var handlesAlive: Bool { phase != .closed }
}
