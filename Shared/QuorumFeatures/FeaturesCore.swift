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
    /// Per symbol, in order of first appearance: found by a linear scan, cheaper than hashing the name for the few
    /// symbols a run has.
    private var known: [Symbol] = []
    private var engines: [FeatureEngine] = []
    /// Cross-asset specs only.
    private let referenced: [Symbol]
    private var tracks: [Symbol: CrossAssetTrack] = [:]
    private var pending: [Symbol: [Bar]] = [:]
    /// Close time of the last bar taken, per symbol (parallel to `known`).
    private var lastSeen: [Nanos] = []
    /// Bars of one symbol that may wait for the referenced symbols before the oldest goes out regardless.
    public static let maxPendingBars = 4

    public init(spec: FeatureSpec = .default) {
        self.spec = spec
        referenced = spec.referencedSymbols
    }

    /// Symbols seen so far.
    public var symbols: [Symbol] { known.sorted() }

    /// The engine of a symbol, if it has seen a bar.
    public func engine(for symbol: Symbol) -> FeatureEngine? { known.firstIndex(of: symbol).map { engines[$0] } }

    /// The index of a symbol's engine, adding one on its first bar (after checking the spec fits its interval).
    private mutating func index(of bar: Bar) throws(FeatureSpecError) -> Int {
        if let i = known.firstIndex(of: bar.symbol) { return i }
        try spec.check(intervalSeconds: bar.intervalSeconds)
        known.append(bar.symbol)
        engines.append(FeatureEngine(symbol: bar.symbol, spec: spec))
        lastSeen.append(.min)
        return known.count - 1
    }

    /// The fast path of a spec without cross-asset entries: the bar's vector written to `out` (`spec.names.count`
    /// values), nil for a bar that is not newer than its symbol's last (a redelivery); else whether it is warm.
    /// Throws for a cross-asset spec (use `handle`) or a spec that does not fit the bars.
    public mutating func update(_ bar: Bar, into out: UnsafeMutablePointer<Double>) throws(FeatureSpecError) -> Bool? {
        guard referenced.isEmpty else { throw FeatureSpecError("\(spec) has cross-asset entries: bars go through handle(_:)") }
        let i = try index(of: bar)
        guard bar.closeTime > lastSeen[i] else { return nil }
        lastSeen[i] = bar.closeTime
        return engines[i].update(bar, into: out)
    }

    /// The batch form of `update(_:into:)`, for work over stored bars (`quorum features compute`, training rows):
    /// each symbol's bars go through its engine a block at a time, which spreads the per-feature dispatch over many
    /// bars; the values are bit for bit those of one bar at a time. `bars` may mix symbols (each symbol's in event-time
    /// order); bar k's vector goes to `out + k * spec.names.count`. Returns per bar nil for a bar not newer than its
    /// symbol's last (nothing written there), else whether its vector is warm. Throws as `update(_:into:)` does.
    public mutating func update(_ bars: ArraySlice<Bar>, into out: UnsafeMutablePointer<Double>) throws(FeatureSpecError) -> [Bool?] {
        guard referenced.isEmpty else { throw FeatureSpecError("\(spec) has cross-asset entries: bars go through handle(_:)") }
        let n = bars.count
        var result = [Bool?](repeating: nil, count: n)
        guard n > 0 else { return result }
        // Each bar's engine first, so that a spec not fitting a symbol's bars throws before any state moves. Bars come
        // either in runs of one symbol or interleaved in event time (each time's symbols in the same order), so the
        // symbol after the last one found is tried first: one string comparison per bar, which matches at once.
        var engineOf = [Int32](repeating: 0, count: n)
        var i = -1
        for k in 0..<n {
            let symbol = bars[bars.startIndex + k].symbol
            if i < 0 || known[i] != symbol {
                let next = i + 1 < known.count ? i + 1 : 0
                i = next < known.count && known[next] == symbol ? next : try index(of: bars[bars.startIndex + k])
            }
            engineOf[k] = Int32(i)
        }
        // The bars in order of their engine (a counting sort; each engine's stay in event-time order).
        var starts = [Int](repeating: 0, count: known.count + 1)
        for k in 0..<n { starts[Int(engineOf[k]) + 1] += 1 }
        for e in known.indices { starts[e + 1] += starts[e] }
        var order = [Int](repeating: 0, count: n)
        var fill = starts
        for k in 0..<n {
            let e = Int(engineOf[k])
            order[fill[e]] = k
            fill[e] += 1
        }
        let columns = spec.names.count
        var candles: [TA.Candle] = []
        var at: [Int] = []
        var rows: [Double] = []
        var warm: [Bool] = []
        bars.withUnsafeBufferPointer { bars in
            for e in known.indices where starts[e + 1] > starts[e] {
                // This symbol's new bars, in order: their candles and where their rows go.
                candles.removeAll(keepingCapacity: true)
                at.removeAll(keepingCapacity: true)
                var last = lastSeen[e]
                for k in order[starts[e]..<starts[e + 1]] {
                    let close = bars[k].closeTime
                    guard close > last else { continue }
                    last = close
                    at.append(k)
                    candles.append(TA.Candle(bars[k]))
                }
                guard let first = at.first else { continue }
                lastSeen[e] = last
                let count = at.count, interval = bars[first].intervalSeconds
                if warm.count < count { warm = Array(repeating: false, count: count) }
                // Rows at even steps (one symbol's run, or symbols interleaved in a fixed order) are written in
                // place, the other symbols' rows between; else through `rows`, then copied to theirs.
                let step = count > 1 ? at[1] - first : 1
                var even = true
                for j in 1..<count where at[j] - at[j - 1] != step { even = false }
                if !even && rows.count < count * columns { rows = Array(repeating: 0, count: count * columns) }
                candles.withUnsafeBufferPointer { candles in
                    warm.withUnsafeMutableBufferPointer { warm in
                        if even {
                            engines[e].update(candles, intervalSeconds: interval, lastCloseTime: last, into: out + first * columns,
                                              rowStride: step * columns, warm: warm.baseAddress!)
                        } else {
                            rows.withUnsafeMutableBufferPointer { rows in
                                let target = rows.baseAddress!
                                engines[e].update(candles, intervalSeconds: interval, lastCloseTime: last, into: target,
                                                  rowStride: columns, warm: warm.baseAddress!)
                                // Row by row, a plain loop: a memmove call per row costs more than the copy.
                                for j in 0..<count {
                                    let from = target + j &* columns, to = out + at[j] &* columns
                                    for c in 0..<columns { to[c] = from[c] }
                                }
                            }
                        }
                        for j in 0..<count { result[at[j]] = warm[j] }
                    }
                }
            }
        }
        return result
    }

    /// Throws when the spec does not fit the bars (a higher timeframe that is not a larger multiple of their
    /// interval), on a symbol's first bar.
    public mutating func handle(_ bar: Bar) throws(FeatureSpecError) -> [FeatureAction] {
        let i = try index(of: bar)
        guard bar.closeTime > lastSeen[i] else { return [] }
        lastSeen[i] = bar.closeTime
        guard !referenced.isEmpty else { return [.publish(engines[i].update(bar))] }
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
                let vector = engines[known.firstIndex(of: symbol)!].update(first) { other in
                    tracks[other]?.asOf(first.closeTime, maxAge: maxAge)
                }
                actions.append(.publish(vector))
            }
        }
        return actions
    }
}

