import Foundation

// Streaming indicators. Each is a small value type: `update` takes the newest bar's inputs, costs O(1) and
// returns nil until the indicator is warm. Seeding and arithmetic follow TA-Lib's C implementation
// (default compatibility mode, unstable period 0) so that values match TA-Lib to rounding.
// "Bar k" below counts updates from 1.

/// One-bar log return ln(closeₜ / closeₜ₋₁). Defined from bar 2.
public struct LogReturn: Sendable, Codable {
    private var previous: Double?

    public init() {}

    public mutating func update(close: Double) -> Double? {
        defer { previous = close }
        guard let previous else { return nil }
        return log(close / previous)
    }
}

/// Exponential moving average with k = 2 / (n + 1), TA-Lib `EMA`: the first value, at bar n, is the simple
/// mean of the first n inputs; afterwards emaₜ = (xₜ − emaₜ₋₁)·k + emaₜ₋₁.
public struct EMA: Sendable, Codable {
    public let period: Int
    public let k: Double
    private var seedSum = 0.0
    private var seen = 0
    public private(set) var value: Double?

    public init(period: Int) {
        precondition(period >= 1, "EMA period must be at least 1")
        self.period = period
        k = 2.0 / Double(period + 1)
    }

    /// Starts the average from a given seed (used by MACD, whose fast EMA TA-Lib seeds late).
    init(period: Int, seed: Double) {
        self.init(period: period)
        value = seed
        seen = period
    }

    public mutating func update(_ x: Double) -> Double? {
        if let v = value {
            value = (x - v) * k + v
        } else {
            seedSum += x
            seen += 1
            if seen == period { value = seedSum / Double(period) }
        }
        return value
    }
}

/// Relative strength index, TA-Lib `RSI` (Wilder smoothing). Needs n + 1 closes: the first value, at bar
/// n + 1, uses the simple means of the first n gains and losses; afterwards avg = (avg·(n − 1) + x) / n.
/// RSI = 100·avgGain / (avgGain + avgLoss), and 0 when that sum is below 10⁻⁸ (TA-Lib's `TA_IS_ZERO`), e.g.
/// on a flat series. A series that only rises gives 100.
public struct RSI: Sendable, Codable {
    public let period: Int
    private var previousClose: Double?
    private var gain = 0.0
    private var loss = 0.0
    private var changes = 0

    public init(period: Int) {
        precondition(period >= 1, "RSI period must be at least 1")
        self.period = period
    }

    public mutating func update(close: Double) -> Double? {
        defer { previousClose = close }
        guard let previousClose else { return nil }
        let change = close - previousClose
        changes += 1
        let n = Double(period)
        if changes <= period {
            if change < 0 { loss -= change } else { gain += change }
            guard changes == period else { return nil }
            loss /= n
            gain /= n
        } else {
            loss *= n - 1
            gain *= n - 1
            if change < 0 { loss -= change } else { gain += change }
            loss /= n
            gain /= n
        }
        let total = gain + loss
        return (total > -0.000_000_01 && total < 0.000_000_01) ? 0 : 100 * (gain / total)
    }
}

/// MACD line, signal line and histogram.
public struct MACDValue: Sendable, Hashable {
    public var line: Double
    public var signal: Double
    public var histogram: Double
}

/// Moving average convergence/divergence, TA-Lib `MACD(fast, slow, signal)`.
///
/// TA-Lib starts both EMAs at the same bar, `slow`: the slow EMA is seeded with the mean of the first `slow`
/// closes and the fast EMA with the mean of the `fast` closes ending at that bar (not of the first `fast`
/// closes, so `ema_12` and MACD's fast EMA differ for a while). The line = fast − slow from bar `slow`; the
/// signal is an EMA(signal) of the line (seeded with the mean of its first `signal` values). All three
/// outputs start at bar slow + signal − 1 (34 for 12/26/9), as in TA-Lib.
public struct MACD: Sendable, Codable {
    public let fastPeriod: Int
    public let slowPeriod: Int
    public let signalPeriod: Int
    private var recentCloses: [Double] = []   // last `fastPeriod` closes, only until the fast EMA is seeded
    private var fast: EMA?
    private var slow: EMA
    private var signal: EMA

