import QuorumBus

/// What `ConsumerStateMachine` needs to know of a fetched message: which partition it belongs to, cheaply.
protocol ConsumerRecord {
    /// Equal for two messages of the same partition and cheap to compare (looked at for every fetched message; the
    /// partition's `TopicPartition` is resolved only once per run of messages with the same key).
    associatedtype RunKey: Equatable
    var runKey: RunKey { get }
}

/// Everything the poll thread and the owner task of a `KafkaConsumer` share, as a value-type state machine.
///
/// The consumer keeps it in its Mutex, feeds it one event at a time and carries out the returned actions (resume a
/// continuation, store or commit offsets, destroy messages, wake the waiting poll thread) after releasing the lock.
/// Nothing here blocks, reads a clock or calls librdkafka, so the unit tests drive it synchronously.
///
/// - `Message`: a fetched message not yet copied (a librdkafka message pointer in the consumer, a plain value in tests).
/// - `Waiter`: the owner's continuation while it waits in `next()` or in `close()`.
/// - `RevokeWaiter`: what the poll thread blocks on while a revoke waits for the owner.
///
/// The owner works through a batch of messages without the lock (`KafkaConsumer.OwnerCursor`); it comes here when its
/// batch is done (`ownerNeedsMessages`), when it publishes marks, and when `ownerSignal` (mirrored in one atomic the
/// owner reads per message) changed: a revoke, `interrupt()` or `close()` (`ownerCatchUp`).
///
/// Delivery rules it enforces:
/// - Offsets reach `pendingMarks` (what the poll thread stores in librdkafka for auto-commit) only from marks the owner
///   published, for partitions assigned or being revoked, and only forward.
/// - A revoke (1) drops fetched messages of the revoked partitions and bumps `ownerSignal`; (2) waits for the owner's
///   acknowledgement unless the owner holds no messages (it is in `next()` past the end of its batch, marks
///   published) or the consumer is closing; the owner acknowledges at its next `commit`/`next`, i.e. after the message
///   in hand, publishing its marks (accepted for the partitions being revoked) and dropping their messages from its
///   batch; (3) hands the marks of the revoked partitions to be stored and committed synchronously; (4) forgets them.
struct ConsumerStateMachine<Message: ConsumerRecord, Waiter, RevokeWaiter> {
    typealias Instant = ContinuousClock.Instant
    typealias Marks = [TopicPartition: Int64]

    enum Lifecycle: Equatable {
        case running
        /// `interrupt()`: no more messages for the owner; the poll thread goes on (the group membership stays).
        case interrupted
        /// `close()` was called; the poll thread leaves the group and destroys the handles.
        case closing
        /// The poll thread has exited; the handles are gone.
        case closed
    }

    private(set) var lifecycle = Lifecycle.running
    private(set) var fatal: BusError?
    /// Fetched messages not yet taken by the owner.
    private(set) var buffer: [Message] = []
    /// Messages the owner has copied, for the poll thread to destroy.
    private(set) var consumed: [Message] = []
    private(set) var assigned: Set<TopicPartition> = []
    /// Partitions revoked but not yet given up (between `revokeStarted` and `revokeFinished`): marks are still accepted.
    private(set) var revoking: Set<TopicPartition> = []
    /// Since when `assigned` has been empty (nil while partitions are assigned).
    private(set) var unassignedSince: Instant?
    /// Published marks (next offset to read) not yet stored in librdkafka.
    private(set) var pendingMarks: Marks = [:]
    /// Everything published in the current assignment (for `commitNow` and revoke).
    private(set) var marks: Marks = [:]
    /// Bumped by every revoke, `interrupt()` and `close()`: the owner compares it with the value it last saw.
    private(set) var ownerSignal = 0
    /// Bumped by every revoke.
    private(set) var generation = 0
    /// The last revoke generation the owner has caught up with.
    private(set) var ackGeneration = 0
    /// The owner took a batch and has not come back for more: it may hold a message, so a revoke waits for it.
    private(set) var ownerHoldsMessages = false
    private var ownerWaiter: Waiter?
    private var closeWaiters: [Waiter] = []
    /// The poll thread waits in a revoke for the owner to acknowledge `generation`.
    private var revokeWaiter: RevokeWaiter?
    /// The poll thread stops fetching while this many messages wait in the buffer.
    let highWater: Int

