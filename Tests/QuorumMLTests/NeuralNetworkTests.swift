import Foundation
@testable import QuorumML
import QuorumModel
import Testing

@Suite("Multilayer perceptron")
struct NeuralNetworkTests {
    @Test("backpropagation's gradient equals central finite differences, for every parameter of a two-hidden-layer network")
    func gradientCheck() {
        var rng = SplitMix64(seed: 1)
        let shape = [3, 4, 3, 1]
        let layers = NetworkLayers(shape: shape,
                                   weights: (0..<3).map { l in (0..<(shape[l] * shape[l + 1])).map { _ in rng.unit() } },
                                   biases: (0..<3).map { l in (0..<shape[l + 1]).map { _ in 0.1 * rng.unit() } })
        let rows = 7
        let x = (0..<(rows * 3)).map { _ in 2 * rng.unit() }, y = (0..<rows).map { Double($0 % 2) }
        let (_, gradient) = NeuralNetwork.lossAndGradient(layers: layers, x: x, y: y)
        // The same flattening as the trainer: W₀, b₀, W₁, b₁, W₂, b₂.
        var flat: [(layer: Int, isWeight: Bool, index: Int)] = []
        for l in 0..<3 {
            flat += (0..<layers.weights[l].count).map { (l, true, $0) }
            flat += (0..<layers.biases[l].count).map { (l, false, $0) }
        }
        #expect(gradient.count == flat.count)
        let epsilon = 1e-6
        var worst = 0.0
        for (k, p) in flat.enumerated() {
            func loss(_ shift: Double) -> Double {
                var moved = layers
                if p.isWeight { moved.weights[p.layer][p.index] += shift } else { moved.biases[p.layer][p.index] += shift }
                return NeuralNetwork.lossAndGradient(layers: moved, x: x, y: y).loss
            }
            let numeric = (loss(epsilon) - loss(-epsilon)) / (2 * epsilon)
            worst = max(worst, abs(numeric - gradient[k]) / max(1e-8, abs(numeric) + abs(gradient[k])))
        }
        #expect(worst < 1e-5, "largest relative difference \(worst)")
    }

    @Test("learns XOR, which the logistic model cannot; the same seed gives the same network")
    func learnsXOR() throws {
        let train = GradientBoostingTests.xor(count: 3000, seed: 1), test = GradientBoostingTests.xor(count: 1000, seed: 2)
        let h = MLPHyperparameters(hidden: 16, hidden2: 8, learningRate: 0.01, dropout: 0, epochs: 60, batchSize: 64, earlyStoppingRounds: 0)
        let fit = try NeuralNetwork.fit(features: train.features, labels: train.labels, hyperparameters: h, seed: 3)
        let right = zip(test.features, test.labels).filter { x, y in (fit.logOdds(x) > 0 ? 1 : 0) == y }.count
        #expect(Double(right) / 1000 > 0.9, "\(right) / 1000")
        let again = try NeuralNetwork.fit(features: train.features, labels: train.labels, hyperparameters: h, seed: 3)
        #expect(again == fit)
        let other = try NeuralNetwork.fit(features: train.features, labels: train.labels, hyperparameters: h, seed: 4)
        #expect(other.layers != fit.layers)
    }

    @Test("early stopping keeps the epoch with the lowest held-out loss; dropout and weight decay run")
    func earlyStopping() throws {
        var rng = SplitMix64(seed: 9)
        let features = (0..<2000).map { _ in (0..<5).map { _ in rng.unit() } }
        let labels = (0..<2000).map { _ in rng.unit() > 0 ? 1 : 0 }
        let h = MLPHyperparameters(hidden: 32, hidden2: 0, learningRate: 0.01, weightDecay: 0.01, dropout: 0.3, epochs: 200, batchSize: 32,
                                   earlyStoppingRounds: 5)
        let fit = try NeuralNetwork.fit(features: Array(features.prefix(1500)), labels: Array(labels.prefix(1500)),
                                        validation: (Array(features.suffix(500)), Array(labels.suffix(500))), hyperparameters: h)
        #expect(fit.epochsRun < 200 && fit.epochsRun == fit.bestEpoch + 1 + 5)
        #expect(fit.bestEpoch == fit.heldOutLogLoss.indices.min { fit.heldOutLogLoss[$0] < fit.heldOutLogLoss[$1] }!)
        #expect(fit.layers.shape == [5, 32, 1])
    }

    @Test("an mlp job: trained, calibrated, gated; its artifact round-trips and a broken one is refused")
    func job() throws {
        let rows = syntheticRows(count: 3000, width: 4, seed: 1, separable: true)
        let job = TrainingJobSpec(jobID: "n", symbol: "BTC-USD", featureSpecVersion: 1, trainFrom: 0, trainTo: 2000 * minute,
                                  validateTo: 3000 * minute, hyperparameters: .mlp(MLPHyperparameters(learningRate: 0.01, epochs: 30)), seed: 5)
        let result = try #require(TrainerCore().train(job: job, rows: rows).result)
        #expect(result.validationMetrics.accuracy > 0.9 && result.verdict.passed, "\(result.validationMetrics)")
        let model = try #require(result.model.mlp)
        #expect(result.model.version.hasPrefix("nn-") && result.model.importance.count == 4)
        let bytes = result.model.artifact()
        #expect(try TrainedModel(artifact: bytes) == result.model)
        #expect(TrainerCore().train(job: job, rows: rows).result?.model.artifact() == bytes, "deterministic")
        var text = String(decoding: bytes, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"shape\":[4,", with: "\"shape\":[5,")
        #expect(throws: MLError.self) { try MLPModel(artifact: Array(text.utf8)) }
        #expect(try ModelHyperparameters(family: .mlp, values: ["hidden": 8, "hidden2": 0]) == .mlp(MLPHyperparameters(hidden: 8, hidden2: 0)))
        #expect(throws: MLError.self) { try ModelHyperparameters(family: .mlp, values: ["dropout": 0.95]) }
        _ = model
    }
}
