import Foundation
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumProto

/// What `quorum-trainer` reads and writes, apart from its decisions (`TrainerLogic`): the Postgres stores and the bus in
/// the service (QuorumServices' `TrainerWorker`), memory in tests.
public protocol TrainerIO: Sendable {
    /// Whether `training_runs` records the job: its effects are durable and its result published.
    func isRecorded(jobID: String) async throws -> Bool
    /// The archived bars of `symbol` at `intervalSeconds`, from its first bar to the one opening at `throughOpen`.
    func bars(symbol: Symbol, intervalSeconds: Int64, throughOpen: Nanos) async throws -> [Bar]
    /// Registers a trained model (idempotent: a model id registered before stays as it is).
    func register(_ model: TrainerLogic.Registration) async throws
    /// Makes the model its symbol's active model if it beats the active one on `metric`.
    func activateIfBetter(modelID: String, metric: String) async throws -> TrainerLogic.Activation
    /// Publishes the records (waiting for the broker's acknowledgement).
    func publish(_ messages: [OutgoingMessage]) async throws
    /// Records the job's run (`training_runs`), with the model it registered; last, after everything else is durable.
    func record(_ result: Quorum_V1_TrainingResult, modelID: String?) async throws
}

/// The logic of `quorum-trainer`, one `training.jobs` record at a time, over a `TrainerIO`:
///
/// 1. skip the job when `training_runs` records it (a redelivery after everything was done);
/// 2. check it (an unknown spec, model kind or hyperparameter, bad ranges: a `RejectedMessage`, i.e. a dead letter);
/// 3. read its bars — every bar of the symbol from its first (the features stage computed its vectors from there, and
///    indicators with memory only match bit for bit from the same start) and those of the symbols its spec references —
///    compute the rows with the features stage's engine, and train (`TrainerCore`, deterministic);
/// 4. unless it is a tuning trial: register the model, and activate it when it passes the gate and beats the active one;
/// 5. publish the result on `training.results` (a trial's with its model when asked, `return_artifact`) and the model
///    events on `models` (ACTIVATED carries the artifact, so inference swaps without reading Postgres);
/// 6. record the run — last, so a crash anywhere before it makes the redelivered job run again, idempotently.
public struct TrainerLogic: Sendable {
    /// The feature specs a job may name: the built-in ones and the configured one.
    public let specs: [FeatureSpec]
    public let gate: ValidationGate
    /// This worker's name in results and runs (e.g. `trainer-2`).
    public let worker: String
    let namer: TopicNamer
    let stamp = EnvelopeStamp(producer: "quorum-trainer")
    /// The registry metric that decides which model is better: base-rate log loss minus validation log loss.
    public static let activationMetric = TrainingResult.activationMetric

    public init(specs: [FeatureSpec], gate: ValidationGate, worker: String, namer: TopicNamer) {
        self.specs = specs
        self.gate = gate
        self.worker = worker
        self.namer = namer
    }

    /// A model to register, with its lineage.
    public struct Registration: Sendable, Equatable {
        public let modelID: String
        public let model: TrainedModel
        public let job: Quorum_V1_TrainingJob
        public let featureSpec: String
        public let spec: TrainingJobSpec
        public let metrics: [String: Double]
        /// Whether it passed the validation gate (else it is registered as rejected).
        public let passed: Bool
    }

    /// What `TrainerIO.activateIfBetter` did.
    public enum Activation: Sendable, Equatable {
        /// `sequence`: the symbol's activation count with this one (`activation_sequence` of the event).
        case activated(previous: String?, sequence: Int64)
        case kept(active: String)
    }

    /// What became of a job, for the service's logs and metrics.
    public enum Handled: Sendable, Equatable {
        /// `training_runs` had it: nothing was done.
        case skipped
        case trained(modelID: String?, passed: Bool, activation: Activation?, rows: Int)
        case failed(reason: String, rows: Int)
    }