    init(highWater: Int = 20_000, now: Instant) {
        self.highWater = highWater
        unassignedSince = now
    }

    var isStopped: Bool { lifecycle != .running }
    var isClosing: Bool { lifecycle == .closing || lifecycle == .closed }
    var hasBufferedMessages: Bool { !buffer.isEmpty }
    /// A revoke is waiting for the owner.
    var revokeIsWaiting: Bool { revokeWaiter != nil }

    // MARK: poll thread

    enum PollAction: Equatable {
        /// Fetch the next messages.
        case fetch
        /// The owner is behind (`highWater` messages wait in the buffer): do not fetch for a moment.
        case backOff
        /// A fatal error stopped the consumer: do not fetch; keep running (destroying what the owner hands back) until
        /// `close()`.
        case failed
        /// `close()` was called: leave the group and destroy the handles (`pollThreadStopping`).
        case shutDown
    }

    struct PollTick {
        /// Offsets to store in librdkafka (auto-commit sends them).
        var store: Marks
        var next: PollAction
    }

    /// At the top of every poll-loop round. `consumed`: an empty array, swapped with the messages the owner is done
    /// with (destroy them); the swap keeps both arrays' capacity.
    mutating func pollTick(takingConsumed consumed: inout [Message]) -> PollTick {
        let store = pendingMarks
        pendingMarks = [:]
        swap(&consumed, &self.consumed)
        let next: PollAction
        if isClosing {
            next = .shutDown
        } else if fatal != nil {
            next = .failed
        } else if buffer.count >= highWater {
            next = .backOff
        } else {
            next = .fetch
        }
        return PollTick(store: store, next: next)
    }

    struct FetchedAction {
        /// Messages of partitions no longer assigned (a revoke ran inside the fetch): destroy them.
        var destroy: [Message]
        /// The owner waits for messages: resume it.
        var resume: Waiter?
    }

    /// The poll thread fetched messages; those of assigned partitions join the buffer.
    mutating func fetched(_ messages: [Message], partitionOf: (Message) -> TopicPartition) -> FetchedAction {
        var destroy: [Message] = []
        var run: (key: Message.RunKey, assigned: Bool)?
        for m in messages {
            let key = m.runKey
            if run == nil || run!.key != key {
                run = (key, assigned.contains(partitionOf(m)))
            }
            if run!.assigned { buffer.append(m) } else { destroy.append(m) }
        }
        guard !buffer.isEmpty else { return FetchedAction(destroy: destroy, resume: nil) }
        return FetchedAction(destroy: destroy, resume: takeOwnerWaiter())
    }

    /// librdkafka reported a fatal error: the consumer cannot go on. The owner gets it when its batch is done (or at
    /// once, if it waits); the poll thread stops fetching but runs until `close()`, since messages the owner holds must
    /// be destroyed before the handle is.
    mutating func fatalError(_ error: BusError) -> Waiter? {
        if fatal == nil { fatal = error }
        return takeOwnerWaiter()
    }

    mutating func partitionsAssigned(_ partitions: some Sequence<TopicPartition>, now: Instant) {
        assigned.formUnion(partitions)
        updateUnassignedSince(now: now)
    }

    /// A rebalance error: librdkafka unassigns everything.
    mutating func rebalanceFailed(now: Instant) {
        assigned = []
        updateUnassignedSince(now: now)
    }

    enum RevokeStartAction {
        /// The owner holds no messages (or the consumer is closing): commit at once (`revokeCommitting`).
        case proceed(destroy: [Message])
        /// Destroy the messages, then block on the waiter until the owner's `ownerCatchUp` resumes it (or time out:
        /// `revokeWaitTimedOut`); then `revokeCommitting`.
        case waitForOwner(destroy: [Message])
    }

    /// Step 1 of a revoke (inside librdkafka's rebalance callback, on the poll thread).
    mutating func revokeStarted(_ partitions: Set<TopicPartition>, now: Instant, waiter: RevokeWaiter,
                                partitionOf: (Message) -> TopicPartition) -> RevokeStartAction {
        assigned.subtract(partitions)
        revoking.formUnion(partitions)
        updateUnassignedSince(now: now)
        generation += 1
        ownerSignal += 1
        var destroy: [Message] = []
        buffer.removeAll { m in
            guard partitions.contains(partitionOf(m)) else { return false }
            destroy.append(m)
            return true
        }
        if !ownerHoldsMessages || isClosing { return .proceed(destroy: destroy) }
        revokeWaiter = waiter
        return .waitForOwner(destroy: destroy)
    }

