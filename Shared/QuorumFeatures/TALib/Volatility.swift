// Range-based volatility estimators over rolling windows: Parkinson, Garman–Klass, Rogers–Satchell, Yang–Zhang.
// Each returns the per-bar volatility σ (the square root of the mean per-bar variance over the window), not
// annualised: multiply by √(bars per year) to annualise.

import Foundation

extension TA {
    /// The mean of the last n values of a per-bar term, O(1) per bar (`RollingSum`), once n terms exist; σ is its
    /// square root (negative means, possible for Garman–Klass, count as 0).
    struct RollingVariance: Sendable, Codable {
        private var terms: RollingSum

        init(period: Int, name: String) {
            precondition(period >= 1, "\(name) period must be at least 1")
            terms = RollingSum(capacity: period)
        }

        var period: Int { terms.capacity }

        mutating func sigma(_ term: Double) -> Double? {
            terms.push(term)
            return terms.isFull ? max(0, terms.mean).squareRoot() : nil
        }
    }

    /// Parkinson volatility (M. Parkinson, "The extreme value method for estimating the variance of the rate of
    /// return", Journal of Business 53(1), 1980): σ² = mean over n bars of (ln(h/l))² / (4 ln 2). Lookback n − 1.
    public struct Parkinson: StreamingIndicator {
        private var variance: RollingVariance

        public init(period: Int = 20) { variance = RollingVariance(period: period, name: "Parkinson") }

        public var lookback: Int { variance.period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let hl = log(bar.high / bar.low)
            return variance.sigma(hl * hl / (4 * log(2.0)))
        }
    }

    /// Garman–Klass volatility (M. Garman & M. Klass, "On the estimation of security price volatilities from
    /// historical data", Journal of Business 53(1), 1980): σ² = mean over n bars of
    /// ½(ln(h/l))² − (2 ln 2 − 1)(ln(c/o))² (0 if that mean is negative). Lookback n − 1.
    public struct GarmanKlass: StreamingIndicator {
        private var variance: RollingVariance

        public init(period: Int = 20) { variance = RollingVariance(period: period, name: "GarmanKlass") }

        public var lookback: Int { variance.period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let hl = log(bar.high / bar.low), co = log(bar.close / bar.open)
            return variance.sigma(0.5 * hl * hl - (2 * log(2.0) - 1) * co * co)
        }
    }

    /// The Rogers–Satchell per-bar variance ln(h/c)·ln(h/o) + ln(l/c)·ln(l/o).
    static func rogersSatchell(_ bar: TA.Candle) -> Double {
        log(bar.high / bar.close) * log(bar.high / bar.open) + log(bar.low / bar.close) * log(bar.low / bar.open)
    }

    /// Rogers–Satchell volatility (L. Rogers & S. Satchell, "Estimating variance from high, low and closing prices",
    /// Annals of Applied Probability 1(4), 1991): σ² = mean over n bars of ln(h/c)·ln(h/o) + ln(l/c)·ln(l/o), which
    /// stays unbiased under a drift. Lookback n − 1.
    public struct RogersSatchell: StreamingIndicator {
        private var variance: RollingVariance

        public init(period: Int = 20) { variance = RollingVariance(period: period, name: "RogersSatchell") }

        public var lookback: Int { variance.period - 1 }
        public mutating func update(_ bar: TA.Candle) -> Double? { variance.sigma(TA.rogersSatchell(bar)) }
    }

    /// Yang–Zhang volatility (D. Yang & Q. Zhang, "Drift-independent volatility estimation based on high, low, open,
    /// and close prices", Journal of Business 73(3), 2000) over n bars: σ² = σₒ² + k·σ_c² + (1 − k)·σ_rs² with
    /// σₒ² the sample variance of the opening jumps ln(o/c₋₁), σ_c² that of ln(c/o), σ_rs² the mean Rogers–Satchell
    /// term and k = 0.34 / (1.34 + (n + 1)/(n − 1)). On a market that trades around the clock the opening jump is the
    /// gap between one bar's close and the next bar's open. Lookback n (the first jump needs the previous close).
    public struct YangZhang: StreamingIndicator {
        public let period: Int
        private let k: Double
        private var previousClose: Double?
        private var jumps: RollingStats
        private var bodies: RollingStats
        private var rs: RollingSum

        public init(period: Int = 20) {
            precondition(period >= 2, "YangZhang period must be at least 2")
            self.period = period
            let n = Double(period)
            k = 0.34 / (1.34 + (n + 1) / (n - 1))
            jumps = RollingStats(capacity: period)
            bodies = RollingStats(capacity: period)
            rs = RollingSum(capacity: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previousClose = bar.close }
            guard let previousClose else { return nil }
            jumps.push(log(bar.open / previousClose))
            bodies.push(log(bar.close / bar.open))
            rs.push(TA.rogersSatchell(bar))
            guard rs.isFull else { return nil }
            let variance = jumps.sampleVariance + k * bodies.sampleVariance + (1 - k) * rs.mean
            return max(0, variance).squareRoot()
        }
    }
}
