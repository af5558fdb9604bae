import Foundation
import QuorumAlerts
import QuorumModel
import Testing

/// The alert rules without servers: each rule fires at its threshold and not below, once per episode, and resolves.
@Suite("AlertRulesCoreTests")
struct AlertRulesCoreTests {
    static let hour: Int64 = 3_600 * 1_000_000_000
    static let second: Int64 = 1_000_000_000
    /// 2019-03-01T00:00:00Z
    static let day0: Int64 = 1_551_398_400 * 1_000_000_000

    static func bar(_ symbol: Symbol = "BTC-USD", close: Fixed, at closeTime: Int64) -> Bar {
        Bar(symbol: symbol, openTime: closeTime - hour, intervalSeconds: 3_600, open: close, high: close, low: close, close: close,
            volume: 1)
    }

    static func buy(_ quantity: Fixed, at price: Fixed, time: Int64) -> Fill {
        Fill(fillID: "o\(time)-f1", clientOrderID: "o\(time)", symbol: "BTC-USD", side: .buy, quantity: quantity, price: price, fee: .zero, time: time)
    }

    /// A core holding 1 BTC bought at 50,000 with 100,000 starting cash (equity 100,000 at a close of 50,000).
    static func holding(_ thresholds: AlertThresholds) -> AlertRulesCore {
        var core = AlertRulesCore(thresholds: thresholds)
        _ = core.handle(.fill(buy(1, at: 50_000, time: day0)), now: 0)
        _ = core.handle(.bar(bar(close: 50_000, at: day0 + hour)), now: 0)
        return core
    }

    static func raised(_ changes: [AlertChange]) -> [RaisedAlert] {
        changes.compactMap { if case .raise(let a) = $0 { a } else { nil } }
    }

    static func resolved(_ changes: [AlertChange]) -> [RaisedAlert] {
        changes.compactMap { if case .resolve(_, let r) = $0 { r } else { nil } }
    }

    @Test("the account snapshot: positions at the latest mark with entry and unrealised PnL; a fill counts before the next bar")
    func account() {
        var core = Self.holding(AlertThresholds(drawdown: 0, dailyLoss: 0))
        _ = core.handle(.bar(Self.bar(close: 52_000, at: Self.day0 + 2 * Self.hour)), now: 0)
        var a = core.account
        #expect(a.positions.map { "\($0.symbol) \($0.quantity) \($0.entryPrice) \($0.mark) \($0.unrealizedPnL)" } == ["BTC-USD 1 50000 52000 2000"])
        #expect(a.equity == 102_000 && a.pnlTotal == 2_000 && a.cash == 50_000 && a.fills == 1 && a.peak == 102_000)
        // A second buy at 52,000, no bar yet: the average entry and the equity (fees included) follow at once.
        _ = core.handle(.fill(Fill(fillID: "x-f1", clientOrderID: "x", symbol: "BTC-USD", side: .buy, quantity: 1, price: 52_000, fee: 10,
                                   time: Self.day0 + 2 * Self.hour)), now: 0)
        a = core.account
        #expect(a.positions.first?.quantity == 2 && a.positions.first?.entryPrice == 51_000 && a.positions.first?.unrealizedPnL == 2_000)
        #expect(a.equity == 101_990 && a.fees == 10 && a.positions.first?.notional == 104_000)
    }

