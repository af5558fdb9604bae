// Gradient-boosted decision trees for the up/down label: histogram-based, grown leaf by leaf, on the logistic loss.
// The method is LightGBM's (Ke et al., "LightGBM: A Highly Efficient Gradient Boosting Decision Tree", NeurIPS 2017):
// features are cut into at most `maxBins` bins once; each leaf keeps a histogram of gradient and hessian sums per bin;
// a split's sibling histogram is the parent's minus the smaller child's, so only the smaller child is scanned; the
// leaf with the largest gain splits next. Single-threaded and deterministic: the same rows, weights and seed give the
// same trees, bit for bit.

import Foundation
import QuorumAnalytics
import QuorumModel

/// Hyperparameters of `GradientBoostedTrees` (LightGBM's names in brackets; the defaults are LightGBM's except
/// `learningRate` and `earlyStoppingRounds`).
///
/// | field | meaning | default | valid |
/// |---|---|---|---|
/// | `rounds` | boosting rounds, trees at most [num_iterations] | 200 | 1 … 100,000 |
/// | `learningRate` | shrinkage of each tree's values [learning_rate] | 0.05 | (0, 1] |
/// | `maxLeaves` | leaves per tree [num_leaves] | 31 | 2 … 65,536 |
/// | `maxDepth` | depth limit, 0 for none [max_depth, −1 for none] | 0 | 0 … 64 |
/// | `minChildSamples` | rows a leaf needs [min_data_in_leaf] | 20 | ≥ 1 |
/// | `minChildHessian` | hessian sum a leaf needs [min_sum_hessian_in_leaf] | 0.001 | ≥ 0 |
/// | `l1`, `l2` | penalties on the leaf values [lambda_l1, lambda_l2] | 0, 0 | ≥ 0 |
/// | `minSplitGain` | gain a split needs [min_gain_to_split] | 0 | ≥ 0 |
/// | `rowSubsample` | fraction of rows drawn for each tree [bagging_fraction, bagging_freq = 1] | 1 | (0, 1] |
/// | `columnSubsample` | fraction of features drawn for each tree [feature_fraction] | 1 | (0, 1] |
/// | `maxBins` | bins per feature [max_bin] | 255 | 2 … 256 |
/// | `earlyStoppingRounds` | stop when the validation log loss has not improved for this many rounds, keeping the best round; 0 = never [early_stopping_round] | 20 | ≥ 0 |
/// | `calibrate` | in a training job, calibrate on the early-stopping rows (`Calibration.choose`) | true | — |
public struct GBDTHyperparameters: Sendable, Codable, Equatable {
    public var rounds: Int
    public var learningRate: Double
    public var maxLeaves: Int
    public var maxDepth: Int
    public var minChildSamples: Int
    public var minChildHessian: Double
    public var l1: Double
    public var l2: Double
    public var minSplitGain: Double
    public var rowSubsample: Double
    public var columnSubsample: Double
    public var maxBins: Int
    public var earlyStoppingRounds: Int
    public var calibrate: Bool

    public init(rounds: Int = 200, learningRate: Double = 0.05, maxLeaves: Int = 31, maxDepth: Int = 0, minChildSamples: Int = 20,
                minChildHessian: Double = 1e-3, l1: Double = 0, l2: Double = 0, minSplitGain: Double = 0, rowSubsample: Double = 1,
                columnSubsample: Double = 1, maxBins: Int = 255, earlyStoppingRounds: Int = 20, calibrate: Bool = true) {
        self.calibrate = calibrate
        self.rounds = rounds
        self.learningRate = learningRate
        self.maxLeaves = maxLeaves
        self.maxDepth = maxDepth
        self.minChildSamples = minChildSamples
        self.minChildHessian = minChildHessian
        self.l1 = l1
        self.l2 = l2
        self.minSplitGain = minSplitGain
        self.rowSubsample = rowSubsample
        self.columnSubsample = columnSubsample
        self.maxBins = maxBins
        self.earlyStoppingRounds = earlyStoppingRounds
    }

