import QuorumAnalytics
import QuorumModel

/// Summary of a run from its equity curve (one sample per event time, `EquityCurve`) and its closed trades.
///
/// - Per-period return `rᵢ = eᵢ / eᵢ₋₁ − 1`.
/// - Sharpe: `ReturnMetrics.sharpeRatio` (the project's one metrics library, empyrical's convention: mean(r) / sample
///   standard deviation(r) (n − 1) × √periodsPerYear, risk-free rate 0). Crypto trades 24/7, so
///   `barsPerYear(intervalSeconds:)` = 365 × 86,400 / interval (525,600 for 1-minute bars).
///   `nil` with fewer than two returns or zero deviation.
/// - Max drawdown: the largest fall from a running peak, absolute (quote currency) and as a fraction of that peak.
/// - Trades: each closed (or reduced) position's gross PnL; win rate = trades with PnL > 0 / trades (`nil` with none).
public struct PerformanceStats: Sendable, Hashable {
    public var totalPnL: Fixed
    /// totalPnL / first equity.
    public var totalReturn: Double
    public var sharpe: Double?
    public var maxDrawdown: Fixed
    /// As a fraction (0.25 = 25 %).
    public var maxDrawdownPercent: Double
    public var tradeCount: Int
    public var winRate: Double?

    /// The summary of an equity curve, annualised with its sampling period.
    public init(curve: EquityCurve) {
        self.init(equityCurve: curve.equity, tradePnLs: curve.ledger.closedTradePnLs, barsPerYear: curve.periodsPerYear)
    }

    /// Bars per year for an interval, counting every day (crypto markets never close).
    public static func barsPerYear(intervalSeconds: Int64) -> Double { 365 * 86_400 / Double(intervalSeconds) }

    public init(equityCurve: [Fixed], tradePnLs: [Fixed], barsPerYear: Double) {
        let first = equityCurve.first ?? .zero
        let last = equityCurve.last ?? .zero
        totalPnL = last - first
        totalReturn = first.isZero ? 0 : totalPnL.doubleValue / first.doubleValue

        var returns: [Double] = []
        for (previous, current) in zip(equityCurve, equityCurve.dropFirst()) where !previous.isZero {
            returns.append(current.doubleValue / previous.doubleValue - 1)
        }
        let ratio = ReturnMetrics.sharpeRatio(returns, periodsPerYear: barsPerYear)
        sharpe = ratio.isFinite ? ratio : nil

        var peak = first
        var worst = Fixed.zero
        var worstPercent = 0.0
        for e in equityCurve {
            peak = max(peak, e)
            let drop = peak - e
            worst = max(worst, drop)
            if peak > .zero { worstPercent = max(worstPercent, drop.doubleValue / peak.doubleValue) }
        }
        maxDrawdown = worst
        maxDrawdownPercent = worstPercent

        tradeCount = tradePnLs.count
        winRate = tradePnLs.isEmpty ? nil : Double(tradePnLs.filter { $0 > .zero }.count) / Double(tradePnLs.count)
    }
}
