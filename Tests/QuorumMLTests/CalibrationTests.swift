import Foundation
@testable import QuorumML
import QuorumModel
import Testing

@Suite("Calibration")
struct CalibrationTests {
    /// Outcomes drawn with P(up) = σ(z) (base rate about 0.2), and an over-confident raw forecast σ(3z).
    static func skewed(count: Int, seed: UInt64) -> (raw: [Double], labels: [Int]) {
        var rng = SplitMix64(seed: seed)
        var raw: [Double] = [], labels: [Int] = []
        for _ in 0..<count {
            let z = rng.gaussian() - 1.5
            raw.append(sigmoid(3 * z))
            labels.append(Double.random(in: 0..<1, using: &rng) < sigmoid(z) ? 1 : 0)
        }
        return (raw, labels)
    }

    static func logLoss(_ p: [Double], _ y: [Int]) -> Double {
        zip(p, y).reduce(0) { $0 + ClassificationMetrics.logLoss(probability: $1.0, label: $1.1) } / Double(y.count)
    }

    @Test("on an over-confident, skewed forecast the chosen calibration lowers the log loss and the calibration error on new rows")
    func improves() {
        let fit = Self.skewed(count: 4000, seed: 1), test = Self.skewed(count: 20000, seed: 2)
        let (calibration, losses) = Calibration.choose(probabilities: fit.raw, labels: fit.labels)
        #expect(calibration.name != "none", "\(losses)")
        #expect(losses["none"]! > losses[calibration.name]!)
        let calibrated = test.raw.map(calibration.apply)
        #expect(Self.logLoss(calibrated, test.labels) < Self.logLoss(test.raw, test.labels) - 0.02)
        #expect(Reliability(probabilities: calibrated, labels: test.labels).ece < Reliability(probabilities: test.raw, labels: test.labels).ece / 2)
        // Platt recovers the slope: σ(3z) needs a ≈ 1/3 to become σ(z).
        guard case .platt(let a, _) = Calibration.platt(probabilities: fit.raw, labels: fit.labels) else { Issue.record("no Platt fit"); return }
        #expect(abs(a - 1.0 / 3) < 0.06, "a = \(a)")
    }

    @Test("a calibrated forecast keeps none; too few rows keep none")
    func keepsNone() {
        var rng = SplitMix64(seed: 3)
        let p = (0..<4000).map { _ in Double.random(in: 0.05..<0.95, using: &rng) }
        let y = p.map { Double.random(in: 0..<1, using: &rng) < $0 ? 1 : 0 }
        let (_, losses) = Calibration.choose(probabilities: p, labels: y)
        #expect(losses["none"]! <= losses["platt"]! + 0.002 && losses["none"]! <= losses["isotonic"]! + 0.01, "\(losses)")
        #expect(Calibration.choose(probabilities: Array(p.prefix(50)), labels: Array(y.prefix(50))).calibration == .none)
    }

    @Test("isotonic: pool adjacent violators, monotone, clipped away from 0 and 1, linear between points")
    func isotonic() {
        let c = Calibration.isotonic(probabilities: [0.1, 0.2, 0.3, 0.4], labels: [0, 1, 0, 1])
        #expect(c == .isotonic(x: [0.1, 0.25, 0.4], y: [0.001, 0.5, 0.999]))
        #expect(abs(c.apply(0.175) - (0.001 + 0.499 / 2)) < 1e-12)
        #expect(c.apply(0) == 0.001 && c.apply(1) == 0.999)
        #expect(c.problem() == nil && Calibration.isotonic(x: [0.2, 0.1], y: [0.3, 0.4]).problem() != nil)
    }

    @Test("reliability: bins, rates and the expected calibration error")
    func reliability() {
        let r = Reliability(probabilities: [0.05, 0.05, 0.95, 0.95, 0.55, 0.55], labels: [0, 0, 1, 1, 1, 0])
        #expect(r.bins.count == 10 && r.bins[0].count == 2 && r.bins[9].count == 2 && r.bins[5].count == 2)
        #expect(abs(r.ece - (2.0 / 6 * 0.05 + 2.0 / 6 * 0.05 + 2.0 / 6 * 0.05)) < 1e-12)
    }

    @Test("a gbdt job calibrates on its early-stopping rows; the calibration travels in the artifact and is checked on load")
    func inJobs() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 1, separable: true)
        let job = TrainingJobSpec(jobID: "c", symbol: "BTC-USD", featureSpecVersion: 1, trainFrom: 0, trainTo: 2000 * minute,
                                  validateTo: 3000 * minute, hyperparameters: .gbdt(GBDTHyperparameters(rounds: 50, learningRate: 0.3)))
        let result = try #require(TrainerCore().train(job: job, rows: rows).result)
        #expect(result.registryMetrics["ece"] == result.validationReliability.ece)
        let model = try #require(result.model.gbdt)
        let loaded = try TrainedModel(artifact: result.model.artifact())
        #expect(loaded == result.model && loaded.calibration == (model.calibration ?? .none))
        // Without calibrate there is none, and the logistic default stays uncalibrated (its artifact as before).
        var plain = job
        plain.hyperparameters = .gbdt(GBDTHyperparameters(rounds: 50, learningRate: 0.3, calibrate: false))
        #expect(try #require(TrainerCore().train(job: plain, rows: rows).result).model.calibration == .none)
        plain.hyperparameters = .logistic(LogisticHyperparameters())
        let logistic = try #require(TrainerCore().train(job: plain, rows: rows).result).model
        #expect(logistic.calibration == .none && !String(decoding: logistic.artifact(), as: UTF8.self).contains("calibrat"))
        // A broken calibration is refused on load.
        let broken = GBDTModel(symbol: model.symbol, featureSpecVersion: 1, featureNames: model.featureNames,
                               fit: GBDTFit(initialScore: model.initialScore, trees: model.trees, gainImportance: model.gainImportance,
                                            splitImportance: model.gainImportance.map { _ in 0 }, roundsRun: 1, stoppedEarly: false,
                                            validationLogLoss: []),
                               hyperparameters: model.hyperparameters, provenance: model.provenance, trainMetrics: model.trainMetrics,
                               validationMetrics: model.validationMetrics, calibration: .isotonic(x: [0.2, 0.1], y: [0.3, 0.4]))
        #expect(throws: MLError.self) { try GBDTModel(artifact: broken.artifact()) }
        #expect(Calibration.platt(a: .nan, b: 0).problem() != nil)
    }
}
