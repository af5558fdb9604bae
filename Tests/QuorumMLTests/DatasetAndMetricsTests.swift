import Foundation
import Testing
@testable import QuorumML
import QuorumModel

@Suite("Labelled dataset, walk-forward split, metrics and the validation gate")
struct DatasetAndMetricsTests {
    func rows(closes: [Double], features: [[Double]]? = nil) -> [PriceFeatureRow] {
        closes.indices.map { i in (time: Nanos(i + 1) * 10, features: features?[i] ?? [Double(i)], close: closes[i]) }
    }

    @Test("labels: up = strictly higher close `horizon` rows later; the tail is dropped")
    func labels() throws {
        let data = try LabeledDataset.make(rows: rows(closes: [10, 11, 11, 9, 12]))
        #expect(data.labels == [1, 0, 0, 1])
        #expect(data.rows.map(\.time) == [10, 20, 30, 40])
        #expect(data.rows.map(\.labelTime) == [20, 30, 40, 50])
        #expect(data.droppedWithoutFuture == 1)
        #expect(data.droppedNonFinite == 0)

        let two = try LabeledDataset.make(rows: rows(closes: [10, 11, 11, 9, 12]), horizon: 2)
        #expect(two.labels == [1, 0, 1]) // 11 > 10, 9 > 11 no, 12 > 11
        #expect(two.rows.map(\.labelTime) == [30, 40, 50])
        #expect(two.droppedWithoutFuture == 2)
    }

    @Test("non-finite rows are dropped and counted; their close still labels earlier rows")
    func nonFinite() throws {
        let data = try LabeledDataset.make(rows: rows(closes: [10, 11, 12, .nan, 13],
                                                      features: [[1], [.nan], [3], [4], [.infinity]]))
        // row 0: ok (11 > 10); row 1: NaN feature; row 2: future close NaN; row 3: own close NaN; row 4: no future
        #expect(data.labels == [1])
        #expect(data.droppedNonFinite == 3)
        #expect(data.droppedWithoutFuture == 1)
    }

    @Test("unordered times, mixed widths and a bad horizon are errors")
    func makeErrors() {
        func code(_ body: () throws -> LabeledDataset) -> MLError.Code? {
            do { _ = try body(); return nil } catch { return (error as? MLError)?.code }
        }
        #expect(code { try LabeledDataset.make(rows: [(20, [1], 1), (10, [1], 2)]) } == .unorderedRows)
        #expect(code { try LabeledDataset.make(rows: [(10, [1], 1), (10, [1], 2)]) } == .unorderedRows)
        #expect(code { try LabeledDataset.make(rows: [(10, [1], 1), (20, [1, 2], 2)]) } == .widthMismatch)
        #expect(code { try LabeledDataset.make(rows: [(10, [1], 1)], horizon: 0) } == .invalidHyperparameter)
        #expect(code { try LabeledDataset.make(rows: []) } == .tooFewRows)
    }

    @Test("walk-forward boundaries: half-open ranges, outcome known by the split's end")
    func walkForwardBoundaries() throws {
        // times 10, 20, …, 100; labels use the next row, so labelTime = time + 10 (last row dropped).
        let data = try LabeledDataset.make(rows: rows(closes: (0..<10).map { Double($0 % 3) }))
        let (train, validation) = try data.walkForward(trainFrom: 20, trainTo: 60, validateTo: 90)
        // training: 20 ≤ t < 60 and t + 10 ≤ 60 → 20, 30, 40, 50
        #expect(train.rows.map(\.time) == [20, 30, 40, 50])
        // validation: 60 ≤ t < 90 and t + 10 ≤ 90 → 60, 70, 80
        #expect(validation.rows.map(\.time) == [60, 70, 80])
        #expect(train.rows.map(\.time).max()! < validation.rows.map(\.time).min()!)

        // A training row whose outcome arrives after trainTo is purged.
        let (purgedTrain, _) = try data.walkForward(trainFrom: 10, trainTo: 55, validateTo: 90)
        #expect(purgedTrain.rows.map(\.time) == [10, 20, 30, 40]) // 50's outcome is at 60 > 55
        #expect(throws: MLError.self) { try data.walkForward(trainFrom: 60, trainTo: 60, validateTo: 90) }
        #expect(throws: MLError.self) { try data.walkForward(trainFrom: 10, trainTo: 60, validateTo: 50) }
    }

