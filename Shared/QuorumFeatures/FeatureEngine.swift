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

/// Another symbol's state as of a bar's event time, for cross-asset entries: its latest bar closing at or before
/// that time, and the outputs of the spec's entries computed on its bars (`"symbol"`), in spec order.
public struct CrossAssetSnapshot: Sendable, Codable {
    public var closeTime: Nanos
    public var candle: TA.Candle
    public var values: [Double]
}

/// Computes a `FeatureSpec`'s features for one symbol, one bar at a time, O(1) (amortised) per bar and feature.
///
/// One `FeatureNode` per spec entry writes its outputs into one buffer; the vector takes the selected outputs in
/// column order. The nodes are built on the first bar, whose interval the higher-timeframe features need. The
/// engine trusts its caller for order: it treats each bar as the one after the previous (a gap in the data is
/// simply bridged, as TA-Lib does on an array with missing rows). `FeaturesCore` drops bars that are not newer
/// than the last one, and aligns symbols for the cross-asset entries (`others`). A higher-timeframe entry that does
/// not fit the bars' interval (`FeatureSpec.check`) stays NaN, so its vectors are never warm; the stages check the
/// spec before they feed the engine.
public struct FeatureEngine: Sendable {
    /// What an entry reads.
    enum Role: Sendable {
        /// This symbol's bars.
        case own
        /// A pair of this symbol's bar and another's (`"with"`).
        case with(Symbol)
        /// Another symbol's outputs, copied from its snapshot at `offset` (`"symbol"`).
        case from(Symbol, offset: Int)
    }

    public let symbol: Symbol
    public let spec: FeatureSpec
    /// Close time of the last bar taken, nil before the first.
    public private(set) var lastBarCloseTime: Nanos?
    /// Bars taken so far.
    public private(set) var barCount = 0

    private var nodes: [any FeatureNode] = []
    /// The bar interval the nodes were built for, nil before the first bar.
    private var builtInterval: Int64?
    private var roles: [Role] = []
    private var widths: [Int] = []
    private var scratch: [Double] = []
    /// Column c of the vector is `scratch[picks[c]]`.
    private var picks: [Int] = []
    /// The vector is the whole of `scratch`, in order (every output of every entry is a column).
    private var picksAll = false
    /// `blockSize` rows of scratch, for the batch path.
    private var blockScratch: [Double] = []
    /// Bars per block on the batch path: enough to spread the per-node dynamic call, few enough that a block's
    /// rows stay in the cache.
    static let blockSize = 128

    public init(symbol: Symbol, spec: FeatureSpec = .default) {
        self.symbol = symbol
        self.spec = spec
    }

    /// The entry's node on bars of `intervalSeconds`; a timeframe that does not fit them gives an always-NaN node.
    static func node(_ entry: FeatureSpec.Entry, intervalSeconds: Int64) -> any FeatureNode {
        let node = FeatureCatalog.kind(named: entry.kind)!.make(entry.arguments)
        guard let t = entry.timeframe else { return node }
        return t > intervalSeconds && intervalSeconds > 0 && t % intervalSeconds == 0
            ? ResampledNode(inner: node, seconds: t, baseSeconds: intervalSeconds)
            : NeverDefined(width: node.width)
    }

