import QuorumModel

/// One training job: a walk-forward fold × a hyperparameter candidate × a symbol (see DESIGN.md §5).
public struct TrainingJobSpec: Sendable, Codable, Equatable {
    public var jobID: String
    public var symbol: Symbol
    public var featureSpecVersion: Int
    /// Names of the features in vector order; empty means "f0", "f1", … are used.
    public var featureNames: [String]
    public var trainFrom: Nanos
    public var trainTo: Nanos
    public var validateTo: Nanos
    /// Training rows whose time falls in one of these ranges are left out (the walk-forward embargo after earlier
    /// test windows; empty for an ordinary job).
    public var excluded: [Range<Nanos>]
    /// Label horizon in rows (1 = next bar).
    public var horizon: Int
    /// The family and its hyperparameters.
    public var hyperparameters: ModelHyperparameters
    /// Seeds the family's random draws (the trees' row and column subsampling); the logistic optimiser draws none.
    public var seed: UInt64

    public init(jobID: String, symbol: Symbol, featureSpecVersion: Int, featureNames: [String] = [],
                trainFrom: Nanos, trainTo: Nanos, validateTo: Nanos, excluded: [Range<Nanos>] = [], horizon: Int = 1,
                hyperparameters: ModelHyperparameters = .logistic(LogisticHyperparameters()), seed: UInt64 = 0) {
        self.jobID = jobID
        self.symbol = symbol
        self.featureSpecVersion = featureSpecVersion
        self.featureNames = featureNames
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.validateTo = validateTo
        self.excluded = excluded
        self.horizon = horizon
        self.hyperparameters = hyperparameters
        self.seed = seed
    }
}

/// A finished training run.
public struct TrainingResult: Sendable, Equatable {
    public let jobID: String
    public let model: TrainedModel
    public let trainMetrics: ClassificationMetrics
    public let validationMetrics: ClassificationMetrics
    public let verdict: GateVerdict
    /// Input rows dropped while labelling (no future close / non-finite values).
    public let droppedWithoutFuture: Int
    public let droppedNonFinite: Int
}

extension TrainingResult {
    /// The registry metric that decides which of two models of a symbol is better: the base-rate log loss minus the
    /// validation log loss (how much the model beats always predicting the base rate).
    public static let activationMetric = "log_loss_gain"

    /// The validation figures the model registry records and `training.results` carries; walk-forward selects
    /// candidates by the same `activationMetric`.
    public var registryMetrics: [String: Double] {
        let v = validationMetrics
        var metrics: [String: Double] = [
            "accuracy": v.accuracy, "log_loss": v.logLoss, "brier": v.brier, "base_rate": v.baseRate,
            Self.activationMetric: ValidationGate.baselineLogLoss(baseRate: v.baseRate) - v.logLoss,
            "validation_count": Double(v.count), "train_count": Double(trainMetrics.count),
            "train_accuracy": trainMetrics.accuracy,
        ]
        if let auc = v.auc { metrics["auc"] = auc }
        return metrics
    }
}

/// What `TrainerCore.train` returns: a result (which may still fail the gate) or why no model could be trained.
public enum TrainingOutcome: Sendable, Equatable {
    case trained(TrainingResult)
    case failed(jobID: String, reason: MLError)

    /// The result, when training completed.
    public var result: TrainingResult? {
        if case .trained(let result) = self { return result }
        return nil
    }

    /// The failure, when training could not complete.
    public var failure: MLError? {
        if case .failed(_, let reason) = self { return reason }
        return nil
    }
}

/// The pure core of `quorum-trainer`: job + rows in, outcome out. No I/O, no clock, no randomness, so the same
/// inputs always give the same outcome and a byte-identical model artifact.
///
/// Steps: label the rows (`LabeledDataset.make`), split walk-forward by event time (leaving out the job's excluded
/// ranges), check sizes, fit on the
/// training rows only (scaler included), score both splits, apply the `ValidationGate`.
public struct TrainerCore: Sendable {
    public var gate: ValidationGate
    /// Training rows needed after the split (default 50).
    public var minimumTrainingRows: Int

    public init(gate: ValidationGate = ValidationGate(), minimumTrainingRows: Int = 50) {
        self.gate = gate
        self.minimumTrainingRows = minimumTrainingRows
    }

    public func train(job: TrainingJobSpec, rows: [PriceFeatureRow]) -> TrainingOutcome {
        do {
            return .trained(try trainOrThrow(job: job, rows: rows))
        } catch {
            return .failed(jobID: job.jobID, reason: error)
        }
    }

