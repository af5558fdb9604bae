// A multilayer perceptron for the up/down label: standardised features, one or two ReLU hidden layers with dropout, a
// sigmoid output, trained on the weighted logistic loss by AdamW (Adam, Kingma & Ba 2015, with decoupled weight decay,
// Loshchilov & Hutter 2019) in shuffled mini-batches, early-stopped on held-out rows. Every matrix product is one
// OpenBLAS dgemm (one thread: `BLASRuntime`); shuffling, initialisation and dropout draw from a seeded generator, so the
// same rows and seed give the same network, bit for bit.

import COpenBLAS
import Foundation
import QuorumAnalytics

/// Hyperparameters of `NeuralNetwork`.
///
/// | field (name) | meaning | default | valid |
/// |---|---|---|---|
/// | `hidden` (`hidden`) | units of the first hidden layer | 32 | 1 … 4,096 |
/// | `hidden2` (`hidden2`) | units of a second hidden layer, 0 for none | 16 | 0 … 4,096 |
/// | `learningRate` (`learning_rate`) | Adam's step size | 0.001 | (0, 1] |
/// | `weightDecay` (`weight_decay`) | decoupled weight decay on the weights (not the biases) | 0.0001 | ≥ 0 |
/// | `dropout` (`dropout`) | share of hidden units dropped in training | 0.1 | [0, 0.9] |
/// | `epochs` (`epochs`) | passes over the training rows at most | 100 | 1 … 10,000 |
/// | `batchSize` (`batch_size`) | rows per step | 256 | 1 … 65,536 |
/// | `earlyStoppingRounds` (`early_stopping_rounds`) | epochs without a better held-out loss before stopping (keeping the best); 0: never | 10 | ≥ 0 |
/// | `calibrate` (`calibrate`) | in a training job, calibrate on the early-stopping rows | true | — |
public struct MLPHyperparameters: Sendable, Codable, Equatable {
    public var hidden: Int
    public var hidden2: Int
    public var learningRate: Double
    public var weightDecay: Double
    public var dropout: Double
    public var epochs: Int
    public var batchSize: Int
    public var earlyStoppingRounds: Int
    public var calibrate: Bool

    public init(hidden: Int = 32, hidden2: Int = 16, learningRate: Double = 0.001, weightDecay: Double = 1e-4, dropout: Double = 0.1,
                epochs: Int = 100, batchSize: Int = 256, earlyStoppingRounds: Int = 10, calibrate: Bool = true) {
        self.hidden = hidden
        self.hidden2 = hidden2
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.dropout = dropout
        self.epochs = epochs
        self.batchSize = batchSize
        self.earlyStoppingRounds = earlyStoppingRounds
        self.calibrate = calibrate
    }

