// Moving averages: SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, T3.

extension TA {
    /// Simple moving average, TA-Lib `SMA(n)`: the mean of the last n values. Lookback n − 1.
    public struct SMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var sum: RollingSum

        public init(period: Int = 30) {
            precondition(period >= 1, "SMA period must be at least 1")
            self.period = period
            sum = RollingSum(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            sum.push(value)
            return sum.isFull ? sum.sum / Double(period) : nil
        }
    }

    /// Exponential moving average, TA-Lib `EMA(n)`: k = 2 / (n + 1); the first value (bar n − 1) is the mean of
    /// the first n values, then emaₜ = emaₜ₋₁ + k·(xₜ − emaₜ₋₁). Lookback n − 1.
    public struct EMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var core: QuorumFeatures.EMA

        public init(period: Int = 30) {
            self.period = period
            core = QuorumFeatures.EMA(period: period)
        }

        public var lookback: Int { period - 1 }
        public mutating func update(_ value: Double) -> Double? { core.update(value) }
    }

    /// A chain of EMAs, each fed the previous one's values once they exist (each seeded with the mean of its first
    /// n inputs, as TA-Lib's DEMA, TEMA, TRIX and T3 do). `stage(i)` is the i-th EMA's latest value.
    struct EMAChain: Sendable, Codable {
        private var stages: [QuorumFeatures.EMA]
        private var latest: [Double]

        init(period: Int, depth: Int) {
            stages = Array(repeating: QuorumFeatures.EMA(period: period), count: depth)
            latest = Array(repeating: 0, count: depth)
        }

        /// Feeds `x` through the chain; true once the last stage has a value.
        mutating func update(_ x: Double) -> Bool {
            var input = x
            for i in stages.indices {
                guard let v = stages[i].update(input) else { return false }
                latest[i] = v
                input = v
            }
            return true
        }

        func stage(_ i: Int) -> Double { latest[i] }
    }

    /// Double EMA, TA-Lib `DEMA(n)`: 2·EMA(x) − EMA(EMA(x)). Lookback 2(n − 1).
    public struct DEMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var chain: EMAChain

        public init(period: Int = 30) {
            precondition(period >= 1, "DEMA period must be at least 1")
            self.period = period
            chain = EMAChain(period: period, depth: 2)
        }

        public var lookback: Int { 2 * (period - 1) }

        public mutating func update(_ value: Double) -> Double? {
            chain.update(value) ? 2 * chain.stage(0) - chain.stage(1) : nil
        }
    }

    /// Triple EMA, TA-Lib `TEMA(n)`: 3·e1 − 3·e2 + e3 with e1 = EMA(x), e2 = EMA(e1), e3 = EMA(e2).
    /// Lookback 3(n − 1).
    public struct TEMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var chain: EMAChain

        public init(period: Int = 30) {
            precondition(period >= 1, "TEMA period must be at least 1")
            self.period = period
            chain = EMAChain(period: period, depth: 3)
        }

        public var lookback: Int { 3 * (period - 1) }

        public mutating func update(_ value: Double) -> Double? {
            chain.update(value) ? 3 * chain.stage(0) - 3 * chain.stage(1) + chain.stage(2) : nil
        }
    }

    /// Tillson's T3, TA-Lib `T3(n, a)`: six chained EMAs e1…e6 with k = 2 / (n + 1);
    /// T3 = c1·e6 + c2·e5 + c3·e4 + c4·e3 with c1 = −a³, c2 = 3a² + 3a³, c3 = −6a² − 3a − 3a³,
    /// c4 = 1 + 3a + a³ + 3a². Lookback 6(n − 1).
    public struct T3: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let volumeFactor: Double
        private let c: (Double, Double, Double, Double)
        private var chain: EMAChain

        public init(period: Int = 5, volumeFactor a: Double = 0.7) {
            precondition(period >= 1, "T3 period must be at least 1")
            self.period = period
            volumeFactor = a
            let a2 = a * a, a3 = a2 * a
            c = (-a3, 3 * a2 + 3 * a3, -6 * a2 - 3 * a - 3 * a3, 1 + 3 * a + a3 + 3 * a2)
            chain = EMAChain(period: period, depth: 6)
        }

        public var lookback: Int { 6 * (period - 1) }

        /// The coefficients follow from the parameters: a checkpoint keeps the parameters and the chain.
        private enum CodingKeys: String, CodingKey { case period, volumeFactor, chain }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(period: try c.decode(Int.self, forKey: .period), volumeFactor: try c.decode(Double.self, forKey: .volumeFactor))
            chain = try c.decode(EMAChain.self, forKey: .chain)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(period, forKey: .period)
            try c.encode(volumeFactor, forKey: .volumeFactor)
            try c.encode(chain, forKey: .chain)
        }

        public mutating func update(_ value: Double) -> Double? {
            guard chain.update(value) else { return nil }
            return c.0 * chain.stage(5) + c.1 * chain.stage(4) + c.2 * chain.stage(3) + c.3 * chain.stage(2)
        }
    }

    /// Weighted moving average, TA-Lib `WMA(n)`: Σ wᵢ·xᵢ / Σ wᵢ over the last n values with weights 1 (oldest)
    /// … n (newest), i.e. (Σt·x + Σx) / (n(n + 1)/2) with t = 0…n − 1 (`WeightedWindow`). Lookback n − 1.
    public struct WMA: SeriesIndicator {
        public typealias Output = Double
        public let period: Int
        private var window: WeightedWindow

        public init(period: Int = 30) {
            precondition(period >= 1, "WMA period must be at least 1")
            self.period = period
            window = WeightedWindow(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            window.push(value)
            let n = Double(period)
            return window.isFull ? (window.weighted + window.sum) / (n * (n + 1) / 2) : nil
        }
    }

    /// Triangular moving average, TA-Lib `TRIMA(n)`: an SMA of an SMA, periods ⌈n/2⌉ and ⌈n/2⌉ for odd n,
    /// n/2 and n/2 + 1 for even n (weights 1, 2, …, peak, …, 2, 1 over n values). Lookback n − 1.
    public struct TRIMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var first: SMA
        private var second: SMA

        public init(period: Int = 30) {
            precondition(period >= 1, "TRIMA period must be at least 1")
            self.period = period
            let a = period % 2 == 1 ? (period + 1) / 2 : period / 2
            first = SMA(period: a)
            second = SMA(period: period - a + 1)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            guard let inner = first.update(value) else { return nil }
            return second.update(inner)
        }
    }

    /// Kaufman adaptive moving average, TA-Lib `KAMA(n)`: efficiency ratio ER = |xₜ − xₜ₋ₙ| / Σ|xᵢ − xᵢ₋₁| over
    /// the last n changes (1 when that sum is zero or not above the signed change), smoothing
    /// sc = (ER·(2/3 − 2/31) + 2/31)², kamaₜ = kamaₜ₋₁ + sc·(xₜ − kamaₜ₋₁), started from kama = xₙ₋₁ at bar n.
    /// Lookback n.
    public struct KAMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var values: Ring
        private var changes: RollingSum
        private var kama: Double?

        public init(period: Int = 30) {
            precondition(period >= 1, "KAMA period must be at least 1")
            self.period = period
            values = Ring(capacity: period + 1)
            changes = RollingSum(capacity: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ value: Double) -> Double? {
            if values.count > 0 { changes.push(abs(value - values[age: 0])) }
            values.push(value)
            guard values.isFull else { return nil }
            let previous = kama ?? values[age: 1]
            let change = value - values[age: period]
            let total = changes.sum
            let er = (total <= change || TA.isZero(total)) ? 1.0 : abs(change / total)
            let slowest = 2.0 / 31.0
            let sc = (er * (2.0 / 3.0 - slowest) + slowest) * (er * (2.0 / 3.0 - slowest) + slowest)
            let next = (value - previous) * sc + previous
            kama = next
            return next
        }
    }
}