    public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
        precondition(fast >= 1 && slow > fast && signal >= 1, "MACD needs 1 ≤ fast < slow and signal ≥ 1")
        fastPeriod = fast
        slowPeriod = slow
        signalPeriod = signal
        self.slow = EMA(period: slow)
        self.signal = EMA(period: signal)
    }

    /// Values held for seeding (≤ fast period; 0 once seeded).
    public var storedValueCount: Int { recentCloses.count }

    public mutating func update(close: Double) -> MACDValue? {
        let slowValue = slow.update(close)
        let fastValue: Double?
        if fast != nil {
            fastValue = fast!.update(close)
        } else {
            recentCloses.append(close)
            if recentCloses.count > fastPeriod { recentCloses.removeFirst() }
            if slowValue != nil {
                var sum = 0.0
                for c in recentCloses { sum += c }
                fast = EMA(period: fastPeriod, seed: sum / Double(fastPeriod))
                recentCloses = []
                fastValue = fast!.value
            } else {
                fastValue = nil
            }
        }
        guard let fastValue, let slowValue else { return nil }
        let line = fastValue - slowValue
        guard let signalValue = signal.update(line) else { return nil }
        return MACDValue(line: line, signal: signalValue, histogram: line - signalValue)
    }
}

/// Bollinger bands and the two scale-free features derived from them.
public struct BollingerValue: Sendable, Hashable {
    public var middle: Double
    public var upper: Double
    public var lower: Double
    /// (close − lower) / (upper − lower); 0.5 when the bands have collapsed (σ = 0).
    public var percentB: Double
    /// (upper − lower) / middle.
    public var bandwidth: Double
}

/// Bollinger bands, TA-Lib `BBANDS(n, k, k, SMA)`: middle = SMA(n) of closes, bands = middle ± k·σ with σ the
/// population standard deviation of the same n closes (TA-Lib's `STDDEV`; variances below 10⁻⁸ count as 0,
/// as in TA-Lib). Defined from bar n. σ comes from `RollingStats` (Welford), which is more accurate than
/// TA-Lib's Σx² − n·mean² on prices; the two agree to rounding.
public struct Bollinger: Sendable, Codable {
    public let period: Int
    public let width: Double
    private var stats: RollingStats

    public init(period: Int = 20, width: Double = 2) {
        self.period = period
        self.width = width
        stats = RollingStats(capacity: period)
    }

    public var storedValueCount: Int { stats.count }

    public mutating func update(close: Double) -> BollingerValue? {
        stats.push(close)
        guard stats.isFull else { return nil }
        let middle = stats.average
        let variance = stats.populationVariance
        let sigma = variance < 0.000_000_01 ? 0 : variance.squareRoot()
        let upper = middle + width * sigma
        let lower = middle - width * sigma
        let percentB = upper > lower ? (close - lower) / (upper - lower) : 0.5
        return BollingerValue(middle: middle, upper: upper, lower: lower, percentB: percentB,
                              bandwidth: (upper - lower) / middle)
    }
}

/// Average true range, TA-Lib `ATR(n)` (Wilder smoothing). True range needs the previous close, so the
/// first bar has none (TA-Lib's `TRANGE` starts at the second bar): TR = max(high − low, |prevClose − high|,
/// |prevClose − low|). The first ATR, at bar n + 1, is the mean of the first n true ranges (bars 2…n+1);
/// afterwards atr = (atr·(n − 1) + TR) / n.
public struct ATR: Sendable, Codable {
    public let period: Int
    private var previousClose: Double?
    private var seedSum = 0.0
    private var ranges = 0
    public private(set) var value: Double?

    public init(period: Int = 14) {
        precondition(period >= 1, "ATR period must be at least 1")
        self.period = period
    }

    public mutating func update(high: Double, low: Double, close: Double) -> Double? {
        defer { previousClose = close }
        guard let previousClose else { return nil }
        var trueRange = high - low
        let fromHigh = abs(previousClose - high)
        if fromHigh > trueRange { trueRange = fromHigh }
        let fromLow = abs(previousClose - low)
        if fromLow > trueRange { trueRange = fromLow }
        let n = Double(period)
        if let atr = value {
            value = (atr * (n - 1) + trueRange) / n
        } else {
            seedSum += trueRange
            ranges += 1
            if ranges == period { value = seedSum / n }
        }
        return value
    }
}

/// Rolling volatility: sample standard deviation (n − 1) of the last n one-bar log returns. Defined from
/// bar n + 1. O(1) through `RollingStats` (windowed Welford with periodic exact recomputation).
public struct RollingVolatility: Sendable, Codable {
    public let period: Int
    private var logReturn = LogReturn()
    private var stats: RollingStats

    public init(period: Int = 20) {
        precondition(period >= 2, "RollingVolatility needs at least 2 returns")
        self.period = period
        stats = RollingStats(capacity: period)
    }

    public var storedValueCount: Int { stats.count }

    public mutating func update(close: Double) -> Double? {
        guard let r = logReturn.update(close: close) else { return nil }
        stats.push(r)
        return stats.fullSampleDeviation
    }
}