    /// Throws `MLError.invalidHyperparameter` naming the first bad field, its value and the valid range.
    public func validate() throws(MLError) {
        let bad = MLError.invalid
        guard (1...4096).contains(hidden) else { throw bad("hidden", hidden, "1 … 4,096 (e.g. 32)") }
        guard (0...4096).contains(hidden2) else { throw bad("hidden2", hidden2, "0 (one hidden layer) … 4,096") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw bad("learningRate", learningRate, "a value in (0, 1] (e.g. 0.001)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw bad("weightDecay", weightDecay, "a finite value ≥ 0") }
        guard dropout.isFinite, dropout >= 0, dropout <= 0.9 else { throw bad("dropout", dropout, "a value in [0, 0.9]") }
        guard (1...10_000).contains(epochs) else { throw bad("epochs", epochs, "1 … 10,000") }
        guard (1...65_536).contains(batchSize) else { throw bad("batchSize", batchSize, "1 … 65,536") }
        guard earlyStoppingRounds >= 0 else { throw bad("earlyStoppingRounds", earlyStoppingRounds, "0 (never) or more") }
    }

    /// Units per layer, input first, the output (1) last.
    func shape(inputs: Int) -> [Int] { [inputs, hidden] + (hidden2 > 0 ? [hidden2] : []) + [1] }
}

/// A fitted network's layers: layer l maps `shape[l]` values to `shape[l + 1]` by W·a + b (W row-major, one row per
/// output unit), ReLU between layers, the last unit's value the log-odds of "up". Inputs are standardised.
public struct NetworkLayers: Sendable, Codable, Equatable {
    public var shape: [Int]
    public var weights: [[Double]]
    public var biases: [[Double]]

    /// Checks the structure (what a loaded artifact must satisfy); nil when sound, else what is wrong.
    func problem(width: Int) -> String? {
        guard shape.count >= 2, shape.first == width, shape.last == 1, shape.allSatisfy({ $0 >= 1 }) else {
            return "layer shape \(shape) does not map \(width) features to one output"
        }
        guard weights.count == shape.count - 1, biases.count == shape.count - 1 else { return "\(weights.count) weight matrices for \(shape.count - 1) layers" }
        for l in 0..<(shape.count - 1) {
            guard weights[l].count == shape[l] * shape[l + 1], biases[l].count == shape[l + 1] else { return "layer \(l) has the wrong number of parameters" }
        }
        guard (weights + biases).allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return "a non-finite parameter" }
        return nil
    }

    /// The log-odds for one standardised vector.
    func logOdds(_ x: [Double]) -> Double {
        var a = x
        for l in 0..<weights.count {
            let inputs = shape[l], outputs = shape[l + 1], last = l == weights.count - 1
            var next = biases[l]
            weights[l].withUnsafeBufferPointer { w in
                a.withUnsafeBufferPointer { a in
                    for o in 0..<outputs {
                        var sum = next[o]
                        let row = w.baseAddress! + o * inputs
                        for i in 0..<inputs { sum += row[i] * a[i] }
                        next[o] = last ? sum : max(sum, 0)
                    }
                }
            }
            a = next
        }
        return a[0]
    }
}

/// The result of `NeuralNetwork.fit`.
public struct MLPFit: Sendable, Equatable {
    public let scaler: FeatureScaler
    public let layers: NetworkLayers
    /// Epochs run, the epoch kept (the best held-out loss, or the last without held-out rows), and each epoch's
    /// held-out loss.
    public let epochsRun: Int
    public let bestEpoch: Int
    public let heldOutLogLoss: [Double]

    /// The log-odds of an up move for raw features.
    public func logOdds(_ x: [Double]) -> Double { layers.logOdds(scaler.transform(x)) }
}

public enum NeuralNetwork {
    /// Fits the network on `features`/`labels` (weights optional), early-stopping on `validation` when given.
    public static func fit(features: [[Double]], labels: [Int], weights: [Double]? = nil,
                           validation: (features: [[Double]], labels: [Int])? = nil,
                           hyperparameters h: MLPHyperparameters, seed: UInt64 = 0) throws(MLError) -> MLPFit {
        try h.validate()
        guard let width = features.first?.count, width > 0 else { throw MLError(.tooFewRows, "no training rows (or rows without features)") }
        guard labels.count == features.count, weights.map({ $0.count == features.count }) ?? true else {
            throw MLError(.widthMismatch, "\(features.count) training rows but \(labels.count) labels or \(weights?.count ?? labels.count) weights")
        }
        for (name, rows) in [("training", features), ("validation", validation?.features ?? [])] {
            if let i = rows.firstIndex(where: { $0.count != width }) {
                throw MLError(.widthMismatch, "\(name) row \(i) has \(rows[i].count) features, row 0 of training has \(width)")
            }
            if let i = rows.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
                throw MLError(.nonFiniteValue, "\(name) row \(i) has a NaN or infinite feature; drop or fill it before training")
            }
        }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw MLError(.invalidHyperparameter, "labels must be 0 or 1") }
        guard labels.contains(0), labels.contains(1) else {
            throw MLError(.singleClass, "the training labels are all \(labels[0]); a classifier needs both classes")
        }
        if let weights, !weights.allSatisfy({ $0.isFinite && $0 >= 0 }) || !weights.contains(where: { $0 > 0 }) {
            throw MLError(.nonFiniteValue, "sample weights must be finite and ≥ 0, and not all 0")
        }
        BLASRuntime.ensureConfigured()
        let scaler = FeatureScaler.fit(rows: features, width: width)
        var trainer = Trainer(x: scaler.transform(rows: features).values, y: labels.map(Double.init),
                              w: weights ?? Array(repeating: 1, count: labels.count), width: width, h: h, seed: seed)
        let held = validation.map { (scaler.transform(rows: $0.features).values, $0.labels) }
        return trainer.run(scaler: scaler, heldOut: held)
    }

    /// Mean logistic loss and its gradient with respect to every parameter (flattened as `Trainer` stores them), on
    /// standardised rows, without dropout: what the gradient check in the tests compares with finite differences.
    static func lossAndGradient(layers: NetworkLayers, x: [Double], y: [Double]) -> (loss: Double, gradient: [Double]) {
        var trainer = Trainer(layers: layers)
        let (loss, gradient) = trainer.step(x: x, y: y, w: Array(repeating: 1, count: y.count), rows: y.count, training: false)
        return (loss, gradient)
    }
}

