import Foundation
import QuorumFeatures
import QuorumModel
import Testing

/// SplitMix64: a tiny seeded generator so that "random" tests are reproducible.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// A random walk of bars (prices in 10⁻⁸ units, so they are exact `Fixed` values), 30-minute interval.
func randomBars(count: Int, seed: UInt64, symbol: Symbol = "TEST-USD", start: Double = 100) -> [Bar] {
    var rng = SplitMix64(state: seed)
    var close = start
    var bars: [Bar] = []
    for i in 0..<count {
        let open = close
        close = max(0.01, close * (1 + (rng.unit() - 0.5) * 0.04))
        let high = max(open, close) * (1 + rng.unit() * 0.01)
        let low = min(open, close) * (1 - rng.unit() * 0.01)
        bars.append(Bar(symbol: symbol, openTime: Nanos(i) * 1_800_000_000_000, intervalSeconds: 1800,
                        open: Fixed(approximating: open), high: Fixed(approximating: high),
                        low: Fixed(approximating: low), close: Fixed(approximating: close),
                        volume: Fixed(approximating: rng.unit() * 1000)))
    }
    return bars
}

/// |a − b| within 1e-9 relative (with a tiny absolute floor for values near zero).
func approxEqual(_ a: Double?, _ b: Double?, tolerance: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (a?, b?): return abs(a - b) <= tolerance * max(abs(a), abs(b)) + 1e-12
    default: return false
    }
}

// MARK: Independent O(n) reference computations over whole arrays (index i = bar i + 1).

enum Reference {
    static func ema(_ x: [Double], _ n: Int) -> [Double?] {
        var out = [Double?](repeating: nil, count: x.count)
        guard x.count >= n else { return out }
        var value = x[0..<n].reduce(0, +) / Double(n)
        out[n - 1] = value
        let k = 2 / Double(n + 1)
        for i in n..<x.count { value = k * x[i] + (1 - k) * value; out[i] = value }
        return out
    }

    static func rsi(_ x: [Double], _ n: Int) -> [Double?] {
        var out = [Double?](repeating: nil, count: x.count)
        guard x.count > n else { return out }
        let changes = (1..<x.count).map { x[$0] - x[$0 - 1] }
        var gain = changes[0..<n].map { max($0, 0) }.reduce(0, +) / Double(n)
        var loss = changes[0..<n].map { max(-$0, 0) }.reduce(0, +) / Double(n)
        func value() -> Double { gain + loss < 1e-8 ? 0 : 100 - 100 / (1 + gain / loss) }
        out[n] = loss == 0 ? (gain < 1e-8 ? 0 : 100) : value()
        for i in n..<changes.count {
            gain += (max(changes[i], 0) - gain) / Double(n)
            loss += (max(-changes[i], 0) - loss) / Double(n)
            out[i + 1] = loss == 0 ? (gain < 1e-8 ? 0 : 100) : value()
        }
        return out
    }

    /// TA-Lib MACD: both EMAs start at index slow − 1; the fast one seeded with the mean of the `fast`
    /// values ending there.
    static func macd(_ x: [Double], fast: Int, slow: Int, signal: Int) -> [(Double, Double, Double)?] {
        var out = [(Double, Double, Double)?](repeating: nil, count: x.count)
        let start = slow - 1
        guard x.count > start else { return out }
        var s = x[0...start].reduce(0, +) / Double(slow)
        var f = x[(start - fast + 1)...start].reduce(0, +) / Double(fast)
        var lines = [f - s]
        for i in (start + 1)..<max(start + 1, x.count) {
            s = s + 2 / Double(slow + 1) * (x[i] - s)
            f = f + 2 / Double(fast + 1) * (x[i] - f)
            lines.append(f - s)
        }
        let signals = ema(lines, signal)
        for (j, sig) in signals.enumerated() {
            if let sig { out[start + j] = (lines[j], sig, lines[j] - sig) }
        }
        return out
    }

