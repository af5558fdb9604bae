import QuorumModel

/// A trained multilayer perceptron (`NeuralNetwork`): the scaler, the layers, lineage and an optional calibration.
///
/// Scoring: z = the network's output on the standardised vector, P(up) = calibration(σ(z)). A width mismatch or a
/// non-finite feature is a thrown `MLError`, as for every family.
public struct MLPModel: Sendable, Codable, Equatable {
    public let symbol: Symbol
    public let featureSpecVersion: Int
    public let featureNames: [String]
    public let scaler: FeatureScaler
    public let layers: NetworkLayers
    public let hyperparameters: MLPHyperparameters
    public let provenance: TrainingProvenance
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics
    public let calibration: Calibration?

    public init(symbol: Symbol, featureSpecVersion: Int, featureNames: [String], fit: MLPFit, hyperparameters: MLPHyperparameters,
                provenance: TrainingProvenance, trainMetrics: ClassificationMetrics, validationMetrics: ClassificationMetrics,
                calibration: Calibration? = nil) {
        self.symbol = symbol
        self.featureSpecVersion = featureSpecVersion
        self.featureNames = featureNames
        scaler = fit.scaler
        layers = fit.layers
        self.hyperparameters = hyperparameters
        self.provenance = provenance
        self.trainMetrics = trainMetrics
        self.validationMetrics = validationMetrics
        self.calibration = calibration == Calibration.none ? nil : calibration
    }

    public var width: Int { featureNames.count }

    /// Per feature, the summed |weight| of the first layer's units on it (standardised inputs).
    public var inputImportance: [Double] {
        let hidden = layers.shape[1]
        return (0..<width).map { i in (0..<hidden).reduce(0) { $0 + abs(layers.weights[0][$1 * width + i]) } }
    }

    /// P(close goes up over the horizon | raw features). Throws `.widthMismatch` or `.nonFiniteValue`.
    public func probabilityUp(_ features: [Double]) throws(MLError) -> Double {
        try ModelInput.check(features, width: width, names: featureNames, model: "\(symbol) mlp (feature spec v\(featureSpecVersion))")
        let p = sigmoid(layers.logOdds(scaler.transform(features)))
        return calibration?.apply(p) ?? p
    }

    public static let artifactFormat = "quorum.ml.mlp"
    public static let artifactFormatVersion = 1

    public func artifact() -> [UInt8] { ModelArtifact.encode(self, format: Self.artifactFormat, version: Self.artifactFormatVersion) }

    /// Loads and checks an artifact: format and version, the layers' shapes against the features, finite parameters,
    /// the scaler and the calibration. Throws `.corruptArtifact` saying what is wrong.
    public init(artifact bytes: [UInt8]) throws(MLError) {
        let model = try ModelArtifact.decode(MLPModel.self, from: bytes, format: Self.artifactFormat, version: Self.artifactFormatVersion)
        let width = model.featureNames.count
        if let problem = model.layers.problem(width: width) { throw MLError(.corruptArtifact, "artifact layers: \(problem)") }
        if let problem = model.scaler.problem(width: width) { throw MLError(.corruptArtifact, problem) }
        if let problem = model.calibration?.problem() { throw MLError(.corruptArtifact, "artifact calibration: \(problem)") }
        self = model
    }

    public var version: String { "nn-" + FNV1a64.hex(of: artifact()) }
}