    /// The poll thread gave up waiting for the owner: the message in hand may be handled again by the next member.
    mutating func revokeWaitTimedOut() {
        revokeWaiter = nil
    }

    /// Step 3: the offsets to store (the revoked partitions' marks among them) before committing synchronously.
    mutating func revokeCommitting(_ partitions: Set<TopicPartition>) -> Marks {
        for tp in partitions { if let o = marks[tp] { pendingMarks[tp] = o } }
        let store = pendingMarks
        pendingMarks = [:]
        return store
    }

    /// Step 4: the revoked partitions' marks are committed; forget them before the partitions change hands.
    mutating func revokeFinished(_ partitions: Set<TopicPartition>) {
        for tp in partitions {
            marks[tp] = nil
            pendingMarks[tp] = nil
        }
        revoking.subtract(partitions)
    }

    struct StoppingAction {
        var store: Marks
        var destroy: [Message]
    }

    /// The poll thread leaves its loop (after `.shutDown`): store what is pending and destroy every message it still
    /// has, before `rd_kafka_consumer_close` (whose final revoke goes through `revokeStarted` as usual).
    mutating func pollThreadStopping() -> StoppingAction {
        let store = pendingMarks
        pendingMarks = [:]
        let destroy = buffer + consumed
        buffer = []
        consumed = []
        return StoppingAction(store: store, destroy: destroy)
    }

    /// The handles are destroyed: resume whoever waits in `close()` or `next()`.
    mutating func pollThreadExited(now: Instant) -> [Waiter] {
        lifecycle = .closed
        assigned = []
        updateUnassignedSince(now: now)
        var resume = closeWaiters
        closeWaiters = []
        if let w = takeOwnerWaiter() { resume.append(w) }
        return resume
    }

    // MARK: owner

    enum RefillAction {
        /// The owner works through these (without the lock).
        case batch([Message])
        /// Nothing fetched: wait (`ownerWait`).
        case wait
        /// Interrupted or closed: `next()` returns nil.
        case end
        case fail(BusError)
    }

    /// The owner finished its batch: it publishes its marks, hands back the messages it copied, and takes everything
    /// fetched since.
    mutating func ownerNeedsMessages(marks published: Marks, done: [Message]) -> RefillAction {
        merge(published)
        consumed.append(contentsOf: done)
        ownerHoldsMessages = false
        if let fatal { return .fail(fatal) }
        if isStopped { return .end }
        if buffer.isEmpty { return .wait }
        let taken = buffer
        buffer = []
        buffer.reserveCapacity(taken.count)
        ownerHoldsMessages = true
        return .batch(taken)
    }

    /// The owner is about to suspend in `next()` (after `.wait`). Returns the waiter when it must not suspend (resume it
    /// at once); otherwise keeps it until messages, a fatal error, `interrupt()`/`close()` or cancellation.
    /// `seenSignal`: the `ownerSignal` the owner last caught up with; `cancelled`: the owner task's cancellation, read
    /// under the lock (so a cancellation handler that runs before the waiter is stored is not missed).
    mutating func ownerWait(_ waiter: Waiter, seenSignal: Int, cancelled: Bool) -> Waiter? {
        if !buffer.isEmpty || isStopped || fatal != nil || cancelled || seenSignal != ownerSignal { return waiter }
        ownerWaiter = waiter
        return nil
    }

    /// The owner's task was cancelled while it waits.
    mutating func ownerCancelled() -> Waiter? { takeOwnerWaiter() }

    struct CatchUpAction {
        /// The `ownerSignal` the owner has now seen.
        var signal: Int
        var stopped: Bool
        /// The rest of the owner's batch, without messages of partitions no longer assigned.
        var kept: [Message]
        /// Messages of partitions no longer assigned: destroy them.
        var destroy: [Message]
        /// A revoke waits for this acknowledgement: wake the poll thread.
        var resumeRevoke: RevokeWaiter?
    }

