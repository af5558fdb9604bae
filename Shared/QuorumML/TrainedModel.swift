import QuorumModel

/// The model families Quorum trains.
public enum ModelFamily: String, Sendable, Codable, CaseIterable {
    /// `LogisticModel`: L2-regularised logistic regression on standardised features.
    case logistic
    /// `GBDTModel`: histogram gradient-boosted trees (`GradientBoostedTrees`).
    case gbdt
    /// `MLPModel`: a multilayer perceptron (`NeuralNetwork`).
    case mlp
    /// `EnsembleModel`: members of the other families blended by a logistic regression on held-out rows.
    case ensemble
    /// `TCNModel`: a temporal convolutional network over the last K feature vectors (`TemporalConvNet`).
    case tcn

    /// The name in `training.jobs` records' `model_kind` and the registry's `model_kind` column.
    public var kind: String {
        switch self {
        case .logistic: "logistic-regression"
        case .gbdt: "gbdt"
        case .mlp: "mlp"
        case .ensemble: "ensemble"
        case .tcn: "tcn"
        }
    }

    /// The family of a `model_kind` (or of its config name).
    public init?(kind: String) {
        guard let family = Self.allCases.first(where: { $0.kind == kind || $0.rawValue == kind }) else { return nil }
        self = family
    }
}

/// A trained model of any family: what the trainer registers, inference scores with and backtests load. Every
/// family scores a raw feature vector to P(up over the label horizon), serialises to a versioned artifact
/// (`ModelArtifact`) and records its lineage.
public enum TrainedModel: Sendable, Equatable {
    case logistic(LogisticModel)
    case gbdt(GBDTModel)
    case mlp(MLPModel)
    case ensemble(EnsembleModel)
    case tcn(TCNModel)

    /// Loads an artifact of any family (by its `format`), checking it as that family's loader does.
    public init(artifact bytes: [UInt8]) throws(MLError) {
        switch try ModelArtifact.format(of: bytes) {
        case LogisticModel.artifactFormat: self = .logistic(try LogisticModel(artifact: bytes))
        case GBDTModel.artifactFormat: self = .gbdt(try GBDTModel(artifact: bytes))
        case MLPModel.artifactFormat: self = .mlp(try MLPModel(artifact: bytes))
        case EnsembleModel.artifactFormat: self = .ensemble(try EnsembleModel(artifact: bytes))
        case TCNModel.artifactFormat: self = .tcn(try TCNModel(artifact: bytes))
        case let other:
            throw MLError(.corruptArtifact, "artifact format \"\(other)\" is not a model family this build reads "
                          + "(\(LogisticModel.artifactFormat), \(GBDTModel.artifactFormat), \(MLPModel.artifactFormat), "
                          + "\(EnsembleModel.artifactFormat), \(TCNModel.artifactFormat))")
        }
    }

    public var family: ModelFamily {
        switch self {
        case .logistic: .logistic
        case .gbdt: .gbdt
        case .mlp: .mlp
        case .ensemble: .ensemble
        case .tcn: .tcn
        }
    }

    /// Feature vectors per input: K for a sequence model (its input is the symbol's last K vectors concatenated, oldest
    /// first), 1 for the others.
    public var sequenceLength: Int {
        if case .tcn(let m) = self { m.sequenceLength } else { 1 }
    }

    /// The logistic model, if it is one.
    public var logistic: LogisticModel? {
        if case .logistic(let m) = self { m } else { nil }
    }

    /// The trees, if it is a boosted model.
    public var gbdt: GBDTModel? {
        if case .gbdt(let m) = self { m } else { nil }
    }

    /// The network, if it is one.
    public var mlp: MLPModel? {
        if case .mlp(let m) = self { m } else { nil }
    }

    public func artifact() -> [UInt8] {
        switch self {
        case .logistic(let m): m.artifact()
        case .gbdt(let m): m.artifact()
        case .mlp(let m): m.artifact()
        case .ensemble(let m): m.artifact()
        case .tcn(let m): m.artifact()
        }
    }

    /// FNV-1a 64-bit digest of the artifact bytes.
    public var contentDigest: String { FNV1a64.hex(of: artifact()) }

    /// `lr-<digest>` or `gb-<digest>` of the artifact.
    public var version: String {
        switch self {
        case .logistic(let m): m.version
        case .gbdt(let m): m.version
        case .mlp(let m): m.version
        case .ensemble(let m): m.version
        case .tcn(let m): m.version
        }
    }

