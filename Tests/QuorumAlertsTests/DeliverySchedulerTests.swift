import QuorumAlertDelivery
import Testing

/// The delivery state machine without threads or a network.
@Suite("DeliverySchedulerTests")
struct DeliverySchedulerTests {
    static let t0 = ContinuousClock.now

    static func notice(_ id: String) -> AlertNotice { AlertNotice(id: id, severity: "warning", code: "x", message: "m", timeNs: 0) }

    @Test("back-off doubles from the initial wait up to the maximum; after the last attempt the notice is given up")
    func backoffAndGiveUp() {
        var policy = DeliveryPolicy()
        policy.initialBackoff = .seconds(1)
        policy.maxBackoff = .seconds(5)
        policy.maxAttempts = 3
        var s = DeliveryScheduler(destinations: 1, policy: policy)
        #expect(s.backoff(afterAttempts: 1) == .seconds(1))
        #expect(s.backoff(afterAttempts: 3) == .seconds(4))
        #expect(s.backoff(afterAttempts: 4) == .seconds(5))
        _ = s.enqueue(Self.notice("a"))
        #expect(s.next(0, now: Self.t0) == .send(Self.notice("a"), attempt: 1))
        #expect(s.next(0, now: Self.t0) == .idle, "one request at a time per destination")
        #expect(s.finished(0, .retry(after: nil), now: Self.t0) == .retried)
        #expect(s.next(0, now: Self.t0) == .wait(until: Self.t0 + .seconds(1)))
        #expect(s.next(0, now: Self.t0 + .seconds(1)) == .send(Self.notice("a"), attempt: 2))
        #expect(s.finished(0, .retry(after: .seconds(30)), now: Self.t0 + .seconds(1)) == .retried)
        #expect(s.next(0, now: Self.t0 + .seconds(2)) == .wait(until: Self.t0 + .seconds(31)), "Retry-After wins over the back-off")
        #expect(s.next(0, now: Self.t0 + .seconds(31)) == .send(Self.notice("a"), attempt: 3))
        #expect(s.finished(0, .retry(after: nil), now: Self.t0 + .seconds(31)) == .failed)
        #expect(s.depth(0) == 0)
    }

    @Test("a full queue drops the new notice; a seen id is a duplicate")
    func queueLimitAndDuplicates() {
        var policy = DeliveryPolicy()
        policy.queueLimit = 2
        var s = DeliveryScheduler(destinations: 2, policy: policy)
        #expect(s.enqueue(Self.notice("a")) == [.queued, .queued])
        #expect(s.enqueue(Self.notice("a")) == [.duplicate, .duplicate])
        #expect(s.enqueue(Self.notice("b")) == [.queued, .queued])
        #expect(s.enqueue(Self.notice("c")) == [.dropped, .dropped])
        #expect(s.depth(0) == 2)
    }
}