// The moving-average types TA-Lib's `matype` parameter selects (APO, PPO, STOCH, STOCHF, STOCHRSI, BBANDS,
// MACDEXT and TA-Lib's generic `MA`).

extension TA {
    /// TA-Lib's `TA_MAType` values, with their raw numbers. MAMA (7) is left out: TA-Lib's `MA` ignores the period
    /// for it and runs the MESA adaptive average (Hilbert transform, fixed limits 0.5/0.05), not implemented here.
    public enum MAType: Int, Sendable, CaseIterable, Codable {
        case sma = 0, ema = 1, wma = 2, dema = 3, tema = 4, trima = 5, kama = 6, t3 = 8
    }

    /// Generic moving average, TA-Lib `MA(n, matype)`: the indicator of that type and period (T3 with TA-Lib's
    /// fixed volume factor 0.7). As in TA-Lib, a period of 1 is the input itself (lookback 0) whatever the type.
    public struct MA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let type: MAType
        // The wrapped average: one of these, per `type` (stored side by side rather than as an existential or an
        // enum payload, so that `x!.update` mutates it in place: no boxed or copied buffers per update).
        private var sma: SMA?, ema: EMA?, wma: WMA?, dema: DEMA?, tema: TEMA?, trima: TRIMA?, kama: KAMA?, t3: T3?

        public init(period: Int = 30, type: MAType = .sma) {
            precondition(period >= 1, "MA period must be at least 1")
            self.period = period
            self.type = type
            // Period 1 is TA-Lib's identity: nothing stored.
            guard period > 1 else { return }
            switch type {
            case .sma: sma = SMA(period: period)
            case .ema: ema = EMA(period: period)
            case .wma: wma = WMA(period: period)
            case .dema: dema = DEMA(period: period)
            case .tema: tema = TEMA(period: period)
            case .trima: trima = TRIMA(period: period)
            case .kama: kama = KAMA(period: period)
            case .t3: t3 = T3(period: period, volumeFactor: 0.7)
            }
        }

        public var lookback: Int {
            guard period > 1 else { return 0 }
            return switch type {
            case .sma: sma!.lookback
            case .ema: ema!.lookback
            case .wma: wma!.lookback
            case .dema: dema!.lookback
            case .tema: tema!.lookback
            case .trima: trima!.lookback
            case .kama: kama!.lookback
            case .t3: t3!.lookback
            }
        }

        public mutating func update(_ value: Double) -> Double? {
            guard period > 1 else { return value }
            // The common type first: a predictable compare rather than the switch's indirect jump on every bar.
            if type == .sma { return sma!.update(value) }
            return switch type {
            case .sma: sma!.update(value)
            case .ema: ema!.update(value)
            case .wma: wma!.update(value)
            case .dema: dema!.update(value)
            case .tema: tema!.update(value)
            case .trima: trima!.update(value)
            case .kama: kama!.update(value)
            case .t3: t3!.update(value)
            }
        }
    }
}

