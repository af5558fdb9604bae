import QuorumModel

/// Direction a source wants the position to point: long, short or flat (no position).
public enum Direction: String, Sendable, Hashable, Codable {
    case long, short, flat

    /// +1 for long, -1 for short, 0 for flat.
    public var sign: Int {
        switch self {
        case .long: 1
        case .short: -1
        case .flat: 0
        }
    }
}

/// The feature vector of one bar, as published by quorum-features on `features`.
public struct FeatureSnapshot: Sendable, Hashable, Codable {
    /// Message id (envelope id); redelivery carries the same id.
    public var id: String
    public var symbol: Symbol
    /// Close time of the bar the features describe (event time).
    public var time: Nanos
    /// Close price of that bar; becomes the decision's reference price.
    public var close: Fixed
    /// Feature values by name, e.g. `ema_12`, `ema_26`, `rsi_14`, `atr_14`, `vol_20`, `macd_hist`.
    public var values: [String: Double]

    public init(id: String, symbol: Symbol, time: Nanos, close: Fixed, values: [String: Double]) {
        self.id = id
        self.symbol = symbol
        self.time = time
        self.close = close
        self.values = values
    }
}

/// One model's prediction for one bar, as published by quorum-inference on `predictions`.
public struct MLPrediction: Sendable, Hashable, Codable {
    /// Message id (envelope id); redelivery carries the same id.
    public var id: String
    public var symbol: Symbol
    /// Close time of the bar the prediction was made from (event time); joins with `FeatureSnapshot.time`.
    public var time: Nanos
    /// Probability that the next bar closes higher, in 0...1.
    public var probUp: Double
    /// The model's confidence in this prediction, in 0...1.
    public var confidence: Double
    public var modelID: String

    public init(id: String, symbol: Symbol, time: Nanos, probUp: Double, confidence: Double, modelID: String) {
        self.id = id
        self.symbol = symbol
        self.time = time
        self.probUp = probUp
        self.confidence = confidence
        self.modelID = modelID
    }
}

/// One source's opinion on one bar (published on `signals`).
public struct SignalOut: Sendable, Hashable, Codable {
    /// Source name: a rule's `name` or `"ml"`. Weights in `ConsensusConfig.weights` use these names.
    public var source: String
    public var symbol: Symbol
    public var time: Nanos
    public var direction: Direction
    /// How strongly the source leans, in 0...1 (informational; the vote uses `confidence`).
    public var strength: Double
    /// How much the source trusts this opinion, in 0...1; the vote weight is `weight × confidence`.
    public var confidence: Double
    /// Short human-readable explanation, e.g. "ema_12 101.2 > ema_26 100.4".
    public var note: String

    public init(source: String, symbol: Symbol, time: Nanos, direction: Direction, strength: Double, confidence: Double, note: String = "") {
        self.source = source
        self.symbol = symbol
        self.time = time
        self.direction = direction
        self.strength = strength
        self.confidence = confidence
        self.note = note
    }
}

/// What consensus tells risk to do.
public enum DecisionAction: String, Sendable, Hashable, Codable {
    case buy, sell, hold
}

/// The combined decision for one bar of one symbol (published on `decisions`).
public struct Decision: Sendable, Hashable, Codable {
    /// Deterministic from the inputs (symbol, bar time, feature id, prediction id): a replay reproduces it.
    public var id: String
    public var symbol: Symbol
    /// Bar close time the decision was made at.
    public var time: Nanos
    public var action: DecisionAction
    /// Where the position should point after acting. For `.hold` this is the direction the vote leaned
    /// (informational only; risk ignores hold decisions).
    public var targetDirection: Direction
    /// |vote score| in 0...1.
    public var confidence: Double
    /// Why, one line per fact (each source's vote, threshold, conflict).
    public var reasons: [String]
    /// Close of the decided bar.
    public var referencePrice: Fixed
    /// `atr_14` of the decided bar when present; risk derives the stop distance from it.
    public var atr: Double?

    public init(id: String, symbol: Symbol, time: Nanos, action: DecisionAction, targetDirection: Direction,
                confidence: Double, reasons: [String], referencePrice: Fixed, atr: Double?) {
        self.id = id
        self.symbol = symbol
        self.time = time
        self.action = action
        self.targetDirection = targetDirection
        self.confidence = confidence
        self.reasons = reasons
        self.referencePrice = referencePrice
        self.atr = atr
    }
}

/// 64-bit FNV-1a over UTF-8 bytes: stable across processes and platforms (unlike `Hasher`), so ids derived
/// from it survive restarts and replays.
enum StableHash {
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// 16 lowercase hex digits.
    static func hex(_ text: String) -> String {
        let h = String(fnv1a(text), radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
}
