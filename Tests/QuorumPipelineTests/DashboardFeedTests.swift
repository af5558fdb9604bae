import QuorumBus
import QuorumExecution
import QuorumModel
import QuorumPipeline
import QuorumProto
import Testing

/// What the monitor keeps for its dashboard: the decisions table joined by correlation id, the thinned equity curve, the
/// live calibration; and the monitor stage filling them from wire records.
@Suite("Dashboard feed")
struct DashboardFeedTests {
    static func row(_ id: String, action: String = "buy") -> TrailRow {
        TrailRow(correlationID: id, symbol: "AAA-USD", barTime: 0, sources: [], action: action, confidence: 0.5, reasons: [])
    }

    @Test("the trail joins verdicts and reports to their decision (also when they come first), keeps the newest rows, ignores dropped rows and repeats")
    func trail() {
        var trail = DecisionTrail(capacity: 3)
        for i in 0..<5 { trail.decision(Self.row("c\(i)", action: i == 3 ? "hold" : "buy")) }
        trail.decision(Self.row("c4"))  // the same decision again: no new row
        #expect(trail.latest(10).map(\.correlationID) == ["c4", "c3", "c2"])
        trail.verdict(correlationID: "c4", approved: false, detail: "maxPosition: too big", order: "o4 buy 1")
        trail.verdict(correlationID: "c2", approved: true, detail: "quantity 1", order: "o2 buy 1")
        trail.verdict(correlationID: "c0", approved: true, detail: "quantity 1", order: "o0 buy 1")  // its row was dropped: ignored
        trail.report(correlationID: "c2", text: "filled 1 @ 10")
        trail.report(correlationID: "c2", text: "filled 1 @ 10")  // redelivered
        var rows = trail.latest(10)
        #expect(rows[0].verdict == "denied" && rows[0].verdictDetail.contains("too big") && rows[0].order == "o4 buy 1")
        #expect(rows[1].verdict == nil)
        #expect(rows[2].verdict == "approved" && rows[2].fills == ["filled 1 @ 10"])
        #expect(trail.latest(10, ordersOnly: true).map(\.correlationID) == ["c4", "c2"])
        #expect(trail.latest(1).map(\.correlationID) == ["c4"])

        // A verdict and a report before their decision (the topics are read at different paces) wait for it.
        trail.verdict(correlationID: "c9", approved: true, detail: "quantity 2", order: "o9 sell 2")
        trail.report(correlationID: "c9", text: "filled 2 @ 11")
        #expect(trail.latest(10).map(\.correlationID) == ["c4", "c3", "c2"])
        trail.decision(Self.row("c9", action: "sell"))
        rows = trail.latest(10)
        #expect(rows.map(\.correlationID) == ["c9", "c4", "c3"])
        #expect(rows[0].action == "sell" && rows[0].verdict == "approved" && rows[0].order == "o9 sell 2" && rows[0].fills == ["filled 2 @ 11"])

        // Each source's signal, before or after the decision; a later signal of a source replaces its earlier one.
        trail.source(correlationID: "c10", TrailRow.Source(name: "ml", direction: "long", confidence: 0.6, weight: 0))
        trail.decision(Self.row("c10"))
        trail.source(correlationID: "c10", TrailRow.Source(name: "sma", direction: "flat", confidence: 0.2, weight: 0))
        trail.source(correlationID: "c10", TrailRow.Source(name: "ml", direction: "short", confidence: 0.7, weight: 0))
        #expect(trail.latest(1).first?.sources.map { "\($0.name) \($0.direction)" } == ["ml short", "sma flat"])
    }

    @Test("a late verdict for a decision whose row and memory of it were dropped is kept as an early part (the monitor trapped here)")
    func lateVerdictAfterItsRowWasForgotten() {
        // What the fault suite's monitor met: c0's verdict came before its decision (an early part), the decision took
        // it, and c0's row and then the memory of its drop went. Its verdict read again (a redelivery) made a second
        // early part of c0 while the first one's place in the early order was still there: evicting that place took
        // the new part, and the update unwrapped nothing.
        var trail = DecisionTrail(capacity: 2)
        trail.verdict(correlationID: "c0", approved: true, detail: "quantity 1", order: "o0 buy 1")
        trail.decision(Self.row("c0"))
        trail.verdict(correlationID: "e1", approved: true, detail: "quantity 1", order: "o1 buy 1")  // another early part
        for i in 1...12 { trail.decision(Self.row("d\(i)")) }  // c0's row goes, then (after 4 × capacity) its memory
        trail.verdict(correlationID: "c0", approved: false, detail: "again", order: "o0 buy 1")
        trail.decision(Self.row("c0", action: "sell"))
        let row = trail.latest(1).first
        #expect(row?.correlationID == "c0" && row?.verdict == "denied" && row?.verdictDetail == "again")
        // The early parts stay bounded by the capacity, the oldest going first.
        for i in 0..<5 { trail.verdict(correlationID: "x\(i)", approved: true, detail: "", order: "") }
        trail.decision(Self.row("x0"))
        trail.decision(Self.row("x4"))
        #expect(trail.latest(2).map { $0.verdict } == ["approved", nil], "x4's early part kept, x0's evicted")
    }

