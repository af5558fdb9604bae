import Foundation
import QuorumFeatures
import QuorumModel
import Testing

@Suite("FeatureEngine and FeaturesCore")
struct FeatureEngineTests {
    @Test("core-v1: names, warm-up 34, vector layout")
    func spec() {
        let spec = FeatureSpec.coreV1
        #expect(spec.name == "core-v1")
        // The content hash: it changes when any entry (kind, parameter, output, column name) or the catalog revision does.
        #expect(spec.description == "core-v1@783be3b4")
        #expect(spec.names == ["ret_1", "ema_12", "ema_26", "ema_ratio_12_26", "rsi_14", "macd", "macd_signal",
                               "macd_hist", "bb_pctb_20", "bb_width_20", "atr_14", "atr_pct_14", "vol_20"])
        #expect(spec.warmUpBars(intervalSeconds: 1800) == 34)
    }

    @Test("vectors: NaN before defined, warm from bar warmUpBars, values match the indicators")
    func vectors() throws {
        let bars = randomBars(count: 200, seed: 3)
        let closes = bars.map(\.close.doubleValue)
        var engine = FeatureEngine(symbol: "TEST-USD", spec: .coreV1)
        let vectors = bars.map { engine.update($0) }
        let names = FeatureSpec.coreV1.names
        #expect(vectors.allSatisfy { $0.values.count == names.count && $0.specName == "core-v1" && $0.specVersion == FeatureSpec.coreV1.version })
        #expect(vectors.firstIndex { $0.isWarm } == FeatureSpec.coreV1.warmUpBars(intervalSeconds: 1800) - 1)
        #expect(vectors.allSatisfy { $0.isWarm == !$0.values.contains { $0.isNaN } })
        #expect(vectors[0].values.filter { !$0.isNaN }.isEmpty)
        #expect(vectors.map(\.barCloseTime) == bars.map(\.closeTime))
        #expect(vectors.map(\.close) == bars.map(\.close))

        let ema12 = Reference.ema(closes, 12), ema26 = Reference.ema(closes, 26)
        let atr = Reference.atr(bars, 14), vol = Reference.volatility(closes, 20), rsi = Reference.rsi(closes, 14)
        let column = { (name: String) in names.firstIndex(of: name)! }
        for (i, v) in vectors.enumerated() where v.isWarm {
            #expect(approxEqual(v.values[column("ema_12")], ema12[i]))
            #expect(approxEqual(v.values[column("ema_ratio_12_26")] + 1, ema12[i]! / ema26[i]!))
            #expect(approxEqual(v.values[column("rsi_14")], rsi[i]))
            #expect(approxEqual(v.values[column("atr_pct_14")], atr[i]! / closes[i]))
            #expect(approxEqual(v.values[column("vol_20")], vol[i], tolerance: 1e-8))
            let macd = v.values[column("macd")], signal = v.values[column("macd_signal")]
            #expect(abs(v.values[column("macd_hist")] - (macd - signal)) < 1e-12 * closes[i])
            #expect(approxEqual(v.values[column("ret_1")], log(closes[i] / closes[i - 1])))
        }
    }

    @Test("a redelivered or older bar produces nothing and changes nothing")
    func idempotence() throws {
        let bars = randomBars(count: 60, seed: 9)
        var core = FeaturesCore(spec: .coreV1)
        var clean = FeaturesCore(spec: .coreV1)
        for bar in bars.prefix(50) {
            let actions = try core.handle(bar)
            #expect(actions.count == 1)
            _ = try clean.handle(bar)
        }
        let again = try core.handle(bars[49])    // same bar again
        let older = try core.handle(bars[10])    // an older one
        #expect(again.isEmpty && older.isEmpty)
        for bar in bars.suffix(10) {
            let redelivered = try core.handle(bar), fresh = try clean.handle(bar)
            #expect(redelivered == fresh && fresh.count == 1)
        }
        #expect(core.engine(for: "TEST-USD")?.barCount == 60)
    }

    @Test("same bars, same vectors (bit for bit), symbols independent of interleaving")
    func determinism() throws {
        let a = randomBars(count: 120, seed: 1, symbol: "AAA-USD")
        let b = randomBars(count: 120, seed: 2, symbol: "BBB-USD", start: 5)
        let interleaved = zip(a, b).flatMap { [$0, $1] }
        var first = FeaturesCore(spec: .coreV1), second = FeaturesCore(spec: .coreV1), separate = FeaturesCore(spec: .coreV1)
        let run1 = try interleaved.flatMap { try first.handle($0) }
        let run2 = try interleaved.flatMap { try second.handle($0) }
        #expect(run1 == run2)
        #expect(run1.count == 240)
        // Feeding the symbols one after the other gives each symbol the same vectors.
        let run3 = try (a + b).flatMap { try separate.handle($0) }
        func vectors(_ actions: [FeatureAction], _ symbol: Symbol) -> [FeatureVector] {
            actions.compactMap { if case .publish(let v) = $0, v.symbol == symbol { v } else { nil } }
        }
        #expect(vectors(run1, "AAA-USD") == vectors(run3, "AAA-USD"))
        #expect(vectors(run1, "BBB-USD") == vectors(run3, "BBB-USD"))
        #expect(first.symbols == ["AAA-USD", "BBB-USD"])
    }

    @Test("the allocation-free path writes the same values as the vectors, and ignores a redelivered bar")
    func intoRow() throws {
        let bars = randomBars(count: 300, seed: 4)
        var viaHandle = FeaturesCore(spec: .richV1), viaRow = FeaturesCore(spec: .richV1)
        var row = [Double](repeating: 0, count: FeatureSpec.richV1.names.count)
        for bar in bars {
            let vectors = try viaHandle.handle(bar).map { action -> FeatureVector in
                guard case .publish(let v) = action else { fatalError() }
                return v
            }
            let warm = try row.withUnsafeMutableBufferPointer { try viaRow.update(bar, into: $0.baseAddress!) }
            #expect(warm == vectors[0].isWarm && row.map(\.bitPattern) == vectors[0].values.map(\.bitPattern))
        }
        let again = try row.withUnsafeMutableBufferPointer { try viaRow.update(bars[10], into: $0.baseAddress!) }
        #expect(again == nil)
    }
}
