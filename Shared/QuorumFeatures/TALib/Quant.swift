// Statistical features quants use: rolling z-score, moments (mean, standard deviation, skewness, kurtosis),
// autocorrelation, Hurst exponent (rescaled range) and permutation entropy. All are `SeriesIndicator`s of whatever series they are fed — the close when fed a
// bar; the moments, autocorrelation, Hurst and entropy are meant for returns (feed them `LogReturn`'s values).
// References: pandas' rolling estimators (scripts/reference_features.py) where pandas has one, otherwise the
// publication cited per type.

import Foundation

extension TA {
    /// Rolling z-score over the last n values: (x − mean) / s with s the sample standard deviation (n − 1 in the
    /// denominator), pandas' `(x - x.rolling(n).mean()) / x.rolling(n).std()`; 0 when s = 0. x − mean and s come
    /// from `PowerSums` (deviations from a nearby reference), so a window of nearly equal prices keeps its digits.
    /// Lookback n − 1.
    public struct ZScore: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var sums: PowerSums

        public init(period: Int = 20) {
            precondition(period >= 2, "ZScore period must be at least 2")
            self.period = period
            sums = PowerSums(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            sums.push(value)
            guard sums.isFull else { return nil }
            let s = (sums.central.m2 / Double(period - 1)).squareRoot()
            return s > 0 ? sums.deviation(of: value) / s : 0
        }
    }

    /// The last `capacity` values and their central sums m_k = Σ(x − x̄)^k for k = 2, 3, 4, amortised O(1) per push:
    /// running power sums of the deviations from a reference value, which is reset to the window mean (and the sums
    /// recomputed exactly) once every `capacity` replacements, so they do not drift, and also whenever the window
    /// mean has moved more than one standard deviation away from it (a trending series), so that the conversion to
    /// central sums does not cancel.
    struct PowerSums: Sendable, Codable {
        private var window: Ring
        private var reference = 0.0
        private var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
        private var replacements = 0

        init(capacity: Int) { window = Ring(capacity: capacity) }

        var isFull: Bool { window.isFull }

        mutating func push(_ x: Double) {
            if window.count == 0 { reference = x }
            add(x, sign: 1)
            if let old = window.push(x) {
                add(old, sign: -1)
                replacements += 1
                let n = Double(window.count), mu = s1 / n
                if replacements >= window.capacity || mu * mu * n > s2 - n * mu * mu { recenter() }
            }
        }

        /// The mean of the held values.
        var mean: Double { reference + s1 / Double(window.count) }

        /// x − mean, without rounding x and the mean separately.
        func deviation(of x: Double) -> Double { (x - reference) - s1 / Double(window.count) }

        /// Σ(x − x̄)², Σ(x − x̄)³, Σ(x − x̄)⁴ over the held values (from the sums about the reference).
        var central: (m2: Double, m3: Double, m4: Double) {
            let n = Double(window.count)
            let mu = s1 / n
            let m2 = s2 - n * mu * mu
            let m3 = s3 - 3 * mu * s2 + 2 * n * mu * mu * mu
            let m4 = s4 - 4 * mu * s3 + 6 * mu * mu * s2 - 3 * n * mu * mu * mu * mu
            return (max(0, m2), m3, max(0, m4))
        }

        private mutating func add(_ x: Double, sign: Double) {
            let d = x - reference, d2 = d * d
            s1 += sign * d
            s2 += sign * d2
            s3 += sign * d2 * d
            s4 += sign * d2 * d2
        }

        private mutating func recenter() {
            replacements = 0
            var sum = 0.0
            window.forEach { sum += $0 }
            reference = sum / Double(window.count)
            (s1, s2, s3, s4) = (0, 0, 0, 0)
            window.forEach { add($0, sign: 1) }
        }
    }

    /// The first four moments of a window (`Moments`).
    public struct MomentsValue: Sendable, Hashable {
        public var mean: Double
        /// Sample standard deviation (n − 1 in the denominator), pandas' `rolling(n).std()`.
        public var standardDeviation: Double
        /// Bias-corrected skewness, pandas' `rolling(n).skew()`.
        public var skewness: Double
        /// Bias-corrected excess kurtosis, pandas' `rolling(n).kurt()`.
        public var kurtosis: Double
    }

