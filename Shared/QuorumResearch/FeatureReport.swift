import Foundation
import QuorumAnalytics
import QuorumFeatures
import QuorumML
import QuorumModel

/// `quorum features report`: how much each feature of a spec says about the next bar, out of sample, by walk-forward
/// fold — and which features only repeat another.
///
/// It runs the training half of `quorum walk-forward` on the config (the same folds, jobs and fold models), then per
/// feature, on the rows the features stage would serve:
/// - **information coefficient** per fold: Spearman's rank correlation of the feature with the next bar's log return
///   (ln(cₜ₊₁/cₜ), the return the models' labels take the sign of) over the fold's test rows of every symbol; its mean,
///   standard deviation across folds, their ratio (the IC information ratio) and the share of folds whose IC has the
///   mean's sign: the stability;
/// - **mutual information** (bits) between the feature's deciles (over all rows) and the next bar's direction;
/// - **permutation importance**: the rise of the fold model's log loss on its test rows when the feature's column is
///   shuffled (seeded), averaged over folds and symbols (weighted by rows): out of sample, on the model that trades;
/// - **correlation clusters**: features linked when |Pearson ρ| over all rows ≥ `maxCorrelation`; each cluster keeps
///   the member with the largest |mean IC| (and any feature the config's rules or risk read); the others are
///   near-duplicates, dropped from the pruned spec (`prunedSpec()`).
/// Deterministic: the same config, data and seed give the same report.
public struct FeatureReport: Sendable {
    public struct Feature: Sendable {
        public let name: String
        /// Per fold (nil: fewer than 10 test rows, or a constant column).
        public let foldIC: [Double?]
        public let meanIC: Double
        public let icStandardDeviation: Double
        /// meanIC / icStandardDeviation (0 when the deviation is 0).
        public let icInformationRatio: Double
        /// Share of the folds with an IC whose sign is the mean's.
        public let signAgreement: Double
        public let mutualInformationBits: Double
        /// nil when no fold had a model.
        public let permutationImportance: Double?
        public let cluster: Int
        public let keep: Bool
        /// Why it is kept or dropped.
        public let note: String
    }

    public let spec: FeatureSpec
    public let folds: [WalkForwardFold]
    public let features: [Feature]
    public let maxCorrelation: Double
    /// Rows with a next bar, over all symbols.
    public let rows: Int
    public let seed: UInt64
    /// Pearson ρ between the features over all rows (row-major, `features.count`²).
    public let correlation: [Double]
    /// Columns the config's rules or risk read: never dropped.
    public let mustKeep: [String]

    /// One row with the next bar's return and direction.
    struct Sample {
        let time: Nanos
        let features: [Double]
        let forward: Double
        let label: Int
    }

    public static func run(config: BacktestConfig, data: BacktestData, maxCorrelation: Double = 0.95, seed: UInt64 = 1,
                           progress: ((WalkForward.Progress) -> Void)? = nil) async throws -> FeatureReport {
        guard config.walkForward != nil else {
            throw BacktestError(.invalidValue, "features report needs a walk_forward section in the config (folds and candidates; "
                                + "docs/backtest.md, \"Walk-forward\"): it scores each feature on each fold's test window")
        }
        guard maxCorrelation > 0, maxCorrelation <= 1 else {
            throw BacktestError(.invalidValue, "--max-correlation is \(maxCorrelation); it must be in (0, 1]")
        }
        let models = try await WalkForward(config: config).trainModels(data, progress: progress)
        let spec = config.featureSpec
        let width = spec.names.count

        var samples: [Symbol: [Sample]] = [:]
        for (symbol, rows) in models.rows {
            var out: [Sample] = []
            for i in rows.indices.dropLast() {
                let forward = log(rows[i + 1].close / rows[i].close)
                guard forward.isFinite, rows[i].features.allSatisfy(\.isFinite) else { continue }
                out.append(Sample(time: rows[i].time, features: rows[i].features, forward: forward, label: rows[i + 1].close > rows[i].close ? 1 : 0))
            }
            samples[symbol] = out
        }
        let symbols = data.symbols
        let all = symbols.flatMap { samples[$0] ?? [] }

        // Information coefficients per fold.
        var foldIC = Array(repeating: [Double?](), count: width)
        for fold in models.folds {
            let tested = all.filter { fold.tests($0.time) }
            let forwardRanks = Ranks.of(tested.map(\.forward))
            for j in 0..<width {
                foldIC[j].append(tested.count < 10 ? nil : Ranks.pearson(Ranks.of(tested.map { $0.features[j] }), forwardRanks))
            }
        }

        // Permutation importance of each fold's model on its test rows.
        var importance = [Double](repeating: 0, count: width)
        var weight = 0.0
        for (f, fold) in models.folds.enumerated() {
            for (s, symbol) in symbols.enumerated() {
                guard let slot = models.selected[f * symbols.count + s] else { continue }
                let tested = (samples[symbol] ?? []).filter { fold.tests($0.time) }
                guard tested.count >= 10 else { continue }
                let model = slot.result.model
                let labels = tested.map(\.label)
                let base = try logLoss(model, tested.map(\.features), labels)
                for j in 0..<width {
                    var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(f * 1_000_003 + s * 1009 + j))
                    var column = tested.map { $0.features[j] }
                    MonteCarlo.shuffle(&column, using: &rng)
                    let permuted = zip(tested, column).map { sample, value in
                        var x = sample.features
                        x[j] = value
                        return x
                    }
                    importance[j] += (try logLoss(model, permuted, labels) - base) * Double(tested.count)
                }
                weight += Double(tested.count)
            }
        }

