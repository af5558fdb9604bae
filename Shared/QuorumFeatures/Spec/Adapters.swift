import Foundation
// Streaming-indicator faces for the features that are not a TA-Lib type of their own: the core-v1 derived values
// (EMA ratio, ATR as a fraction of the close, Bollinger %b and bandwidth, return volatility) and a wrapper that feeds
// an indicator the log returns of its series.

/// ln(x / x₋₁); lookback 1.
struct LogReturnIndicator: SeriesIndicator {
    typealias Output = Double
    private var core = LogReturn()
    var lookback: Int { 1 }
    mutating func update(_ value: Double) -> Double? { core.update(close: value) }
}

/// EMA(fast) / EMA(slow) − 1 (TA-Lib-seeded EMAs); lookback slow − 1.
struct EMARatio: SeriesIndicator {
    typealias Output = Double
    private var fast: EMA
    private var slow: EMA
    init(fast: Int, slow: Int) {
        self.fast = EMA(period: fast)
        self.slow = EMA(period: slow)
    }

    var lookback: Int { max(fast.period, slow.period) - 1 }

    mutating func update(_ value: Double) -> Double? {
        let f = fast.update(value)
        let s = slow.update(value)
        guard let f, let s else { return nil }
        return f / s - 1
    }
}

/// ATR(n) / close (scale-free); lookback n.
struct ATRFraction: StreamingIndicator {
    typealias Output = Double
    private var atr: ATR
    init(period: Int) { atr = ATR(period: period) }
    var lookback: Int { atr.period }
    mutating func update(_ bar: TA.Candle) -> Double? {
        atr.update(high: bar.high, low: bar.low, close: bar.close).map { $0 / bar.close }
    }
}

/// `Bollinger` (rolling mean and population σ with %b and bandwidth); lookback n − 1.
struct BollingerIndicator: SeriesIndicator {
    typealias Output = BollingerValue
    private var core: Bollinger
    init(period: Int, width: Double) { core = Bollinger(period: period, width: width) }
    var lookback: Int { core.period - 1 }
    mutating func update(_ value: Double) -> BollingerValue? { core.update(close: value) }
}

/// `RollingVolatility`: sample σ of the last n log returns; lookback n.
struct RollingVolatilityIndicator: SeriesIndicator {
    typealias Output = Double
    private var core: RollingVolatility
    init(period: Int) { core = RollingVolatility(period: period) }
    var lookback: Int { core.period }
    mutating func update(_ value: Double) -> Double? { core.update(close: value) }
}

/// Feeds `inner` the log returns of the series it is given; lookback one more than the inner one's.
struct OfLogReturns<Inner: SeriesIndicator>: SeriesIndicator {
    typealias Output = Inner.Output
    private var inner: Inner
    private var returns = LogReturn()
    init(_ inner: Inner) { self.inner = inner }
    var lookback: Int { inner.lookback + 1 }
    mutating func update(_ value: Double) -> Inner.Output? {
        guard let r = returns.update(close: value) else { return nil }
        return inner.update(r)
    }
}

/// Feeds a pair indicator the one-bar log returns of both series; lookback one more than the inner one's.
struct OfLogReturnPairs<Inner: PairIndicator>: PairIndicator {
    typealias Output = Inner.Output
    private var inner: Inner
    private var previous: TA.Point?
    init(_ inner: Inner) { self.inner = inner }
    var lookback: Int { inner.lookback + 1 }
    mutating func update(_ x: Double, _ y: Double) -> Inner.Output? {
        defer { previous = TA.Point(x: x, y: y) }
        guard let previous else { return nil }
        return inner.update(log(x / previous.x), log(y / previous.y))
    }
}

/// ln(x/x₋ₙ) − ln(y/y₋ₙ): how much more x rose than y over the last n bars; lookback n.
struct RelativeStrength: PairIndicator {
    typealias Output = Double
    private var x: TA.Lag
    private var y: TA.Lag
    let period: Int
    init(period: Int) {
        self.period = period
        x = TA.Lag(period: period)
        y = TA.Lag(period: period)
    }
    var lookback: Int { period }
    mutating func update(_ a: Double, _ b: Double) -> Double? {
        let pa = x.push(a), pb = y.push(b)
        guard let pa, let pb else { return nil }
        return log(a / pa) - log(b / pb)
    }
}
