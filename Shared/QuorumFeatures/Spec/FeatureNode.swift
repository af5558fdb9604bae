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
}

extension FeatureNode {
    public mutating func update(_ bar: TA.Candle, other: TA.Candle?, into out: UnsafeMutablePointer<Double>) { update(bar, into: out) }
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

/// A bar indicator with one Double output.
struct ScalarNode<I: StreamingIndicator>: FeatureNode where I.Output == Double {
    var indicator: I
    var lookback: Int { indicator.lookback }
    var width: Int { 1 }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        out.pointee = indicator.update(bar) ?? .nan
    }
}

/// A one-series indicator with one Double output, fed `source` of each bar.
struct ScalarSeriesNode<I: SeriesIndicator>: FeatureNode where I.Output == Double {
    var indicator: I
    let source: PriceSource
    var lookback: Int { indicator.lookback }
    var width: Int { 1 }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        out.pointee = indicator.update(source.value(bar)) ?? .nan
    }
}

/// An indicator with several outputs. `step` feeds it one bar and spreads its value over `width` slots (false, and
/// nothing written, while it warms up); the catalog builds `step` where the indicator's type is known, so the hot
/// path needs no generic metadata at run time.
struct MultiNode<I: StreamingIndicator>: FeatureNode {
    var indicator: I
    let width: Int
    let step: @Sendable (inout I, TA.Candle, UnsafeMutablePointer<Double>) -> Bool
    var lookback: Int { indicator.lookback }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        if !step(&indicator, bar, out) { out.update(repeating: .nan, count: width) }
    }
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
}
