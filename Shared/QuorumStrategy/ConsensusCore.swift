import QuorumModel

/// Settings of the consensus stage.
public struct ConsensusConfig: Sendable, Hashable {
    /// Weight per source name (`"ml"` for the model, a rule's `name` for rules). Missing names weigh `defaultWeight`.
    public var weights: [String: Double]
    public var defaultWeight: Double
    /// |score| at or above which the vote acts (0...1); below it the decision is hold.
    public var threshold: Double
    /// A source is "confident" at or above this confidence; when the model and a rule are both confident
    /// and point in opposite non-flat directions the decision is hold (conflict).
    public var conflictConfidence: Double
    /// Spot mode: a short vote becomes "go flat" (sell what is held) instead of a short position.
    public var longOnly: Bool
    /// How many distinct bar times per symbol are remembered (pending joins and already-decided bars).
    /// Older ones are dropped, and messages for bars older than the oldest remembered one are ignored.
    public var maxPendingBars: Int
    /// Rules only (no model): each bar is decided on its features alone, as soon as they arrive, by the rule
    /// strategies; predictions are ignored. Default false (each bar waits for its model's prediction).
    public var rulesOnly: Bool

    public init(weights: [String: Double] = [:], defaultWeight: Double = 1, threshold: Double = 0.3,
                conflictConfidence: Double = 0.6, longOnly: Bool = true, maxPendingBars: Int = 100_000, rulesOnly: Bool = false) {
        precondition(maxPendingBars >= 1, "ConsensusConfig.maxPendingBars must be at least 1, got \(maxPendingBars)")
        self.weights = weights
        self.defaultWeight = defaultWeight
        self.threshold = threshold
        self.conflictConfidence = conflictConfidence
        self.longOnly = longOnly
        self.maxPendingBars = maxPendingBars
        self.rulesOnly = rulesOnly
    }

    public func weight(of source: String) -> Double { weights[source] ?? defaultWeight }
}

/// What the consensus core receives.
public enum ConsensusEvent: Sendable, Hashable {
    case features(FeatureSnapshot)
    case prediction(MLPrediction)
}

/// What the consensus core asks its host to publish.
public enum ConsensusAction: Sendable, Hashable {
    /// One source's opinion on the joined bar (topic `signals`).
    case signal(SignalOut)
    /// The combined decision (topic `decisions`).
    case decision(Decision)
}

/// The consensus stage core: joins each bar's features (rule signals) with the model's prediction for the
/// same symbol and bar time, and combines them into one decision.
///
/// - Join: whichever of features/prediction arrives second triggers the vote; each bar is decided once. With
///   `rulesOnly` the features alone trigger it (no model; predictions are ignored).
/// - Vote: `score = Σ wᵢ·cᵢ·sᵢ / Σ wᵢ` over sources with an opinion (confidence > 0), where `w` is the
///   source weight, `c` its confidence and `s` its direction sign (+1 long, −1 short, 0 flat).
///   `|score| ≥ threshold` acts in the sign's direction; otherwise hold.
/// - Conflict: the model and any rule both at least `conflictConfidence` confident, in opposite directions → hold.
/// - Idempotent: a message id seen before, or any message for an already-decided bar, produces nothing.
/// - Bounded: at most `maxPendingBars` bar times per symbol are remembered.
public struct ConsensusCore: Sendable {
    public let config: ConsensusConfig
    public let rules: [any RuleStrategy]

    /// Per symbol: remembered bars, oldest first.
    private var bars: [Symbol: Window] = [:]
    /// Bars older than the newest prediction kept without a prediction of their own (see `handle`).
    private let predictionSlack = 64
    /// Per symbol: messages for bars older than this are late and ignored (set when slots are evicted).
    private var watermark: [Symbol: Nanos] = [:]

    struct BarSlot: Sendable, Codable {
        var time: Nanos
        var features: FeatureSnapshot?
        var prediction: MLPrediction?
        var decided = false
    }

    /// The remembered bars of one symbol, sorted by time: `slots[head...]` (dropping the oldest is O(1)).
    struct Window: Sendable, Codable {
        var slots: [BarSlot] = []
        var head = 0
        /// Every slot in `slots[head..<clean]` is a prediction waiting for its features: the slots the prediction slack
        /// keeps (see `ConsensusCore.handle`), already sorted out. Only what follows is looked at again, so a long run of
        /// predictions ahead of their features (a stage rebuilding its state reads one input topic ahead of the other)
        /// costs O(1) per event instead of a scan of the whole run. Lowered whenever a slot below it changes; not part of
        /// a checkpoint (a restored window starts with nothing sorted out).
        var clean = 0

        enum CodingKeys: String, CodingKey { case slots, head }

        var count: Int { slots.count - head }

