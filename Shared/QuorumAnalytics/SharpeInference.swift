import Foundation

/// How much a Sharpe ratio can be trusted: the probabilistic Sharpe ratio (PSR; Bailey & López de Prado 2012,
/// "The Sharpe Ratio Efficient Frontier") and the deflated Sharpe ratio (DSR; Bailey & López de Prado 2014,
/// "The Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest Overfitting and Non-Normality").
///
/// Every Sharpe ratio here is per period, NOT annualised (mean / std with ddof = 1 of the per-period returns,
/// `ReturnMetrics.perPeriodSharpe`): divide an annualised one by √periodsPerYear first. `kurtosis` is the
/// non-excess γ₄ (3 for a normal distribution), `skewness` γ₃.
public enum SharpeInference {
    /// The Euler–Mascheroni constant γ ≈ 0.5772156649.
    public static let eulerMascheroni = 0.577_215_664_901_532_9

    /// Standard error of an estimated Sharpe ratio under non-normal returns:
    /// σ̂(SR̂) = √((1 − γ₃·SR̂ + (γ₄ − 1)/4 · SR̂²) / (n − 1)). NaN with n < 2 or a non-positive variance term.
    public static func sharpeStandardError(sharpe: Double, observations: Int, skewness: Double, kurtosis: Double) -> Double {
        guard observations >= 2 else { return .nan }
        let term = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe * sharpe
        guard term > 0 else { return .nan }
        return (term / Double(observations - 1)).squareRoot()
    }

    /// Probabilistic Sharpe ratio: the probability that the true Sharpe ratio exceeds `benchmark`,
    /// PSR(SR*) = Φ((SR̂ − SR*) · √(n − 1) / √(1 − γ₃·SR̂ + (γ₄ − 1)/4 · SR̂²)), with SR̂ the observed per-period
    /// Sharpe ratio over n returns. NaN when the standard error is undefined (see `sharpeStandardError`) or SR̂ is
    /// not finite.
    public static func probabilisticSharpeRatio(sharpe: Double, benchmark: Double = 0, observations: Int,
                                                skewness: Double, kurtosis: Double) -> Double {
        guard sharpe.isFinite else { return .nan }
        let error = sharpeStandardError(sharpe: sharpe, observations: observations, skewness: skewness, kurtosis: kurtosis)
        return Normal.cdf((sharpe - benchmark) / error)
    }

    /// PSR of per-period returns, estimating everything from them as quantstats' `probabilistic_sharpe_ratio` does:
    /// SR̂ = `ReturnMetrics.perPeriodSharpe` (ddof = 1), γ₃ = `Statistics.skewness` (pandas, bias-adjusted),
    /// γ₄ = `Statistics.excessKurtosis` + 3, n = the number of returns. NaN with fewer than 4 returns or constant returns.
    public static func probabilisticSharpeRatio(returns: [Double], benchmark: Double = 0) -> Double {
        probabilisticSharpeRatio(sharpe: ReturnMetrics.perPeriodSharpe(returns), benchmark: benchmark,
                                 observations: returns.count, skewness: Statistics.skewness(returns),
                                 kurtosis: Statistics.excessKurtosis(returns) + 3)
    }

    /// The expected maximum Sharpe ratio of `trials` independent strategies whose true Sharpe ratio is 0, the DSR's
    /// benchmark: SR₀ = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), with V the variance of the trials'
    /// (per-period) Sharpe ratios, N the number of trials and γ the Euler–Mascheroni constant. 0 for a single trial
    /// (nothing was selected). Precondition: trials ≥ 1, variance ≥ 0.
    public static func expectedMaximumSharpe(trials: Int, trialSharpeVariance: Double) -> Double {
        precondition(trials >= 1, "the number of trials must be at least 1")
        precondition(trialSharpeVariance >= 0, "a variance cannot be negative")
        guard trials > 1 else { return 0 }
        let n = Double(trials)
        let z = (1 - eulerMascheroni) * Normal.quantile(1 - 1 / n) + eulerMascheroni * Normal.quantile(1 - 1 / (n * exp(1.0)))
        return trialSharpeVariance.squareRoot() * z
    }

    /// Deflated Sharpe ratio: the PSR against the expected maximum Sharpe ratio of the trials,
    /// DSR = PSR(SR₀) with SR₀ = `expectedMaximumSharpe(trials:trialSharpeVariance:)`. The probability that the
    /// selected strategy's true Sharpe ratio is positive after correcting for selection among `trials` tries
    /// (in Quorum: hyperparameter candidates × configurations tried), for non-normal returns and for the sample length.
    public static func deflatedSharpeRatio(sharpe: Double, observations: Int, skewness: Double, kurtosis: Double,
                                           trials: Int, trialSharpeVariance: Double) -> Double {
        probabilisticSharpeRatio(sharpe: sharpe,
                                 benchmark: expectedMaximumSharpe(trials: trials, trialSharpeVariance: trialSharpeVariance),
                                 observations: observations, skewness: skewness, kurtosis: kurtosis)
    }

    /// DSR of the selected strategy's per-period returns, with SR̂, γ₃, γ₄ and n estimated as in
    /// `probabilisticSharpeRatio(returns:benchmark:)`.
    public static func deflatedSharpeRatio(returns: [Double], trials: Int, trialSharpeVariance: Double) -> Double {
        probabilisticSharpeRatio(returns: returns,
                                 benchmark: expectedMaximumSharpe(trials: trials, trialSharpeVariance: trialSharpeVariance))
    }

    /// DSR of the selected strategy's per-period returns given the per-period Sharpe ratios of every trial (the
    /// selected one included): N = trialSharpes.count, V = their sample variance (ddof = 1; 0 for one trial).
    public static func deflatedSharpeRatio(returns: [Double], trialSharpes: [Double]) -> Double {
        let variance = trialSharpes.count < 2 ? 0 : pow(Statistics.standardDeviation(trialSharpes, ddof: 1), 2)
        return deflatedSharpeRatio(returns: returns, trials: max(1, trialSharpes.count), trialSharpeVariance: variance)
    }
}
