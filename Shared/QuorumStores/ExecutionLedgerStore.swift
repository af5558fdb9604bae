import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// An order as the ledger keeps it (`orders`): its immutable facts and its furthest status.
public struct OrderRecord: Sendable, Hashable {
    /// Order status as stored. Statuses only move forward: new → accepted → filled | rejected | cancelled
    /// (new may go straight to a final status); the three final statuses never change.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case new, accepted, filled, rejected, cancelled

        /// 0 for new, 1 for accepted, 2 for the final statuses. A status replaces another only with a higher rank.
        public var rank: Int {
            switch self {
            case .new: 0
            case .accepted: 1
            case .filled, .rejected, .cancelled: 2
            }
        }
    }

    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    public var side: Side
    /// Positive; `side` gives the sign.
    public var quantity: Fixed
    public var status: Status
    /// Why it was rejected or cancelled.
    public var reason: String?
    /// Event time of the report that set `status`.
    public var time: Nanos
    /// Set by the database when the row last changed; ignored when applying.
    public var updatedAt: Date?

    public init(clientOrderID: String, decisionID: String, symbol: Symbol, side: Side, quantity: Fixed, status: Status,
                reason: String? = nil, time: Nanos, updatedAt: Date? = nil) {
        self.clientOrderID = clientOrderID
        self.decisionID = decisionID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.status = status
        self.reason = reason
        self.time = time
        self.updatedAt = updatedAt
    }
}

/// One symbol's row of the position ledger (`positions`): sums over its fills.
public struct PositionRecord: Sendable, Hashable {
    public var symbol: Symbol
    /// Σ signed fill quantities (negative = short).
    public var quantity: Fixed
    /// Σ signed quantity × price, each product rounded half-to-even at 1e-8 as `Fixed *` does.
    public var cost: Fixed
    /// Σ fees.
    public var fees: Fixed
    /// How many fills were applied.
    public var fillCount: Int

    public init(symbol: Symbol, quantity: Fixed = .zero, cost: Fixed = .zero, fees: Fixed = .zero, fillCount: Int = 0) {
        self.symbol = symbol
        self.quantity = quantity
        self.cost = cost
        self.fees = fees
        self.fillCount = fillCount
    }

    /// Adds one fill.
    public mutating func add(_ fill: Fill) {
        let signed = fill.signedQuantity
        self.quantity += signed
        self.cost += signed * fill.price
        self.fees += fill.fee
        self.fillCount += 1
    }

    /// The positions that `fills` add up to, by symbol.
    public static func sums(of fills: some Sequence<Fill>) -> [Symbol: PositionRecord] {
        var result: [Symbol: PositionRecord] = [:]
        for fill in fills { result[fill.symbol, default: PositionRecord(symbol: fill.symbol)].add(fill) }
        return result
    }
}

/// A risk denial as audited (`risk_denials`).
public struct DenialRecord: Sendable, Hashable {
    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    /// Machine-readable reason (QuorumRisk's `RiskCode` raw value).
    public var reasonCode: String
    /// What blocked and what to do.
    public var reason: String
    public var time: Nanos

    public init(clientOrderID: String, decisionID: String, symbol: Symbol, reasonCode: String, reason: String, time: Nanos) {
        self.clientOrderID = clientOrderID
        self.decisionID = decisionID
        self.symbol = symbol
        self.reasonCode = reasonCode
        self.reason = reason
        self.time = time
    }
}

/// What execution hands the ledger after handling one message: order status changes and fills.
public struct ExecutionBatch: Sendable, Hashable {
    /// Order states, in the order they happened (several of one order are fine: the furthest status wins).
    public var orders: [OrderRecord]
    /// Fills; each fill's order must be in this batch or stored before.
    public var fills: [Fill]

    public init(orders: [OrderRecord] = [], fills: [Fill] = []) {
        self.orders = orders
        self.fills = fills
    }
}

/// What one ``ExecutionLedgerStore/apply(_:)`` changed.
public struct ExecutionBatchResult: Sendable, Hashable {
    /// Orders stored for the first time.
    public var ordersInserted: Int
    /// Stored orders whose status moved forward.
    public var ordersAdvanced: Int
    /// Fills stored (and applied to positions) for the first time.
    public var fillsInserted: Int

    public init(ordersInserted: Int = 0, ordersAdvanced: Int = 0, fillsInserted: Int = 0) {
        self.ordersInserted = ordersInserted
        self.ordersAdvanced = ordersAdvanced
        self.fillsInserted = fillsInserted
    }

