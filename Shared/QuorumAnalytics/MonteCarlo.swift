/// The 5th, 25th, 50th, 75th and 95th percentiles of a set of values (`Statistics.percentiles`, numpy's linear
/// method), NaN values left out; every field NaN when no value is left.
public struct PercentileBand: Sendable, Equatable {
    /// The percentile levels of the band: 5, 25, 50, 75, 95.
    public static let levels: [Double] = [5, 25, 50, 75, 95]
    /// 5th percentile.
    public var p5: Double
    /// 25th percentile.
    public var p25: Double
    /// Median.
    public var p50: Double
    /// 75th percentile.
    public var p75: Double
    /// 95th percentile.
    public var p95: Double

    /// The band of `values`, NaN left out.
    public init(values: [Double]) {
        let finite = values.filter { !$0.isNaN }
        let p = Statistics.percentiles(finite, Self.levels)
        (p5, p25, p50, p75, p95) = (p[0], p[1], p[2], p[3], p[4])
    }

    /// The five values in level order.
    public var values: [Double] { [p5, p25, p50, p75, p95] }
}

/// One point of a Monte Carlo fan chart: the percentiles across paths of the equity after `step` periods or trades.
public struct FanPoint: Sendable, Equatable {
    /// Periods (bootstrap) or trades (shuffle) since the start; 0 is the start.
    public var step: Int
    /// Percentiles of the paths' equity at that step (growth of 1 for returns, money for trades).
    public var equity: PercentileBand

    /// A fan point.
    public init(step: Int, equity: PercentileBand) {
        self.step = step
        self.equity = equity
    }
}

/// The distribution of a strategy's outcomes over Monte Carlo paths.
public struct MonteCarloResult: Sendable, Equatable {
    /// The seed of the run (path i used `Xoshiro256StarStar(seed: seed, stream: i)`).
    public var seed: UInt64
    /// Per path: total return at the end (fraction).
    public var finalReturns: [Double]
    /// Per path: maximum drawdown (fraction ≤ 0).
    public var maxDrawdowns: [Double]
    /// Per path: annualised Sharpe ratio (`ReturnMetrics.sharpeRatio`); NaN on a path whose equity reached 0 or less.
    public var sharpes: [Double]
    /// Percentiles of `finalReturns`.
    public var finalReturn: PercentileBand
    /// Percentiles of `maxDrawdowns`.
    public var maxDrawdown: PercentileBand
    /// Percentiles of `sharpes` (NaN left out).
    public var sharpe: PercentileBand
    /// The fraction of paths that end with a loss (final return < 0).
    public var probabilityOfLoss: Double
    /// The fan chart: equity percentiles at evenly spaced steps, the start and the end included.
    public var fan: [FanPoint]

    /// Number of paths.
    public var paths: Int { finalReturns.count }

    /// Assembles a result from per-path outcomes and the fan.
    public init(seed: UInt64, finalReturns: [Double], maxDrawdowns: [Double], sharpes: [Double], fan: [FanPoint]) {
        self.seed = seed
        self.finalReturns = finalReturns
        self.maxDrawdowns = maxDrawdowns
        self.sharpes = sharpes
        finalReturn = PercentileBand(values: finalReturns)
        maxDrawdown = PercentileBand(values: maxDrawdowns)
        sharpe = PercentileBand(values: sharpes)
        probabilityOfLoss = finalReturns.isEmpty ? .nan : Double(finalReturns.count { $0 < 0 }) / Double(finalReturns.count)
        self.fan = fan
    }
}

/// Monte Carlo resampling of a backtest: what the same edge could have looked like in another order or another
/// draw of its periods. Deterministic for a seed on every machine: path i draws from
/// `Xoshiro256StarStar(seed: seed, stream: i)` only.
public enum MonteCarlo {
    /// The default number of paths: 1,000.
    public static let defaultPaths = 1_000
    /// The default number of fan-chart points: 101 (every 1 % of the run).
    public static let defaultFanPoints = 101

