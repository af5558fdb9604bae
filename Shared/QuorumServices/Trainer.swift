import Foundation
import Logging
import Metrics
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumServiceKit
import QuorumStores
import ServiceLifecycle

/// `quorum-trainer`: a worker of the `quorum-trainer` consumer group on `training.jobs`. Several processes share the
/// jobs (one partition has one owner). Per job:
///
/// 1. skip it when `training_runs` already records it (a redelivery after everything was done);
/// 2. load the job's bars from the archive, compute features with the same engine as `quorum-features`, train and
///    validate (`TrainerCore`, deterministic: a retried job gives the same model, byte for byte);
/// 3. register the model (insert if absent), activate it when it passes the gate and beats the active model;
/// 4. publish the result on `training.results` and the model events on `models` (ACTIVATED carries the artifact,
///    so inference swaps without reading Postgres);
/// 5. record the run — last, so a crash anywhere before it makes the redelivered job run again, idempotently.
///
/// A tuning trial (`TrainingJob.trial`, from `quorum tune --cluster`) skips 3: its result carries the validation
/// metrics the search needs, and no model is registered or activated.
public enum TrainerWorker: StageInputs {
    public static let group = "quorum-trainer"
    public static let defaultGroup = group
    public static let inputTopics: [TopicSpec] = [Topic.trainingJobs]
    /// The registry metric that decides which model is better: base-rate log loss minus validation log loss.
    public static let activationMetric = TrainingResult.activationMetric

    public static func services(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let bus = backends.bus!
        let namer = backends.namer
        let postgres = backends.postgres!
        let consumer = try bus.makeConsumer(group: namer.group(group), topics: inputTopics.map(namer.name),
                                            clientID: context.config.kafkaClientID, startAt: .earliest)
        let producer = try bus.makeProducer(clientID: context.config.kafkaClientID)
        let loop = ConsumerLoop(consumer: consumer, deadLetters: producer, group: namer.group(group), logger: context.logger)
        let gate = ValidationGate(minimumCount: context.config.int(ServiceKeys.trainerMinValidation.name),
                                  minimumImprovement: context.config.double(ServiceKeys.trainerMinImprovement.name))
        let configured = try ServiceKeys.loadFeatureSpec(context.config)
        let worker = Job(specs: FeatureSpec.builtIns + (FeatureSpec.builtIn(named: configured.name) == nil ? [configured] : []),
                         archive: BarArchive(store: postgres, logger: context.logger),
                         registry: ModelRegistry(store: postgres, logger: context.logger),
                         runs: TrainingRuns(store: postgres, logger: context.logger),
                         producer: producer, namer: namer, gate: gate, worker: context.config.serviceInstance,
                         logger: context.logger,
                         trained: context.metrics.counter("quorum_trainer_jobs_total", dimensions: [("outcome", "trained")]),
                         rejected: context.metrics.counter("quorum_trainer_jobs_total", dimensions: [("outcome", "rejected")]),
                         failed: context.metrics.counter("quorum_trainer_jobs_total", dimensions: [("outcome", "failed")]))
        let service = ConsumerLoopService(loop: loop, producer: producer) { message in
            try await worker.handle(message)
        }
        return backends.services + [service]
    }

    struct Job: Sendable {
        /// The feature specs a job may name: the built-in ones and the configured one.
        let specs: [FeatureSpec]
        let archive: BarArchive
        let registry: ModelRegistry
        let runs: TrainingRuns
        let producer: any MessageProducer
        let namer: TopicNamer
        let gate: ValidationGate
        let worker: String
        let logger: Logger
        let trained: Metrics.Counter
        let rejected: Metrics.Counter
        let failed: Metrics.Counter
        let stamp = EnvelopeStamp(producer: "quorum-trainer")

