import QuorumModel

/// What `FeaturesCore` asks its host to do.
public enum FeatureAction: Sendable, Hashable {
    /// Publish the vector (to the features topic and the latest-vector store).
    case publish(FeatureVector)
}

/// The stage core of `quorum-features`: bars in, feature vectors out, one `FeatureEngine` per symbol.
///
/// Idempotent under at-least-once delivery: a bar whose close time is not later than the last bar taken for
/// its symbol (a redelivery or an out-of-order bar) produces no action and leaves the state unchanged.
/// Deterministic: the output depends only on the sequence of bars per symbol, never on wall time.
///
/// **Cross-asset specs** (entries with `"symbol"` or `"with"`) join each symbol's bar with the other symbols' state
/// as of the bar's event time: their latest bar closing at or before it (never a later one), at most
/// `maxPendingBars` intervals old. A bar waits (its vector is not published yet) until every referenced symbol has a
/// bar closing at or after it, so the vectors do not depend on the order in which the symbols' streams interleave.
/// A referenced symbol that is late or missing does not stall the others: once `maxPendingBars` bars of a symbol
/// wait, the oldest goes out with what is there (a missing symbol's values NaN, so the vector is not warm). Only a
/// referenced symbol more than that late can make a live run differ from a replay.
public struct FeaturesCore: Sendable {
    public let spec: FeatureSpec
    private var engines: [Symbol: FeatureEngine] = [:]
    /// Cross-asset specs only.
    private let referenced: [Symbol]
    private var tracks: [Symbol: CrossAssetTrack] = [:]
    private var pending: [Symbol: [Bar]] = [:]
    private var lastSeen: [Symbol: Nanos] = [:]
    /// Bars of one symbol that may wait for the referenced symbols before the oldest goes out regardless.
    public static let maxPendingBars = 4

    public init(spec: FeatureSpec = .default) {
        self.spec = spec
        referenced = spec.referencedSymbols
    }

    /// Symbols seen so far.
    public var symbols: [Symbol] { lastSeen.keys.sorted() }

    /// The engine of a symbol, if it has produced a vector.
    public func engine(for symbol: Symbol) -> FeatureEngine? { engines[symbol] }

    /// Throws when the spec does not fit the bars (a higher timeframe that is not a larger multiple of their
    /// interval), on a symbol's first bar.
    public mutating func handle(_ bar: Bar) throws(FeatureSpecError) -> [FeatureAction] {
        if let last = lastSeen[bar.symbol], bar.closeTime <= last { return [] }
        if lastSeen[bar.symbol] == nil { try spec.check(intervalSeconds: bar.intervalSeconds) }
        lastSeen[bar.symbol] = bar.closeTime
        guard !referenced.isEmpty else {
            // Mutate in place through the subscript (no copy of the engine's windows).
            return [.publish(engines[bar.symbol, default: FeatureEngine(symbol: bar.symbol, spec: spec)].update(bar))]
        }
        if referenced.contains(bar.symbol) { tracks[bar.symbol, default: CrossAssetTrack(symbol: bar.symbol, spec: spec)].update(bar) }
        pending[bar.symbol, default: []].append(bar)
        var actions: [FeatureAction] = []
        let tracks = self.tracks
        for symbol in pending.keys.sorted() {
            while let first = pending[symbol]?.first {
                let joined = referenced.allSatisfy { (tracks[$0]?.lastCloseTime ?? .min) >= first.closeTime }
                guard joined || pending[symbol]!.count > Self.maxPendingBars else { break }
                pending[symbol]!.removeFirst()
                let maxAge = Int64(Self.maxPendingBars) * first.intervalSeconds * 1_000_000_000
                let vector = engines[symbol, default: FeatureEngine(symbol: symbol, spec: spec)].update(first) { other in
                    tracks[other]?.asOf(first.closeTime, maxAge: maxAge)
                }
                actions.append(.publish(vector))
            }
        }
        return actions
    }
}
