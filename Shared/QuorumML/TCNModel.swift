import QuorumModel

/// A trained temporal convolutional network (`TemporalConvNet`): it scores a window of the symbol's last K feature
/// vectors, not one vector.
///
/// Its input is the K vectors concatenated, oldest first (K·d values; `TrainedModel.sequenceLength` is K): the trainer
/// builds each training row from the row and the K − 1 rows before it (`TrainerCore.windows`), and inference keeps the
/// last K warm vectors of each symbol it serves with such a model. P(up) = calibration(σ(z)).
public struct TCNModel: Sendable, Codable, Equatable {
    public let symbol: Symbol
    public let featureSpecVersion: Int
    /// The d features of one step.
    public let featureNames: [String]
    public let scaler: FeatureScaler
    public let layers: TCNLayers
    public let hyperparameters: TCNHyperparameters
    public let provenance: TrainingProvenance
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics
    public let calibration: Calibration?

    public init(symbol: Symbol, featureSpecVersion: Int, featureNames: [String], fit: TCNFit, hyperparameters: TCNHyperparameters,
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

    /// K: feature vectors per input window.
    public var sequenceLength: Int { layers.steps }

    /// Per feature, the summed |weight| of the input projection on it (standardised inputs).
    public var inputImportance: [Double] {
        let d = featureNames.count, c = layers.channels
        return (0..<d).map { i in (0..<c).reduce(0) { $0 + abs(layers.parameters[layers.projectionAt + i * c + $1]) } }
    }

    /// P(close goes up over the horizon | the last K raw feature vectors, concatenated oldest first). Throws
    /// `.widthMismatch` or `.nonFiniteValue` (naming the feature and how many bars back it is).
    public func probabilityUp(_ window: [Double]) throws(MLError) -> Double {
        let d = featureNames.count, k = sequenceLength
        guard window.count == k * d else {
            throw MLError(.widthMismatch, "model \(symbol) tcn (feature spec v\(featureSpecVersion)) expects \(k) vectors × \(d) features "
                          + "= \(k * d) values, got \(window.count); check the feature spec version")
        }
        if let j = window.firstIndex(where: { !$0.isFinite }) {
            throw MLError(.nonFiniteValue, "feature \(featureNames[j % d]) \(k - 1 - j / d) bars back is \(window[j]); "
                          + "cannot score a non-finite window")
        }
        let p = sigmoid(layers.logOdds(TemporalConvNet.standardise(window, scaler), windows: 1)[0])
        return calibration?.apply(p) ?? p
    }

    public static let artifactFormat = "quorum.ml.tcn"
    public static let artifactFormatVersion = 1

    public func artifact() -> [UInt8] { ModelArtifact.encode(self, format: Self.artifactFormat, version: Self.artifactFormatVersion) }

    /// Loads and checks an artifact: format and version, the layers against the features, finite parameters, the scaler,
    /// the hyperparameters and the calibration. Throws `.corruptArtifact` saying what is wrong.
    public init(artifact bytes: [UInt8]) throws(MLError) {
        let model = try ModelArtifact.decode(TCNModel.self, from: bytes, format: Self.artifactFormat, version: Self.artifactFormatVersion)
        let width = model.featureNames.count
        if let problem = model.layers.problem(width: width) { throw MLError(.corruptArtifact, "artifact layers: \(problem)") }
        guard model.layers.steps == model.hyperparameters.sequenceLength, model.layers.channels == model.hyperparameters.channels,
              model.layers.layers == model.hyperparameters.layers else {
            throw MLError(.corruptArtifact, "artifact layers (steps \(model.layers.steps), channels \(model.layers.channels), layers "
                          + "\(model.layers.layers)) differ from its hyperparameters")
        }
        if let problem = model.scaler.problem(width: width) { throw MLError(.corruptArtifact, problem) }
        if let problem = model.calibration?.problem() { throw MLError(.corruptArtifact, "artifact calibration: \(problem)") }
        self = model
    }

    public var version: String { "tc-" + FNV1a64.hex(of: artifact()) }
}