    /// Throws `MLError.invalidHyperparameter` naming the first bad field, its value and the valid range.
    public func validate() throws(MLError) {
        let bad = MLError.invalid
        guard (1...100_000).contains(rounds) else { throw bad("rounds", rounds, "1 … 100,000 (e.g. 200)") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw bad("learningRate", learningRate, "a value in (0, 1] (e.g. 0.05)") }
        guard (2...65_536).contains(maxLeaves) else { throw bad("maxLeaves", maxLeaves, "2 … 65,536 (e.g. 31)") }
        guard (0...64).contains(maxDepth) else { throw bad("maxDepth", maxDepth, "0 (no limit) … 64") }
        guard minChildSamples >= 1 else { throw bad("minChildSamples", minChildSamples, "1 or more (e.g. 20)") }
        for (name, value) in [("minChildHessian", minChildHessian), ("l1", l1), ("l2", l2), ("minSplitGain", minSplitGain)] {
            guard value.isFinite, value >= 0 else { throw bad(name, value, "a finite value ≥ 0") }
        }
        guard rowSubsample.isFinite, rowSubsample > 0, rowSubsample <= 1 else { throw bad("rowSubsample", rowSubsample, "a value in (0, 1]") }
        guard columnSubsample.isFinite, columnSubsample > 0, columnSubsample <= 1 else {
            throw bad("columnSubsample", columnSubsample, "a value in (0, 1]")
        }
        guard (2...256).contains(maxBins) else { throw bad("maxBins", maxBins, "2 … 256 (e.g. 255)") }
        guard earlyStoppingRounds >= 0 else { throw bad("earlyStoppingRounds", earlyStoppingRounds, "0 (never) or more (e.g. 20)") }
    }
}

/// One regression tree of a boosted model. Internal node k tests `x[feature[k]] <= threshold[k]` and goes to
/// `left[k]`, else `right[k]`; a child ≥ 0 is another internal node, a child c < 0 is leaf `~c` (−c − 1). A tree with
/// no internal node is its single leaf. Children are always numbered after their parent (no cycles).
public struct RegressionTree: Sendable, Codable, Equatable {
    public var feature: [Int]
    public var threshold: [Double]
    public var left: [Int]
    public var right: [Int]
    /// Each leaf's value, learning rate included: what the tree adds to the log-odds.
    public var leafValue: [Double]

    /// The leaf `x` falls in.
    @inline(__always) public func leaf(_ x: UnsafePointer<Double>) -> Int {
        guard !feature.isEmpty else { return 0 }
        var node = 0
        while node >= 0 { node = x[feature[node]] <= threshold[node] ? left[node] : right[node] }
        return ~node
    }

    /// Checks the structure (what a loaded artifact must satisfy); nil when sound, else what is wrong.
    func problem(width: Int) -> String? {
        let nodes = feature.count
        guard threshold.count == nodes, left.count == nodes, right.count == nodes else { return "node arrays of different lengths" }
        guard leafValue.count == nodes + 1 else { return "\(nodes) splits need \(nodes + 1) leaves, not \(leafValue.count)" }
        guard leafValue.allSatisfy(\.isFinite), threshold.allSatisfy({ !$0.isNaN }) else { return "a non-finite leaf value or NaN threshold" }
        var seen = [Bool](repeating: false, count: nodes + 1)
        for k in 0..<nodes {
            guard (0..<width).contains(feature[k]) else { return "node \(k) tests feature \(feature[k]) of \(width)" }
            for child in [left[k], right[k]] {
                if child >= 0 {
                    guard child > k, child < nodes else { return "node \(k) has child node \(child)" }
                } else {
                    guard ~child < nodes + 1, !seen[~child] else { return "leaf \(~child) is missing or reached twice" }
                    seen[~child] = true
                }
            }
        }
        return nodes == 0 || seen.allSatisfy({ $0 }) ? nil : "a leaf that no node reaches"
    }
}

extension [RegressionTree] {
    /// `initial` plus every tree's leaf value for `x`: a boosted model's log-odds.
    @inline(__always) func logOdds(_ x: UnsafePointer<Double>, from initial: Double) -> Double {
        var z = initial
        for tree in self { z += tree.leafValue[tree.leaf(x)] }
        return z
    }
}

/// The result of `GradientBoostedTrees.fit`.
public struct GBDTFit: Sendable, Equatable {
    /// The log-odds every prediction starts from: that of the weighted base rate.
    public let initialScore: Double
    /// The trees kept (up to the best validation round when stopping early).
    public let trees: [RegressionTree]
    /// Per feature, the loss reduction of the kept trees' splits on it, and how many splits use it.
    public let gainImportance: [Double]
    public let splitImportance: [Int]
    /// Rounds run, and whether the validation loss stopped improving before `rounds` (early stopping).
    public let roundsRun: Int
    public let stoppedEarly: Bool
    /// Validation log loss after each round run (empty without validation rows).
    public let validationLogLoss: [Double]

