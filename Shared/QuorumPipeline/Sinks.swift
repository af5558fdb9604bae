import QuorumAlerts
import QuorumExecution
import QuorumModel
import QuorumRisk

// Where stages put their effects. The cluster implements these with Redis (hot state) and Postgres (records);
// an in-process run may pass nil (no effects beyond the published messages) or in-memory versions.

/// Hot, reconstructible state (Redis in the cluster, DESIGN.md §4).
public protocol HotStateSink: Sendable {
    func setLatestFeatures(symbol: String, bytes: [UInt8]) async throws
    func setActiveModel(symbol: String, modelID: String) async throws
    func setExposure(symbol: String, quantity: Fixed) async throws
    func setKillSwitch(on: Bool, reason: String) async throws
    /// Execution's in-memory book (cash and the position of every symbol it ever traded), replacing the previous one.
    func setExecutionBook(startingCash: Fixed, cash: Fixed, positions: [String: Fixed]) async throws
}

/// One order's state as execution records it.
public struct OrderRow: Sendable, Hashable {
    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    public var side: Side
    public var quantity: Fixed
    public var status: OrderStatus
    public var reason: String?
    /// Event time of the order (decision bar close).
    public var time: Nanos

    public init(clientOrderID: String, decisionID: String, symbol: Symbol, side: Side, quantity: Fixed, status: OrderStatus,
                reason: String?, time: Nanos) {
        self.clientOrderID = clientOrderID
        self.decisionID = decisionID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.status = status
        self.reason = reason
        self.time = time
    }
}

/// Durable execution records (Postgres: orders, fills, positions). `apply` must be idempotent and atomic.
public protocol ExecutionRecordSink: Sendable {
    func apply(orders: [OrderRow], fills: [Fill]) async throws
}

/// Durable audit of risk denials.
public protocol DenialRecordSink: Sendable {
    func record(_ denials: [OrderDenial]) async throws
}

/// Where the monitor puts the alerts its rules raise or resolve: stored durably (Postgres) before the batch's offsets are
/// committed, and handed on for delivery to people. Must be idempotent: alert ids are deterministic.
public protocol AlertRecordSink: Sendable {
    func record(_ alerts: [RaisedAlert]) async throws
}
