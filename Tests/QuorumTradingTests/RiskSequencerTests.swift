import QuorumModel
import QuorumRisk
import Testing

private let step: Nanos = 60_000_000_000
private let start: Nanos = 1_700_000_000_000_000_000

private func buy(_ id: String, _ symbol: Symbol, at k: Int64) -> RiskDecision {
    RiskDecision(id: id, symbol: symbol, time: start + k * step, target: .long, referencePrice: 100, atr: 1)
}

private func hold(_ id: String, _ symbol: Symbol, at k: Int64) -> RiskDecision {
    RiskDecision(id: id, symbol: symbol, time: start + k * step, target: nil, referencePrice: 100, atr: 1)
}

/// The decisions handed to the core, in order, by their tags.
private func decided(_ out: [RiskSequencer.Output]) -> [Int] {
    out.compactMap { if case .decided(_, let tag) = $0 { tag } else { nil } }
}

private func approvals(_ out: [RiskSequencer.Output]) -> [(id: String, sequence: UInt64?)] {
    out.compactMap { if case .action(.approve(let o), _, let s) = $0 { (o.clientOrderID, s) } else { nil } }
}

@Suite("Risk sequencer: one event-time order whatever the arrival order")
struct RiskSequencerTests {
    @Test("a decision waits until every expected symbol reached its time; ties go by symbol; end of input releases the rest")
    func eventTimeOrder() {
        var s = RiskSequencer(core: RiskCore(config: RiskConfig(maxPositionNotional: 10_000_000)), expectedSymbols: ["BTC-USD", "ETH-USD"])
        var out: [RiskSequencer.Output] = []
        let taken1 = s.decision(hold("e2", "ETH-USD", at: 2), tag: 1)
        #expect(taken1)
        s.release(into: &out)
        #expect(decided(out).isEmpty, "BTC-USD has not reached minute 2")
        let taken2 = s.decision(hold("b1", "BTC-USD", at: 1), tag: 2)
        #expect(taken2)
        let taken3 = s.decision(hold("b2", "BTC-USD", at: 2), tag: 3)
        #expect(taken3)
        s.release(into: &out)
        // b1 (minute 1), then the tie at minute 2 by symbol: BTC-USD before ETH-USD.
        #expect(decided(out) == [2, 3, 1])
        #expect(s.eventNow == start + 2 * step)
        out = []
        let taken4 = s.decision(hold("e3", "ETH-USD", at: 3), tag: 4)
        #expect(taken4)
        s.release(into: &out)
        #expect(decided(out).isEmpty)
        s.endOfInput(into: &out)
        #expect(decided(out) == [4])
        // A decision not later than its symbol's last is a redelivery.
        let taken5 = s.decision(hold("e3", "ETH-USD", at: 3), tag: 5)
        #expect(!taken5)
    }

    @Test("the next decision of a symbol waits for the final reports of its earlier orders and applies them first")
    func reportsBeforeNextDecision() {
        var s = RiskSequencer(core: RiskCore(config: RiskConfig(maxPositionNotional: 10_000_000)), expectedSymbols: ["BTC-USD"])
        var out: [RiskSequencer.Output] = []
        let taken6 = s.decision(buy("b1", "BTC-USD", at: 1), tag: 1)
        #expect(taken6)
        s.release(into: &out)
        let orders = approvals(out)
        #expect(orders.count == 1 && orders[0].sequence == 1)
        out = []
        let taken7 = s.decision(hold("b2", "BTC-USD", at: 2), tag: 2)
        #expect(taken7)
        s.release(into: &out)
        #expect(decided(out).isEmpty, "the order of b1 has no final report yet")
        let fill = Fill(fillID: orders[0].id + "-f1", clientOrderID: orders[0].id, symbol: "BTC-USD", side: .buy, quantity: 1,
                        price: 100, fee: 0, time: start + 2 * step)
        let taken8 = s.finalReport(clientOrderID: orders[0].id, symbol: "BTC-USD", events: [.fill(fill)], tag: 7)
        #expect(taken8)
        let taken9 = s.finalReport(clientOrderID: orders[0].id, symbol: "BTC-USD", events: [.fill(fill)], tag: 8)
        #expect(!taken9, "held already")
        #expect(s.core.positions["BTC-USD"] == nil, "held until the next decision of its symbol")
        #expect(s.settledCore.positions["BTC-USD"] == 1, "the settled view counts it")
        s.release(into: &out)
        let reportDone = out.firstIndex { if case .reportDone(7) = $0 { true } else { false } }
        let decidedB2 = out.firstIndex { if case .decided(_, 2) = $0 { true } else { false } }
        #expect(reportDone != nil && decidedB2 != nil && reportDone! < decidedB2!, "the report is applied before b2")
        #expect(s.core.positions["BTC-USD"] == 1)
        let taken10 = s.finalReport(clientOrderID: orders[0].id, symbol: "BTC-USD", events: [.fill(fill)], tag: 9)
        #expect(!taken10, "applied already")
    }

    @Test("the host's waited-out answer releases a decision held by a silent symbol, and is counted")
    func waitedOut() {
        var s = RiskSequencer(core: RiskCore(), expectedSymbols: ["BTC-USD", "ETH-USD"])
        var out: [RiskSequencer.Output] = []
        let taken11 = s.decision(hold("b1", "BTC-USD", at: 1), tag: 1)
        #expect(taken11)
        s.release(into: &out) { _ in false }
        #expect(decided(out).isEmpty && s.isHolding)
        s.release(into: &out) { $0 == "ETH-USD" }
        #expect(decided(out) == [1] && s.idleReleases == 1 && !s.isHolding)
    }
}
