import QuorumBus
@testable import QuorumKafka
import Testing

/// A fetched message in the tests: its partition and offset (the consumer's is a librdkafka message pointer).
private struct Msg: ConsumerRecord, Equatable, CustomStringConvertible {
    let tp: TopicPartition
    let offset: Int64
    var runKey: TopicPartition { tp }
    var description: String { "\(tp)@\(offset)" }
}

/// Waiters are names: the owner's continuation ("owner", "closer") and the poll thread's revoke wait ("poll").
private typealias Machine = ConsumerStateMachine<Msg, String, String>

private let p0 = TopicPartition(topic: "t", partition: 0)
private let p1 = TopicPartition(topic: "t", partition: 1)
private let u0 = TopicPartition(topic: "u", partition: 0)
private func m(_ tp: TopicPartition, _ offset: Int64) -> Msg { Msg(tp: tp, offset: offset) }
private let t0 = ContinuousClock.now

extension Machine {
    /// Messages fetched by the poll thread (the test's messages know their partition).
    fileprivate mutating func fetch(_ messages: [Msg]) -> FetchedAction { fetched(messages) { $0.tp } }

    /// A poll-loop round: what it stores, what it destroys, what it does next.
    fileprivate mutating func tick() -> (store: Marks, destroy: [Msg], next: PollAction) {
        var consumed: [Msg] = []
        let t = pollTick(takingConsumed: &consumed)
        return (t.store, consumed, t.next)
    }

    fileprivate mutating func refill(_ marks: Marks = [:], done: [Msg] = []) -> RefillAction {
        ownerNeedsMessages(marks: marks, done: done)
    }
}

