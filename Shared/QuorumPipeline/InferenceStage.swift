import DequeModule
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumProto
import QuorumStrategy

/// A model that inference can serve, with its registry id.
public struct ServedModel: Sendable {
    public let modelID: String
    public let model: TrainedModel
    /// `model.version`, computed once: it hashes the artifact, far too dear for every prediction that names it.
    public let version: String
    /// Its symbol's activation count when it was activated (the registry's, carried by the models event); 0: not counted.
    public let activationSequence: UInt64

    public init(modelID: String, model: TrainedModel, activationSequence: UInt64 = 0) {
        self.modelID = modelID
        self.model = model
        self.activationSequence = activationSequence
        version = model.version
    }
}

/// `quorum-inference`: scores each warm feature vector with its symbol's active model and publishes a prediction.
///
/// Models come from the registry at start-up (`initialModels`) and from `models` events while running
/// (ACTIVATED with the artifact bytes, or ROLLED_BACK): the swap happens between two messages, without a restart.
/// Vectors of a symbol without a model or not yet warm produce nothing; a vector of another feature spec than its
/// model's is rejected (a dead letter naming both).
///
/// A sequence model (`TrainedModel.sequenceLength` K > 1, e.g. a TCN) scores the symbol's last K warm vectors,
/// concatenated oldest first, as its trainer built its rows (`TrainerCore.windows`): the stage keeps each symbol's last
/// `InferenceCore.historyLimit` warm vectors, and a symbol with fewer than K of them gets no prediction yet. That history is state, so
/// a stage that serves a sequence model at start-up rebuilds it from its inputs (`rebuildsState`).
public struct InferenceStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-inference"
    public static let inputTopics: [TopicSpec] = [Topic.features, Topic.models]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { core.servesSequenceModel }
    let featuresTopic: String
    let output: String
    let stamp = EnvelopeStamp(producer: "quorum-inference")
    let hotState: (any HotStateSink)?
    private var core: InferenceCore
    public var models: [Symbol: ServedModel] { core.models }
    private var changedPointers: [Symbol: String] = [:]
    /// Number of model swaps (for metrics).
    public var swaps: Int { core.swaps }

    public init(namer: TopicNamer, initialModels: [ServedModel], hotState: (any HotStateSink)?, group: String = defaultGroup) {
        self.group = namer.group(group)
        featuresTopic = namer.name(Topic.features)
        inputs = Self.inputTopics.map(namer.name)
        output = namer.name(Topic.predictions)
        self.hotState = hotState
        core = InferenceCore(models: initialModels)
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        if message.topic == featuresTopic {
            let vector = try message.decode(Quorum_V1_FeatureVector.self)
            guard vector.warm else { return .done(message) }
            let scored: InferenceCore.Scored
            do {
                guard let s = try core.score(symbol: Symbol(vector.symbol), values: vector.values, specVersion: vector.featureSpecVersion) else {
                    return .done(message)
                }
                scored = s
            } catch .specMismatch(let served) {
                throw RejectedMessage(.invalid, "vector \(vector.envelope.id) was computed with feature spec "
                    + "\(FeatureSpec.label(vector.featureSpec, vector.featureSpecVersion)), but \(served.modelID) was trained on spec version "
                    + "\(FeatureSpec.label("", UInt32(truncatingIfNeeded: served.model.featureSpecVersion)).dropFirst()) "
                    + "(\(served.model.featureNames.count) features): train a model on the spec the features stage computes (features.spec)")
            } catch .scoring(let served, let error) {
                throw RejectedMessage(.invalid, "cannot score \(vector.envelope.id) with \(served.modelID): \(error)")
            }
            let served = scored.served
            var p = Quorum_V1_Prediction()
            let time = vector.barCloseTime
            p.envelope = stamp.envelope(id: MLPrediction.id(symbol: vector.symbol, time: time, modelVersion: served.version),
                                        tsEvent: time, cause: vector.envelope)
            p.symbol = vector.symbol
            p.modelID = served.modelID
            p.modelVersion = served.version
            p.probUp = scored.probUp
            p.confidence = scored.confidence
            p.barOpenTimeNs = vector.barOpenTimeNs
            p.horizonBars = UInt32(served.model.provenance.horizon)
            return .done(message, [try OutgoingMessage(topic: output, key: p.symbol, message: p, eventTimeNs: time)])
        }
        // models topic
        let event = try message.decode(Quorum_V1_ModelEvent.self)
        guard let served = try event.activation() else { return .done(message) }
        if core.activate(served) { changedPointers[served.model.symbol] = served.modelID }
        return .done(message)
    }

    /// The checkpoint holds each symbol's recent warm vectors (a sequence model's windows); the served models come from
    /// the registry at start-up and from the `models` events after the checkpoint.
    public var stateFormat: Int { 1 }

    public func checkpointState() throws -> [UInt8] { try Self.encodeState(core.recentVectors) }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        core.recentVectors = try Self.decodeState([Symbol: Deque<[Double]>].self, bytes)
    }

    public mutating func persist() async throws {
        guard let hotState, !changedPointers.isEmpty else { return }
        for (symbol, id) in changedPointers.sorted(by: { $0.key < $1.key }) {
            try await hotState.setActiveModel(symbol: symbol.name, modelID: id)
        }
        changedPointers = [:]
    }
}

extension Quorum_V1_ModelEvent {
    /// The model an ACTIVATED or ROLLED_BACK event puts in service (nil for other events). An artifact that does not load
    /// is rejected (a dead letter naming the model).
    public func activation() throws -> ServedModel? {
        guard kind == .activated || kind == .rolledBack, case .artifactBytes(let bytes)? = artifact else { return nil }
        do {
            return ServedModel(modelID: modelID, model: try TrainedModel(artifact: Array(bytes)), activationSequence: activationSequence)
        } catch {
            throw RejectedMessage(.invalid, "model \(modelID): artifact does not load: \(error)")
        }
    }
}
