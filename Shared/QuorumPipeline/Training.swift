import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumProto

/// Builds training jobs (DESIGN.md §5: one job per fold × candidate × symbol) with deterministic ids, so the same
/// request published twice is one job for the trainers (they skip a job id they have recorded).
public enum TrainingJobs {
    /// The hyperparameter candidates tried for each symbol and range.
    public static let defaultCandidates: [ModelHyperparameters] = [
        .logistic(LogisticHyperparameters(l2: 0.01)),
        .logistic(LogisticHyperparameters(l2: 0.1)),
    ]

    /// Jobs training on `[trainFrom, trainTo)` and validating on `[trainTo, validateTo)` (event time, bar close), one
    /// per candidate. A walk-forward fold gives its index and the fold count, and the ranges its training leaves out
    /// (`WalkForwardFold.embargoed`).
    public static func make(symbol: Symbol, intervalSeconds: Int64, trainFrom: Nanos, trainTo: Nanos, validateTo: Nanos,
                            candidates: [ModelHyperparameters] = defaultCandidates, spec: FeatureSpec = .default,
                            fold: (index: Int, count: Int) = (0, 1), excluded: [Range<Nanos>] = [],
                            stamp: EnvelopeStamp) -> [Quorum_V1_TrainingJob] {
        let runID = "run-\(symbol.name)-\(trainFrom)-\(trainTo)-\(validateTo)" + (fold.count > 1 ? "-f\(fold.index)" : "")
        let excludedRanges = excluded.map { r in
            var range = Quorum_V1_TimeRange()
            range.fromNs = r.lowerBound
            range.toNs = r.upperBound
            return range
        }
        return candidates.enumerated().map { index, h in
            var job = Quorum_V1_TrainingJob()
            job.jobID = "\(runID)-c\(index)"
            job.envelope = stamp.envelope(id: job.jobID, tsEvent: validateTo, cause: nil)
            job.runID = runID
            job.symbol = symbol.name
            job.intervalSeconds = UInt32(intervalSeconds)
            job.modelKind = h.family.kind
            job.hyperparameters = h.values
            var train = Quorum_V1_TimeRange()
            train.fromNs = trainFrom
            train.toNs = trainTo
            var validation = Quorum_V1_TimeRange()
            validation.fromNs = trainTo
            validation.toNs = validateTo
            job.trainRange = train
            job.validationRange = validation
            job.featureSpec = spec.name
            job.featureSpecVersion = spec.version
            job.foldIndex = UInt32(fold.index)
            job.foldCount = UInt32(fold.count)
            job.excludedRanges = excludedRanges
            job.candidateIndex = UInt32(index)
            job.candidateCount = UInt32(candidates.count)
            job.seed = 0
            return job
        }
    }
}

/// The windows of an initial training run (`quorum train`): validation ends at the last archived bar's close (or
/// earlier, at `until`), the validation window is its most recent `validation`, and the training window the
/// `train` before that — cut at the first archived bar.
public struct TrainingWindow: Sendable, Equatable {
    public var trainFrom: Nanos
    public var trainTo: Nanos
    public var validateTo: Nanos

    public init(trainFrom: Nanos, trainTo: Nanos, validateTo: Nanos) {
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.validateTo = validateTo
    }

    /// nil when the archive is too short for a training window before the validation window.
    public static func latest(firstOpen: Nanos, lastOpen: Nanos, intervalSeconds: Int64, until: Nanos?, train: Nanos,
                              validation: Nanos) -> TrainingWindow? {
        let lastClose = lastOpen + intervalSeconds * 1_000_000_000
        let end = min(until ?? lastClose, lastClose)
        let start = max(firstOpen, end - train - validation)
        let trainTo = end - validation
        guard trainTo > start else { return nil }
        return TrainingWindow(trainFrom: start, trainTo: trainTo, validateTo: end)
    }
}

extension Quorum_V1_TrainingJob {
    /// The trainer core's job, checked: a bad job is a dead letter, not a crash. The job's feature spec must be one
    /// of `known` (the built-in specs and the trainer's configured one) by name and content hash.
    public func spec(known: [FeatureSpec] = FeatureSpec.builtIns) throws -> (TrainingJobSpec, FeatureSpec) {
        guard let featureSpec = known.first(where: { $0.name == self.featureSpec && $0.version == featureSpecVersion }) else {
            throw RejectedMessageError("job \(jobID): its feature spec \(FeatureSpec.label(self.featureSpec, featureSpecVersion)) is not one this "
                + "trainer knows (\(known.map(\.description).joined(separator: ", "))): set features.spec to the same spec in every service")
        }
        guard trainRange.fromNs < trainRange.toNs, trainRange.toNs <= validationRange.toNs else {
            throw RejectedMessageError("job \(jobID): ranges must satisfy train.from < train.to <= validation.to")
        }
        if let bad = excludedRanges.first(where: { $0.fromNs > $0.toNs }) {
            throw RejectedMessageError("job \(jobID): excluded range [\(bad.fromNs), \(bad.toNs)) ends before it starts")
        }
        guard let family = ModelFamily(kind: modelKind) else {
            throw RejectedMessageError("job \(jobID): model kind \"\(modelKind)\" is not one this trainer trains "
                + "(\(ModelFamily.allCases.map(\.kind).joined(separator: ", ")))")
        }
        let h: ModelHyperparameters
        do {
            h = try ModelHyperparameters(family: family, values: hyperparameters)
        } catch {
            throw RejectedMessageError("job \(jobID): \(error.message)")
        }
        let spec = TrainingJobSpec(jobID: jobID, symbol: Symbol(symbol), featureSpecVersion: Int(featureSpec.version),
                                   featureNames: featureSpec.names, trainFrom: trainRange.fromNs, trainTo: trainRange.toNs,
                                   validateTo: validationRange.toNs, excluded: excludedRanges.map { $0.fromNs..<$0.toNs },
                                   horizon: 1, hyperparameters: h, seed: seed)
        return (spec, featureSpec)
    }
}

