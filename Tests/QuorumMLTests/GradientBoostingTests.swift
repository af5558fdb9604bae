import Foundation
@testable import QuorumML
import QuorumModel
import Testing

@Suite("Gradient-boosted trees")
struct GradientBoostingTests {
    /// XOR-like data: label 1 when x0·x1 > 0 (a linear model cannot do better than chance), plus `noise` features.
    static func xor(count: Int, noise: Int = 2, seed: UInt64) -> (features: [[Double]], labels: [Int]) {
        var rng = SplitMix64(seed: seed)
        var features: [[Double]] = [], labels: [Int] = []
        for _ in 0..<count {
            let row = (0..<(2 + noise)).map { _ in rng.unit() }
            features.append(row)
            labels.append(row[0] * row[1] > 0 ? 1 : 0)
        }
        return (features, labels)
    }

    static func accuracy(_ fit: GBDTFit, _ data: (features: [[Double]], labels: [Int])) -> Double {
        let right = zip(data.features, data.labels).filter { x, y in
            x.withUnsafeBufferPointer { (fit.logOdds($0.baseAddress!) > 0 ? 1 : 0) == y }
        }
        return Double(right.count) / Double(data.labels.count)
    }

    @Test("learns XOR, which the logistic model cannot")
    func learnsXOR() throws {
        let train = Self.xor(count: 4000, seed: 1), test = Self.xor(count: 2000, seed: 2)
        let fit = try GradientBoostedTrees.fit(features: train.features, labels: train.labels,
                                               hyperparameters: GBDTHyperparameters(rounds: 100, learningRate: 0.2, earlyStoppingRounds: 0))
        #expect(Self.accuracy(fit, test) > 0.95)
        let linear = try LogisticRegression.fit(features: train.features, labels: train.labels, hyperparameters: LogisticHyperparameters(l2: 0.1))
        let linearRight = zip(test.features, test.labels).filter { x, y in
            (sigmoid(Vector.dot(linear.weights, linear.scaler.transform(x)) + linear.bias) > 0.5 ? 1 : 0) == y
        }.count
        #expect(Double(linearRight) / 2000 < 0.6)
        // The two informative features carry the importance.
        #expect(fit.gainImportance[0] + fit.gainImportance[1] > 0.9 * fit.gainImportance.reduce(0, +))
    }

    @Test("a stump's split is the exact best one: histograms (with subtraction) agree with a brute-force search")
    func exactSplit() throws {
        var rng = SplitMix64(seed: 7)
        let features = (0..<300).map { _ in [(rng.unit() * 50).rounded(), (rng.unit() * 4).rounded(), (rng.unit() * 80).rounded()] }
        let labels = features.map { x in (x[0] / 50 + 0.3 * x[1] + 0.5 * rng.unit()) > 0.2 ? 1 : 0 }
        let p = GBDTHyperparameters(rounds: 2, learningRate: 1, maxLeaves: 3, minChildSamples: 5, l2: 1, earlyStoppingRounds: 0)
        let fit = try GradientBoostedTrees.fit(features: features, labels: labels, hyperparameters: p)
        // Round 1 from the base rate: every row has g = q − y, h = q(1 − q).
        let q = Double(labels.reduce(0, +)) / 300
        let g = labels.map { q - Double($0) }, h = Array(repeating: q * (1 - q), count: 300)
        func gain(_ rows: [Int]) -> Double {
            let G = rows.reduce(0) { $0 + g[$1] }, H = rows.reduce(0) { $0 + h[$1] }
            return G * G / (H + 1)
        }
        // Candidate thresholds: halfway between neighbouring distinct values of the whole training set (where the
        // bins' edges are, with fewer distinct values than bins).
        func best(_ rows: [Int]) -> (feature: Int, threshold: Double, gain: Double) {
            var found = (feature: -1, threshold: 0.0, gain: 0.0)
            for f in 0..<3 {
                let values = Set(features.map { $0[f] }).sorted()
                for k in 0..<(values.count - 1) {
                    let t = values[k] + (values[k + 1] - values[k]) / 2
                    let left = rows.filter { features[$0][f] <= t }, right = rows.filter { features[$0][f] > t }
                    guard left.count >= 5, right.count >= 5 else { continue }
                    let gn = gain(left) + gain(right) - gain(rows)
                    if gn > found.gain + 1e-12 { found = (f, t, gn) }
                }
            }
            return found
        }
        let tree = fit.trees[0]
        let root = best(Array(0..<300))
        #expect(tree.feature[0] == root.feature && tree.threshold[0] == root.threshold)
        // The second split is the better of the two children's best splits.
        let left = (0..<300).filter { features[$0][root.feature] <= root.threshold }
        let right = (0..<300).filter { features[$0][root.feature] > root.threshold }
        let (bl, br) = (best(left), best(right))
        let second = bl.gain >= br.gain ? bl : br
        #expect(tree.feature[1] == second.feature && tree.threshold[1] == second.threshold)
        // Leaf values: −G / (H + l2) × learning rate, for the rows each leaf holds.
        for leaf in 0..<3 {
            let rows = (0..<300).filter { i in features[i].withUnsafeBufferPointer { tree.leaf($0.baseAddress!) } == leaf }
            let G = rows.reduce(0) { $0 + g[$1] }, H = rows.reduce(0) { $0 + h[$1] }
            #expect(abs(tree.leafValue[leaf] - (-G / (H + 1))) < 1e-9)
        }
    }

