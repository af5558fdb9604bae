// Statistical indicators: STDDEV, BBANDS, LINEARREG (value, slope, intercept, angle), BETA, CORREL.

import Foundation

extension TA {
    /// Standard deviation, TA-Lib `STDDEV(n, k)`: k·σ with σ the population standard deviation of the last n
    /// values (0 when the variance < 10⁻⁸). σ comes from `RollingStats` (windowed Welford), more accurate than
    /// TA-Lib's Σx²/n − mean²; the two agree to rounding. Lookback n − 1.
    public struct STDDEV: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let deviations: Double
        private var stats: RollingStats

        public init(period: Int = 5, deviations: Double = 1) {
            precondition(period >= 2, "STDDEV period must be at least 2")
            self.period = period
            self.deviations = deviations
            stats = RollingStats(capacity: period)
        }

        public var lookback: Int { period - 1 }

        /// σ of the window (before the deviation factor), or nil while warming up.
        mutating func sigma(_ value: Double) -> Double? {
            stats.push(value)
            guard stats.isFull else { return nil }
            let variance = stats.populationVariance
            return TA.isZeroOrNegative(variance) ? 0 : variance.squareRoot()
        }

        var mean: Double { stats.average }

        public mutating func update(_ value: Double) -> Double? { sigma(value).map { $0 * deviations } }
    }

    /// Upper, middle and lower Bollinger band.
    public struct Bands: Sendable, Hashable {
        public var upper: Double
        public var middle: Double
        public var lower: Double
    }

    /// Bollinger bands, TA-Lib `BBANDS(n, up, down, matype)`: middle = MA(n) (TA-Lib's default SMA),
    /// upper = middle + up·σ, lower = middle − down·σ with σ the population standard deviation of the last n values
    /// (`STDDEV`). Lookback: the `MA`'s (n − 1 for SMA).
    public struct BBANDS: SeriesIndicator {
        public typealias Output = Bands

        public let up: Double
        public let down: Double
        private var deviation: STDDEV
        /// The middle band when it is not the SMA (the SMA is the window mean `deviation` already keeps).
        private var average: MA?

        public init(period: Int = 5, up: Double = 2, down: Double = 2, type: MAType = .sma) {
            self.up = up
            self.down = down
            deviation = STDDEV(period: period)
            average = type == .sma ? nil : MA(period: period, type: type)
        }

        public var lookback: Int { max(deviation.lookback, average?.lookback ?? 0) }

        public mutating func update(_ value: Double) -> Bands? {
            let sigma = deviation.sigma(value)
            let moving = average?.update(value)
            guard let sigma else { return nil }
            let middle: Double
            if average == nil {
                middle = deviation.mean
            } else {
                guard let moving else { return nil }
                middle = moving
            }
            return Bands(upper: middle + up * sigma, middle: middle, lower: middle - down * sigma)
        }
    }

    /// The least-squares line through the last n values against time (0 = oldest … n − 1 = newest).
    public struct LinearFit: Sendable, Hashable {
        /// TA-Lib `LINEARREG_SLOPE`.
        public var slope: Double
        /// TA-Lib `LINEARREG_INTERCEPT`: the line at the oldest bar of the window.
        public var intercept: Double
        /// TA-Lib `LINEARREG`: the line at the newest bar, intercept + slope·(n − 1).
        public var value: Double
        /// TA-Lib `LINEARREG_ANGLE`: atan(slope) in degrees.
        public var angle: Double
    }

    /// Linear regression, TA-Lib `LINEARREG`, `LINEARREG_SLOPE`, `LINEARREG_INTERCEPT` and `LINEARREG_ANGLE` (n) in
    /// one: with t = 0…n − 1 over the window, slope = (n·Σt·x − Σt·Σx) / (n·Σt² − (Σt)²),
    /// intercept = (Σx − slope·Σt) / n, from `WeightedWindow`'s running sums. Lookback n − 1.
    public struct LINEARREG: SeriesIndicator {
        public typealias Output = LinearFit
        public let period: Int
        private var window: WeightedWindow

        public init(period: Int = 14) {
            precondition(period >= 2, "LINEARREG period must be at least 2")
            self.period = period
            window = WeightedWindow(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ value: Double) -> LinearFit? {
            window.push(value)
            guard window.isFull else { return nil }
            let n = Double(period)
            let sumT = n * (n - 1) / 2
            let sumT2 = n * (n - 1) * (2 * n - 1) / 6
            let slope = (n * window.weighted - sumT * window.sum) / (n * sumT2 - sumT * sumT)
            let intercept = (window.sum - slope * sumT) / n
            return LinearFit(slope: slope, intercept: intercept, value: intercept + slope * (n - 1),
                             angle: atan(slope) * (180 / Double.pi))
        }
    }

    /// Beta, TA-Lib `BETA(n)` of x against y: on one-bar returns rₓ = x/x₋₁ − 1, r_y likewise (0 when the previous
    /// value ≈ 0), over the last n returns beta = (n·Σrₓr_y − Σrₓ·Σr_y) / (n·Σrₓ² − (Σrₓ)²), 0 when that
    /// denominator ≈ 0. Lookback n.
    public struct BETA: PairIndicator {
        public let period: Int
        private var previous: TA.Point?
        private var sx: RollingSum
        private var sy: RollingSum
        private var sxx: RollingSum
        private var sxy: RollingSum

        public init(period: Int = 5) {
            precondition(period >= 1, "BETA period must be at least 1")
            self.period = period
            sx = RollingSum(capacity: period)
            sy = sx
            sxx = sx
            sxy = sx
        }

        public var lookback: Int { period }

        public mutating func update(_ x: Double, _ y: Double) -> Double? {
            defer { previous = TA.Point(x: x, y: y) }
            guard let previous else { return nil }
            let rx = TA.isZero(previous.x) ? 0 : (x - previous.x) / previous.x
            let ry = TA.isZero(previous.y) ? 0 : (y - previous.y) / previous.y
            sx.push(rx)
            sy.push(ry)
            sxx.push(rx * rx)
            sxy.push(rx * ry)
            guard sx.isFull else { return nil }
            let n = Double(period)
            let denominator = n * sxx.sum - sx.sum * sx.sum
            return TA.isZero(denominator) ? 0 : (n * sxy.sum - sx.sum * sy.sum) / denominator
        }
    }

    /// Pearson's correlation, TA-Lib `CORREL(n)`, of the last n (x, y) pairs:
    /// (Σxy − ΣxΣy/n) / √((Σx² − (Σx)²/n)(Σy² − (Σy)²/n)), 0 when the product under the root < 10⁻⁸.
    /// The sums are `PairSums` (deviations from reference means reset every n bars): on prices, Σx² − (Σx)²/n would
    /// otherwise cancel most of its digits (TA-Lib's own values lose up to ~10⁻⁹ relative that way). Lookback n − 1.
    public struct CORREL: PairIndicator {
        public let period: Int
        private var sums: PairSums

        public init(period: Int = 30) {
            precondition(period >= 1, "CORREL period must be at least 1")
            self.period = period
            sums = PairSums(capacity: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ x: Double, _ y: Double) -> Double? {
            sums.push(x, y)
            guard sums.isFull else { return nil }
            let product = sums.xx * sums.yy
            return TA.isZeroOrNegative(product) ? 0 : sums.xy / product.squareRoot()
        }
    }

    /// The last `capacity` (x, y) pairs and their centred sums of squares and products, O(1) per push:
    /// xx = Σ(x − x̄)², yy = Σ(y − ȳ)², xy = Σ(x − x̄)(y − ȳ) over the held pairs. Running sums are kept of the
    /// deviations from reference values that are reset to the window means (and the sums recomputed exactly) once
    /// every `capacity` replacements, so they neither cancel on large values such as prices nor drift.
    struct PairSums: Sendable, Codable {
        private var xs: Ring
        private var ys: Ring
        private var reference = Point(x: 0, y: 0)
        private var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
        private var replacements = 0

        init(capacity: Int) {
            xs = Ring(capacity: capacity)
            ys = Ring(capacity: capacity)
        }

        var isFull: Bool { xs.isFull }
        var count: Int { xs.count }
        var xx: Double { sxx - sx * sx / Double(count) }
        var yy: Double { syy - sy * sy / Double(count) }
        var xy: Double { sxy - sx * sy / Double(count) }

        mutating func push(_ x: Double, _ y: Double) {
            if xs.count == 0 { reference = Point(x: x, y: y) }
            let oldX = xs.push(x), oldY = ys.push(y)
            add(x, y, sign: 1)
            if let oldX, let oldY {
                add(oldX, oldY, sign: -1)
                replacements += 1
                if replacements >= xs.capacity { recenter() }
            }
        }

        private mutating func add(_ x: Double, _ y: Double, sign: Double) {
            let dx = x - reference.x, dy = y - reference.y
            sx += sign * dx
            sy += sign * dy
            sxx += sign * dx * dx
            syy += sign * dy * dy
            sxy += sign * dx * dy
        }

        private mutating func recenter() {
            replacements = 0
            var meanX = 0.0, meanY = 0.0
            xs.forEach { meanX += $0 }
            ys.forEach { meanY += $0 }
            reference = Point(x: meanX / Double(xs.count), y: meanY / Double(ys.count))
            (sx, sy, sxx, syy, sxy) = (0, 0, 0, 0, 0)
            for age in 0..<xs.count { add(xs[age: age], ys[age: age], sign: 1) }
        }
    }
}
