import DequeModule
import QuorumML
import QuorumModel

/// What inference does with a symbol's warm feature vectors, without the wire: the models served per symbol, the
/// recent vectors a sequence model reads, the swap when a model is activated. `InferenceStage` maps it to and from
/// messages; a backtest's `DirectDriver` calls it on typed values.
public struct InferenceCore: Sendable {
    /// Warm vectors kept per symbol: the longest window a sequence model may ask for (`TCNHyperparameters`).
    public static let historyLimit = 256
    public private(set) var models: [Symbol: ServedModel]
    /// Whether warm vectors are remembered for sequence models. The stage always keeps them (a sequence model may be
    /// activated at any time); a run that knows it serves none may skip them.
    let keepsHistory: Bool
    private var history: [Symbol: Deque<[Double]>] = [:]
    /// Number of model swaps (for metrics).
    public private(set) var swaps = 0

    /// Why a vector cannot be scored (the stage dead-letters it).
    public enum Problem: Error, Sendable {
        /// The model was trained on vectors of another feature spec (its version).
        case specMismatch(ServedModel)
        case scoring(ServedModel, MLError)
    }

    public struct Scored: Sendable {
        public var served: ServedModel
        public var probUp: Double
        public var confidence: Double
    }

    public init(models: [ServedModel], keepsHistory: Bool = true) {
        var bySymbol: [Symbol: ServedModel] = [:]
        for m in models { bySymbol[m.model.symbol] = m }
        self.models = bySymbol
        self.keepsHistory = keepsHistory
    }

    /// The warm vectors remembered per symbol, oldest first (a checkpoint's content: the models come from the registry).
    public var recentVectors: [Symbol: Deque<[Double]>] {
        get { history }
        set { history = newValue }
    }

    /// Whether a served model reads a window of vectors (its history is then state to rebuild).
    public var servesSequenceModel: Bool { models.values.contains { $0.model.sequenceLength > 1 } }

    /// A symbol's warm vector (computed with the spec of content hash `specVersion`): remembered for sequence models,
    /// then scored with the symbol's model. nil when the symbol has no model or a sequence model does not have its
    /// first window yet.
    public mutating func score(symbol: Symbol, values: [Double], specVersion: UInt32) throws(Problem) -> Scored? {
        var recent: Deque<[Double]> = []
        if keepsHistory {
            recent = history.removeValue(forKey: symbol) ?? []
            recent.append(values)
            if recent.count > Self.historyLimit { recent.removeFirst() }
            history[symbol] = recent
        }
        guard let served = models[symbol] else { return nil }
        guard served.model.featureSpecVersion == Int(specVersion) else { throw .specMismatch(served) }
        let k = served.model.sequenceLength
        guard k == 1 || recent.count >= k else { return nil }  // a sequence model waits for its first window
        let input = k == 1 ? values : recent.suffix(k).flatMap { $0 }
        do {
            let scored = try served.model.score(input)
            return Scored(served: served, probUp: scored.probUp, confidence: scored.confidence)
        } catch {
            throw .scoring(served, error)
        }
    }

    /// A model activated (or rolled back to) for its symbol. Returns whether the served model changed (an event for the
    /// model already served changes nothing, nor does one of an earlier activation than the served model's: two trainer
    /// workers' events can arrive in either order, and the registry's count says which is the latest).
    public mutating func activate(_ served: ServedModel) -> Bool {
        let current = models[served.model.symbol]
        guard current?.modelID != served.modelID else { return false }
        if let current, served.activationSequence > 0, current.activationSequence > served.activationSequence { return false }
        models[served.model.symbol] = served
        swaps += 1
        return true
    }
}