    public var symbol: Symbol {
        switch self {
        case .logistic(let m): m.symbol
        case .gbdt(let m): m.symbol
        case .mlp(let m): m.symbol
        case .ensemble(let m): m.symbol
        case .tcn(let m): m.symbol
        }
    }

    public var featureSpecVersion: Int {
        switch self {
        case .logistic(let m): m.featureSpecVersion
        case .gbdt(let m): m.featureSpecVersion
        case .mlp(let m): m.featureSpecVersion
        case .ensemble(let m): m.featureSpecVersion
        case .tcn(let m): m.featureSpecVersion
        }
    }

    public var featureNames: [String] {
        switch self {
        case .logistic(let m): m.featureNames
        case .gbdt(let m): m.featureNames
        case .mlp(let m): m.featureNames
        case .ensemble(let m): m.featureNames
        case .tcn(let m): m.featureNames
        }
    }

    public var provenance: TrainingProvenance {
        switch self {
        case .logistic(let m): m.provenance
        case .gbdt(let m): m.provenance
        case .mlp(let m): m.provenance
        case .ensemble(let m): m.provenance
        case .tcn(let m): m.provenance
        }
    }

    public var trainMetrics: ClassificationMetrics {
        switch self {
        case .logistic(let m): m.trainMetrics
        case .gbdt(let m): m.trainMetrics
        case .mlp(let m): m.trainMetrics
        case .ensemble(let m): m.trainMetrics
        case .tcn(let m): m.trainMetrics
        }
    }

    public var validationMetrics: ClassificationMetrics {
        switch self {
        case .logistic(let m): m.validationMetrics
        case .gbdt(let m): m.validationMetrics
        case .mlp(let m): m.validationMetrics
        case .ensemble(let m): m.validationMetrics
        case .tcn(let m): m.validationMetrics
        }
    }

    public var hyperparameters: ModelHyperparameters {
        switch self {
        case .logistic(let m): .logistic(m.hyperparameters)
        case .gbdt(let m): .gbdt(m.hyperparameters)
        case .mlp(let m): .mlp(m.hyperparameters)
        case .ensemble(let m): .ensemble(m.hyperparameters)
        case .tcn(let m): .tcn(m.hyperparameters)
        }
    }

    /// The calibration applied to the raw probability (`.none` when there is none).
    public var calibration: Calibration {
        switch self {
        case .logistic(let m): m.calibration ?? .none
        case .gbdt(let m): m.calibration ?? .none
        case .mlp(let m): m.calibration ?? .none
        case .tcn(let m): m.calibration ?? .none
        case .ensemble: .none
        }
    }

    /// Per feature, how much the model leans on it: |weight| on the standardised feature (logistic), the splits'
    /// loss reduction (trees), the summed |weight| of the first layer on the standardised feature (network).
    public var importance: [Double] {
        switch self {
        case .logistic(let m): m.weights.map(abs)
        case .gbdt(let m): m.gainImportance
        case .mlp(let m): m.inputImportance
        case .tcn(let m): m.inputImportance
        case .ensemble(let m): m.members.reduce(into: [Double](repeating: 0, count: m.width)) { total, member in
            let importance = member.importance, sum = importance.reduce(0, +)
            for j in total.indices where sum > 0 { total[j] += importance[j] / sum / Double(m.members.count) }
        }
        }
    }

    /// P(close goes up over the horizon | raw features): one vector, or for a sequence model the last
    /// `sequenceLength` vectors concatenated, oldest first. Throws `.widthMismatch` or `.nonFiniteValue`.
    public func probabilityUp(_ features: [Double]) throws(MLError) -> Double {
        switch self {
        case .tcn(let m): try m.probabilityUp(features)
        case .logistic(let m): try m.probabilityUp(features)
        case .gbdt(let m): try m.probabilityUp(features)
        case .mlp(let m): try m.probabilityUp(features)
        case .ensemble(let m): try m.probabilityUp(features)
        }
    }

    /// The probability of an up move and the confidence in [0, 1]: the margin |2p − 1| (0 = coin flip, 1 = certain),
    /// for an ensemble less twice its members' spread (members that disagree make a less confident prediction).
    public func score(_ features: [Double]) throws(MLError) -> (probUp: Double, confidence: Double) {
        if case .ensemble(let m) = self {
            let (p, spread) = try m.predict(features)
            return (p, max(0, abs(2 * p - 1) - 2 * spread))
        }
        let p = try probabilityUp(features)
        return (p, abs(2 * p - 1))
    }
}

