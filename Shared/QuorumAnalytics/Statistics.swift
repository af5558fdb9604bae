import Foundation

/// Descriptive statistics behind every metric of this module, with the conventions of numpy, bottleneck and pandas
/// (the libraries that empyrical and quantstats compute with), so that the metrics equal theirs to rounding.
///
/// Sums are sequential (as bottleneck's). Empty or too-short input gives NaN, never a trap.
public enum Statistics {
    /// Arithmetic mean Σx / n (numpy/bottleneck `mean`). NaN when `values` is empty.
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        var sum = 0.0
        for v in values { sum += v }
        return sum / Double(values.count)
    }

    /// Standard deviation √(Σ(x − x̄)² / (n − ddof)), two-pass (bottleneck `nanstd`, numpy `std`).
    /// `ddof` = 1 gives the sample standard deviation (empyrical's and pandas' default), 0 the population one.
    /// NaN when `values.count <= ddof`.
    public static func standardDeviation(_ values: [Double], ddof: Int = 1) -> Double {
        guard values.count > ddof, ddof >= 0 else { return .nan }
        let m = mean(values)
        var sum = 0.0
        for v in values {
            let d = v - m
            sum += d * d
        }
        return (sum / Double(values.count - ddof)).squareRoot()
    }

    /// The `p`-th percentile (0 ≤ p ≤ 100) with linear interpolation between closest ranks: numpy's default
    /// `percentile(method="linear")`, virtual index `q·(n − 1)` with q = p/100. NaN when `values` is empty or any
    /// value is NaN (as numpy). Between two equal neighbours the result is that value, also when it is infinite
    /// (numpy's interpolation gives NaN there).
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        percentiles(values, [p])[0]
    }

    /// Several percentiles of the same values (sorted once); see `percentile(_:_:)`.
    public static func percentiles(_ values: [Double], _ ps: [Double]) -> [Double] {
        guard !values.isEmpty, !values.contains(where: \.isNaN) else { return ps.map { _ in .nan } }
        return percentiles(sorted: values.sorted(), ps)
    }

    /// Percentiles of values already sorted ascending, without NaN; see `percentile(_:_:)`.
    public static func percentiles(sorted: [Double], _ ps: [Double]) -> [Double] {
        ps.map { percentile(sortedPrefix: sorted[...], count: sorted.count, $0) }
    }

    /// The `p`-th percentile of `count` values of which `sortedPrefix` are the smallest, ascending, without NaN: it reads
    /// the two values around the virtual index `q·(count − 1)`, so the prefix needs ⌊q·(count − 1)⌋ + 2 of them (or all).
    /// NaN when `count` is 0. See `percentile(_:_:)`.
    static func percentile(sortedPrefix sorted: ArraySlice<Double>, count: Int, _ p: Double) -> Double {
        precondition(p >= 0 && p <= 100, "percentile \(p) is outside 0...100")
        guard count > 0 else { return .nan }
        let n = Double(count)
        let q = p / 100
        // numpy's virtual index for the linear method: n·q + (α + q·(1 − α − β)) − 1 with α = β = 1.
        let index = min(max(n * q + (1 + q * (1 - 2)) - 1, 0), n - 1)
        let lower = index.rounded(.down)
        let t = index - lower
        let a = sorted[sorted.startIndex + Int(lower)]
        let b = sorted[sorted.startIndex + min(Int(lower) + 1, count - 1)]
        // Equal neighbours need no interpolation (numpy would turn two infinities into NaN here).
        if a == b { return a }
        let diff = b - a
        // numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t
    }

    /// The `m` smallest of `values` (no NaN), ascending: what `values.sorted().prefix(m)` holds, without sorting all
    /// of them when `m` is a small part (the 5 % tail of a million returns). Values below the m-th smallest kept so far
    /// are collected, and the collection is cut back to `m` whenever it doubles.
    public static func smallest(_ m: Int, of values: [Double]) -> [Double] {
        precondition(m >= 0, "a negative count of values")
        guard m > 0 else { return [] }
        guard m < values.count / 4 else { return Array(values.sorted().prefix(m)) }
        var kept = Array(values[..<m])
        kept.reserveCapacity(2 * m)
        kept.sort()
        var bound = kept[m - 1]
        for v in values[m...] where v < bound {
            kept.append(v)
            if kept.count == 2 * m {
                kept.sort()
                kept.removeLast(m)
                bound = kept[m - 1]
            }
        }
        kept.sort()
        kept.removeLast(kept.count - m)
        return kept
    }

    /// Sample skewness, adjusted Fisher–Pearson G1 = √(n(n−1))/(n−2) · m₃/m₂^{3/2} with m_k = Σ(x − x̄)^k / n
    /// (pandas `Series.skew`, which quantstats' `skew` calls). NaN with fewer than 3 values or when all values are
    /// equal (as pandas 3).
    public static func skewness(_ values: [Double]) -> Double {
        let n = Double(values.count)
        guard values.count >= 3, let (m2, m3, _) = centralSums(values) else { return .nan }
        let g1 = (m3 / n) / pow(m2 / n, 1.5)
        return (n * (n - 1)).squareRoot() / (n - 2) * g1
    }

    /// Sample excess kurtosis, G2 = n(n+1)(n−1)/((n−2)(n−3)) · Σ(x − x̄)⁴/(Σ(x − x̄)²)² − 3(n−1)²/((n−2)(n−3))
    /// (pandas `Series.kurt`, which quantstats' `kurtosis` calls; 0 for a normal distribution). Add 3 for the
    /// non-excess kurtosis γ₄ of the Sharpe-ratio statistics. NaN with fewer than 4 values or when all values are equal.
    public static func excessKurtosis(_ values: [Double]) -> Double {
        let n = Double(values.count)
        guard values.count >= 4, let (m2, _, m4) = centralSums(values) else { return .nan }
        let numerator = n * (n + 1) * (n - 1) * m4
        let denominator = (n - 2) * (n - 3) * m2 * m2
        let adjustment = 3 * (n - 1) * (n - 1) / ((n - 2) * (n - 3))
        return numerator / denominator - adjustment
    }

    /// Pearson's correlation coefficient Σ(x − x̄)(y − ȳ) / √(Σ(x − x̄)² · Σ(y − ȳ)²) of paired values, two-pass
    /// (pandas `Series.corr`, numpy `corrcoef`). NaN when the lengths differ, there are fewer than 2 pairs, or either
    /// side is constant (as pandas).
    public static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count, x.count >= 2 else { return .nan }
        let mx = mean(x), my = mean(y)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return sxy / (sxx * syy).squareRoot()
    }

    /// The median (the 50th `percentile`: the mean of the two middle values of an even count) and the median absolute
    /// deviation from it, median(|x − median|), unscaled; multiply by 1.4826 for a consistent estimate of a normal
    /// distribution's standard deviation. NaN for both when `values` is empty or holds NaN.
    public static func medianAbsoluteDeviation(_ values: [Double]) -> (median: Double, deviation: Double) {
        let median = percentile(values, 50)
        guard median.isFinite else { return (median, .nan) }
        return (median, percentile(values.map { abs($0 - median) }, 50))
    }

    /// Σ(x − x̄)², Σ(x − x̄)³, Σ(x − x̄)⁴; nil when every value is the same (zero dispersion).
    static func centralSums(_ values: [Double]) -> (Double, Double, Double)? {
        guard let first = values.first, values.contains(where: { $0 != first }) else { return nil }
        let m = mean(values)
        var s2 = 0.0, s3 = 0.0, s4 = 0.0
        for v in values {
            let d = v - m
            let d2 = d * d
            s2 += d2
            s3 += d2 * d
            s4 += d2 * d2
        }
        return (s2, s3, s4)
    }
}

