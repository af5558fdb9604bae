// A temporal convolutional network (TCN; Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic Convolutional
// and Recurrent Networks for Sequence Modeling") over the last K feature vectors of a symbol: a per-step input
// projection, then causal dilated convolutions of kernel 2 with dilations 1, 2, 4, … and residual connections, and a
// logistic output on the last step. Every product is one OpenBLAS dgemm over all the batch's steps; training is
// backpropagation through the layers and the steps (the convolution shares its weights across time) by AdamW in
// seeded mini-batches, early-stopped on held-out windows — deterministic for a given seed, as the MLP.

import COpenBLAS
import Foundation
import QuorumAnalytics

/// Hyperparameters of `TemporalConvNet`.
///
/// | field (name) | meaning | default | valid |
/// |---|---|---|---|
/// | `sequenceLength` (`sequence_length`) | K: feature vectors per input window (the latest last) | 16 | 2 … 256 |
/// | `channels` (`channels`) | units per step in every layer | 16 | 1 … 512 |
/// | `layers` (`layers`) | dilated layers (dilations 1, 2, …, 2^(layers−1); receptive field 2^layers steps) | 4 | 1 … 8 |
/// | `learningRate` (`learning_rate`) | Adam's step size | 0.002 | (0, 1] |
/// | `weightDecay` (`weight_decay`) | decoupled weight decay on the weights (not the biases) | 0.0001 | ≥ 0 |
/// | `epochs` (`epochs`) | passes over the training windows at most | 40 | 1 … 10,000 |
/// | `batchSize` (`batch_size`) | windows per step | 128 | 1 … 65,536 |
/// | `earlyStoppingRounds` (`early_stopping_rounds`) | epochs without a better held-out loss before stopping (keeping the best); 0: never | 5 | ≥ 0 |
/// | `calibrate` (`calibrate`) | in a training job, calibrate on the early-stopping windows | true | — |
public struct TCNHyperparameters: Sendable, Codable, Equatable {
    public var sequenceLength: Int
    public var channels: Int
    public var layers: Int
    public var learningRate: Double
    public var weightDecay: Double
    public var epochs: Int
    public var batchSize: Int
    public var earlyStoppingRounds: Int
    public var calibrate: Bool

    public init(sequenceLength: Int = 16, channels: Int = 16, layers: Int = 4, learningRate: Double = 0.002, weightDecay: Double = 1e-4,
                epochs: Int = 40, batchSize: Int = 128, earlyStoppingRounds: Int = 5, calibrate: Bool = true) {
        self.sequenceLength = sequenceLength
        self.channels = channels
        self.layers = layers
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.epochs = epochs
        self.batchSize = batchSize
        self.earlyStoppingRounds = earlyStoppingRounds
        self.calibrate = calibrate
    }

