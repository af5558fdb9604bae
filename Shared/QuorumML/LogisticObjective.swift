import Foundation

/// The logistic sigmoid 1 / (1 + e^(−z)), computed without overflow for large |z|.
@inlinable
public func sigmoid(_ z: Double) -> Double {
    if z >= 0 {
        return 1 / (1 + exp(-z))
    }
    let e = exp(z)
    return e / (1 + e)
}

/// log(1 + e^z) without overflow.
@inlinable
func softplus(_ z: Double) -> Double {
    max(z, 0) + log1p(exp(-abs(z)))
}

/// The penalised, weighted logistic loss that the trainer minimises, and its gradient:
///
///     L(w, b) = (1/n) Σᵢ sᵢ · [log(1 + e^{zᵢ}) − yᵢ zᵢ] + (λ/2) ‖w‖²,   zᵢ = xᵢ·w + b
///     ∂L/∂w = (1/n) Xᵀ (s ⊙ (p − y)) + λ w,   ∂L/∂b = (1/n) Σᵢ sᵢ (pᵢ − yᵢ),   pᵢ = σ(zᵢ)
///
/// `X` is the standardised feature matrix, `y ∈ {0, 1}`, `s` the per-row weights (all 1 without class weighting),
/// `λ` the L2 penalty. The bias is not penalised. Both products with `X` are single OpenBLAS `dgemv` calls.
public struct LogisticObjective: Sendable {
    public let features: Matrix
    public let labels: [Double]
    public let sampleWeights: [Double]
    public let l2: Double

    /// Precondition: `labels` and `sampleWeights` have one entry per row of `features`.
    public init(features: Matrix, labels: [Double], sampleWeights: [Double], l2: Double) {
        precondition(labels.count == features.rows, "LogisticObjective: \(labels.count) labels for \(features.rows) rows")
        precondition(sampleWeights.count == features.rows,
                     "LogisticObjective: \(sampleWeights.count) weights for \(features.rows) rows")
        self.features = features
        self.labels = labels
        self.sampleWeights = sampleWeights
        self.l2 = l2
    }

    /// Loss and gradient at (`weights`, `bias`). Precondition: `weights.count == features.cols`.
    public func evaluate(weights: [Double], bias: Double) -> (loss: Double, gradWeights: [Double], gradBias: Double) {
        let n = Double(features.rows)
        var z = features.multiply(weights)
        var dataLoss = 0.0
        var gradBias = 0.0
        for i in 0..<z.count {
            let zi = z[i] + bias
            dataLoss += sampleWeights[i] * (softplus(zi) - labels[i] * zi)
            let residual = sampleWeights[i] * (sigmoid(zi) - labels[i])
            gradBias += residual
            z[i] = residual // reuse the buffer for s ⊙ (p − y)
        }
        var gradWeights = features.transposeMultiply(z)
        for j in 0..<gradWeights.count { gradWeights[j] /= n }
        Vector.axpy(l2, weights, &gradWeights)
        let penalty = 0.5 * l2 * Vector.dot(weights, weights)
        return (dataLoss / n + penalty, gradWeights, gradBias / n)
    }
}
