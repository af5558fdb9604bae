import Foundation

/// Quality of probability forecasts p ∈ [0, 1] against binary outcomes y ∈ {0, 1}.
public struct ClassificationMetrics: Sendable, Codable, Equatable {
    /// Number of rows scored.
    public let count: Int
    /// Share of rows where (p > 0.5) equals y.
    public let accuracy: Double
    /// Mean −[y log p + (1 − y) log(1 − p)] with p clipped to [ε, 1 − ε], ε = `logLossEpsilon`.
    public let logLoss: Double
    /// Mean (p − y)².
    public let brier: Double
    /// Area under the ROC curve, from ranks (tied scores share their average rank, so a tie counts ½).
    /// `nil` when only one class is present (AUC is undefined).
    public let auc: Double?
    /// Share of rows with y = 1.
    public let baseRate: Double

    public init(count: Int, accuracy: Double, logLoss: Double, brier: Double, auc: Double?, baseRate: Double) {
        self.count = count
        self.accuracy = accuracy
        self.logLoss = logLoss
        self.brier = brier
        self.auc = auc
        self.baseRate = baseRate
    }

    /// Probabilities are clipped to [1e-15, 1 − 1e-15] before taking logs, so one confident miss costs ≈ 34.5, not ∞.
    public static let logLossEpsilon = 1e-15

    /// The clipped log loss of a single forecast.
    public static func logLoss(probability p: Double, label y: Int) -> Double {
        let clipped = min(max(p, logLossEpsilon), 1 - logLossEpsilon)
        return y == 1 ? -log(clipped) : -log(1 - clipped)
    }

    /// Computes every metric. Precondition: equal lengths, at least one row, labels 0 or 1.
    public static func compute(probabilities: [Double], labels: [Int]) -> ClassificationMetrics {
        precondition(probabilities.count == labels.count,
                     "metrics: \(probabilities.count) probabilities for \(labels.count) labels")
        precondition(!labels.isEmpty, "metrics need at least one row")
        let n = Double(labels.count)
        var correct = 0
        var logLossSum = 0.0
        var brierSum = 0.0
        for (p, y) in zip(probabilities, labels) {
            if (p > 0.5 ? 1 : 0) == y { correct += 1 }
            logLossSum += logLoss(probability: p, label: y)
            brierSum += (p - Double(y)) * (p - Double(y))
        }
        let positives = labels.reduce(0, +)
        return ClassificationMetrics(count: labels.count, accuracy: Double(correct) / n, logLoss: logLossSum / n,
                                     brier: brierSum / n, auc: areaUnderROC(scores: probabilities, labels: labels),
                                     baseRate: Double(positives) / n)
    }

    /// Rank-based AUC (Mann–Whitney U): (Σ ranks of positives − n₁(n₁+1)/2) / (n₁ · n₀), ranks 1-based, ties given
    /// their average rank. Equals P(score of a random positive > score of a random negative) + ½ P(tie).
    /// `nil` when either class is absent.
    public static func areaUnderROC(scores: [Double], labels: [Int]) -> Double? {
        precondition(scores.count == labels.count, "AUC: \(scores.count) scores for \(labels.count) labels")
        let positives = labels.reduce(0, +)
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Sort indices by score; the index tiebreak keeps the sort deterministic (it does not change the ranks).
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        var positiveRankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1 // ranks start..end (0-based) → mean 1-based rank
            for k in start...end where labels[order[k]] == 1 { positiveRankSum += averageRank }
            start = end + 1
        }
        let n1 = Double(positives)
        return (positiveRankSum - n1 * (n1 + 1) / 2) / (n1 * Double(negatives))
    }
}

/// Decides whether a trained model is good enough to register.
///
/// Rule: the model passes when
/// 1. the validation set has at least `minimumCount` rows, and
/// 2. its validation log loss is lower than the baseline's by at least `minimumImprovement` (in nats), where the
///    baseline predicts the validation set's own base rate q for every row (log loss = −q log q − (1−q) log(1−q)).
///
/// That baseline is the best constant forecast in hindsight — stricter than using the training base rate — so a
/// model only passes when its features carry information beyond "how often does the price go up".
public struct ValidationGate: Sendable, Codable, Equatable {
    public var minimumCount: Int
    public var minimumImprovement: Double

    /// Defaults: at least 100 validation rows, and an improvement of at least 0.001 nats over the baseline.
    public init(minimumCount: Int = 100, minimumImprovement: Double = 0.001) {
        self.minimumCount = minimumCount
        self.minimumImprovement = minimumImprovement
    }

    /// Log loss of always predicting `baseRate` on a set whose base rate is `baseRate` (clipped like the metrics).
    public static func baselineLogLoss(baseRate q: Double) -> Double {
        let p = min(max(q, ClassificationMetrics.logLossEpsilon), 1 - ClassificationMetrics.logLossEpsilon)
        return -(q * log(p) + (1 - q) * log(1 - p))
    }

    /// `converged`: whether the model's optimiser converged; a model that did not is refused (its weights are wherever
    /// the iteration budget stopped them, not the fit the hyperparameters define).
    public func evaluate(validation: ClassificationMetrics, converged: Bool = true) -> GateVerdict {
        let baseline = Self.baselineLogLoss(baseRate: validation.baseRate)
        let improvement = baseline - validation.logLoss
        var reasons: [String] = []
        if !converged {
            reasons.append("the optimiser did not converge within its iteration budget; raise max_iterations or l2")
        }
        if validation.count < minimumCount {
            reasons.append("validation has \(validation.count) rows, the gate needs at least \(minimumCount)")
        }
        if !(improvement >= minimumImprovement) {
            reasons.append("validation log loss \(validation.logLoss) beats the base-rate baseline \(baseline) by "
                           + "\(improvement), the gate needs at least \(minimumImprovement)")
        }
        return GateVerdict(passed: reasons.isEmpty, baselineLogLoss: baseline, modelLogLoss: validation.logLoss,
                           improvement: improvement, reasons: reasons)
    }
}

/// The outcome of `ValidationGate.evaluate`.
public struct GateVerdict: Sendable, Codable, Equatable {
    public let passed: Bool
    public let baselineLogLoss: Double
    public let modelLogLoss: Double
    /// `baselineLogLoss − modelLogLoss` (positive = the model is better).
    public let improvement: Double
    /// Why the model was rejected (empty when it passed).
    public let reasons: [String]
}
