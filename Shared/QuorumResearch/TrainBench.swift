import Foundation
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline

/// `quorum bench-train` (make bench-train): Quorum's gradient-boosted trees and logistic regression on walk-forward
/// folds of real bars, timed, with the same folds written out for a reference library (LightGBM) to train on.
///
/// Per symbol: the spec's feature rows from the symbol's first bar (`TrainingRows`), labelled up/down over one bar
/// (`LabeledDataset`). Per fold of `plan`: the training rows are those of the training window whose label is known
/// before the test window opens (purge); the latest of them watch early stopping as in a trainer's gbdt job
/// (`TrainerCore.earlyStoppingSplit`); the test rows are the test window's. Each set is a contiguous run of the
/// symbol's rows, so a fold is three index ranges.
public enum TrainBench {
    public struct Fold: Sendable {
        public var symbol: Symbol
        public var index: Int
        public var fit: Range<Int>
        public var stop: Range<Int>
        public var test: Range<Int>
    }

    public struct Dataset: Sendable {
        public var symbol: Symbol
        public var rows: [LabeledRow]
    }

    /// One fold's figures for one model family.
    public struct Score: Sendable {
        public var auc: Double
        public var seconds: Double
        /// Trees kept (gbdt) or iterations (logistic).
        public var size: Int
    }

    /// The labelled rows of each symbol and the folds over them (folds with fewer than 100 fitting or 10 test rows,
    /// or one class only, are left out).
    public static func folds(_ data: BacktestData, spec: FeatureSpec, plan: WalkForwardPlan,
                             hyperparameters: GBDTHyperparameters) throws -> (datasets: [Dataset], folds: [Fold]) {
        var datasets: [Dataset] = [], folds: [Fold] = []
        for symbol in data.symbols {
            let bars = data.bars.lazy.map(\.bar).filter { $0.symbol == symbol }
            let rows = try LabeledDataset.make(rows: try TrainingRows.rows(bars: Array(bars), symbol: symbol, spec: spec)).rows
            guard let first = rows.first, let last = rows.last else { continue }
            var labelled = plan
            labelled.labelHorizon = max(plan.labelHorizon, data.bars[0].bar.intervalSeconds * 1_000_000_000)
            for fold in try labelled.folds(from: first.time, to: last.time) {
                // Rows are in time order, and so are their label times: each set is one index range.
                let trainStart = rows.partitioningIndex { $0.time >= fold.trainFrom }
                let trainEnd = rows.partitioningIndex { $0.time >= fold.trainTo || $0.labelTime > fold.testFrom }
                let testStart = rows.partitioningIndex { $0.time >= fold.testFrom }
                let testEnd = rows.partitioningIndex { $0.time >= fold.testTo || $0.labelTime > fold.testTo }
                let split = TrainerCore.earlyStoppingSplit(rows: trainEnd - trainStart, horizon: 1, hyperparameters: hyperparameters)
                let f = Fold(symbol: symbol, index: fold.index, fit: (trainStart + split.fit.lowerBound)..<(trainStart + split.fit.upperBound),
                             stop: (trainStart + split.stop.lowerBound)..<(trainStart + split.stop.upperBound), test: testStart..<max(testStart, testEnd))
                let labels = Set(rows[f.fit].map(\.label))
                guard f.fit.count >= 100, f.test.count >= 10, labels.count == 2 else { continue }
                folds.append(f)
            }
            datasets.append(Dataset(symbol: symbol, rows: rows))
        }
        return (datasets, folds)
    }

    /// The trees on the fold's fitting rows, early-stopped on its stopping rows, scored on its test rows; the time
    /// covers binning and boosting (the data already in memory).
    public static func gbdt(_ rows: [LabeledRow], _ fold: Fold, _ h: GBDTHyperparameters, seed: UInt64) throws -> Score {
        let fit = rows[fold.fit], stop = rows[fold.stop]
        let started = ContinuousClock.now
        let trees = try GradientBoostedTrees.fit(features: fit.map(\.features), labels: fit.map(\.label),
                                                 validation: stop.isEmpty ? nil : (stop.map(\.features), stop.map(\.label)),
                                                 hyperparameters: h, seed: seed)
        return score(rows, fold, since: started, size: trees.trees.count) { x in x.withUnsafeBufferPointer { trees.logOdds($0.baseAddress!) } }
    }

    /// The network on the fold's fitting rows, early-stopped on its stopping rows, scored on its test rows.
    public static func mlp(_ rows: [LabeledRow], _ fold: Fold, _ h: MLPHyperparameters, seed: UInt64) throws -> Score {
        let fit = rows[fold.fit], stop = rows[fold.stop]
        let started = ContinuousClock.now
        let network = try NeuralNetwork.fit(features: fit.map(\.features), labels: fit.map(\.label),
                                            validation: stop.isEmpty ? nil : (stop.map(\.features), stop.map(\.label)),
                                            hyperparameters: h, seed: seed)
        return score(rows, fold, since: started, size: network.bestEpoch + 1, network.logOdds)
    }

    /// The logistic model on the fold's fitting and stopping rows, scored on its test rows.
    public static func logistic(_ rows: [LabeledRow], _ fold: Fold, _ h: LogisticHyperparameters) throws -> Score {
        let train = rows[fold.fit.lowerBound..<fold.stop.upperBound]
        let started = ContinuousClock.now
        let fit = try LogisticRegression.fit(features: train.map(\.features), labels: train.map(\.label), hyperparameters: h)
        return score(rows, fold, since: started, size: fit.iterations) { Vector.dot(fit.weights, fit.scaler.transform($0)) + fit.bias }
    }

    /// The time since `started` and the test rows' AUC of `logOdds`.
    static func score(_ rows: [LabeledRow], _ fold: Fold, since started: ContinuousClock.Instant, size: Int,
                      _ logOdds: ([Double]) -> Double) -> Score {
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let scores = rows[fold.test].map { logOdds($0.features) }
        return Score(auc: ClassificationMetrics.areaUnderROC(scores: scores, labels: rows[fold.test].map(\.label)) ?? .nan,
                     seconds: seconds, size: size)
    }

    /// A symbol's rows as CSV for the reference: `label,f0,…` (shortest round-trip decimals), one line per row.
    public static func csv(_ dataset: Dataset) -> String {
        var text = "label," + (0..<(dataset.rows.first?.features.count ?? 0)).map { "f\($0)" }.joined(separator: ",") + "\n"
        for row in dataset.rows {
            text += String(row.label)
            for x in row.features { text += "," + x.description }
            text += "\n"
        }
        return text
    }
}

extension RandomAccessCollection {
    /// The first index whose element satisfies `predicate`, for a predicate false then true along the collection.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Index {
        var low = startIndex, count = self.count
        while count > 0 {
            let half = count / 2
            let mid = index(low, offsetBy: half)
            if predicate(self[mid]) { count = half } else { low = index(after: mid); count -= half + 1 }
        }
        return low
    }
}
