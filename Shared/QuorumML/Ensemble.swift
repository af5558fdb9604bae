import Foundation
import QuorumModel

/// Hyperparameters of a stacked ensemble: its members (two or more of the other families, each with its own
/// hyperparameters) and the L2 of the logistic regression that blends their log-odds.
///
/// By name (the wire's and the configs' form): `logistic`, `gbdt`, `mlp` (1 to include the family, 0 to leave it
/// out; all three by default), `l2` (the blend's, 0.1), and each member's own names prefixed by its family:
/// `gbdt.max_leaves`, `mlp.hidden`, `logistic.l2`, …
public struct EnsembleHyperparameters: Sendable, Codable, Equatable {
    public var members: [ModelHyperparameters]
    public var l2: Double

    public static let memberFamilies: [ModelFamily] = [.logistic, .gbdt, .mlp]

    public init(members: [ModelHyperparameters] = memberFamilies.map(ModelHyperparameters.defaults), l2: Double = 0.1) {
        self.members = members
        self.l2 = l2
    }

    public func validate() throws(MLError) {
        guard members.count >= 2 else {
            throw MLError(.invalidHyperparameter, "an ensemble needs at least two members, has \(members.count)")
        }
        guard !members.contains(where: { $0.family == .ensemble }) else {
            throw MLError(.invalidHyperparameter, "an ensemble's members are logistic, gbdt or mlp models, not ensembles")
        }
        guard l2.isFinite, l2 >= 0 else { throw MLError(.invalidHyperparameter, "l2 = \(l2) is invalid: use a finite value ≥ 0") }
        for member in members { try member.validate() }
    }
}

/// A stacked ensemble: member models trained on the same rows, blended by a logistic regression fitted on their
/// log-odds over held-out rows none of them trained on (out-of-fold predictions).
///
/// Scoring: p = σ(w · standardise(logit(p₁) … logit(pₖ)) + b). The members' spread (the standard deviation of their
/// probabilities) is the prediction's uncertainty: `TrainedModel.score` lowers the confidence by it.
public struct EnsembleModel: Sendable, Codable, Equatable {
    public let symbol: Symbol
    public let featureSpecVersion: Int
    public let featureNames: [String]
    public let members: [TrainedModel]
    /// The blend, in standardised member log-odds.
    public let weights: [Double]
    public let bias: Double
    public let scaler: FeatureScaler
    public let hyperparameters: EnsembleHyperparameters
    public let provenance: TrainingProvenance
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics

    public init(symbol: Symbol, featureSpecVersion: Int, featureNames: [String], members: [TrainedModel], blend: LogisticFit,
                hyperparameters: EnsembleHyperparameters, provenance: TrainingProvenance, trainMetrics: ClassificationMetrics,
                validationMetrics: ClassificationMetrics) {
        self.symbol = symbol
        self.featureSpecVersion = featureSpecVersion
        self.featureNames = featureNames
        self.members = members
        weights = blend.weights
        bias = blend.bias
        scaler = blend.scaler
        self.hyperparameters = hyperparameters
        self.provenance = provenance
        self.trainMetrics = trainMetrics
        self.validationMetrics = validationMetrics
    }

    private enum CodingKeys: String, CodingKey {
        case symbol, featureSpecVersion, featureNames, members, weights, bias, scaler, hyperparameters, provenance, trainMetrics, validationMetrics
    }

    /// Members are stored as their own artifacts (JSON text), and loaded (and checked) as such.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decode(Symbol.self, forKey: .symbol)
        featureSpecVersion = try c.decode(Int.self, forKey: .featureSpecVersion)
        featureNames = try c.decode([String].self, forKey: .featureNames)
        members = try c.decode([String].self, forKey: .members).map { try TrainedModel(artifact: Array($0.utf8)) }
        weights = try c.decode([Double].self, forKey: .weights)
        bias = try c.decode(Double.self, forKey: .bias)
        scaler = try c.decode(FeatureScaler.self, forKey: .scaler)
        hyperparameters = try c.decode(EnsembleHyperparameters.self, forKey: .hyperparameters)
        provenance = try c.decode(TrainingProvenance.self, forKey: .provenance)
        trainMetrics = try c.decode(ClassificationMetrics.self, forKey: .trainMetrics)
        validationMetrics = try c.decode(ClassificationMetrics.self, forKey: .validationMetrics)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(featureSpecVersion, forKey: .featureSpecVersion)
        try c.encode(featureNames, forKey: .featureNames)
        try c.encode(members.map { String(decoding: $0.artifact(), as: UTF8.self) }, forKey: .members)
        try c.encode(weights, forKey: .weights)
        try c.encode(bias, forKey: .bias)
        try c.encode(scaler, forKey: .scaler)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(provenance, forKey: .provenance)
        try c.encode(trainMetrics, forKey: .trainMetrics)
        try c.encode(validationMetrics, forKey: .validationMetrics)
    }

    public var width: Int { featureNames.count }

    /// The members' probabilities, the blended probability and the members' spread.
    public func predict(_ features: [Double]) throws(MLError) -> (probUp: Double, spread: Double) {
        try ModelInput.check(features, width: width, names: featureNames, model: "\(symbol) ensemble (feature spec v\(featureSpecVersion))")
        var ps: [Double] = []
        for member in members { ps.append(try member.probabilityUp(features)) }
        let p = sigmoid(Vector.dot(weights, scaler.transform(ps.map(Calibration.logit))) + bias)
        let mean = ps.reduce(0, +) / Double(ps.count)
        let spread = (ps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ps.count)).squareRoot()
        return (p, spread)
    }

    public func probabilityUp(_ features: [Double]) throws(MLError) -> Double { try predict(features).probUp }

    public static let artifactFormat = "quorum.ml.ensemble"
    public static let artifactFormatVersion = 1

    public func artifact() -> [UInt8] { ModelArtifact.encode(self, format: Self.artifactFormat, version: Self.artifactFormatVersion) }

    /// Loads and checks an artifact: every member as its own family's loader does, the members' features and spec
    /// against the ensemble's, and the blend's widths and numbers. Throws `.corruptArtifact` saying what is wrong.
    public init(artifact bytes: [UInt8]) throws(MLError) {
        let model = try ModelArtifact.decode(EnsembleModel.self, from: bytes, format: Self.artifactFormat, version: Self.artifactFormatVersion)
        let k = model.members.count
        guard k >= 2, model.weights.count == k, model.scaler.means.count == k, model.scaler.stds.count == k else {
            throw MLError(.corruptArtifact, "artifact blend widths disagree with its \(k) members")
        }
        guard (model.weights + model.scaler.means + [model.bias]).allSatisfy(\.isFinite), model.scaler.stds.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw MLError(.corruptArtifact, "artifact blend has a non-finite weight or a std that is not > 0")
        }
        guard model.members.allSatisfy({ $0.featureNames == model.featureNames && $0.featureSpecVersion == model.featureSpecVersion }) else {
            throw MLError(.corruptArtifact, "artifact members were trained on other features than the ensemble's")
        }
        self = model
    }

    public var version: String { "en-" + FNV1a64.hex(of: artifact()) }
}
