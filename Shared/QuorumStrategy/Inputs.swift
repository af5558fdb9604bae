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
    public var id: String {
        get {
            switch idForm {
            case .text(let text): text
            case .parts(let prefix, let time, let suffix): "\(prefix)\(time)\(suffix)"
            }
        }
        set { idForm = .text(newValue) }
    }
    public var symbol: Symbol
    /// Close time of the bar the features describe (event time).
    public var time: Nanos
    /// Close price of that bar; becomes the decision's reference price.
    public var close: Fixed
    /// Feature values by name, e.g. `ema_12`, `ema_26`, `rsi_14`, `atr_14`, `vol_20`, `macd_hist`.
    public var values: FeatureValues

    /// The id as given, or as the parts around a number that a backtest keeps instead of writing the id for every bar
    /// (it is hashed into the decision's id piece by piece, `hashID`).
    private enum IDForm: Sendable {
        case text(String)
        case parts(String, Nanos, String)
    }
    private var idForm: IDForm

    public init(id: String, symbol: Symbol, time: Nanos, close: Fixed, values: FeatureValues) {
        idForm = .text(id)
        self.symbol = symbol
        self.time = time
        self.close = close
        self.values = values
    }

    /// A snapshot whose id is `"\(idPrefix)\(idNumber)\(idSuffix)"` (e.g. a vector's `fv-<symbol>-<time>-<spec>`), without
    /// making that text unless `id` is read.
    public init(idPrefix: String, idNumber: Nanos, idSuffix: String, symbol: Symbol, time: Nanos, close: Fixed, values: FeatureValues) {
        idForm = .parts(idPrefix, idNumber, idSuffix)
        self.symbol = symbol
        self.time = time
        self.close = close
        self.values = values
    }

    /// Feeds the id's UTF-8 bytes to `hash`, as `hash.add(id)` would.
    func hashID(into hash: inout StableHash) {
        switch idForm {
        case .text(let text): hash.add(text)
        case .parts(let prefix, let number, let suffix):
            hash.add(prefix)
            hash.add(number)
            hash.add(suffix)
        }
    }

    public static func == (a: FeatureSnapshot, b: FeatureSnapshot) -> Bool {
        a.id == b.id && a.symbol == b.symbol && a.time == b.time && a.close == b.close && a.values == b.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(symbol)
        hasher.combine(time)
    }

    private enum CodingKeys: String, CodingKey { case id, symbol, time, close, values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id), symbol: try c.decode(Symbol.self, forKey: .symbol),
                  time: try c.decode(Nanos.self, forKey: .time), close: try c.decode(Fixed.self, forKey: .close),
                  values: try c.decode(FeatureValues.self, forKey: .values))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(time, forKey: .time)
        try c.encode(close, forKey: .close)
        try c.encode(values, forKey: .values)
    }
}

/// The names of a feature spec's columns, made once per spec and shared by every vector's `FeatureValues`.
public final class FeatureColumns: Sendable {
    public let names: [String]
    let index: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    /// The column of a name: for a few columns a scan (comparing short names is cheaper than hashing one), else the index.
    @inline(__always)
    func column(of name: String) -> Int? {
        guard names.count <= 8 else { return index[name] }
        return names.firstIndex(of: name)
    }
}

/// One vector's values, read by feature name: the vector's own array under its spec's shared column names, so a
/// snapshot costs no dictionary per bar.
public struct FeatureValues: Sendable, Hashable, Codable, ExpressibleByDictionaryLiteral {
    public let columns: FeatureColumns
    /// Parallel to `columns.names`.
    public let values: [Double]

    public init(columns: FeatureColumns, values: [Double]) {
        precondition(columns.names.count == values.count, "FeatureValues: \(values.count) values for \(columns.names.count) columns")
        self.columns = columns
        self.values = values
    }

    public init(_ named: [String: Double]) {
        let names = named.keys.sorted()
        self.init(columns: FeatureColumns(names), values: names.map { named[$0]! })
    }