    static func meanStd(_ window: ArraySlice<Double>, sample: Bool) -> (mean: Double, std: Double) {
        let mean = window.reduce(0, +) / Double(window.count)
        let ss = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, (ss / Double(window.count - (sample ? 1 : 0))).squareRoot())
    }

    static func bollinger(_ x: [Double], _ n: Int, _ k: Double) -> [(pctB: Double, width: Double, mid: Double)?] {
        x.indices.map { i in
            guard i >= n - 1 else { return nil }
            let (mean, std) = meanStd(x[(i - n + 1)...i], sample: false)
            let upper = mean + k * std, lower = mean - k * std
            return (upper > lower ? (x[i] - lower) / (upper - lower) : 0.5, (upper - lower) / mean, mean)
        }
    }

    static func atr(_ bars: [Bar], _ n: Int) -> [Double?] {
        var out = [Double?](repeating: nil, count: bars.count)
        let tr: [Double] = bars.indices.dropFirst().map { i in
            let h = bars[i].high.doubleValue, l = bars[i].low.doubleValue, pc = bars[i - 1].close.doubleValue
            return [h - l, abs(h - pc), abs(l - pc)].max()!
        }
        guard tr.count >= n else { return out }
        var value = tr[0..<n].reduce(0, +) / Double(n)
        out[n] = value
        for j in n..<tr.count { value = value + (tr[j] - value) / Double(n); out[j + 1] = value }
        return out
    }

    static func volatility(_ x: [Double], _ n: Int) -> [Double?] {
        let returns = [Double.nan] + (1..<x.count).map { log(x[$0] / x[$0 - 1]) }
        return x.indices.map { i in i >= n ? meanStd(returns[(i - n + 1)...i], sample: true).std : nil }
    }
}

@Suite("Indicators")
struct IndicatorTests {
    static let bars = randomBars(count: 3000, seed: 42)
    static let closes = bars.map(\.close.doubleValue)

    @Test("EMA(n) equals the O(n) recomputation", arguments: [1, 3, 12, 26])
    func ema(period: Int) {
        var ema = EMA(period: period)
        let reference = Reference.ema(Self.closes, period)
        for (i, c) in Self.closes.enumerated() {
            let v = ema.update(c)
            #expect(approxEqual(v, reference[i]), "bar \(i + 1)")
        }
    }

    @Test("RSI(n) equals the O(n) recomputation", arguments: [2, 14])
    func rsi(period: Int) {
        var rsi = RSI(period: period)
        let reference = Reference.rsi(Self.closes, period)
        for (i, c) in Self.closes.enumerated() {
            let v = rsi.update(close: c)
            #expect(approxEqual(v, reference[i]), "bar \(i + 1)")
        }
    }