/// The standard normal distribution N(0, 1), double precision (as scipy.stats.norm to ~1e-15 relative).
public enum Normal {
    /// Φ(x) = P(Z ≤ x) = erfc(−x/√2) / 2. Accurate in both tails (no cancellation).
    public static func cdf(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        return 0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// Φ⁻¹(p): the x with Φ(x) = p. −∞ at 0, +∞ at 1, NaN outside [0, 1].
    ///
    /// Starts from the rational approximation of Abramowitz & Stegun 26.2.23 (error < 4.5e-4) on the smaller tail
    /// and refines with Halley steps on `cdf` until the step is below 1e-15 relative, so the result is as exact as
    /// `erfc`. For p > 1/2 it solves the upper tail with 1 − p, which is exact in binary floating point.
    public static func quantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p > 0.5 { return -lowerQuantile(1 - p) }
        return lowerQuantile(p)
    }

    /// Φ⁻¹(p) for 0 < p ≤ 1/2.
    private static func lowerQuantile(_ p: Double) -> Double {
        let t = (-2 * log(p)).squareRoot()
        let numerator = 2.515517 + t * (0.802853 + t * 0.010328)
        let denominator = 1 + t * (1.432788 + t * (0.189269 + t * 0.001308))
        var x = -(t - numerator / denominator)
        let sqrt2pi = (2 * Double.pi).squareRoot()
        for _ in 0..<8 {
            let error = cdf(x) - p
            // Halley's method on f(x) = Φ(x) − p: f' = φ(x), f'' = −x φ(x).
            let u = error * sqrt2pi * exp(x * x / 2)
            let step = u / (1 + x * u / 2)
            x -= step
            if abs(step) <= 1e-15 * max(1, abs(x)) { break }
        }
        return x
    }
}
