import QuorumAnalytics
import QuorumExecution
import QuorumModel
import Testing

@Suite("EquityCurve")
struct EquityCurveTests {
    static let hour: Nanos = 3_600_000_000_000
    static let start: Nanos = 1_700_000_000 / 3600 * 3600 * 1_000_000_000

    static func bars(_ symbol: Symbol, closes: [Fixed]) -> [Bar] {
        closes.enumerated().map { i, c in
            Bar(symbol: symbol, openTime: start + Nanos(i) * hour, intervalSeconds: 3600, open: c, high: c, low: c, close: c, volume: 1)
        }
    }

    @Test("two symbols of 1h bars: one sample per close time, annualised with 8,760 periods a year")
    func twoSymbolsHourly() {
        let aaa = Self.bars("AAA-USD", closes: [100, 102, 101, 105, 107, 104])
        let bbb = Self.bars("BBB-USD", closes: [10, 10, 11, 12, 11, 13])
        let fills = [
            Fill(fillID: "f1", clientOrderID: "o1", symbol: "AAA-USD", side: .buy, quantity: 10, price: 102, fee: 1, time: Self.start + Self.hour),
            Fill(fillID: "f2", clientOrderID: "o2", symbol: "BBB-USD", side: .buy, quantity: 50, price: 11, fee: 1, time: Self.start + 2 * Self.hour),
            Fill(fillID: "f3", clientOrderID: "o3", symbol: "AAA-USD", side: .sell, quantity: 10, price: 107, fee: 1, time: Self.start + 4 * Self.hour),
        ]
        let curve = EquityCurve(fills: fills, bars: bbb + aaa, startingCash: 10_000)
        #expect(curve.equity.count == 7)   // the start, then one per close time — not one per symbol and bar
        #expect(curve.times.first == Self.start && curve.times.last == Self.start + 6 * Self.hour)
        #expect(curve.intervalSeconds == 3600 && curve.periodsPerYear == 8_760)
        // After the last close: cash 10,000 − 1,021 − 551 + 1,069 = 9,497, plus 50 BBB at 13.
        #expect(curve.equity.last?.units == Fixed(9_497 + 650).units, "\(curve.equity.map(\.units))")
        // At the close of the 2nd hour (AAA 101, BBB 11): 10 AAA bought at 102 (fee 1), 50 BBB bought at 11 (fee 1).
        #expect(curve.equity[3] == Fixed(10_000 - 1_021 - 551 + 1_010 + 550))
        let stats = PerformanceStats(curve: curve)
        let expected = ReturnMetrics.sharpeRatio(curve.returns, periodsPerYear: 8_760)
        #expect(stats.sharpe.map { abs($0 - expected) < 1e-12 } == true)
        #expect(stats.tradeCount == 1)
        #expect(abs(stats.maxDrawdownPercent - -ReturnMetrics.maxDrawdown(curve.returns)) < 1e-12)
    }

    @Test("no bars: an empty curve; fills still reach the ledger")
    func noBars() {
        let fill = Fill(fillID: "f1", clientOrderID: "o1", symbol: "AAA-USD", side: .buy, quantity: 1, price: 5, fee: 0, time: 0)
        let curve = EquityCurve(fills: [fill], bars: [], startingCash: 100)
        #expect(curve.equity.isEmpty && curve.periodsPerYear == 0)
        #expect(curve.ledger.cash == 95)
    }
}