    @Test("MACD(12, 26, 9) equals the O(n) recomputation")
    func macd() {
        var macd = MACD()
        let reference = Reference.macd(Self.closes, fast: 12, slow: 26, signal: 9)
        for (i, c) in Self.closes.enumerated() {
            let v = macd.update(close: c)
            #expect((v == nil) == (reference[i] == nil), "bar \(i + 1)")
            if let v, let r = reference[i] {
                // Tolerance relative to the price level: MACD crosses zero.
                #expect(abs(v.line - r.0) < 1e-9 * Self.closes[i] && abs(v.signal - r.1) < 1e-9 * Self.closes[i]
                        && abs(v.histogram - r.2) < 1e-9 * Self.closes[i], "bar \(i + 1)")
            }
        }
    }

    @Test("Bollinger(20, 2) %b, bandwidth and middle equal the O(n) recomputation")
    func bollinger() {
        var bands = Bollinger(period: 20, width: 2)
        let reference = Reference.bollinger(Self.closes, 20, 2)
        for (i, c) in Self.closes.enumerated() {
            let v = bands.update(close: c)
            #expect(approxEqual(v?.middle, reference[i]?.mid) && approxEqual(v?.bandwidth, reference[i]?.width), "bar \(i + 1)")
            // %b is a ratio of two differences; compare on the band-width scale.
            if let v, let r = reference[i] { #expect(abs(v.percentB - r.pctB) < 1e-7, "bar \(i + 1)") }
        }
    }

    @Test("ATR(14) equals the O(n) recomputation", arguments: [1, 14])
    func atr(period: Int) {
        var atr = ATR(period: period)
        let reference = Reference.atr(Self.bars, period)
        for (i, b) in Self.bars.enumerated() {
            let v = atr.update(high: b.high.doubleValue, low: b.low.doubleValue, close: b.close.doubleValue)
            #expect(approxEqual(v, reference[i]), "bar \(i + 1)")
        }
    }

    @Test("rolling volatility equals the O(n) sample std of log returns", arguments: [2, 20])
    func volatility(period: Int) {
        var vol = RollingVolatility(period: period)
        let reference = Reference.volatility(Self.closes, period)
        for (i, c) in Self.closes.enumerated() {
            let v = vol.update(close: c)
            #expect(approxEqual(v, reference[i], tolerance: 1e-8), "bar \(i + 1)")
        }
    }

    @Test("hand-checked values")
    func handChecked() {
        var ema = EMA(period: 3)
        let emaValues = [1.0, 2, 3, 4].map { ema.update($0) }
        #expect(emaValues == [nil, nil, 2, 3])   // seed (1+2+3)/3, then k = ½

        var up = RSI(period: 3)
        let upValues = (1...10).map { up.update(close: Double($0)) }
        #expect(upValues.last == 100)
        var down = RSI(period: 3)
        let downValues = (1...10).map { down.update(close: Double(20 - $0)) }
        #expect(downValues.last == 0)
        var flat = RSI(period: 3)
        let flatValues = (1...10).map { _ in flat.update(close: 5) }
        #expect(flatValues.last == 0)   // TA-Lib: 0 when no movement
        var mixed = RSI(period: 2)
        // changes +2, −1: gain 1, loss 0.5 → 66.67; then +1: gain (1·1+1)/2 = 1, loss 0.25 → 80
        let mixedValues = [10.0, 12, 11, 12].map { mixed.update(close: $0) }
        #expect(approxEqual(mixedValues[2], 200.0 / 3) && approxEqual(mixedValues[3], 80))

        var atr = ATR(period: 2)
        // TR of bar 2 = max(12−10, |10−12|, |10−10|) = 2; bar 3: max(1, |11−13|, |11−12|) = 2; bar 4: 1.
        let atrValues = [(11.0, 9.0, 10.0), (12, 10, 11), (13, 12, 12.5), (13, 12, 12.5)].map {
            atr.update(high: $0.0, low: $0.1, close: $0.2)
        }
        #expect(atrValues == [nil, nil, 2, 1.5])   // (2 + 2) / 2, then (2·1 + 1) / 2

        var flatBands = Bollinger(period: 3, width: 2)
        let last = [5.0, 5, 5].map { flatBands.update(close: $0) }.last!
        #expect(last?.percentB == 0.5 && last?.bandwidth == 0)

        var ret = LogReturn()
        let returns = [100.0, 110].map { ret.update(close: $0) }
        #expect(returns[0] == nil && approxEqual(returns[1], log(1.1)))
    }

    @Test("warm-up boundaries: nil before, a value at exactly the warm-up bar")
    func warmUp() {
        func firstDefined(_ values: [Bool]) -> Int { (values.firstIndex(of: true) ?? -1) + 1 }
        var ema = EMA(period: 12), rsi = RSI(period: 14), macd = MACD(), bands = Bollinger(period: 20)
        var atr = ATR(period: 14), vol = RollingVolatility(period: 20)
        var flags: [[Bool]] = Array(repeating: [], count: 6)
        for b in Self.bars.prefix(60) {
            let c = b.close.doubleValue
            flags[0].append(ema.update(c) != nil)
            flags[1].append(rsi.update(close: c) != nil)
            flags[2].append(macd.update(close: c) != nil)
            flags[3].append(bands.update(close: c) != nil)
            flags[4].append(atr.update(high: b.high.doubleValue, low: b.low.doubleValue, close: c) != nil)
            flags[5].append(vol.update(close: c) != nil)
        }
        #expect(flags.map(firstDefined) == [12, 15, 34, 20, 15, 21])
        // Once defined, always defined.
        for f in flags { #expect(!f.drop { !$0 }.contains(false)) }
    }

    @Test("memory stays bounded by the window sizes")
    func bounded() {
        var macd = MACD(), bands = Bollinger(period: 20), vol = RollingVolatility(period: 20)
        var stats = RollingStats(capacity: 7)
        for b in Self.bars {
            let c = b.close.doubleValue
            _ = macd.update(close: c)
            _ = bands.update(close: c)
            _ = vol.update(close: c)
            stats.push(c)
            #expect(macd.storedValueCount <= 12 && bands.storedValueCount <= 20 && vol.storedValueCount <= 20)
            #expect(stats.count <= 7)
        }
        #expect(macd.storedValueCount == 0)   // released once the fast EMA is seeded
    }

    @Test("RollingStats keeps its accuracy on large, close values (no catastrophic cancellation)")
    func cancellation() {
        var rng = SplitMix64(state: 7)
        let values = (0..<10_000).map { _ in 1e9 + rng.unit() }
        var stats = RollingStats(capacity: 20)
        for (i, v) in values.enumerated() {
            stats.push(v)
            if i >= 19 && i % 97 == 0 {
                let window = values[(i - 19)...i]
                let shift = window.first!
                let reference = Reference.meanStd(ArraySlice(window.map { $0 - shift }), sample: true).std
                #expect(abs(stats.sampleVariance.squareRoot() - reference) < 1e-5 * reference, "index \(i)")
            }
        }
    }
}