        static func waitsForFeatures(_ slot: BarSlot) -> Bool { slot.prediction != nil && !slot.decided }

        /// Index of the first slot with `time >= t` (binary search).
        func lowerBound(_ t: Nanos) -> Int {
            var lo = head
            var hi = slots.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if slots[mid].time < t { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        /// A slot at `index` was inserted or changed.
        mutating func touched(_ index: Int) {
            if index < clean { clean = index }
        }

        /// Drops every slot before `index`.
        mutating func dropAll(upTo index: Int) {
            guard index > head else { return }
            head = index
            clean = max(clean, head)
            compact()
        }

        /// Drops the slots before `index` that do not wait for their features. The survivors keep their order and move
        /// up against `index` (no slot after `index` moves).
        mutating func dropUnpredicted(upTo index: Int) {
            let start = max(clean, head)
            guard index > start else { return }
            let kept = slots[start..<index].filter(Self.waitsForFeatures)
            if kept.count < index - start {
                let survivors = Array(slots[head..<start]) + kept
                let newHead = index - survivors.count
                slots.replaceSubrange(newHead..<index, with: survivors)
                head = newHead
            }
            clean = index
            compact()
        }

        private mutating func compact() {
            if head > 4096, head * 2 > slots.count {
                slots.removeFirst(head)
                clean -= head
                head = 0
            }
        }
    }

    /// What the core remembers (the configuration and rules are not part of it): a checkpoint's content.
    public struct Memory: Sendable, Codable {
        var bars: [Symbol: Window]
        var watermark: [Symbol: Nanos]
    }

    public var memory: Memory {
        get { Memory(bars: bars, watermark: watermark) }
        set { (bars, watermark) = (newValue.bars, newValue.watermark) }
    }

    public init(config: ConsensusConfig = ConsensusConfig(), rules: [any RuleStrategy] = [EMACrossoverRule(), RSIMeanReversionRule()]) {
        self.config = config
        self.rules = rules
    }

    /// Number of remembered bar slots for a symbol (for tests and metrics).
    public func rememberedBars(for symbol: Symbol) -> Int { bars[symbol]?.count ?? 0 }

    /// Feeds one event; returns the signals and decision to publish (empty while a join is incomplete,
    /// for redeliveries and for late messages). O(log n) in the number of remembered bars.
    public mutating func handle(_ event: ConsensusEvent) -> [ConsensusAction] {
        if config.rulesOnly {
            // Nothing to join: one decision per features snapshot (a redelivered one repeats the same decision, whose
            // id is derived from the snapshot, so risk drops it).
            guard case .features(let f) = event else { return [] }
            return decide(features: f, prediction: nil)
        }
        let symbol: Symbol
        let time: Nanos
        switch event {
        case .features(let f): (symbol, time) = (f.symbol, f.time)
        case .prediction(let p): (symbol, time) = (p.symbol, p.time)
        }
        if let mark = watermark[symbol], time < mark { return [] }

        // Taken out of the dictionary while it is changed, so the array is not copied.
        var window = bars.removeValue(forKey: symbol) ?? Window()
        defer { bars[symbol] = window }
        var index = window.lowerBound(time)
        if index == window.slots.count || window.slots[index].time != time {
            // Keep slots sorted by time (appending is the usual case; out-of-order arrivals insert).
            window.slots.insert(BarSlot(time: time), at: index)
            window.touched(index)
        }

        var slot = window.slots[index]
        var actions: [ConsensusAction] = []
        if !slot.decided {
            switch event {
            case .features(let f):
                if slot.features == nil { slot.features = f }
            case .prediction(let p):
                if slot.prediction == nil { slot.prediction = p }
            }
            if let f = slot.features, let p = slot.prediction {
                actions = decide(features: f, prediction: p)
                slot.decided = true
                // The inputs are no longer needed; keep only the "decided" marker.
                slot.features = nil
                slot.prediction = nil
            }
        }
        window.slots[index] = slot
        if !Window.waitsForFeatures(slot) { window.touched(index) }

        // Predictions of a symbol normally arrive in bar order (one partition), each after its own features, so bars
        // well behind the newest prediction that have none will never get one (no model was active for them).
        // Keep the `predictionSlack` newest of those (for out-of-order arrivals); drop the rest, but never a slot
        // whose prediction waits for its features. This bounds memory when features run far ahead of predictions.
        if case .prediction = event, index - window.head > predictionSlack {
            window.dropUnpredicted(upTo: index - predictionSlack)
            index = window.lowerBound(time)
        }

        // Bound memory: drop the oldest slots and remember where the window starts.
        if window.count > config.maxPendingBars {
            window.dropAll(upTo: window.head + window.count - config.maxPendingBars)
            watermark[symbol] = window.slots[window.head].time
        }
        return actions
    }

    /// The vote for one joined bar (or, without a prediction, the rules' vote alone). Pure: depends only on the inputs
    /// and the configuration. The reasons are kept as values (`Decision.basis`) and written out when a record shows them.
    public func decide(features: FeatureSnapshot, prediction: MLPrediction?) -> [ConsensusAction] {
        let decision = decision(features: features, prediction: prediction)
        var actions: [ConsensusAction] = []
        actions.reserveCapacity(decision.basis.signals.count + 1)
        for signal in decision.basis.signals { actions.append(.signal(signal)) }
        actions.append(.decision(decision))
        return actions
    }

    /// The decision `decide` makes, without its signals as separate actions (they are in its basis): what a host that
    /// does not publish signals needs, e.g. a backtest in rules-only mode, where `handle(.features(f))` is
    /// `decide(features: f, prediction: nil)`.
    public func decision(features: FeatureSnapshot, prediction: MLPrediction?) -> Decision {
        let ml = prediction.map(Self.signal(from:))
        var all: [SignalOut] = []
        all.reserveCapacity(rules.count + 1)
        if let ml { all.append(ml) }
        let firstRule = all.count
        // By index: `for rule in rules` would copy each rule out of its existential box first.
        for k in rules.indices { if let s = rules[k].evaluate(features) { all.append(s) } }

        var numerator = 0.0
        var denominator = 0.0
        for s in all {
            let w = config.weights.isEmpty ? config.defaultWeight : config.weight(of: s.source)
            guard s.confidence > 0, w > 0 else { continue }
            numerator += w * s.confidence * Double(s.direction.sign)
            denominator += w
        }
        let score = denominator > 0 ? numerator / denominator : 0
        let leaning: Direction = score > 0 ? .long : score < 0 ? .short : .flat

        var conflicting: [SignalOut] = []
        if let ml, ml.direction != .flat, ml.confidence >= config.conflictConfidence {
            conflicting = all[firstRule...].filter {
                $0.direction != .flat && $0.direction != ml.direction && $0.confidence >= config.conflictConfidence
            }
        }

        let action: DecisionAction
        let target: Direction
        let outcome: DecisionBasis.Outcome
        if let ml, !conflicting.isEmpty {
            (action, target) = (.hold, leaning)
            outcome = .conflict(ml: ml.direction, against: conflicting, conflictConfidence: config.conflictConfidence)
        } else if abs(score) < config.threshold || leaning == .flat {
            (action, target) = (.hold, leaning)
            outcome = .belowThreshold(score: score, threshold: config.threshold)
        } else if leaning == .long {
            (action, target) = (.buy, .long)
            outcome = .long(score: score, threshold: config.threshold)
        } else if config.longOnly {
            (action, target) = (.sell, .flat)
            outcome = .flat(score: score, threshold: config.threshold)
        } else {
            (action, target) = (.sell, .short)
            outcome = .short(score: score, threshold: config.threshold)
        }

        // "d-" + the hash of "symbol|time|feature id|prediction id"; rules-only decisions have no prediction: their id
        // says so instead of a prediction id.
        var hash = StableHash()
        hash.add(features.symbol.name)
        hash.add(UInt8(ascii: "|"))
        hash.add(features.time)
        hash.add(UInt8(ascii: "|"))
        features.hashID(into: &hash)
        hash.add(UInt8(ascii: "|"))
        hash.add(prediction?.id ?? "rules-only")
        return Decision(key: CompactID(prefix: "d", hash: hash.value), symbol: features.symbol, time: features.time, action: action,
                        targetDirection: target, confidence: min(1, abs(score)),
                        basis: DecisionBasis(signals: all, weights: config.weights, defaultWeight: config.defaultWeight, outcome: outcome),
                        referencePrice: features.close, atr: features.values["atr_14"])
    }

    /// The model's opinion as a signal: long when `probUp > 0.5`, short when below, flat at exactly 0.5;
    /// strength `|probUp − 0.5| × 2`; confidence is the model's confidence.
    public static func signal(from p: MLPrediction) -> SignalOut {
        let direction: Direction = p.probUp > 0.5 ? .long : p.probUp < 0.5 ? .short : .flat
        return SignalOut(source: "ml", symbol: p.symbol, time: p.time, direction: direction,
                         strength: min(1, abs(p.probUp - 0.5) * 2), confidence: max(0, min(1, p.confidence)),
                         detail: .model(p.modelID, probUp: p.probUp))
    }

    /// Fixed 3-decimal rendering so reasons are byte-identical on replay.
    static func format(_ x: Double) -> String {
        let scaled = (x * 1000).rounded(.toNearestOrEven)
        let sign = scaled < 0 ? "-" : ""
        let m = Int64(abs(scaled))
        let frac = String(m % 1000)
        return "\(sign)\(m / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