// MARK: - Checkpoints

extension FeaturesCore {
    private enum StateKeys: String, CodingKey { case specVersion, known, lastSeen, engines, tracks, pending }

    /// Writes everything the core has seen (a stage checkpoint): per symbol its engine's state, the last close time
    /// and, for cross-asset specs, the other symbols' tracks and the bars waiting for them. The spec itself is
    /// configuration: only its version goes along, so that a checkpoint of another spec is never read into this one.
    public func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: StateKeys.self)
        try c.encode(spec.version, forKey: .specVersion)
        try c.encode(known, forKey: .known)
        try c.encode(lastSeen, forKey: .lastSeen)
        var e = c.nestedUnkeyedContainer(forKey: .engines)
        for engine in engines { try engine.encodeState(to: e.superEncoder()) }
        var t = c.nestedUnkeyedContainer(forKey: .tracks)
        for symbol in tracks.keys.sorted() {
            try t.encode(symbol)
            try tracks[symbol]!.encodeState(to: t.superEncoder())
        }
        try c.encode(pending, forKey: .pending)
    }

    /// Reads back what `encodeState` wrote into a fresh core of the same spec. Throws `FeatureSpecError` for a
    /// checkpoint of another spec version (the stage then restores from its inputs).
    public mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: StateKeys.self)
        let version = try c.decode(UInt32.self, forKey: .specVersion)
        guard version == spec.version else {
            throw FeatureSpecError("the checkpoint was computed with spec version \(version), this stage computes \(spec) (version \(spec.version))")
        }
        var restored = FeaturesCore(spec: spec)
        restored.known = try c.decode([Symbol].self, forKey: .known)
        restored.lastSeen = try c.decode([Nanos].self, forKey: .lastSeen)
        var e = try c.nestedUnkeyedContainer(forKey: .engines)
        for symbol in restored.known {
            var engine = FeatureEngine(symbol: symbol, spec: spec)
            try engine.restoreState(from: e.superDecoder())
            restored.engines.append(engine)
        }
        var t = try c.nestedUnkeyedContainer(forKey: .tracks)
        while !t.isAtEnd {
            let symbol = try t.decode(Symbol.self)
            var track = CrossAssetTrack(symbol: symbol, spec: spec)
            try track.restoreState(from: t.superDecoder())
            restored.tracks[symbol] = track
        }
        restored.pending = try c.decode([Symbol: [Bar]].self, forKey: .pending)
        self = restored
    }
}
