import QuorumExecution
import QuorumModel
import Testing

private func bar(_ symbol: Symbol = "BTC-USD", openTime: Nanos, open: Fixed, close: Fixed? = nil) -> Bar {
    let c = close ?? open
    return Bar(symbol: symbol, openTime: openTime, intervalSeconds: 60, open: open, high: max(open, c), low: min(open, c), close: c, volume: 1)
}

private func order(_ id: String, _ side: Side, _ qty: Fixed, symbol: Symbol = "BTC-USD", time: Nanos = t0) -> PaperOrder {
    PaperOrder(clientOrderID: id, symbol: symbol, side: side, quantity: qty, time: time)
}

private func reports(_ actions: [ExecutionAction]) -> [ExecutionReport] {
    actions.compactMap { if case .report(let r) = $0 { r } else { nil } }
}

@Suite("PaperExchange")
struct PaperExchangeTests {
    @Test("accepted at once, filled at the next bar's open (not the decided bar) with slippage and fee exact")
    func nextBarOpen() throws {
        var ex = PaperExchange(config: PaperExchangeConfig(startingCash: 100_000, slippageBps: 5, feeBps: 10))
        #expect(reports(ex.handle(.submit(order("o1", .buy, 2, time: t0)))).map(\.status) == [.new, .accepted])
        // The bar the decision was made on (closes at t0) arrives late: it must not fill the order.
        #expect(ex.handle(.bar(bar(openTime: t0 - minute, open: 90))).isEmpty)
        #expect(ex.handle(.bar(bar("ETH-USD", openTime: t0, open: 5))).isEmpty)
        let filled = reports(ex.handle(.bar(bar(openTime: t0, open: 100, close: 101))))
        let fill = try #require(filled.first?.fill)
        #expect(filled.map(\.status) == [.filled])
        // 100 × (1 + 0.0005) = 100.05; fee 2 × 100.05 × 0.001 = 0.2001.
        #expect(fill.price == fx("100.05") && fill.fee == fx("0.2001") && fill.quantity == 2 && fill.time == t0)
        #expect(fill.fillID == "o1-f1")
        #expect(ex.ledger.cash == fx("99799.6999"))
        #expect(ex.equity == fx("99799.6999") + 2 * 101)

        _ = ex.handle(.submit(order("o2", .sell, 2, time: t0 + minute)))
        let sold = try #require(reports(ex.handle(.bar(bar(openTime: t0 + minute, open: 110)))).first?.fill)
        // 110 × (1 − 0.0005) = 109.945; fee 2 × 109.945 × 0.001 = 0.21989.
        #expect(sold.price == fx("109.945") && sold.fee == fx("0.21989"))
        #expect(ex.ledger.realizedPnL == fx("19.79") && ex.ledger.fees == fx("0.41999"))
        #expect(ex.ledger.position("BTC-USD").quantity == 0)
    }

    @Test("volatility-scaled slippage: a fraction of the previous bar's range on top of the fixed bps, against the trader")
    func rangeSlippage() throws {
        var ex = PaperExchange(config: PaperExchangeConfig(startingCash: 100_000, slippageBps: 5, feeBps: 10, rangeSlippage: fx("0.1")))
        // The previous bar's range: 110 − 90 = 20, so 2 more per unit.
        _ = ex.handle(.bar(Bar(symbol: "BTC-USD", openTime: t0 - minute, intervalSeconds: 60, open: 100, high: 110, low: 90, close: 100, volume: 1)))
        _ = ex.handle(.submit(order("b1", .buy, 1, time: t0)))
        let buy = try #require(reports(ex.handle(.bar(bar(openTime: t0, open: 100)))).first?.fill)
        #expect(buy.price == fx("102.05"))
        _ = ex.handle(.submit(order("s1", .sell, 1, time: t0 + minute)))
        // The previous bar (open 100, high = low = 100) has no range: the fixed 5 bps alone.
        let sell = try #require(reports(ex.handle(.bar(bar(openTime: t0 + minute, open: 100)))).first?.fill)
        #expect(sell.price == fx("99.95"))
    }

