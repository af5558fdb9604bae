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
public struct FeaturesCore: Sendable {
    public let spec: FeatureSpec
    private var engines: [Symbol: FeatureEngine] = [:]

    public init(spec: FeatureSpec = .default) {
        self.spec = spec
    }

    /// Symbols seen so far.
    public var symbols: [Symbol] { engines.keys.sorted() }

    /// The engine of a symbol, if it has seen a bar.
    public func engine(for symbol: Symbol) -> FeatureEngine? { engines[symbol] }

    /// Throws when the spec does not fit the bars (a higher timeframe that is not a larger multiple of their
    /// interval), on a symbol's first bar.
    public mutating func handle(_ bar: Bar) throws(FeatureSpecError) -> [FeatureAction] {
        if let last = engines[bar.symbol]?.lastBarCloseTime, bar.closeTime <= last { return [] }
        if engines[bar.symbol] == nil { try spec.check(intervalSeconds: bar.intervalSeconds) }
        // Mutate in place through the subscript (no copy of the engine's windows).
        let vector = engines[bar.symbol, default: FeatureEngine(symbol: bar.symbol, spec: spec)].update(bar)
        return [.publish(vector)]
    }
}