    private mutating func build(intervalSeconds: Int64) {
        builtInterval = intervalSeconds
        var offset = 0
        let offsets = spec.snapshotOffsets
        var i = 0
        while i < spec.entries.count {
            let entry = spec.entries[i]
            if let (count, node) = SharedWork.fuse(spec.entries[...], from: i) {
                // Adjacent entries sharing their work: one node writing each one's outputs in turn (each is all of
                // its kind's outputs, in order, for the kinds `SharedWork` joins).
                roles.append(.own)
                for entry in spec.entries[i..<i + count] {
                    picks += entry.outputs.map { offset + $0 }
                    offset += FeatureCatalog.kind(named: entry.kind)!.outputs.count
                }
                widths.append(node.width)
                nodes.append(node)
                i += count
                continue
            }
            // An entry computed on another symbol's bars only copies that symbol's snapshot: no node of its own.
            let node: any FeatureNode = entry.symbol == nil ? Self.node(entry, intervalSeconds: intervalSeconds)
                : NeverDefined(width: FeatureCatalog.kind(named: entry.kind)!.outputs.count)
            roles.append(entry.symbol.map { .from($0, offset: offsets[i]!) } ?? entry.with.map { .with($0) } ?? .own)
            picks += entry.outputs.map { offset + $0 }
            offset += node.width
            widths.append(node.width)
            nodes.append(node)
            i += 1
        }
        scratch = Array(repeating: .nan, count: offset)
        picksAll = picks == Array(0..<offset)
    }

    /// Takes the next bar and returns its feature vector. `others` gives another symbol's state as of this bar's
    /// event time (nil: none, the cross-asset values are NaN); only specs with cross-asset entries call it.
    public mutating func update(_ bar: Bar, others: (Symbol) -> CrossAssetSnapshot? = { _ in nil }) -> FeatureVector {
        var values = [Double](repeating: .nan, count: spec.names.count)
        let warm = values.withUnsafeMutableBufferPointer { update(bar, into: $0.baseAddress!, others: others) }
        return FeatureVector(symbol: symbol, barCloseTime: bar.closeTime, specName: spec.name, specVersion: spec.version,
                             values: values, isWarm: warm, close: bar.close)
    }

    /// Takes the next bar and writes its `spec.names.count` values from `out` on, allocating nothing: the streaming
    /// path of batch work (`quorum features compute`, training rows). Returns whether the vector is warm (no NaN).
    public mutating func update(_ bar: Bar, into out: UnsafeMutablePointer<Double>,
                                others: (Symbol) -> CrossAssetSnapshot? = { _ in nil }) -> Bool {
        if nodes.isEmpty { build(intervalSeconds: bar.intervalSeconds) }
        let candle = TA.Candle(bar)
        var warm = true
        scratch.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            var offset = 0
            for i in nodes.indices {
                let width = widths[i]
                switch roles[i] {
                case .own:
                    nodes[i].update(candle, into: base + offset)
                case .with(let other):
                    nodes[i].update(candle, other: others(other)?.candle, into: base + offset)
                case .from(let other, let at):
                    if let snapshot = others(other) {
                        for k in 0..<width { base[offset + k] = snapshot.values[at + k] }
                    } else {
                        (base + offset).update(repeating: .nan, count: width)
                    }
                }
                offset += width
            }
            picks.withUnsafeBufferPointer { picks in
                for c in 0..<picks.count {
                    let v = base[picks[c]]
                    out[c] = v
                    if v.isNaN { warm = false }
                }
            }
        }
        barCount += 1
        lastBarCloseTime = bar.closeTime
        return warm
    }
}