    /// True when the batch changed nothing (it had been applied before).
    public var isNoOp: Bool { self.ordersInserted == 0 && self.ordersAdvanced == 0 && self.fillsInserted == 0 }
}

/// The execution ledger: orders, fills, positions and risk denials, written idempotently.
///
/// Applying a batch again (a redelivered message) changes nothing: orders are inserted once and their status only
/// moves forward, fills are inserted once, and positions change only for fills actually inserted, in the same
/// transaction. Hence, at any commit, each symbol's position equals the sum over its fills (``verifyLedger()``).
public struct ExecutionLedgerStore: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.ledger")) {
        self.store = store
        self.logger = logger
    }

    // MARK: - Writes

    /// Applies `batch` in ONE transaction (see the type's documentation).
    /// - Throws: `PostgresStoreError` (foreign-key violation, SQLSTATE 23503) when a fill's order is neither in the
    ///   batch nor stored; nothing of the batch is applied then.
    @discardableResult
    public func apply(_ batch: ExecutionBatch) async throws -> ExecutionBatchResult {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            try await Self.apply(batch, on: connection, logger: logger)
        }
    }

    /// ``apply(_:)`` on a connection the caller holds; call it inside a transaction (e.g. the effect of
    /// `PostgresStore.processOnce`), or the batch is not atomic.
    @discardableResult
    public static func apply(_ batch: ExecutionBatch, on connection: PostgresConnection, logger: Logger) async throws -> ExecutionBatchResult {
        var result = ExecutionBatchResult()
        for order in batch.orders where order.quantity.units <= 0 {
            throw StoresError(code: .invalidArgument, message: "order \(order.clientOrderID) has quantity \(order.quantity); it must be positive")
        }
        for fill in batch.fills where fill.quantity.units <= 0 {
            throw StoresError(code: .invalidArgument, message: "fill \(fill.fillID) has quantity \(fill.quantity); it must be positive")
        }

        // Orders: one row per order id (its furthest status), in key order so concurrent batches lock alike.
        for chunk in Self.furthest(batch.orders).chunked(maximumRowsPerStatement) {
            var values = ValuesList()
            for order in chunk {
                values.add(order.clientOrderID)
                values.add(order.decisionID)
                values.add(order.symbol.name)
                values.add(order.side.rawValue)
                values.add(order.quantity.units)
                values.add(order.status.rawValue)
                values.add(order.reason)
                values.add(order.time)
                values.endRow()
            }
            let rows = try await collect(values.query("""
                INSERT INTO orders AS o (client_order_id, decision_id, symbol, side, quantity, status, reason, ts_event_ns)
                """, """
                ON CONFLICT (client_order_id) DO UPDATE
                    SET status = EXCLUDED.status, reason = EXCLUDED.reason, ts_event_ns = EXCLUDED.ts_event_ns, updated_at = now()
                    WHERE \(Self.rankSQL("EXCLUDED.status")) > \(Self.rankSQL("o.status"))
                RETURNING (xmax = 0) AS inserted
                """), on: connection, logger: logger) { try $0.value("inserted", as: Bool.self) }
            result.ordersInserted += rows.filter { $0 }.count
            result.ordersAdvanced += rows.filter { !$0 }.count
        }

        // Fills: insert once; only the ones inserted now move positions.
        var seen = Set<String>()
        let fills = batch.fills.filter { seen.insert($0.fillID).inserted }.sorted { $0.fillID < $1.fillID }
        var inserted: [Fill] = []
        for chunk in fills.chunked(maximumRowsPerStatement) {
            var values = ValuesList()
            for fill in chunk {
                values.add(fill.fillID)
                values.add(fill.clientOrderID)
                values.add(fill.symbol.name)
                values.add(fill.side.rawValue)
                values.add(fill.quantity.units)
                values.add(fill.price.units)
                values.add(fill.fee.units)
                values.add(fill.time)
                values.endRow()
            }
            let ids = Set(try await collect(values.query("""
                INSERT INTO fills (fill_id, client_order_id, symbol, side, quantity, price, fee, ts_event_ns)
                """, """
                ON CONFLICT (fill_id) DO NOTHING
                RETURNING fill_id
                """), on: connection, logger: logger) { try $0.value("fill_id", as: String.self) })
            inserted += chunk.filter { ids.contains($0.fillID) }
        }
        result.fillsInserted = inserted.count

        let deltas = PositionRecord.sums(of: inserted).values.sorted { $0.symbol < $1.symbol }
        if !deltas.isEmpty {
            var values = ValuesList()
            for delta in deltas {
                values.add(delta.symbol.name)
                values.add(delta.quantity.units)
                values.add(delta.cost.units)
                values.add(delta.fees.units)
                values.add(try int32(Int64(delta.fillCount), "fill count of \(delta.symbol)"))
                values.endRow()
            }
            try await execute(values.query("""
                INSERT INTO positions AS p (symbol, quantity, cost, fees, fill_count)
                """, """
                ON CONFLICT (symbol) DO UPDATE
                    SET quantity = p.quantity + EXCLUDED.quantity, cost = p.cost + EXCLUDED.cost,
                        fees = p.fees + EXCLUDED.fees, fill_count = p.fill_count + EXCLUDED.fill_count
                """), on: connection, logger: logger)
        }
        return result
    }

    /// Records risk denials, each once per client order id.
    /// - Returns: How many were inserted (0 when all were recorded before).
    @discardableResult
    public func recordDenials(_ denials: [DenialRecord]) async throws -> Int {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            try await Self.recordDenials(denials, on: connection, logger: logger)
        }
    }

    /// ``recordDenials(_:)`` on a connection the caller holds.
    @discardableResult
    public static func recordDenials(_ denials: [DenialRecord], on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var inserted: Int64 = 0
        for chunk in denials.chunked(maximumRowsPerStatement) {
            var values = ValuesList()
            for denial in chunk {
                values.add(denial.clientOrderID)
                values.add(denial.decisionID)
                values.add(denial.symbol.name)
                values.add(denial.reasonCode)
                values.add(denial.reason)
                values.add(denial.time)
                values.endRow()
            }
            inserted += try await scalar(values.query("""
                WITH inserted AS (
                    INSERT INTO risk_denials (client_order_id, decision_id, symbol, reason_code, reason, ts_event_ns)
                """, """
                    ON CONFLICT DO NOTHING
                    RETURNING 1
                )
                SELECT count(*) FROM inserted
                """), on: connection, logger: logger)
        }
        return Int(inserted)
    }

    // MARK: - Reads

    /// Stored orders (of `symbol`, or all), by event time then id.
    public func orders(symbol: Symbol? = nil) async throws -> [OrderRecord] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await collect("""
                SELECT client_order_id, decision_id, symbol, side, quantity, status, reason, ts_event_ns, updated_at
                FROM orders WHERE \(symbol?.name)::text IS NULL OR symbol = \(symbol?.name)
                ORDER BY ts_event_ns, client_order_id
                """, on: connection, logger: logger) { row in
                OrderRecord(
                    clientOrderID: try row.value("client_order_id"), decisionID: try row.value("decision_id"),
                    symbol: Symbol(try row.value("symbol")), side: try row.enumeration("side", as: Side.self, in: "orders"),
                    quantity: try row.fixed("quantity"),
                    status: try row.enumeration("status", as: OrderRecord.Status.self, in: "orders"),
                    reason: try row.value("reason", as: String?.self), time: try row.value("ts_event_ns"),
                    updatedAt: try row.value("updated_at", as: Date.self))
            }
        }
    }

    /// Stored fills (of `symbol`, or all), by event time then id.
    public func fills(symbol: Symbol? = nil) async throws -> [Fill] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await Self.fills(symbol: symbol, on: connection, logger: logger)
        }
    }

    static func fills(symbol: Symbol?, on connection: PostgresConnection, logger: Logger) async throws -> [Fill] {
        try await collect("""
            SELECT fill_id, client_order_id, symbol, side, quantity, price, fee, ts_event_ns
            FROM fills WHERE \(symbol?.name)::text IS NULL OR symbol = \(symbol?.name)
            ORDER BY ts_event_ns, fill_id
            """, on: connection, logger: logger) { row in
            Fill(fillID: try row.value("fill_id"), clientOrderID: try row.value("client_order_id"),
                 symbol: Symbol(try row.value("symbol")), side: try row.enumeration("side", as: Side.self, in: "fills"),
                 quantity: try row.fixed("quantity"), price: try row.fixed("price"), fee: try row.fixed("fee"),
                 time: try row.value("ts_event_ns"))
        }
    }

    /// The position ledger, by symbol.
    public func positions() async throws -> [PositionRecord] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await Self.positions(on: connection, logger: logger)
        }
    }

    static func positions(on connection: PostgresConnection, logger: Logger) async throws -> [PositionRecord] {
        try await collect("SELECT symbol, quantity, cost, fees, fill_count FROM positions ORDER BY symbol",
                          on: connection, logger: logger) { row in
            PositionRecord(symbol: Symbol(try row.value("symbol")), quantity: try row.fixed("quantity"), cost: try row.fixed("cost"),
                           fees: try row.fixed("fees"), fillCount: Int(try row.value("fill_count", as: Int32.self)))
        }
    }

    /// Recorded risk denials, by event time then client order id.
    public func denials() async throws -> [DenialRecord] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await collect("""
                SELECT client_order_id, decision_id, symbol, reason_code, reason, ts_event_ns FROM risk_denials
                ORDER BY ts_event_ns, client_order_id
                """, on: connection, logger: logger) { row in
                DenialRecord(clientOrderID: try row.value("client_order_id"), decisionID: try row.value("decision_id"),
                             symbol: Symbol(try row.value("symbol")), reasonCode: try row.value("reason_code"),
                             reason: try row.value("reason"), time: try row.value("ts_event_ns"))
            }
        }
    }

    // MARK: - Verification

    /// Checks the ledger on one consistent snapshot and describes every problem found (empty when consistent):
    /// a position that differs from the sums over its symbol's fills (or fills without a position), a filled order
    /// without exactly one fill, a fill without an order, a fill whose symbol or side differs from its order's.
    public func verifyLedger() async throws -> [String] {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            try await execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", on: connection, logger: logger)
            var problems: [String] = []

            let expected = PositionRecord.sums(of: try await Self.fills(symbol: nil, on: connection, logger: logger))
            let stored = Dictionary(uniqueKeysWithValues: try await Self.positions(on: connection, logger: logger).map { ($0.symbol, $0) })
            for symbol in Set(expected.keys).union(stored.keys).sorted() {
                let want = expected[symbol] ?? PositionRecord(symbol: symbol)
                guard let have = stored[symbol] else {
                    problems.append("position \(symbol) is missing, but its \(want.fillCount) fill(s) sum to quantity \(want.quantity), cost \(want.cost), fees \(want.fees)")
                    continue
                }
                if have != want {
                    problems.append("position \(symbol) is quantity \(have.quantity), cost \(have.cost), fees \(have.fees), fill_count \(have.fillCount), but its fills sum to quantity \(want.quantity), cost \(want.cost), fees \(want.fees), fill_count \(want.fillCount)")
                }
            }

            problems += try await collect("""
                SELECT o.client_order_id, count(f.fill_id) AS fills FROM orders o
                LEFT JOIN fills f ON f.client_order_id = o.client_order_id
                WHERE o.status = 'filled'
                GROUP BY o.client_order_id HAVING count(f.fill_id) <> 1
                ORDER BY o.client_order_id
                """, on: connection, logger: logger) { row in
                "order \(try row.value("client_order_id", as: String.self)) is filled but has \(try row.value("fills", as: Int64.self)) fills (expected exactly 1)"
            }
            problems += try await collect("""
                SELECT f.fill_id, f.client_order_id FROM fills f
                LEFT JOIN orders o ON o.client_order_id = f.client_order_id
                WHERE o.client_order_id IS NULL
                ORDER BY f.fill_id
                """, on: connection, logger: logger) { row in
                "fill \(try row.value("fill_id", as: String.self)) refers to order \(try row.value("client_order_id", as: String.self)), which does not exist"
            }
            problems += try await collect("""
                SELECT f.fill_id, f.symbol AS fill_symbol, f.side AS fill_side, o.client_order_id,
                       o.symbol AS order_symbol, o.side AS order_side
                FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id
                WHERE f.symbol <> o.symbol OR f.side <> o.side
                ORDER BY f.fill_id
                """, on: connection, logger: logger) { row in
                "fill \(try row.value("fill_id", as: String.self)) is \(try row.value("fill_side", as: String.self)) \(try row.value("fill_symbol", as: String.self)) but its order \(try row.value("client_order_id", as: String.self)) is \(try row.value("order_side", as: String.self)) \(try row.value("order_symbol", as: String.self))"
            }
            return problems
        }
    }

    // MARK: - Internals

    /// One record per client order id: the one with the furthest status (the first of equal rank, since a final
    /// status never changes), sorted by id.
    static func furthest(_ orders: [OrderRecord]) -> [OrderRecord] {
        var byID: [String: OrderRecord] = [:]
        for order in orders {
            if let current = byID[order.clientOrderID], order.status.rank <= current.status.rank { continue }
            byID[order.clientOrderID] = order
        }
        return byID.values.sorted { $0.clientOrderID < $1.clientOrderID }
    }

    /// SQL for a status column's rank (matches ``OrderRecord/Status/rank``).
    static func rankSQL(_ column: String) -> String {
        "(CASE \(column) WHEN 'new' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END)"
    }
}
