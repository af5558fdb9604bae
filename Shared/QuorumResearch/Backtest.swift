#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import QuorumAnalytics
import QuorumBus
import QuorumExecution
import QuorumML
import QuorumFeatures
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumRisk
import Synchronization

/// `quorum backtest`: the cluster's stage logics (features → inference → consensus → risk → paper execution) over
/// the bars of a `BacktestData`, in one process on the `EventTimeDriver` — no servers, no sleeps, no clock — with the
/// settings of a `BacktestConfig`. The decisions, orders and fills are those the cluster makes from the same bars and
/// models (one implementation of each stage, DESIGN.md §3, §9); this type only builds the stages, collects what
/// execution and risk record, and measures the result with QuorumAnalytics.
public struct Backtest: Sendable {
    public let config: BacktestConfig
    public let models: [ServedModel]

    /// Loads the config's models (artifact files). Errors name the model entry and the file.
    public init(config: BacktestConfig) throws(BacktestError) {
        self.config = config
        models = try Self.loadModels(config)
    }

    public static func loadModels(_ config: BacktestConfig) throws(BacktestError) -> [ServedModel] {
        var served: [ServedModel] = []
        for (i, source) in config.models.enumerated() {
            switch source {
            case .registered(let id, let prefix):
                guard let bytes = config.registeredArtifacts[id] else {
                    throw BacktestError(.unsupported, "models[\(i)].registered_id \"\(id)\": the model registry is in Postgres "
                        + "(topic prefix \"\(prefix)\"), which only `quorum backtest` reads; export the artifact to a file and give models[\(i)].file")
                }
                try served.append(load(bytes, at: i, key: "registered_id", what: "registered model \(id)", name: id, config: config, served: served))
            case .file(let path, let id):
                let resolved = config.resolve(path)
                guard let bytes = readWholeFile(resolved) else {
                    throw BacktestError(.model, "models[\(i)].file: model file \(resolved) does not exist or cannot be read")
                }
                let name = id ?? String(resolved.split(separator: "/").last.map { $0.split(separator: ".").first ?? $0 } ?? "model")
                try served.append(load(bytes, at: i, key: "file", what: resolved, name: name, config: config, served: served))
            }
        }
        return served
    }

    /// One model entry's artifact, checked against the run's feature spec and the models before it.
    static func load(_ bytes: [UInt8], at i: Int, key: String, what resolved: String, name: String, config: BacktestConfig,
                     served: [ServedModel]) throws(BacktestError) -> ServedModel {
        let model: TrainedModel
        do { model = try TrainedModel(artifact: bytes) } catch {
            throw BacktestError(.model, "models[\(i)].\(key): \(resolved) is not a model artifact: \(error)")
        }
        guard model.featureSpecVersion == Int(config.featureSpec.version) else {
            throw BacktestError(.model, "models[\(i)].\(key): \(resolved) was trained on vectors of feature spec version "
                + "\(FeatureSpec.label("", UInt32(truncatingIfNeeded: model.featureSpecVersion)).dropFirst()) (\(model.featureNames.count) features), "
                + "the run computes \(config.featureSpec) (\(config.featureSpec.names.count)): set features.spec to the model's spec")
        }
        if let other = served.first(where: { $0.model.symbol == model.symbol }) {
            throw BacktestError(.model, "models[\(i)].\(key): a second model for \(model.symbol) (\(other.modelID) serves it already); give one per symbol")
        }
        return ServedModel(modelID: name, model: model)
    }

    /// The run's pipeline: the stages as the services build them, with the config's settings.
    public func pipeline(records: BacktestRecords) -> InProcessPipeline {
        var p = InProcessPipeline(models: models)
        p.consensus = config.consensusConfig
        p.risk = config.riskConfig
        p.exchange = config.exchange
        p.featureSpec = config.featureSpec
        p.rules = config.rules.map(\.strategy)
        p.executionRecords = records
        p.denialRecords = records
        return p
    }

    /// How a run drives the stages.
    public enum Engine: Sendable {
        /// The stage cores on typed values (`DirectDriver`): the same decisions, orders and fills, at research speed.
        case direct
        /// The stages' `StageLogic`s on wire messages (`EventTimeDriver`), as the services run them; needed for digests.
        case messages
    }