    public init(dictionaryLiteral elements: (String, Double)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public subscript(name: String) -> Double? {
        guard let i = columns.column(of: name) else { return nil }
        return values[i]
    }

    /// Name → value (the first column of a repeated name).
    public var dictionary: [String: Double] { columns.index.mapValues { values[$0] } }

    public static func == (a: FeatureValues, b: FeatureValues) -> Bool {
        (a.columns === b.columns || a.columns.names == b.columns.names) ? a.values == b.values : a.dictionary == b.dictionary
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in dictionary.sorted(by: { $0.key < $1.key }) {
            hasher.combine(name)
            hasher.combine(value)
        }
    }

    /// Coded as an object of name → value in column order (a decoder that keeps key order, as checkpoints'
    /// `StateDecoder` does, gives back the same columns in the same order; JSON gives back the same names and values).
    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Name.self)
        let names = c.allKeys.map(\.stringValue)
        self.init(columns: FeatureColumns(names), values: try names.map { try c.decode(Double.self, forKey: Name(stringValue: $0)) })
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Name.self)
        var written = Set<String>()
        for (name, value) in zip(columns.names, values) where written.insert(name).inserted {
            try c.encode(value, forKey: Name(stringValue: name))
        }
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

    /// The id inference gives the prediction of a model version for a symbol's bar.
    public static func id(symbol: String, time: Nanos, modelVersion: String) -> String { "pr-\(symbol)-\(time)-\(modelVersion)" }
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
    /// What the opinion was based on; `note` is its text.
    public var detail: SignalNote

    /// Short human-readable explanation, e.g. "ema_12 101.2 > ema_26 100.4".
    public var note: String { detail.description }

    public init(source: String, symbol: Symbol, time: Nanos, direction: Direction, strength: Double, confidence: Double,
                detail: SignalNote) {
        self.source = source
        self.symbol = symbol
        self.time = time
        self.direction = direction
        self.strength = strength
        self.confidence = confidence
        self.detail = detail
    }

    public init(source: String, symbol: Symbol, time: Nanos, direction: Direction, strength: Double, confidence: Double, note: String = "") {
        self.init(source: source, symbol: symbol, time: time, direction: direction, strength: strength, confidence: confidence,
                  detail: .text(note))
    }
}

/// What a signal was based on, kept as values and written out only when read: numbers are formatted for the records
/// that show them (signals, decision reasons), never for a backtest that does not publish them.
public enum SignalNote: Sendable, Hashable, Codable, CustomStringConvertible {
    case text(String)
    /// Two features compared, e.g. "ema_12 101.2 > ema_26 100.4".
    case comparison(String, Double, String, Double)
    /// A feature against its bands, e.g. "rsi_14 25.0 (bands 30.0/70.0)".
    case bands(String, Double, lower: Double, upper: Double)
    /// The model's probability up (3 decimals).
    case model(String, probUp: Double)

    public var description: String {
        switch self {
        case .text(let text): text
        case .comparison(let a, let x, let b, let y): "\(a) \(x) \(x > y ? ">" : x < y ? "<" : "=") \(b) \(y)"
        case .bands(let key, let value, let lower, let upper): "\(key) \(value) (bands \(lower)/\(upper))"
        case .model(let id, let probUp): "model \(id) probUp \(ConsensusCore.format(probUp))"
        }
    }
}

/// What consensus tells risk to do.
public enum DecisionAction: String, Sendable, Hashable, Codable {
    case buy, sell, hold
}

/// The combined decision for one bar of one symbol (published on `decisions`).
public struct Decision: Sendable, Hashable, Codable {
    /// Deterministic from the inputs (symbol, bar time, feature id, prediction id): a replay reproduces it. Kept as a
    /// `CompactID` ("d-" and a hash: no string is made per decision unless its text is read); `id` is its text.
    public var key: CompactID
    /// The decision id as text.
    public var id: String {
        get { key.text }
        set { key = CompactID(newValue) }
    }
    public var symbol: Symbol
    /// Bar close time the decision was made at.
    public var time: Nanos
    public var action: DecisionAction
    /// Where the position should point after acting. For `.hold` this is the direction the vote leaned
    /// (informational only; risk ignores hold decisions).
    public var targetDirection: Direction
    /// |vote score| in 0...1.
    public var confidence: Double
    /// What the vote was made of; `reasons` is its text.
    public var basis: DecisionBasis
    /// Close of the decided bar.
    public var referencePrice: Fixed
    /// `atr_14` of the decided bar when present; risk derives the stop distance from it.
    public var atr: Double?

    /// Why, one line per fact (each source's vote, threshold, conflict).
    public var reasons: [String] { basis.reasons }

    /// Coded as before the id was compact: the id's text under "id".
    private enum CodingKeys: String, CodingKey {
        case key = "id", symbol, time, action, targetDirection, confidence, basis, referencePrice, atr
    }

