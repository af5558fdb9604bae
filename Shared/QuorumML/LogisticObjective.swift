import COpenBLAS
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

    /// The Hessian of the loss at (`weights`, `bias`), over (w₀ … w_{d−1}, b), row-major (d + 1)²:
    ///
    ///     H = (1/n) X̃ᵀ diag(s ⊙ p ⊙ (1 − p)) X̃ + λ·diag(1, …, 1, 0),   X̃ = [X 1]
    ///
    /// One OpenBLAS `dsyrk` on the rows scaled by √(sᵢ pᵢ (1 − pᵢ)).
    public func hessian(weights: [Double], bias: Double) -> [Double] {
        let n = features.rows, d = features.cols, k = d + 1
        let z = features.multiply(weights)
        var scaled = [Double](repeating: 0, count: n * k)
        features.values.withUnsafeBufferPointer { x in
            for i in 0..<n {
                let p = sigmoid(z[i] + bias)
                let r = (sampleWeights[i] * p * (1 - p)).squareRoot()
                for j in 0..<d { scaled[i * k + j] = r * x[i * d + j] }
                scaled[i * k + d] = r
            }
        }
        var h = [Double](repeating: 0, count: k * k)
        BLASRuntime.ensureConfigured()
        scaled.withUnsafeBufferPointer { a in
            h.withUnsafeMutableBufferPointer { c in
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, blasint(k), blasint(n), 1 / Double(n), a.baseAddress, blasint(k),
                            0, c.baseAddress, blasint(k))
            }
        }
        for r in 0..<k {
            for c in 0..<r { h[r * k + c] = h[c * k + r] }
        }
        for j in 0..<d { h[j * k + j] += l2 }
        return h
    }
}

/// Solves A·x = b for a symmetric positive-definite A (row-major m×m) by Cholesky factorisation; nil when A is not
/// numerically positive definite.
func choleskySolve(_ a: [Double], _ b: [Double]) -> [Double]? {
    let m = b.count
    var l = [Double](repeating: 0, count: m * m)
    for i in 0..<m {
        for j in 0...i {
            var sum = a[i * m + j]
            for k in 0..<j { sum -= l[i * m + k] * l[j * m + k] }
            if i == j {
                guard sum > 0, sum.isFinite else { return nil }
                l[i * m + i] = sum.squareRoot()
            } else {
                l[i * m + j] = sum / l[j * m + j]
            }
        }
    }
    var y = b
    for i in 0..<m {
        for k in 0..<i { y[i] -= l[i * m + k] * y[k] }
        y[i] /= l[i * m + i]
    }
    for i in stride(from: m - 1, through: 0, by: -1) {
        for k in (i + 1)..<m { y[i] -= l[k * m + i] * y[k] }
        y[i] /= l[i * m + i]
    }
    return y
}