    public func handle(_ message: IncomingMessage, io: some TrainerIO) async throws -> Handled {
        let job = try message.decode(Quorum_V1_TrainingJob.self)
        if try await io.isRecorded(jobID: job.jobID) { return .skipped }
        let spec: TrainingJobSpec
        let featureSpec: FeatureSpec
        do {
            (spec, featureSpec) = try job.spec(known: specs)
        } catch let error as RejectedMessageError {
            throw RejectedMessage(.invalid, error.description)
        }
        let started = ContinuousClock.now
        let interval = Int64(max(job.intervalSeconds, 1))
        var bars: [Bar] = []
        for symbol in Set([spec.symbol] + featureSpec.referencedSymbols).sorted() {
            bars += try await io.bars(symbol: symbol, intervalSeconds: interval, throughOpen: spec.validateTo)
        }
        let rows: [PriceFeatureRow]
        do { rows = try TrainingRows.rows(bars: bars, symbol: spec.symbol, spec: featureSpec) } catch {
            throw RejectedMessage(.invalid, "job \(job.jobID): \(error)")
        }
        let outcome = TrainerCore(gate: gate).train(job: spec, rows: rows)

        var result = Quorum_V1_TrainingResult()
        result.envelope = stamp.envelope(id: "tr-\(job.jobID)", tsEvent: job.envelope.tsEventNs, cause: job.envelope)
        result.jobID = job.jobID
        result.runID = job.runID
        result.worker = worker
        result.symbol = job.symbol
        result.modelKind = job.modelKind
        result.foldIndex = job.foldIndex
        result.candidateIndex = job.candidateIndex
        var events: [Quorum_V1_ModelEvent] = []
        let handled: Handled
        var registeredID: String?
        switch outcome {
        case .failed(_, let reason):
            result.status = .failed
            result.error = reason.description
            handled = .failed(reason: reason.description, rows: rows.count)
        case .trained(let trained):
            let passed = trained.verdict.passed
            let metrics = trained.registryMetrics
            result.status = passed ? .succeeded : .rejected
            result.metrics = metrics
            if job.trial {
                // A tuning trial: the metrics are the answer (and the model, when asked); nothing is registered.
                if job.returnArtifact { result.artifact = Data(trained.model.artifact()) }
                handled = .trained(modelID: nil, passed: passed, activation: nil, rows: rows.count)
            } else {
                let modelID = "model-\(job.jobID)"
                registeredID = modelID
                result.modelVersion = trained.model.version
                try await io.register(Registration(modelID: modelID, model: trained.model, job: job, featureSpec: featureSpec.name,
                                                   spec: spec, metrics: metrics, passed: passed))
                var registered = modelEvent(.registered, modelID: modelID, model: trained.model, job: job, metrics: metrics)
                registered.artifactUri = "postgres:models/\(modelID)"
                events.append(registered)
                var activation: Activation?
                if passed {
                    let done = try await io.activateIfBetter(modelID: modelID, metric: Self.activationMetric)
                    activation = done
                    if case .activated(let previous, let sequence) = done {
                        var activated = modelEvent(.activated, modelID: modelID, model: trained.model, job: job, metrics: metrics)
                        activated.artifactBytes = Data(trained.model.artifact())
                        activated.previousVersion = previous ?? ""
                        activated.activationSequence = UInt64(max(0, sequence))
                        activated.role = .primary
                        events.append(activated)
                    }
                }
                handled = .trained(modelID: modelID, passed: passed, activation: activation, rows: rows.count)
            }
        }
        let elapsed = ContinuousClock.now - started
        result.durationMs = UInt64(max(0, elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000))
        var outputs = [try OutgoingMessage(topic: namer.name(Topic.trainingResults), key: job.jobID, message: result,
                                           eventTimeNs: job.envelope.tsEventNs)]
        for event in events {
            outputs.append(try OutgoingMessage(topic: namer.name(Topic.models), key: spec.symbol.name, message: event,
                                               eventTimeNs: job.envelope.tsEventNs))
        }
        try await io.publish(outputs)
        try await io.record(result, modelID: registeredID)
        return handled
    }

    func modelEvent(_ kind: Quorum_V1_ModelEvent.Kind, modelID: String, model: TrainedModel, job: Quorum_V1_TrainingJob,
                    metrics: [String: Double]) -> Quorum_V1_ModelEvent {
        var e = Quorum_V1_ModelEvent()
        e.envelope = stamp.envelope(id: "me-\(modelID)-\(kind.rawValue)", tsEvent: job.envelope.tsEventNs, cause: job.envelope)
        e.kind = kind
        e.modelID = modelID
        e.version = model.version
        e.symbol = model.symbol.name
        e.modelKind = job.modelKind
        e.featureSpec = job.featureSpec
        e.featureSpecVersion = job.featureSpecVersion
        e.metrics = metrics
        e.trainingRunID = job.runID
        return e
    }
}
