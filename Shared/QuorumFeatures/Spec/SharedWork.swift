// Work that several spec entries would repeat, done once. `FeatureEngine` runs adjacent entries of one family on the
// same input as one node (`SharedWork.fuse`); the node writes each entry's outputs in spec order, so the vector's
// columns are what the entries would write apart, bit for bit (FeatureSpecTests compares the two).

enum SharedWork {
    /// The entries from `start` on that one node can compute together (at least two), with that node; nil when the
    /// entry at `start` starts no such run. Only entries on the symbol's own bars and base timeframe are joined.
    static func fuse(_ entries: ArraySlice<FeatureSpec.Entry>, from start: Int) -> (count: Int, node: any FeatureNode)? {
        // ADX, +DI and −DI of one period share Wilder's directional-movement smoothing.
        func member(_ entry: FeatureSpec.Entry) -> DirectionalNode.Member? {
            guard entry.timeframe == nil, entry.otherSymbol == nil else { return nil }
            switch entry.kind {
            case "adx": return .adx
            case "plus_di": return .plusDI
            case "minus_di": return .minusDI
            default: return nil
            }
        }
        guard member(entries[start]) != nil else { return nil }
        let period = entries[start].arguments.int("period")
        var members: [DirectionalNode.Member] = []
        var i = start
        while i < entries.endIndex, let m = member(entries[i]), entries[i].arguments.int("period") == period {
            members.append(m)
            i += 1
        }
        guard members.count >= 2 else { return nil }
        return (members.count, DirectionalNode(period: period, members: members))
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
