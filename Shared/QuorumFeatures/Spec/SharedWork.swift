// Work that several spec entries would repeat, done once. `FeatureEngine` runs adjacent entries of one family on the
// same input as one node (`SharedWork.fuse`); the node writes each entry's outputs in spec order, so the vector's
// columns are what the entries would write apart, bit for bit (FeatureSpecTests compares the two).

enum SharedWork {
    /// The entries from `start` on that one node can compute together (at least two), with that node; nil when the
    /// entry at `start` starts no such run. Only entries on the symbol's own bars and base timeframe are joined.
    static func fuse(_ entries: ArraySlice<FeatureSpec.Entry>, from start: Int) -> (count: Int, node: any FeatureNode)? {
        // ADX, +DI and −DI of one period share Wilder's directional-movement smoothing.
        if let members = run(entries, from: start, key: { $0.arguments.int("period") }, member: { entry -> DirectionalNode.Member? in
            switch entry.kind {
            case "adx": .adx
            case "plus_di": .plusDI
            case "minus_di": .minusDI
            default: nil
            }
        }) {
            return (members.count, DirectionalNode(period: entries[start].arguments.int("period"), members: members))
        }
        // `log_return` and `volatility(n)` entries of one source share the bar's log return (one `log` per bar); a
        // member is 0 for `log_return`, n for `volatility(n)`.
        if let windows = run(entries, from: start, key: { $0.arguments.source() }, member: { entry -> Int? in
            switch entry.kind {
            case "log_return": 0
            case "volatility": entry.arguments.int("period")
            default: nil
            }
        }) {
            return (windows.count, LogReturnNode(source: entries[start].arguments.source(), windows: windows))
        }
        return nil
    }

    /// The members of the run of adjacent entries from `start` on that are members of one family (`member` not nil)
    /// with the same `key`, on the symbol's own bars and base timeframe; nil for a run of fewer than two.
    private static func run<Member, Key: Equatable>(_ entries: ArraySlice<FeatureSpec.Entry>, from start: Int,
                                                    key: (FeatureSpec.Entry) -> Key,
                                                    member: (FeatureSpec.Entry) -> Member?) -> [Member]? {
        var members: [Member] = []
        var i = start
        while i < entries.endIndex, entries[i].timeframe == nil, entries[i].otherSymbol == nil, let m = member(entries[i]),
              key(entries[i]) == key(entries[start]) {
            members.append(m)
            i += 1
        }
        return members.count >= 2 ? members : nil
    }
}

/// `log_return` and `volatility(n)` entries (any of them, in any order) on one log return per bar: the values of
/// `LogReturnIndicator` and `RollingVolatilityIndicator` of the same source, bit for bit (the same arithmetic: the log
/// of the ratio of two prices, and `RollingStats` of those logs).
struct LogReturnNode: FeatureNode {
    let source: PriceSource
    /// Per member: nil for `log_return`, else its volatility's window of log returns.
    private var stats: [RollingStats?]
    private var returns = LogReturn()

    /// `windows`: per member 0 for `log_return`, n for `volatility(n)`.
    init(source: PriceSource, windows: [Int]) {
        self.source = source
        stats = windows.map { $0 == 0 ? nil : RollingStats(capacity: $0) }
    }

    var width: Int { stats.count }
    var lookback: Int { stats.map { $0?.capacity ?? 1 }.max() ?? 1 }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        guard let r = returns.update(close: source.value(bar)) else {
            out.update(repeating: .nan, count: stats.count)
            return
        }
        for j in stats.indices {
            if stats[j] == nil {
                out[j] = r
            } else {
                stats[j]!.push(r)
                out[j] = stats[j]!.fullSampleDeviation ?? .nan
            }
        }
    }

    private enum CodingKeys: String, CodingKey { case returns, stats }

    func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(returns, forKey: .returns)
        try c.encode(stats, forKey: .stats)
    }

    mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let restored = try c.decode([RollingStats?].self, forKey: .stats)
        guard restored.map({ $0?.capacity }) == stats.map({ $0?.capacity }) else {
            throw FeatureSpecError("a checkpoint's log-return node has windows \(restored.map { $0?.capacity ?? 0 }), the spec \(stats.map { $0?.capacity ?? 0 })")
        }
        returns = try c.decode(LogReturn.self, forKey: .returns)
        stats = restored
    }
}

/// ADX, +DI and −DI (any of them, in any order, repeats allowed) from one `TA.DirectionalMovement`: the values of
/// `TA.ADX`, `TA.PLUS_DI` and `TA.MINUS_DI` of the same period, bit for bit (the same code on the same inputs).
struct DirectionalNode: FeatureNode {
    enum Member: Sendable { case adx, plusDI, minusDI }

    let members: [Member]
    private var dm: TA.DirectionalMovement
    private var smoothing = TA.ADXSmoothing()
    private let needsADX: Bool

    init(period: Int, members: [Member]) {
        self.members = members
        dm = TA.DirectionalMovement(period: period)
        needsADX = members.contains(.adx)
    }

    var width: Int { members.count }
    var lookback: Int { needsADX ? 2 * dm.period - 1 : dm.period }

    mutating func update(_ bar: TA.Candle, into out: UnsafeMutablePointer<Double>) {
        guard let (di, range) = dm.update(bar) else {
            out.update(repeating: .nan, count: members.count)
            return
        }
        let adx = needsADX ? smoothing.update(di, smoothedRange: range, period: dm.period) ?? .nan : .nan
        for (j, member) in members.enumerated() {
            out[j] = switch member {
            case .adx: adx
            case .plusDI: di.plus
            case .minusDI: di.minus
            }
        }
    }

    private enum CodingKeys: String, CodingKey { case dm, smoothing }

    func encodeState(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dm, forKey: .dm)
        try c.encode(smoothing, forKey: .smoothing)
    }

    mutating func restoreState(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dm = try c.decode(TA.DirectionalMovement.self, forKey: .dm)
        smoothing = try c.decode(TA.ADXSmoothing.self, forKey: .smoothing)
    }
}