    @Test("deterministic: the same seed gives the same trees and artifact bytes with row and column subsampling; another seed differs")
    func deterministic() throws {
        let train = Self.xor(count: 2000, noise: 6, seed: 3)
        let p = GBDTHyperparameters(rounds: 30, rowSubsample: 0.7, columnSubsample: 0.5, earlyStoppingRounds: 0)
        let a = try GradientBoostedTrees.fit(features: train.features, labels: train.labels, hyperparameters: p, seed: 11)
        let b = try GradientBoostedTrees.fit(features: train.features, labels: train.labels, hyperparameters: p, seed: 11)
        let c = try GradientBoostedTrees.fit(features: train.features, labels: train.labels, hyperparameters: p, seed: 12)
        #expect(a == b)
        #expect(a.trees != c.trees)
        #expect(Self.model(a, p).artifact() == Self.model(b, p).artifact())
    }

    @Test("a weight of 2 is the same as the row twice")
    func weights() throws {
        var rng = SplitMix64(seed: 5)
        let features = (0..<400).map { _ in [(rng.unit() * 5).rounded(), (rng.unit() * 3).rounded()] }
        let labels = features.map { $0[0] + $0[1] + 2 * rng.unit() > 0 ? 1 : 0 }
        let doubled = (0..<400).map { $0 % 3 == 0 ? 2.0 : 1.0 }
        let p = GBDTHyperparameters(rounds: 10, maxLeaves: 8, minChildSamples: 1, minChildHessian: 0, earlyStoppingRounds: 0)
        let weighted = try GradientBoostedTrees.fit(features: features, labels: labels, weights: doubled, hyperparameters: p)
        let repeated = (0..<400).flatMap { $0 % 3 == 0 ? [$0, $0] : [$0] }
        let copies = try GradientBoostedTrees.fit(features: repeated.map { features[$0] }, labels: repeated.map { labels[$0] }, hyperparameters: p)
        #expect(weighted.trees.map(\.feature) == copies.trees.map(\.feature))
        #expect(weighted.trees.map(\.threshold) == copies.trees.map(\.threshold))
        for (x, y) in zip(weighted.trees, copies.trees) {
            #expect(zip(x.leafValue, y.leafValue).allSatisfy { abs($0 - $1) < 1e-12 })
        }
    }

    @Test("early stopping keeps the round with the lowest validation loss")
    func earlyStopping() throws {
        // Pure noise: the validation loss soon stops improving.
        var rng = SplitMix64(seed: 9)
        let features = (0..<3000).map { _ in (0..<5).map { _ in rng.unit() } }
        let labels = (0..<3000).map { _ in rng.unit() > 0 ? 1 : 0 }
        let p = GBDTHyperparameters(rounds: 500, learningRate: 0.1, earlyStoppingRounds: 10)
        let fit = try GradientBoostedTrees.fit(features: Array(features.prefix(2000)), labels: Array(labels.prefix(2000)),
                                               validation: (Array(features.suffix(1000)), Array(labels.suffix(1000))), hyperparameters: p)
        #expect(fit.stoppedEarly && fit.roundsRun < 500)
        let bestRound = fit.validationLogLoss.indices.min { fit.validationLogLoss[$0] < fit.validationLogLoss[$1] }!
        #expect(fit.trees.count == bestRound + 1)
        #expect(fit.roundsRun == bestRound + 1 + 10)
    }

