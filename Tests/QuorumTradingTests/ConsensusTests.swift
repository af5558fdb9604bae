import QuorumModel
import QuorumStrategy
import Testing

private func features(_ id: String, _ time: Nanos, ema12: Double? = 101, ema26: Double? = 100, rsi: Double? = 50,
                      atr: Double? = 2, symbol: Symbol = "BTC-USD", close: Fixed = 100) -> FeatureSnapshot {
    var values: [String: Double] = [:]
    values["ema_12"] = ema12
    values["ema_26"] = ema26
    values["rsi_14"] = rsi
    values["atr_14"] = atr
    return FeatureSnapshot(id: id, symbol: symbol, time: time, close: close, values: FeatureValues(values))
}

private func prediction(_ id: String, _ time: Nanos, probUp: Double, confidence: Double, symbol: Symbol = "BTC-USD") -> MLPrediction {
    MLPrediction(id: id, symbol: symbol, time: time, probUp: probUp, confidence: confidence, modelID: "m1")
}

private func decisions(_ actions: [ConsensusAction]) -> [Decision] {
    actions.compactMap { if case .decision(let d) = $0 { d } else { nil } }
}

private func signals(_ actions: [ConsensusAction]) -> [SignalOut] {
    actions.compactMap { if case .signal(let s) = $0 { s } else { nil } }
}

@Suite("Rules")
struct RuleTests {
    @Test("EMA crossover: direction from the EMAs, confidence = gap / 1 % capped at 1")
    func emaCross() throws {
        let rule = EMACrossoverRule()
        let up = try #require(rule.evaluate(features("a", t0, ema12: 100.5, ema26: 100)))
        #expect(up.direction == .long)
        #expect(abs(up.confidence - 0.5) < 1e-12)
        let down = try #require(rule.evaluate(features("b", t0, ema12: 97, ema26: 100)))
        #expect(down.direction == .short && down.confidence == 1)
        #expect(rule.evaluate(features("c", t0, ema12: nil)) == nil)
    }

    @Test("RSI mean reversion: < 30 long, > 70 short, in between abstains")
    func rsi() throws {
        let rule = RSIMeanReversionRule()
        let oversold = try #require(rule.evaluate(features("a", t0, rsi: 15)))
        #expect(oversold.direction == .long && abs(oversold.confidence - 0.5) < 1e-12)
        let overbought = try #require(rule.evaluate(features("b", t0, rsi: 85)))
        #expect(overbought.direction == .short && abs(overbought.confidence - 0.5) < 1e-12)
        let neutral = try #require(rule.evaluate(features("c", t0, rsi: 50)))
        #expect(neutral.direction == .flat && neutral.confidence == 0)
    }
}

@Suite("ConsensusCore")
struct ConsensusTests {
    @Test("joins features and prediction of the same bar; whichever arrives second triggers; order does not matter")
    func join() throws {
        var a = ConsensusCore()
        #expect(a.handle(.features(features("f1", t0))).isEmpty)
        #expect(a.handle(.prediction(prediction("p0", t0 + minute, probUp: 0.7, confidence: 0.8))).isEmpty) // other bar
        let out = a.handle(.prediction(prediction("p1", t0, probUp: 0.7, confidence: 0.8)))
        #expect(signals(out).map(\.source) == ["ml", "ema_cross", "rsi_revert"])
        let d = try #require(decisions(out).first)
        // ml long 0.8, ema long 1.0 (1 % gap), rsi abstains: score (0.8 + 1.0) / 2 = 0.9.
        #expect(d.action == .buy && d.targetDirection == .long)
        #expect(abs(d.confidence - 0.9) < 1e-12)
        #expect(d.referencePrice == 100 && d.atr == 2 && d.time == t0)

        var b = ConsensusCore()
        #expect(b.handle(.prediction(prediction("p1", t0, probUp: 0.7, confidence: 0.8))).isEmpty)
        let reversed = b.handle(.features(features("f1", t0)))
        #expect(reversed == out, "same inputs in the other order must give byte-identical actions")
    }