    @Test("the equity inputs give EquityCurve's curve whatever order bars and fills come in; repeats are kept once")
    func equityInputs() {
        let bars = Fixtures.bars(symbol: "AAA-USD", count: 20, seed: 7)
        let fill = Fill(fillID: "f1", clientOrderID: "o1", symbol: "AAA-USD", side: .buy, quantity: 2, price: bars[5].open, fee: 1,
                        time: bars[5].openTime)
        let expected = EquityCurve(fills: [fill], bars: bars, startingCash: 1_000)
        var inputs = EquityInputs(capacity: 100)
        for bar in bars.reversed() { inputs.bar(bar) }  // bars read before the fill, newest first
        inputs.bar(bars[3])  // redelivered
        inputs.fill(fill)
        inputs.fill(fill)
        let curve = inputs.curve(startingCash: 1_000)
        #expect(curve.times == expected.times && curve.equity == expected.equity)
        #expect(curve.equity.last != 1_000, "the fill moved the equity")
        // Only the latest `capacity` bars are kept.
        var small = EquityInputs(capacity: 5)
        for bar in bars { small.bar(bar) }
        #expect(small.curve(startingCash: 1_000).times.count == 6)
    }

    @Test("a prediction is scored against the next bar, whichever arrives first; bins and hit rate")
    func calibration() {
        var c = LiveCalibration()
        let s: Int64 = 1_000_000_000
        c.bar(symbol: "A", openTime: 0, close: 100, intervalSeconds: 1)
        c.prediction(symbol: "A", barOpenTime: 0, probabilityUp: 0.72)  // next bar goes up: a hit
        c.bar(symbol: "A", openTime: s, close: 101, intervalSeconds: 1)
        c.bar(symbol: "A", openTime: 2 * s, close: 99, intervalSeconds: 1)
        c.prediction(symbol: "A", barOpenTime: s, probabilityUp: 0.75)  // both bars seen already: down, a miss
        c.prediction(symbol: "A", barOpenTime: 2 * s, probabilityUp: 0.2)  // waits for the next bar
        #expect(c.tables["A"]?.scored == 2)
        c.bar(symbol: "A", openTime: 3 * s, close: 98, intervalSeconds: 1)  // down: a hit for P(up) 0.2
        let table = try! #require(c.tables["A"])
        #expect(table.scored == 3 && table.hits == 2)
        #expect(table.bins[7].count == 2 && table.bins[7].ups == 1 && abs(table.bins[7].meanPredicted - 0.735) < 1e-12)
        #expect(table.bins[2].count == 1 && table.bins[2].ups == 0)

        // A monitor that reads all of md.bars before predictions (a restart) still scores the latest `remember` ones.
        var late = LiveCalibration(remember: 100)
        for i in 0..<300 { late.bar(symbol: "B", openTime: Int64(i) * s, close: Fixed(100 + i % 2), intervalSeconds: 1) }
        for i in 0..<299 { late.prediction(symbol: "B", barOpenTime: Int64(i) * s, probabilityUp: 0.6) }
        #expect(late.tables["B"]?.scored == 99 && late.tables["B"]?.hits == 50)
    }