    /// Throws `MLError.invalidHyperparameter` naming the first bad field, its value and the valid range.
    public func validate() throws(MLError) {
        let bad = MLError.invalid
        guard (2...256).contains(sequenceLength) else { throw bad("sequenceLength", sequenceLength, "2 … 256 feature vectors (e.g. 16)") }
        guard (1...512).contains(channels) else { throw bad("channels", channels, "1 … 512 (e.g. 16)") }
        guard (1...8).contains(layers) else { throw bad("layers", layers, "1 … 8 (receptive field 2^layers steps)") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw bad("learningRate", learningRate, "a value in (0, 1] (e.g. 0.002)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw bad("weightDecay", weightDecay, "a finite value ≥ 0") }
        guard (1...10_000).contains(epochs) else { throw bad("epochs", epochs, "1 … 10,000") }
        guard (1...65_536).contains(batchSize) else { throw bad("batchSize", batchSize, "1 … 65,536") }
        guard earlyStoppingRounds >= 0 else { throw bad("earlyStoppingRounds", earlyStoppingRounds, "0 (never) or more") }
    }
}

/// A fitted TCN's parameters, flattened as (P, p, A₁, B₁, c₁, …, A_L, B_L, c_L, v, b): the input projection P (d × C,
/// row-major) and bias p; per dilated layer, A (the step `dilation` back) and B (the current step), both C × C, and bias
/// c; the output weights v (C) and bias b.
public struct TCNLayers: Sendable, Codable, Equatable {
    /// Features per step (d), channels (C), dilated layers (L) and steps per window (K).
    public var inputs: Int
    public var channels: Int
    public var layers: Int
    public var steps: Int
    public var parameters: [Double]

    static func count(inputs d: Int, channels c: Int, layers l: Int) -> Int { d * c + c + l * (2 * c * c + c) + c + 1 }

    var projectionAt: Int { 0 }
    var projectionBiasAt: Int { inputs * channels }
    func previousAt(_ layer: Int) -> Int { inputs * channels + channels + layer * (2 * channels * channels + channels) }
    func currentAt(_ layer: Int) -> Int { previousAt(layer) + channels * channels }
    func biasAt(_ layer: Int) -> Int { currentAt(layer) + channels * channels }
    var outputAt: Int { previousAt(layers) }
    func dilation(_ layer: Int) -> Int { 1 << layer }

    /// Whether each parameter is a weight (decayed) rather than a bias.
    var isWeight: [Bool] {
        var mask = [Bool](repeating: true, count: parameters.count)
        for k in projectionBiasAt..<(projectionBiasAt + channels) { mask[k] = false }
        for l in 0..<layers { for k in biasAt(l)..<(biasAt(l) + channels) { mask[k] = false } }
        mask[parameters.count - 1] = false
        return mask
    }

    /// Checks the structure (what a loaded artifact must satisfy); nil when sound, else what is wrong.
    func problem(width: Int) -> String? {
        guard inputs == width, channels >= 1, layers >= 1, layers <= 8, steps >= 2 else {
            return "shape (inputs \(inputs), channels \(channels), layers \(layers), steps \(steps)) does not fit \(width) features"
        }
        guard parameters.count == Self.count(inputs: inputs, channels: channels, layers: layers) else {
            return "\(parameters.count) parameters for \(Self.count(inputs: inputs, channels: channels, layers: layers))"
        }
        guard parameters.allSatisfy(\.isFinite) else { return "a non-finite parameter" }
        return nil
    }

    /// The log-odds of each of `n` standardised windows (row-major n·K × d, oldest step first).
    func logOdds(_ x: [Double], windows n: Int) -> [Double] {
        var pass = Pass(self, windows: n)
        return pass.forward(x)
    }
}

/// One forward (and backward) pass over `n` windows: every layer's pre-activations and outputs over all n·K steps.
struct Pass {
    let net: TCNLayers
    let n: Int
    /// Rows of the step matrices: n·K.
    var rows: Int { n * net.steps }
    /// Pre-activations and outputs: index 0 the projection, l + 1 the dilated layer l.
    var z: [[Double]] = []
    var h: [[Double]] = []

    init(_ net: TCNLayers, windows n: Int) {
        self.net = net
        self.n = n
    }

    /// S = H shifted `by` steps within each window (zero before its start).
    func shifted(_ hIn: [Double], by d: Int) -> [Double] {
        let c = net.channels, k = net.steps
        var s = [Double](repeating: 0, count: hIn.count)
        for w in 0..<n {
            for t in d..<max(d, k) {
                let to = (w * k + t) * c, from = (w * k + t - d) * c
                for j in 0..<c { s[to + j] = hIn[from + j] }
            }
        }
        return s
    }

    mutating func forward(_ x: [Double]) -> [Double] {
        let c = net.channels, d = net.inputs, k = net.steps, p = net.parameters
        z = []
        h = []
        // Projection: Z₀ = X·P + p, H₀ = relu(Z₀).
        var z0 = [Double](repeating: 0, count: rows * c)
        for r in 0..<rows { for j in 0..<c { z0[r * c + j] = p[net.projectionBiasAt + j] } }
        gemm(false, false, rows, c, d, x, 0, d, p, net.projectionAt, c, 1, &z0, c)
        z.append(z0)
        h.append(z0.map { max($0, 0) })
        for l in 0..<net.layers {
            let below = h[l]
            let s = shifted(below, by: net.dilation(l))
            var zl = [Double](repeating: 0, count: rows * c)
            for r in 0..<rows { for j in 0..<c { zl[r * c + j] = p[net.biasAt(l) + j] } }
            gemm(false, false, rows, c, c, s, 0, c, p, net.previousAt(l), c, 1, &zl, c)
            gemm(false, false, rows, c, c, below, 0, c, p, net.currentAt(l), c, 1, &zl, c)
            var hl = below
            for k2 in hl.indices { hl[k2] += max(zl[k2], 0) }
            z.append(zl)
            h.append(hl)
        }
        let top = h[net.layers]
        return (0..<n).map { w in
            var sum = p[p.count - 1]
            let row = (w * k + k - 1) * c
            for j in 0..<c { sum += top[row + j] * p[net.outputAt + j] }
            return sum
        }
    }

    /// The gradient of Σ_w dLogit[w] · logit[w] with respect to every parameter (after `forward` on `x`).
    func backward(_ x: [Double], dLogit: [Double]) -> [Double] {
        let c = net.channels, d = net.inputs, k = net.steps, p = net.parameters
        var g = [Double](repeating: 0, count: p.count)
        var dH = [Double](repeating: 0, count: rows * c)
        let top = h[net.layers]
        for w in 0..<n {
            let row = (w * k + k - 1) * c
            for j in 0..<c {
                g[net.outputAt + j] += dLogit[w] * top[row + j]
                dH[row + j] = dLogit[w] * p[net.outputAt + j]
            }
            g[p.count - 1] += dLogit[w]
        }
        for l in stride(from: net.layers - 1, through: 0, by: -1) {
            let below = h[l], zl = z[l + 1], dilation = net.dilation(l)
            var dZ = dH
            for k2 in dZ.indices where zl[k2] <= 0 { dZ[k2] = 0 }
            let s = shifted(below, by: dilation)
            gemm(true, false, c, c, rows, s, 0, c, dZ, 0, c, 1, &g, c, cAt: net.previousAt(l))
            gemm(true, false, c, c, rows, below, 0, c, dZ, 0, c, 1, &g, c, cAt: net.currentAt(l))
            for r in 0..<rows { for j in 0..<c { g[net.biasAt(l) + j] += dZ[r * c + j] } }
            // dH below = dH (residual) + dZ·Bᵀ + (dZ·Aᵀ) moved `dilation` steps back.
            var dBelow = dH
            gemm(false, true, rows, c, c, dZ, 0, c, p, net.currentAt(l), c, 1, &dBelow, c)
            var dS = [Double](repeating: 0, count: rows * c)
            gemm(false, true, rows, c, c, dZ, 0, c, p, net.previousAt(l), c, 0, &dS, c)
            for w in 0..<n {
                for t in dilation..<max(dilation, k) {
                    let from = (w * k + t) * c, to = (w * k + t - dilation) * c
                    for j in 0..<c { dBelow[to + j] += dS[from + j] }
                }
            }
            dH = dBelow
        }
        var dZ0 = dH
        let z0 = z[0]
        for k2 in dZ0.indices where z0[k2] <= 0 { dZ0[k2] = 0 }
        gemm(true, false, d, c, rows, x, 0, d, dZ0, 0, c, 1, &g, c, cAt: net.projectionAt)
        for r in 0..<rows { for j in 0..<c { g[net.projectionBiasAt + j] += dZ0[r * c + j] } }
        return g
    }
}

/// C[cAt…] = α·op(A)·op(B) + β·C (row-major; `a`, `b` read from offsets `aAt`, `bAt`): one OpenBLAS dgemm.
private func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Double], _ aAt: Int, _ lda: Int,
                  _ b: [Double], _ bAt: Int, _ ldb: Int, _ beta: Double, _ c: inout [Double], _ ldc: Int, cAt: Int = 0) {
    guard m > 0, n > 0, k > 0 else { return }
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { out in
                cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            blasint(m), blasint(n), blasint(k), 1, a.baseAddress! + aAt, blasint(lda), b.baseAddress! + bAt, blasint(ldb),
                            beta, out.baseAddress! + cAt, blasint(ldc))
            }
        }
    }
}

