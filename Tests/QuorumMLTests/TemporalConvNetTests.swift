import Foundation
@testable import QuorumML
import QuorumModel
import Testing

@Suite("Temporal convolutional network")
struct TemporalConvNetTests {
    @Test("backpropagation through the layers and steps equals central finite differences, for every parameter")
    func gradientCheck() {
        var rng = SplitMix64(seed: 4)
        let (d, c, l, k, n) = (3, 4, 3, 6, 5)
        let layers = TCNLayers(inputs: d, channels: c, layers: l, steps: k,
                               parameters: (0..<TCNLayers.count(inputs: d, channels: c, layers: l)).map { _ in 0.5 * rng.unit() })
        let x = (0..<(n * k * d)).map { _ in 2 * rng.unit() }, y = (0..<n).map { Double($0 % 2) }
        let w = (0..<n).map { Double($0 + 1) }
        let (_, gradient) = TemporalConvNet.lossAndGradient(layers: layers, x: x, y: y, w: w)
        #expect(gradient.count == layers.parameters.count)
        let epsilon = 1e-6
        var worst = 0.0
        for p in layers.parameters.indices {
            func loss(_ shift: Double) -> Double {
                var moved = layers
                moved.parameters[p] += shift
                return TemporalConvNet.lossAndGradient(layers: moved, x: x, y: y, w: w).loss
            }
            let numeric = (loss(epsilon) - loss(-epsilon)) / (2 * epsilon)
            worst = max(worst, abs(numeric - gradient[p]) / max(1e-8, abs(numeric) + abs(gradient[p])))
        }
        #expect(worst < 1e-5, "largest relative difference \(worst)")
    }

    /// Rows whose next move is up exactly when the first feature `lag` rows earlier was positive: nothing in the current
    /// vector tells, the window does.
    static func laggedRows(count: Int, lag: Int, seed: UInt64) -> [PriceFeatureRow] {
        var rng = SplitMix64(seed: seed)
        let features = (0..<count).map { _ in [rng.unit(), rng.unit()] }
        var close = 100.0
        var rows: [PriceFeatureRow] = []
        for t in 0..<count {
            rows.append((time: Nanos(t + 1) * minute, features: features[t], close: close))
            close *= t >= lag && features[t - lag][0] > 0 ? 1.01 : 0.99
        }
        return rows
    }

    @Test("learns a lagged dependency (the move follows a feature 3 bars back) that a logistic model on the latest vector cannot")
    func learnsLag() throws {
        let rows = Self.laggedRows(count: 3000, lag: 3, seed: 7)
        let h = TCNHyperparameters(sequenceLength: 8, channels: 8, layers: 3, learningRate: 0.01, epochs: 30, batchSize: 64,
                                   earlyStoppingRounds: 5, calibrate: false)
        func job(_ hyperparameters: ModelHyperparameters) -> TrainingJobSpec {
            TrainingJobSpec(jobID: "lag", symbol: "BTC-USD", featureSpecVersion: 1, featureNames: ["a", "b"], trainFrom: 0,
                            trainTo: 2200 * minute, validateTo: 3001 * minute, hyperparameters: hyperparameters, seed: 3)
        }
        let gate = TrainerCore(gate: ValidationGate(minimumCount: 10, minimumImprovement: -1))
        let tcn = try #require(gate.train(job: job(.tcn(h)), rows: rows).result)
        #expect(tcn.validationMetrics.accuracy > 0.9, "\(tcn.validationMetrics)")
        let logistic = try #require(gate.train(job: job(.logistic(LogisticHyperparameters())), rows: rows).result)
        #expect(logistic.validationMetrics.accuracy < 0.6, "\(logistic.validationMetrics)")
        #expect(tcn.model.sequenceLength == 8 && tcn.model.featureNames == ["a", "b"] && tcn.model.importance.count == 2)
        // Deterministic: the same job gives the same artifact, byte for byte.
        #expect(gate.train(job: job(.tcn(h)), rows: rows).result?.model.artifact() == tcn.model.artifact())
    }

    @Test("a tcn job: its artifact round-trips; a broken or foreign one is refused; a window of the wrong width or with NaN is an error")
    func artifact() throws {
        let rows = Self.laggedRows(count: 1200, lag: 2, seed: 3)
        let h = TCNHyperparameters(sequenceLength: 4, channels: 4, layers: 2, epochs: 3)
        let job = TrainingJobSpec(jobID: "a", symbol: "ETH-USD", featureSpecVersion: 1, featureNames: ["a", "b"], trainFrom: 0,
                                  trainTo: 900 * minute, validateTo: 1201 * minute, hyperparameters: .tcn(h), seed: 1)
        let model = try #require(TrainerCore().train(job: job, rows: rows).result?.model)
        #expect(model.version.hasPrefix("tc-") && model.family == .tcn)
        let bytes = model.artifact()
        #expect(try TrainedModel(artifact: bytes) == model)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(throws: MLError.self) { try TCNModel(artifact: Array(text.replacingOccurrences(of: "\"steps\":4", with: "\"steps\":5").utf8)) }
        #expect(throws: MLError.self) { try TCNModel(artifact: Array(text.replacingOccurrences(of: "\"channels\":4", with: "\"channels\":3").utf8)) }
        #expect(throws: MLError.self) { try MLPModel(artifact: bytes) }
        #expect(throws: MLError.self) { try model.probabilityUp([0.1, 0.2]) }
        var window = (0..<8).map { Double($0) / 10 }
        #expect(try (0...1).contains(model.probabilityUp(window)))
        window[1] = .nan
        do { _ = try model.probabilityUp(window); Issue.record("expected an error") } catch {
            #expect(error.message.contains("b 3 bars back"), "\(error)")
        }
        // Hyperparameters by name, checked.
        #expect(try ModelHyperparameters(family: .tcn, values: ["sequence_length": 32, "layers": 5]) == .tcn(TCNHyperparameters(sequenceLength: 32, layers: 5)))
        #expect(throws: MLError.self) { try ModelHyperparameters(family: .tcn, values: ["sequence_length": 1]) }
        #expect(throws: MLError.self) { try ModelHyperparameters(family: .tcn, values: ["sequence_lenght": 8]) }
    }

    @Test("training windows are the row and the ones before it, oldest first; too few rows for one window is a clear error")
    func windows() {
        let rows: [PriceFeatureRow] = (0..<5).map { (time: Nanos($0), features: [Double($0), -Double($0)], close: 1) }
        let w = TrainerCore.windows(rows, length: 3)
        #expect(w.map(\.time) == [2, 3, 4])
        #expect(w[0].features == [0, -0, 1, -1, 2, -2])
        let job = TrainingJobSpec(jobID: "short", symbol: "BTC-USD", featureSpecVersion: 1, featureNames: ["a", "b"], trainFrom: 0,
                                  trainTo: 3, validateTo: 5, hyperparameters: .tcn(TCNHyperparameters(sequenceLength: 16)))
        let failure = TrainerCore().train(job: job, rows: rows).failure
        #expect(failure?.code == .tooFewRows && failure?.message.contains("sequence of 16") == true, "\(String(describing: failure))")
    }
}
