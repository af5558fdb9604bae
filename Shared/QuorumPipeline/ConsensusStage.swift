import QuorumBus
import QuorumFeatures
import QuorumModel
import QuorumProto
import QuorumStrategy

/// `quorum-consensus`: joins each bar's features (rule strategies) with the model's prediction and publishes
/// every source's signal and one decision per joined bar. The pending joins are rebuilt from the inputs at start-up.
public struct ConsensusStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-consensus"
    public static let inputTopics: [TopicSpec] = [Topic.features, Topic.predictions]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { true }
    let featuresTopic: String
    let signalsTopic: String
    let decisionsTopic: String
    let stamp = EnvelopeStamp(producer: "quorum-consensus")
    private var core: ConsensusCore
    /// The feature spec the features stage computes (`features.spec`): names the vectors' values for the rules.
    let spec: FeatureSpec
    let columns: FeatureColumns
    private var intervals: [Symbol: Int64] = [:]
    /// Envelopes of predictions not yet decided, by symbol and bar time: a decision's cause is always its prediction
    /// (not whichever input happened to arrive second), so replays give identical envelopes. Rules only
    /// (`ConsensusConfig.rulesOnly`): the features vector's envelope, the decision's only input.
    private var predictionEnvelopes: [Symbol: [Nanos: Quorum_V1_Envelope]] = [:]

    /// - Parameter rules: the rule strategies that vote beside the model (default: EMA crossover and RSI mean reversion).
    public init(namer: TopicNamer, config: ConsensusConfig = ConsensusConfig(), spec: FeatureSpec = .default,
                rules: [any RuleStrategy] = [EMACrossoverRule(), RSIMeanReversionRule()], group: String = defaultGroup) {
        self.group = namer.group(group)
        featuresTopic = namer.name(Topic.features)
        inputs = Self.inputTopics.map(namer.name)
        signalsTopic = namer.name(Topic.signals)
        decisionsTopic = namer.name(Topic.decisions)
        core = ConsensusCore(config: config, rules: rules)
        self.spec = spec
        columns = FeatureColumns(spec.names)
    }

    /// The checkpoint: the core's pending joins, the bar intervals and the envelopes of the inputs not yet decided.
    struct State: Codable {
        var core: ConsensusCore.Memory
        var intervals: [Symbol: Int64]
        var envelopes: [Symbol: [Nanos: StateWire<Quorum_V1_Envelope>]]
    }

    public var stateFormat: Int { 1 }

    public func checkpointState() throws -> [UInt8] {
        try Self.encodeState(State(core: core.memory, intervals: intervals,
                                   envelopes: predictionEnvelopes.mapValues { $0.mapValues(StateWire.init) }))
    }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        let state = try Self.decodeState(State.self, bytes)
        core.memory = state.core
        intervals = state.intervals
        predictionEnvelopes = state.envelopes.mapValues { $0.mapValues(\.message) }
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        let actions: [ConsensusAction]
        if message.topic == featuresTopic {
            let vector = try message.decode(Quorum_V1_FeatureVector.self)
            // Cold vectors have undefined indicators: rules would read garbage; the model does not score them either.
            guard vector.warm else { return .done(message) }
            intervals[Symbol(vector.symbol)] = Int64(vector.intervalSeconds)
            let snapshot = try vector.snapshot(spec: spec, columns: columns)
            if core.config.rulesOnly { predictionEnvelopes[snapshot.symbol, default: [:]][snapshot.time] = vector.envelope }
            actions = core.handle(.features(snapshot))
        } else {
            if core.config.rulesOnly { return .done(message) }
            let prediction = try message.decode(Quorum_V1_Prediction.self)
            let p = prediction.mlPrediction()
            predictionEnvelopes[p.symbol, default: [:]][p.time] = prediction.envelope
            actions = core.handle(.prediction(p))
        }
        var decided: [(Symbol, Nanos)] = []
        defer {
            for (symbol, time) in decided { predictionEnvelopes[symbol]?[time] = nil }
        }
        for action in actions { if case .decision(let d) = action { decided.append((d.symbol, d.time)) } }
        guard !replaying else { return .done(message) }
        var outputs: [OutgoingMessage] = []
        for action in actions {
            let (symbol, time): (Symbol, Nanos)
            switch action {
            case .signal(let s): (symbol, time) = (s.symbol, s.time)
            case .decision(let d): (symbol, time) = (d.symbol, d.time)
            }
            guard let cause = predictionEnvelopes[symbol]?[time] else { continue }
            switch action {
            case .signal(let s):
                let w = s.wire(intervalSeconds: intervals[s.symbol] ?? 0, stamp: stamp, cause: cause)
                outputs.append(try OutgoingMessage(topic: signalsTopic, key: w.symbol, message: w, eventTimeNs: s.time))
            case .decision(let d):
                let w = d.wire(intervalSeconds: intervals[d.symbol] ?? 0, stamp: stamp, cause: cause)
                outputs.append(try OutgoingMessage(topic: decisionsTopic, key: w.symbol, message: w, eventTimeNs: d.time))
            }
        }
        return .done(message, outputs)
    }
}
