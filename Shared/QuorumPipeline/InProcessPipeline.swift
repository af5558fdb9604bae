import Logging
import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumModel
import QuorumRisk
import QuorumStrategy

/// The cluster's stages (features → inference → consensus → risk → execution) in one process on the
/// `EventTimeDriver`: the same stage logic as the services, without servers, sleeps or the clock. Used by tests
/// (replay determinism, the merge under different interleavings) and as the base of `quorum backtest`.
public struct InProcessPipeline: Sendable {
    public var models: [ServedModel]
    /// Whether models arrive on the `models` topic during the run (walk-forward activates each fold's model at its
    /// start): inference runs even with no initial model.
    public var modelsArrive = false
    public var consensus = ConsensusConfig()
    public var risk = RiskConfig()
    public var exchange = PaperExchangeConfig()
    /// Symbols risk's event-time merge waits for from the start; empty = the symbols of the input.
    public var symbols: [Symbol] = []
    public var featureSpec: FeatureSpec = .default
    /// The rule strategies voting in consensus (the service's defaults unless a backtest configures others).
    public var rules: [any RuleStrategy] = [EMACrossoverRule(), RSIMeanReversionRule()]
    /// Where execution records orders and fills, and risk its denials (nil: only the published records).
    public var executionRecords: (any ExecutionRecordSink)?
    public var denialRecords: (any DenialRecordSink)?

    public init(models: [ServedModel]) { self.models = models }

    public struct Outcome: Sendable {
        public let namer: TopicNamer
        public let risk: RiskStage
        public let execution: ExecutionStage
        let driver: EventTimeDriver

        /// Every record published on a topic of the registry (full name), in publication order.
        public func records(_ topic: String) -> [IncomingMessage] { driver.records(topic) }
    }

    /// The stage logics, in pipeline order, as the services build them (no Redis, no Postgres, no idle timeout).
    public func stages(for input: IngestInput, namer: TopicNamer = .live) -> [any StageLogic] {
        stages(symbols: symbols.isEmpty ? Array(Set(input.bars.map(\.bar.symbol))).sorted() : symbols, namer: namer)
    }

    /// The stage logics for bars of `symbols` (risk's merge waits for each of them). Without models (initial or
    /// arriving) there is nothing for inference to do, and it is left out.
    public func stages(symbols expected: [Symbol], namer: TopicNamer = .live) -> [any StageLogic] {
        var stages: [any StageLogic] = [FeaturesStage(namer: namer, spec: featureSpec, hotState: nil)]
        if !models.isEmpty || modelsArrive { stages.append(InferenceStage(namer: namer, initialModels: models, hotState: nil)) }
        stages += [
            ConsensusStage(namer: namer, config: consensus, spec: featureSpec, rules: rules),
            RiskStage(namer: namer, config: risk, idleTimeout: nil, expectedSymbols: expected, hotState: nil, denialSink: denialRecords),
            ExecutionStage(namer: namer, config: exchange, records: executionRecords),
        ]
        return stages
    }

    /// Runs the bars through every stage and returns their final state and every record.
    public func run(_ input: IngestInput) async throws -> Outcome {
        let namer = TopicNamer.live
        var driver = EventTimeDriver(stages: stages(for: input, namer: namer), namer: namer,
                                     keep: Set(namer.specsWithNames().map(\.name)))
        try await driver.run(input.bars)
        guard let risk = driver.stage(RiskStage.self), let execution = driver.stage(ExecutionStage.self) else {
            preconditionFailure("stages(for:) builds a risk and an execution stage")
        }
        return Outcome(namer: namer, risk: risk, execution: execution, driver: driver)
    }
}
