// How a feature spec's entries run: each entry becomes one `FeatureNode`, a streaming indicator behind a uniform
// face (one bar in, a fixed number of Doubles out). `FeatureEngine` keeps one node per entry and writes their
// outputs side by side into one buffer per bar.

/// One entry of a feature spec, running: takes each bar, writes its `width` outputs.
public protocol FeatureNode: Sendable {
    /// Bars consumed before the first value (TA-Lib's lookback for the same parameters).
    var lookback: Int { get }
    /// How many values `update` writes.
    var width: Int { get }
    /// Takes the next bar and writes `width` values from `out` on: NaN where a value is not defined yet.
    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>)
    /// The same for a cross-asset pair (`"with"`): `other` is the other symbol's bar as of this bar's event time
    /// (nil when there is none: the values are NaN and the state does not move).
    mutating func update(_ bar: TA.Candle, other: TA.Candle?, into out: UnsafeMutablePointer<Double>)
    /// Takes `bars` in order, writing bar k's values from `out + k * stride` on: exactly what `update(_:into:)`
    /// writes bar after bar, with one dynamic call per block instead of one per bar.
    mutating func update(_ bars: UnsafeBufferPointer<TA.Candle>, into out: UnsafeMutablePointer<Double>, stride: Int)
    /// Writes what the node has seen (a stage checkpoint): its indicator's state, never its parameters' derived code.
    func encodeState(to encoder: any Encoder) throws
    /// Reads back what `encodeState` wrote, into a node built from the same spec entry on the same interval.
    mutating func restoreState(from decoder: any Decoder) throws
}

extension FeatureNode {
    public mutating func update(_ bar: TA.Candle, other: TA.Candle?, into out: UnsafeMutablePointer<Double>) { update(bar, into: out) }

    public mutating func update(_ bars: UnsafeBufferPointer<TA.Candle>, into out: UnsafeMutablePointer<Double>, stride: Int) {
        for k in bars.indices { update(bars[k], into: out + k * stride) }
    }
}

/// The price series a one-series indicator reads from each bar (`"source"` in a spec; the close by default).
public enum PriceSource: String, Sendable, CaseIterable {
    case open, high, low, close, volume
    /// (high + low) / 2
    case hl2
    /// (high + low + close) / 3
    case hlc3
    /// (open + high + low + close) / 4
    case ohlc4

    @inline(__always) public func value(_ bar: TA.Candle) -> Double {
        switch self {
        case .open: bar.open
        case .high: bar.high
        case .low: bar.low
        case .close: bar.close
        case .volume: bar.volume
        case .hl2: (bar.high + bar.low) / 2
        case .hlc3: (bar.high + bar.low + bar.close) / 3
        case .ohlc4: (bar.open + bar.high + bar.low + bar.close) / 4
        }
    }
}

/// A streaming indicator of this module as a node. `step` feeds it one bar and writes the bar's `width` values (NaN
/// while it warms up); `run` does the same for a block of bars with a stride. The catalog builds both where the
/// indicator's type is known, so they are compiled for that type: the node's own methods, called through
/// `any FeatureNode`, are not specialised (Swift does not specialise a generic type's protocol witnesses), and doing
/// the per-bar work in them would cost generic metadata look-ups on every bar.
struct IndicatorNode<I: StreamingIndicator>: FeatureNode {
    typealias Step = @Sendable (inout I, TA.Candle, UnsafeMutablePointer<Double>) -> Void
    typealias Run = @Sendable (inout I, UnsafeBufferPointer<TA.Candle>, UnsafeMutablePointer<Double>, _ stride: Int) -> Void
    var indicator: I
    let width: Int
    let step: Step
    let run: Run
    var lookback: Int { indicator.lookback }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) { step(&indicator, bar, out) }

    mutating func update(_ bars: UnsafeBufferPointer<TA.Candle>, into out: UnsafeMutablePointer<Double>, stride: Int) {
        run(&indicator, bars, out, stride)
    }

    func encodeState(to encoder: any Encoder) throws { try indicator.encode(to: encoder) }
    mutating func restoreState(from decoder: any Decoder) throws { indicator = try I(from: decoder) }
}

