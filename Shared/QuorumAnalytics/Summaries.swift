/// Every return metric of one run at once, for reports (backtest, walk-forward, demo summary, dashboard).
/// Each field is the function of `ReturnMetrics`, `Drawdown` or `SharpeInference` named in its comment; non-finite
/// values (NaN, ±inf) follow those functions and are the report writer's to render.
public struct ReturnSummary: Sendable, Equatable {
    /// Number of returns.
    public var periods: Int
    /// The annualisation factor used.
    public var periodsPerYear: Double
    /// `ReturnMetrics.totalReturn`.
    public var totalReturn: Double
    /// `ReturnMetrics.cagr`.
    public var cagr: Double
    /// `ReturnMetrics.annualVolatility`.
    public var annualVolatility: Double
    /// `ReturnMetrics.sharpeRatio` (risk-free 0).
    public var sharpe: Double
    /// `ReturnMetrics.sortinoRatio` (required return 0).
    public var sortino: Double
    /// `ReturnMetrics.maxDrawdown` (≤ 0).
    public var maxDrawdown: Double
    /// `Drawdown.maxDurationPeriods(returns:)`; nil without a drawdown.
    public var maxDrawdownDurationPeriods: Int?
    /// `Drawdown.maxDuration(equity:timestamps:)` in nanoseconds; nil without a drawdown or without timestamps.
    public var maxDrawdownDurationNanos: Int64?
    /// `ReturnMetrics.calmarRatio`.
    public var calmar: Double
    /// `ReturnMetrics.valueAtRisk` at cutoff 0.05 (a return, usually negative).
    public var valueAtRisk95: Double
    /// `ReturnMetrics.conditionalValueAtRisk` at cutoff 0.05.
    public var conditionalValueAtRisk95: Double
    /// `ReturnMetrics.winRate`.
    public var winRate: Double
    /// `ReturnMetrics.profitFactor`.
    public var profitFactor: Double
    /// `Statistics.skewness`.
    public var skewness: Double
    /// `Statistics.excessKurtosis`.
    public var excessKurtosis: Double
    /// `SharpeInference.probabilisticSharpeRatio(returns:)` against a benchmark of 0.
    public var probabilisticSharpe: Double

    /// The metrics of per-period `returns`. `equityTimestamps`, when given, are the times of the equity curve's
    /// points, one more than the returns (the start, then the end of each period), and give the drawdown duration
    /// in time. Precondition: `equityTimestamps` is nil or has `returns.count + 1` ascending values.
    public init(returns: [Double], periodsPerYear: Double, equityTimestamps: [Int64]? = nil) {
        precondition(equityTimestamps == nil || equityTimestamps!.count == returns.count + 1,
                     "equityTimestamps needs one more value than returns (the start, then one per period)")
        periods = returns.count
        self.periodsPerYear = periodsPerYear
        totalReturn = ReturnMetrics.totalReturn(returns)
        cagr = ReturnMetrics.cagr(returns, periodsPerYear: periodsPerYear)
        annualVolatility = ReturnMetrics.annualVolatility(returns, periodsPerYear: periodsPerYear)
        sharpe = ReturnMetrics.sharpeRatio(returns, periodsPerYear: periodsPerYear)
        sortino = ReturnMetrics.sortinoRatio(returns, periodsPerYear: periodsPerYear)
        maxDrawdown = ReturnMetrics.maxDrawdown(returns)
        let equity = ReturnMetrics.equityCurve(returns: returns)
        maxDrawdownDurationPeriods = Drawdown.maxDurationPeriods(equity: equity)
        maxDrawdownDurationNanos = equityTimestamps.flatMap { Drawdown.maxDuration(equity: equity, timestamps: $0) }
        calmar = ReturnMetrics.calmarRatio(returns, periodsPerYear: periodsPerYear)
        (valueAtRisk95, conditionalValueAtRisk95) = ReturnMetrics.tailRisk(returns, cutoff: 0.05)
        winRate = ReturnMetrics.winRate(returns)
        profitFactor = ReturnMetrics.profitFactor(returns)
        skewness = Statistics.skewness(returns)
        excessKurtosis = Statistics.excessKurtosis(returns)
        probabilisticSharpe = SharpeInference.probabilisticSharpeRatio(returns: returns)
    }

    /// The metrics of an equity curve sampled once per period (e.g. once per event time across all symbols) with
    /// its timestamps: returns eᵢ/eᵢ₋₁ − 1, drawdown duration in time from the timestamps.
    /// Precondition: as many timestamps as equity points, ascending.
    public init(equity: [Double], timestamps: [Int64], periodsPerYear: Double) {
        precondition(equity.count == timestamps.count, "one timestamp per equity point")
        self.init(returns: ReturnMetrics.returns(equity: equity), periodsPerYear: periodsPerYear,
                  equityTimestamps: equity.isEmpty ? nil : timestamps)
    }
}

/// Every per-trade metric of one run at once; each field is the `TradeMetrics` function named in its comment.
public struct TradeSummary: Sendable, Equatable {
    /// Number of closed trades.
    public var trades: Int
    /// `TradeMetrics.winRate`.
    public var winRate: Double
    /// `TradeMetrics.profitFactor` (money).
    public var profitFactor: Double
    /// `TradeMetrics.returnProfitFactor` (backtesting.py's, on trade returns).
    public var returnProfitFactor: Double
    /// `TradeMetrics.expectancy` (money per trade).
    public var expectancy: Double
    /// `TradeMetrics.returnExpectancy` (mean trade return).
    public var returnExpectancy: Double
    /// `TradeMetrics.averageHoldingTime`, nanoseconds.
    public var averageHoldingNanos: Double
    /// `TradeMetrics.exposure` over the timeline.
    public var exposure: Double
    /// `TradeMetrics.tradedNotional`.
    public var tradedNotional: Double
    /// `TradeMetrics.turnover` against the equity curve.
    public var turnover: Double
    /// `TradeMetrics.feesPaid`.
    public var feesPaid: Double
    /// `TradeMetrics.slippagePaid`.
    public var slippagePaid: Double

    /// The metrics of closed `trades` on a run whose equity curve is `equity` at the times `timeline`.
    /// Precondition: `timeline` ascending, one time per equity point.
    public init(trades: [Trade], timeline: [Int64], equity: [Double]) {
        precondition(timeline.count == equity.count, "one timeline point per equity point")
        self.trades = trades.count
        winRate = TradeMetrics.winRate(trades)
        profitFactor = TradeMetrics.profitFactor(trades)
        returnProfitFactor = TradeMetrics.returnProfitFactor(trades)
        expectancy = TradeMetrics.expectancy(trades)
        returnExpectancy = TradeMetrics.returnExpectancy(trades)
        averageHoldingNanos = TradeMetrics.averageHoldingTime(trades)
        exposure = TradeMetrics.exposure(trades, timeline: timeline)
        tradedNotional = TradeMetrics.tradedNotional(trades)
        turnover = TradeMetrics.turnover(trades, equity: equity)
        feesPaid = TradeMetrics.feesPaid(trades)
        slippagePaid = TradeMetrics.slippagePaid(trades)
    }
}