    /// The log-odds of an up move for `x` (raw features, width as trained).
    public func logOdds(_ x: UnsafePointer<Double>) -> Double { trees.logOdds(x, from: initialScore) }
}

/// The trainer: `fit` on feature rows, 0/1 labels and optional weights, with an optional validation split for early
/// stopping.
public enum GradientBoostedTrees {
    /// Fits the trees. `validation` (rows and labels) drives early stopping; without it every round runs.
    /// Throws on an empty or one-class training set, rows of different widths, non-finite values or invalid
    /// hyperparameters.
    public static func fit(features: [[Double]], labels: [Int], weights: [Double]? = nil,
                           validation: (features: [[Double]], labels: [Int])? = nil,
                           hyperparameters p: GBDTHyperparameters, seed: UInt64 = 0) throws(MLError) -> GBDTFit {
        try p.validate()
        guard let width = features.first?.count, width > 0 else { throw MLError(.tooFewRows, "no training rows (or rows without features)") }
        guard labels.count == features.count else {
            throw MLError(.widthMismatch, "\(features.count) training rows but \(labels.count) labels")
        }
        if let weights {
            guard weights.count == features.count else { throw MLError(.widthMismatch, "\(features.count) training rows but \(weights.count) weights") }
            guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.contains(where: { $0 > 0 }) else {
                throw MLError(.nonFiniteValue, "sample weights must be finite and ≥ 0, and not all 0")
            }
        }
        for (name, rows) in [("training", features), ("validation", validation?.features ?? [])] {
            if let i = rows.firstIndex(where: { $0.count != width }) {
                throw MLError(.widthMismatch, "\(name) row \(i) has \(rows[i].count) features, row 0 of training has \(width)")
            }
            if let i = rows.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
                throw MLError(.nonFiniteValue, "\(name) row \(i) has a NaN or infinite feature; drop or fill it before training")
            }
        }
        if let validation, validation.labels.count != validation.features.count {
            throw MLError(.widthMismatch, "\(validation.features.count) validation rows but \(validation.labels.count) labels")
        }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw MLError(.invalidHyperparameter, "labels must be 0 or 1") }
        guard labels.contains(0), labels.contains(1) else {
            throw MLError(.singleClass, "the training labels are all \(labels[0]); a classifier needs both classes")
        }
        var booster = Booster(features: features, labels: labels, weights: weights ?? Array(repeating: 1, count: labels.count),
                              width: width, p: p, seed: seed)
        return booster.run(validation: validation)
    }
}

/// Per feature, the upper edge of each bin: bin b holds the values in (upper[b − 1], upper[b]]; the last edge is +∞.
struct FeatureBins: Sendable {
    var upper: [[Double]]

    /// Edges from the training values: each distinct value its own bin when there are at most `maxBins`, else bins of
    /// about equal row counts, cut halfway between neighbouring distinct values (a split then falls between values).
    init(features: [[Double]], width: Int, maxBins: Int) {
        upper = (0..<width).map { f in
            let sorted = features.map { $0[f] }.sorted()
            var distinct: [Double] = [], counts: [Int] = []
            for v in sorted {
                if let last = distinct.last, last == v { counts[counts.count - 1] += 1 } else { distinct.append(v); counts.append(1) }
            }
            var edges: [Double] = []
            if distinct.count <= maxBins {
                for i in 0..<distinct.count - 1 { edges.append(distinct[i] + (distinct[i + 1] - distinct[i]) / 2) }
            } else {
                // Greedy equal-count cuts: close a bin once it holds its share of what is left.
                var remaining = sorted.count, inBin = 0
                for i in 0..<distinct.count - 1 {
                    inBin += counts[i]
                    let binsLeft = maxBins - edges.count
                    if binsLeft > 1 && inBin * binsLeft >= remaining {
                        edges.append(distinct[i] + (distinct[i + 1] - distinct[i]) / 2)
                        remaining -= inBin
                        inBin = 0
                    }
                }
            }
            return edges + [.infinity]
        }
    }