    /// Rolling mean, standard deviation, skewness and excess kurtosis of the last n values, with the estimators
    /// pandas' rolling `mean`, `std`, `skew` and `kurt` use: with m_k = Σ(x − x̄)^k,
    /// s = √(m2/(n − 1)), skewness G1 = √(n(n − 1))/(n − 2)·(m3/n)/(m2/n)^1.5 (the bias-corrected Fisher–Pearson
    /// coefficient) and excess kurtosis G2 = (n + 1)n(n − 1)/((n − 2)(n − 3))·m4/m2² − 3(n − 1)²/((n − 2)(n − 3));
    /// skewness and kurtosis are 0 for a constant window. Amortised O(1) (`PowerSums`). Lookback n − 1.
    public struct Moments: SeriesIndicator {
        public typealias Output = MomentsValue

        public let period: Int
        private var sums: PowerSums

        public init(period: Int = 30) {
            precondition(period >= 4, "Moments period must be at least 4 (kurtosis needs n − 3 > 0)")
            self.period = period
            sums = PowerSums(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> MomentsValue? {
            sums.push(value)
            guard sums.isFull else { return nil }
            let n = Double(period), c = sums.central
            let deviation = (c.m2 / (n - 1)).squareRoot()
            guard c.m2 > 0 else { return MomentsValue(mean: sums.mean, standardDeviation: 0, skewness: 0, kurtosis: 0) }
            let variance = c.m2 / n
            let skewness = (n * (n - 1)).squareRoot() / (n - 2) * (c.m3 / n) / (variance * variance.squareRoot())
            let d = (n - 2) * (n - 3)
            let kurtosis = (n + 1) * n * (n - 1) / d * c.m4 / (c.m2 * c.m2) - 3 * (n - 1) * (n - 1) / d
            return MomentsValue(mean: sums.mean, standardDeviation: deviation, skewness: skewness, kurtosis: kurtosis)
        }
    }

    /// Rolling autocorrelation at lag k over the last n values: Pearson's r between the n − k pairs
    /// (xᵢ₋ₖ, xᵢ) inside the window, what pandas' `Series.autocorr(k)` returns for that window; 0 when either side
    /// is constant. O(1) per bar (`PairSums`). Lookback n − 1.
    public struct Autocorrelation: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let lag: Int
        private var lagged: Lag
        private var pairs: PairSums

        public init(period: Int = 30, lag: Int = 1) {
            precondition(lag >= 1, "Autocorrelation lag must be at least 1")
            precondition(period >= lag + 2, "Autocorrelation needs a period of at least lag + 2")
            self.period = period
            self.lag = lag
            lagged = Lag(period: lag)
            pairs = PairSums(capacity: period - lag)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            guard let earlier = lagged.push(value) else { return nil }
            pairs.push(earlier, value)
            guard pairs.isFull else { return nil }
            let product = pairs.xx * pairs.yy
            return product > 0 ? pairs.xy / product.squareRoot() : 0
        }
    }

    /// Rolling Hurst exponent by rescaled-range (R/S) analysis (H. E. Hurst, "Long-term storage capacity of
    /// reservoirs", Trans. Am. Soc. Civil Eng. 116, 1951; B. Mandelbrot & J. Wallis, Water Resources Research 5,
    /// 1969) of the last n values, which should be returns. For each chunk size s = minChunk, 2·minChunk,
    /// 4·minChunk, … ≤ n the window is cut into ⌊n/s⌋ consecutive chunks of s values, the newest ending at the newest
    /// value (older leftovers unused); per chunk R = max − min of the cumulative deviations from the chunk mean
    /// (0, y₁, …, yₛ) and S = its population standard deviation; (R/S)ₛ is the mean of R/S over the chunks with
    /// S > 0. H is the least-squares slope of ln (R/S)ₛ on ln s; 0.5 when fewer than two chunk sizes have a value.
    /// O(n) per bar (no O(1) update exists). Lookback n − 1.
    public struct Hurst: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let minChunk: Int
        private var window: Ring
        private var values: [Double]

