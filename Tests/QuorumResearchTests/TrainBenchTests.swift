import Foundation
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumResearch
import Testing

/// make bench-train's folds: what each model trains, stops and is scored on.
@Suite("TrainBench folds")
struct TrainBenchTests {
    @Test("folds: fitting rows, then a purge, then the stopping rows, all labelled before the test window, which follows them")
    func folds() throws {
        let bars = try Support.bars("btc_usd_30m.csv.gz", from: "2019-01-01", to: "2019-05-01")
        let data = BacktestData(bars: bars.enumerated().map { ArchivedBarRecord(bar: $1, id: $1.wireID, file: "t.csv", line: $0 + 2) })
        let day: Nanos = 86_400_000_000_000
        let plan = WalkForwardPlan(window: .rolling, trainLength: 60 * day, testLength: 20 * day)
        let (datasets, folds) = try TrainBench.folds(data, spec: .coreV1, plan: plan, hyperparameters: GBDTHyperparameters())
        #expect(datasets.count == 1 && folds.count == 2, "120 days less the warm-up: 60 days of training, two 20-day test windows")
        let rows = datasets[0].rows
        for fold in folds {
            let train = fold.fit.count + 1 + fold.stop.count
            #expect(fold.stop.count == Int(Double(train) * TrainerCore.earlyStoppingShare), "the latest 20 % watch early stopping")
            #expect(fold.stop.lowerBound == fold.fit.upperBound + 1, "one row purged between them (horizon 1)")
            let testFrom = rows[fold.test.lowerBound].time
            #expect(rows[fold.fit.lowerBound..<fold.stop.upperBound].allSatisfy { $0.labelTime <= testFrom })
            #expect(rows[fold.fit.upperBound - 1].labelTime <= rows[fold.stop.lowerBound].time, "no fitting label inside the stopping rows")
            #expect(fold.test.count > 900 && fold.test.count <= 20 * 48)
        }
        let scores = try TrainBench.gbdt(rows, folds[0], GBDTHyperparameters(rounds: 20), seed: 1)
        #expect(scores.auc > 0.3 && scores.auc < 0.7 && scores.size <= 20)
        #expect(TrainBench.csv(datasets[0]).split(separator: "\n").count == rows.count + 1)
    }
}
