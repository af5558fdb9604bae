import Foundation

/// The outcome of combinatorially symmetric cross-validation (CSCV) over a candidate × time return matrix.
public struct CSCVResult: Sendable, Equatable {
    /// Probability of backtest overfitting: the fraction of combinations whose in-sample winner ranks at or below
    /// the median out of sample (logit λ ≤ 0).
    public var probabilityOfOverfitting: Double
    /// λ_c = ln(ω̄_c / (1 − ω̄_c)) per combination, ω̄_c the out-of-sample relative rank of the in-sample winner.
    public var logits: [Double]
    /// Per combination: the in-sample performance of the in-sample winner.
    public var inSample: [Double]
    /// Per combination: the out-of-sample performance of that same candidate.
    public var outOfSample: [Double]
    /// Per combination: the index of the in-sample winner (the candidate row).
    public var selected: [Int]
    /// The fraction of combinations whose in-sample winner has an out-of-sample performance below 0.
    public var probabilityOfOutOfSampleLoss: Double
    /// Number of combinations: C(S, S/2).
    public var combinations: Int { logits.count }

    /// A result; `BacktestOverfitting.cscv` computes them.
    public init(probabilityOfOverfitting: Double, logits: [Double], inSample: [Double], outOfSample: [Double],
                selected: [Int], probabilityOfOutOfSampleLoss: Double) {
        self.probabilityOfOverfitting = probabilityOfOverfitting
        self.logits = logits
        self.inSample = inSample
        self.outOfSample = outOfSample
        self.selected = selected
        self.probabilityOfOutOfSampleLoss = probabilityOfOutOfSampleLoss
    }
}

/// Probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation (Bailey, Borwein,
/// López de Prado & Zhu, "The Probability of Backtest Overfitting", J. Computational Finance 2017).
///
/// The input is one row of per-period returns per candidate (a configuration tried), all over the same periods.
/// 1. The periods are split into S contiguous blocks of equal size (S even); when S does not divide the number of
///    periods, the first (periods mod S) blocks are one period longer.
/// 2. For each of the C(S, S/2) ways to choose S/2 blocks as the training set J (in lexicographic order), the rest
///    forms the test set J̄. Each candidate's performance is measured on the concatenated rows of J and of J̄.
/// 3. n* = the candidate with the best in-sample performance (the first on ties); ω̄ = its out-of-sample rank among
///    all candidates (1 = worst, ties share the average rank) / (N + 1); λ = ln(ω̄ / (1 − ω̄)).
/// 4. PBO = the fraction of combinations with λ ≤ 0. A NaN performance ranks below every number.
public enum BacktestOverfitting {
    /// CSCV with the per-period Sharpe ratio (mean / std, ddof = 1, not annualised; the paper's choice) as the
    /// performance, computed from per-block moments so that S = 16 (12,870 combinations) stays fast.
    /// Precondition: at least 2 candidates, `blocks` even and ≥ 2, every row of the same length ≥ 2 × blocks.
    public static func cscv(returns: [[Double]], blocks: Int) -> CSCVResult {
        let bounds = blockBounds(returns: returns, blocks: blocks)
        // Per candidate and block: count, mean and the sum of squared deviations (merged with Chan et al.'s formula).
        let moments: [[(n: Double, mean: Double, m2: Double)]] = returns.map { row in
            bounds.map { range in
                let slice = Array(row[range])
                let m = Statistics.mean(slice)
                var m2 = 0.0
                for v in slice { m2 += (v - m) * (v - m) }
                return (Double(slice.count), m, m2)
            }
        }
        return run(candidates: returns.count, blocks: blocks) { candidate, chosen in
            var n = 0.0, mean = 0.0, m2 = 0.0
            for b in chosen {
                let block = moments[candidate][b]
                let total = n + block.n
                let delta = block.mean - mean
                mean += delta * block.n / total
                m2 += block.m2 + delta * delta * n * block.n / total
                n = total
            }
            return mean / (m2 / (n - 1)).squareRoot()
        }
    }

