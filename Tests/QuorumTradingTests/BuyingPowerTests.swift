import QuorumExecution
import QuorumModel
import QuorumRisk
import Testing

@Suite("Risk buying power (same accounting as the paper exchange)")
struct BuyingPowerTests {
    @Test("the cost function is the exchange's: a buy of 2 at open 100 with 5 bps slippage and 10 bps fee costs 200.3001")
    func sharedCost() {
        let costs = TradingCosts(slippageBps: 5, feeBps: 10)
        // fill price 100.05; notional 200.1; fee 0.2001
        #expect(costs.buyCost(quantity: 2, open: 100) == fx("200.3001"))
        let exchange = PaperExchange(config: PaperExchangeConfig(slippageBps: 5, feeBps: 10))
        #expect(exchange.fillPrice(open: 100, side: .buy) == fx("100.05"))
        #expect(exchange.fee(quantity: 2, price: fx("100.05")) == fx("0.2001"))
    }

    @Test("a buy is capped to what cash minus pending buys pays for, and denied BUYING_POWER below one lot")
    func cappedThenDenied() throws {
        // Roomy limits so only buying power binds: risk budget 1 % of 100,000 at stop 2 × ATR 0.5 = 1 → 1,000 units at 100.
        let config = RiskConfig(maxPortfolioHeat: 1, maxPositionNotional: 10_000_000, lotSize: 1)
        var core = RiskCore(config: config)
        let worstOpen = config.worstOpen(referencePrice: 100)  // 101
        let first = try #require(core.handle(.decision(RiskDecision(id: "d1", symbol: "AAA-USD", time: 1, target: .long,
                                                                  referencePrice: 100, atr: 0.5))).compactMap(\.approval).first)
        // Priced at open 101: 100,000 / (101.0505 + fee 0.1010505) = 988.6… → 988 units.
        #expect(first.quantity == 988)
        #expect(config.costs.buyCost(quantity: 988, open: worstOpen) <= 100_000)
        #expect(config.costs.buyCost(quantity: 989, open: worstOpen) > 100_000)
        #expect(first.checks.last?.code == .buyingPower)
        #expect(core.buyingPower == 100_000 - config.costs.buyCost(quantity: 988, open: worstOpen))

        // The first order is still open: what is left buys less than one lot of another symbol.
        let actions = core.handle(.decision(RiskDecision(id: "d2", symbol: "BBB-USD", time: 2, target: .long, referencePrice: 100, atr: 0.5)))
        let denial = try #require(actions.compactMap(\.denial).first)
        #expect(denial.reason == .buyingPower)
        #expect(denial.text.contains("pending buys"))

        // Once it is rejected by the exchange (closed), its reservation is released.
        _ = core.handle(.orderClosed(clientOrderID: first.clientOrderID, time: 3))
        #expect(core.buyingPower == 100_000)
        #expect(core.handle(.decision(RiskDecision(id: "d3", symbol: "BBB-USD", time: 4, target: .long, referencePrice: 100, atr: 0.5)))
            .compactMap(\.approval).first?.quantity == 988)
    }

    /// Random markets and decisions run through risk and the paper exchange as the cluster wires them: decisions at a
    /// bar's close, orders filled at the next bar's open (within the price allowance of that close), reports reaching
    /// risk late (only a symbol's own reports must arrive before its next decision, as RiskStage guarantees).
    @Test("seeded random order streams: every approval the paper exchange receives is payable (never rejected for cash)",
          arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func everyApprovalIsPayable(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let symbols: [Symbol] = ["AAA-USD", "BBB-USD", "CCC-USD", "DDD-USD", "EEE-USD", "FFF-USD"]
        let costs = TradingCosts(slippageBps: Fixed(Int.random(in: 0...20, using: &rng)), feeBps: Fixed(Int.random(in: 0...30, using: &rng)))
        let config = RiskConfig(riskPerTrade: fx("0.02"), maxPortfolioHeat: fx("0.5"),
                                maxPositionNotional: Fixed(Int.random(in: 20...90, using: &rng) * 1_000), costs: costs)
        var core = RiskCore(config: config)
        var exchange = PaperExchange(config: PaperExchangeConfig(startingCash: config.startingEquity, slippageBps: costs.slippageBps,
                                                                 feeBps: costs.feeBps))
        let interval: Nanos = 1_800_000_000_000
        var closes: [Symbol: Fixed] = Dictionary(uniqueKeysWithValues: symbols.map { ($0, Fixed(Int.random(in: 5...3_000, using: &rng))) })
        var late: [Symbol: [RiskEvent]] = [:]  // reports execution made that risk has not seen yet
        var approvedBuys = 0
        var buyingPowerDenials = 0

        for step in 1...400 {
            let open = Int64(step) * interval
            // 1. Each symbol's next bar: its open fills the waiting orders (within the allowance of the last close).
            for symbol in symbols {
                let gap = Fixed(approximating: Double.random(in: -0.0099...0.0099, using: &rng))
                let o = max(fx("0.01"), closes[symbol]! + closes[symbol]! * gap)
                let c = max(fx("0.01"), o + o * Fixed(approximating: Double.random(in: -0.03...0.03, using: &rng)))
                closes[symbol] = c
                let bar = Bar(symbol: symbol, openTime: open, intervalSeconds: interval / 1_000_000_000, open: o, high: max(o, c),
                              low: min(o, c), close: c, volume: 1)
                for case .report(let r) in exchange.handle(.bar(bar)) {
                    #expect(!(r.status == .rejected && r.reason?.contains("cash") == true),
                            "seed \(seed) step \(step): execution rejected an approved order: \(r.reason ?? "")")
                    late[symbol, default: []] += Self.riskEvents(r)
                }
            }
            // 2. Decisions at the bars' close; reports of other symbols may still be on their way.
            for symbol in symbols.shuffled(using: &rng) {
                for other in symbols where other != symbol && Bool.random(using: &rng) {
                    for e in late.removeValue(forKey: other) ?? [] { _ = core.handle(e) }
                }
                for e in late.removeValue(forKey: symbol) ?? [] { _ = core.handle(e) }
                let time = open + interval
                _ = core.handle(.mark(symbol: symbol, price: closes[symbol]!, time: time))
                guard Int.random(in: 0..<3, using: &rng) == 0 else { continue }
                let target: PositionTarget = [.long, .long, .flat, .short].randomElement(using: &rng)!
                let atr = closes[symbol]!.doubleValue * Double.random(in: 0.002...0.02, using: &rng)
                for action in core.handle(.decision(RiskDecision(id: "d\(step)-\(symbol)", symbol: symbol, time: time, target: target,
                                                                 referencePrice: closes[symbol]!, atr: atr))) {
                    if let denial = action.denial, denial.reason == .buyingPower { buyingPowerDenials += 1 }
                    guard let o = action.approval else { continue }
                    if o.side == .buy { approvedBuys += 1 }
                    let order = PaperOrder(clientOrderID: o.clientOrderID, symbol: o.symbol, side: o.side, quantity: o.quantity, time: o.time)
                    for case .report(let r) in exchange.handle(.submit(order)) {
                        #expect(r.status != .rejected, "seed \(seed) step \(step): \(r.reason ?? "")")
                        late[symbol, default: []] += Self.riskEvents(r)
                    }
                }
            }
        }
        #expect(approvedBuys > 30, "the stream must exercise buys (seed \(seed): \(approvedBuys))")
        #expect(buyingPowerDenials > 0, "the stream must run out of buying power at times (seed \(seed))")
    }

    /// What risk learns from an execution report (as RiskStage maps it).
    static func riskEvents(_ r: ExecutionReport) -> [RiskEvent] {
        var events: [RiskEvent] = []
        if let f = r.fill {
            events.append(.fill(FillReport(fillID: f.fillID, clientOrderID: f.clientOrderID, symbol: f.symbol, side: f.side,
                                           quantity: f.quantity, price: f.price, fee: f.fee, time: f.time)))
        }
        if r.status == .rejected || r.status == .cancelled { events.append(.orderClosed(clientOrderID: r.clientOrderID, time: r.time)) }
        return events
    }
}

extension RiskAction {
    var approval: OrderIntent? { if case .approve(let o) = self { o } else { nil } }
    var denial: OrderDenial? { if case .deny(let d) = self { d } else { nil } }
}
