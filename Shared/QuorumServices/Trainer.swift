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
/// jobs (one partition has one owner). What it does with a job is `TrainerLogic` (QuorumPipeline); this is its wiring:
/// the Postgres stores and the bus as its `TrainerIO`, logs and metrics.
public enum TrainerWorker: StageInputs {
    public static let group = "quorum-trainer"
    public static let defaultGroup = group
    public static let inputTopics: [TopicSpec] = [Topic.trainingJobs]

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
        let logic = TrainerLogic(specs: FeatureSpec.builtIns + (FeatureSpec.builtIn(named: configured.name) == nil ? [configured] : []),
                                 gate: gate, worker: context.config.serviceInstance, namer: namer)
        let io = StoresTrainerIO(archive: BarArchive(store: postgres, logger: context.logger),
                                 registry: ModelRegistry(store: postgres, logger: context.logger),
                                 runs: TrainingRuns(store: postgres, logger: context.logger), producer: producer, worker: logic.worker)
        let metrics = (trained: context.metrics.counter(MetricCatalog.trainerJobs, "trained"),
                       rejected: context.metrics.counter(MetricCatalog.trainerJobs, "rejected"),
                       failed: context.metrics.counter(MetricCatalog.trainerJobs, "failed"))
        let logger = context.logger
        let service = ConsumerLoopService(loop: loop, producer: producer) { message in
            let started = ContinuousClock.now
            let handled = try await logic.handle(message, io: io)
            let elapsed = "\(ContinuousClock.now - started)"
            switch handled {
            case .skipped:
                logger.info("job already done; skipped", metadata: ["message.offset": .stringConvertible(message.offset)])
            case .failed(let reason, let rows):
                metrics.failed.increment()
                logger.warning("training failed", metadata: ["error": .string(reason), "rows": .stringConvertible(rows), "elapsed": .string(elapsed)])
            case .trained(let modelID, let passed, let activation, let rows):
                (passed ? metrics.trained : metrics.rejected).increment()
                var metadata: Logger.Metadata = ["model.id": .string(modelID ?? "none (a tuning trial)"), "passed": .stringConvertible(passed),
                                                 "rows": .stringConvertible(rows), "elapsed": .string(elapsed)]
                switch activation {
                case .activated(let previous, _)?: metadata["activated"] = .string("replacing \(previous ?? "none")")
                case .kept(let active)?: metadata["activated"] = .string("no: \(active) stays active")
                case nil: break
                }
                logger.info("job done", metadata: metadata)
            }
        }
        return backends.services + [service]
    }
}

/// The trainer's I/O on the Postgres stores and the bus.
struct StoresTrainerIO: TrainerIO {
    let archive: BarArchive
    let registry: ModelRegistry
    let runs: TrainingRuns
    let producer: any MessageProducer
    let worker: String

    func isRecorded(jobID: String) async throws -> Bool { try await runs.run(jobID: jobID) != nil }

    func bars(symbol: Symbol, intervalSeconds: Int64, throughOpen: Nanos) async throws -> [Bar] {
        try await archive.bars(symbol: symbol, intervalSeconds: intervalSeconds, fromOpenNs: TrainingRows.fromFirstBar, toOpenNs: throughOpen)
    }

    func register(_ r: TrainerLogic.Registration) async throws {
        _ = try await registry.register(ModelRecord(
            modelID: r.modelID, symbol: r.spec.symbol, version: r.model.version, modelKind: r.job.modelKind, featureSpec: r.featureSpec,
            featureSpecVersion: r.spec.featureSpecVersion, trainFrom: r.spec.trainFrom, trainTo: r.spec.trainTo, validateTo: r.spec.validateTo,
            metrics: r.metrics, artifact: r.model.artifact(), jobID: r.job.jobID, runID: r.job.runID,
            status: r.passed ? .registered : .rejected, lineage: r.job.lineage))
    }

    func activateIfBetter(modelID: String, metric: String) async throws -> TrainerLogic.Activation {
        switch try await registry.activateIfBetter(modelID: modelID, metric: metric) {
        case .activated(let previous, let sequence): .activated(previous: previous, sequence: sequence)
        case .kept(let active): .kept(active: active)
        }
    }

    func publish(_ messages: [OutgoingMessage]) async throws { _ = try await producer.send(messages) }

    func record(_ result: Quorum_V1_TrainingResult, modelID: String?) async throws {
        let status: TrainingRunRecord.Status = switch result.status {
        case .succeeded: .succeeded
        case .rejected: .rejected
        default: .failed
        }
        _ = try await runs.record(TrainingRunRecord(
            jobID: result.jobID, runID: result.runID, symbol: Symbol(result.symbol), worker: worker, status: status, metrics: result.metrics,
            error: result.error.isEmpty ? nil : result.error, modelID: modelID, durationMs: Int64(clamping: result.durationMs)))
    }
}
