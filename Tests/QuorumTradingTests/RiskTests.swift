import QuorumModel
import QuorumRisk
import PropertyBased
import Testing

private func decision(_ id: String, _ symbol: Symbol = "BTC-USD", target: PositionTarget?, price: Fixed = 20_000,
                      atr: Double? = 50, time: Nanos = t0) -> RiskEvent {
    .decision(RiskDecision(id: id, symbol: symbol, time: time, target: target, referencePrice: price, atr: atr))
}

private func fill(_ id: String, order: String, symbol: Symbol = "BTC-USD", _ side: Side, _ qty: Fixed, at price: Fixed,
                  fee: Fixed = 0, time: Nanos = t0) -> RiskEvent {
    .fill(FillReport(fillID: id, clientOrderID: order, symbol: symbol, side: side, quantity: qty, price: price, fee: fee, time: time))
}

private func approved(_ actions: [RiskAction]) -> [OrderIntent] {
    actions.compactMap { if case .approve(let o) = $0 { o } else { nil } }
}

private func denied(_ actions: [RiskAction]) -> [OrderDenial] {
    actions.compactMap { if case .deny(let d) = $0 { d } else { nil } }
}

private func switches(_ actions: [RiskAction]) -> [KillSwitchStatus] {
    actions.compactMap { if case .killSwitchChanged(let s) = $0 { s } else { nil } }
}

/// Large position limit on a margin account (no buying-power cap: BuyingPowerTests covers it), so that only the
/// risk budget sizes.
private let roomy = RiskConfig(maxPositionNotional: 10_000_000, allowShort: true)
/// The same on a spot account: no short entries, buys capped by buying power.
private let roomySpot = RiskConfig(maxPositionNotional: 10_000_000)

@Suite("RiskCore sizing")
struct RiskSizingTests {
    @Test("equity 100,000 × 1 % / (2 × ATR 50) = 10 units; stop 19,900; risk 1,000")
    func atrSizing() throws {
        var core = RiskCore(config: roomy)
        let o = try #require(approved(core.handle(decision("d1", target: .long))).first)
        #expect(o.side == .buy && o.quantity == 10 && o.stopPrice == 19_900 && o.riskAmount == 1_000)
        #expect(!o.isExit && o.decisionID == "d1" && o.clientOrderID.hasPrefix("q-") && o.clientOrderID.count == 18)
        #expect(o.checks.map(\.code) == [.riskPerTrade, .maxPosition, .portfolioHeat])
    }

    @Test("no ATR: stop = 2 % of price 100 = 2 → 500 units")
    func fallbackStop() throws {
        var core = RiskCore(config: roomy)
        let o = try #require(approved(core.handle(decision("d1", target: .long, price: 100, atr: nil))).first)
        #expect(o.quantity == 500 && o.stopPrice == 98)
    }

    @Test("truncated to the lot size: 1,000 / 66 = 15.1515… → 15.1515")
    func lot() throws {
        var core = RiskCore(config: roomy)
        let o = try #require(approved(core.handle(decision("d1", target: .long, atr: 33))).first)
        #expect(o.quantity == fx("15.1515") && o.riskAmount == fx("999.999"))
    }

    @Test("a configured 5 % risk per trade is clamped to the hard 2 % maximum")
    func hardMax() throws {
        var config = roomy
        config.riskPerTrade = fx("0.05")
        var core = RiskCore(config: config)
        let o = try #require(approved(core.handle(decision("d1", target: .long))).first)
        #expect(o.quantity == 20 && o.riskAmount == 2_000)
    }

    @Test("volatility scaling: atr/price 0.25 % over a 0.1 % target scales 10 units by 0.4")
    func volatility() throws {
        var config = roomy
        config.volatilityTarget = 0.001
        var core = RiskCore(config: config)
        #expect(approved(core.handle(decision("d1", target: .long))).first?.quantity == 4)
    }

