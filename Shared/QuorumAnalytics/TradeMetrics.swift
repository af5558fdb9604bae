/// The direction of a round-trip trade.
public enum TradeSide: String, Sendable, Hashable, Codable {
    /// Bought first, sold to close: gains when the price rises.
    case long
    /// Sold first, bought back to close: gains when the price falls.
    case short

    /// +1 for long, −1 for short.
    public var sign: Double { self == .long ? 1 : -1 }
}

/// One closed round trip (entry and exit), in Double for analysis; the exact money lives in the ledger (Fixed).
///
/// Prices are the executed prices, slippage included; `slippage` records what slippage cost (quote currency), for
/// reporting only: it is already inside the prices and is not subtracted again. `fees` is the total of both legs.
public struct Trade: Sendable, Hashable, Codable {
    /// The instrument, e.g. "BTC-USD" (informational; metrics do not group by it).
    public var symbol: String
    /// Long or short.
    public var side: TradeSide
    /// Quantity in base units, > 0 (the side gives the direction).
    public var size: Double
    /// Entry fill time, nanoseconds since the Unix epoch (UTC).
    public var entryTime: Int64
    /// Exit fill time, nanoseconds since the Unix epoch (UTC), ≥ `entryTime`.
    public var exitTime: Int64
    /// Executed entry price (slippage included).
    public var entryPrice: Double
    /// Executed exit price (slippage included).
    public var exitPrice: Double
    /// Fees of both legs, quote currency, ≥ 0.
    public var fees: Double
    /// Cost of slippage of both legs, quote currency (already in the prices; reported, not subtracted).
    public var slippage: Double
    /// Net profit or loss, quote currency: after fees and slippage.
    public var pnl: Double

    /// A trade. `pnl` defaults to backtesting.py's `Trade.pl`: sign × size × (exit − entry) − fees.
    public init(symbol: String = "", side: TradeSide, size: Double, entryTime: Int64, exitTime: Int64,
                entryPrice: Double, exitPrice: Double, fees: Double = 0, slippage: Double = 0, pnl: Double? = nil) {
        self.symbol = symbol
        self.side = side
        self.size = size
        self.entryTime = entryTime
        self.exitTime = exitTime
        self.entryPrice = entryPrice
        self.exitPrice = exitPrice
        self.fees = fees
        self.slippage = slippage
        self.pnl = pnl ?? side.sign * size * (exitPrice - entryPrice) - fees
    }

    /// Holding time: exit − entry, nanoseconds.
    public var holdingTime: Int64 { exitTime - entryTime }

    /// Return on the entry notional, net of fees: sign × (exit/entry − 1) − fees / (size × entry)
    /// (backtesting.py `Trade.pl_pct`, as a fraction).
    public var returnOnEntry: Double {
        side.sign * (exitPrice / entryPrice - 1) - fees / (size * entryPrice)
    }

    /// Notional traded over both legs: size × (entry price + exit price).
    public var tradedNotional: Double { size * (entryPrice + exitPrice) }
}

/// Per-trade metrics over closed round trips, with backtesting.py's conventions (`compute_stats`) unless a metric
/// names another reference. Reference values: Tests/Fixtures/metrics/trades.json; definitions: docs/metrics.md.
public enum TradeMetrics {
    /// Win rate: trades with pnl > 0 / all trades (backtesting.py `Win Rate [%]` / 100; a break-even trade counts as
    /// not won). NaN without trades.
    public static func winRate(_ trades: [Trade]) -> Double {
        guard !trades.isEmpty else { return .nan }
        return Double(trades.count { $0.pnl > 0 }) / Double(trades.count)
    }

    /// Profit factor in money: gross profit / gross loss = Σ(pnl ≥ 0) / |Σ(pnl < 0)| over the net PnL of the trades
    /// (the classic definition; quantstats `profit_factor` applied to the PnL). Without a losing trade: +inf when
    /// some trade gained, 0 when none did (also without trades).
    public static func profitFactor(_ trades: [Trade]) -> Double {
        ReturnMetrics.profitFactor(trades.map(\.pnl))
    }

