import QuorumBus
import QuorumFeatures
import QuorumModel
import QuorumProto

/// `quorum-features`: bars → feature vectors (one per bar, warm flag set after the warm-up), latest per symbol
/// in hot state. State (the indicator windows) is rebuilt from the bars topic at start-up.
public struct FeaturesStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-features"
    public static let inputTopics: [TopicSpec] = [Topic.bars]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { true }
    let output: String
    let stamp: EnvelopeStamp
    let hotState: (any HotStateSink)?
    private var core: FeaturesCore
    private var latest: [String: Quorum_V1_FeatureVector] = [:]

    public init(namer: TopicNamer, spec: FeatureSpec = .default, hotState: (any HotStateSink)?, group: String = defaultGroup) {
        self.group = namer.group(group)
        inputs = Self.inputTopics.map(namer.name)
        output = namer.name(Topic.features)
        stamp = EnvelopeStamp(producer: "quorum-features")
        self.hotState = hotState
        core = FeaturesCore(spec: spec)
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        let wire = try message.decode(Quorum_V1_Bar.self)
        let bar = try Bar(wire: wire)
        var outputs: [OutgoingMessage] = []
        let actions: [FeatureAction]
        do { actions = try core.handle(bar) } catch { throw RejectedMessage(.invalid, error.description) }
        for action in actions {
            guard case .publish(let vector) = action, !replaying else { continue }
            let v = vector.wire(spec: core.spec, intervalSeconds: bar.intervalSeconds, stamp: stamp, cause: wire.envelope)
            outputs.append(try OutgoingMessage(topic: output, key: v.symbol, message: v, eventTimeNs: v.envelope.tsEventNs))
            if hotState != nil { latest[v.symbol] = v }
        }
        return .done(message, outputs)
    }

    /// The checkpoint holds the core's indicator state per symbol (`FeaturesCore.encodeState`); one of another feature
    /// spec is not used. Format 2: the indicators' state since the feature engine's speed work (short high-low windows
    /// scanned, ADX/+DI/−DI of one period sharing one node).
    public var stateFormat: Int { 2 }

    public func checkpointState() throws -> [UInt8] { try StateEncoder().encode { try core.encodeState(to: $0) } }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        var restored = core
        do {
            try StateDecoder().restore(from: bytes) { try restored.restoreState(from: $0) }
        } catch let error as FeatureSpecError {
            throw CheckpointMismatch(error.description)
        }
        core = restored
    }

    public mutating func persist() async throws {
        guard let hotState, !latest.isEmpty else { return }
        for (symbol, vector) in latest.sorted(by: { $0.key < $1.key }) {
            try await hotState.setLatestFeatures(symbol: symbol, bytes: try vector.serializedBytes())
        }
        latest = [:]
    }
}