    static func model(_ fit: GBDTFit, _ p: GBDTHyperparameters, width: Int? = nil) -> GBDTModel {
        let metrics = ClassificationMetrics(count: 1, accuracy: 0.5, logLoss: 0.69, brier: 0.25, auc: 0.5, baseRate: 0.5)
        let provenance = TrainingProvenance(trainFrom: 0, trainTo: 1, validateTo: 2, trainCount: 1, validationCount: 1, horizon: 1,
                                            seed: 0, iterations: fit.trees.count, converged: true)
        return GBDTModel(symbol: "BTC-USD", featureSpecVersion: 7, featureNames: (0..<(width ?? fit.gainImportance.count)).map { "f\($0)" },
                         fit: fit, hyperparameters: p, provenance: provenance, trainMetrics: metrics, validationMetrics: metrics)
    }

    @Test("artifacts round-trip exactly and reject a wrong format, version or a broken tree, naming what is wrong")
    func artifacts() throws {
        let train = Self.xor(count: 1000, seed: 4)
        let p = GBDTHyperparameters(rounds: 20, earlyStoppingRounds: 0)
        let model = Self.model(try GradientBoostedTrees.fit(features: train.features, labels: train.labels, hyperparameters: p), p)
        let bytes = model.artifact()
        let loaded = try GBDTModel(artifact: bytes)
        #expect(loaded == model && loaded.artifact() == bytes && loaded.version.hasPrefix("gb-"))
        #expect(try loaded.probabilityUp(train.features[0]) == model.probabilityUp(train.features[0]))
        #expect(try TrainedModel(artifact: bytes) == .gbdt(model))

        func error(_ edit: (inout String) -> Void) -> String {
            var text = String(decoding: bytes, as: UTF8.self)
            edit(&text)
            do {
                _ = try GBDTModel(artifact: Array(text.utf8))
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(error { $0 = $0.replacingOccurrences(of: "\"formatVersion\":1", with: "\"formatVersion\":9") }.contains("version 9"))
        #expect(error { $0 = $0.replacingOccurrences(of: "quorum.ml.gbdt", with: "quorum.ml.other") }.contains("\"quorum.ml.other\""))
        #expect(error { $0 = String($0.prefix(200)) }.contains("corruptArtifact"))
        // A child pointing back at its parent (a cycle) or past the end.
        let tree = model.trees[0]
        #expect(tree.problem(width: 4) == nil)
        var cyclic = tree
        cyclic.left[0] = 0
        #expect(cyclic.problem(width: 4)?.contains("child node 0") == true)
        var outOfRange = tree
        outOfRange.feature[0] = 4
        #expect(outOfRange.problem(width: 4)?.contains("feature 4") == true)
        var unreached = tree
        unreached.right[unreached.right.count - 1] = unreached.left[unreached.left.count - 1]
        #expect(unreached.problem(width: 4) != nil)
        #expect(throws: MLError.self) { try GBDTModel(artifact: []) }
        // Scoring checks its input as the logistic model does.
        #expect(throws: MLError.self) { try model.probabilityUp([1, 2]) }
        #expect(throws: MLError.self) { try model.probabilityUp([1, .nan, 0, 0]) }
    }

    @Test("bad input is refused before training, saying what is wrong")
    func badInput() {
        func error(_ features: [[Double]], _ labels: [Int], _ p: GBDTHyperparameters = GBDTHyperparameters()) -> String {
            do {
                _ = try GradientBoostedTrees.fit(features: features, labels: labels, hyperparameters: p)
                return "trained"
            } catch {
                return "\(error)"
            }
        }
        #expect(error([[1], [2]], [1, 1]).contains("all 1"))
        #expect(error([[1], [2, 3]], [0, 1]).contains("row 1 has 2 features"))
        #expect(error([[1], [.nan]], [0, 1]).contains("NaN"))
        #expect(error([[1], [2]], [0, 1], GBDTHyperparameters(maxLeaves: 1)).contains("maxLeaves = 1"))
        #expect(error([[1], [2]], [0, 1], GBDTHyperparameters(rowSubsample: 0)).contains("rowSubsample = 0.0"))
        #expect(error([], []).contains("no training rows"))
    }
}
