@testable import QuorumKafka
import Testing

/// `ProducerLifecycle` without threads or a broker: feed events, check the actions.
@Suite("ProducerLifecycle")
struct ProducerLifecycleTests {
    @Test("close with no send in progress destroys at once; later sends are refused")
    func closeIdle() {
        var l = ProducerLifecycle<String>()
        guard case .destroyNow("c") = l.close(waiter: "c") else { Issue.record("expected destroyNow"); return }
        let refused = !l.beginUse()
        #expect(refused)
        #expect(l.handlesAlive)  // closing: the closer still flushes through them
        l.markDestroyed()
        #expect(!l.handlesAlive && l.phase == .closed)
    }

    @Test("close waits for the sends in progress; the last one to end resumes the closer, exactly once")
    func closeWaitsForUsers() {
        var l = ProducerLifecycle<String>()
        let first = l.beginUse(), second = l.beginUse()
        #expect(first && second)
        guard case .waitForUsers = l.close(waiter: "c") else { Issue.record("expected waitForUsers"); return }
        let late = l.beginUse()
        #expect(!late, "a send that starts while closing is refused")
        guard case .none = l.endUse() else { Issue.record("first of two ended: the closer must keep waiting"); return }
        #expect(l.phase == .closing && l.users == 1)
        guard case .resumeCloser("c") = l.endUse() else { Issue.record("the last send must resume the closer"); return }
        l.markDestroyed()
        #expect(l.phase == .closed && l.users == 0)
    }

    @Test("a second close does nothing; deinit destroys only what close did not")
    func secondCloseAndDeinit() {
        var l = ProducerLifecycle<Int>()
        _ = l.close(waiter: 1)
        guard case .alreadyClosing(2) = l.close(waiter: 2) else { Issue.record("expected alreadyClosing"); return }
        l.markDestroyed()
        let again = l.takeForDeinit()
        #expect(!again)
        var open = ProducerLifecycle<Int>()
        let destroys = open.takeForDeinit()
        let afterDeinit = open.beginUse()
        #expect(destroys && !afterDeinit)
    }

    @Test("ending sends while open never resumes anyone")
    func endWhileOpen() {
        var l = ProducerLifecycle<Int>()
        for _ in 0..<3 {
            let admitted = l.beginUse()
            #expect(admitted)
        }
        for _ in 0..<3 {
            guard case .none = l.endUse() else { Issue.record("no closer is waiting"); return }
        }
        #expect(l.users == 0 && l.phase == .open)
    }
}
