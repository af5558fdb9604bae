// Liquidity and order-flow estimators from OHLCV bars: Amihud illiquidity, Roll and Corwin–Schultz spreads, and
// bulk-volume-classified signed volume. Trade- and book-level versions (md.trades, md.books) can join later as
// indicators of those inputs.

import Foundation

extension TA {
    /// Amihud illiquidity (Y. Amihud, "Illiquidity and stock returns: cross-section and time-series effects", Journal
    /// of Financial Markets 5(1), 2002) over n bars: the mean of |c/c₋₁ − 1| / (c·v), the absolute return per unit of
    /// traded value (quote currency), over the bars of the window that traded (c·v > 0); 0 when none did.
    /// Lookback n.
    public struct Amihud: StreamingIndicator {
        public let period: Int
        private var previousClose: Double?
        private var ratios: RollingSum
        private var traded: RollingSum

        public init(period: Int = 20) {
            precondition(period >= 1, "Amihud period must be at least 1")
            self.period = period
            ratios = RollingSum(capacity: period)
            traded = ratios
        }

        public var lookback: Int { period }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previousClose = bar.close }
            guard let previousClose else { return nil }
            let value = bar.close * bar.volume
            let trades = value > 0 && previousClose != 0
            ratios.push(trades ? abs(bar.close / previousClose - 1) / value : 0)
            traded.push(trades ? 1 : 0)
            guard ratios.isFull else { return nil }
            return traded.sum > 0 ? ratios.sum / traded.sum : 0
        }
    }

    /// Roll's effective spread (R. Roll, "A simple implicit measure of the effective bid-ask spread in an efficient
    /// market", Journal of Finance 39(4), 1984): with Δxₜ = xₜ − xₜ₋₁ and c the sample covariance (n − 1 in the
    /// denominator) of the last n pairs (Δxₜ₋₁, Δxₜ) — pandas' `dx.rolling(n).cov(dx.shift(1))` — the spread is
    /// 2√(−c) when c < 0, else 0. Fed closes it is in price units; fed log closes, a relative spread. Lookback n + 1.
    public struct RollSpread: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var previous: Double?
        private var previousChange: Double?
        private var pairs: PairSums

        public init(period: Int = 20) {
            precondition(period >= 2, "RollSpread period must be at least 2")
            self.period = period
            pairs = PairSums(capacity: period)
        }

        public var lookback: Int { period + 1 }

        public mutating func update(_ value: Double) -> Double? {
            defer { previous = value }
            guard let previous else { return nil }
            let change = value - previous
            defer { previousChange = change }
            guard let previousChange else { return nil }
            pairs.push(previousChange, change)
            guard pairs.isFull else { return nil }
            let covariance = pairs.xy / Double(period - 1)
            return covariance < 0 ? 2 * (-covariance).squareRoot() : 0
        }
    }

    /// Corwin–Schultz high-low spread (S. Corwin & P. Schultz, "A simple way to estimate bid-ask spreads from daily
    /// high and low prices", Journal of Finance 67(2), 2012), per pair of consecutive bars:
    /// β = ln²(h/l) + ln²(h₋₁/l₋₁), γ = ln²(max(h, h₋₁)/min(l, l₋₁)), α = (√(2β) − √β)/(3 − 2√2) − √(γ/(3 − 2√2)),
    /// S = 2(e^α − 1)/(1 + e^α), negative estimates set to 0 (as the paper does); the feature is the mean S over the
    /// last n pairs. The paper's overnight adjustment is left out: crypto bars have no overnight. Lookback n.
    public struct CorwinSchultz: StreamingIndicator {
        private var previous: TA.Candle?
        private var spreads: RollingSum

        public init(period: Int = 20) {
            precondition(period >= 1, "CorwinSchultz period must be at least 1")
            spreads = RollingSum(capacity: period)
        }

        public var lookback: Int { spreads.capacity }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previous = bar }
            guard let p = previous else { return nil }
            let now = log(bar.high / bar.low), before = log(p.high / p.low)
            let beta = now * now + before * before
            let twoBar = log(max(bar.high, p.high) / min(bar.low, p.low))
            let gamma = twoBar * twoBar
            let denominator = 3 - 2 * 2.0.squareRoot()
            let alpha = ((2 * beta).squareRoot() - beta.squareRoot()) / denominator - (gamma / denominator).squareRoot()
            let spread = 2 * (exp(alpha) - 1) / (1 + exp(alpha))
            spreads.push(max(0, spread))
            return spreads.isFull ? spreads.mean : nil
        }
    }

    /// Signed volume by bulk volume classification (D. Easley, M. López de Prado & M. O'Hara, "Flow toxicity and
    /// liquidity in a high-frequency world", Review of Financial Studies 25(5), 2012): the bar's buy share is
    /// Φ(Δc / σ) with Φ the standard normal distribution function, Δc = c − c₋₁ and σ the sample standard deviation
    /// of the last n close changes (this one included); signed volume = v·(2Φ(Δc/σ) − 1), from −v (all sells) to v
    /// (all buys); 0 when σ = 0. Lookback n.
    public struct BulkVolume: StreamingIndicator {
        public let period: Int
        private var previousClose: Double?
        private var changes: RollingStats

        public init(period: Int = 20) {
            precondition(period >= 2, "BulkVolume period must be at least 2")
            self.period = period
            changes = RollingStats(capacity: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previousClose = bar.close }
            guard let previousClose else { return nil }
            let change = bar.close - previousClose
            changes.push(change)
            guard changes.isFull else { return nil }
            let sigma = changes.sampleVariance.squareRoot()
            guard sigma > 0 else { return 0 }
            // 2Φ(z) − 1 = erf(z/√2)
            return bar.volume * erf(change / sigma / 2.0.squareRoot())
        }
    }
}