    @Test("max position caps the size: 25,000 / 20,000 = 1.25 units")
    func positionCap() throws {
        var core = RiskCore(config: RiskConfig(maxPositionNotional: 25_000))
        let o = try #require(approved(core.handle(decision("d1", target: .long))).first)
        #expect(o.quantity == fx("1.25") && o.riskAmount == 125)
    }
}

@Suite("RiskCore limits")
struct RiskLimitTests {
    @Test("portfolio heat: six 1 % entries fill the 6 % budget, the seventh is denied")
    func heat() {
        var core = RiskCore(config: roomy)
        for i in 0..<6 {
            #expect(approved(core.handle(decision("d\(i)", Symbol("S\(i)"), target: .long))).first?.riskAmount == 1_000)
        }
        #expect(core.openRisk == 6_000)
        let d = denied(core.handle(decision("d6", "S6", target: .long)))
        #expect(d.map(\.reason) == [.portfolioHeat])
        #expect(d.first?.limit == 6_000 && d.first?.observed == 6_000)
    }

    @Test("heat caps an entry to the room left: equity 80,000 → limit 4,800, used 4,000 → 8 units at stop 100")
    func heatPartial() throws {
        var config = roomy
        config.riskPerTrade = fx("0.02")
        config.dailyLossLimit = fx("0.5")
        var core = RiskCore(config: config)
        let a = try #require(approved(core.handle(decision("a", "AAA", target: .long))).first)
        #expect(a.quantity == 20 && a.riskAmount == 2_000)
        _ = core.handle(fill("fa", order: a.clientOrderID, symbol: "AAA", .buy, 20, at: 20_000))
        #expect(approved(core.handle(decision("b", "BBB", target: .long))).first?.riskAmount == 2_000)
        _ = core.handle(.mark(symbol: "AAA", price: 19_000, time: t0))
        #expect(core.equity == 80_000 && core.openRisk == 4_000)
        let c = try #require(approved(core.handle(decision("c", "CCC", target: .long))).first)
        #expect(c.quantity == 8 && c.riskAmount == 800 && core.openRisk == 4_800)
        #expect(c.checks.last?.detail == "size capped by portfolio heat")
        #expect(denied(core.handle(decision("d", "DDD", target: .long))).map(\.reason) == [.portfolioHeat])
    }

    @Test("max position below one lot denies with MAX_POSITION")
    func maxPosition() {
        var core = RiskCore(config: RiskConfig(maxPositionNotional: 1))
        let d = denied(core.handle(decision("d1", target: .long)))
        #expect(d.map(\.reason) == [.maxPosition])
        #expect(d.first?.limit == 1)
    }

    @Test("a stop so wide that the budget buys less than a lot denies with BELOW_LOT_SIZE")
    func belowLot() {
        var core = RiskCore(config: RiskConfig(maxPositionNotional: 10_000_000, lotSize: 1))
        #expect(denied(core.handle(decision("d1", target: .long, atr: 1_000))).map(\.reason) == [.belowLotSize])
    }

    @Test("short entries are denied in spot mode and sized in margin mode")
    func shorts() throws {
        var spot = RiskCore(config: roomySpot)
        #expect(denied(spot.handle(decision("d1", target: .short))).map(\.reason) == [.shortingDisabled])
        var margin = RiskCore(config: roomy)
        let o = try #require(approved(margin.handle(decision("d1", target: .short))).first)
        #expect(o.side == .sell && o.quantity == 10 && o.stopPrice == 20_100)
    }

    @Test("invalid reference price denies with INVALID_INPUT")
    func invalid() {
        var core = RiskCore(config: roomy)
        #expect(denied(core.handle(decision("d1", target: .long, price: 0))).map(\.reason) == [.invalidInput])
    }