/// Parameters flattened as (W₀, b₀, W₁, b₁, …), with Adam's moments and the work buffers of one batch.
private struct Trainer {
    let shape: [Int]
    /// Where each layer's W and b start in `parameters`.
    let weightAt: [Int], biasAt: [Int]
    /// Whether each parameter is a weight (decayed) rather than a bias.
    let isWeight: [Bool]
    var parameters: [Double]
    var optimiser: AdamW
    var rng: Xoshiro256StarStar
    let h: MLPHyperparameters
    let x: [Double], y: [Double], w: [Double]
    let rows: Int

    init(x: [Double], y: [Double], w: [Double], width: Int, h: MLPHyperparameters, seed: UInt64) {
        shape = h.shape(inputs: width)
        var weightAt: [Int] = [], biasAt: [Int] = [], count = 0
        for l in 0..<(shape.count - 1) {
            weightAt.append(count)
            count += shape[l] * shape[l + 1]
            biasAt.append(count)
            count += shape[l + 1]
        }
        self.weightAt = weightAt
        self.biasAt = biasAt
        isWeight = Self.weights(shape: shape, at: weightAt)
        rng = Xoshiro256StarStar(seed: seed)
        // He initialisation for the ReLU layers (normal, σ = √(2 / fan-in)); biases 0.
        var parameters = [Double](repeating: 0, count: count)
        for l in 0..<(shape.count - 1) {
            let sigma = (2 / Double(shape[l])).squareRoot()
            for k in 0..<(shape[l] * shape[l + 1]) { parameters[weightAt[l] + k] = sigma * gaussian(&rng) }
        }
        self.parameters = parameters
        optimiser = AdamW(count: count, learningRate: h.learningRate, weightDecay: h.weightDecay, decays: isWeight)
        self.h = h
        self.x = x
        self.y = y
        self.w = w
        rows = y.count
    }

    /// For evaluating given layers (gradient checks): no data, no randomness.
    init(layers: NetworkLayers) {
        shape = layers.shape
        var weightAt: [Int] = [], biasAt: [Int] = [], parameters: [Double] = []
        for l in 0..<(shape.count - 1) {
            weightAt.append(parameters.count)
            parameters += layers.weights[l]
            biasAt.append(parameters.count)
            parameters += layers.biases[l]
        }
        self.weightAt = weightAt
        self.biasAt = biasAt
        isWeight = Self.weights(shape: shape, at: weightAt)
        self.parameters = parameters
        optimiser = AdamW(count: 0, learningRate: 1, weightDecay: 0, decays: [])
        rng = Xoshiro256StarStar(seed: 0)
        h = MLPHyperparameters(dropout: 0)
        x = []
        y = []
        w = []
        rows = 0
    }