    /// Trade-order shuffle: each path replays the trades' net PnL in a random order (Fisher–Yates) on an equity
    /// that starts at `startingEquity` and adds each PnL (additive, money). The final return is therefore the same on
    /// every path (Σ pnl / start); drawdowns and the Sharpe ratio vary with the order.
    /// - Drawdown: (e − peak)/peak on the money curve, the peak including the start (below −1 once equity < 0).
    /// - Sharpe: `ReturnMetrics.sharpeRatio` of the per-trade returns pnlₖ / eₖ₋₁, annualised with
    ///   `periodsPerYear` = trades per year (1 gives the per-trade Sharpe); NaN on a path where equity reached 0.
    /// - Fan: equity in money after 0…n trades.
    /// Preconditions: startingEquity > 0, paths ≥ 1, fanPoints ≥ 2.
    public static func shuffleTrades(pnl: [Double], startingEquity: Double, paths: Int = defaultPaths, seed: UInt64,
                                     periodsPerYear: Double = 1, fanPoints: Int = defaultFanPoints) -> MonteCarloResult {
        precondition(startingEquity > 0, "the starting equity must be positive")
        precondition(paths >= 1, "at least one path")
        let steps = fanSteps(count: pnl.count, points: fanPoints)
        var finals: [Double] = [], drawdowns: [Double] = [], sharpes: [Double] = []
        var samples = [Double](repeating: 0, count: paths * steps.count)
        var order = pnl
        var returns = [Double](repeating: 0, count: pnl.count)
        for path in 0..<paths {
            var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(path))
            order = pnl
            shuffle(&order, using: &rng)
            var equity = startingEquity, peak = startingEquity, worst = 0.0, ruined = false
            var next = 0
            for k in 0...order.count {
                if k > 0 {
                    let previous = equity
                    equity += order[k - 1]
                    if previous <= 0 { ruined = true }
                    returns[k - 1] = order[k - 1] / previous
                    peak = max(peak, equity)
                    worst = min(worst, (equity - peak) / peak)
                }
                if next < steps.count, steps[next] == k {
                    samples[path * steps.count + next] = equity
                    next += 1
                }
            }
            finals.append((equity - startingEquity) / startingEquity)
            drawdowns.append(worst)
            sharpes.append(ruined ? .nan : ReturnMetrics.sharpeRatio(returns, periodsPerYear: periodsPerYear))
        }
        return MonteCarloResult(seed: seed, finalReturns: finals, maxDrawdowns: drawdowns, sharpes: sharpes,
                                fan: fan(samples: samples, steps: steps, paths: paths))
    }

    /// (Block) bootstrap of per-period returns: each path draws as many returns as there are, with replacement, in
    /// blocks of `blockLength` consecutive periods (circular: a block that runs past the end wraps to the start;
    /// `blockLength` 1 is the i.i.d. bootstrap; longer blocks keep short-range dependence such as volatility
    /// clusters). The last block is cut to length. Each path compounds from 1.
    /// - Final return `ReturnMetrics.totalReturn`, drawdown `ReturnMetrics.maxDrawdown`, Sharpe
    ///   `ReturnMetrics.sharpeRatio` with `periodsPerYear`, all of the path's returns.
    /// - Fan: growth of 1 after 0…n periods.
    /// Preconditions: returns not empty, blockLength ≥ 1, paths ≥ 1, fanPoints ≥ 2.
    public static func bootstrapReturns(_ returns: [Double], blockLength: Int = 1, paths: Int = defaultPaths, seed: UInt64,
                                        periodsPerYear: Double, fanPoints: Int = defaultFanPoints) -> MonteCarloResult {
        precondition(!returns.isEmpty, "nothing to bootstrap")
        precondition(paths >= 1, "at least one path")
        let steps = fanSteps(count: returns.count, points: fanPoints)
        var finals: [Double] = [], drawdowns: [Double] = [], sharpes: [Double] = []
        var samples = [Double](repeating: 0, count: paths * steps.count)
        for path in 0..<paths {
            var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(path))
            let drawn = blockBootstrapIndices(count: returns.count, blockLength: blockLength, using: &rng).map { returns[$0] }
            var wealth = 1.0
            var next = 0
            for k in 0...drawn.count {
                if k > 0 { wealth *= 1 + drawn[k - 1] }
                if next < steps.count, steps[next] == k {
                    samples[path * steps.count + next] = wealth
                    next += 1
                }
            }
            finals.append(ReturnMetrics.totalReturn(drawn))
            drawdowns.append(ReturnMetrics.maxDrawdown(drawn))
            sharpes.append(ReturnMetrics.sharpeRatio(drawn, periodsPerYear: periodsPerYear))
        }
        return MonteCarloResult(seed: seed, finalReturns: finals, maxDrawdowns: drawdowns, sharpes: sharpes,
                                fan: fan(samples: samples, steps: steps, paths: paths))
    }

    /// Fisher–Yates shuffle from the top: for i = n−1 down to 1, swap element i with element `rng.bounded(i + 1)`.
    public static func shuffle<T>(_ values: inout [T], using rng: inout Xoshiro256StarStar) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = rng.index(below: i + 1)
            values.swapAt(i, j)
        }
    }

    /// Indices of a circular block bootstrap of `count` periods: repeatedly a uniform start `rng.bounded(count)` and
    /// the `blockLength` indices start, start+1, … (mod count), until `count` indices are drawn.
    /// Preconditions: count ≥ 1, blockLength ≥ 1.
    public static func blockBootstrapIndices(count: Int, blockLength: Int, using rng: inout Xoshiro256StarStar) -> [Int] {
        precondition(count >= 1, "nothing to draw from")
        precondition(blockLength >= 1, "the block length must be at least 1")
        var indices: [Int] = []
        indices.reserveCapacity(count)
        while indices.count < count {
            let start = rng.index(below: count)
            for k in 0..<blockLength where indices.count < count {
                indices.append((start + k) % count)
            }
        }
        return indices
    }

    /// The fan chart's steps among 0…count: all of them when count + 1 ≤ points, else `points` steps
    /// round(j · count / (points − 1)) for j = 0…points−1 (halves rounded up), so 0 and count are always included.
    public static func fanSteps(count: Int, points: Int) -> [Int] {
        precondition(points >= 2, "a fan needs at least 2 points")
        guard count + 1 > points else { return Array(0...count) }
        return (0..<points).map { j in Int((Double(j) * Double(count) / Double(points - 1) + 0.5).rounded(.down)) }
    }

    private static func fan(samples: [Double], steps: [Int], paths: Int) -> [FanPoint] {
        steps.indices.map { j in
            FanPoint(step: steps[j], equity: PercentileBand(values: (0..<paths).map { samples[$0 * steps.count + j] }))
        }
    }
}