    @Test("drawdown: 9.99 % of peak raises nothing, 10 % raises once, a deeper fall nothing more, recovery resolves")
    func drawdown() {
        var core = Self.holding(AlertThresholds(drawdown: 0.10, dailyLoss: 0))
        // Equity = 50,000 cash + 1 BTC at the close. Peak 100,000 → 10 % drawdown at equity 90,000 (close 40,000).
        #expect(core.handle(.bar(Self.bar(close: Fixed("40010")!, at: Self.day0 + 2 * Self.hour)), now: 0).isEmpty)
        let first = Self.raised(core.handle(.bar(Self.bar(close: 40_000, at: Self.day0 + 3 * Self.hour)), now: 0))
        #expect(first.count == 1)
        #expect(first.first?.rule == .drawdown)
        #expect(first.first?.severity == .critical)
        #expect(first.first?.id == "drawdown:account:\(Self.day0 + 3 * Self.hour)")
        #expect(core.handle(.bar(Self.bar(close: 30_000, at: Self.day0 + 4 * Self.hour)), now: 0).isEmpty, "still in the same episode")
        let back = Self.resolved(core.handle(.bar(Self.bar(close: 50_000, at: Self.day0 + 5 * Self.hour)), now: 0))
        #expect(back.map(\.id) == [first[0].id + ":resolved"])
        #expect(back.first?.code == "drawdown_resolved")
        #expect(core.activeAlerts.isEmpty)
    }

    @Test("daily loss: measured from the equity at the start of the UTC day; resolved when a new day begins")
    func dailyLoss() {
        var core = Self.holding(AlertThresholds(drawdown: 0, dailyLoss: 0.02))
        // Start-of-day equity 100,000: a loss of 1,999 (close 48,001) is below 2 %, 2,000 (close 48,000) reaches it.
        #expect(core.handle(.bar(Self.bar(close: 48_001, at: Self.day0 + 2 * Self.hour)), now: 0).isEmpty)
        let hit = Self.raised(core.handle(.bar(Self.bar(close: 48_000, at: Self.day0 + 3 * Self.hour)), now: 0))
        #expect(hit.map(\.rule) == [.dailyLoss])
        #expect(hit.first?.id == "daily_loss:account:\(Self.day0)")
        #expect(hit.first?.labels["day"] == "2019-03-01")
        // Next day: resolved; the day starts at 98,000, so the same equity is no loss.
        let next = core.handle(.bar(Self.bar(close: 48_000, at: Self.day0 + 25 * Self.hour)), now: 0)
        #expect(Self.resolved(next).count == 1)
        #expect(Self.raised(next).isEmpty)
    }

    @Test("kill switch: raised when risk turns it on, once; resolved when off")
    func killSwitch() {
        var core = AlertRulesCore(thresholds: AlertThresholds())
        let on = Self.raised(core.handle(.killSwitch(on: true, reason: "daily loss", time: 7), now: 0))
        #expect(on.map(\.id) == ["kill_switch:risk:7"])
        #expect(core.handle(.killSwitch(on: true, reason: "daily loss", time: 7), now: 0).isEmpty, "a redelivery raises nothing")
        #expect(Self.resolved(core.handle(.killSwitch(on: false, reason: "by operator", time: 9), now: 0)).count == 1)
    }

    @Test("model decay: below the minimum with enough predictions raises; too few predictions count for nothing")
    func modelDecay() {
        var core = AlertRulesCore(thresholds: AlertThresholds(accuracy: 0.45, accuracySamples: 200))
        #expect(core.handle(.accuracy(symbol: "ETH-USD", accuracy: 0.30, samples: 199, time: 1), now: 0).isEmpty)
        #expect(core.handle(.accuracy(symbol: "ETH-USD", accuracy: 0.45, samples: 300, time: 2), now: 0).isEmpty)
        let low = Self.raised(core.handle(.accuracy(symbol: "ETH-USD", accuracy: 0.449, samples: 300, time: 3), now: 0))
        #expect(low.map(\.id) == ["model_quality_decay:ETH-USD:3"])
        #expect(core.handle(.accuracy(symbol: "ETH-USD", accuracy: 0.40, samples: 300, time: 4), now: 0).isEmpty)
        #expect(Self.resolved(core.handle(.accuracy(symbol: "ETH-USD", accuracy: 0.5, samples: 300, time: 5), now: 0)).count == 1)
    }