    @Test("fillDelayBars 1: an order fills at the open of the bar after its next one, also when that bar was remembered already")
    func fillDelay() throws {
        var config = PaperExchangeConfig(startingCash: 100_000, slippageBps: 0, feeBps: 0)
        config.fillDelayBars = 1
        var ex = PaperExchange(config: config)
        _ = ex.handle(.submit(order("o1", .buy, 1, time: t0)))
        #expect(reports(ex.handle(.bar(bar(openTime: t0, open: 100)))).isEmpty, "the next bar: one bar too early")
        let fill = try #require(reports(ex.handle(.bar(bar(openTime: t0 + minute, open: 105)))).first?.fill)
        #expect(fill.price == 105 && fill.time == t0 + minute)
        // An order whose delayed fill bar has arrived already fills at it at once.
        _ = ex.handle(.bar(bar(openTime: t0 + 2 * minute, open: 107)))
        let late = reports(ex.handle(.submit(order("o2", .sell, 1, time: t0 + minute))))
        #expect(late.compactMap(\.fill).map(\.price) == [107])
    }

    @Test("a redelivered submit (same client order id) creates no second order or fill")
    func redelivery() {
        var ex = PaperExchange()
        #expect(ex.handle(.submit(order("o1", .buy, 1))).count == 2)
        #expect(ex.handle(.submit(order("o1", .buy, 1))).isEmpty)
        #expect(reports(ex.handle(.bar(bar(openTime: t0, open: 100)))).count == 1)
        #expect(ex.handle(.submit(order("o1", .buy, 1))).isEmpty)
        #expect(ex.ledger.fills.count == 1 && ex.ledger.position("BTC-USD").quantity == 1)
    }

    @Test("rejections: non-positive quantity, selling more than held, buying beyond cash")
    func rejections() {
        var ex = PaperExchange(config: PaperExchangeConfig(startingCash: 1_000, slippageBps: 0, feeBps: 0))
        let zero = reports(ex.handle(.submit(order("z", .buy, 0))))
        #expect(zero.map(\.status) == [.new, .rejected] && zero.last?.reason?.contains("must be positive") == true)
        #expect(reports(ex.handle(.submit(order("s", .sell, 1)))).map(\.status) == [.new, .rejected])
        _ = ex.handle(.submit(order("big", .buy, 11)))
        let late = reports(ex.handle(.bar(bar(openTime: t0, open: 100))))
        #expect(late.map(\.status) == [.rejected] && late.first?.reason?.contains("cash") == true)
        #expect(ex.ledger.cash == 1_000 && ex.ledger.fills.isEmpty)
    }

    @Test("sells reserve the position: a second sell beyond what is left is rejected at submit")
    func reservedSells() {
        var ex = PaperExchange(config: PaperExchangeConfig(slippageBps: 0, feeBps: 0))
        _ = ex.handle(.submit(order("b", .buy, 3)))
        _ = ex.handle(.bar(bar(openTime: t0, open: 100)))
        #expect(reports(ex.handle(.submit(order("s1", .sell, 2, time: t0 + minute)))).last?.status == .accepted)
        #expect(reports(ex.handle(.submit(order("s2", .sell, 2, time: t0 + minute)))).last?.status == .rejected)
    }

    @Test("cancel before the fill; cancel after it or of an unknown id is refused and changes nothing")
    func cancel() {
        var ex = PaperExchange()
        _ = ex.handle(.submit(order("o1", .buy, 1)))
        #expect(reports(ex.handle(.cancel(clientOrderID: "o1", time: t0))).map(\.status) == [.cancelled])
        #expect(ex.handle(.bar(bar(openTime: t0, open: 100))).isEmpty)
        _ = ex.handle(.submit(order("o2", .buy, 1, time: t0 + minute)))
        _ = ex.handle(.bar(bar(openTime: t0 + minute, open: 100)))
        let refused = ex.handle(.cancel(clientOrderID: "o2", time: t0 + minute))
        guard case .cancelRejected(let id, let reason, _)? = refused.first else {
            Issue.record("expected cancelRejected, got \(refused)")
            return
        }
        #expect(id == "o2" && reason.contains("FILLED"))
        #expect(ex.status(of: "o2") == .filled)
        #expect(ex.handle(.cancel(clientOrderID: "o1", time: t0)).count == 1 && ex.status(of: "o1") == .cancelled)
        if case .cancelRejected? = ex.handle(.cancel(clientOrderID: "nope", time: t0)).first {} else { Issue.record("unknown id must be refused") }
    }