/// One family's hyperparameters: what a training job carries.
public enum ModelHyperparameters: Sendable, Codable, Equatable {
    case logistic(LogisticHyperparameters)
    case gbdt(GBDTHyperparameters)
    case mlp(MLPHyperparameters)
    case ensemble(EnsembleHyperparameters)
    case tcn(TCNHyperparameters)

    /// Feature vectors per training row and per prediction (see `TrainedModel.sequenceLength`).
    public var sequenceLength: Int {
        if case .tcn(let h) = self { h.sequenceLength } else { 1 }
    }

    public var family: ModelFamily {
        switch self {
        case .tcn: .tcn
        case .logistic: .logistic
        case .gbdt: .gbdt
        case .mlp: .mlp
        case .ensemble: .ensemble
        }
    }

    public func validate() throws(MLError) {
        switch self {
        case .logistic(let h): try h.validate()
        case .gbdt(let h): try h.validate()
        case .mlp(let h): try h.validate()
        case .ensemble(let h): try h.validate()
        case .tcn(let h): try h.validate()
        }
    }

    /// The family and the hyperparameters that most tell candidates apart, e.g. "logistic l2=0.1" or
    /// "gbdt leaves=31 rate=0.05 rounds=200".
    public var summary: String {
        func n(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(format: "%.3g", x) }
        switch self {
        case .logistic(let h): return "logistic l2=\(n(h.l2))" + (h.classWeighting == .balanced ? " balanced" : "")
        case .gbdt(let h):
            return "gbdt leaves=\(h.maxLeaves) rate=\(n(h.learningRate)) rounds=\(h.rounds)"
                + (h.rowSubsample < 1 ? " rows=\(n(h.rowSubsample))" : "") + (h.columnSubsample < 1 ? " columns=\(n(h.columnSubsample))" : "")
        case .mlp(let h):
            return "mlp \(h.hidden)" + (h.hidden2 > 0 ? "x\(h.hidden2)" : "") + " rate=\(n(h.learningRate)) dropout=\(n(h.dropout))"
        case .ensemble(let h):
            return "ensemble of " + h.members.map(\.family.rawValue).joined(separator: "+")
        case .tcn(let h):
            return "tcn k=\(h.sequenceLength) \(h.layers)x\(h.channels) rate=\(n(h.learningRate))"
        }
    }

    /// The family's defaults.
    public static func defaults(_ family: ModelFamily) -> ModelHyperparameters {
        switch family {
        case .logistic: .logistic(LogisticHyperparameters())
        case .gbdt: .gbdt(GBDTHyperparameters())
        case .mlp: .mlp(MLPHyperparameters())
        case .ensemble: .ensemble(EnsembleHyperparameters())
        case .tcn: .tcn(TCNHyperparameters())
        }
    }

    /// Every hyperparameter by its wire and config name (snake_case), as numbers: the `hyperparameters` map of a
    /// `training.jobs` record and a walk-forward candidate.
    public var values: [String: Double] {
        switch self {
        case .logistic(let h):
            ["l2": h.l2, "learning_rate": h.learningRate, "max_iterations": Double(h.maxIterations), "tolerance": h.tolerance,
             "balanced": h.classWeighting == .balanced ? 1 : 0, "calibrate": h.calibrate ? 1 : 0]
        case .gbdt(let h):
            ["rounds": Double(h.rounds), "learning_rate": h.learningRate, "max_leaves": Double(h.maxLeaves), "max_depth": Double(h.maxDepth),
             "min_child_samples": Double(h.minChildSamples), "min_child_hessian": h.minChildHessian, "l1": h.l1, "l2": h.l2,
             "min_split_gain": h.minSplitGain, "row_subsample": h.rowSubsample, "column_subsample": h.columnSubsample,
             "max_bins": Double(h.maxBins), "early_stopping_rounds": Double(h.earlyStoppingRounds), "calibrate": h.calibrate ? 1 : 0]
        case .mlp(let h):
            ["hidden": Double(h.hidden), "hidden2": Double(h.hidden2), "learning_rate": h.learningRate, "weight_decay": h.weightDecay,
             "dropout": h.dropout, "epochs": Double(h.epochs), "batch_size": Double(h.batchSize),
             "early_stopping_rounds": Double(h.earlyStoppingRounds), "calibrate": h.calibrate ? 1 : 0]
        case .tcn(let h):
            ["sequence_length": Double(h.sequenceLength), "channels": Double(h.channels), "layers": Double(h.layers),
             "learning_rate": h.learningRate, "weight_decay": h.weightDecay, "epochs": Double(h.epochs), "batch_size": Double(h.batchSize),
             "early_stopping_rounds": Double(h.earlyStoppingRounds), "calibrate": h.calibrate ? 1 : 0]
        case .ensemble(let h):
            // Every member family's flag and names; an absent member's names show its defaults.
            EnsembleHyperparameters.memberFamilies.reduce(into: ["l2": h.l2]) { values, family in
                let member = h.members.first { $0.family == family }
                values[family.rawValue] = member == nil ? 0 : 1
                for (name, value) in (member ?? Self.defaults(family)).values { values[family.rawValue + "." + name] = value }
            }
        }
    }