    @Test("consumer lag: raised only after staying at the threshold for the whole duration; the episode is when it began")
    func consumerLag() {
        var core = AlertRulesCore(thresholds: AlertThresholds(lagRecords: 1_000, lagFor: 60 * Self.second))
        #expect(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 999), now: 0).isEmpty)
        #expect(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 1_000), now: 10 * Self.second).isEmpty)
        #expect(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 5_000), now: 69 * Self.second).isEmpty)
        let raised = Self.raised(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 5_000), now: 70 * Self.second))
        #expect(raised.map(\.id) == ["consumer_lag:quorum-risk/decisions:\(10 * Self.second)"])
        #expect(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 9_000), now: 75 * Self.second).isEmpty)
        #expect(Self.resolved(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 0), now: 80 * Self.second)).count == 1)
        // A dip below the threshold restarts the clock.
        _ = core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 2_000), now: 100 * Self.second)
        _ = core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 0), now: 130 * Self.second)
        #expect(core.handle(.lag(group: "quorum-risk", topic: "decisions", records: 2_000), now: 170 * Self.second).isEmpty)
    }

    @Test("stage unready: raised after the configured time unready, resolved when ready")
    func stageUnready() {
        var core = AlertRulesCore(thresholds: AlertThresholds(unreadyFor: 30 * Self.second))
        #expect(core.handle(.readiness(service: "risk", ready: false, reason: "HTTP 503"), now: 0).isEmpty)
        #expect(core.handle(.readiness(service: "risk", ready: false, reason: "HTTP 503"), now: 29 * Self.second).isEmpty)
        let raised = Self.raised(core.handle(.readiness(service: "risk", ready: false, reason: "HTTP 503"), now: 30 * Self.second))
        #expect(raised.map(\.id) == ["stage_unready:risk:0"])
        #expect(raised.first?.message.contains("HTTP 503") == true)
        #expect(Self.resolved(core.handle(.readiness(service: "risk", ready: true, reason: ""), now: 35 * Self.second)).count == 1)
    }

    @Test("dead letters: N within the window raise (N−1 do not); the id names the letter; a quiet window resolves at a tick")
    func deadLetters() {
        var core = AlertRulesCore(thresholds: AlertThresholds(deadLetters: 3, deadLetterWindow: Self.hour))
        #expect(core.handle(.deadLetter(topic: "md.bars", partition: 0, offset: 0), now: 0).isEmpty)
        #expect(core.handle(.deadLetter(topic: "md.bars", partition: 0, offset: 1), now: 2 * Self.hour).isEmpty, "the first one left the window")
        #expect(core.handle(.deadLetter(topic: "md.bars", partition: 1, offset: 0), now: 2 * Self.hour + 1).isEmpty)
        let raised = Self.raised(core.handle(.deadLetter(topic: "md.bars", partition: 2, offset: 5), now: 2 * Self.hour + 2))
        #expect(raised.map(\.id) == ["dlq_growth:md.bars:2-5"])
        #expect(core.handle(.deadLetter(topic: "md.bars", partition: 2, offset: 6), now: 2 * Self.hour + 3).isEmpty)
        #expect(core.tick(now: 3 * Self.hour).isEmpty, "a dead letter came less than an hour ago")
        #expect(Self.resolved(core.tick(now: 3 * Self.hour + 3)).count == 1)
    }

    @Test("the same inputs give the same ids; the core survives a Codable round trip with its state")
    func deterministicAndCodable() throws {
        func run(_ core: inout AlertRulesCore) -> [String] {
            (core.handle(.killSwitch(on: true, reason: "x", time: 42), now: 0)
                + core.handle(.bar(Self.bar(close: 10_000, at: Self.day0 + 2 * Self.hour)), now: 0)).map(\.alert.id)
        }
        var a = Self.holding(AlertThresholds())
        var b = Self.holding(AlertThresholds())
        #expect(run(&a) == run(&b))
        let data = try JSONEncoder().encode(a)
        var restored = try JSONDecoder().decode(AlertRulesCore.self, from: data)
        #expect(restored.activeAlerts == a.activeAlerts)
        #expect(restored.currentEquity == a.currentEquity)
        #expect(restored.handle(.killSwitch(on: true, reason: "x", time: 43), now: 0).isEmpty, "still raised after the restore")
    }
}