    @Test("the transition table allows exactly NEW→ACCEPTED/REJECTED and ACCEPTED→FILLED/CANCELLED/REJECTED")
    func transitions() {
        let all: [OrderStatus] = [.new, .accepted, .filled, .cancelled, .rejected]
        let legal: Set<String> = ["NEW>ACCEPTED", "NEW>REJECTED", "ACCEPTED>FILLED", "ACCEPTED>CANCELLED", "ACCEPTED>REJECTED"]
        for a in all {
            for b in all {
                #expect(a.canTransition(to: b) == legal.contains("\(a.rawValue)>\(b.rawValue)"), "\(a) → \(b)")
            }
        }
    }

    @Test("seeded random order/bar/cancel streams: legal report sequences, position = Σ fills, exact cash identity",
          arguments: [11, 12, 13, 14] as [UInt64])
    func invariants(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let symbols: [Symbol] = ["BTC-USD", "ETH-USD", "SOL-USD"]
        var ex = PaperExchange(config: PaperExchangeConfig(startingCash: 50_000, slippageBps: fx("7.5"), feeBps: fx("12.5")))
        var prices: [Symbol: Fixed] = ["BTC-USD": 30_000, "ETH-USD": 2_000, "SOL-USD": 100]
        var history: [String: [OrderStatus]] = [:]
        var fills: [Fill] = []
        var time = t0
        var ids: [String] = []

        for step in 0..<2_000 {
            let symbol = symbols.randomElement(using: &rng)!
            var actions: [ExecutionAction] = []
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3:
                let redeliver = !ids.isEmpty && Int.random(in: 0..<5, using: &rng) == 0
                let id = redeliver ? ids.randomElement(using: &rng)! : "o\(step)"
                ids.append(id)
                let qty = Fixed(approximating: Double.random(in: -0.1...3, using: &rng) * 1_000 / prices[symbol]!.doubleValue)
                    .truncated(toMultipleOf: fx("0.0001"))
                actions = ex.handle(.submit(order(id, Bool.random(using: &rng) ? .buy : .sell, qty, symbol: symbol, time: time)))
                if redeliver { #expect(actions.isEmpty, "seed \(seed): redelivered \(id) must be ignored") }
            case 4...7:
                let open = prices[symbol]!
                let close = max(fx("0.01"), open + open * Fixed(approximating: Double.random(in: -0.03...0.03, using: &rng)))
                prices[symbol] = close
                actions = ex.handle(.bar(bar(symbol, openTime: time, open: open, close: close)))
                time += minute
            default:
                if let id = ids.randomElement(using: &rng) { actions = ex.handle(.cancel(clientOrderID: id, time: time)) }
            }
            for r in reports(actions) {
                history[r.clientOrderID, default: []].append(r.status)
                if let f = r.fill { fills.append(f) }
            }
        }

        for (id, statuses) in history {
            #expect(statuses.first == .new, "seed \(seed) \(id): first report must be NEW")
            for (a, b) in zip(statuses, statuses.dropFirst()) {
                #expect(a.canTransition(to: b), "seed \(seed) \(id): illegal \(a) → \(b)")
            }
            #expect(statuses.count <= 3)
        }
        #expect(fills.count > 50, "seed \(seed): stream must fill orders (\(fills.count))")
        var cash: Fixed = 50_000
        for f in fills {
            let signed = f.side == .buy ? f.quantity : -f.quantity
            cash = cash - signed * f.price - f.fee
            #expect(f.fee == f.quantity * f.price * fx("12.5") / 10_000)
        }
        #expect(ex.ledger.cash == cash)
        #expect(ex.ledger.cash >= 0, "spot: cash never negative")
        #expect(ex.ledger.fees == fills.reduce(Fixed.zero) { $0 + $1.fee })
        for s in symbols {
            let sum = fills.filter { $0.symbol == s }.reduce(Fixed.zero) { $0 + ($1.side == .buy ? $1.quantity : -$1.quantity) }
            #expect(ex.ledger.position(s).quantity == sum)
            #expect(sum >= 0, "spot: position never negative")
        }
    }
}