    @Test("the monitor stage fills the decisions table from decisions, risk's verdicts and execution reports")
    func stageFillsTheTrail() throws {
        let stats = MonitorStats()
        var stage = MonitorStage(namer: .live, stats: stats)
        let stamp = EnvelopeStamp(producer: "test")
        var bar = Quorum_V1_Envelope()
        bar.id = "bar-AAA-1"
        var decision = Quorum_V1_Decision()
        decision.envelope = stamp.envelope(id: "d1", tsEvent: 5, cause: bar)
        decision.symbol = "AAA-USD"
        decision.action = .buy
        decision.confidence = 0.8
        var contribution = Quorum_V1_Decision.Contribution()
        contribution.source = "model"
        contribution.direction = .long
        contribution.confidence = 0.7
        decision.contributions = [contribution]
        var denied = Quorum_V1_OrderDenied()
        denied.envelope = stamp.envelope(id: "x1", tsEvent: 5, cause: decision.envelope)
        denied.intent.clientOrderID = "o1"
        denied.intent.side = .buy
        denied.reasonCode = .maxPosition
        denied.reason = "position would exceed 25000"
        var offset: Int64 = 0
        var signal = Quorum_V1_Signal()
        signal.envelope = stamp.envelope(id: "s1", tsEvent: 5, cause: bar)
        signal.symbol = "AAA-USD"
        signal.source = "sma_cross"
        signal.direction = .short
        signal.confidence = 0.4
        for out in [try OutgoingMessage(topic: TopicNamer.live.name(Topic.signals), key: "AAA-USD", message: signal, eventTimeNs: 5),
                    try OutgoingMessage(topic: TopicNamer.live.name(Topic.decisions), key: "AAA-USD", message: decision, eventTimeNs: 5),
                    try OutgoingMessage(topic: TopicNamer.live.name(Topic.ordersDenied), key: "AAA-USD", message: denied, eventTimeNs: 5)] {
            _ = try stage.handle(MonitorStageTests.incoming(out, offset: offset), replaying: false)
            offset += 1
        }
        let rows = stats.dashboard().trail
        #expect(rows.count == 1)
        #expect(rows.first?.correlationID == "bar-AAA-1" && rows.first?.action == "buy")
        // The decision's own contributions win over the signals read before it.
        #expect(rows.first?.sources == [TrailRow.Source(name: "model", direction: "long", confidence: 0.7, weight: 0)])
        #expect(rows.first?.verdict == "denied" && rows.first?.verdictDetail.contains("position would exceed 25000") == true)
        #expect(stats.dashboard().producerMessages["test"] == 3)
        // Without contributions (what consensus publishes today) the row's sources are the signals.
        decision.contributions = []
        decision.envelope = stamp.envelope(id: "d2", tsEvent: 6, cause: bar)
        let stats2 = MonitorStats()
        var stage2 = MonitorStage(namer: .live, stats: stats2)
        for (i, out) in [try OutgoingMessage(topic: TopicNamer.live.name(Topic.decisions), key: "AAA-USD", message: decision, eventTimeNs: 6),
                         try OutgoingMessage(topic: TopicNamer.live.name(Topic.signals), key: "AAA-USD", message: signal, eventTimeNs: 5)].enumerated() {
            _ = try stage2.handle(MonitorStageTests.incoming(out, offset: Int64(i)), replaying: false)
        }
        #expect(stats2.dashboard().trail.first?.sources == [TrailRow.Source(name: "sma_cross", direction: "short", confidence: 0.4, weight: 0)])
    }
}

extension DashboardFeedTests {
    @Test("the monitor stage scores predictions for calibration whether bars or predictions are read first")
    func stageCalibration() throws {
        for barsFirst in [true, false] {
            let stats = MonitorStats()
            var stage = MonitorStage(namer: .live, stats: stats)
            let stamp = EnvelopeStamp(producer: "test")
            let bars = Fixtures.bars(symbol: "AAA-USD", count: 50, seed: 3)
            let barMessages = try bars.map { bar in
                try OutgoingMessage(topic: TopicNamer.live.name(Topic.bars), key: "AAA-USD", message: bar.wire(stamp: stamp), eventTimeNs: bar.closeTime)
            }
            let predictions = try bars.map { bar in
                var p = Quorum_V1_Prediction()
                p.envelope = stamp.envelope(id: "p-\(bar.openTime)", tsEvent: bar.closeTime, cause: nil)
                p.symbol = "AAA-USD"
                p.probUp = 0.7
                p.barOpenTimeNs = bar.openTime
                return try OutgoingMessage(topic: TopicNamer.live.name(Topic.predictions), key: "AAA-USD", message: p, eventTimeNs: bar.closeTime)
            }
            var offset: Int64 = 0
            for out in barsFirst ? barMessages + predictions : predictions + barMessages {
                _ = try stage.handle(MonitorStageTests.incoming(out, offset: offset), replaying: false)
                offset += 1
            }
            #expect(stats.dashboard().calibration["AAA-USD"]?.scored == 49, "bars first: \(barsFirst)")
        }
    }
}
