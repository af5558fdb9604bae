/// The result of fitting: coefficients in STANDARDISED feature space plus the scaler that maps raw features there.
public struct LogisticFit: Sendable, Equatable {
    public let weights: [Double]
    public let bias: Double
    public let scaler: FeatureScaler
    /// Newton iterations actually run.
    public let iterations: Int
    /// True when the gradient fell below the tolerance before the budget ran out.
    public let converged: Bool
    /// Penalised training loss at the returned coefficients.
    public let finalLoss: Double
}

/// Binary logistic regression trained by Newton's method (iteratively reweighted least squares) with a line search.
///
/// Algorithm (deterministic — no randomness, rows processed in the given order):
/// 1. Validate hyperparameters and data (≥ 2 rows, equal widths, finite values, both classes present).
/// 2. Fit a `FeatureScaler` on these (training) rows and standardise them.
/// 3. Start from w = 0, b = 0 (so the `seed` of a job is not needed by this algorithm).
/// 4. Repeat up to `maxIterations` times: stop if every gradient component is ≤ `tolerance` in magnitude;
///    otherwise solve H·δ = ∇L (`LogisticObjective.hessian`, Cholesky) and step (w, b) ← (w, b) − η·δ, η starting at
///    `learningRate` (1: the full Newton step) and halved until the loss falls enough (Armijo, at most 50 halvings).
///    The loss is convex, so this converges in a few tens of iterations at most (quadratically near the minimum);
///    gradient descent needed hundreds and often did not converge at weak L2.
public enum LogisticRegression {
    /// Fits a model. `labels` are 0 or 1, one per row of `features`.
    public static func fit(features: [[Double]], labels: [Int],
                           hyperparameters: LogisticHyperparameters) throws(MLError) -> LogisticFit {
        try hyperparameters.validate()
        guard features.count == labels.count else {
            throw MLError(.widthMismatch, "\(features.count) feature rows but \(labels.count) labels; pass one label per row")
        }
        guard features.count >= 2 else {
            throw MLError(.tooFewRows, "training needs at least 2 rows, got \(features.count)")
        }
        let width = features[0].count
        guard width >= 1 else {
            throw MLError(.widthMismatch, "feature vectors are empty; a model needs at least one feature")
        }
        for (i, row) in features.enumerated() {
            guard row.count == width else {
                throw MLError(.widthMismatch, "training row \(i) has \(row.count) features, row 0 has \(width)")
            }
            if let j = row.firstIndex(where: { !$0.isFinite }) {
                throw MLError(.nonFiniteValue, "training row \(i), feature \(j) is \(row[j]); drop or repair such rows first")
            }
        }
        if let bad = labels.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw MLError(.invalidHyperparameter, "label at row \(bad) is \(labels[bad]); labels must be 0 or 1")
        }
        let positives = labels.reduce(0, +)
        guard positives > 0, positives < labels.count else {
            throw MLError(.singleClass, "all \(labels.count) training labels are \(labels[0]); "
                          + "logistic regression needs both classes — widen the training range")
        }

        let scaler = FeatureScaler.fit(rows: features, width: width)
        let x = scaler.transform(rows: features)
        let y = labels.map(Double.init)
        let sampleWeights: [Double]
        switch hyperparameters.classWeighting {
        case .none:
            sampleWeights = [Double](repeating: 1, count: labels.count)
        case .balanced:
            let n = Double(labels.count)
            let upWeight = n / (2 * Double(positives))
            let downWeight = n / (2 * Double(labels.count - positives))
            sampleWeights = labels.map { $0 == 1 ? upWeight : downWeight }
        }
        let objective = LogisticObjective(features: x, labels: y, sampleWeights: sampleWeights, l2: hyperparameters.l2)

        var weights = [Double](repeating: 0, count: width)
        var bias = 0.0
        var current = objective.evaluate(weights: weights, bias: bias)
        var iterations = 0
        var converged = false
        while iterations < hyperparameters.maxIterations {
            if Self.largest(current) <= hyperparameters.tolerance {
                converged = true
                break
            }
            iterations += 1
            let gradient = current.gradWeights + [current.gradBias]
            var hessian = objective.hessian(weights: weights, bias: bias)
            // Without L2 on perfectly separated rows the Hessian can be singular: a growing ridge keeps the step defined.
            var direction = choleskySolve(hessian, gradient)
            var ridge = 1e-10
            while direction == nil && ridge < 1e6 {
                for j in 0...width { hessian[j * (width + 1) + j] += ridge }
                direction = choleskySolve(hessian, gradient)
                ridge *= 100
            }
            let delta = direction ?? gradient
            let decrease = Vector.dot(gradient, delta)
            var step = hyperparameters.learningRate
            var accepted = false
            for _ in 0...50 {
                var candidateWeights = weights
                for j in 0..<width { candidateWeights[j] -= step * delta[j] }
                let candidateBias = bias - step * delta[width]
                let candidate = objective.evaluate(weights: candidateWeights, bias: candidateBias)
                // Near the minimum a step's loss change falls below rounding (the sums' order, and so their last
                // bits, depend on the BLAS kernel of the CPU): there a step counts when the loss stays within a few
                // ulps and the gradient shrinks, so the fit still reaches its gradient tolerance.
                let withinRounding = candidate.loss <= current.loss + 4 * current.loss.ulp
                    && Self.largest(candidate) < Self.largest(current)
                if candidate.loss.isFinite && (candidate.loss <= current.loss - 1e-4 * step * decrease || withinRounding) {
                    weights = candidateWeights
                    bias = candidateBias
                    current = candidate
                    accepted = true
                    break
                }
                step /= 2
            }
            guard current.loss.isFinite else {
                throw MLError(.diverged, "training loss became \(current.loss) at iteration \(iterations); raise l2")
            }
            if !accepted {
                // No step lowers the loss any more: we are at the minimum to machine precision.
                converged = true
                break
            }
        }
        return LogisticFit(weights: weights, bias: bias, scaler: scaler, iterations: iterations,
                           converged: converged, finalLoss: current.loss)
    }

    /// The largest gradient component in magnitude.
    static func largest(_ e: (loss: Double, gradWeights: [Double], gradBias: Double)) -> Double {
        max(abs(e.gradBias), e.gradWeights.map(abs).max() ?? 0)
    }
}