    @Test("hold decisions produce nothing; a decision already matching the exposure produces nothing")
    func holds() {
        var core = RiskCore(config: roomy)
        #expect(core.handle(decision("h", target: nil)).isEmpty)
        #expect(core.handle(decision("f", target: .flat)).isEmpty)
        #expect(approved(core.handle(decision("d1", target: .long))).count == 1)
        #expect(core.handle(decision("d2", target: .long)).isEmpty)
    }

    @Test("redelivered decision and fill are applied once")
    func idempotence() throws {
        var core = RiskCore(config: roomy)
        let o = try #require(approved(core.handle(decision("d1", target: .long))).first)
        #expect(core.handle(decision("d1", target: .long)).isEmpty)
        _ = core.handle(fill("f1", order: o.clientOrderID, .buy, 10, at: 20_000))
        _ = core.handle(fill("f1", order: o.clientOrderID, .buy, 10, at: 20_000))
        #expect(core.positions["BTC-USD"] == 10 && core.cash == -100_000 && core.pendingQuantity("BTC-USD") == 0)
        #expect(core.equity == 100_000)
    }

    @Test("manual kill switch: entries denied, exits still approved, off again allows entries")
    func killSwitchExits() throws {
        var core = RiskCore(config: roomy)
        let entry = try #require(approved(core.handle(decision("d1", target: .long))).first)
        _ = core.handle(fill("f1", order: entry.clientOrderID, .buy, 10, at: 20_000))
        #expect(switches(core.handle(.killSwitch(on: true, reason: "operator", time: t0))).first?.active == true)
        #expect(denied(core.handle(decision("d2", "ETH-USD", target: .long, price: 1_000, atr: 5))).map(\.reason) == [.killSwitch])
        let exit = try #require(approved(core.handle(decision("d3", target: .flat))).first)
        #expect(exit.isExit && exit.side == .sell && exit.quantity == 10)
        #expect(exit.checks.map(\.code) == [.exitAllowed])
        _ = core.handle(.killSwitch(on: false, reason: "resolved", time: t0))
        #expect(approved(core.handle(decision("d4", "ETH-USD", target: .long, price: 1_000, atr: 5))).count == 1)
    }

    @Test("a short target while long in spot mode: the exit is approved, the short entry denied")
    func reverseInSpot() throws {
        var core = RiskCore(config: roomySpot)
        let entry = try #require(approved(core.handle(decision("d1", target: .long))).first)
        _ = core.handle(fill("f1", order: entry.clientOrderID, .buy, 10, at: 20_000))
        let out = core.handle(decision("d2", target: .short))
        #expect(approved(out).map(\.isExit) == [true])
        #expect(denied(out).map(\.reason) == [.shortingDisabled])
    }

    @Test("daily loss of 3 % trips the switch; entries denied; the next UTC day resets it")
    func dailyLoss() throws {
        var core = RiskCore(config: roomy)
        let entry = try #require(approved(core.handle(decision("d1", target: .long, time: t0))).first)
        _ = core.handle(fill("f1", order: entry.clientOrderID, .buy, 10, at: 20_000, time: t0 + minute))
        #expect(switches(core.handle(.mark(symbol: "BTC-USD", price: 19_701, time: t0 + 2 * minute))).isEmpty) // −2.99 %
        let tripped = switches(core.handle(.mark(symbol: "BTC-USD", price: 19_700, time: t0 + 3 * minute)))     // −3 %
        #expect(tripped.map(\.active) == [true] && tripped.first?.dailyLoss == true)
        let d = denied(core.handle(decision("d2", "ETH-USD", target: .long, price: 1_000, atr: 5, time: t0 + 4 * minute)))
        #expect(d.map(\.reason) == [.dailyLossLimit] && d.first?.limit == 97_000 && d.first?.observed == 97_000)
        // Exits still pass.
        #expect(approved(core.handle(decision("d3", target: .flat, time: t0 + 5 * minute))).first?.isExit == true)
        // Next UTC day: reset, start-of-day equity is the current equity.
        let reset = switches(core.handle(.mark(symbol: "BTC-USD", price: 19_700, time: t0 + day)))
        #expect(reset.map(\.active) == [false])
        #expect(core.startOfDayEquity == 97_000 && !core.killSwitchActive)
        #expect(approved(core.handle(decision("d4", "ETH-USD", target: .long, price: 1_000, atr: 5, time: t0 + day + minute))).count == 1)
    }