    static func weights(shape: [Int], at weightAt: [Int]) -> [Bool] {
        var count = 0
        for l in 0..<(shape.count - 1) { count += shape[l] * shape[l + 1] + shape[l + 1] }
        var isWeight = [Bool](repeating: false, count: count)
        for l in 0..<(shape.count - 1) {
            for k in weightAt[l]..<(weightAt[l] + shape[l] * shape[l + 1]) { isWeight[k] = true }
        }
        return isWeight
    }

    var layers: NetworkLayers {
        NetworkLayers(shape: shape,
                      weights: (0..<(shape.count - 1)).map { Array(parameters[weightAt[$0]..<(weightAt[$0] + shape[$0] * shape[$0 + 1])]) },
                      biases: (0..<(shape.count - 1)).map { Array(parameters[biasAt[$0]..<(biasAt[$0] + shape[$0 + 1])]) })
    }

    /// Forward and backward over `rows` rows of `x` (row-major, standardised): the weighted mean loss and its gradient.
    /// `training` applies dropout (fresh masks from the generator).
    mutating func step(x: [Double], y: [Double], w: [Double], rows b: Int, training: Bool) -> (Double, [Double]) {
        let layers = shape.count - 1
        // Activations per layer (a[0] = x), pre-activations and dropout scales of the hidden layers.
        var a: [[Double]] = [x], z: [[Double]] = [], masks: [[Double]] = []
        let keep = 1 - (training ? h.dropout : 0)
        for l in 0..<layers {
            let inputs = shape[l], outputs = shape[l + 1]
            var out = [Double](repeating: 0, count: b * outputs)
            parameters.withUnsafeBufferPointer { p in
                a[l].withUnsafeBufferPointer { input in
                    out.withUnsafeMutableBufferPointer { o in
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(b), blasint(outputs), blasint(inputs), 1,
                                    input.baseAddress, blasint(inputs), p.baseAddress! + weightAt[l], blasint(inputs), 0, o.baseAddress, blasint(outputs))
                        for r in 0..<b {
                            for o2 in 0..<outputs { o[r * outputs + o2] += p[biasAt[l] + o2] }
                        }
                    }
                }
            }
            z.append(out)
            if l < layers - 1 {
                var mask = [Double](repeating: 1 / keep, count: b * outputs)
                if training && h.dropout > 0 {
                    for k in mask.indices where rng.unit() >= keep { mask[k] = 0 }
                }
                for k in out.indices { out[k] = max(out[k], 0) * mask[k] }
                masks.append(mask)
                a.append(out)
            }
        }
        // Loss and the output's gradient: (σ(z) − y)·w / Σw.
        let logits = z[layers - 1]
        let total = w.prefix(b).reduce(0, +)
        var loss = 0.0
        var delta = [Double](repeating: 0, count: b)
        for r in 0..<b {
            let zi = logits[r]
            loss += w[r] * (max(zi, 0) + log1p(exp(-abs(zi))) - y[r] * zi)
            delta[r] = w[r] * (sigmoid(zi) - y[r]) / total
        }
        var gradient = [Double](repeating: 0, count: parameters.count)
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let inputs = shape[l], outputs = shape[l + 1]
            gradient.withUnsafeMutableBufferPointer { g in
                delta.withUnsafeBufferPointer { d in
                    a[l].withUnsafeBufferPointer { input in
                        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(outputs), blasint(inputs), blasint(b), 1,
                                    d.baseAddress, blasint(outputs), input.baseAddress, blasint(inputs), 0, g.baseAddress! + weightAt[l], blasint(inputs))
                    }
                    for r in 0..<b {
                        for o in 0..<outputs { g[biasAt[l] + o] += d[r * outputs + o] }
                    }
                }
            }
            guard l > 0 else { break }
            // Back through W, then ReLU and the dropout mask of the layer below.
            var below = [Double](repeating: 0, count: b * inputs)
            parameters.withUnsafeBufferPointer { p in
                delta.withUnsafeBufferPointer { d in
                    below.withUnsafeMutableBufferPointer { o in
                        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(b), blasint(inputs), blasint(outputs), 1,
                                    d.baseAddress, blasint(outputs), p.baseAddress! + weightAt[l], blasint(inputs), 0, o.baseAddress, blasint(inputs))
                    }
                }
            }
            let pre = z[l - 1], mask = masks[l - 1]
            for k in below.indices { below[k] = pre[k] > 0 ? below[k] * mask[k] : 0 }
            delta = below
        }
        return (loss / total, gradient)
    }

    mutating func run(scaler: FeatureScaler, heldOut: ([Double], [Int])?) -> MLPFit {
        let width = shape[0]
        var order = Array(0..<rows)
        var best = (loss: Double.infinity, epoch: 0, parameters: parameters)
        var losses: [Double] = []
        var epochsRun = 0
        var batchX = [Double](), batchY = [Double](), batchW = [Double]()
        for epoch in 0..<h.epochs {
            epochsRun = epoch + 1
            // Fisher–Yates with the seeded generator.
            for i in stride(from: rows - 1, to: 0, by: -1) { order.swapAt(i, rng.index(below: i + 1)) }
            var start = 0
            while start < rows {
                let end = min(start + h.batchSize, rows)
                batchX.removeAll(keepingCapacity: true)
                batchY.removeAll(keepingCapacity: true)
                batchW.removeAll(keepingCapacity: true)
                for r in order[start..<end] {
                    batchX.append(contentsOf: x[(r * width)..<((r + 1) * width)])
                    batchY.append(y[r])
                    batchW.append(w[r])
                }
                if batchW.contains(where: { $0 > 0 }) {
                    let (_, gradient) = step(x: batchX, y: batchY, w: batchW, rows: end - start, training: true)
                    optimiser.step(&parameters, gradient)
                }
                start = end
            }
            guard let (hx, hy) = heldOut, !hy.isEmpty else { continue }
            let network = layers
            var loss = 0.0
            for r in hy.indices {
                let p = sigmoid(network.logOdds(Array(hx[(r * width)..<((r + 1) * width)])))
                loss += ClassificationMetrics.logLoss(probability: p, label: hy[r])
            }
            loss /= Double(hy.count)
            losses.append(loss)
            if loss < best.loss { best = (loss, epoch, parameters) }
            if h.earlyStoppingRounds > 0 && epoch - best.epoch >= h.earlyStoppingRounds { break }
        }
        if heldOut.map({ !$0.1.isEmpty }) ?? false { parameters = best.parameters } else { best.epoch = epochsRun - 1 }
        return MLPFit(scaler: scaler, layers: layers, epochsRun: epochsRun, bestEpoch: best.epoch, heldOutLogLoss: losses)
    }
}

/// Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter 2019) on the parameters `decays`
/// marks (the weights, not the biases): the optimiser of the MLP and the TCN.
struct AdamW {
    var m: [Double], v: [Double]
    var t = 0
    let learningRate: Double
    let weightDecay: Double
    let decays: [Bool]

    init(count: Int, learningRate: Double, weightDecay: Double, decays: [Bool]) {
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.decays = decays
    }

    /// One update of `parameters` with `gradient`.
    mutating func step(_ parameters: inout [Double], _ gradient: [Double]) {
        t += 1
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        let correction1 = 1 - pow(beta1, Double(t)), correction2 = 1 - pow(beta2, Double(t))
        for k in parameters.indices {
            m[k] = beta1 * m[k] + (1 - beta1) * gradient[k]
            v[k] = beta2 * v[k] + (1 - beta2) * gradient[k] * gradient[k]
            let update = (m[k] / correction1) / ((v[k] / correction2).squareRoot() + epsilon)
            parameters[k] -= learningRate * (update + (decays[k] ? weightDecay * parameters[k] : 0))
        }
    }
}

/// A standard normal draw (Box–Muller) from the seeded generator: weight initialisation.
func gaussian(_ rng: inout Xoshiro256StarStar) -> Double {
    let u1 = max(rng.unit(), 1e-300), u2 = rng.unit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}
