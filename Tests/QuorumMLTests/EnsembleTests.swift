import Foundation
@testable import QuorumML
import QuorumModel
import Testing

@Suite("Stacked ensembles")
struct EnsembleTests {
    static let job = TrainingJobSpec(jobID: "e", symbol: "BTC-USD", featureSpecVersion: 1, trainFrom: 0, trainTo: 3000 * minute,
                                     validateTo: 4000 * minute, hyperparameters: .ensemble(EnsembleHyperparameters(members: [
                                         .logistic(LogisticHyperparameters()), .gbdt(GBDTHyperparameters(rounds: 40, learningRate: 0.2)),
                                         .mlp(MLPHyperparameters(hidden: 8, hidden2: 0, learningRate: 0.01, epochs: 20)),
                                     ])), seed: 2)

    @Test("members trained on the earlier rows, blended on the latest (out of fold): it scores, passes the gate, and its artifact round-trips")
    func trains() throws {
        let rows = syntheticRows(count: 4000, width: 4, seed: 1, separable: true)
        let result = try #require(TrainerCore().train(job: Self.job, rows: rows).result)
        let model = try #require({ if case .ensemble(let m) = result.model { m } else { nil } }())
        #expect(model.members.map(\.family) == [.logistic, .gbdt, .mlp])
        #expect(result.validationMetrics.accuracy > 0.9 && result.verdict.passed, "\(result.validationMetrics)")
        // 3,000 training rows: 600 held out for the blend, one purged; the members trained on the rest.
        #expect(model.provenance.trainCount == 3000 - 600 - 1 && model.members.allSatisfy { $0.provenance.trainCount < 2399 || $0.family == .logistic })
        let bytes = result.model.artifact()
        #expect(try TrainedModel(artifact: bytes) == result.model && result.model.version.hasPrefix("en-"))
        #expect(TrainerCore().train(job: Self.job, rows: rows).result?.model.artifact() == bytes, "deterministic")
        #expect(abs(result.model.importance.reduce(0, +) - 1) < 1e-9)
        // Confidence: the margin less twice the members' spread.
        for row in rows.suffix(50) {
            let (p, spread) = try model.predict(row.features)
            let scored = try result.model.score(row.features)
            #expect(scored.probUp == p && scored.confidence == max(0, abs(2 * p - 1) - 2 * spread))
            #expect(scored.confidence <= abs(2 * p - 1))
        }
    }

    @Test("hyperparameters by name: member flags and prefixed names, a did-you-mean for a typo, at least two members")
    func byName() throws {
        let h = try ModelHyperparameters(family: .ensemble, values: ["gbdt": 0, "mlp.hidden": 8, "l2": 1])
        #expect(h == .ensemble(EnsembleHyperparameters(members: [.logistic(LogisticHyperparameters()), .mlp(MLPHyperparameters(hidden: 8))], l2: 1)))
        #expect(try ModelHyperparameters(family: .ensemble, values: h.values) == h)
        func error(_ values: [String: Double]) -> String {
            do { return "\(try ModelHyperparameters(family: .ensemble, values: values))" } catch { return error.message }
        }
        #expect(error(["mlp.hiden": 8]).contains("did you mean \"mlp.hidden\""))
        #expect(error(["gbdt": 0, "mlp": 0]).contains("at least two members"))
        #expect(error(["gbdt.max_leaves": 1]).contains("ensemble member gbdt: maxLeaves = 1 is invalid"))
    }
}
