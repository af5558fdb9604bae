import Foundation

/// Metrics of a series of simple per-period returns rᵢ = eᵢ/eᵢ₋₁ − 1 (one per bar or day, oldest first), with the
/// conventions of empyrical (empyrical-reloaded) unless a metric's comment names another library. docs/metrics.md
/// lists each metric with its reference; Tests/Fixtures/metrics/returns.json holds the reference values.
///
/// - Annualisation: `periodsPerYear` is a parameter, because crypto trades 24/7: 365 for daily bars, 8,760 for
///   hourly, 17,520 for 30-minute bars (`periodsPerYear(intervalSeconds:)`).
/// - Risk-free rate and required return are per period and default to 0.
/// - The equity curve implied by the returns starts at 1 before the first return (empyrical's baseline), so a loss in
///   the first period is a drawdown.
/// - Empty or too-short input gives NaN (never a trap); constant input follows empyrical (see each metric).
/// - NaN inside the returns is not supported (empyrical skips it in some metrics and not in others); clean it first.
public enum ReturnMetrics {
    /// Periods per year for a bar interval, counting every day of the year (crypto markets never close):
    /// 365 × 86,400 / `intervalSeconds` (17,520 for 30-minute bars, 8,760 for hourly, 365 for daily).
    public static func periodsPerYear(intervalSeconds: Int64) -> Double {
        precondition(intervalSeconds > 0, "the bar interval must be positive")
        return 365 * 86_400 / Double(intervalSeconds)
    }

    /// Simple returns of an equity curve: rᵢ = eᵢ / eᵢ₋₁ − 1 for i ≥ 1 (pandas `pct_change().dropna()`);
    /// one fewer than the points. A zero equity point gives ±inf or NaN returns (as pandas).
    public static func returns(equity: [Double]) -> [Double] {
        guard equity.count >= 2 else { return [] }
        return (1..<equity.count).map { equity[$0] / equity[$0 - 1] - 1 }
    }

    /// The equity curve of the returns: `start`, start·(1+r₁), start·(1+r₁)(1+r₂), … (one more point than returns).
    public static func equityCurve(returns: [Double], start: Double = 1) -> [Double] {
        var curve = [start]
        curve.reserveCapacity(returns.count + 1)
        var wealth = 1.0
        for r in returns {
            wealth *= 1 + r
            curve.append(start * wealth)
        }
        return curve
    }

    /// Total (cumulative, compounded) return Π(1 + rᵢ) − 1 (empyrical `cum_returns_final`, quantstats `comp`).
    /// NaN when empty.
    public static func totalReturn(_ returns: [Double]) -> Double {
        guard !returns.isEmpty else { return .nan }
        var wealth = 1.0
        for r in returns { wealth *= 1 + r }
        return wealth - 1
    }

    /// Compound annual growth rate (Π(1 + rᵢ))^(1/years) − 1 with years = n / periodsPerYear, n the number of
    /// returns (empyrical `annual_return`/`cagr`, quantstats `cagr`): the time span is counted in periods, not from
    /// timestamps. NaN when empty, or when the total wealth is negative.
    public static func cagr(_ returns: [Double], periodsPerYear: Double) -> Double {
        guard !returns.isEmpty else { return .nan }
        let years = Double(returns.count) / periodsPerYear
        return pow(totalReturn(returns) + 1, 1 / years) - 1
    }

    /// Annualised volatility: sample standard deviation (ddof = 1) × √periodsPerYear (empyrical
    /// `annual_volatility`, quantstats `volatility`). NaN with fewer than 2 returns; 0 (to rounding) when constant.
    public static func annualVolatility(_ returns: [Double], periodsPerYear: Double) -> Double {
        guard returns.count >= 2 else { return .nan }
        return Statistics.standardDeviation(returns, ddof: 1) * periodsPerYear.squareRoot()
    }

    /// Sharpe ratio: mean(r − rf) / std(r − rf, ddof = 1) × √periodsPerYear (empyrical `sharpe_ratio`, quantstats
    /// `sharpe`), `riskFree` per period. NaN with fewer than 2 returns. Constant returns have zero deviation
    /// (empyrical sets it to exactly 0): +inf for a positive mean, −inf for a negative one, NaN for zero.
    public static func sharpeRatio(_ returns: [Double], periodsPerYear: Double, riskFree: Double = 0) -> Double {
        perPeriodSharpe(returns, riskFree: riskFree) * periodsPerYear.squareRoot()
    }

    /// Sharpe ratio per period, not annualised: mean(r − rf) / std(r − rf, ddof = 1), with the constant-input rule
    /// of `sharpeRatio`. The statistic that the probabilistic and deflated Sharpe ratios take.
    public static func perPeriodSharpe(_ returns: [Double], riskFree: Double = 0) -> Double {
        guard returns.count >= 2 else { return .nan }
        let excess = riskFree == 0 ? returns : returns.map { $0 - riskFree }
        let m = Statistics.mean(excess)
        let first = excess[0]
        let deviation = excess.contains(where: { $0 != first }) ? Statistics.standardDeviation(excess, ddof: 1) : 0
        return m / deviation
    }

    /// Downside risk: √(mean(min(r − required, 0)²)) × √periodsPerYear, the mean over ALL periods (gains count as
    /// zero), not only the losing ones (empyrical `downside_risk`). NaN when empty.
    public static func downsideRisk(_ returns: [Double], periodsPerYear: Double, requiredReturn: Double = 0) -> Double {
        guard !returns.isEmpty else { return .nan }
        var sum = 0.0
        for r in returns {
            let d = min(r - requiredReturn, 0)
            sum += d * d
        }
        return (sum / Double(returns.count)).squareRoot() * periodsPerYear.squareRoot()
    }

