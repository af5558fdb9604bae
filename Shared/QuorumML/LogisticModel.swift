import Foundation
import QuorumModel

/// Where a model's data came from and how its optimisation ended.
public struct TrainingProvenance: Sendable, Codable, Equatable {
    /// Training rows have trainFrom ≤ time < trainTo; validation rows trainTo ≤ time < validateTo.
    public let trainFrom: Nanos
    public let trainTo: Nanos
    public let validateTo: Nanos
    public let trainCount: Int
    public let validationCount: Int
    /// Label horizon in rows.
    public let horizon: Int
    /// The job's seed, recorded for lineage (Newton's method from zero does not consume it).
    public let seed: UInt64
    public let iterations: Int
    public let converged: Bool

    public init(trainFrom: Nanos, trainTo: Nanos, validateTo: Nanos, trainCount: Int, validationCount: Int,
                horizon: Int, seed: UInt64, iterations: Int, converged: Bool) {
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.validateTo = validateTo
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.horizon = horizon
        self.seed = seed
        self.iterations = iterations
        self.converged = converged
    }
}

/// A trained logistic-regression model: everything inference needs to score a raw feature vector, plus lineage.
///
/// Scoring: z = w · ((x − means) / stds) + bias, P(up) = σ(z).
/// Width mismatches and non-finite inputs are reported as thrown `MLError`s (not preconditions), so that an
/// inference service can route a bad feature vector to a dead-letter topic instead of crashing.
public struct LogisticModel: Sendable, Codable, Equatable {
    public let symbol: Symbol
    /// Version of the feature specification the features were computed with; inference must use the same one.
    public let featureSpecVersion: Int
    /// Feature names, in vector order.
    public let featureNames: [String]
    /// Weights in standardised feature space.
    public let weights: [Double]
    public let bias: Double
    public let scaler: FeatureScaler
    public let hyperparameters: LogisticHyperparameters
    public let provenance: TrainingProvenance
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics
    /// Applied to σ(z); nil (absent from the artifact) when the model is not calibrated.
    public let calibration: Calibration?

    public init(symbol: Symbol, featureSpecVersion: Int, featureNames: [String], weights: [Double], bias: Double,
                scaler: FeatureScaler, hyperparameters: LogisticHyperparameters, provenance: TrainingProvenance,
                trainMetrics: ClassificationMetrics, validationMetrics: ClassificationMetrics, calibration: Calibration? = nil) {
        self.calibration = calibration == Calibration.none ? nil : calibration
        self.symbol = symbol
        self.featureSpecVersion = featureSpecVersion
        self.featureNames = featureNames
        self.weights = weights
        self.bias = bias
        self.scaler = scaler
        self.hyperparameters = hyperparameters
        self.provenance = provenance
        self.trainMetrics = trainMetrics
        self.validationMetrics = validationMetrics
    }

    /// Number of features the model expects.
    public var width: Int { weights.count }

    /// P(close goes up over the horizon | raw features).
    /// Throws `.widthMismatch` when `features.count != width`, `.nonFiniteValue` for NaN/∞ features.
    public func probabilityUp(_ features: [Double]) throws(MLError) -> Double {
        try ModelInput.check(features, width: width, names: featureNames, model: "\(symbol) (feature spec v\(featureSpecVersion))")
        let p = sigmoid(Vector.dot(weights, scaler.transform(features)) + bias)
        return calibration?.apply(p) ?? p
    }

    /// The probability of an up move and the confidence |2p − 1| ∈ [0, 1] (0 = coin flip, 1 = certain).
    public func score(_ features: [Double]) throws(MLError) -> (probUp: Double, confidence: Double) {
        let p = try probabilityUp(features)
        return (p, abs(2 * p - 1))
    }

    // MARK: - Artifact

    /// Name and version of the artifact format, stored in every artifact and checked on load.
    public static let artifactFormat = "quorum.ml.logistic-regression"
    public static let artifactFormatVersion = 1

    /// The model as UTF-8 JSON with sorted keys (`ModelArtifact`): the same model always gives the same bytes.
    public func artifact() -> [UInt8] { ModelArtifact.encode(self, format: Self.artifactFormat, version: Self.artifactFormatVersion) }

    /// Loads and checks an artifact. Throws `.corruptArtifact` saying what is wrong when the bytes are not JSON of
    /// this format and version, or the model is inconsistent (widths differ, non-finite numbers, std ≤ 0).
    public init(artifact bytes: [UInt8]) throws(MLError) {
        let model = try ModelArtifact.decode(LogisticModel.self, from: bytes, format: Self.artifactFormat, version: Self.artifactFormatVersion)
        let width = model.weights.count
        guard width >= 1, model.scaler.means.count == width, model.scaler.stds.count == width,
              model.featureNames.count == width else {
            throw MLError(.corruptArtifact, "artifact widths disagree: \(width) weights, \(model.scaler.means.count) "
                          + "means, \(model.scaler.stds.count) stds, \(model.featureNames.count) feature names")
        }
        guard (model.weights + model.scaler.means + [model.bias]).allSatisfy(\.isFinite),
              model.scaler.stds.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw MLError(.corruptArtifact, "artifact has a non-finite weight, bias or mean, or a std that is not > 0")
        }
        if let problem = model.calibration?.problem() { throw MLError(.corruptArtifact, "artifact calibration: \(problem)") }
        self = model
    }

    /// FNV-1a 64-bit digest of the artifact bytes, as 16 lower-case hex digits. Not cryptographic: it identifies
    /// content (same model ⇒ same digest), it does not protect against tampering.
    public var contentDigest: String {
        FNV1a64.hex(of: artifact())
    }

    /// Model version: `lr-<contentDigest>`, e.g. `lr-3f2a9c0d1e4b5a67`.
    public var version: String { "lr-" + contentDigest }
}
