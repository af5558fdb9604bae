import Foundation
import Testing
@testable import QuorumML
import QuorumModel

@Suite("TrainerCore end to end, the model and its artifact")
struct TrainerCoreTests {
    /// 3,000 one-minute rows: train on the first 2,000 minutes, validate on the next 1,000.
    func job(id: String = "job-1", hyperparameters: ModelHyperparameters = .logistic(LogisticHyperparameters()),
             featureNames: [String] = []) -> TrainingJobSpec {
        TrainingJobSpec(jobID: id, symbol: "BTC-USD", featureSpecVersion: 3, featureNames: featureNames,
                        trainFrom: 0, trainTo: 2000 * minute, validateTo: 3000 * minute,
                        hyperparameters: hyperparameters, seed: 7)
    }

    func trained(_ outcome: TrainingOutcome) throws -> TrainingResult {
        if let failure = outcome.failure { Issue.record("training failed: \(failure)") }
        return try #require(outcome.result)
    }

    @Test("separable data: validation accuracy > 0.95 and the gate passes")
    func separable() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 1, separable: true)
        let result = try trained(TrainerCore().train(job: job(), rows: rows))
        #expect(result.validationMetrics.accuracy > 0.95)
        #expect(try #require(result.validationMetrics.auc) > 0.98)
        #expect(result.validationMetrics.count == 999) // last row has no future close
        #expect(result.trainMetrics.count == 2000)
        #expect(result.verdict.passed, "\(result.verdict.reasons)")
        #expect(result.droppedWithoutFuture == 1)
        #expect(result.model.featureNames == ["f0", "f1", "f2", "f3"])
        #expect(result.model.provenance.trainCount == 2000)
        #expect(result.model.provenance.seed == 7)
    }

    @Test("a gbdt job: trees early-stopped on the latest training rows (never the validation rows), scored and gated like any model")
    func gbdtJob() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 1, separable: true)
        let h = GBDTHyperparameters(rounds: 300, learningRate: 0.1, earlyStoppingRounds: 10)
        let result = try trained(TrainerCore().train(job: job(hyperparameters: .gbdt(h)), rows: rows))
        let model = try #require(result.model.gbdt)
        #expect(result.validationMetrics.accuracy > 0.9 && result.verdict.passed, "\(result.validationMetrics)")
        // 20 % of the 2,000 training rows watch early stopping, one more row is purged before them.
        #expect(model.provenance.trainCount == 2000 - 400 - 1)
        #expect(model.trees.count == model.provenance.iterations && model.trees.count < 300)
        #expect(result.model.version.hasPrefix("gb-"))
        #expect(try TrainedModel(artifact: result.model.artifact()) == result.model)
        // Deterministic: the same job, the same bytes.
        let again = try trained(TrainerCore().train(job: job(hyperparameters: .gbdt(h)), rows: rows))
        #expect(again.model.artifact() == result.model.artifact())
    }

    @Test("hyperparameters by name (the wire's and the configs' form): defaults fill in, unknown names get a did-you-mean")
    func hyperparametersByName() throws {
        let h = try ModelHyperparameters(family: .gbdt, values: ["max_leaves": 15, "row_subsample": 0.8])
        #expect(h == .gbdt(GBDTHyperparameters(maxLeaves: 15, rowSubsample: 0.8)))
        #expect(try ModelHyperparameters(family: .gbdt, values: h.values) == h)
        #expect(try ModelHyperparameters(family: .logistic, values: [:]) == .logistic(LogisticHyperparameters()))
        #expect(ModelFamily(kind: "logistic-regression") == .logistic && ModelFamily(kind: "gbdt") == .gbdt)
        func error(_ family: ModelFamily, _ values: [String: Double]) -> String {
            do { return "\(try ModelHyperparameters(family: family, values: values))" } catch { return error.message }
        }
        #expect(error(.gbdt, ["max_leafs": 15]).contains("did you mean \"max_leaves\""))
        #expect(error(.logistic, ["max_leaves": 15]).contains("logistic has no hyperparameter \"max_leaves\""))
        #expect(error(.gbdt, ["max_leaves": 15.5]).contains("whole number"))
        #expect(error(.gbdt, ["learning_rate": 2]).contains("learningRate = 2.0 is invalid"))
    }

    @Test("noise: validation accuracy near the base rate and the gate rejects")
    func noise() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 2, separable: false, upProbability: 0.5)
        let result = try trained(TrainerCore().train(job: job(), rows: rows))
        let v = result.validationMetrics
        let majority = max(v.baseRate, 1 - v.baseRate)
        // No skill: not better than always predicting the majority class, and forecasts stay near the base rate
        // (Brier close to the constant forecast's q(1 − q); small standardised weights).
        #expect(v.accuracy <= majority + 0.02, "accuracy \(v.accuracy), majority share \(majority)")
        #expect(v.accuracy > 0.4)
        #expect(abs(v.brier - v.baseRate * (1 - v.baseRate)) < 0.01, "brier \(v.brier), base rate \(v.baseRate)")
        #expect(result.model.logistic!.weights.allSatisfy { abs($0) < 0.2 }, "\(result.model.logistic!.weights)")
        #expect(try #require(v.auc) > 0.4 && v.auc! < 0.6)
        #expect(!result.verdict.passed)
        #expect(result.verdict.improvement < ValidationGate().minimumImprovement)
    }

    @Test("excluded ranges (the walk-forward embargo) leave exactly their rows out of training, not out of validation")
    func excluded() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 1, separable: true)
        var spec = job()
        spec.excluded = [100 * minute..<400 * minute, 2_500 * minute..<2_600 * minute]
        let result = try trained(TrainerCore().train(job: spec, rows: rows))
        #expect(result.trainMetrics.count == 2000 - 300, "300 training rows embargoed")
        #expect(result.validationMetrics.count == 999, "validation rows are never excluded")
        #expect(result.model.provenance.trainCount == 1700)
    }

    @Test("same inputs → byte-identical artifact and digest")
    func determinism() throws {
        let rows = syntheticRows(count: 3000, width: 5, seed: 3, separable: true)
        let first = try trained(TrainerCore().train(job: job(), rows: rows))
        let second = try trained(TrainerCore().train(job: job(), rows: rows))
        #expect(first.model.artifact() == second.model.artifact())
        #expect(first.model.version == second.model.version)
        #expect(first == second)
        // A different hyperparameter gives a different model and version.
        let other = try trained(TrainerCore().train(job: job(hyperparameters: .logistic(LogisticHyperparameters(l2: 1))),
                                                    rows: rows))
        #expect(other.model.version != first.model.version)
    }

    @Test("no leakage: changing rows after trainTo leaves the fitted model unchanged")
    func noLeakage() throws {
        let rows = syntheticRows(count: 3000, width: 3, seed: 4, separable: true)
        let trainTo = 2000 * minute
        var altered = rows
        var rng = SplitMix64(seed: 99)
        for i in altered.indices where altered[i].time > trainTo {
            altered[i].features = altered[i].features.map { $0 * 1000 + 50 }
            altered[i].close *= 1 + rng.unit() * 0.1
        }
        let original = try #require(try trained(TrainerCore().train(job: job(), rows: rows)).model.logistic)
        let changed = try #require(try trained(TrainerCore().train(job: job(), rows: altered)).model.logistic)
        #expect(changed.scaler == original.scaler)
        #expect(changed.weights == original.weights)
        #expect(changed.bias == original.bias)
        #expect(changed.trainMetrics == original.trainMetrics)
        #expect(changed.validationMetrics != original.validationMetrics) // the change did reach validation
    }

    @Test("score: probability from the documented formula, confidence = |2p − 1|")
    func scoring() throws {
        let model = handModel()
        let x = [3.0, -1.0]
        // z = 0.5·(3 − 1)/2 + (−2)·(−1 − 0)/4 + 0.25 = 0.5 + 0.5 + 0.25
        let p = 1 / (1 + exp(-1.25))
        let s = try model.score(x)
        #expect(abs(s.probUp - p) < 1e-15)
        #expect(abs(s.confidence - abs(2 * p - 1)) < 1e-15)
        #expect(try model.score([1, 0]).confidence < 0.13) // z = 0.25 → close to a coin flip
    }

    @Test("score rejects a wrong width or a non-finite feature with a clear error")
    func scoreErrors() {
        let model = handModel()
        #expect {
            try model.score([1, 2, 3])
        } throws: { error in
            (error as? MLError)?.code == .widthMismatch && "\(error)".contains("expects 2 features, got 3")
        }
        #expect(throws: MLError(.nonFiniteValue, "feature 1 (b) is nan; cannot score a non-finite feature vector")) {
            try model.probabilityUp([1, .nan])
        }
    }

    @Test("artifact round trip restores the model exactly; bytes are stable; keys are sorted")
    func artifactRoundTrip() throws {
        let rows = syntheticRows(count: 600, width: 3, seed: 5, separable: true)
        let spec = TrainingJobSpec(jobID: "j", symbol: "ETH-USD", featureSpecVersion: 1, featureNames: ["x", "y", "z"],
                                   trainFrom: 0, trainTo: 400 * minute, validateTo: 600 * minute)
        let model = try #require(try trained(TrainerCore().train(job: spec, rows: rows)).model.logistic)
        let bytes = model.artifact()
        let restored = try LogisticModel(artifact: bytes)
        #expect(restored == model)
        #expect(restored.artifact() == bytes)
        #expect(restored.version == model.version)
        for row in rows.prefix(20) {
            #expect(try restored.probabilityUp(row.features) == model.probabilityUp(row.features))
        }
        let text = try #require(String(bytes: bytes, encoding: .utf8))
        #expect(text.hasPrefix("{\"format\":\"quorum.ml.logistic-regression\",\"formatVersion\":1,\"model\":{"))
        #expect(model.contentDigest == FNV1a64.hex(of: bytes))
        #expect(model.version.count == 3 + 16)
    }

    @Test("FNV-1a 64 matches the published test vectors")
    func fnvVectors() {
        #expect(FNV1a64.hex(of: []) == "cbf29ce484222325")
        #expect(FNV1a64.hex(of: Array("a".utf8)) == "af63dc4c8601ec8c")
        #expect(FNV1a64.hex(of: Array("foobar".utf8)) == "85944171f73967e8")
    }

    @Test("corrupt or mismatched artifacts are rejected with .corruptArtifact")
    func corruptArtifacts() throws {
        let good = handModel().artifact()
        func code(_ bytes: [UInt8]) -> MLError.Code? {
            do { _ = try LogisticModel(artifact: bytes); return nil } catch { return error.code }
        }
        #expect(code(good) == nil)
        #expect(code(Array(good.prefix(good.count / 2))) == .corruptArtifact)
        #expect(code([]) == .corruptArtifact)
        #expect(code(Array("not json".utf8)) == .corruptArtifact)
        let text = String(decoding: good, as: UTF8.self)
        #expect(code(Array(text.replacingOccurrences(of: "\"formatVersion\":1", with: "\"formatVersion\":2").utf8))
            == .corruptArtifact)
        #expect(code(Array(text.replacingOccurrences(of: "logistic-regression", with: "tree").utf8)) == .corruptArtifact)
        #expect(code(Array(text.replacingOccurrences(of: "\"featureNames\":[\"a\",\"b\"]",
                                                     with: "\"featureNames\":[\"a\"]").utf8)) == .corruptArtifact)
        // A NaN weight survives encoding (as a string) but not loading.
        let nanModel = handModel(weights: [.nan, 1])
        #expect(code(nanModel.artifact()) == .corruptArtifact)
    }

    @Test("bad jobs fail with a reason instead of a model")
    func failures() {
        let rows = syntheticRows(count: 3000, width: 2, seed: 6, separable: true)
        let core = TrainerCore()
        #expect(core.train(job: job(hyperparameters: .logistic(LogisticHyperparameters(learningRate: -1))), rows: rows)
            .failure?.code == .invalidHyperparameter)
        #expect(core.train(job: job(featureNames: ["only-one"]), rows: rows).failure?.code == .widthMismatch)
        #expect(core.train(job: job(), rows: Array(rows.prefix(40))).failure?.code == .tooFewRows)
        #expect(core.train(job: job(), rows: Array(rows.prefix(2000))).failure?.code == .tooFewRows) // no validation
        let flat = rows.enumerated().map { i, r in (time: r.time, features: r.features, close: 100 + Double(i)) }
        let outcome = core.train(job: job(id: "always-up"), rows: flat)
        #expect(outcome.failure?.code == .singleClass)
        #expect(outcome == .failed(jobID: "always-up", reason: outcome.failure!))
    }

    func handModel(weights: [Double] = [0.5, -2]) -> LogisticModel {
        let metrics = ClassificationMetrics(count: 1, accuracy: 1, logLoss: 0.1, brier: 0.01, auc: nil, baseRate: 1)
        return LogisticModel(
            symbol: "BTC-USD", featureSpecVersion: 1, featureNames: ["a", "b"], weights: weights, bias: 0.25,
            scaler: FeatureScaler(means: [1, 0], stds: [2, 4]), hyperparameters: LogisticHyperparameters(),
            provenance: TrainingProvenance(trainFrom: 0, trainTo: 10, validateTo: 20, trainCount: 1,
                                           validationCount: 1, horizon: 1, seed: 0, iterations: 1, converged: true),
            trainMetrics: metrics, validationMetrics: metrics)
    }
}
