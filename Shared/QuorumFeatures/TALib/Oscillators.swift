// Momentum indicators and oscillators.

extension TA {
    /// Relative strength index, TA-Lib `RSI(n)`: Wilder-smoothed gains g and losses l (seeded with the means of
    /// the first n changes, then avg = (avg·(n − 1) + x) / n); RSI = 100·g / (g + l), 0 when g + l ≈ 0.
    /// Lookback n.
    public struct RSI: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var core: QuorumFeatures.RSI

        public init(period: Int = 14) {
            self.period = period
            core = QuorumFeatures.RSI(period: period)
        }

        public var lookback: Int { period }
        public mutating func update(_ value: Double) -> Double? { core.update(close: value) }
    }

    /// Chande momentum oscillator, TA-Lib `CMO(n)`: with the same Wilder-smoothed gains g and losses l as RSI,
    /// CMO = 100·(g − l) / (g + l), 0 when g + l ≈ 0. Lookback n.
    public struct CMO: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var previous: Double?
        private var gain = 0.0
        private var loss = 0.0
        private var changes = 0

        public init(period: Int = 14) {
            precondition(period >= 1, "CMO period must be at least 1")
            self.period = period
        }

        public var lookback: Int { period }

        public mutating func update(_ value: Double) -> Double? {
            defer { previous = value }
            guard let previous else { return nil }
            let change = value - previous
            let n = Double(period)
            changes += 1
            if changes > period {
                gain *= n - 1
                loss *= n - 1
            }
            if change < 0 { loss -= change } else { gain += change }
            guard changes >= period else { return nil }
            gain /= n
            loss /= n
            let total = gain + loss
            return TA.isZero(total) ? 0 : 100 * ((gain - loss) / total)
        }
    }

    /// Moving average convergence/divergence, TA-Lib `MACD(fast, slow, signal)`: line = EMA(fast) − EMA(slow)
    /// with both EMAs starting at bar slow − 1 (the fast one seeded with the mean of the `fast` values ending
    /// there), signal = EMA(signal) of the line, histogram = line − signal; all three blank until the signal
    /// exists. Lookback slow + signal − 2.
    public struct MACD: SeriesIndicator {
        public typealias Output = MACDValue

        private var core: QuorumFeatures.MACD

        public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
            core = QuorumFeatures.MACD(fast: fast, slow: slow, signal: signal)
        }

        public var lookback: Int { core.slowPeriod + core.signalPeriod - 2 }
        public mutating func update(_ value: Double) -> MACDValue? { core.update(close: value) }
    }

    /// MACD with a moving-average type per line, TA-Lib `MACDEXT(fast, fastType, slow, slowType, signal,
    /// signalType)` (TA-Lib's defaults: 12, 26, 9, all SMA): line = MA(fast) − MA(slow), signal = MA(signal) of the
    /// line, histogram = line − signal, all three blank until the signal exists. A fast period longer than the slow
    /// one is swapped with it, types included. Both line averages produce their first value on the same bar, the
    /// larger of their two lookbacks: the average with the shorter lookback is started late, fed from that bar minus
    /// its own lookback (TA-Lib calls it with the later start index, so an EMA is seeded with the mean of the values
    /// ending there — as `MACD` does, and unlike APO). Lookback max(fast `MA`'s, slow `MA`'s) + the signal `MA`'s.
    public struct MACDEXT: SeriesIndicator {
        public typealias Output = MACDValue

        private var fast: MA
        private var slow: MA
        private var signal: MA
        /// Bars to skip before feeding each line average, so that both start on the same bar.
        private let fastDelay: Int
        private let slowDelay: Int
        private var bars = 0

        public init(fast: Int = 12, fastType: MAType = .sma, slow: Int = 26, slowType: MAType = .sma,
                    signal: Int = 9, signalType: MAType = .sma) {
            precondition(fast >= 2 && slow >= 2, "MACDEXT fast and slow periods must be at least 2")
            precondition(signal >= 1, "MACDEXT signal period must be at least 1")
            var f = MA(period: fast, type: fastType), s = MA(period: slow, type: slowType)
            if slow < fast { swap(&f, &s) }
            let largest = max(f.lookback, s.lookback)
            fastDelay = largest - f.lookback
            slowDelay = largest - s.lookback
            self.fast = f
            self.slow = s
            self.signal = MA(period: signal, type: signalType)
        }

        public var lookback: Int { max(fast.lookback + fastDelay, slow.lookback + slowDelay) + signal.lookback }

        public mutating func update(_ value: Double) -> MACDValue? {
            defer { bars += 1 }
            let f = bars >= fastDelay ? fast.update(value) : nil
            let s = bars >= slowDelay ? slow.update(value) : nil
            guard let f, let s else { return nil }
            let line = f - s
            guard let signalValue = signal.update(line) else { return nil }
            return MACDValue(line: line, signal: signalValue, histogram: line - signalValue)
        }
    }

    /// MA(fast) and MA(slow) of one series and one type, both once the slow one exists (APO and PPO). Each average
    /// starts at the first bar (TA-Lib's `TA_INT_PO` seeds both from the start, unlike MACDEXT). As in TA-Lib, a
    /// "fast" period longer than the "slow" one is swapped with it.
    struct AveragePair: Sendable, Codable {
        private var fast: MA
        private var slow: MA

        init(fast: Int, slow: Int, type: MAType) {
            precondition(fast >= 2 && slow >= 2, "APO and PPO periods must be at least 2")
            self.fast = MA(period: min(fast, slow), type: type)
            self.slow = MA(period: max(fast, slow), type: type)
        }

        var lookback: Int { max(fast.lookback, slow.lookback) }

        mutating func update(_ value: Double) -> (fast: Double, slow: Double)? {
            let f = fast.update(value), s = slow.update(value)
            guard let f, let s else { return nil }
            return (f, s)
        }
    }

    /// Absolute price oscillator, TA-Lib `APO(fast, slow, matype)`: MA(fast) − MA(slow) of the given type (TA-Lib's
    /// default SMA; the shorter period is the fast one). Lookback: the slow `MA`'s (max(fast, slow) − 1 for SMA).
    public struct APO: SeriesIndicator {
        public typealias Output = Double
        private var averages: AveragePair

        public init(fast: Int = 12, slow: Int = 26, type: MAType = .sma) {
            averages = AveragePair(fast: fast, slow: slow, type: type)
        }

        public var lookback: Int { averages.lookback }
        public mutating func update(_ value: Double) -> Double? { averages.update(value).map { $0.fast - $0.slow } }
    }

    /// Percentage price oscillator, TA-Lib `PPO(fast, slow, matype)`: 100·(MA(fast) − MA(slow)) / MA(slow), 0 when
    /// the slow average ≈ 0. Lookback: the slow `MA`'s (max(fast, slow) − 1 for SMA).
    public struct PPO: SeriesIndicator {
        public typealias Output = Double
        private var averages: AveragePair

        public init(fast: Int = 12, slow: Int = 26, type: MAType = .sma) {
            averages = AveragePair(fast: fast, slow: slow, type: type)
        }

        public var lookback: Int { averages.lookback }

        public mutating func update(_ value: Double) -> Double? {
            averages.update(value).map { TA.isZero($0.slow) ? 0 : (($0.fast - $0.slow) / $0.slow) * 100 }
        }
    }

    /// The value n bars back: x₋ₙ once n + 1 values have been seen (MOM and ROC).
    struct Lag: Sendable, Codable {
        let period: Int
        private var values: Ring

        init(period: Int) {
            precondition(period >= 1, "a lag is at least 1 bar")
            self.period = period
            values = Ring(capacity: period + 1)
        }

        mutating func push(_ x: Double) -> Double? {
            values.push(x)
            return values.isFull ? values[age: period] : nil
        }
    }

    /// Momentum, TA-Lib `MOM(n)`: xₜ − xₜ₋ₙ. Lookback n.
    public struct MOM: SeriesIndicator {
        public typealias Output = Double
        private var lag: Lag

        public init(period: Int = 10) { lag = Lag(period: period) }

        public var lookback: Int { lag.period }
        public mutating func update(_ value: Double) -> Double? { lag.push(value).map { value - $0 } }
    }

    /// Rate of change, TA-Lib `ROC(n)`: 100·(xₜ / xₜ₋ₙ − 1), 0 when xₜ₋ₙ = 0. Lookback n.
    public struct ROC: SeriesIndicator {
        public typealias Output = Double
        private var lag: Lag

        public init(period: Int = 10) { lag = Lag(period: period) }

        public var lookback: Int { lag.period }
        public mutating func update(_ value: Double) -> Double? { lag.push(value).map { $0 != 0 ? (value / $0 - 1) * 100 : 0 } }
    }

    /// TRIX, TA-Lib `TRIX(n)`: the one-bar rate of change (100·(e/e₋₁ − 1)) of a triple EMA(n) (each EMA seeded
    /// with the mean of its first n inputs). Lookback 3(n − 1) + 1.
    public struct TRIX: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var chain: EMAChain
        private var previous: Double?

        public init(period: Int = 30) {
            precondition(period >= 1, "TRIX period must be at least 1")
            self.period = period
            chain = EMAChain(period: period, depth: 3)
        }

        public var lookback: Int { 3 * (period - 1) + 1 }

        public mutating func update(_ value: Double) -> Double? {
            guard chain.update(value) else { return nil }
            let e = chain.stage(2)
            defer { previous = e }
            guard let previous else { return nil }
            return previous != 0 ? (e / previous - 1) * 100 : 0
        }
    }

    /// Stochastic %K and %D.
    public struct Stochastic: Sendable, Hashable {
        public var k: Double
        public var d: Double
    }

    /// Raw stochastic %K over n values: 100·(x − lowest) / (highest − lowest), 0 when the range is 0.
    struct RawK: Sendable, Codable {
        private var window: HighLowWindow
        var period: Int { window.period }

        init(period: Int) {
            precondition(period >= 1, "stochastic period must be at least 1")
            window = HighLowWindow(period: period)
        }

        mutating func update(high: Double, low: Double, close: Double) -> Double? {
            guard let (hh, ll) = window.update(high: high, low: low) else { return nil }
            let range = (hh - ll) / 100
            return range != 0 ? (close - ll) / range : 0
        }
    }

    /// Fast stochastic, TA-Lib `STOCHF(k, d, matype)`: %K = raw stochastic over k bars (highest high, lowest low),
    /// %D = MA(d) of %K (TA-Lib's default SMA); both blank until %D exists. Lookback (k − 1) + the `MA`'s
    /// ((k − 1) + (d − 1) for SMA).
    public struct STOCHF: StreamingIndicator {
        private var raw: RawK
        private var d: MA

        public init(fastK: Int = 5, fastD: Int = 3, dType: MAType = .sma) {
            raw = RawK(period: fastK)
            d = MA(period: fastD, type: dType)
        }

        public var lookback: Int { raw.period - 1 + d.lookback }

        public mutating func update(_ bar: TA.Candle) -> Stochastic? { update(high: bar.high, low: bar.low, close: bar.close) }

        mutating func update(high: Double, low: Double, close: Double) -> Stochastic? {
            guard let k = raw.update(high: high, low: low, close: close), let dValue = d.update(k) else { return nil }
            return Stochastic(k: k, d: dValue)
        }
    }

    /// Slow stochastic, TA-Lib `STOCH(fastK, slowK, kType, slowD, dType)`: slow %K = MA(slowK) of the raw %K over
    /// fastK bars, slow %D = MA(slowD) of slow %K (TA-Lib's default types: SMA); both blank until %D exists.
    /// Lookback (fastK − 1) + both `MA`s' ((fastK − 1) + (slowK − 1) + (slowD − 1) for SMA).
    public struct STOCH: StreamingIndicator {
        private var raw: RawK
        private var k: MA
        private var d: MA

        public init(fastK: Int = 5, slowK: Int = 3, kType: MAType = .sma, slowD: Int = 3, dType: MAType = .sma) {
            raw = RawK(period: fastK)
            k = MA(period: slowK, type: kType)
            d = MA(period: slowD, type: dType)
        }

        public var lookback: Int { raw.period - 1 + k.lookback + d.lookback }

        public mutating func update(_ bar: TA.Candle) -> Stochastic? {
            guard let r = raw.update(high: bar.high, low: bar.low, close: bar.close),
                  let kValue = k.update(r), let dValue = d.update(kValue) else { return nil }
            return Stochastic(k: kValue, d: dValue)
        }
    }

    /// Stochastic RSI, TA-Lib `STOCHRSI(n, k, d, matype)`: `STOCHF(k, d, matype)` applied to RSI(n) as high, low
    /// and close. Lookback n + STOCHF's (n + (k − 1) + (d − 1) for SMA).
    public struct STOCHRSI: SeriesIndicator {
        public typealias Output = Stochastic

        private var rsi: RSI
        private var stochastic: STOCHF

        public init(period: Int = 14, fastK: Int = 5, fastD: Int = 3, dType: MAType = .sma) {
            rsi = RSI(period: period)
            stochastic = STOCHF(fastK: fastK, fastD: fastD, dType: dType)
        }

        public var lookback: Int { rsi.lookback + stochastic.lookback }

        public mutating func update(_ value: Double) -> Stochastic? {
            guard let r = rsi.update(value) else { return nil }
            return stochastic.update(high: r, low: r, close: r)
        }
    }

    /// Williams' %R, TA-Lib `WILLR(n)`: −100·(highest high − close) / (highest high − lowest low) over n bars,
    /// 0 when the range is 0. Lookback n − 1.
    public struct WILLR: StreamingIndicator {
        public let period: Int
        private var window: HighLowWindow

        public init(period: Int = 14) {
            precondition(period >= 1, "WILLR period must be at least 1")
            self.period = period
            window = HighLowWindow(period: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let (hh, ll) = window.update(high: bar.high, low: bar.low) else { return nil }
            let range = (hh - ll) / -100
            return range != 0 ? (hh - bar.close) / range : 0
        }
    }

    /// Commodity channel index, TA-Lib `CCI(n)`: with typical price tp = (h + l + c)/3, its SMA(n) m and mean
    /// absolute deviation md = Σ|tpᵢ − m| / n over the same n bars, CCI = (tp − m) / (0.015·md), 0 when either
    /// is 0. O(n) per bar (the mean deviation has no O(1) update). Lookback n − 1.
    public struct CCI: StreamingIndicator {
        public let period: Int
        private var prices: RollingSum

        public init(period: Int = 14) {
            precondition(period >= 1, "CCI period must be at least 1")
            self.period = period
            prices = RollingSum(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let tp = TA.typicalPrice(bar)
            prices.push(tp)
            guard prices.isFull else { return nil }
            let mean = prices.mean
            let deviation = prices.window.absoluteDeviation(from: mean)
            let distance = tp - mean
            return distance != 0 && deviation != 0 ? distance / (0.015 * (deviation / Double(period))) : 0
        }
    }

    /// Money flow index, TA-Lib `MFI(n)`: with typical price tp = (h + l + c)/3 and money flow tp·volume counted
    /// positive when tp rose from the previous bar and negative when it fell (neither when equal), over the last
    /// n bars MFI = 100·pos / (pos + neg), 0 when pos + neg < 1. Lookback n.
    public struct MFI: StreamingIndicator {
        public let period: Int
        private var previous: Double?
        private var positive: RollingSum
        private var negative: RollingSum

        public init(period: Int = 14) {
            precondition(period >= 1, "MFI period must be at least 1")
            self.period = period
            positive = RollingSum(capacity: period)
            negative = RollingSum(capacity: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let tp = TA.typicalPrice(bar)
            defer { previous = tp }
            guard let previous else { return nil }
            let flow = tp * bar.volume
            positive.push(tp > previous ? flow : 0)
            negative.push(tp < previous ? flow : 0)
            guard positive.isFull else { return nil }
            let total = positive.sum + negative.sum
            return total < 1 ? 0 : 100 * (positive.sum / total)
        }
    }

    /// Ultimate oscillator, TA-Lib `ULTOSC(p1, p2, p3)`: buying pressure bp = c − min(l, c₋₁), true range
    /// tr = max(h, c₋₁) − min(l, c₋₁); aᵢ = Σbp / Σtr over the last pᵢ bars (0 when Σtr ≈ 0) with the periods
    /// sorted shortest first; ULTOSC = 100·(4a₁ + 2a₂ + a₃) / 7. Lookback max(p) .
    public struct ULTOSC: StreamingIndicator {
        private var previousClose: Double?
        private var pressure: [RollingSum]
        private var range: [RollingSum]

        public init(period1: Int = 7, period2: Int = 14, period3: Int = 28) {
            let periods = [period1, period2, period3].sorted()
            precondition(periods[0] >= 1, "ULTOSC periods must be at least 1")
            pressure = periods.map { RollingSum(capacity: $0) }
            range = periods.map { RollingSum(capacity: $0) }
        }

        public var lookback: Int { range[2].capacity }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previousClose = bar.close }
            guard let previousClose else { return nil }
            let trueLow = min(bar.low, previousClose)
            let bp = bar.close - trueLow
            let tr = max(bar.high, previousClose) - trueLow
            for i in 0..<3 {
                pressure[i].push(bp)
                range[i].push(tr)
            }
            guard range[2].isFull else { return nil }
            func average(_ i: Int) -> Double { TA.isZero(range[i].sum) ? 0 : pressure[i].sum / range[i].sum }
            return 100 * ((4 * average(0) + 2 * average(1) + average(2)) / 7)
        }
    }

    /// Balance of power, TA-Lib `BOP`: (close − open) / (high − low), 0 when high − low < 10⁻⁸. Lookback 0.
    public struct BOP: StreamingIndicator {
        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let range = bar.high - bar.low
            return TA.isZeroOrNegative(range) ? 0 : (bar.close - bar.open) / range
        }
    }
}