    /// Profit factor on trade returns: Σ(returnOnEntry > 0) / |Σ(returnOnEntry < 0)| (backtesting.py
    /// `Profit Factor`). Size-blind, unlike `profitFactor`. NaN without a losing trade (as backtesting.py).
    public static func returnProfitFactor(_ trades: [Trade]) -> Double {
        var gains = 0.0, losses = 0.0
        for t in trades {
            let r = t.returnOnEntry
            if r > 0 { gains += r } else if r < 0 { losses += r }
        }
        return losses == 0 ? .nan : gains / abs(losses)
    }

    /// Expectancy in money: mean net pnl per trade (= win rate × average win − loss rate × average loss).
    /// NaN without trades.
    public static func expectancy(_ trades: [Trade]) -> Double {
        Statistics.mean(trades.map(\.pnl))
    }

    /// Expectancy as a return: mean `returnOnEntry` (backtesting.py `Expectancy [%]` / 100). NaN without trades.
    public static func returnExpectancy(_ trades: [Trade]) -> Double {
        Statistics.mean(trades.map(\.returnOnEntry))
    }

    /// Average holding time, nanoseconds: mean(exit − entry) (backtesting.py `Avg. Trade Duration`, before it
    /// ceils to the bar). NaN without trades.
    public static func averageHoldingTime(_ trades: [Trade]) -> Double {
        Statistics.mean(trades.map { Double($0.holdingTime) })
    }

    /// Exposure: the fraction of the timeline's points at which at least one trade is open, a point t counting
    /// when entryTime ≤ t ≤ exitTime for some trade (backtesting.py `Exposure Time [%]` / 100, which marks the bars
    /// from the entry bar to the exit bar inclusive). Overlapping trades count once. NaN for an empty timeline.
    /// Precondition: `timeline` ascending (e.g. the equity curve's timestamps).
    public static func exposure(_ trades: [Trade], timeline: [Int64]) -> Double {
        guard !timeline.isEmpty else { return .nan }
        var open = [Int](repeating: 0, count: timeline.count + 1)
        for t in trades {
            let first = lowerBound(timeline, t.entryTime)
            let end = upperBound(timeline, t.exitTime)
            guard first < end else { continue }
            open[first] += 1
            open[end] -= 1
        }
        var running = 0, inMarket = 0
        for i in timeline.indices {
            running += open[i]
            if running > 0 { inMarket += 1 }
        }
        return Double(inMarket) / Double(timeline.count)
    }

    /// Notional traded: Σ size × (entry price + exit price), both legs, quote currency.
    public static func tradedNotional(_ trades: [Trade]) -> Double {
        var sum = 0.0
        for t in trades { sum += t.tradedNotional }
        return sum
    }

    /// Turnover: notional traded / mean equity over the run (how many times the average capital was traded; both
    /// legs count, so one round trip of the whole capital is about 2). NaN for an empty equity curve.
    public static func turnover(_ trades: [Trade], equity: [Double]) -> Double {
        tradedNotional(trades) / Statistics.mean(equity)
    }

    /// Fees paid: Σ fees, quote currency.
    public static func feesPaid(_ trades: [Trade]) -> Double {
        var sum = 0.0
        for t in trades { sum += t.fees }
        return sum
    }

    /// Slippage paid: Σ slippage, quote currency (already inside the executed prices and the pnl).
    public static func slippagePaid(_ trades: [Trade]) -> Double {
        var sum = 0.0
        for t in trades { sum += t.slippage }
        return sum
    }

    /// First index whose value is ≥ `value`.
    static func lowerBound(_ sorted: [Int64], _ value: Int64) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// First index whose value is > `value`.
    static func upperBound(_ sorted: [Int64], _ value: Int64) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