extension FeatureEngine {
    /// The batch path (`FeaturesCore.update(_:into:)` on many bars): takes `candles`, the next bars in order, and
    /// writes bar k's `spec.names.count` values from `out + k * rowStride` on (`rowStride` ≥ `spec.names.count`; more
    /// when the rows of other symbols' bars lie between), and whether they are all defined to `warm[k]`. Each node takes
    /// a block of bars per call, so the values are bit for bit those of `update(_:into:)` bar after bar. Only for a spec
    /// without cross-asset entries (`FeaturesCore` checks). `intervalSeconds` and `lastCloseTime` are the bars'
    /// interval and the last one's close time.
    mutating func update(_ candles: UnsafeBufferPointer<TA.Candle>, intervalSeconds: Int64, lastCloseTime: Nanos,
                         into out: UnsafeMutablePointer<Double>, rowStride: Int, warm: UnsafeMutablePointer<Bool>) {
        guard !candles.isEmpty else { return }
        if nodes.isEmpty { build(intervalSeconds: intervalSeconds) }
        let columns = spec.names.count
        if !picksAll && blockScratch.isEmpty { blockScratch = Array(repeating: .nan, count: Self.blockSize * scratch.count) }
        var start = 0
        while start < candles.count {
            let block = UnsafeBufferPointer(rebasing: candles[start..<min(start + Self.blockSize, candles.count)])
            let rows = out + start * rowStride
            if picksAll {
                // The nodes write the vectors in place.
                var offset = 0
                for i in nodes.indices {
                    nodes[i].update(block, into: rows + offset, stride: rowStride)
                    offset += widths[i]
                }
            } else {
                let width = scratch.count
                blockScratch.withUnsafeMutableBufferPointer { buffer in
                    let base = buffer.baseAddress!
                    var offset = 0
                    for i in nodes.indices {
                        nodes[i].update(block, into: base + offset, stride: width)
                        offset += widths[i]
                    }
                    picks.withUnsafeBufferPointer { picks in
                        for k in 0..<block.count {
                            for c in 0..<columns { rows[k * rowStride + c] = base[k * width + picks[c]] }
                        }
                    }
                }
            }
            for k in 0..<block.count {
                // Branch-free (x != x only for NaN) and without overflow checks, so that the loop vectorises.
                let row = rows + k &* rowStride
                var undefined: UInt8 = 0
                for c in 0..<columns { undefined |= row[c] != row[c] ? 1 : 0 }
                warm[start + k] = undefined == 0
            }
            start += block.count
        }
        barCount += candles.count
        lastBarCloseTime = lastCloseTime
    }
}

extension TA.Candle {
    /// A bar's prices as Doubles, with its close time in Unix seconds.
    public init(_ bar: Bar) {
        self.init(open: bar.open.doubleValue, high: bar.high.doubleValue, low: bar.low.doubleValue, close: bar.close.doubleValue,
                  volume: bar.volume.doubleValue, closeTime: bar.closeTime / 1_000_000_000)
    }
}

extension FeatureSpec {
    /// For each `"symbol"` entry, where its outputs start in that symbol's snapshot values (entries computed on the
    /// same symbol, in spec order, side by side).
    var snapshotOffsets: [Int: Int] {
        var next: [Symbol: Int] = [:]
        var offsets: [Int: Int] = [:]
        for (i, entry) in entries.enumerated() {
            guard let other = entry.symbol else { continue }
            offsets[i] = next[other, default: 0]
            next[other, default: 0] += FeatureCatalog.kind(named: entry.kind)!.outputs.count
        }
        return offsets
    }
}

/// The entries of a spec computed on one other symbol's bars (`"symbol"`), and the recent snapshots of that symbol
/// (its bars and those entries' outputs), so that each symbol's bar can be joined with it as of its own event time.
struct CrossAssetTrack: Sendable {
    let symbol: Symbol
    private let entries: [FeatureSpec.Entry]
    private var nodes: [any FeatureNode] = []
    private var builtInterval: Int64?
    /// The last `capacity` snapshots, oldest first.
    private var snapshots: [CrossAssetSnapshot] = []
    private var head = 0
    static let capacity = 64
    private(set) var lastCloseTime: Nanos = .min

    init(symbol: Symbol, spec: FeatureSpec) {
        self.symbol = symbol
        entries = spec.entries.filter { $0.symbol == symbol }
    }