/// `ConsumerStateMachine` without threads, librdkafka or a broker: feed an event, check the returned action.
@Suite("ConsumerStateMachine")
struct ConsumerStateMachineTests {
    @Test("fetched messages of assigned partitions reach a waiting owner; others are destroyed")
    func fetchWakesOwner() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        guard case .wait = s.refill() else { Issue.record("nothing fetched yet: the owner must wait"); return }
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == nil, "the owner suspends")
        let fetched = s.fetch([m(p0, 0), m(u0, 7), m(p0, 1)])
        #expect(fetched.destroy == [m(u0, 7)])
        #expect(fetched.resume == "owner")
        guard case .batch(let batch) = s.refill() else { Issue.record("expected the fetched batch"); return }
        #expect(batch == [m(p0, 0), m(p0, 1)])
        #expect(!s.hasBufferedMessages)
        #expect(s.fetch([m(p0, 2)]).resume == nil, "nobody waits now")
    }

    @Test("the owner does not suspend when messages, a stop, a new signal or a cancellation came first")
    func ownerWaitResumesAtOnce() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0)])
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == "owner")
        var t = Machine(now: t0)
        #expect(t.ownerWait("owner", seenSignal: t.ownerSignal, cancelled: true) == "owner")
        #expect(t.ownerWait("owner", seenSignal: t.ownerSignal - 1, cancelled: false) == "owner")
        #expect(t.ownerWait("owner", seenSignal: t.ownerSignal, cancelled: false) == nil)
        #expect(t.ownerCancelled() == "owner", "cancellation resumes the waiting owner")
        #expect(t.ownerCancelled() == nil, "exactly once")
    }

    @Test("nothing is stored before the owner marked it; marks only move forward and only for owned partitions")
    func commitOrdering() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0, p1], now: t0)
        _ = s.fetch([m(p0, 0), m(p0, 1), m(p0, 2), m(p1, 0)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        #expect(s.tick().store.isEmpty, "fetched and handed out, but not marked: nothing to store")
        s.ownerPublished([p0: 2])
        #expect(s.tick().store == [p0: 2])
        #expect(s.tick().store.isEmpty, "stored once")
        s.ownerPublished([p0: 1, u0: 9])
        #expect(s.tick().store.isEmpty, "a lower mark and a mark of a partition not owned are ignored")
        guard case .wait = s.refill([p0: 3, p1: 1]) else { Issue.record("expected wait"); return }
        #expect(s.tick().store == [p0: 3, p1: 1], "marks published with the refill")
        s.ownerPublished([p1: 5])
        #expect(s.commitNow(marks: [p0: 4]) == [p0: 4, p1: 5], "commitNow returns every mark of the assignment")
        #expect(s.tick().store.isEmpty, "commitNow commits them itself: nothing left for the poll thread")
    }

    @Test("messages the owner copied go back to the poll thread to be destroyed")
    func consumedHandedBack() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0), m(p0, 1)])
        guard case .batch(let batch) = s.refill() else { Issue.record("expected a batch"); return }
        guard case .wait = s.refill(done: batch) else { Issue.record("expected wait"); return }
        let tick = s.tick()
        #expect(tick.destroy == batch)
        #expect(tick.next == .fetch)
        #expect(s.tick().destroy.isEmpty)
    }

    @Test("the poll thread backs off while the owner is behind")
    func highWater() {
        var s = Machine(highWater: 2, now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0)])
        #expect(s.tick().next == .fetch)
        _ = s.fetch([m(p0, 1)])
        #expect(s.tick().next == .backOff)
        _ = s.refill()
        #expect(s.tick().next == .fetch)
    }

    @Test("revoke while the owner holds a message: drop the revoked messages, wait for the owner's ack, commit its marks")
    func revokeWhileOwnerHoldsMessage() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0, p1], now: t0)
        _ = s.fetch([m(p0, 0), m(p0, 1), m(p1, 0)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        _ = s.fetch([m(p0, 2), m(p1, 1)])
        let signal = s.ownerSignal
        guard case .waitForOwner(let dropped) = s.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("the owner holds a message: the revoke must wait"); return
        }
        #expect(dropped == [m(p0, 2)], "fetched messages of the revoked partition are dropped")
        #expect(s.assigned == [p1])
        #expect(s.ownerSignal != signal, "the owner is told")
        #expect(s.revokeIsWaiting)
        // The owner finished p0@0 and comes back (commit/next) with the rest of its batch.
        let ack = s.ownerCatchUp(marks: [p0: 1], rest: [m(p0, 1), m(p1, 0)]) { $0.tp }
        #expect(ack.resumeRevoke == "poll")
        #expect(ack.kept == [m(p1, 0)])
        #expect(ack.destroy == [m(p0, 1)])
        #expect(ack.signal == s.ownerSignal && !ack.stopped)
        #expect(!s.revokeIsWaiting)
        #expect(s.revokeCommitting([p0]) == [p0: 1], "the mark of the message in hand is committed before the partition goes")
        s.revokeFinished([p0])
        s.ownerPublished([p0: 2])
        #expect(s.tick().store.isEmpty, "a mark after the partition was given up would overwrite its next owner's commits")
        guard case .batch(let rest) = s.refill() else { Issue.record("expected the rest of the buffer"); return }
        #expect(rest == [m(p1, 1)])
    }

    @Test("revoke while the owner is idle in next() (or has never taken a batch) proceeds at once")
    func revokeWhileOwnerIdle() {
        var fresh = Machine(now: t0)
        fresh.partitionsAssigned([p0], now: t0)
        guard case .proceed = fresh.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("the owner holds nothing yet: no wait"); return
        }
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        guard case .wait = s.refill([p0: 1], done: [m(p0, 0)]) else { Issue.record("expected wait"); return }
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == nil)
        guard case .proceed(let dropped) = s.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("the owner is idle with its marks published: no wait"); return
        }
        #expect(dropped.isEmpty)
        #expect(!s.revokeIsWaiting)
        #expect(s.revokeCommitting([p0]) == [p0: 1], "the published mark is stored again for the synchronous commit")
        s.revokeFinished([p0])
        #expect(s.marks.isEmpty)
        #expect(s.unassignedSince == t0)
    }

    @Test("a revoke that timed out is not resumed by a late acknowledgement")
    func revokeTimeout() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0, p1], now: t0)
        _ = s.fetch([m(p0, 0)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        guard case .waitForOwner = s.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("expected waitForOwner"); return
        }
        s.revokeWaitTimedOut()
        _ = s.revokeCommitting([p0])
        s.revokeFinished([p0])
        let late = s.ownerCatchUp(marks: [p0: 1], rest: []) { $0.tp }
        #expect(late.resumeRevoke == nil)
        #expect(s.tick().store.isEmpty, "the late mark of the given-up partition is dropped")
    }

    @Test("a stop signal without a revoke keeps the owner's batch")
    func catchUpWithoutRevoke() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0), m(p0, 1)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        #expect(s.interrupt() == nil)
        let c = s.ownerCatchUp(marks: [p0: 1], rest: [m(p0, 1)]) { $0.tp }
        #expect(c.stopped && c.kept == [m(p0, 1)] && c.destroy.isEmpty && c.resumeRevoke == nil)
        #expect(s.tick().store == [p0: 1])
    }

    @Test("interrupt resumes a waiting owner; next() then ends; the poll thread goes on")
    func interrupt() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        guard case .wait = s.refill() else { Issue.record("expected wait"); return }
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == nil)
        let signal = s.ownerSignal
        #expect(s.interrupt() == "owner")
        #expect(s.ownerSignal != signal)
        _ = s.fetch([m(p0, 0)])
        guard case .end = s.refill() else { Issue.record("interrupted: next() returns nil"); return }
        #expect(s.ownerStopped(marks: [p0: 3]) == nil)
        let tick = s.tick()
        #expect(tick.store == [p0: 3], "marks published after the interrupt are still committed")
        #expect(tick.next == .fetch, "the member stays in its group until close")
        #expect(s.interrupt() == nil)
    }

    @Test("a fatal error reaches a waiting owner at once, a busy one when its batch is done")
    func fatalError() {
        let error = BusError(.brokerUnreachable, "fatal")
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        guard case .wait = s.refill() else { Issue.record("expected wait"); return }
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == nil)
        #expect(s.fatalError(error) == "owner")
        #expect(s.tick().next == .failed)
        guard case .fail(let e) = s.refill() else { Issue.record("the owner must get the error"); return }
        #expect(e.message == "fatal")
        #expect(s.ownerWait("owner", seenSignal: s.ownerSignal, cancelled: false) == "owner", "never suspends after it")
        #expect(s.ownerStopped(marks: [:])?.message == "fatal")

        var busy = Machine(now: t0)
        busy.partitionsAssigned([p0], now: t0)
        _ = busy.fetch([m(p0, 0), m(p0, 1)])
        guard case .batch = busy.refill() else { Issue.record("expected a batch"); return }
        let signal = busy.ownerSignal
        #expect(busy.fatalError(error) == nil)
        #expect(busy.ownerSignal == signal, "the batch in hand is not interrupted")
        guard case .fail = busy.refill([p0: 2]) else { Issue.record("expected the error at the end of the batch"); return }
    }

    @Test("close with pending marks: stored before the group is left; the closer resumes when the poll thread exits")
    func closeWithPendingMarks() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0), m(p0, 1), m(p0, 2)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        _ = s.fetch([m(p0, 3)])
        let closing = s.close(marks: [p0: 2], waiter: "closer")
        #expect(closing.resume.isEmpty, "the poll thread still runs")
        #expect(closing.resumeRevoke == nil)
        let tick = s.tick()
        #expect(tick.store == [p0: 2])
        #expect(tick.next == .shutDown)
        let stopping = s.pollThreadStopping()
        #expect(stopping.destroy == [m(p0, 3)], "messages still fetched are destroyed before the handle")
        // rd_kafka_consumer_close's final revoke does not wait: the owner is gone.
        guard case .proceed = s.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("closing: the revoke must not wait"); return
        }
        #expect(s.revokeCommitting([p0]) == [p0: 2])
        s.revokeFinished([p0])
        #expect(s.pollThreadExited(now: t0) == ["closer"])
        #expect(s.lifecycle == .closed && s.assigned.isEmpty)
        #expect(s.close(marks: [:], waiter: "again").resume == ["again"], "a second close returns at once")
    }

    @Test("close wakes a revoke that waits for the owner, and a second closer waits too")
    func closeDuringRevoke() {
        var s = Machine(now: t0)
        s.partitionsAssigned([p0], now: t0)
        _ = s.fetch([m(p0, 0)])
        guard case .batch = s.refill() else { Issue.record("expected a batch"); return }
        guard case .waitForOwner = s.revokeStarted([p0], now: t0, waiter: "poll", partitionOf: { $0.tp }) else {
            Issue.record("expected waitForOwner"); return
        }
        let closing = s.close(marks: [p0: 1], waiter: "closer")
        #expect(closing.resumeRevoke == "poll")
        #expect(s.revokeCommitting([p0]) == [p0: 1], "the closer's marks are committed by the revoke")
        s.revokeFinished([p0])
        #expect(s.close(marks: [:], waiter: "second").resume.isEmpty)
        _ = s.pollThreadStopping()
        #expect(s.pollThreadExited(now: t0) == ["closer", "second"])
    }

    @Test("unassignedSince follows the assignment")
    func unassignedSince() {
        let t1 = t0.advanced(by: .seconds(1)), t2 = t0.advanced(by: .seconds(2))
        var s = Machine(now: t0)
        #expect(s.unassignedSince == t0)
        s.partitionsAssigned([p0, p1], now: t1)
        #expect(s.unassignedSince == nil)
        _ = s.revokeStarted([p0], now: t1, waiter: "poll", partitionOf: { $0.tp })
        #expect(s.unassignedSince == nil && s.assigned == [p1])
        _ = s.revokeStarted([p1], now: t2, waiter: "poll", partitionOf: { $0.tp })
        #expect(s.unassignedSince == t2)
        s.partitionsAssigned([p0], now: t2)
        s.rebalanceFailed(now: t1)
        #expect(s.unassignedSince == t1 && s.assigned.isEmpty)
    }
}