    /// The owner saw `ownerSignal` change (at `next()` or `commit`, so after the message in hand): it publishes its
    /// marks, drops messages of partitions no longer assigned from the rest of its batch, and acknowledges revokes.
    mutating func ownerCatchUp(marks published: Marks, rest: [Message],
                               partitionOf: (Message) -> TopicPartition) -> CatchUpAction {
        merge(published)
        var kept: [Message] = []
        var destroy: [Message] = []
        if ackGeneration != generation {
            ackGeneration = generation
            var run: (key: Message.RunKey, assigned: Bool)?
            for m in rest {
                let key = m.runKey
                if run == nil || run!.key != key { run = (key, assigned.contains(partitionOf(m))) }
                if run!.assigned { kept.append(m) } else { destroy.append(m) }
            }
        } else {
            kept = rest
        }
        let resume = revokeWaiter
        revokeWaiter = nil
        return CatchUpAction(signal: ownerSignal, stopped: isStopped, kept: kept, destroy: destroy, resumeRevoke: resume)
    }

    /// The owner publishes its marks (periodically, on `commitNow`, when `next()` ends).
    mutating func ownerPublished(_ published: Marks) {
        merge(published)
    }

    /// `next()` after `interrupt()`/`close()`: the owner publishes its marks; returns the error to throw, if any (else
    /// `next()` returns nil).
    mutating func ownerStopped(marks published: Marks) -> BusError? {
        merge(published)
        return fatal
    }

    /// `commitNow()`: publish and return every mark of the current assignment (committed synchronously by the caller,
    /// so nothing is left pending for the poll thread).
    mutating func commitNow(marks published: Marks) -> Marks {
        merge(published)
        pendingMarks = [:]
        return marks
    }

    /// `interrupt()`: a waiting `next()` and every later one return nil.
    mutating func interrupt() -> Waiter? {
        if lifecycle == .running {
            lifecycle = .interrupted
            ownerSignal += 1
        }
        return takeOwnerWaiter()
    }

    struct CloseAction {
        /// Resume these now (the closer itself when the poll thread has already exited; a waiting `next()`).
        var resume: [Waiter]
        /// A revoke waiting for the owner no longer needs to.
        var resumeRevoke: RevokeWaiter?
    }

    /// `close()` from the owner, with its last marks (it has destroyed its own batch). The closer is resumed by
    /// `pollThreadExited`, or at once if that has happened.
    mutating func close(marks published: Marks, waiter: Waiter) -> CloseAction {
        merge(published)
        ownerHoldsMessages = false
        var resume: [Waiter] = []
        switch lifecycle {
        case .running, .interrupted:
            lifecycle = .closing
            ownerSignal += 1
            closeWaiters.append(waiter)
        case .closing:
            closeWaiters.append(waiter)
        case .closed:
            resume.append(waiter)
        }
        if let w = takeOwnerWaiter() { resume.append(w) }
        let revoke = revokeWaiter
        revokeWaiter = nil
        return CloseAction(resume: resume, resumeRevoke: revoke)
    }

    // MARK: helpers

    /// Records published marks: forward only, for partitions assigned or being revoked (a late mark for a partition
    /// already given up would commit over its next owner's progress).
    private mutating func merge(_ published: Marks) {
        for (tp, offset) in published where (assigned.contains(tp) || revoking.contains(tp)) && offset > (marks[tp] ?? -1) {
            marks[tp] = offset
            pendingMarks[tp] = offset
        }
    }

    private mutating func takeOwnerWaiter() -> Waiter? {
        defer { ownerWaiter = nil }
        return ownerWaiter
    }

    private mutating func updateUnassignedSince(now: Instant) {
        if !assigned.isEmpty {
            unassignedSince = nil
        } else if unassignedSince == nil {
            unassignedSince = now
        }
    }
}

// The actions cross from the lock's closure to the thread that carries them out.
extension ConsumerStateMachine.PollAction: Sendable {}
extension ConsumerStateMachine.PollTick: Sendable {}
extension ConsumerStateMachine.FetchedAction: Sendable where Message: Sendable, Waiter: Sendable {}
extension ConsumerStateMachine.RevokeStartAction: Sendable where Message: Sendable {}
extension ConsumerStateMachine.StoppingAction: Sendable where Message: Sendable {}
extension ConsumerStateMachine.RefillAction: Sendable where Message: Sendable {}
extension ConsumerStateMachine.CatchUpAction: Sendable where Message: Sendable, RevokeWaiter: Sendable {}
extension ConsumerStateMachine.CloseAction: Sendable where Waiter: Sendable, RevokeWaiter: Sendable {}
