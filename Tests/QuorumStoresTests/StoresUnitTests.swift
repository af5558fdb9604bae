import QuorumModel
import Testing
@testable import QuorumStores

/// Pure helpers of QuorumStores (no server).
@Suite("StoresUnitTests")
struct StoresUnitTests {
    @Test func statusRanksOnlyMoveForward() {
        #expect(OrderRecord.Status.new.rank < OrderRecord.Status.accepted.rank)
        for final in [OrderRecord.Status.filled, .rejected, .cancelled] {
            #expect(OrderRecord.Status.accepted.rank < final.rank)
        }
        // The SQL ranks match the Swift ranks.
        let sql = ExecutionLedgerStore.rankSQL("s")
        #expect(sql == "(CASE s WHEN 'new' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END)")
    }

    @Test func furthestKeepsOneRecordPerOrderWithTheFurthestStatus() {
        func order(_ id: String, _ status: OrderRecord.Status, reason: String? = nil) -> OrderRecord {
            OrderRecord(clientOrderID: id, decisionID: "d", symbol: "BTC-USD", side: .buy, quantity: 1, status: status, reason: reason, time: 0)
        }
        let collapsed = ExecutionLedgerStore.furthest([
            order("b", .new), order("a", .accepted), order("b", .filled), order("a", .new),
            order("b", .cancelled, reason: "late"), order("c", .rejected, reason: "first"), order("c", .cancelled, reason: "second"),
        ])
        #expect(collapsed.map(\.clientOrderID) == ["a", "b", "c"])
        #expect(collapsed.map(\.status) == [.accepted, .filled, .rejected])
        #expect(collapsed[2].reason == "first")
    }

    @Test func valuesListNumbersPlaceholdersAcrossRows() {
        var values = ValuesList()
        values.add("x")
        values.add(Int64(1))
        values.endRow()
        values.add("y")
        values.add(Optional<String>.none, cast: "jsonb")
        values.endRow()
        #expect(values.rowCount == 2)
        #expect(values.sql == "($1, $2),\n($3, $4::jsonb)")
        #expect(values.bindings.count == 4)
    }

    @Test func chunkedSplitsIntoSlicesOfAtMostTheSize() {
        #expect(Array(0..<2500).chunked(1000).map(\.count) == [1000, 1000, 500])
        #expect([Int]().chunked(1000).isEmpty)
        #expect(Array(0..<1000).chunked(1000).map(\.count) == [1000])
    }

    @Test func metricsMustBeFinite() throws {
        #expect(throws: StoresError.self) { try MetricsJSON.encode(["auc": .nan], what: "m") }
        #expect(throws: StoresError.self) { try MetricsJSON.encode(["auc": .infinity], what: "m") }
        let text = try MetricsJSON.encode(["b": 0.1, "a": -2.5e-7], what: "m")
        #expect(try MetricsJSON.decode(text, what: "m") == ["b": 0.1, "a": -2.5e-7])
        #expect(throws: StoresError.self) { try MetricsJSON.decode("[1]", what: "m") }
    }

    @Test func positionSumsRoundEachProductLikeFixed() {
        // 3e-8 × 0.5 = 1.5e-8 → 2e-8 (half to even); 1e-8 × 0.5 = 0.5e-8 → 0 (half to even); sells subtract.
        let fills = [
            Fill(fillID: "f1", clientOrderID: "o1", symbol: "X", side: .buy, quantity: Fixed(units: 3), price: .of("0.5"), fee: Fixed(units: 1), time: 1),
            Fill(fillID: "f2", clientOrderID: "o2", symbol: "X", side: .buy, quantity: Fixed(units: 1), price: .of("0.5"), fee: Fixed(units: 1), time: 2),
            Fill(fillID: "f3", clientOrderID: "o3", symbol: "X", side: .sell, quantity: Fixed(units: 5), price: .of("0.5"), fee: Fixed(units: 1), time: 3),
        ]
        let sums = PositionRecord.sums(of: fills)
        #expect(sums["X"] == PositionRecord(symbol: "X", quantity: Fixed(units: -1), cost: Fixed(units: 2 + 0 - 2), fees: Fixed(units: 3), fillCount: 3))
    }
}
