import QuorumModel

/// The features of one symbol at one bar's close.
///
/// Equality and hashing compare `values` bit for bit, so that two vectors with the same NaN placeholders
/// are equal: replay determinism is a bitwise property.
public struct FeatureVector: Sendable, Hashable, CustomStringConvertible {
    public var symbol: Symbol
    /// Close time of the bar (its event time).
    public var barCloseTime: Nanos
    /// `FeatureSpec.name` of the spec that produced it.
    public var specName: String
    /// `FeatureSpec.version` (the content hash) of the spec that produced it.
    public var specVersion: UInt32
    /// One value per `FeatureSpec.names`; NaN where a feature is not yet defined (before warm-up).
    public var values: [Double]
    /// true when every value is defined (no NaN).
    public var isWarm: Bool
    /// The bar's close, exact.
    public var close: Fixed

    public init(symbol: Symbol, barCloseTime: Nanos, specName: String, specVersion: UInt32, values: [Double], isWarm: Bool, close: Fixed) {
        self.symbol = symbol
        self.barCloseTime = barCloseTime
        self.specName = specName
        self.specVersion = specVersion
        self.values = values
        self.isWarm = isWarm
        self.close = close
    }

    public static func == (a: FeatureVector, b: FeatureVector) -> Bool {
        a.symbol == b.symbol && a.barCloseTime == b.barCloseTime && a.specVersion == b.specVersion && a.specName == b.specName
            && a.isWarm == b.isWarm && a.close == b.close && a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(symbol)
        hasher.combine(barCloseTime)
        hasher.combine(specVersion)
        hasher.combine(isWarm)
        hasher.combine(close)
        for v in values { hasher.combine(v.bitPattern) }
    }

    public var description: String {
        "\(symbol)@\(barCloseTime) \(specName)\(isWarm ? "" : " (warming)") \(values)"
    }
}

/// Computes a `FeatureSpec`'s features for one symbol, one bar at a time, O(1) (amortised) per bar and feature.
///
/// One `FeatureNode` per spec entry writes its outputs into one buffer; the vector takes the selected outputs in
/// column order. The nodes are built on the first bar, whose interval the higher-timeframe features need. The
/// engine trusts its caller for order: it treats each bar as the one after the previous (a gap in the data is
/// simply bridged, as TA-Lib does on an array with missing rows). `FeaturesCore` drops bars that are not newer
/// than the last one. A higher-timeframe entry that does not fit the bars' interval (`FeatureSpec.check`) stays
/// NaN, so its vectors are never warm; the stages check the spec before they feed the engine.
public struct FeatureEngine: Sendable {
    public let symbol: Symbol
    public let spec: FeatureSpec
    /// Close time of the last bar taken, nil before the first.
    public private(set) var lastBarCloseTime: Nanos?
    /// Bars taken so far.
    public private(set) var barCount = 0

    private var nodes: [any FeatureNode] = []
    private var scratch: [Double] = []
    /// Column c of the vector is `scratch[picks[c]]`.
    private var picks: [Int] = []

    public init(symbol: Symbol, spec: FeatureSpec = .default) {
        self.symbol = symbol
        self.spec = spec
    }

    private mutating func build(intervalSeconds: Int64) {
        var offset = 0
        for entry in spec.entries {
            let kind = FeatureCatalog.kind(named: entry.kind)!
            var node = kind.make(entry.arguments)
            if let t = entry.timeframe {
                node = t > intervalSeconds && intervalSeconds > 0 && t % intervalSeconds == 0
                    ? ResampledNode(inner: node, seconds: t, baseSeconds: intervalSeconds)
                    : NeverDefined(width: node.width)
            }
            picks += entry.outputs.map { offset + $0 }
            offset += node.width
            nodes.append(node)
        }
        scratch = Array(repeating: .nan, count: offset)
    }

    /// Takes the next bar and returns its feature vector.
    public mutating func update(_ bar: Bar) -> FeatureVector {
        if nodes.isEmpty { build(intervalSeconds: bar.intervalSeconds) }
        let candle = TA.Candle(open: bar.open.doubleValue, high: bar.high.doubleValue, low: bar.low.doubleValue,
                               close: bar.close.doubleValue, volume: bar.volume.doubleValue,
                               closeTime: bar.closeTime / 1_000_000_000)
        var values = [Double](repeating: .nan, count: picks.count)
        var warm = true
        scratch.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            var offset = 0
            for i in nodes.indices {
                nodes[i].update(candle, into: base + offset)
                offset += nodes[i].width
            }
            for (c, p) in picks.enumerated() {
                let v = base[p]
                values[c] = v
                if v.isNaN { warm = false }
            }
        }
        barCount += 1
        lastBarCloseTime = bar.closeTime
        return FeatureVector(symbol: symbol, barCloseTime: bar.closeTime, specName: spec.name, specVersion: spec.version,
                             values: values, isWarm: warm, close: bar.close)
    }
}

/// Stands in for a higher-timeframe entry that does not fit the bars' interval: always NaN.
struct NeverDefined: FeatureNode {
    let width: Int
    var lookback: Int { .max / 2 }
    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) { out.update(repeating: .nan, count: width) }
}
