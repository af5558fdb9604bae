import QuorumModel
import QuorumStrategy
import Testing

/// ConsensusCore's window keeps its join, prediction slack and memory bound exact while sorting out runs of predictions
/// ahead of their features only once (`Window.clean`). Checked against a plain model of the same rules: an array of
/// slots per symbol, filtered in full on every prediction, as the core did before the window remembered what it had
/// sorted out.
@Suite("ConsensusCore window")
struct ConsensusWindowTests {
    /// The rules of `ConsensusCore.handle` on a plain array (no head, nothing remembered between events).
    struct PlainJoin {
        struct Slot { var time: Nanos; var features: FeatureSnapshot?; var prediction: MLPrediction?; var decided = false }
        let slack = 64
        let maxPending: Int
        var slots: [Symbol: [Slot]] = [:]
        var watermark: [Symbol: Nanos] = [:]

        mutating func handle(_ event: ConsensusEvent, deciding core: ConsensusCore) -> [ConsensusAction] {
            let (symbol, time): (Symbol, Nanos)
            switch event {
            case .features(let f): (symbol, time) = (f.symbol, f.time)
            case .prediction(let p): (symbol, time) = (p.symbol, p.time)
            }
            if let mark = watermark[symbol], time < mark { return [] }
            var list = slots[symbol] ?? []
            defer { slots[symbol] = list }
            var index = list.firstIndex { $0.time >= time } ?? list.count
            if index == list.count || list[index].time != time { list.insert(Slot(time: time), at: index) }
            var actions: [ConsensusAction] = []
            if !list[index].decided {
                switch event {
                case .features(let f): if list[index].features == nil { list[index].features = f }
                case .prediction(let p): if list[index].prediction == nil { list[index].prediction = p }
                }
                if let f = list[index].features, let p = list[index].prediction {
                    actions = core.decide(features: f, prediction: p)
                    list[index] = Slot(time: time, decided: true)
                }
            }
            if case .prediction = event, index > slack {
                let cut = index - slack
                list = list[..<cut].filter { $0.prediction != nil && !$0.decided } + list[cut...]
                index = list.firstIndex { $0.time >= time } ?? list.count
            }
            if list.count > maxPending {
                list.removeFirst(list.count - maxPending)
                watermark[symbol] = list[0].time
            }
            return actions
        }
    }

    /// Features and predictions of two symbols over `bars` bars, in an order a live stage or a rebuild could see: long
    /// runs of one input ahead of the other, local disorder, bars without a prediction, redeliveries.
    static func stream(seed: UInt64, bars: Int) -> [ConsensusEvent] {
        var draws = SplitMix64(seed: seed)
        var byInput: [[ConsensusEvent]] = [[], []]
        for bar in 0..<bars {
            for symbol in ["BTC-USD", "ETH-USD"] as [Symbol] {
                let time = t0 + Nanos(bar) * minute
                let values = FeatureValues(["ema_12": 100 + Double(draws.int(below: 5)), "ema_26": 100 + Double(draws.int(below: 5)),
                                            "rsi_14": Double(draws.int(below: 100)), "atr_14": 2])
                byInput[0].append(.features(FeatureSnapshot(id: "f\(symbol)\(bar)", symbol: symbol, time: time, close: 100, values: values)))
                if draws.int(below: 10) > 0 {  // one bar in ten has no model prediction
                    byInput[1].append(.prediction(MLPrediction(id: "p\(symbol)\(bar)", symbol: symbol, time: time,
                                                               probUp: Double(draws.int(below: 100)) / 100, confidence: 0.8, modelID: "m")))
                }
            }
        }
        var out: [ConsensusEvent] = []
        var next = [0, 0]
        while next[0] < byInput[0].count || next[1] < byInput[1].count {
            let input = next[0] == byInput[0].count ? 1 : next[1] == byInput[1].count ? 0 : draws.int(below: 2)
            let run = draws.int(below: 4) == 0 ? 1 + draws.int(below: 400) : 1 + draws.int(below: 8)  // sometimes far ahead
            let end = min(byInput[input].count, next[input] + run)
            var chunk = Array(byInput[input][next[input]..<end])
            if chunk.count > 2, draws.int(below: 3) == 0 { chunk.swapAt(draws.int(below: chunk.count), draws.int(below: chunk.count)) }
            if let first = chunk.first, draws.int(below: 10) == 0 { chunk.append(first) }  // a redelivery
            out += chunk
            next[input] = end
        }
        return out
    }

    @Test("the same actions and remembered bars as the plain rules, over random interleavings", arguments: [
        (UInt64(1), 100_000), (UInt64(2), 100_000), (UInt64(3), 150), (UInt64(4), 90), (UInt64(5), 100_000), (UInt64(6), 300),
    ])
    func sameAsPlainRules(seed: UInt64, maxPending: Int) {
        var core = ConsensusCore(config: ConsensusConfig(maxPendingBars: maxPending))
        var plain = PlainJoin(maxPending: maxPending)
        var decisions = 0
        for (i, event) in Self.stream(seed: seed, bars: 1_500).enumerated() {
            let actual = core.handle(event)
            let expected = plain.handle(event, deciding: core)
            decisions += expected.filter { if case .decision = $0 { true } else { false } }.count
            if actual != expected {
                Issue.record("seed \(seed), event \(i) (\(event)): \(actual.count) actions, expected \(expected.count)")
                return
            }
            for symbol in ["BTC-USD", "ETH-USD"] as [Symbol] where core.rememberedBars(for: symbol) != plain.slots[symbol]?.count ?? 0 {
                Issue.record("seed \(seed), event \(i): \(core.rememberedBars(for: symbol)) bars of \(symbol) remembered, expected \(plain.slots[symbol]?.count ?? 0)")
                return
            }
        }
        #expect(decisions > 100, "the stream joined too few bars to test anything: \(decisions)")
    }
}

private extension SplitMix64 {
    mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }
}