/// The result of `TemporalConvNet.fit`.
public struct TCNFit: Sendable, Equatable {
    /// Standardises each step's features (fitted on the training windows' latest steps).
    public let scaler: FeatureScaler
    public let layers: TCNLayers
    public let epochsRun: Int
    public let bestEpoch: Int
    public let heldOutLogLoss: [Double]

    /// The log-odds of an up move for one raw window (K·d values, oldest step first).
    public func logOdds(_ window: [Double]) -> Double {
        layers.logOdds(TemporalConvNet.standardise(window, scaler), windows: 1)[0]
    }
}

public enum TemporalConvNet {
    /// Each step of a raw window standardised by `scaler`.
    static func standardise(_ window: [Double], _ scaler: FeatureScaler) -> [Double] {
        let d = scaler.width
        var z = window
        for i in z.indices { z[i] = (z[i] - scaler.means[i % d]) / scaler.stds[i % d] }
        return z
    }

    /// Fits the network on windows (`features`: K·d values each, oldest step first, d = `width`) and labels, weights
    /// optional, early-stopping on `validation` windows when given.
    public static func fit(features: [[Double]], labels: [Int], weights: [Double]? = nil, width d: Int,
                           validation: (features: [[Double]], labels: [Int])? = nil,
                           hyperparameters h: TCNHyperparameters, seed: UInt64 = 0) throws(MLError) -> TCNFit {
        try h.validate()
        let k = h.sequenceLength
        guard d > 0, !features.isEmpty else { throw MLError(.tooFewRows, "no training windows (or windows without features)") }
        guard labels.count == features.count, weights.map({ $0.count == features.count }) ?? true else {
            throw MLError(.widthMismatch, "\(features.count) training windows but \(labels.count) labels or \(weights?.count ?? labels.count) weights")
        }
        for (name, rows) in [("training", features), ("validation", validation?.features ?? [])] {
            if let i = rows.firstIndex(where: { $0.count != k * d }) {
                throw MLError(.widthMismatch, "\(name) window \(i) has \(rows[i].count) values, not \(k) steps × \(d) features")
            }
            if let i = rows.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
                throw MLError(.nonFiniteValue, "\(name) window \(i) has a NaN or infinite feature; drop or fill it before training")
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
        let scaler = FeatureScaler.fit(rows: features.map { Array($0[((k - 1) * d)...]) }, width: d)
        var rng = Xoshiro256StarStar(seed: seed)
        var layers = TCNLayers(inputs: d, channels: h.channels, layers: h.layers, steps: k,
                               parameters: [Double](repeating: 0, count: TCNLayers.count(inputs: d, channels: h.channels, layers: h.layers)))
        // He initialisation of the weights (fan-in d for the projection, 2C for a dilated layer, C for the output); the
        // current-step weights of the dilated layers start small so each residual block starts near the identity.
        let c = h.channels
        for i in 0..<(d * c) { layers.parameters[layers.projectionAt + i] = (2 / Double(d)).squareRoot() * gaussian(&rng) }
        for l in 0..<h.layers {
            for i in 0..<(c * c) {
                layers.parameters[layers.previousAt(l) + i] = (1 / Double(c)).squareRoot() * gaussian(&rng)
                layers.parameters[layers.currentAt(l) + i] = (1 / Double(c)).squareRoot() * gaussian(&rng)
            }
        }
        for j in 0..<c { layers.parameters[layers.outputAt + j] = (1 / Double(c)).squareRoot() * gaussian(&rng) }

        let x = features.flatMap { standardise($0, scaler) }
        let y = labels.map(Double.init)
        let w = weights ?? Array(repeating: 1, count: labels.count)
        let held = validation.map { (x: $0.features.flatMap { standardise($0, scaler) }, y: $0.labels) }
        var optimiser = AdamW(count: layers.parameters.count, learningRate: h.learningRate, weightDecay: h.weightDecay, decays: layers.isWeight)
        let windowSize = k * d
        var order = Array(0..<labels.count)
        var best = (loss: Double.infinity, epoch: 0, parameters: layers.parameters)
        var losses: [Double] = []
        var epochsRun = 0
        var batchX = [Double](), batchY = [Double](), batchW = [Double]()
        for epoch in 0..<h.epochs {
            epochsRun = epoch + 1
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.index(below: i + 1)) }
            var start = 0
            while start < order.count {
                let end = min(start + h.batchSize, order.count)
                batchX.removeAll(keepingCapacity: true)
                batchY.removeAll(keepingCapacity: true)
                batchW.removeAll(keepingCapacity: true)
                for r in order[start..<end] {
                    batchX.append(contentsOf: x[(r * windowSize)..<((r + 1) * windowSize)])
                    batchY.append(y[r])
                    batchW.append(w[r])
                }
                if batchW.contains(where: { $0 > 0 }) {
                    let (_, gradient) = lossAndGradient(layers: layers, x: batchX, y: batchY, w: batchW)
                    optimiser.step(&layers.parameters, gradient)
                }
                start = end
            }
            guard let held, !held.y.isEmpty else { continue }
            let logits = layers.logOdds(held.x, windows: held.y.count)
            var loss = 0.0
            for r in held.y.indices { loss += ClassificationMetrics.logLoss(probability: sigmoid(logits[r]), label: held.y[r]) }
            loss /= Double(held.y.count)
            losses.append(loss)
            if loss < best.loss { best = (loss, epoch, layers.parameters) }
            if h.earlyStoppingRounds > 0 && epoch - best.epoch >= h.earlyStoppingRounds { break }
        }
        if held.map({ !$0.y.isEmpty }) ?? false { layers.parameters = best.parameters } else { best.epoch = epochsRun - 1 }
        return TCNFit(scaler: scaler, layers: layers, epochsRun: epochsRun, bestEpoch: best.epoch, heldOutLogLoss: losses)
    }

    /// The weighted mean logistic loss over standardised windows `x` (row-major n·K × d) and its gradient with respect to
    /// every parameter: what training steps on, and what the gradient check in the tests compares with finite differences.
    static func lossAndGradient(layers: TCNLayers, x: [Double], y: [Double], w: [Double]? = nil) -> (loss: Double, gradient: [Double]) {
        let n = y.count
        let w = w ?? Array(repeating: 1, count: n)
        var pass = Pass(layers, windows: n)
        let logits = pass.forward(x)
        let total = w.reduce(0, +)
        var loss = 0.0
        var dLogit = [Double](repeating: 0, count: n)
        for r in 0..<n {
            let zi = logits[r]
            loss += w[r] * (max(zi, 0) + log1p(exp(-abs(zi))) - y[r] * zi)
            dLogit[r] = w[r] * (sigmoid(zi) - y[r]) / total
        }
        return (loss / total, pass.backward(x, dLogit: dLogit))
    }
}