        // Correlation between the features, and the clusters of near-duplicates.
        let columns = (0..<width).map { j in all.map { $0.features[j] } }
        var correlation = [Double](repeating: 1, count: width * width)
        for a in 0..<width {
            for b in (a + 1)..<max(a + 1, width) {
                let r = Ranks.pearson(columns[a], columns[b]) ?? .nan
                correlation[a * width + b] = r
                correlation[b * width + a] = r
            }
        }
        var parent = Array(0..<width)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        for a in 0..<width {
            for b in (a + 1)..<max(a + 1, width) where abs(correlation[a * width + b]) >= maxCorrelation {
                let (ra, rb) = (root(a), root(b))
                if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
            }
        }
        let clusterOf = (0..<width).map(root)
        let clusterNumber = Dictionary(uniqueKeysWithValues: Array(Set(clusterOf)).sorted().enumerated().map { ($1, $0) })

        let mustKeep = Self.mustKeep(config).filter(spec.names.contains)
        let means = foldIC.map { ics -> Double in
            let present = ics.compactMap { $0 }
            return present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
        }
        var features: [Feature] = []
        for j in 0..<width {
            let members = (0..<width).filter { clusterOf[$0] == clusterOf[j] }
            // The cluster's best by |mean IC|; the earlier column on ties.
            let best = members.max { a, b in abs(means[a]) != abs(means[b]) ? abs(means[a]) < abs(means[b]) : a > b }!
            let name = spec.names[j]
            let keep = j == best || mustKeep.contains(name)
            let note: String
            if members.count == 1 {
                note = "kept: no feature within |ρ| ≥ \(maxCorrelation)"
            } else if keep {
                note = j == best ? "kept: the largest |mean IC| of its cluster" : "kept: the config's rules or risk read it"
            } else {
                let r = correlation[j * width + best]
                note = "dropped: |ρ| = \(String(format: "%.3f", abs(r))) with \(spec.names[best]), whose |mean IC| is larger"
            }
            let present = foldIC[j].compactMap { $0 }
            let sd = Statistics.standardDeviation(present)
            let deviation = sd.isFinite ? sd : 0
            let agreement = present.isEmpty ? 0 : Double(present.filter { ($0 > 0) == (means[j] > 0) && $0 != 0 }.count) / Double(present.count)
            features.append(Feature(
                name: name, foldIC: foldIC[j], meanIC: means[j], icStandardDeviation: deviation,
                icInformationRatio: deviation > 0 ? means[j] / deviation : 0, signAgreement: agreement,
                mutualInformationBits: Self.mutualInformation(columns[j], all.map(\.label)),
                permutationImportance: weight > 0 ? importance[j] / weight : nil, cluster: clusterNumber[clusterOf[j]]!,
                keep: keep, note: note))
        }
        return FeatureReport(spec: spec, folds: models.folds, features: features, maxCorrelation: maxCorrelation, rows: all.count,
                             seed: seed, correlation: correlation, mustKeep: mustKeep)
    }

    /// The columns the config's rule strategies read, and the ATR that risk sizes positions with.
    static func mustKeep(_ config: BacktestConfig) -> [String] {
        var names = ["atr_14"]
        for rule in config.rules {
            switch rule {
            case .emaCross(_, let fast, let slow, _): names += [fast, slow]
            case .rsiRevert(_, let key, _, _): names.append(key)
            }
        }
        return names
    }

    /// Mean binary cross-entropy of the model's probabilities (clamped to [1e-12, 1 − 1e-12]).
    static func logLoss(_ model: TrainedModel, _ rows: [[Double]], _ labels: [Int]) throws -> Double {
        var total = 0.0
        for (x, y) in zip(rows, labels) {
            let p = min(max(try model.probabilityUp(x), 1e-12), 1 - 1e-12)
            total -= y == 1 ? log(p) : log(1 - p)
        }
        return total / Double(rows.count)
    }

    /// I(decile of x; label) in bits: x in 10 equal-count bins by rank (ties share a bin), the plug-in estimate.
    static func mutualInformation(_ x: [Double], _ labels: [Int]) -> Double {
        let n = x.count
        guard n >= 10 else { return 0 }
        let ranks = Ranks.of(x)
        var joint = [[Double]](repeating: [0, 0], count: 10)
        for (r, y) in zip(ranks, labels) { joint[min(9, Int((r - 1) * 10 / Double(n)))][y] += 1 }
        let py = [0, 1].map { y in joint.reduce(0) { $0 + $1[y] } / Double(n) }
        var mi = 0.0
        for bin in joint {
            let pb = (bin[0] + bin[1]) / Double(n)
            for y in 0..<2 where bin[y] > 0 {
                let p = bin[y] / Double(n)
                mi += p * log2(p / (pb * py[y]))
            }
        }
        return mi
    }

    /// The spec without the dropped features, as a JSON document (`--emit-spec`).
    public func prunedSpec() -> String {
        spec.document(keeping: Set(features.filter(\.keep).map(\.name)), name: spec.name + "-pruned",
                      description: "\(spec) without \(features.filter { !$0.keep }.count) near-duplicate features "
                        + "(|ρ| ≥ \(maxCorrelation); `quorum features report`)")
    }
}

/// Ranks and correlation for the report.
enum Ranks {
    /// 1-based ranks, ties averaged (as scipy's `rankdata`).
    static func of(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = average }
            i = j + 1
        }
        return ranks
    }

    /// Pearson's r (`Statistics.correlation`); nil when either side is constant or there are fewer than 3 pairs.
    static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count >= 3 else { return nil }
        let r = Statistics.correlation(x, y)
        return r.isNaN ? nil : r
    }
}
