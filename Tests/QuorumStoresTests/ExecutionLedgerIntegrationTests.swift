import Foundation
import QuorumModel
import QuorumPostgres
import QuorumStores
import Testing

/// The execution ledger against the real Postgres (`make test`); each test in a database of its own.
@Suite("ExecutionLedgerIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct ExecutionLedgerIntegrationTests {
    static func order(_ id: String, _ status: OrderRecord.Status, _ symbol: Symbol = "BTC-USD", _ side: Side = .buy,
                      quantity: Fixed = .of("0.5"), reason: String? = nil, time: Nanos = 100) -> OrderRecord {
        OrderRecord(clientOrderID: id, decisionID: "d-\(id)", symbol: symbol, side: side, quantity: quantity, status: status,
                    reason: reason, time: time)
    }

    static func fill(_ order: OrderRecord, price: Fixed, fee: Fixed = .of("0.01"), time: Nanos = 200) -> Fill {
        Fill(fillID: "\(order.clientOrderID)-f1", clientOrderID: order.clientOrderID, symbol: order.symbol, side: order.side,
             quantity: order.quantity, price: price, fee: fee, time: time)
    }

    /// The ledger tables exactly, as text (updated_at included).
    static func tables(_ store: PostgresStore) async throws -> [String] {
        try await StoresTestDatabase.dump(store, "SELECT * FROM orders ORDER BY client_order_id")
            + StoresTestDatabase.dump(store, "SELECT * FROM fills ORDER BY fill_id")
            + StoresTestDatabase.dump(store, "SELECT * FROM positions ORDER BY symbol")
    }

    @Test func applyingTheSameBatchTwiceChangesNothing() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            let o1 = Self.order("o1", .filled, quantity: .of("0.12345678"))
            let o2 = Self.order("o2", .filled, "BTC-USD", .sell, quantity: .of("0.1"))
            let o3 = Self.order("o3", .filled, "ETH-USD", quantity: .of("2"))
            let batch = ExecutionBatch(
                orders: [Self.order("o1", .new, quantity: .of("0.12345678")), Self.order("o1", .accepted, quantity: .of("0.12345678")), o1,
                         Self.order("o2", .accepted, "BTC-USD", .sell, quantity: .of("0.1")), o2, o3],
                fills: [Self.fill(o1, price: .of("43210.98765432")), Self.fill(o2, price: .of("43300.5")),
                        Self.fill(o3, price: .of("2250.33333333"), fee: .of("0.45006667"))])

            let first = try await ledger.apply(batch)
            #expect(first == ExecutionBatchResult(ordersInserted: 3, ordersAdvanced: 0, fillsInserted: 3))
            let before = try await Self.tables(store)
            #expect(before.count == 3 + 3 + 2)

            let second = try await ledger.apply(batch)
            #expect(second.isNoOp)
            #expect(try await Self.tables(store) == before)
            // Its parts redelivered one by one change nothing either.
            for order in batch.orders { #expect(try await ledger.apply(ExecutionBatch(orders: [order])).isNoOp) }
            for fill in batch.fills { #expect(try await ledger.apply(ExecutionBatch(fills: [fill])).isNoOp) }
            #expect(try await Self.tables(store) == before)

            #expect(try await ledger.orders().map(\.status) == [.filled, .filled, .filled])
            #expect(try await ledger.fills() == batch.fills.sorted { $0.fillID < $1.fillID })
            #expect(try await ledger.fills(symbol: "ETH-USD").map(\.fillID) == ["o3-f1"])
            #expect(try await ledger.orders(symbol: "ETH-USD").map(\.clientOrderID) == ["o3"])
            #expect(try await ledger.verifyLedger() == [])
        }
    }

    @Test func positionsEqualTheSumsOverFills() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            // Products that need rounding: 3e-8 × 0.5 = 1.5e-8 → 2e-8; 1e-8 × 0.5 → 0; −5e-8 × 0.5 = −2.5e-8 → −2e-8.
            var orders: [OrderRecord] = []
            var fills: [Fill] = []
            for (i, (side, units)) in [(Side.buy, Int64(3)), (.buy, 1), (.sell, 5)].enumerated() {
                let order = Self.order("r\(i)", .filled, "ROUND-USD", side, quantity: Fixed(units: units), time: Nanos(i))
                orders.append(order)
                fills.append(Self.fill(order, price: .of("0.5"), fee: Fixed(units: 1), time: Nanos(i)))
            }
            try await ledger.apply(ExecutionBatch(orders: orders, fills: fills))
            #expect(try await ledger.positions() == [
                PositionRecord(symbol: "ROUND-USD", quantity: Fixed(units: -1), cost: Fixed(units: 0), fees: Fixed(units: 3), fillCount: 3),
            ])

            // Many fills over several symbols, in batches of assorted sizes (some over the 1,000-row chunk), with
            // overlapping redeliveries.
            var generator = SplitMix(seed: 42)
            var all: [(OrderRecord, Fill)] = []
            for i in 0..<2600 {
                let symbol: Symbol = ["BTC-USD", "ETH-USD", "SOL-USD"][Int(generator.next() % 3)]
                let side: Side = generator.next() % 2 == 0 ? .buy : .sell
                let order = Self.order("m\(i)", .filled, symbol, side, quantity: Fixed(units: Int64(1 + generator.next() % 500_000_000)), time: Nanos(i))
                all.append((order, Self.fill(order, price: Fixed(units: Int64(1 + generator.next() % 5_000_000_000_000)),
                                             fee: Fixed(units: Int64(generator.next() % 1_000_000)), time: Nanos(i))))
            }
            for range in [0..<1200, 1000..<1100, 1100..<2600, 0..<2600] {
                let part = all[range]
                try await ledger.apply(ExecutionBatch(orders: part.map(\.0), fills: part.map(\.1)))
            }
            let stored = try await ledger.positions()
            let fromFills = PositionRecord.sums(of: try await ledger.fills())
            #expect(stored == fromFills.values.sorted { $0.symbol < $1.symbol })
            // And both match an independent in-memory sum of the inputs.
            let expected = PositionRecord.sums(of: fills + all.map(\.1))
            #expect(stored == expected.values.sorted { $0.symbol < $1.symbol })
            #expect(stored.map(\.fillCount).reduce(0, +) == 2603)
            #expect(try await ledger.verifyLedger() == [])
        }
    }

    @Test func orderStatusNeverMovesBackwards() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            func status(_ id: String) async throws -> OrderRecord? { try await ledger.orders().first { $0.clientOrderID == id } }

            #expect(try await ledger.apply(ExecutionBatch(orders: [Self.order("s1", .accepted, time: 2)])).ordersInserted == 1)
            #expect(try await ledger.apply(ExecutionBatch(orders: [Self.order("s1", .new, time: 1)])).isNoOp)
            #expect(try await status("s1")?.status == .accepted)
            #expect(try await status("s1")?.time == 2)

            let advanced = try await ledger.apply(ExecutionBatch(orders: [Self.order("s1", .cancelled, reason: "expired", time: 3)]))
            #expect(advanced == ExecutionBatchResult(ordersAdvanced: 1))
            let cancelled = try await Self.tables(store)
            for later in [Self.order("s1", .new, time: 4), Self.order("s1", .accepted, time: 5),
                          Self.order("s1", .filled, time: 6), Self.order("s1", .rejected, reason: "other", time: 7)] {
                #expect(try await ledger.apply(ExecutionBatch(orders: [later])).isNoOp)
            }
            #expect(try await Self.tables(store) == cancelled)
            let final = try #require(try await status("s1"))
            #expect(final.status == .cancelled)
            #expect(final.reason == "expired")
            #expect(final.time == 3)

            // Inside one batch, the furthest status wins whatever the order of the records.
            try await ledger.apply(ExecutionBatch(orders: [Self.order("s2", .accepted), Self.order("s2", .rejected, reason: "no liquidity"), Self.order("s2", .new)]))
            #expect(try await status("s2")?.status == .rejected)
            #expect(try await status("s2")?.reason == "no liquidity")
            // new may go straight to a final status.
            try await ledger.apply(ExecutionBatch(orders: [Self.order("s3", .new)]))
            try await ledger.apply(ExecutionBatch(orders: [Self.order("s3", .rejected, reason: "halted")]))
            #expect(try await status("s3")?.status == .rejected)
        }
    }

    @Test func verifyLedgerFindsInjectedInconsistencies() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            let o1 = Self.order("v1", .filled)
            let o2 = Self.order("v2", .filled, "ETH-USD", .sell)
            try await ledger.apply(ExecutionBatch(orders: [o1, o2], fills: [Self.fill(o1, price: .of("100")), Self.fill(o2, price: .of("10"))]))
            #expect(try await ledger.verifyLedger() == [])

            // A position that drifted from its fills.
            try await StoresTestDatabase.execute(store, "UPDATE positions SET quantity = quantity + 1 WHERE symbol = 'BTC-USD'")
            var problems = try await ledger.verifyLedger()
            #expect(problems.count == 1)
            #expect(problems.first?.contains("position BTC-USD") == true, "\(problems)")
            try await StoresTestDatabase.execute(store, "UPDATE positions SET quantity = quantity - 1 WHERE symbol = 'BTC-USD'")
            #expect(try await ledger.verifyLedger() == [])

            // A filled order whose fill disappeared: the order check and the position check both see it.
            try await StoresTestDatabase.execute(store, "DELETE FROM fills WHERE fill_id = 'v2-f1'")
            problems = try await ledger.verifyLedger()
            #expect(problems.count == 2, "\(problems)")
            #expect(problems.contains { $0.contains("position ETH-USD") })
            #expect(problems.contains { $0.contains("order v2 is filled but has 0 fills") })

            // A fill whose side differs from its order's.
            try await StoresTestDatabase.execute(store, "UPDATE fills SET side = 'sell' WHERE fill_id = 'v1-f1'")
            problems = try await ledger.verifyLedger()
            #expect(problems.count == 4, "\(problems)")  // + BTC-USD position, + the side mismatch
            #expect(problems.contains { $0.contains("fill v1-f1 is sell BTC-USD but its order v1 is buy BTC-USD") }, "\(problems)")
            try await StoresTestDatabase.execute(store, "UPDATE fills SET side = 'buy' WHERE fill_id = 'v1-f1'")

            // A fill without an order (only possible with the foreign key dropped).
            try await StoresTestDatabase.execute(store, "ALTER TABLE fills DROP CONSTRAINT fills_client_order_id_fkey")
            try await StoresTestDatabase.execute(store, "DELETE FROM orders WHERE client_order_id = 'v1'")
            problems = try await ledger.verifyLedger()
            #expect(problems.count == 3, "\(problems)")
            #expect(problems.contains { $0.contains("fill v1-f1 refers to order v1, which does not exist") }, "\(problems)")
        }
    }

    @Test func aFillWithoutItsOrderRollsBackTheWholeBatch() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            let o1 = Self.order("w1", .filled)
            let orphan = Self.fill(Self.order("ghost", .filled), price: .of("1"))
            let error = await #expect(throws: PostgresStoreError.self) {
                try await ledger.apply(ExecutionBatch(orders: [o1], fills: [Self.fill(o1, price: .of("100")), orphan]))
            }
            #expect(error?.sqlState == "23503")
            #expect(try await Self.tables(store) == [])
            await #expect(throws: StoresError.self) {
                try await ledger.apply(ExecutionBatch(orders: [Self.order("w2", .new, quantity: .zero)]))
            }
        }
    }

    @Test func denialsAreRecordedOnce() async throws {
        try await StoresTestDatabase.with { store async throws in
            let ledger = ExecutionLedgerStore(store: store)
            let denials = (0..<3).map {
                DenialRecord(clientOrderID: "x\($0)", decisionID: "d\($0)", symbol: "BTC-USD", reasonCode: "PORTFOLIO_HEAT",
                             reason: "portfolio heat 6% of equity already used; wait for exits", time: Nanos($0))
            }
            #expect(try await ledger.recordDenials(denials) == 3)
            #expect(try await ledger.recordDenials(denials) == 0)
            #expect(try await ledger.recordDenials(denials + denials) == 0)
            #expect(try await ledger.denials() == denials)
        }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
