import QuorumModel

/// A trained gradient-boosted-trees model (`GradientBoostedTrees`): everything inference needs to score a raw feature
/// vector, plus lineage and feature importance.
///
/// Scoring: z = initialScore + Σ trees' leaf values for x, P(up) = σ(z). Like `LogisticModel`, a width mismatch or a
/// non-finite feature is a thrown `MLError`, so inference can dead-letter the vector instead of crashing.
public struct GBDTModel: Sendable, Codable, Equatable {
    public let symbol: Symbol
    /// Version of the feature specification the features were computed with; inference must use the same one.
    public let featureSpecVersion: Int
    /// Feature names, in vector order.
    public let featureNames: [String]
    public let initialScore: Double
    public let trees: [RegressionTree]
    /// Per feature: the loss reduction of the splits on it (LightGBM's "gain" importance).
    public let gainImportance: [Double]
    public let hyperparameters: GBDTHyperparameters
    public let provenance: TrainingProvenance
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics
    /// Applied to σ(z); nil when the model is not calibrated.
    public let calibration: Calibration?

    public init(symbol: Symbol, featureSpecVersion: Int, featureNames: [String], fit: GBDTFit, hyperparameters: GBDTHyperparameters,
                provenance: TrainingProvenance, trainMetrics: ClassificationMetrics, validationMetrics: ClassificationMetrics,
                calibration: Calibration? = nil) {
        self.calibration = calibration == Calibration.none ? nil : calibration
        self.symbol = symbol
        self.featureSpecVersion = featureSpecVersion
        self.featureNames = featureNames
        initialScore = fit.initialScore
        trees = fit.trees
        gainImportance = fit.gainImportance
        self.hyperparameters = hyperparameters
        self.provenance = provenance
        self.trainMetrics = trainMetrics
        self.validationMetrics = validationMetrics
    }

    /// Number of features the model expects.
    public var width: Int { featureNames.count }

    /// P(close goes up over the horizon | raw features). Throws `.widthMismatch` or `.nonFiniteValue`.
    public func probabilityUp(_ features: [Double]) throws(MLError) -> Double {
        try ModelInput.check(features, width: width, names: featureNames, model: "\(symbol) gbdt (feature spec v\(featureSpecVersion))")
        return features.withUnsafeBufferPointer { x in
            let p = sigmoid(trees.logOdds(x.baseAddress!, from: initialScore))
            return calibration?.apply(p) ?? p
        }
    }

    // MARK: - Artifact

    public static let artifactFormat = "quorum.ml.gbdt"
    public static let artifactFormatVersion = 1

    /// The model as UTF-8 JSON with sorted keys (`ModelArtifact`): the same model always gives the same bytes.
    public func artifact() -> [UInt8] { ModelArtifact.encode(self, format: Self.artifactFormat, version: Self.artifactFormatVersion) }

    /// Loads and checks an artifact: format and version, widths, finite numbers, and every tree's structure (children
    /// after parents, every leaf reached once, features in range). Throws `.corruptArtifact` saying what is wrong.
    public init(artifact bytes: [UInt8]) throws(MLError) {
        let model = try ModelArtifact.decode(GBDTModel.self, from: bytes, format: Self.artifactFormat, version: Self.artifactFormatVersion)
        let width = model.featureNames.count
        guard width >= 1, model.gainImportance.count == width else {
            throw MLError(.corruptArtifact, "artifact widths disagree: \(width) feature names, \(model.gainImportance.count) importances")
        }
        guard model.initialScore.isFinite else { throw MLError(.corruptArtifact, "artifact has a non-finite initial score") }
        for (t, tree) in model.trees.enumerated() {
            if let problem = tree.problem(width: width) { throw MLError(.corruptArtifact, "artifact tree \(t): \(problem)") }
        }
        if let problem = model.calibration?.problem() { throw MLError(.corruptArtifact, "artifact calibration: \(problem)") }
        self = model
    }

    /// FNV-1a 64-bit digest of the artifact bytes (identifies content; not a protection against tampering).
    public var contentDigest: String { FNV1a64.hex(of: artifact()) }

    /// Model version: `gb-<contentDigest>`.
    public var version: String { "gb-" + contentDigest }
}

/// The checks every family makes on a vector before scoring it.
enum ModelInput {
    static func check(_ features: [Double], width: Int, names: [String], model: String) throws(MLError) {
        guard features.count == width else {
            throw MLError(.widthMismatch, "model \(model) expects \(width) features, got \(features.count); check the feature spec version")
        }
        if let j = features.firstIndex(where: { !$0.isFinite }) {
            throw MLError(.nonFiniteValue, "feature \(j) (\(names.indices.contains(j) ? names[j] : "?")) is \(features[j]); "
                          + "cannot score a non-finite feature vector")
        }
    }
}