    /// The bin of `x` for feature `f`: the first whose upper edge is ≥ x.
    func bin(_ x: Double, _ f: Int) -> Int {
        let edges = upper[f]
        var low = 0, high = edges.count - 1
        while low < high {
            let mid = (low + high) / 2
            if x <= edges[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// The state of one fit.
private struct Booster {
    let n: Int, width: Int
    let p: GBDTHyperparameters
    let labels: [Double], weights: [Double]
    let bins: FeatureBins
    /// Row-major bin of every training value: `binned[row * width + f]`.
    let binned: [UInt8]
    /// Feature f's bins take histogram slots offset[f] ..< offset[f + 1].
    let offset: [Int]
    var rng: Xoshiro256StarStar
    var gradient: [Double], hessian: [Double], score: [Double]

    init(features: [[Double]], labels: [Int], weights: [Double], width: Int, p: GBDTHyperparameters, seed: UInt64) {
        n = features.count
        self.width = width
        self.p = p
        self.labels = labels.map(Double.init)
        self.weights = weights
        let bins = FeatureBins(features: features, width: width, maxBins: p.maxBins)
        self.bins = bins
        var binned = [UInt8](repeating: 0, count: n * width)
        for (i, row) in features.enumerated() {
            for f in 0..<width { binned[i * width + f] = UInt8(bins.bin(row[f], f)) }
        }
        self.binned = binned
        var offset = [0]
        for f in 0..<width { offset.append(offset[f] + bins.upper[f].count) }
        self.offset = offset
        rng = Xoshiro256StarStar(seed: seed)
        gradient = Array(repeating: 0, count: n)
        hessian = Array(repeating: 0, count: n)
        score = Array(repeating: 0, count: n)
    }

    mutating func run(validation: (features: [[Double]], labels: [Int])?) -> GBDTFit {
        let totalWeight = weights.reduce(0, +)
        let rate = zip(labels, weights).reduce(0) { $0 + $1.0 * $1.1 } / totalWeight
        let initial = log(rate / (1 - rate))
        score = Array(repeating: initial, count: n)
        var trees: [RegressionTree] = [], splitBins: [[Int]] = []
        var gains: [[Double]] = []
        var validationScore = [Double](repeating: initial, count: validation?.features.count ?? 0)
        var losses: [Double] = [], best = (loss: Double.infinity, round: 0)
        var stopped = false
        for round in 0..<p.rounds {
            for i in 0..<n {
                let q = 1 / (1 + exp(-score[i]))
                gradient[i] = (q - labels[i]) * weights[i]
                hessian[i] = q * (1 - q) * weights[i]
            }
            let (tree, splitBin, gain) = grow()
            for i in 0..<n { score[i] += tree.leafValue[leaf(of: i, tree, splitBin)] }
            trees.append(tree)
            splitBins.append(splitBin)
            gains.append(gain)
            guard let validation else { continue }
            var loss = 0.0
            for (k, row) in validation.features.enumerated() {
                validationScore[k] += row.withUnsafeBufferPointer { tree.leafValue[tree.leaf($0.baseAddress!)] }
                loss += ClassificationMetrics.logLoss(probability: 1 / (1 + exp(-validationScore[k])), label: validation.labels[k])
            }
            loss /= Double(max(validation.features.count, 1))
            losses.append(loss)
            if loss < best.loss { best = (loss, round) }
            if p.earlyStoppingRounds > 0 && round - best.round >= p.earlyStoppingRounds {
                stopped = true
                break
            }
        }
        let kept = validation != nil && p.earlyStoppingRounds > 0 ? best.round + 1 : trees.count
        var gainImportance = [Double](repeating: 0, count: width), splitImportance = [Int](repeating: 0, count: width)
        for t in 0..<kept {
            for (k, f) in trees[t].feature.enumerated() {
                gainImportance[f] += gains[t][k]
                splitImportance[f] += 1
            }
        }
        return GBDTFit(initialScore: initial, trees: Array(trees.prefix(kept)), gainImportance: gainImportance,
                       splitImportance: splitImportance, roundsRun: trees.count, stoppedEarly: stopped, validationLogLoss: losses)
    }

    /// The leaf of training row i, by its bins.
    private func leaf(of i: Int, _ tree: RegressionTree, _ splitBin: [Int]) -> Int {
        guard !tree.feature.isEmpty else { return 0 }
        var node = 0
        while node >= 0 {
            node = Int(binned[i * width + tree.feature[node]]) <= splitBin[node] ? tree.left[node] : tree.right[node]
        }
        return ~node
    }

    /// A leaf being grown: its rows `rows[start ..< start + count]`, sums, histogram and best split.
    private struct Leaf {
        var start: Int, count: Int, depth: Int
        var g: Double, h: Double
        /// (gradient, hessian) per histogram slot, then the row count per slot.
        var histogram: [Double], counts: [Int32]
        var split: Split?
        /// The internal node whose child this leaf is (−1 for the root), and which side.
        var parent: Int, isLeft: Bool
    }

    private struct Split {
        var feature: Int, bin: Int, gain: Double
        var leftG: Double, leftH: Double, leftCount: Int
    }

    /// LightGBM's leaf objective with L1 and L2: the gain of a leaf with sums (G, H) and its value −T(G)/(H + l2),
    /// T soft-thresholding G by l1.
    @inline(__always) private func thresholded(_ g: Double) -> Double {
        p.l1 > 0 ? (g > 0 ? max(g - p.l1, 0) : min(g + p.l1, 0)) : g
    }
    @inline(__always) private func leafGain(_ g: Double, _ h: Double) -> Double {
        let t = thresholded(g)
        return t * t / (h + p.l2)
    }

    /// Grows one tree on this round's gradients: the tree, each node's split bin, each node's gain.
    private mutating func grow() -> (RegressionTree, [Int], [Double]) {
        // This tree's rows (bagging) and features (column subsampling), drawn from the seeded generator.
        var rows: [Int32]
        if p.rowSubsample < 1 {
            rows = []
            rows.reserveCapacity(Int(Double(n) * p.rowSubsample) + 16)
            for i in 0..<n where rng.unit() < p.rowSubsample { rows.append(Int32(i)) }
            if rows.isEmpty { rows = [Int32(rng.index(below: n))] }
        } else {
            rows = (0..<n).map(Int32.init)
        }
        var features = Array(0..<width)
        if p.columnSubsample < 1 {
            let keep = max(1, Int((Double(width) * p.columnSubsample).rounded()))
            for i in 0..<keep {
                let j = i + rng.index(below: width - i)
                features.swapAt(i, j)
            }
            features = Array(features.prefix(keep)).sorted()
        }
        var g = 0.0, h = 0.0
        for r in rows {
            g += gradient[Int(r)]
            h += hessian[Int(r)]
        }
        var tree = RegressionTree(feature: [], threshold: [], left: [], right: [], leafValue: [])
        var splitBin: [Int] = [], nodeGain: [Double] = []
        var root = Leaf(start: 0, count: rows.count, depth: 0, g: g, h: h, histogram: [], counts: [], split: nil, parent: -1, isLeft: true)
        (root.histogram, root.counts) = histogram(rows[...], features)
        root.split = bestSplit(root, features)
        var leaves = [root]
        var scratch = [Int32](repeating: 0, count: rows.count)
        while leaves.count < p.maxLeaves {
            // The leaf whose best split gains most (the first on a tie).
            var chosen = -1
            for (k, leaf) in leaves.enumerated() {
                guard let s = leaf.split, s.gain > p.minSplitGain, p.maxDepth == 0 || leaf.depth < p.maxDepth else { continue }
                if chosen < 0 || s.gain > leaves[chosen].split!.gain { chosen = k }
            }
            guard chosen >= 0 else { break }
            var parent = leaves[chosen]
            let s = parent.split!
            // Stable partition of the leaf's rows: left (bin ≤ s.bin) first, then right.
            var l = 0, r = 0
            rows.withUnsafeMutableBufferPointer { rows in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    binned.withUnsafeBufferPointer { binned in
                        for k in parent.start..<(parent.start + parent.count) {
                            let row = rows[k]
                            if Int(binned[Int(row) * width + s.feature]) <= s.bin { rows[parent.start + l] = row; l += 1 } else { scratch[r] = row; r += 1 }
                        }
                        for k in 0..<r { rows[parent.start + l + k] = scratch[k] }
                    }
                }
            }
            // The new internal node replaces the leaf in its parent.
            let node = tree.feature.count
            tree.feature.append(s.feature)
            tree.threshold.append(bins.upper[s.feature][s.bin])
            tree.left.append(~chosen)
            tree.right.append(~leaves.count)
            splitBin.append(s.bin)
            nodeGain.append(s.gain)
            if parent.parent >= 0 {
                if parent.isLeft { tree.left[parent.parent] = node } else { tree.right[parent.parent] = node }
            }
            var left = Leaf(start: parent.start, count: l, depth: parent.depth + 1, g: s.leftG, h: s.leftH, histogram: [], counts: [],
                            split: nil, parent: node, isLeft: true)
            var right = Leaf(start: parent.start + l, count: r, depth: parent.depth + 1, g: parent.g - s.leftG, h: parent.h - s.leftH,
                             histogram: [], counts: [], split: nil, parent: node, isLeft: false)
            // Scan the smaller child; the larger one's histogram is the parent's minus it.
            let leftSmaller = l <= r
            let small = leftSmaller ? left : right
            var (sh, sc) = histogram(rows[small.start..<(small.start + small.count)], features)
            var lh = parent.histogram, lc = parent.counts
            parent.histogram = []
            for f in features {
                for k in offset[f]..<offset[f + 1] {
                    lh[2 * k] -= sh[2 * k]
                    lh[2 * k + 1] -= sh[2 * k + 1]
                    lc[k] -= sc[k]
                }
            }
            if leftSmaller {
                (left.histogram, left.counts, right.histogram, right.counts) = (sh, sc, lh, lc)
            } else {
                (right.histogram, right.counts, left.histogram, left.counts) = (sh, sc, lh, lc)
            }
            sh = []
            sc = []
            left.split = bestSplit(left, features)
            right.split = bestSplit(right, features)
            leaves[chosen] = left
            leaves.append(right)
        }
        tree.leafValue = leaves.map { -thresholded($0.g) / ($0.h + p.l2) * p.learningRate }
        return (tree, splitBin, nodeGain)
    }

    /// The (gradient, hessian) sums and counts per slot over `rows`, for `features`.
    private func histogram(_ rows: ArraySlice<Int32>, _ features: [Int]) -> ([Double], [Int32]) {
        let slots = offset[width]
        var sums = [Double](repeating: 0, count: 2 * slots)
        var counts = [Int32](repeating: 0, count: slots)
        sums.withUnsafeMutableBufferPointer { sums in
            counts.withUnsafeMutableBufferPointer { counts in
                binned.withUnsafeBufferPointer { binned in
                    gradient.withUnsafeBufferPointer { gradient in
                        hessian.withUnsafeBufferPointer { hessian in
                            offset.withUnsafeBufferPointer { offset in
                                features.withUnsafeBufferPointer { features in
                                    rows.withUnsafeBufferPointer { rows in
                                        for row in rows {
                                            let i = Int(row), base = i * width
                                            let gi = gradient[i], hi = hessian[i]
                                            for f in features {
                                                let k = offset[f] + Int(binned[base + f])
                                                sums[2 * k] += gi
                                                sums[2 * k + 1] += hi
                                                counts[k] += 1
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (sums, counts)
    }

    /// The best split of a leaf over `features` (nil when none meets the minimums): the first of the largest gain,
    /// features and bins in ascending order.
    private func bestSplit(_ leaf: Leaf, _ features: [Int]) -> Split? {
        guard leaf.count >= 2 * p.minChildSamples else { return nil }
        let parentGain = leafGain(leaf.g, leaf.h)
        var best: Split?
        for f in features {
            var g = 0.0, h = 0.0, c = 0
            for b in 0..<(offset[f + 1] - offset[f] - 1) {
                let k = offset[f] + b
                g += leaf.histogram[2 * k]
                h += leaf.histogram[2 * k + 1]
                c += Int(leaf.counts[k])
                guard c >= p.minChildSamples, h >= p.minChildHessian else { continue }
                let rc = leaf.count - c, rh = leaf.h - h
                if rc < p.minChildSamples { break }
                guard rh >= p.minChildHessian else { continue }
                let gain = leafGain(g, h) + leafGain(leaf.g - g, rh) - parentGain
                if gain > (best?.gain ?? 0) { best = Split(feature: f, bin: b, gain: gain, leftG: g, leftH: h, leftCount: c) }
            }
        }
        return best
    }
}