        public init(period: Int = 128, minChunk: Int = 8) {
            precondition(minChunk >= 2, "Hurst minChunk must be at least 2")
            precondition(period >= 2 * minChunk, "Hurst period must be at least 2·minChunk (two chunk sizes)")
            self.period = period
            self.minChunk = minChunk
            window = Ring(capacity: period)
            values = Array(repeating: 0, count: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            window.push(value)
            guard window.isFull else { return nil }
            for age in 0..<period { values[period - 1 - age] = window[age: age] }
            var xs: [Double] = [], ys: [Double] = []
            var size = minChunk
            while size <= period {
                if let rs = Self.rescaledRange(values, chunk: size) {
                    xs.append(log(Double(size)))
                    ys.append(log(rs))
                }
                size *= 2
            }
            guard xs.count >= 2 else { return 0.5 }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            var sxy = 0.0, sxx = 0.0
            for (x, y) in zip(xs, ys) {
                sxy += (x - mx) * (y - my)
                sxx += (x - mx) * (x - mx)
            }
            return sxy / sxx
        }

        /// Mean R/S over the ⌊n/s⌋ chunks of `chunk` values that end at the newest value; nil when no chunk varies.
        static func rescaledRange(_ values: [Double], chunk: Int) -> Double? {
            let count = values.count / chunk
            var total = 0.0, used = 0
            for c in 0..<count {
                let end = values.count - c * chunk
                let slice = values[(end - chunk)..<end]
                let mean = slice.reduce(0, +) / Double(chunk)
                var cumulative = 0.0, high = 0.0, low = 0.0, squares = 0.0
                for x in slice {
                    cumulative += x - mean
                    high = max(high, cumulative)
                    low = min(low, cumulative)
                    squares += (x - mean) * (x - mean)
                }
                let s = (squares / Double(chunk)).squareRoot()
                guard s > 0 else { continue }
                total += (high - low) / s
                used += 1
            }
            return used > 0 && total > 0 ? total / Double(used) : nil
        }
    }

    /// Rolling permutation entropy (C. Bandt & B. Pompe, "Permutation entropy: a natural complexity measure for time
    /// series", Phys. Rev. Lett. 88, 174102, 2002) of the last n values: each run of `order` values
    /// (xᵢ, xᵢ₊τ, …, xᵢ₊₍ₘ₋₁₎τ) with delay τ inside the window has an ordinal pattern (the order that sorts it, ties
    /// ranked by position as a stable sort does); with pⱼ the share of the n − (m − 1)τ runs that have pattern j,
    /// H = −Σ pⱼ ln pⱼ / ln(m!), 0 (one pattern only) … 1 (all patterns equally often). O(m!) per bar, order
    /// 2…6. Lookback n − 1.
    public struct PermutationEntropy: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let order: Int
        public let delay: Int
        private var recent: Ring
        private var patterns: Ring
        private var counts: [Int]
        private var seen = 0

        public init(period: Int = 50, order: Int = 3, delay: Int = 1) {
            precondition((2...6).contains(order), "PermutationEntropy order must be 2…6")
            precondition(delay >= 1, "PermutationEntropy delay must be at least 1")
            precondition(period > (order - 1) * delay, "PermutationEntropy period must exceed (order − 1)·delay")
            self.period = period
            self.order = order
            self.delay = delay
            recent = Ring(capacity: (order - 1) * delay + 1)
            patterns = Ring(capacity: period - (order - 1) * delay)
            counts = Array(repeating: 0, count: (1...order).reduce(1, *))
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> Double? {
            seen += 1
            recent.push(value)
            guard recent.isFull else { return nil }
            let pattern = patternIndex()
            counts[pattern] += 1
            if let old = patterns.push(Double(pattern)) { counts[Int(old)] -= 1 }
            guard seen >= period else { return nil }
            let total = Double(patterns.count)
            var entropy = 0.0
            for c in counts where c > 0 {
                let p = Double(c) / total
                entropy -= p * log(p)
            }
            return entropy / log(Double(counts.count))
        }

        /// The Lehmer code of the permutation that stably sorts the newest run (0 ..< m!).
        private func patternIndex() -> Int {
            var run = [Double](repeating: 0, count: order)
            for k in 0..<order { run[k] = recent[age: (order - 1 - k) * delay] }
            let ranks = (0..<order).sorted { run[$0] < run[$1] || (run[$0] == run[$1] && $0 < $1) }
            var index = 0
            for i in 0..<order {
                var smaller = 0
                for j in (i + 1)..<order where ranks[j] < ranks[i] { smaller += 1 }
                index = index * (order - i) + smaller
            }
            return index
        }
    }
}
