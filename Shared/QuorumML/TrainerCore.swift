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
    /// How well the validation probabilities match the outcomes (10 bins, expected calibration error).
    public let validationReliability: Reliability
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
            "train_accuracy": trainMetrics.accuracy, "ece": validationReliability.ece,
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
        let (dataset, train, validation, names) = try prepare(job: job, rows: rows)
        let placeholder = ClassificationMetrics(count: 0, accuracy: 0, logLoss: 0, brier: 0, auc: nil, baseRate: 0)
        // The model with the given metrics (first placeholders, to score with; then the scores).
        let model = try Self.fit(job.hyperparameters, on: train, job: job, names: names, validationCount: validation.rows.count)
        // Score exactly as inference will (same code path), so the recorded metrics are what serving would see.
        let unscored = model(placeholder, placeholder)
        let (trainMetrics, _) = try Self.metrics(of: unscored, on: train)
        let (validationMetrics, reliability) = try Self.metrics(of: unscored, on: validation)
        return TrainingResult(jobID: job.jobID, model: model(trainMetrics, validationMetrics), trainMetrics: trainMetrics,
                              validationMetrics: validationMetrics, validationReliability: reliability,
                              verdict: gate.evaluate(validation: validationMetrics, converged: unscored.provenance.converged),
                              droppedWithoutFuture: dataset.droppedWithoutFuture,
                              droppedNonFinite: dataset.droppedNonFinite)
    }

    /// The result `train` gives for a model of `job` trained elsewhere (a trainer worker, from the same rows): the model
    /// scored here on the job's training and validation rows, and this core's gate. The same as `train`'s when the model
    /// is the one `train` would fit.
    public func result(of model: TrainedModel, job: TrainingJobSpec, rows: [PriceFeatureRow]) throws(MLError) -> TrainingResult {
        let (dataset, train, validation, _) = try prepare(job: job, rows: rows)
        let (trainMetrics, _) = try Self.metrics(of: model, on: train)
        let (validationMetrics, reliability) = try Self.metrics(of: model, on: validation)
        return TrainingResult(jobID: job.jobID, model: model, trainMetrics: trainMetrics, validationMetrics: validationMetrics,
                              validationReliability: reliability,
                              verdict: gate.evaluate(validation: validationMetrics, converged: model.provenance.converged),
                              droppedWithoutFuture: dataset.droppedWithoutFuture, droppedNonFinite: dataset.droppedNonFinite)
    }

    /// A job's labelled rows (windows for a sequence model), split walk-forward by event time with the excluded ranges
    /// left out, checked for size; and the feature names.
    private func prepare(job: TrainingJobSpec, rows: [PriceFeatureRow]) throws(MLError)
        -> (dataset: LabeledDataset, train: LabeledDataset, validation: LabeledDataset, names: [String]) {
        try job.hyperparameters.validate()
        let k = job.hyperparameters.sequenceLength
        guard rows.count >= k else {
            throw MLError(.tooFewRows, "job \(job.jobID): a sequence of \(k) feature vectors needs at least \(k) rows, there are "
                          + "\(rows.count); lower sequence_length or widen the data")
        }
        let dataset = try LabeledDataset.make(rows: k > 1 ? Self.windows(rows, length: k) : rows, horizon: job.horizon)
        let stepWidth = dataset.width / k
        let names = job.featureNames.isEmpty ? (0..<stepWidth).map { "f\($0)" } : job.featureNames
        guard names.count * k == dataset.width else {
            throw MLError(.widthMismatch, "job \(job.jobID) names \(names.count) features but the rows have "
                          + "\(stepWidth); the rows and the job must use the same feature spec")
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
        return (dataset, train, validation, names)
    }

    /// Fits a model of `hyperparameters`' family on `train` (the family's own held-out rows split off inside), for
    /// `job`'s symbol, spec, ranges and seed: the model given its train and validation metrics.
    static func fit(_ hyperparameters: ModelHyperparameters, on train: LabeledDataset, job: TrainingJobSpec, names: [String],
                    validationCount: Int) throws(MLError) -> (ClassificationMetrics, ClassificationMetrics) -> TrainedModel {
        let model: (ClassificationMetrics, ClassificationMetrics) -> TrainedModel
        switch hyperparameters {
        case .logistic(let h):
            // With `calibrate`, the latest rows are held out of the fit to calibrate on.
            let (fitRange, held) = heldOutSplit(rows: train.rows.count, horizon: job.horizon, if: h.calibrate)
            let fitRows = train.rows[fitRange]
            let fit = try LogisticRegression.fit(features: fitRows.map(\.features), labels: fitRows.map(\.label), hyperparameters: h)
            let heldRows = train.rows[held]
            let calibration = calibrate(h.calibrate, on: heldRows) { sigmoid(Vector.dot(fit.weights, fit.scaler.transform($0)) + fit.bias) }
            let provenance = TrainingProvenance(job, trainCount: fitRows.count, validationCount: validationCount,
                                                iterations: fit.iterations, converged: fit.converged)
            model = { trainMetrics, validationMetrics in
                .logistic(LogisticModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names,
                                        weights: fit.weights, bias: fit.bias, scaler: fit.scaler, hyperparameters: h,
                                        provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics,
                                        calibration: calibration))
            }
        case .gbdt(let h):
            // The latest training rows watch early stopping (and calibrate), the rest grow the trees.
            let (fitRange, stop) = earlyStoppingSplit(rows: train.rows.count, horizon: job.horizon, hyperparameters: h)
            let fitRows = train.rows[fitRange], stopRows = train.rows[stop]
            let fit = try GradientBoostedTrees.fit(features: fitRows.map(\.features), labels: fitRows.map(\.label),
                                                   validation: stop.isEmpty ? nil : (stopRows.map(\.features), stopRows.map(\.label)),
                                                   hyperparameters: h, seed: job.seed)
            let calibration = calibrate(h.calibrate, on: stopRows) { x in x.withUnsafeBufferPointer { sigmoid(fit.logOdds($0.baseAddress!)) } }
            let provenance = TrainingProvenance(job, trainCount: fitRows.count, validationCount: validationCount,
                                                iterations: fit.trees.count, converged: true)
            model = { trainMetrics, validationMetrics in
                .gbdt(GBDTModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names, fit: fit,
                                hyperparameters: h, provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics,
                                calibration: calibration))
            }
        case .mlp(let h):
            // As for the trees: the latest training rows watch early stopping (and calibrate), the rest train.
            let (fitRange, held) = heldOutSplit(rows: train.rows.count, horizon: job.horizon, if: h.earlyStoppingRounds > 0)
            let fitRows = train.rows[fitRange], heldRows = train.rows[held]
            let fit = try NeuralNetwork.fit(features: fitRows.map(\.features), labels: fitRows.map(\.label),
                                            validation: held.isEmpty ? nil : (heldRows.map(\.features), heldRows.map(\.label)),
                                            hyperparameters: h, seed: job.seed)
            let calibration = calibrate(h.calibrate, on: heldRows) { sigmoid(fit.logOdds($0)) }
            let provenance = TrainingProvenance(job, trainCount: fitRows.count, validationCount: validationCount,
                                                iterations: fit.bestEpoch + 1, converged: true)
            model = { trainMetrics, validationMetrics in
                .mlp(MLPModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names, fit: fit,
                              hyperparameters: h, provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics,
                              calibration: calibration))
            }
        case .tcn(let h):
            // As for the MLP: the latest training windows watch early stopping (and calibrate), the rest train.
            let (fitRange, held) = heldOutSplit(rows: train.rows.count, horizon: job.horizon, if: h.earlyStoppingRounds > 0)
            let fitRows = train.rows[fitRange], heldRows = train.rows[held]
            let fit = try TemporalConvNet.fit(features: fitRows.map(\.features), labels: fitRows.map(\.label), width: names.count,
                                              validation: held.isEmpty ? nil : (heldRows.map(\.features), heldRows.map(\.label)),
                                              hyperparameters: h, seed: job.seed)
            let calibration = calibrate(h.calibrate, on: heldRows) { sigmoid(fit.logOdds($0)) }
            let provenance = TrainingProvenance(job, trainCount: fitRows.count, validationCount: validationCount,
                                                iterations: fit.bestEpoch + 1, converged: true)
            model = { trainMetrics, validationMetrics in
                .tcn(TCNModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names, fit: fit,
                              hyperparameters: h, provenance: provenance, trainMetrics: trainMetrics, validationMetrics: validationMetrics,
                              calibration: calibration))
            }
        case .ensemble(let h):
            // Members fit on the earlier rows (each with its own early stopping and calibration inside them); the
            // blend learns on the latest rows, which no member saw: out-of-fold predictions.
            let (fitRange, held) = heldOutSplit(rows: train.rows.count, horizon: job.horizon)
            let fitRows = LabeledDataset(rows: Array(train.rows[fitRange]), width: train.width), heldRows = train.rows[held]
            guard heldRows.count >= 20, Set(heldRows.map(\.label)).count == 2 else {
                throw MLError(.tooFewRows, "job \(job.jobID): the ensemble's blend needs held-out rows of both classes "
                              + "(\(heldRows.count) held out); widen the training range")
            }
            let placeholder = ClassificationMetrics(count: 0, accuracy: 0, logLoss: 0, brier: 0, auc: nil, baseRate: 0)
            var members: [TrainedModel] = []
            for member in h.members {
                members.append(try fit(member, on: fitRows, job: job, names: names, validationCount: 0)(placeholder, placeholder))
            }
            var logits: [[Double]] = []
            for row in heldRows {
                var z: [Double] = []
                for member in members { z.append(Calibration.logit(try member.probabilityUp(row.features))) }
                logits.append(z)
            }
            let blend = try LogisticRegression.fit(features: logits, labels: heldRows.map(\.label),
                                                   hyperparameters: LogisticHyperparameters(l2: h.l2))
            let provenance = TrainingProvenance(job, trainCount: fitRows.rows.count, validationCount: validationCount,
                                                iterations: blend.iterations, converged: blend.converged && members.allSatisfy(\.provenance.converged))
            model = { trainMetrics, validationMetrics in
                .ensemble(EnsembleModel(symbol: job.symbol, featureSpecVersion: job.featureSpecVersion, featureNames: names, members: members,
                                        blend: blend, hyperparameters: h, provenance: provenance, trainMetrics: trainMetrics,
                                        validationMetrics: validationMetrics))
            }
        }
        return model
    }

    /// The input rows of a sequence model: row i (from the `length`-th on) with the features of rows i − length + 1 … i
    /// concatenated, oldest first — what inference gives it from the symbol's last `length` vectors. A window with a
    /// non-finite value is dropped when the rows are labelled, as a row with one is.
    public static func windows(_ rows: [PriceFeatureRow], length k: Int) -> [PriceFeatureRow] {
        guard k > 1, rows.count >= k else { return k > 1 ? [] : rows }
        return (k - 1..<rows.count).map { i in
            var features: [Double] = []
            features.reserveCapacity(k * rows[i].features.count)
            for j in (i - k + 1)...i { features.append(contentsOf: rows[j].features) }
            return (time: rows[i].time, features: features, close: rows[i].close)
        }
    }

    /// The calibration chosen on held-out rows (`Calibration.choose`) for the raw probability `p`; none when not
    /// asked for or without held-out rows.
    static func calibrate(_ enabled: Bool, on rows: ArraySlice<LabeledRow>, _ p: ([Double]) -> Double) -> Calibration {
        guard enabled, !rows.isEmpty else { return .none }
        return Calibration.choose(probabilities: rows.map { p($0.features) }, labels: rows.map(\.label)).calibration
    }

    /// Share of the training rows (the latest) held out of the fit: the trees' early-stopping rows, the rows a model
    /// is calibrated on.
    public static let earlyStoppingShare = 0.2

    /// The latest `earlyStoppingShare` of `rows` time-ordered training rows are held out; the `horizon` rows before
    /// them are purged (their labels reach into the held-out rows); the rest fit. So the job's validation rows stay
    /// unseen until they score the model.
    public static func heldOutSplit(rows: Int, horizon: Int) -> (fit: Range<Int>, held: Range<Int>) {
        let heldAt = rows - Int(Double(rows) * earlyStoppingShare)
        guard heldAt < rows else { return (0..<rows, rows..<rows) }
        return (0..<max(heldAt - horizon, 0), heldAt..<rows)
    }

    /// `heldOutSplit` when `enabled` (a family's early stopping or calibration wants held-out rows), else every row fits.
    public static func heldOutSplit(rows: Int, horizon: Int, if enabled: Bool) -> (fit: Range<Int>, held: Range<Int>) {
        enabled ? heldOutSplit(rows: rows, horizon: horizon) : (0..<rows, rows..<rows)
    }

    /// Which training rows grow the trees and which watch early stopping (`heldOutSplit`); without early stopping, all
    /// grow them.
    public static func earlyStoppingSplit(rows: Int, horizon: Int, hyperparameters h: GBDTHyperparameters) -> (fit: Range<Int>, stop: Range<Int>) {
        let split = heldOutSplit(rows: rows, horizon: horizon, if: h.earlyStoppingRounds > 0)
        return (split.fit, split.held)
    }

    private static func metrics(of model: TrainedModel, on data: LabeledDataset) throws(MLError) -> (ClassificationMetrics, Reliability) {
        var probabilities: [Double] = []
        probabilities.reserveCapacity(data.rows.count)
        for row in data.rows { probabilities.append(try model.probabilityUp(row.features)) }
        let labels = data.labels
        return (ClassificationMetrics.compute(probabilities: probabilities, labels: labels), Reliability(probabilities: probabilities, labels: labels))
    }
}

extension TrainingProvenance {
    /// The lineage of a model trained for `job`: its ranges, horizon and seed, with what the fit reports.
    init(_ job: TrainingJobSpec, trainCount: Int, validationCount: Int, iterations: Int, converged: Bool) {
        self.init(trainFrom: job.trainFrom, trainTo: job.trainTo, validateTo: job.validateTo, trainCount: trainCount,
                  validationCount: validationCount, horizon: job.horizon, seed: job.seed, iterations: iterations, converged: converged)
    }
}