/// A two-series indicator (BETA, CORREL, …) fed two series of the same bar, or, cross-asset, this bar's `x` and the
/// other symbol's bar's `y` (`swapped`: the other's series goes first).
struct PairNode<I: PairIndicator>: FeatureNode where I.Output == Double {
    var indicator: I
    let x: PriceSource
    let y: PriceSource
    let crossAsset: Bool
    let swapped: Bool
    var lookback: Int { indicator.lookback }
    var width: Int { 1 }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        if crossAsset { out.pointee = .nan } else { out.pointee = indicator.update(x.value(bar), y.value(bar)) ?? .nan }
    }

    mutating func update(_ bar: TA.Candle, other: TA.Candle?, into out: UnsafeMutablePointer<Double>) {
        guard crossAsset else { return update(bar, into: out) }
        guard let other else { out.pointee = .nan; return }
        let own = x.value(bar), theirs = y.value(other)
        out.pointee = (swapped ? indicator.update(theirs, own) : indicator.update(own, theirs)) ?? .nan
    }

    func encodeState(to encoder: any Encoder) throws { try indicator.encode(to: encoder) }
    mutating func restoreState(from decoder: any Decoder) throws { indicator = try I(from: decoder) }
}

/// A feature computed on higher-timeframe bars built in the stream from the base bars (`"timeframe": "4h"`).
///
/// A higher-timeframe bar holds the base bars opening in [k·T, (k+1)·T) of Unix time. It closes with the base bar
/// whose close time reaches (k+1)·T; only then is it fed to the inner node, and its values are held (repeated on every base bar) until the
/// next one closes. So a value never uses a base bar that had not closed at its event time. The first
/// higher-timeframe bar is used only when the data starts at its opening (a partial first bar would be a different
/// bar); a gap in the base bars leaves its bar with what did arrive, as exchanges' own candles do.
struct ResampledNode: FeatureNode {
    var inner: any FeatureNode
    /// The higher timeframe T and the base interval, in seconds (T is a multiple of the base interval).
    let seconds: Int64
    let baseSeconds: Int64
    private var building: TA.Candle?
    private var bucketEnd: Int64 = .min
    private var held: [Double]
    private var skipping = true

    init(inner: any FeatureNode, seconds: Int64, baseSeconds: Int64) {
        self.inner = inner
        self.seconds = seconds
        self.baseSeconds = baseSeconds
        held = Array(repeating: .nan, count: inner.width)
    }

    var width: Int { inner.width }
    /// Base bars until the first value in the worst alignment: a partial first bucket, then the inner lookback's
    /// higher-timeframe bars, then the one that yields the value.
    var lookback: Int { Int(seconds / baseSeconds) * (inner.lookback + 2) - 1 }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        let close = bar.closeTime ?? 0
        // The bucket of the bar's open time; the bar reaching its end closes it (bars not aligned to the epoch grid
        // included: the bar that spans a boundary is its bucket's last).
        let open = close - baseSeconds
        let start = open.floorDiv(seconds) * seconds
        let end = start + seconds
        if end != bucketEnd {
            // A new bucket: the first one counts only if this bar opens it.
            skipping = bucketEnd == .min && open != start
            bucketEnd = end
            building = nil
        }
        if var b = building {
            b.high = max(b.high, bar.high)
            b.low = min(b.low, bar.low)
            b.close = bar.close
            b.volume += bar.volume
            b.closeTime = bar.closeTime
            building = b
        } else {
            building = bar
        }
        if close >= end, !skipping, let finished = building {
            held.withUnsafeMutableBufferPointer { inner.update(finished, into: $0.baseAddress!) }
        }
        held.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: held.count) }
    }

    private enum CodingKeys: String, CodingKey { case inner, building, bucketEnd, held, skipping }

    func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try inner.encodeState(to: c.superEncoder(forKey: .inner))
        try c.encodeIfPresent(building, forKey: .building)
        try c.encode(bucketEnd, forKey: .bucketEnd)
        try c.encode(held, forKey: .held)
        try c.encode(skipping, forKey: .skipping)
    }

    mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try inner.restoreState(from: c.superDecoder(forKey: .inner))
        building = try c.decodeIfPresent(TA.Candle.self, forKey: .building)
        bucketEnd = try c.decode(Int64.self, forKey: .bucketEnd)
        held = try c.decode([Double].self, forKey: .held)
        skipping = try c.decode(Bool.self, forKey: .skipping)
    }
}

extension Int64 {
    /// Division rounding towards −∞ (Unix times before 1970 stay in the right bucket).
    @inline(__always) func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

/// Stands in for a higher-timeframe entry that does not fit the bars' interval: always NaN.
struct NeverDefined: FeatureNode {
    let width: Int
    var lookback: Int { .max / 2 }
    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) { out.update(repeating: .nan, count: width) }
    func encodeState(to encoder: any Encoder) throws {}
    mutating func restoreState(from decoder: any Decoder) throws {}
}
