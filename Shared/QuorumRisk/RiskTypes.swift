import QuorumModel

/// Where a decision wants the position of one symbol to be.
public enum PositionTarget: String, Sendable, Hashable, Codable {
    case long, short, flat
}

/// The part of a consensus decision that risk needs (QuorumRisk depends only on QuorumModel, so it cannot
/// use QuorumStrategy's `Decision`; the service maps one onto the other field by field).
public struct RiskDecision: Sendable, Hashable, Codable {
    /// The decision id; every order id is derived from it, so a redelivered decision maps to the same orders. Kept as a
    /// `CompactID` (no string per decision; risk's dedupe set hashes a number); `id` is its text.
    public var key: CompactID
    /// The decision id as text.
    public var id: String {
        get { key.text }
        set { key = CompactID(newValue) }
    }
    public var symbol: Symbol
    /// Event time (bar close) of the decision.
    public var time: Nanos
    /// Target position; `nil` for a hold decision, which produces nothing.
    public var target: PositionTarget?
    public var confidence: Double
    /// Close of the decided bar: the price used for sizing and limits.
    public var referencePrice: Fixed
    /// Average true range of the decided bar; the stop distance is `stopATRMultiple × atr` when present and positive.
    public var atr: Double?

    /// Coded as before the id was compact: the id's text under "id".
    private enum CodingKeys: String, CodingKey {
        case key = "id", symbol, time, target, confidence, referencePrice, atr
    }

    public init(id: String, symbol: Symbol, time: Nanos, target: PositionTarget?, confidence: Double = 1,
                referencePrice: Fixed, atr: Double?) {
        self.init(key: CompactID(id), symbol: symbol, time: time, target: target, confidence: confidence,
                  referencePrice: referencePrice, atr: atr)
    }

    public init(key: CompactID, symbol: Symbol, time: Nanos, target: PositionTarget?, confidence: Double = 1,
                referencePrice: Fixed, atr: Double?) {
        self.key = key
        self.symbol = symbol
        self.time = time
        self.target = target
        self.confidence = confidence
        self.referencePrice = referencePrice
        self.atr = atr
    }
}

/// A fill reported by execution (`execution.reports`): the model's `Fill`.
public typealias FillReport = Fill

/// Which limit a check or a denial is about.
public enum RiskCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The manual kill switch or the daily-loss kill switch is on.
    case killSwitch = "KILL_SWITCH"
    /// Equity fell by the daily loss limit since the start of the UTC day.
    case dailyLossLimit = "DAILY_LOSS_LIMIT"
    /// Risk at stop of this order ≤ equity × risk per trade (capped at 2 %).
    case riskPerTrade = "RISK_PER_TRADE"
    /// Position notional per symbol after the order ≤ the symbol's maximum.
    case maxPosition = "MAX_POSITION"
    /// Sum of risk at stop over open and pending positions ≤ max heat × equity.
    case portfolioHeat = "PORTFOLIO_HEAT"
    /// Cash not spoken for by pending buys must pay for the buy at its worst assumed fill, fees included (spot).
    case buyingPower = "BUYING_POWER"
    /// The size left after every cap is less than one lot.
    case belowLotSize = "BELOW_LOT_SIZE"
    /// A short entry while `allowShort` is off (spot).
    case shortingDisabled = "SHORTING_DISABLED"
    /// Equity ≤ 0, or a reference price / stop distance ≤ 0: nothing can be sized.
    case invalidInput = "INVALID_INPUT"
    /// Exits (orders that only reduce a position) are always allowed.
    case exitAllowed = "EXIT_ALLOWED"
}

/// One check made while approving an order: `observed` is compared with `limit`.
public struct RiskCheckResult: Sendable, Hashable, Codable {
    public var code: RiskCode
    public var passed: Bool
    public var limit: Fixed
    public var observed: Fixed
    public var detail: String

    public init(code: RiskCode, passed: Bool, limit: Fixed, observed: Fixed, detail: String) {
        self.code = code
        self.passed = passed
        self.limit = limit
        self.observed = observed
        self.detail = detail
    }
}

/// An order risk approved (`orders.approved`).
public struct OrderIntent: Sendable, Hashable, Codable {
    /// "q-" + 16 hex digits of a stable hash of the decision id and leg ("entry"/"exit").
    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    public var side: Side
    /// Positive, a multiple of the lot size.
    public var quantity: Fixed
    public var referencePrice: Fixed
    /// Protective stop for entries; equals `referencePrice` for exits.
    public var stopPrice: Fixed
    /// quantity × stop distance for entries; 0 for exits.
    public var riskAmount: Fixed
    /// True when the order only reduces an existing position.
    public var isExit: Bool
    /// Event time of the decision (bar close); execution fills at the first bar opening at or after it.
    public var time: Nanos
    public var checks: [RiskCheckResult]

    public init(clientOrderID: String, decisionID: String, symbol: Symbol, side: Side, quantity: Fixed, referencePrice: Fixed,
                stopPrice: Fixed, riskAmount: Fixed, isExit: Bool, time: Nanos, checks: [RiskCheckResult]) {
        self.clientOrderID = clientOrderID
        self.decisionID = decisionID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.referencePrice = referencePrice
        self.stopPrice = stopPrice
        self.riskAmount = riskAmount
        self.isExit = isExit
        self.time = time
        self.checks = checks
    }
}

/// An order risk refused (`orders.denied`): a fact with a reason, not an error.
public struct OrderDenial: Sendable, Hashable, Codable {
    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    public var reason: RiskCode
    /// What blocked and what to do, e.g. "portfolio heat 6% of equity already used; wait for exits".
    public var text: String
    public var limit: Fixed
    public var observed: Fixed
    public var time: Nanos

    public init(clientOrderID: String, decisionID: String, symbol: Symbol, reason: RiskCode, text: String, limit: Fixed, observed: Fixed, time: Nanos) {
        self.clientOrderID = clientOrderID
        self.decisionID = decisionID
        self.symbol = symbol
        self.reason = reason
        self.text = text
        self.limit = limit
        self.observed = observed
        self.time = time
    }
}

/// 64-bit FNV-1a over UTF-8 bytes: stable across processes, so ids derived from it survive restarts and replays.
enum StableHash {
    static func hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let h = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
}

/// Remembers the most recent `capacity` ids (first in, first out) to drop redeliveries with bounded memory.
struct RecentIDs<ID: Hashable & Sendable>: Sendable {
    let capacity: Int
    private var set: Set<ID> = []
    private var order: [ID] = []
    private var head = 0

    /// - Parameter capacity: ids remembered; 0 remembers none (`insert` always says new).
    init(capacity: Int) {
        self.capacity = max(0, capacity)
        // Full size from the start: growing a set of strings by rehashing it is most of what inserting costs.
        set.reserveCapacity(self.capacity)
        order.reserveCapacity(self.capacity)
    }

    /// Remembers `ids` (oldest first) as if inserted in that order: a checkpoint's ids into the configured capacity.
    init(capacity: Int, ids: [ID]) {
        self.init(capacity: capacity)
        for id in ids { _ = insert(id) }
    }

    /// The remembered ids, oldest first.
    var ids: [ID] { order.count < capacity ? order : Array(order[head...] + order[..<head]) }

    func contains(_ id: ID) -> Bool { set.contains(id) }

    /// Returns false when the id was already remembered.
    mutating func insert(_ id: ID) -> Bool {
        guard capacity > 0 else { return true }
        guard set.insert(id).inserted else { return false }
        if order.count < capacity {
            order.append(id)
        } else {
            set.remove(order[head])
            order[head] = id
            head = (head + 1) % capacity
        }
        return true
    }
}