        func handle(_ message: IncomingMessage) async throws {
            let job = try message.decode(Quorum_V1_TrainingJob.self)
            if try await runs.run(jobID: job.jobID) != nil {
                logger.info("job already done; skipped", metadata: ["job.id": .string(job.jobID)])
                return
            }
            let spec: TrainingJobSpec
            let featureSpec: FeatureSpec
            do {
                (spec, featureSpec) = try job.spec(known: specs)
            } catch let error as RejectedMessageError {
                throw RejectedMessage(.invalid, error.description)
            }
            let started = ContinuousClock.now
            let interval = Int64(max(job.intervalSeconds, 1))
            // Every bar of the symbol from its first: the features stage computed its vectors from the first bar on,
            // and indicators with memory (EMA, Wilder smoothing) only equal those bit for bit from the same start.
            // A cross-asset spec also reads the bars of the symbols it references.
            var bars: [Bar] = []
            for symbol in Set([spec.symbol] + featureSpec.referencedSymbols).sorted() {
                bars += try await archive.bars(symbol: symbol, intervalSeconds: interval,
                                               fromOpenNs: TrainingRows.fromFirstBar, toOpenNs: spec.validateTo)
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
            var outputs: [OutgoingMessage] = []
            var record = TrainingRunRecord(jobID: job.jobID, runID: job.runID, symbol: spec.symbol, worker: worker, status: .failed)
            let elapsed = ContinuousClock.now - started
            let durationMs = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            result.durationMs = UInt64(max(0, durationMs))
            record.durationMs = durationMs

            switch outcome {
            case .failed(_, let reason):
                result.status = .failed
                result.error = reason.description
                record.error = reason.description
                failed.increment()
                logger.warning("training failed", metadata: ["job.id": .string(job.jobID), "error": .string(reason.description)])
            case .trained(let trainedResult) where job.trial:
                // A tuning trial: the metrics are the answer; the model is not kept.
                let passed = trainedResult.verdict.passed
                result.status = passed ? .succeeded : .rejected
                result.metrics = trainedResult.registryMetrics
                record.status = passed ? .succeeded : .rejected
                record.metrics = trainedResult.registryMetrics
                if job.returnArtifact { result.artifact = Data(trainedResult.model.artifact()) }
                (passed ? trained : rejected).increment()
            case .trained(let trainedResult):
                let model = trainedResult.model
                let metrics = trainedResult.registryMetrics
                let modelID = "model-\(job.jobID)"
                let passed = trainedResult.verdict.passed
                _ = try await registry.register(ModelRecord(
                    modelID: modelID, symbol: spec.symbol, version: model.version, modelKind: job.modelKind,
                    featureSpec: featureSpec.name, featureSpecVersion: spec.featureSpecVersion, trainFrom: spec.trainFrom,
                    trainTo: spec.trainTo, validateTo: spec.validateTo, metrics: metrics, artifact: model.artifact(),
                    jobID: job.jobID, runID: job.runID, status: passed ? .registered : .rejected, lineage: job.lineage))
                result.status = passed ? .succeeded : .rejected
                result.metrics = metrics
                record.status = passed ? .succeeded : .rejected
                record.metrics = metrics
                record.modelID = modelID
                var registered = modelEvent(.registered, modelID: modelID, model: model, job: job, metrics: metrics)
                registered.artifactUri = "postgres:models/\(modelID)"
                outputs.append(try OutgoingMessage(topic: namer.name(Topic.models), key: spec.symbol.name, message: registered,
                                                   eventTimeNs: job.envelope.tsEventNs))
                if passed {
                    trained.increment()
                    switch try await registry.activateIfBetter(modelID: modelID, metric: Self.activationMetricName) {
                    case .activated(let previous):
                        var activated = modelEvent(.activated, modelID: modelID, model: model, job: job, metrics: metrics)
                        activated.artifactBytes = Data(model.artifact())
                        activated.previousVersion = previous ?? ""
                        activated.role = .primary
                        outputs.append(try OutgoingMessage(topic: namer.name(Topic.models), key: spec.symbol.name, message: activated,
                                                           eventTimeNs: job.envelope.tsEventNs))
                        logger.info("model activated", metadata: ["model.id": .string(modelID), "previous": .string(previous ?? "none"),
                                                                   "log_loss_gain": .stringConvertible(metrics[Self.activationMetricName] ?? 0)])
                    case .kept(let active):
                        logger.info("model registered; the active model stays", metadata: ["model.id": .string(modelID),
                                                                                           "active": .string(active)])
                    }
                } else {
                    rejected.increment()
                    logger.info("model rejected by the validation gate", metadata: [
                        "model.id": .string(modelID), "reason": .string(trainedResult.verdict.reasons.joined(separator: "; "))])
                }
            }
            outputs.insert(try OutgoingMessage(topic: namer.name(Topic.trainingResults), key: job.jobID, message: result,
                                               eventTimeNs: job.envelope.tsEventNs), at: 0)
            _ = try await producer.send(outputs)
            _ = try await runs.record(record)
            logger.info("job done", metadata: ["job.id": .string(job.jobID), "rows": .stringConvertible(rows.count),
                                               "status": .string(record.status.rawValue),
                                               "elapsed": .string("\(ContinuousClock.now - started)")])
        }

        static let activationMetricName = TrainerWorker.activationMetric

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
}