    mutating func update(_ bar: Bar) {
        if builtInterval == nil { build(intervalSeconds: bar.intervalSeconds) }
        let candle = TA.Candle(bar)
        var values = [Double](repeating: .nan, count: nodes.reduce(0) { $0 + $1.width })
        values.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            for i in nodes.indices {
                nodes[i].update(candle, into: buffer.baseAddress! + offset)
                offset += nodes[i].width
            }
        }
        snapshots.append(CrossAssetSnapshot(closeTime: bar.closeTime, candle: candle, values: values))
        if snapshots.count - head > Self.capacity { head += 1 }
        if head > Self.capacity { snapshots.removeFirst(head); head = 0 }
        lastCloseTime = bar.closeTime
    }

    private mutating func build(intervalSeconds: Int64) {
        builtInterval = intervalSeconds
        nodes = entries.map { FeatureEngine.node($0, intervalSeconds: intervalSeconds) }
    }

    /// The latest snapshot closing at or before `time` and not before `time − maxAge`; nil when there is none (never
    /// a later one: no value from the future).
    func asOf(_ time: Nanos, maxAge: Nanos) -> CrossAssetSnapshot? {
        var low = head, high = snapshots.count
        while low < high {
            let mid = (low + high) / 2
            if snapshots[mid].closeTime <= time { low = mid + 1 } else { high = mid }
        }
        guard low > head else { return nil }
        let found = snapshots[low - 1]
        return found.closeTime >= time - maxAge ? found : nil
    }
}

// MARK: - Checkpoints

/// The nodes' states, one after the other (`FeatureNode.encodeState`).
private func encodeNodes(_ nodes: [any FeatureNode], into c: inout some UnkeyedEncodingContainer) throws {
    for node in nodes { try node.encodeState(to: c.superEncoder()) }
}

/// Reads the nodes' states into `nodes`, built from the same entries.
private func restoreNodes(_ nodes: inout [any FeatureNode], from c: inout some UnkeyedDecodingContainer) throws {
    guard c.count == nodes.count else {
        throw FeatureSpecError("a checkpoint holds \(c.count ?? 0) feature states where this spec keeps \(nodes.count)")
    }
    for i in nodes.indices { try nodes[i].restoreState(from: c.superDecoder()) }
}

extension FeatureEngine {
    private enum StateKeys: String, CodingKey { case interval, barCount, lastBarCloseTime, nodes }

    /// Writes what the engine has seen (a stage checkpoint): bar count, last close time and every node's state.
    public func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: StateKeys.self)
        try c.encodeIfPresent(builtInterval, forKey: .interval)
        try c.encode(barCount, forKey: .barCount)
        try c.encodeIfPresent(lastBarCloseTime, forKey: .lastBarCloseTime)
        var n = c.nestedUnkeyedContainer(forKey: .nodes)
        try encodeNodes(nodes, into: &n)
    }

    /// Reads back what `encodeState` wrote, into a fresh engine of the same symbol and spec.
    public mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: StateKeys.self)
        barCount = try c.decode(Int.self, forKey: .barCount)
        lastBarCloseTime = try c.decodeIfPresent(Nanos.self, forKey: .lastBarCloseTime)
        guard let interval = try c.decodeIfPresent(Int64.self, forKey: .interval) else { return }
        if builtInterval != interval { nodes = []; roles = []; widths = []; picks = []; build(intervalSeconds: interval) }
        var n = try c.nestedUnkeyedContainer(forKey: .nodes)
        try restoreNodes(&nodes, from: &n)
    }
}

extension CrossAssetTrack {
    private enum StateKeys: String, CodingKey { case interval, nodes, snapshots, lastCloseTime }

    func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: StateKeys.self)
        try c.encodeIfPresent(builtInterval, forKey: .interval)
        var n = c.nestedUnkeyedContainer(forKey: .nodes)
        try encodeNodes(nodes, into: &n)
        try c.encode(Array(snapshots[head...]), forKey: .snapshots)
        try c.encode(lastCloseTime, forKey: .lastCloseTime)
    }

    mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: StateKeys.self)
        snapshots = try c.decode([CrossAssetSnapshot].self, forKey: .snapshots)
        head = 0
        lastCloseTime = try c.decode(Nanos.self, forKey: .lastCloseTime)
        guard let interval = try c.decodeIfPresent(Int64.self, forKey: .interval) else { return }
        build(intervalSeconds: interval)
        var n = try c.nestedUnkeyedContainer(forKey: .nodes)
        try restoreNodes(&nodes, from: &n)
    }
}
