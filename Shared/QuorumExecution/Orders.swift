import QuorumModel

/// An approved order handed to the paper exchange (mapped from QuorumRisk's `OrderIntent` by the service;
/// QuorumExecution depends only on QuorumModel).
public struct PaperOrder: Sendable, Hashable, Codable {
    /// Idempotency key: a client order id seen before is ignored.
    public var clientOrderID: String
    public var symbol: Symbol
    public var side: Side
    public var quantity: Fixed
    /// Event time of the decision (its bar's close). The order fills at the open of the first bar of its
    /// symbol whose `openTime ≥ time`, i.e. the next bar, never the bar it was decided on.
    public var time: Nanos

    public init(clientOrderID: String, symbol: Symbol, side: Side, quantity: Fixed, time: Nanos) {
        self.clientOrderID = clientOrderID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.time = time
    }
}

/// Order life cycle. Legal moves: new → accepted | rejected; accepted → filled | cancelled | rejected.
/// Filled, cancelled and rejected are final.
public enum OrderStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case new = "NEW"
    case accepted = "ACCEPTED"
    case filled = "FILLED"
    case cancelled = "CANCELLED"
    case rejected = "REJECTED"

    public var isFinal: Bool { self == .filled || self == .cancelled || self == .rejected }

    /// Whether moving from `self` to `next` is allowed.
    public func canTransition(to next: OrderStatus) -> Bool {
        switch (self, next) {
        case (.new, .accepted), (.new, .rejected),
             (.accepted, .filled), (.accepted, .cancelled), (.accepted, .rejected):
            true
        default:
            false
        }
    }
}

/// A status report (`execution.reports`).
public struct ExecutionReport: Sendable, Hashable, Codable {
    /// Deterministic: "\(clientOrderID):\(status)".
    public var reportID: String
    public var clientOrderID: String
    public var symbol: Symbol
    public var side: Side
    public var quantity: Fixed
    public var status: OrderStatus
    public var time: Nanos
    /// Present for FILLED.
    public var fill: Fill?
    /// Present for REJECTED and CANCELLED.
    public var reason: String?

    public init(clientOrderID: String, symbol: Symbol, side: Side, quantity: Fixed, status: OrderStatus, time: Nanos,
                fill: Fill? = nil, reason: String? = nil) {
        reportID = "\(clientOrderID):\(status.rawValue)"
        self.clientOrderID = clientOrderID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.status = status
        self.time = time
        self.fill = fill
        self.reason = reason
    }
}
