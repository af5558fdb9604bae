import Foundation
import Testing
@testable import QuorumAnalytics

struct TradeFixture: Decodable {
    struct FixtureTrade: Decodable {
        var side: String
        var size: Double
        var entryPrice: Double
        var exitPrice: Double
        var fees: Double
        var slippage: Double
        var pnl: Double
        var returnPct: Double
        var entryTime: Int64
        var exitTime: Int64

        enum CodingKeys: String, CodingKey {
            case side, size, fees, slippage, pnl
            case entryPrice = "entry_price", exitPrice = "exit_price", returnPct = "return_pct"
            case entryTime = "entry_time_ns", exitTime = "exit_time_ns"
        }
    }

    struct TradeSet: Decodable {
        var name: String
        var timeline: [Int64]
        var equity: [Double]
        var trades: [FixtureTrade]
        var expected: [String: Expected]

        enum CodingKeys: String, CodingKey {
            case name, equity, trades, expected
            case timeline = "timeline_ns"
        }
    }

    var sets: [TradeSet]
}

@Suite("Per-trade metrics against backtesting.py / quantstats fixtures")
struct TradeMetricsFixtureTests {
    static let setNames = ["mixed", "all_winners", "no_trades"]

    static func trades(_ set: TradeFixture.TradeSet) -> [Trade] {
        set.trades.map {
            Trade(symbol: "BTC-USD", side: $0.side == "long" ? .long : .short, size: $0.size, entryTime: $0.entryTime,
                  exitTime: $0.exitTime, entryPrice: $0.entryPrice, exitPrice: $0.exitPrice, fees: $0.fees, slippage: $0.slippage)
        }
    }

    @Test("the fixture holds exactly the trade sets this suite checks")
    func setList() throws {
        #expect(try Fixtures.load("trades.json", as: TradeFixture.self).sets.map(\.name) == Self.setNames)
    }

    @Test("a trade's default pnl and return are backtesting.py's Trade.pl and Trade.pl_pct")
    func tradeRecord() throws {
        let set = try #require(try Fixtures.load("trades.json", as: TradeFixture.self).sets.first { $0.name == "mixed" })
        let trades = Self.trades(set)
        #expect(trades.count == set.trades.count && trades.count > 40)
        #expect(trades.contains { $0.side == .short } && trades.contains { $0.side == .long })
        for (t, f) in zip(trades, set.trades) {
            #expect(agrees(t.pnl, f.pnl))
            #expect(agrees(t.returnOnEntry, f.returnPct))
            #expect(t.holdingTime == f.exitTime - f.entryTime)
        }
    }

    @Test("every per-trade metric equals its reference to 1e-9 relative", arguments: setNames)
    func metrics(name: String) throws {
        let set = try #require(try Fixtures.load("trades.json", as: TradeFixture.self).sets.first { $0.name == name })
        let s = TradeSummary(trades: Self.trades(set), timeline: set.timeline, equity: set.equity)
        let actual: [String: Double] = [
            "trade_count": Double(s.trades), "win_rate": s.winRate, "profit_factor": s.profitFactor,
            "return_profit_factor": s.returnProfitFactor, "expectancy": s.expectancy, "return_expectancy": s.returnExpectancy,
            "average_holding_ns": s.averageHoldingNanos, "exposure": s.exposure, "traded_notional": s.tradedNotional,
            "turnover": s.turnover, "fees_paid": s.feesPaid, "slippage_paid": s.slippagePaid,
        ]
        #expect(Set(actual.keys) == Set(set.expected.keys), "metrics without a check or without a reference")
        for (key, expected) in set.expected.sorted(by: { $0.key < $1.key }) {
            let e = try #require(expected.value, "\(key) has no reference value")
            let a = try #require(actual[key])
            #expect(agrees(a, e), "\(name) \(key): \(a), expected \(e) (\(expected.reference))")
        }
    }
}

@Suite("Per-trade metrics by hand")
struct TradeMetricsHandTests {
    func trade(_ side: TradeSide, entry: Int64, exit: Int64, pnl: Double) -> Trade {
        Trade(side: side, size: 1, entryTime: entry, exitTime: exit, entryPrice: 100, exitPrice: 100, fees: 0, pnl: pnl)
    }

    @Test("a break-even trade is not a win; profit factor and expectancy in money")
    func winRateAndProfitFactor() {
        let trades = [trade(.long, entry: 0, exit: 1, pnl: 30), trade(.short, entry: 1, exit: 2, pnl: -10),
                      trade(.long, entry: 2, exit: 3, pnl: 0), trade(.long, entry: 3, exit: 4, pnl: -20)]
        #expect(TradeMetrics.winRate(trades) == 0.25)
        #expect(TradeMetrics.profitFactor(trades) == 1)
        #expect(TradeMetrics.expectancy(trades) == 0)
        #expect(TradeMetrics.profitFactor([trade(.long, entry: 0, exit: 1, pnl: 5)]) == .infinity)
        #expect(TradeMetrics.winRate([]).isNaN)
        #expect(TradeMetrics.expectancy([]).isNaN)
    }

    @Test("pnl and return of a short: the price fell 10 %, fees 2 on a notional of 100")
    func short() {
        let t = Trade(side: .short, size: 2, entryTime: 0, exitTime: 3_600_000_000_000, entryPrice: 50, exitPrice: 45, fees: 2,
                      slippage: 0.5)
        #expect(t.pnl == 8) // −1 × 2 × (45 − 50) − 2
        #expect(agrees(t.returnOnEntry, 0.1 - 0.02))
        #expect(t.tradedNotional == 190)
        #expect(t.holdingTime == 3_600_000_000_000)
        #expect(Trade(side: .long, size: 1, entryTime: 0, exitTime: 1, entryPrice: 1, exitPrice: 2, pnl: 7).pnl == 7)
    }

    @Test("exposure counts timeline points inside [entry, exit], overlapping trades once, trades off the timeline not at all")
    func exposure() {
        let timeline: [Int64] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
        let trades = [trade(.long, entry: 10, exit: 30, pnl: 1),   // 10, 20, 30
                      trade(.short, entry: 25, exit: 40, pnl: 1),  // 30 (again), 40
                      trade(.long, entry: 61, exit: 69, pnl: 1),   // between points: none
                      trade(.long, entry: 90, exit: 200, pnl: 1)]  // 90
        #expect(agrees(TradeMetrics.exposure(trades, timeline: timeline), 5.0 / 10))
        #expect(TradeMetrics.exposure([], timeline: timeline) == 0)
        #expect(TradeMetrics.exposure(trades, timeline: []).isNaN)
    }

    @Test("turnover is the notional of both legs over the mean equity; fees and slippage add up")
    func turnoverAndCosts() {
        let trades = [Trade(side: .long, size: 1, entryTime: 0, exitTime: 1, entryPrice: 100, exitPrice: 110, fees: 0.21, slippage: 0.05),
                      Trade(side: .short, size: 0.5, entryTime: 1, exitTime: 2, entryPrice: 110, exitPrice: 90, fees: 0.1, slippage: 0.02)]
        #expect(agrees(TradeMetrics.tradedNotional(trades), 210 + 100))
        #expect(agrees(TradeMetrics.turnover(trades, equity: [100, 200, 300]), 310.0 / 200))
        #expect(agrees(TradeMetrics.feesPaid(trades), 0.31))
        #expect(agrees(TradeMetrics.slippagePaid(trades), 0.07))
        #expect(agrees(TradeMetrics.averageHoldingTime(trades), 1))
    }
}