    @Test("per-source weights and the threshold decide between act and hold")
    func threshold() throws {
        // ml long conf 0.5 (weight 3) vs ema short conf 0.5 (weight 1): score (1.5 − 0.5) / 4 = 0.25.
        let f = features("f", t0, ema12: 99.5, ema26: 100)
        let p = prediction("p", t0, probUp: 0.6, confidence: 0.5)
        let strict = ConsensusCore(config: ConsensusConfig(weights: ["ml": 3], threshold: 0.3))
        let held = try #require(decisions(strict.decide(features: f, prediction: p)).first)
        #expect(held.action == .hold)
        #expect(held.reasons.last?.contains("below threshold") == true)
        let loose = ConsensusCore(config: ConsensusConfig(weights: ["ml": 3], threshold: 0.2))
        let acted = try #require(decisions(loose.decide(features: f, prediction: p)).first)
        #expect(acted.action == .buy && abs(acted.confidence - 0.25) < 1e-12)
        // A weak model alone (rules abstain: no EMAs, neutral RSI) stays below the threshold.
        let weak = try #require(decisions(ConsensusCore().decide(
            features: features("g", t0, ema12: nil, ema26: nil), prediction: prediction("q", t0, probUp: 0.9, confidence: 0.2))).first)
        #expect(weak.action == .hold && abs(weak.confidence - 0.2) < 1e-12)
    }

    @Test("ML and a rule confidently disagreeing is a conflict → hold, whatever the weights")
    func conflict() throws {
        let core = ConsensusCore(config: ConsensusConfig(weights: ["ml": 10], threshold: 0.3, conflictConfidence: 0.6))
        let d = try #require(decisions(core.decide(features: features("f", t0, ema12: 97, ema26: 100),
                                                   prediction: prediction("p", t0, probUp: 0.8, confidence: 0.9))).first)
        #expect(d.action == .hold)
        #expect(d.reasons.contains { $0.hasPrefix("conflict: ml long vs ema_cross short") })
        // Same disagreement but the model is not confident: no conflict, the vote decides (short wins).
        let calm = try #require(decisions(core.decide(features: features("f", t0, ema12: 97, ema26: 100),
                                                      prediction: prediction("p", t0, probUp: 0.8, confidence: 0.5))).first)
        #expect(!calm.reasons.contains { $0.hasPrefix("conflict") })
    }

    @Test("long-only turns a short vote into an exit (target flat); long/short targets short")
    func longOnly() throws {
        let f = features("f", t0, ema12: 97, ema26: 100, rsi: 85)
        let p = prediction("p", t0, probUp: 0.2, confidence: 0.9)
        let spot = try #require(decisions(ConsensusCore(config: ConsensusConfig(longOnly: true)).decide(features: f, prediction: p)).first)
        #expect(spot.action == .sell && spot.targetDirection == .flat)
        let margin = try #require(decisions(ConsensusCore(config: ConsensusConfig(longOnly: false)).decide(features: f, prediction: p)).first)
        #expect(margin.action == .sell && margin.targetDirection == .short)
        #expect(spot.id == margin.id, "the id depends on inputs only")
    }

    @Test("redelivered messages produce no second decision")
    func idempotent() {
        var core = ConsensusCore()
        #expect(core.handle(.features(features("f1", t0))).isEmpty)
        #expect(core.handle(.features(features("f1", t0))).isEmpty) // redelivered before the join
        #expect(decisions(core.handle(.prediction(prediction("p1", t0, probUp: 0.7, confidence: 0.8)))).count == 1)
        #expect(core.handle(.prediction(prediction("p1", t0, probUp: 0.7, confidence: 0.8))).isEmpty)
        #expect(core.handle(.features(features("f1", t0))).isEmpty)
        // A second model's prediction for a decided bar does not decide it again either.
        #expect(core.handle(.prediction(prediction("p2", t0, probUp: 0.1, confidence: 0.9))).isEmpty)
    }

    @Test("pending joins are bounded per symbol; messages older than the window are ignored")
    func bounded() {
        var core = ConsensusCore(config: ConsensusConfig(maxPendingBars: 8))
        for i in 0..<100 {
            #expect(core.handle(.features(features("f\(i)", t0 + Nanos(i) * minute))).isEmpty)
        }
        #expect(core.rememberedBars(for: "BTC-USD") == 8)
        #expect(core.handle(.prediction(prediction("late", t0, probUp: 0.9, confidence: 0.9))).isEmpty)
        #expect(core.rememberedBars(for: "BTC-USD") == 8)
        #expect(decisions(core.handle(.prediction(prediction("p99", t0 + 99 * minute, probUp: 0.9, confidence: 0.9)))).count == 1)
        #expect(core.rememberedBars(for: "ETH-USD") == 0)
    }

    @Test("replay determinism: a seeded random stream with redeliveries gives identical outputs and one decision per joined bar")
    func replay() {
        var rng = SplitMix64(seed: 42)
        var events: [ConsensusEvent] = []
        let symbols: [Symbol] = ["BTC-USD", "ETH-USD"]
        for bar in 0..<200 {
            for symbol in symbols {
                let time = t0 + Nanos(bar) * minute
                let f = ConsensusEvent.features(features("f-\(symbol)-\(bar)", time, ema12: Double.random(in: 95...105, using: &rng),
                                                         rsi: Double.random(in: 0...100, using: &rng), symbol: symbol))
                let p = ConsensusEvent.prediction(prediction("p-\(symbol)-\(bar)", time, probUp: Double.random(in: 0...1, using: &rng),
                                                             confidence: Double.random(in: 0...1, using: &rng), symbol: symbol))
                var pair = Bool.random(using: &rng) ? [f, p] : [p, f]
                if Bool.random(using: &rng) { pair.append(pair[0]) } // redelivery
                events += pair
            }
        }
        func run() -> [ConsensusAction] {
            var core = ConsensusCore()
            return events.flatMap { core.handle($0) }
        }
        let first = run()
        #expect(first == run())
        let ds = decisions(first)
        #expect(ds.count == 400)
        #expect(Set(ds.map(\.id)).count == 400)
    }
}