    @Test("AUC on hand examples, including ties")
    func aucHandExamples() {
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1]) == 1)
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1]) == 0)
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
        // pairs (pos, neg): (0.5, 0.5) tie → ½, (0.5, 0.2) → 1, (0.9, 0.5) → 1, (0.9, 0.2) → 1 ⇒ 3.5 / 4
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.5, 0.5, 0.2, 0.9], labels: [1, 0, 0, 1]) == 0.875)
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.3, 0.3, 0.3], labels: [1, 0, 1]) == 0.5)
        #expect(ClassificationMetrics.areaUnderROC(scores: [0.3, 0.4], labels: [1, 1]) == nil)
    }

    @Test("rank AUC equals the pairwise definition on seeded random inputs with many ties")
    func aucMatchesPairwise() {
        var rng = SplitMix64(seed: 77)
        for trial in 0..<50 {
            let n = 2 + trial * 3
            let scores = (0..<n).map { _ in (rng.unit() * 5).rounded() / 5 } // few distinct values → ties
            var labels = (0..<n).map { _ in rng.unit() > 0 ? 1 : 0 }
            labels[0] = 1
            labels[1] = 0
            var wins = 0.0, pairs = 0.0
            for i in 0..<n where labels[i] == 1 {
                for j in 0..<n where labels[j] == 0 {
                    pairs += 1
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                }
            }
            let auc = ClassificationMetrics.areaUnderROC(scores: scores, labels: labels)!
            #expect(abs(auc - wins / pairs) < 1e-12, "trial \(trial)")
        }
    }

    @Test("accuracy, clipped log loss, Brier and base rate on a hand example")
    func metricsHandExample() {
        let m = ClassificationMetrics.compute(probabilities: [0.9, 0.2, 0.6, 0], labels: [1, 0, 0, 1])
        #expect(m.count == 4)
        #expect(m.accuracy == 0.5)
        #expect(m.baseRate == 0.5)
        #expect(abs(m.brier - (0.01 + 0.04 + 0.36 + 1) / 4) < 1e-15)
        let expectedLogLoss = (-log(0.9) - log(0.8) - log(0.4) - log(1e-15)) / 4
        #expect(abs(m.logLoss - expectedLogLoss) < 1e-12)
        #expect(m.logLoss.isFinite)
        #expect(m.auc == 0.5) // pos {0.9, 0} vs neg {0.2, 0.6}: 0.9 wins twice, 0 loses twice
    }

    @Test("gate: baseline is the validation base-rate log loss; margin and minimum count are enforced")
    func gate() {
        let gate = ValidationGate(minimumCount: 10, minimumImprovement: 0.01)
        #expect(abs(ValidationGate.baselineLogLoss(baseRate: 0.5) - log(2)) < 1e-15)
        #expect(ValidationGate.baselineLogLoss(baseRate: 1) < 1e-12)
        func metrics(count: Int, logLoss: Double) -> ClassificationMetrics {
            ClassificationMetrics(count: count, accuracy: 0.6, logLoss: logLoss, brier: 0.2, auc: 0.6, baseRate: 0.5)
        }
        #expect(gate.evaluate(validation: metrics(count: 10, logLoss: log(2) - 0.02)).passed)
        let tooSmallMargin = gate.evaluate(validation: metrics(count: 10, logLoss: log(2) - 0.005))
        #expect(!tooSmallMargin.passed)
        #expect(tooSmallMargin.reasons.count == 1)
        #expect(abs(tooSmallMargin.improvement - 0.005) < 1e-12)
        let tooFew = gate.evaluate(validation: metrics(count: 9, logLoss: 0.1))
        #expect(!tooFew.passed)
        #expect(tooFew.reasons.first?.contains("9 rows") == true)
        #expect(!gate.evaluate(validation: metrics(count: 10, logLoss: .nan)).passed)
    }
}