    private func trainOrThrow(job: TrainingJobSpec, rows: [PriceFeatureRow]) throws(MLError) -> TrainingResult {
        try job.hyperparameters.validate()
        let dataset = try LabeledDataset.make(rows: rows, horizon: job.horizon)
        let names = job.featureNames.isEmpty ? (0..<dataset.width).map { "f\($0)" } : job.featureNames
        guard names.count == dataset.width else {
            throw MLError(.widthMismatch, "job \(job.jobID) names \(names.count) features but the rows have "
                          + "\(dataset.width); the rows and the job must use the same feature spec")
        }
        var (train, validation) = try dataset.walkForward(trainFrom: job.trainFrom, trainTo: job.trainTo,
                                                          validateTo: job.validateTo)
        if !job.excluded.isEmpty {
            train = LabeledDataset(rows: train.rows.filter { row in !job.excluded.contains { $0.contains(row.time) } }, width: train.width)
        }
        guard train.rows.count >= max(minimumTrainingRows, 2) else {
            throw MLError(.tooFewRows, "job \(job.jobID): \(train.rows.count) labelled training rows in "
                          + "[\(job.trainFrom), \(job.trainTo)), need at least \(max(minimumTrainingRows, 2)); "
                          + "widen the training range")
        }
        guard !validation.rows.isEmpty else {
            throw MLError(.tooFewRows, "job \(job.jobID): no labelled validation rows in "
                          + "[\(job.trainTo), \(job.validateTo)); widen the validation range")
        }
        let placeholder = ClassificationMetrics(count: 0, accuracy: 0, logLoss: 0, brier: 0, auc: nil, baseRate: 0)
        // The model with the given metrics (first placeholders, to score with; then the scores).
        let model: (ClassificationMetrics, ClassificationMetrics) -> TrainedModel
        switch job.hyperparameters {
        case .logistic(let h):
            let fit = try LogisticRegression.fit(features: train.features, labels: train.labels, hyperparameters: h)
            let provenance = TrainingProvenance(
                trainFrom: job.trainFrom, trainTo: job.trainTo, validateTo: job.validateTo,
                trainCount: train.rows.count, validationCount: validation.rows.count, horizon: job.horizon,
                seed: job.seed, iterations: fit.iterations, converged: fit.converged)
            model = { trainMetrics, validationMetrics in
                .logistic(LogisticModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names,
                                        weights: fit.weights, bias: fit.bias, scaler: fit.scaler, hyperparameters: h,
                                        provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics))
            }
        case .gbdt(let h):
            let (fit, stopping) = try Self.fitTrees(train, horizon: job.horizon, hyperparameters: h, seed: job.seed)
            let provenance = TrainingProvenance(
                trainFrom: job.trainFrom, trainTo: job.trainTo, validateTo: job.validateTo,
                trainCount: train.rows.count - stopping, validationCount: validation.rows.count, horizon: job.horizon,
                seed: job.seed, iterations: fit.trees.count, converged: true)
            model = { trainMetrics, validationMetrics in
                .gbdt(GBDTModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names, fit: fit,
                                hyperparameters: h, provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics))
            }
        }
        // Score exactly as inference will (same code path), so the recorded metrics are what serving would see.
        let unscored = model(placeholder, placeholder)
        let trainMetrics = try Self.metrics(of: unscored, on: train)
        let validationMetrics = try Self.metrics(of: unscored, on: validation)
        return TrainingResult(jobID: job.jobID, model: model(trainMetrics, validationMetrics), trainMetrics: trainMetrics,
                              validationMetrics: validationMetrics, verdict: gate.evaluate(validation: validationMetrics, converged: unscored.provenance.converged),
                              droppedWithoutFuture: dataset.droppedWithoutFuture,
                              droppedNonFinite: dataset.droppedNonFinite)
    }

    /// Share of the training rows (the latest) that early stopping of the trees watches.
    public static let earlyStoppingShare = 0.2

    /// The trees on the training rows: the latest `earlyStoppingShare` of them (after a purge of `horizon` rows, whose
    /// labels reach into it) is the early-stopping set, the rest the trees' training set, so the job's validation rows
    /// stay unseen until they score the model. Without early stopping, every training row trains. Returns the fit and
    /// how many rows did not train the trees.
    static func fitTrees(_ train: LabeledDataset, horizon: Int, hyperparameters h: GBDTHyperparameters,
                         seed: UInt64) throws(MLError) -> (GBDTFit, notTraining: Int) {
        let rows = train.rows
        let (fit, stop) = earlyStoppingSplit(rows: rows.count, horizon: horizon, hyperparameters: h)
        guard !stop.isEmpty else {
            return (try GradientBoostedTrees.fit(features: train.features, labels: train.labels, hyperparameters: h, seed: seed), 0)
        }
        let fitRows = rows[fit], stopRows = rows[stop]
        let trees = try GradientBoostedTrees.fit(features: fitRows.map(\.features), labels: fitRows.map(\.label),
                                                 validation: (stopRows.map(\.features), stopRows.map(\.label)), hyperparameters: h, seed: seed)
        return (trees, rows.count - fitRows.count)
    }

    /// Which of `rows` time-ordered training rows train the trees and which watch early stopping: the latest
    /// `earlyStoppingShare` watch, `horizon` rows before them are purged. Without early stopping, all train.
    public static func earlyStoppingSplit(rows: Int, horizon: Int, hyperparameters h: GBDTHyperparameters) -> (fit: Range<Int>, stop: Range<Int>) {
        let stopAt = h.earlyStoppingRounds > 0 ? rows - Int(Double(rows) * earlyStoppingShare) : rows
        guard stopAt < rows else { return (0..<rows, rows..<rows) }
        return (0..<max(stopAt - horizon, 0), stopAt..<rows)
    }

    private static func metrics(of model: TrainedModel, on data: LabeledDataset) throws(MLError) -> ClassificationMetrics {
        var probabilities: [Double] = []
        probabilities.reserveCapacity(data.rows.count)
        for row in data.rows { probabilities.append(try model.probabilityUp(row.features)) }
        return ClassificationMetrics.compute(probabilities: probabilities, labels: data.labels)
    }
}
