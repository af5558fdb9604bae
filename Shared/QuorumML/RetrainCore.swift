import Foundation
import QuorumModel

/// Settings of the monitor's retraining triggers (event time).
public struct RetrainPolicy: Sendable {
    /// Publish a retraining run per symbol every this much event time (0 = never on schedule).
    public var every: Int64
    /// Training window length before the validation window (event time).
    public var window: Int64
    /// Validation window length (event time), the most recent part.
    public var validation: Int64
    /// Live-accuracy trigger: retrain when the accuracy over the last `accuracyWindow` predictions is below this.
    public var minimumAccuracy: Double
    public var accuracyWindow: Int
    /// At least this much event time between two runs of a symbol.
    public var cooldown: Int64

    public init(every: Int64 = 0, window: Int64 = 120 * 86_400 * 1_000_000_000, validation: Int64 = 20 * 86_400 * 1_000_000_000,
                minimumAccuracy: Double = 0.47, accuracyWindow: Int = 500, cooldown: Int64 = 7 * 86_400 * 1_000_000_000) {
        self.every = every
        self.window = window
        self.validation = validation
        self.minimumAccuracy = minimumAccuracy
        self.accuracyWindow = accuracyWindow
        self.cooldown = cooldown
    }
}

/// The monitor's retraining decisions (`MonitorStage` in QuorumPipeline maps the wire to it and publishes the jobs):
/// fed the predictions and bars of every symbol, it scores each prediction against the next bar and says when a
/// symbol's model is to be retrained, on what, and why. A prediction is scored whichever the monitor reads first, it or
/// the bar that scores it (in the cluster the bars run far ahead of the predictions made from them): the direction of
/// the latest `recentBars` bars is kept for the predictions that come late.
///
/// Only a served symbol is retrained (a prediction was seen, so it has an active model: initial training is explicit),
/// and only once `window + validation` of its bars have closed. Then a run fires every `every` of event time from
/// when it was first served, or when its live accuracy over the last `accuracyWindow` scored predictions is below
/// `minimumAccuracy`, at least `cooldown` after its previous run. A run starts a fresh accuracy window.
public struct RetrainCore: Sendable {
    public let policy: RetrainPolicy

    /// A retraining run to publish: train on `[trainFrom, trainTo)`, validate on `[trainTo, validateTo)`.
    public struct Retrain: Sendable, Equatable {
        public enum Reason: Sendable, Equatable, CustomStringConvertible {
            case schedule
            /// The live accuracy that fell below the policy's minimum.
            case accuracy(Double, minimum: Double)

            public var description: String {
                switch self {
                case .schedule: "schedule"
                case .accuracy(let accuracy, let minimum): "live accuracy \(String(format: "%.3f", accuracy)) < \(minimum)"
                }
            }
        }
        public var symbol: Symbol
        public var intervalSeconds: Int64
        public var trainFrom: Nanos
        public var trainTo: Nanos
        public var validateTo: Nanos
        public var reason: Reason
    }

    /// What a bar changed.
    public struct Scored: Sendable, Equatable {
        /// The symbol's live accuracy with this bar (before a run resets it); nil while no prediction was scored.
        public var accuracy: Double?
        /// How many scored predictions `accuracy` is over (the window restarts after a run).
        public var samples: Int = 0
        public var retrain: Retrain?
    }

    /// A prediction made at the close `time`: whether the next bar closes higher.
    struct Call: Sendable, Codable {
        var time: Nanos
        var up: Bool
    }

    struct SymbolState: Sendable, Codable {
        var firstClose: Nanos?
        var lastClose: Fixed?
        var lastJob: Nanos?
        /// The latest prediction, not scored yet.
        var pending: Call?
        /// Hits and misses of the last `accuracyWindow` scored predictions (a ring once full).
        var outcomes: [Bool] = []
        var outcomeNext = 0
        var served = false
        /// Whether each recent bar closed above the one before, by its open time (a late prediction's score).
        var recentUps: [Nanos: Bool] = [:]

        mutating func record(hit: Bool, window: Int) {
            if outcomes.count < window { outcomes.append(hit) } else {
                outcomes[outcomeNext] = hit
                outcomeNext = (outcomeNext + 1) % window
            }
        }
    }
    /// Bars per symbol whose direction is kept for predictions read after them.
    public static let recentBars = 4_096
    private var symbols: [Symbol: SymbolState] = [:]

    /// What the core has seen per symbol (the policy comes from configuration): a checkpoint's content.
    public struct Memory: Sendable, Codable {
        var symbols: [Symbol: SymbolState]
    }

    public var memory: Memory {
        get { Memory(symbols: symbols) }
        set { symbols = newValue.symbols }
    }

    public init(policy: RetrainPolicy) {
        self.policy = policy
    }

    /// A prediction made at the close `time` of `symbol`'s bar; `up`: it expects the next bar to close higher.
    public mutating func prediction(symbol: Symbol, time: Nanos, up: Bool) {
        var st = symbols[symbol] ?? SymbolState()
        if let wentUp = st.recentUps[time] {
            st.record(hit: up == wentUp, window: policy.accuracyWindow)  // the bar that scores it was read first
        } else {
            st.pending = Call(time: time, up: up)
        }
        if !st.served {
            // The schedule starts when the symbol is first served: its model was just trained.
            st.served = true
            st.lastJob = st.lastJob ?? time
        }
        symbols[symbol] = st
    }

    /// A bar of `symbol`: scores the pending prediction when it was made at this bar's open, then decides.
    public mutating func bar(symbol: Symbol, openTime: Nanos, closeTime: Nanos, close: Fixed, intervalSeconds: Int64) -> Scored {
        var st = symbols[symbol] ?? SymbolState()
        defer { symbols[symbol] = st }
        if st.firstClose == nil { st.firstClose = closeTime }
        // Live accuracy: the prediction made at the previous close said up/down for this close.
        if let lastClose = st.lastClose {
            if let pending = st.pending, pending.time == openTime {
                st.record(hit: pending.up == (close > lastClose), window: policy.accuracyWindow)
                st.pending = nil
            }
            st.recentUps[openTime] = close > lastClose
            if st.recentUps.count > 2 * Self.recentBars {  // keep the newest half (amortised O(1) per bar)
                let cut = st.recentUps.keys.sorted()[st.recentUps.count - Self.recentBars]
                st.recentUps = st.recentUps.filter { $0.key >= cut }
            }
        }
        st.lastClose = close
        let accuracy = st.outcomes.isEmpty ? nil : Double(st.outcomes.filter { $0 }.count) / Double(st.outcomes.count)

        let t = closeTime
        let sinceJob = t - (st.lastJob ?? Int64.min / 2)
        let enoughHistory = st.served && t - (st.firstClose ?? t) >= policy.window + policy.validation
        var reason: Retrain.Reason?
        if enoughHistory, policy.every > 0, sinceJob >= policy.every {
            reason = .schedule
        } else if enoughHistory, let accuracy, st.outcomes.count >= policy.accuracyWindow, accuracy < policy.minimumAccuracy,
                  sinceJob >= policy.cooldown {
            reason = .accuracy(accuracy, minimum: policy.minimumAccuracy)
        }
        let samples = st.outcomes.count
        guard let reason else { return Scored(accuracy: accuracy, samples: samples, retrain: nil) }
        st.lastJob = t
        st.outcomes = []
        st.outcomeNext = 0
        return Scored(accuracy: accuracy, samples: samples, retrain: Retrain(
            symbol: symbol, intervalSeconds: intervalSeconds, trainFrom: t - policy.window - policy.validation,
            trainTo: t - policy.validation, validateTo: t, reason: reason))
    }
}