    /// CSCV with any performance measure, applied to the concatenated returns of the chosen blocks (in time order).
    /// Higher is better. Precondition: as `cscv(returns:blocks:)`.
    public static func cscv(returns: [[Double]], blocks: Int, performance: ([Double]) -> Double) -> CSCVResult {
        let bounds = blockBounds(returns: returns, blocks: blocks)
        return run(candidates: returns.count, blocks: blocks) { candidate, chosen in
            var rows: [Double] = []
            for b in chosen { rows += returns[candidate][bounds[b]] }
            return performance(rows)
        }
    }

    /// The period ranges of the S blocks: contiguous, the first (periods mod S) one period longer.
    public static func blockBounds(periods: Int, blocks: Int) -> [Range<Int>] {
        precondition(blocks >= 2 && blocks % 2 == 0, "CSCV needs an even number of blocks ≥ 2, not \(blocks)")
        precondition(periods >= blocks, "\(periods) periods cannot be split into \(blocks) blocks")
        let base = periods / blocks, extra = periods % blocks
        var ranges: [Range<Int>] = []
        var start = 0
        for b in 0..<blocks {
            let end = start + base + (b < extra ? 1 : 0)
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }

    /// Every way to choose k of 0..<n, in lexicographic order (as Python's itertools.combinations).
    public static func combinations(of n: Int, choose k: Int) -> [[Int]] {
        precondition(k >= 0 && k <= n)
        var result: [[Int]] = []
        var current = Array(0..<k)
        while true {
            result.append(current)
            var i = k - 1
            while i >= 0 && current[i] == n - k + i { i -= 1 }
            if i < 0 { return result }
            current[i] += 1
            for j in (i + 1)..<k { current[j] = current[j - 1] + 1 }
        }
    }

    private static func blockBounds(returns: [[Double]], blocks: Int) -> [Range<Int>] {
        precondition(returns.count >= 2, "CSCV needs at least 2 candidates")
        let periods = returns[0].count
        precondition(returns.allSatisfy { $0.count == periods }, "every candidate needs the same periods")
        precondition(periods >= 2 * blocks, "\(periods) periods are too few for \(blocks) blocks of at least 2")
        return blockBounds(periods: periods, blocks: blocks)
    }

    /// The CSCV loop over combinations; `performance(candidate, blocks)` measures one candidate on some blocks.
    private static func run(candidates: Int, blocks: Int, performance: (Int, [Int]) -> Double) -> CSCVResult {
        var logits: [Double] = [], inSample: [Double] = [], outOfSample: [Double] = [], selected: [Int] = []
        var overfit = 0, losses = 0
        for train in combinations(of: blocks, choose: blocks / 2) {
            let trainSet = Set(train)
            let test = (0..<blocks).filter { !trainSet.contains($0) }
            let rIn = (0..<candidates).map { performance($0, train) }
            let rOut = (0..<candidates).map { performance($0, test) }
            var best = 0
            for c in 1..<candidates where isBetter(rIn[c], than: rIn[best]) { best = c }
            let omega = averageRank(of: best, in: rOut) / Double(candidates + 1)
            let logit = log(omega / (1 - omega))
            logits.append(logit)
            inSample.append(rIn[best])
            outOfSample.append(rOut[best])
            selected.append(best)
            if logit <= 0 { overfit += 1 }
            if rOut[best] < 0 { losses += 1 }
        }
        let count = Double(logits.count)
        return CSCVResult(probabilityOfOverfitting: Double(overfit) / count, logits: logits, inSample: inSample,
                          outOfSample: outOfSample, selected: selected, probabilityOfOutOfSampleLoss: Double(losses) / count)
    }

    /// Strictly better, NaN below every number.
    private static func isBetter(_ a: Double, than b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return a > b
    }

    /// Rank of values[index] among values, ascending from 1, ties sharing their average rank, NaN lowest.
    static func averageRank(of index: Int, in values: [Double]) -> Double {
        let v = values[index]
        var below = 0, equal = 0
        for w in values {
            if v.isNaN {
                if w.isNaN { equal += 1 }
            } else if w.isNaN || w < v {
                below += 1
            } else if w == v {
                equal += 1
            }
        }
        return Double(below) + Double(equal + 1) / 2
    }
}