@Suite("Ledger")
struct LedgerTests {
    private func f(_ id: String, _ side: Side, _ qty: Fixed, _ price: Fixed, fee: Fixed = 0) -> Fill {
        Fill(fillID: id, clientOrderID: id, symbol: "BTC-USD", side: side, quantity: qty, price: price, fee: fee, time: t0)
    }

    @Test("average entry, realized PnL on reduce, flip re-opens at the fill price, duplicate fill ignored")
    func averages() {
        var l = Ledger(startingCash: 1_000)
        l.apply(f("1", .buy, 2, 100, fee: 1))
        l.apply(f("2", .buy, 2, 110))
        #expect(l.position("BTC-USD") == Ledger.Position(quantity: 4, averagePrice: 105))
        l.apply(f("3", .sell, 3, 120))
        #expect(l.realizedPnL == 45 && l.position("BTC-USD").averagePrice == 105)
        let duplicateApplied = l.apply(f("3", .sell, 3, 120))
        #expect(!duplicateApplied)
        l.apply(f("4", .sell, 3, 100))
        #expect(l.realizedPnL == 40 && l.position("BTC-USD") == Ledger.Position(quantity: -2, averagePrice: 100))
        #expect(l.closedTradePnLs == [45, -5])
        // cash = 1000 − 200 − 1 − 220 + 360 + 300 = 1239; equity at 90 = 1239 − 180 = 1059.
        #expect(l.cash == 1_239 && l.fees == 1)
        #expect(l.equity(marks: ["BTC-USD": 90]) == 1_059 && l.unrealizedPnL(marks: ["BTC-USD": 90]) == 20)
    }
}

@Suite("PerformanceStats")
struct PerformanceStatsTests {
    @Test("hand-made curve: drawdown 120 → 90 is 30 (25 %), PnL +30, trades and win rate")
    func drawdown() {
        let s = PerformanceStats(equityCurve: [100, 110, 99, 120, 90, 130], tradePnLs: [10, -5, 0, 25], barsPerYear: 100)
        #expect(s.totalPnL == 30 && abs(s.totalReturn - 0.3) < 1e-12)
        #expect(s.maxDrawdown == 30 && abs(s.maxDrawdownPercent - 0.25) < 1e-12)
        #expect(s.tradeCount == 4 && s.winRate == 0.5)
    }

    @Test("Sharpe: returns 1 % and 2 % → mean 0.015 / sd 0.00707 × √100 = 21.2132")
    func sharpe() throws {
        let s = PerformanceStats(equityCurve: [100, 101, fx("103.02")], tradePnLs: [], barsPerYear: 100)
        let sharpe = try #require(s.sharpe)
        #expect(abs(sharpe - 0.015 / (0.00005).squareRoot() * 10) < 1e-9)
        #expect(abs(sharpe - 21.2132034) < 1e-6)
        #expect(s.maxDrawdown == 0 && s.winRate == nil)
        #expect(PerformanceStats(equityCurve: [100, 110, 99], tradePnLs: [], barsPerYear: 100).sharpe.map { abs($0) < 1e-12 } == true)
        #expect(PerformanceStats(equityCurve: [100, 100, 100], tradePnLs: [], barsPerYear: 100).sharpe == nil)
        #expect(PerformanceStats.barsPerYear(intervalSeconds: 60) == 525_600)
    }
}