    /// Runs the bars through the stages. `progress` is called with the bars done so far (after each close time).
    ///
    /// Walk-forward (`WalkForward`) also gives `warmUp`, bars before `data` that only the features stage sees (so the
    /// first traded vectors equal those of a features stage that ran all along), and `scheduled` records — each fold's
    /// model activation at its start.
    ///
    /// `digests`: keep the records of `RecordDigest.ledgerTopics` and digest them (`BacktestResult.digests`), as
    /// `quorum replay --digest` does for a cluster run — equal digests, identical decisions, orders and fills. Digests
    /// need the records, so they run on `.messages` whatever `engine` says.
    public func run(_ data: BacktestData, warmUp: [ArchivedBarRecord] = [], scheduled: [EventTimeDriver.Scheduled] = [],
                    digests: Bool = false, engine: Engine = .direct, progress: ((Int) -> Void)? = nil) async throws -> BacktestResult {
        try data.check(config.featureSpec)
        let records = BacktestRecords()
        var pipeline = pipeline(records: records)
        pipeline.modelsArrive = config.walkForward != nil
        let modelsTopic = TopicNamer.live.name(Topic.models)
        if engine == .direct, !digests, scheduled.allSatisfy({ $0.messages.allSatisfy { $0.topic == modelsTopic } }) {
            let activations = scheduled.map { s in
                DirectDriver.ScheduledModels(time: s.time, models: s.messages.map { m in
                    // A record inference would dead-letter (undecodable, an artifact that does not load): nil.
                    do { return try Quorum_V1_ModelEvent(serializedBytes: m.value).activation() } catch { return nil }
                })
            }
            var driver = DirectDriver(pipeline: pipeline, symbols: data.symbols,
                                      sequenceModelsArrive: activations.contains { $0.models.contains { ($0?.model.sequenceLength ?? 1) > 1 } })
            driver.warmUp(warmUp)
            await driver.run(data.bars, scheduled: activations, progress: progress)
            return await BacktestResult(config: config, data: data, exchange: driver.exchange,
                                  records: BacktestRecords.Snapshot(orderRows: driver.orderRows, fills: driver.fills, denials: driver.denials),
                                  decisions: driver.decisions, deadLetters: driver.deadLetters)
        }
        let namer = TopicNamer.live
        var stages = pipeline.stages(symbols: data.symbols, namer: namer)
        if !warmUp.isEmpty {
            guard stages.first is FeaturesStage else { preconditionFailure("the pipeline starts with the features stage") }
            var features = EventTimeDriver(stages: [stages[0]], namer: namer)
            try await features.run(warmUp)
            stages[0] = features.stages[0]
        }
        let kept = digests ? Set(RecordDigest.ledgerTopics.map { namer.name($0) }) : []
        var driver = EventTimeDriver(stages: stages, namer: namer, keep: kept)
        try await driver.run(data.bars, scheduled: scheduled, progress: progress)
        guard let execution = driver.stage(ExecutionStage.self) else { preconditionFailure("the pipeline has an execution stage") }
        let deadLetters = namer.specsWithNames().reduce(0) { $0 + (driver.published[$1.name + Topic.deadLetterSuffix] ?? 0) }
        var result = await BacktestResult(config: config, data: data, exchange: execution.exchange, records: records.snapshot(),
                                    decisions: driver.published[namer.name(Topic.decisions)] ?? 0, deadLetters: deadLetters)
        if digests {
            result.digestLines = try RecordDigest.ledgerTopics.map { spec in
                RecordDigest.line(spec, try RecordDigest.digest(valueType: spec.valueType, values: driver.records(namer.name(spec)).map(\.value)))
            }
        }
        return result
    }

    static func readWholeFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return ferror(f) == 0 ? out : nil
    }
}

/// What execution and risk record during a backtest (in the cluster: Postgres), kept in memory.
public final class BacktestRecords: ExecutionRecordSink, DenialRecordSink {
    public struct Snapshot: Sendable {
        /// Every order state change, in the order execution made them.
        public var orderRows: [OrderRow] = []
        public var fills: [Fill] = []
        public var denials: [OrderDenial] = []

        public init(orderRows: [OrderRow] = [], fills: [Fill] = [], denials: [OrderDenial] = []) {
            self.orderRows = orderRows
            self.fills = fills
            self.denials = denials
        }
    }

    // The driver runs the stages in one task; the lock only makes the sink Sendable, it is never contended.
    private let state = Mutex(Snapshot())

    public init() {}

    public func apply(orders: [OrderRow], fills: [Fill]) async throws {
        state.withLock {
            $0.orderRows += orders
            $0.fills += fills
        }
    }

    public func record(_ denials: [OrderDenial]) async throws {
        state.withLock { $0.denials += denials }
    }

    public func snapshot() -> Snapshot { state.withLock { $0 } }
}
