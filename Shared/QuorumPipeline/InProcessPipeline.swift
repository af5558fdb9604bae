import Logging
import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumModel
import QuorumRisk
import QuorumStrategy

/// The cluster's stages (features → inference → consensus → risk → execution) wired to an `InMemoryBus` in one
/// process: the same stage logic and the same host as the services, without servers. Used by tests (replay
/// determinism, the merge under different interleavings) and as the base of `quorum backtest`.
public struct InProcessPipeline: Sendable {
    public var models: [ServedModel]
    public var consensus = ConsensusConfig()
    /// Risk's settings; its `costs` are taken from `exchange` (one cost function for both).
    public var risk = RiskConfig()
    public var exchange = PaperExchangeConfig()
    public var riskIdleTimeout: Duration = .seconds(5)
    /// Symbols risk's event-time merge waits for from the start; empty = the symbols of the input.
    public var symbols: [Symbol] = []
    public var logger = Logger(label: "quorum-inprocess")

    public init(models: [ServedModel]) { self.models = models }

    public struct Outcome: Sendable {
        public let bus: InMemoryBus
        public let namer: TopicNamer
        public let risk: RiskStage
        public let execution: ExecutionStage
    }

    /// Publishes the bars, runs every stage until nothing moves any more, stops them and returns their final state.
    public func run(_ input: IngestInput) async throws -> Outcome {
        let bus = InMemoryBus()
        let namer = TopicNamer.live
        try await bus.createTopics(namer.specsWithNames())
        var options = StageHostOptions()
        options.clientID = "inprocess"
        let features = StageHost(logic: FeaturesStage(namer: namer, hotState: nil), bus: bus, options: options, logger: logger)
        let inference = StageHost(logic: InferenceStage(namer: namer, initialModels: models, hotState: nil), bus: bus,
                                  options: options, logger: logger)
        let consensusHost = StageHost(logic: ConsensusStage(namer: namer, config: consensus), bus: bus, options: options, logger: logger)
        let expected = symbols.isEmpty ? Array(Set(input.bars.map(\.bar.symbol))).sorted() : symbols
        var risk = self.risk
        risk.costs = exchange.costs
        let riskHost = StageHost(logic: RiskStage(namer: namer, config: risk, idleTimeout: riskIdleTimeout, expectedSymbols: expected,
                                                  hotState: nil, denialSink: nil),
                                 bus: bus, options: options, logger: logger)
        let executionHost = StageHost(logic: ExecutionStage(namer: namer, config: exchange, records: nil), bus: bus,
                                      options: options, logger: logger)
        let stops: [@Sendable () -> Void] = [features.stop, inference.stop, consensusHost.stop, riskHost.stop, executionHost.stop]

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await features.run() }
            group.addTask { try await inference.run() }
            group.addTask { try await consensusHost.run() }
            group.addTask { try await riskHost.run() }
            group.addTask { try await executionHost.run() }

            let producer = try bus.makeProducer(clientID: "inprocess-ingest")
            _ = try await Ingestor(producer: producer, namer: namer, archive: nil, logger: logger).run(input)
            await producer.close()

            // Quiescent: every record published has been handled by its consumers, for a while.
            let hosts: [(handled: @Sendable () -> Int, inputs: [String])] = [
                ({ features.handledTotal.load(ordering: .relaxed) }, [namer.name(Topic.bars)]),
                ({ inference.handledTotal.load(ordering: .relaxed) }, [namer.name(Topic.features), namer.name(Topic.models)]),
                ({ consensusHost.handledTotal.load(ordering: .relaxed) }, [namer.name(Topic.features), namer.name(Topic.predictions)]),
                ({ riskHost.handledTotal.load(ordering: .relaxed) },
                 [namer.name(Topic.decisions), namer.name(Topic.executionReports), namer.name(Topic.control)]),
                ({ executionHost.handledTotal.load(ordering: .relaxed) }, [namer.name(Topic.ordersApproved), namer.name(Topic.bars)]),
            ]
            var stableRounds = 0
            var lastTotal = -1
            while stableRounds < 10 {
                try await Task.sleep(for: .milliseconds(50))
                var caughtUp = true
                var total = 0
                for host in hosts {
                    var available = 0
                    for topic in host.inputs {
                        available += try await bus.watermarks(topic: topic).values.reduce(0) { $0 + Int($1.high) }
                    }
                    total += available
                    if host.handled() < available { caughtUp = false }
                }
                stableRounds = caughtUp && total == lastTotal ? stableRounds + 1 : 0
                lastTotal = total
            }
            for stop in stops { stop() }
            try await group.waitForAll()
        }
        return Outcome(bus: bus, namer: namer, risk: riskHost.state, execution: executionHost.state)
    }

    /// Every record of a topic (all partitions), for digests and checks.
    public static func records(_ bus: InMemoryBus, topic: String) async throws -> [IncomingMessage] {
        try await bus.readAll(topic: topic, clientID: "inspect")
    }
}
