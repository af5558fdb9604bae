import Logging
import QuorumBus
import QuorumPipeline
import QuorumServiceKit
import ServiceLifecycle

/// Runs a `StageHost` as a service: graceful shutdown finishes the batch in hand, publishes, commits, then returns.
/// Exports the stage host's metrics (`StageHostMetrics`: records handled, published and dead-lettered, batch duration) and,
/// through `observe`, the stage's own (called with the logic after each committed batch, e.g. risk's and execution's).
/// Its readiness check `stage` passes only while the host handles live input and nothing blocks it: not while it starts
/// or rebuilds its state (a restarted execution answers ready only once its orders and positions are restored), nor
/// while batches keep failing to persist or publish (`stage.publish.retry.limit`) or its consumer owns no partition
/// (`stage.unassigned.timeout`).
public struct StageHostService<Logic: StageLogic>: Service {
    public let host: StageHost<Logic>

    /// Builds the host and registers its readiness check. With `checkpoints`, a stateful stage keeps its checkpoints
    /// there every `stage.checkpoint.interval` (`0s`: none). `observe` gets the logic after each committed batch (the
    /// stage's own metrics).
    public init(logic: Logic, bus: any MessageBus, context: QuorumContext, checkpoints: (any CheckpointStore)?,
                options: StageHostOptions? = nil, observe: (@Sendable (Logic) -> Void)? = nil) async {
        let progress = StageProgress()
        await context.health.register(StageReadinessCheck(progress: progress))
        self.init(logic: logic, bus: bus, context: context, checkpoints: checkpoints, options: options, progress: progress,
                  observe: observe)
    }

    /// Builds the host around `progress`, whose readiness check the caller registered.
    init(logic: Logic, bus: any MessageBus, context: QuorumContext, checkpoints: (any CheckpointStore)?, options: StageHostOptions?,
         progress: StageProgress, observe: (@Sendable (Logic) -> Void)? = nil) {
        var opts = options ?? StageHostOptions()
        opts.clientID = context.config.kafkaClientID
        opts.retryLimit = context.config.int(CommonKeys.stagePublishRetryLimit.name)
        opts.unassignedTimeout = context.config.duration(CommonKeys.stageUnassignedTimeout.name)
        opts.checkpointInterval = context.config.duration(CommonKeys.stageCheckpointInterval.name)
        opts.checkpoints = opts.checkpointInterval > .zero ? checkpoints : nil
        let host = StageHost(logic: logic, bus: bus, options: opts, logger: context.logger, progress: progress)
        let metrics = StageHostMetrics(metrics: context.metrics, stage: logic.group, inputs: logic.inputs)
        host.onBatchReport = { report, logic in
            metrics.record(report)
            observe?(logic)
        }
        self.host = host
    }

    public func run() async throws {
        let host = self.host
        try await withGracefulShutdownHandler {
            try await host.run()
        } onGracefulShutdown: {
            host.stop()
        }
    }
}

/// A stage whose logic needs the running backends to be built (e.g. models loaded from Postgres, whose pool only
/// runs once the service group has started): builds the logic at the start of `run`, then runs it like
/// `StageHostService`.
public struct DeferredStageService<Logic: StageLogic>: Service {
    let make: @Sendable () async throws -> Logic
    let bus: any MessageBus
    let context: QuorumContext
    let checkpoints: (any CheckpointStore)?
    let progress = StageProgress()

    /// Registers the stage's readiness check (not ready until the logic is built and its state restored).
    public init(bus: any MessageBus, context: QuorumContext, checkpoints: (any CheckpointStore)?,
                make: @escaping @Sendable () async throws -> Logic) async {
        self.make = make
        self.bus = bus
        self.context = context
        self.checkpoints = checkpoints
        await context.health.register(StageReadinessCheck(progress: progress))
    }

    public func run() async throws {
        let logic = try await make()
        try await StageHostService(logic: logic, bus: bus, context: context, checkpoints: checkpoints, options: nil, progress: progress).run()
    }
}

/// Readiness of a stage: passes while its host handles live input (`StageProgress.checkRunning`).
struct StageReadinessCheck: DependencyCheck {
    let progress: StageProgress
    var name: String { "stage" }
    func check() async throws { try progress.checkRunning() }
}