@Suite("ConsensusCore, rules only")
struct RulesOnlyConsensusTests {
    @Test("features alone decide (no model): the rules' vote, one decision per snapshot; predictions are ignored")
    func rulesOnly() throws {
        var core = ConsensusCore(config: ConsensusConfig(threshold: 0.3, rulesOnly: true))
        let actions = core.handle(.features(features("f1", t0, ema12: 102, ema26: 100, rsi: 50)))
        let decision = try #require(decisions(actions).first)
        #expect(decision.action == .buy && decision.targetDirection == .long)
        #expect(signals(actions).map(\.source) == ["ema_cross", "rsi_revert"], "no ml signal")
        #expect(core.handle(.prediction(prediction("p1", t0, probUp: 0.1, confidence: 1))).isEmpty)
        // The same snapshot again gives the same decision id (risk drops the repeat).
        let again = try #require(decisions(core.handle(.features(features("f1", t0, ema12: 102, ema26: 100, rsi: 50)))).first)
        #expect(again.id == decision.id)
        // A joined decision of the same bar has another id: the two modes never share ids.
        var joined = ConsensusCore(config: ConsensusConfig(threshold: 0.3))
        _ = joined.handle(.features(features("f1", t0, ema12: 102, ema26: 100, rsi: 50)))
        let withModel = try #require(decisions(joined.handle(.prediction(prediction("p1", t0, probUp: 0.9, confidence: 1)))).first)
        #expect(withModel.id != decision.id)
    }
}

struct DecisionIDTests {
    @Test("a decision's id is \"d-\" + FNV-1a of \"symbol|time|features id|prediction id\", the times written as \"\\(n)\" writes them")
    func idIsTheHashOfItsText() throws {
        let core = ConsensusCore(config: ConsensusConfig(threshold: 0.3, rulesOnly: true))
        let times: [Nanos] = [0, 7, 9, 10, 42, 99, 100, 101, 999, 1_000, 123_456_789, 1_514_764_800_000_000_000,
                              1_577_836_800_000_000_000, 999_999_999_999_999_999, .max, -1, -10, -1_514_764_800_000_000_000, .min]
        for time in times {
            // Both forms of a snapshot's id: the text, and the parts around the number a backtest keeps instead.
            let text = FeatureSnapshot(id: "fv-ETH-USD-\(time)-core-v1-0a1b2c3d", symbol: "ETH-USD", time: time, close: 100,
                                       values: ["ema_12": 102, "ema_26": 100])
            let parts = FeatureSnapshot(idPrefix: "fv-ETH-USD-", idNumber: time, idSuffix: "-core-v1-0a1b2c3d", symbol: "ETH-USD",
                                        time: time, close: 100, values: ["ema_12": 102, "ema_26": 100])
            var expected = FNV1a64()
            expected.combine(Array("ETH-USD|\(time)|fv-ETH-USD-\(time)-core-v1-0a1b2c3d|rules-only".utf8))
            #expect(core.decision(features: text, prediction: nil).id == "d-" + expected.hex, "time \(time)")
            #expect(core.decision(features: parts, prediction: nil).id == "d-" + expected.hex, "time \(time)")
        }
    }
}