    /// Sortino ratio: mean(r − required) × periodsPerYear / `downsideRisk` (empyrical `sortino_ratio`; equal to
    /// quantstats `sortino` when required = 0). NaN with fewer than 2 returns. No period below `requiredReturn`
    /// makes the downside risk 0: +inf for a positive mean (quantstats gives NaN there), NaN for a zero mean.
    public static func sortinoRatio(_ returns: [Double], periodsPerYear: Double, requiredReturn: Double = 0) -> Double {
        guard returns.count >= 2 else { return .nan }
        let adjusted = requiredReturn == 0 ? returns : returns.map { $0 - requiredReturn }
        let annualMean = Statistics.mean(adjusted) * periodsPerYear
        return annualMean / downsideRisk(returns, periodsPerYear: periodsPerYear, requiredReturn: requiredReturn)
    }

    /// Maximum drawdown: the most negative (eᵢ − peakᵢ)/peakᵢ of the equity curve that starts at 1 before the first
    /// return, peakᵢ the running maximum including that start (empyrical `max_drawdown`, quantstats
    /// `max_drawdown`). A fraction ≤ 0 (−0.25 = 25 % below the peak); 0 without any loss; NaN when empty.
    public static func maxDrawdown(_ returns: [Double]) -> Double {
        guard !returns.isEmpty else { return .nan }
        var wealth = 1.0, peak = 1.0, worst = 0.0
        for r in returns {
            wealth *= 1 + r
            peak = max(peak, wealth)
            worst = min(worst, (wealth - peak) / peak)
        }
        return worst
    }

    /// Calmar ratio: `cagr` / |`maxDrawdown`| (empyrical `calmar_ratio`). NaN when there is no drawdown (max
    /// drawdown 0; quantstats divides by zero there), when empty, or when the ratio is infinite.
    public static func calmarRatio(_ returns: [Double], periodsPerYear: Double) -> Double {
        let drawdown = maxDrawdown(returns)
        guard drawdown < 0 else { return .nan }
        let ratio = cagr(returns, periodsPerYear: periodsPerYear) / abs(drawdown)
        return ratio.isInfinite ? .nan : ratio
    }

    /// Historical value at risk: the `cutoff` quantile of the returns (numpy linear percentile at 100·cutoff),
    /// empyrical `value_at_risk`; 0.05 gives the 95 % VaR. A return (−0.03 = a loss of 3 % or worse in 5 % of the
    /// periods), not a positive loss figure. NaN when empty. quantstats' `value_at_risk` is parametric (normal) instead.
    public static func valueAtRisk(_ returns: [Double], cutoff: Double = 0.05) -> Double {
        Statistics.percentile(returns, 100 * cutoff)
    }

    /// Historical conditional value at risk (expected shortfall): the mean of the k + 1 smallest returns with
    /// k = ⌊(n − 1)·cutoff⌋ (empyrical `conditional_value_at_risk`); 0.05 gives the 95 % CVaR. It differs from
    /// quantstats' historical CVaR (mean of the returns ≤ the interpolated quantile) only when returns tie at the
    /// boundary. NaN when empty.
    public static func conditionalValueAtRisk(_ returns: [Double], cutoff: Double = 0.05) -> Double {
        guard !returns.isEmpty else { return .nan }
        let sorted = returns.sorted()
        let k = Int((Double(sorted.count - 1) * cutoff).rounded(.towardZero))
        return Statistics.mean(Array(sorted[0...k]))
    }

    /// `valueAtRisk` and `conditionalValueAtRisk` at one cutoff, equal to what those two give, from the smallest
    /// ⌊(n − 1)·cutoff⌋ + 2 returns (`Statistics.smallest`) instead of two sorts of all of them.
    public static func tailRisk(_ returns: [Double], cutoff: Double = 0.05) -> (valueAtRisk: Double, conditionalValueAtRisk: Double) {
        guard !returns.isEmpty, !returns.contains(where: \.isNaN) else {
            return (valueAtRisk(returns, cutoff: cutoff), conditionalValueAtRisk(returns, cutoff: cutoff))
        }
        let k = Int((Double(returns.count - 1) * cutoff).rounded(.towardZero))
        let tail = Statistics.smallest(min(returns.count, k + 2), of: returns)
        return (Statistics.percentile(sortedPrefix: tail[...], count: returns.count, 100 * cutoff),
                Statistics.mean(Array(tail[0...k])))
    }

    /// Period win rate: periods with r > 0 / periods with r ≠ 0 (quantstats `win_rate`: flat periods, e.g. out of
    /// the market, count neither way). 0 when empty or when every return is 0 (as quantstats).
    public static func winRate(_ returns: [Double]) -> Double {
        var wins = 0, nonZero = 0
        for r in returns where r != 0 {
            nonZero += 1
            if r > 0 { wins += 1 }
        }
        return nonZero == 0 ? 0 : Double(wins) / Double(nonZero)
    }

    /// Period profit factor: Σ(r ≥ 0) / |Σ(r < 0)| (quantstats `profit_factor`). Without a losing period: +inf when
    /// some period gained, 0 when none did (empty or all zero), as quantstats.
    public static func profitFactor(_ returns: [Double]) -> Double {
        var gains = 0.0, losses = 0.0
        for r in returns {
            if r >= 0 { gains += r } else { losses += r }
        }
        if losses == 0 { return gains == 0 ? 0 : .infinity }
        return gains / abs(losses)
    }
}