/// A job that can never be trained (kept separate from QuorumBus's RejectedMessage so this file needs no bus).
public struct RejectedMessageError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum TrainingRows {
    /// Where a trainer reads a symbol's archived bars from: its first bar. The features stage computed its vectors
    /// from the symbol's first bar on, and indicators with memory (EMAs, Wilder smoothing, cumulative OBV) reach the
    /// served values bit for bit only from the same start; a shorter warm-up leaves the first rows off by percents.
    public static let fromFirstBar = Nanos.min

    /// Feature rows for training from archived bars: the same `FeaturesCore` as `quorum-features`, so a model sees
    /// in training exactly the vectors it scores live when each symbol's bars start at its first bar. `bars` holds
    /// `symbol`'s bars and, for a cross-asset spec, those of the symbols it references (any order: they are taken in
    /// event-time order); the rows are `symbol`'s warm vectors (time = bar close). Without `symbol`, the bars'
    /// first symbol. Throws when the spec does not fit the bars' interval.
    public static func rows(bars: [Bar], symbol: Symbol? = nil, spec: FeatureSpec) throws(FeatureSpecError) -> [PriceFeatureRow] {
        guard let symbol = symbol ?? bars.first?.symbol else { return [] }
        let wanted = Set([symbol] + spec.referencedSymbols)
        var ordered = bars.filter { wanted.contains($0.symbol) }
        if wanted.count > 1 { ordered.sort { ($0.closeTime, $0.symbol) < ($1.closeTime, $1.symbol) } }
        var core = FeaturesCore(spec: spec)
        var rows: [PriceFeatureRow] = []
        rows.reserveCapacity(ordered.count)
        if wanted.count == 1 {
            // One symbol: the batch path, the same values a bar at a time would give.
            let columns = spec.names.count
            var values = [Double](repeating: .nan, count: ordered.count * columns)
            let warm = try values.withUnsafeMutableBufferPointer { out throws(FeatureSpecError) in try core.update(ordered[...], into: out.baseAddress!) }
            for (k, bar) in ordered.enumerated() where warm[k] == true {
                rows.append((time: bar.closeTime, features: Array(values[k * columns..<(k + 1) * columns]), close: bar.close.doubleValue))
            }
            return rows
        }
        for bar in ordered {
            for case .publish(let v) in try core.handle(bar) where v.symbol == symbol && v.isWarm {
                rows.append((time: v.barCloseTime, features: v.values, close: v.close.doubleValue))
            }
        }
        return rows
    }
}

/// What became of one training job, as a tuning search reads it: from the trainer core in process, or from a trainer
/// worker's `training.results` record.
public struct TrainingJobOutcome: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        /// Trained and passed the validation gate.
        case succeeded
        /// Trained; the gate refused the model (the metrics are still those of the trained model).
        case rejected
        /// No model could be trained (`error` says why).
        case failed
    }

    public var status: Status
    /// `TrainingResult.registryMetrics` (empty when failed).
    public var metrics: [String: Double]
    public var error: String?
    /// The worker's wall time on the job (capacity planning; never part of a decision).
    public var durationMs: Int64
    /// The trained model's artifact, when the job asked for it (`TrainingJob.return_artifact`).
    public var artifact: [UInt8]?

    public init(status: Status, metrics: [String: Double] = [:], error: String? = nil, durationMs: Int64 = 0, artifact: [UInt8]? = nil) {
        self.status = status
        self.metrics = metrics
        self.error = error
        self.durationMs = durationMs
        self.artifact = artifact
    }
}

/// Runs training jobs somewhere — the trainer core on a local pool (`quorum tune`), or the cluster's trainer workers
/// through `training.jobs` and `training.results` (`quorum tune --cluster`) — and returns every job's outcome by job id.
public protocol TrainingJobRunner: Sendable {
    /// `progress` gets the jobs done so far and the number given.
    func run(_ jobs: [Quorum_V1_TrainingJob], progress: (@Sendable (Int, Int) -> Void)?) async throws -> [String: TrainingJobOutcome]
}