    @Test("UTC day boundaries, including before 1970")
    func utcDay() {
        #expect(RiskCore.utcDay(t0) == 19_723)
        #expect(RiskCore.utcDay(t0 + day - 1) == 19_723)
        #expect(RiskCore.utcDay(-1) == -1)
    }
}

@Suite("RiskCore properties")
struct RiskPropertyTests {
    /// Independent bookkeeping of what risk has approved and what was filled.
    struct Reference {
        var cash: Fixed
        var positions: [Symbol: Fixed] = [:]
        var marks: [Symbol: Fixed] = [:]
        var pending: [String: (Symbol, Fixed)] = [:]
        var stops: [Symbol: Fixed] = [:]

        func exposure(_ s: Symbol) -> Fixed {
            (positions[s] ?? 0) + pending.values.filter { $0.0 == s }.reduce(Fixed.zero) { $0 + $1.1 }
        }
        var equity: Fixed { positions.reduce(cash) { $0 + $1.value * (marks[$1.key] ?? 0) } }
        var heat: Fixed {
            let symbols = Set(positions.keys).union(pending.values.map(\.0))
            return symbols.reduce(Fixed.zero) { $0 + exposure($1).magnitude * (stops[$1] ?? 0) }
        }
    }

    @Test("seeded random decision/fill/mark streams: no approval exceeds 6 % heat, 2 % per trade or max position", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func limitsHold(seed: UInt64) throws {
        let approvals = Self.randomStream(seed: seed, steps: 3_000)
        #expect(approvals > 20, "the stream must exercise approvals (seed \(seed): \(approvals))")
    }

    /// One random stream of decisions, fills, closes, marks and kill-switch commands against a `RiskCore`, checked at
    /// every step against independent bookkeeping (`Reference`):
    /// - an entry's risk is at most 2 % of equity and exactly its quantity × its stop distance; its quantity is a whole
    ///   number of lots; after it, heat is at most 6 % of equity and the symbol's notional at most its maximum;
    /// - while the kill switch is on (manual, or daily loss on the same UTC day) nothing but exits is approved;
    /// - an exit closes exactly the exposure it faces and never adds to it;
    /// - equity and each symbol's exposure equal the reference's after every event.
    /// Returns the number of entries approved.
    @discardableResult
    static func randomStream(seed: UInt64, steps: Int) -> Int {
        var rng = SplitMix64(seed: seed)
        let symbols: [Symbol] = ["BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD", "XRP-USD", "DOT-USD", "LTC-USD", "BNB-USD"]
        let maxNotional: Fixed = 30_000
        let config = RiskConfig(riskPerTrade: Fixed(approximating: Double.random(in: 0.005...0.05, using: &rng)),
                                maxPositionNotional: maxNotional, allowShort: Bool.random(using: &rng))
        var core = RiskCore(config: config)
        var ref = Reference(cash: config.startingEquity)
        var prices: [Symbol: Fixed] = Dictionary(uniqueKeysWithValues: symbols.map { ($0, Fixed(Int.random(in: 10...5_000, using: &rng))) })
        var working: [OrderIntent] = []
        var time = t0
        var approvals = 0

        for step in 0..<steps {
            time += minute
            let symbol = symbols.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3:
                let price = prices[symbol]!
                let targets: [PositionTarget?] = [.long, .short, .flat, nil]
                let atr: Double? = Bool.random(using: &rng) ? price.doubleValue * Double.random(in: 0.001...0.05, using: &rng) : nil
                let exposureBefore = core.exposure(symbol)
                // The manual switch holds until turned off; the daily-loss one until the next UTC day (the decision's own
                // day counts: risk rolls the day before it decides).
                let killed = core.manualKill || (core.dailyLossKill && core.currentDay == RiskCore.utcDay(time))
                let actions = core.handle(.decision(RiskDecision(id: "d\(step)", symbol: symbol, time: time,
                                                                 target: targets.randomElement(using: &rng)!, referencePrice: price, atr: atr)))
                for o in approved(actions) {
                    if killed {
                        #expect(o.isExit, "seed \(seed) step \(step): an entry approved while the kill switch is on")
                    }
                    if o.isExit {
                        let signed = o.side == .buy ? o.quantity : -o.quantity
                        #expect(o.quantity == exposureBefore.magnitude && (exposureBefore + signed).isZero,
                                "seed \(seed) step \(step): the exit closes exactly the exposure \(exposureBefore)")
                    } else {
                        #expect(o.quantity > .zero && o.quantity.truncated(toMultipleOf: config.lotSize) == o.quantity,
                                "seed \(seed) step \(step): whole lots")
                    }
                    let equityBefore = ref.equity
                    let signed = o.side == .buy ? o.quantity : -o.quantity
                    if !o.isExit {
                        approvals += 1
                        ref.stops[o.symbol] = (o.referencePrice - o.stopPrice).magnitude
                        #expect(o.riskAmount <= equityBefore * fx("0.02"), "seed \(seed) step \(step): risk per trade")
                        #expect(o.riskAmount == o.quantity * ref.stops[o.symbol]!)
                    }
                    ref.pending[o.clientOrderID] = (o.symbol, signed)
                    if !o.isExit {
                        #expect(ref.heat <= equityBefore * fx("0.06"), "seed \(seed) step \(step): heat \(ref.heat) equity \(equityBefore)")
                        #expect(ref.exposure(o.symbol).magnitude * o.referencePrice <= maxNotional, "seed \(seed) step \(step): max position")
                    }
                    working.append(o)
                }
            case 4...6:
                guard !working.isEmpty else { continue }
                let o = working.removeFirst()
                let price = prices[o.symbol]!
                if Int.random(in: 0..<8, using: &rng) == 0 {
                    ref.pending[o.clientOrderID] = nil
                    _ = core.handle(.orderClosed(clientOrderID: o.clientOrderID, time: time))
                } else {
                    let fee = o.quantity * price * fx("0.001")
                    let signed = o.side == .buy ? o.quantity : -o.quantity
                    ref.pending[o.clientOrderID] = nil
                    ref.positions[o.symbol, default: 0] += signed
                    ref.cash -= signed * price + fee
                    if ref.marks[o.symbol] == nil { ref.marks[o.symbol] = price }
                    _ = core.handle(.fill(FillReport(fillID: "f\(step)", clientOrderID: o.clientOrderID, symbol: o.symbol, side: o.side,
                                                     quantity: o.quantity, price: price, fee: fee, time: time)))
                }
            case 7...8:
                let move = Fixed(approximating: Double.random(in: -0.04...0.04, using: &rng))
                let next = max(1, prices[symbol]! + prices[symbol]! * move)
                prices[symbol] = next
                ref.marks[symbol] = next
                _ = core.handle(.mark(symbol: symbol, price: next, time: time))
            default:
                _ = core.handle(.killSwitch(on: Int.random(in: 0..<4, using: &rng) == 0, reason: "random", time: time))
            }
            #expect(core.equity == ref.equity, "seed \(seed) step \(step): equity from fills")
            for s in symbols { #expect(core.exposure(s) == ref.exposure(s)) }
        }
        return approvals
    }

    @Test("1,000,000 random risk events (5,000 streams of 200, random configs): the limits, the kill switch and exact sizes hold")
    func invariantsOverAMillionEvents() async {
        await propertyCheck(count: 5_000, input: Gen.uint64()) { seed in
            Self.randomStream(seed: seed, steps: 200)
        }
    }
}