    /// The family's hyperparameters from names and numbers (missing ones take the defaults). Throws for a name the
    /// family does not have (with a did-you-mean), a whole-number parameter given a fraction, or an invalid value.
    public init(family: ModelFamily, values: [String: Double]) throws(MLError) {
        let known = Self.defaults(family).values
        for name in values.keys.sorted() where known[name] == nil {
            let hint = NameSuggestion.closest(to: name, among: known.keys.sorted()).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw MLError(.invalidHyperparameter, "\(family.rawValue) has no hyperparameter \"\(name)\"\(hint); "
                          + "it has \(known.keys.sorted().joined(separator: ", "))")
        }
        func number(_ name: String) -> Double { values[name] ?? known[name]! }
        func whole(_ name: String) throws(MLError) -> Int {
            let v = number(name)
            guard v.isFinite, v == v.rounded(), abs(v) < 1e15 else {
                throw MLError(.invalidHyperparameter, "\(family.rawValue) hyperparameter \(name) = \(v) must be a whole number")
            }
            return Int(v)
        }
        switch family {
        case .logistic:
            self = .logistic(LogisticHyperparameters(l2: number("l2"), learningRate: number("learning_rate"),
                                                     maxIterations: try whole("max_iterations"), tolerance: number("tolerance"),
                                                     classWeighting: number("balanced") > 0 ? .balanced : .none,
                                                     calibrate: number("calibrate") > 0))
        case .gbdt:
            self = .gbdt(GBDTHyperparameters(
                rounds: try whole("rounds"), learningRate: number("learning_rate"), maxLeaves: try whole("max_leaves"),
                maxDepth: try whole("max_depth"), minChildSamples: try whole("min_child_samples"),
                minChildHessian: number("min_child_hessian"), l1: number("l1"), l2: number("l2"), minSplitGain: number("min_split_gain"),
                rowSubsample: number("row_subsample"), columnSubsample: number("column_subsample"), maxBins: try whole("max_bins"),
                earlyStoppingRounds: try whole("early_stopping_rounds"), calibrate: number("calibrate") > 0))
        case .mlp:
            self = .mlp(MLPHyperparameters(
                hidden: try whole("hidden"), hidden2: try whole("hidden2"), learningRate: number("learning_rate"),
                weightDecay: number("weight_decay"), dropout: number("dropout"), epochs: try whole("epochs"),
                batchSize: try whole("batch_size"), earlyStoppingRounds: try whole("early_stopping_rounds"), calibrate: number("calibrate") > 0))
        case .tcn:
            self = .tcn(TCNHyperparameters(
                sequenceLength: try whole("sequence_length"), channels: try whole("channels"), layers: try whole("layers"),
                learningRate: number("learning_rate"), weightDecay: number("weight_decay"), epochs: try whole("epochs"),
                batchSize: try whole("batch_size"), earlyStoppingRounds: try whole("early_stopping_rounds"), calibrate: number("calibrate") > 0))
        case .ensemble:
            var members: [ModelHyperparameters] = []
            for member in EnsembleHyperparameters.memberFamilies where number(member.rawValue) > 0 {
                let prefix = member.rawValue + "."
                let own = Dictionary(uniqueKeysWithValues: values.compactMap { key, value in
                    key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
                })
                do throws(MLError) {
                    members.append(try ModelHyperparameters(family: member, values: own))
                } catch {
                    throw MLError(.invalidHyperparameter, "ensemble member \(member.rawValue): \(error.message)")
                }
            }
            self = .ensemble(EnsembleHyperparameters(members: members, l2: number("l2")))
        }
        try validate()
    }
}