    public init(id: String, symbol: Symbol, time: Nanos, action: DecisionAction, targetDirection: Direction,
                confidence: Double, basis: DecisionBasis, referencePrice: Fixed, atr: Double?) {
        self.init(key: CompactID(id), symbol: symbol, time: time, action: action, targetDirection: targetDirection,
                  confidence: confidence, basis: basis, referencePrice: referencePrice, atr: atr)
    }

    public init(key: CompactID, symbol: Symbol, time: Nanos, action: DecisionAction, targetDirection: Direction,
                confidence: Double, basis: DecisionBasis, referencePrice: Fixed, atr: Double?) {
        self.key = key
        self.symbol = symbol
        self.time = time
        self.action = action
        self.targetDirection = targetDirection
        self.confidence = confidence
        self.basis = basis
        self.referencePrice = referencePrice
        self.atr = atr
    }
}

/// The facts behind a decision, as values: each source's signal with its weight, and how the vote came out. Turned
/// into text (`reasons`) only for the records that show it.
public struct DecisionBasis: Sendable, Hashable, Codable {
    public var signals: [SignalOut]
    /// Weight per source name, and of the sources not named (`ConsensusConfig.weights`, `defaultWeight`).
    public var weights: [String: Double]
    public var defaultWeight: Double
    public var outcome: Outcome

    public enum Outcome: Sendable, Hashable, Codable {
        /// The model and these confident rules point in opposite directions.
        case conflict(ml: Direction, against: [SignalOut], conflictConfidence: Double)
        case belowThreshold(score: Double, threshold: Double)
        case long(score: Double, threshold: Double)
        /// A short vote in long-only mode: go flat.
        case flat(score: Double, threshold: Double)
        case short(score: Double, threshold: Double)
    }

    public init(signals: [SignalOut], weights: [String: Double], defaultWeight: Double, outcome: Outcome) {
        self.signals = signals
        self.weights = weights
        self.defaultWeight = defaultWeight
        self.outcome = outcome
    }

    public var reasons: [String] {
        let f = ConsensusCore.format
        var lines = signals.map { s in
            "\(s.source): \(s.direction.rawValue) conf \(f(s.confidence)) weight \(f(weights[s.source] ?? defaultWeight)) (\(s.note))"
        }
        switch outcome {
        case .conflict(let ml, let against, let confidence):
            lines.append("conflict: ml \(ml.rawValue) vs " + against.map { "\($0.source) \($0.direction.rawValue)" }.joined(separator: ", ")
                + " (both ≥ \(f(confidence)) confident) → hold")
        case .belowThreshold(let score, let threshold): lines.append("score \(f(score)) below threshold \(f(threshold)) → hold")
        case .long(let score, let threshold): lines.append("score \(f(score)) ≥ threshold \(f(threshold)) → long")
        case .flat(let score, let threshold): lines.append("score \(f(score)) ≤ −threshold \(f(threshold)), long-only → flat")
        case .short(let score, let threshold): lines.append("score \(f(score)) ≤ −threshold \(f(threshold)) → short")
        }
        return lines
    }
}

/// 64-bit FNV-1a over UTF-8 bytes: stable across processes and platforms (unlike `Hasher`), so ids derived
/// from it survive restarts and replays. Fed piece by piece (`add`), it hashes the text the pieces would make without
/// making it.
struct StableHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { for byte in $0 { add(byte) } }
    }

    mutating func add(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01b3
    }

    /// The decimal digits of `n`, as `"\(n)"` writes them: made into a stack buffer from the end, two digits per
    /// division, then hashed in order (a decision hashes two 19-digit times: this was most of what deciding cost).
    mutating func add(_ n: Int64) {
        if n < 0 { add(UInt8(ascii: "-")) }
        var m = n.magnitude
        // 20 digits at most (UInt64.max), written backwards into 24 bytes of stack.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { bytes in
            var start = bytes.count
            while m >= 100 {
                let pair = Int(m % 100)
                m /= 100
                start -= 2
                bytes[start] = UInt8(truncatingIfNeeded: 48 + pair / 10)
                bytes[start + 1] = UInt8(truncatingIfNeeded: 48 + pair % 10)
            }
            if m >= 10 {
                start -= 2
                bytes[start] = UInt8(truncatingIfNeeded: 48 + m / 10)
                bytes[start + 1] = UInt8(truncatingIfNeeded: 48 + m % 10)
            } else {
                start -= 1
                bytes[start] = UInt8(truncatingIfNeeded: 48 + m)
            }
            var h = value
            for k in start..<bytes.count {
                h ^= UInt64(bytes[k])
                h = h &* 0x0000_0100_0000_01b3
            }
            value = h
        }
    }
}
