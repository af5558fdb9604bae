import Foundation
import Testing
@testable import QuorumAnalytics

struct NormalFixture: Decodable {
    struct PaperExample: Decodable {
        var trials: Int
        var trialSharpeVariance: Double
        var sharpe: Double
        var observations: Int
        var skewness: Double
        var kurtosis: Double
        var expectedMaximumSharpe: Double
        var deflatedSharpeRatio: Double
        var paperReports: [String: Double]

        enum CodingKeys: String, CodingKey {
            case trials, sharpe, observations, skewness, kurtosis
            case trialSharpeVariance = "trial_sharpe_variance"
            case expectedMaximumSharpe = "expected_maximum_sharpe"
            case deflatedSharpeRatio = "deflated_sharpe_ratio"
            case paperReports = "paper_reports"
        }
    }

    var cdf: [[Double]]
    var quantile: [[Double]]
    var example: PaperExample

    enum CodingKeys: String, CodingKey {
        case cdf, quantile
        case example = "deflated_sharpe_paper_example"
    }
}

@Suite("Standard normal distribution against scipy.stats.norm")
struct NormalTests {
    @Test("Φ equals scipy's norm.cdf, tails included")
    func cdf() throws {
        let fixture = try Fixtures.load("normal.json", as: NormalFixture.self)
        #expect(fixture.cdf.count >= 10)
        for pair in fixture.cdf {
            #expect(agrees(Normal.cdf(pair[0]), pair[1], absolute: 1e-300), "Φ(\(pair[0])) = \(Normal.cdf(pair[0])), scipy \(pair[1])")
        }
    }

    @Test("Φ⁻¹ equals scipy's norm.ppf from 1e-300 to 1 − 1e-12")
    func quantile() throws {
        let fixture = try Fixtures.load("normal.json", as: NormalFixture.self)
        #expect(fixture.quantile.count >= 10)
        for pair in fixture.quantile {
            #expect(agrees(Normal.quantile(pair[0]), pair[1]), "Φ⁻¹(\(pair[0])) = \(Normal.quantile(pair[0])), scipy \(pair[1])")
        }
    }

    @Test("Φ⁻¹ is the inverse of Φ; limits at 0 and 1; NaN outside")
    func roundTrip() {
        // up to x = 5: beyond, Φ(x) is so close to 1 that the Double itself no longer tells x apart
        for x in stride(from: -8.0, through: 5.0, by: 0.37) {
            #expect(abs(Normal.quantile(Normal.cdf(x)) - x) <= 1e-9 * max(1, abs(x)), "x = \(x)")
        }
        for p in [1e-9, 0.001, 0.3, 0.5, 0.7, 0.999] {
            #expect(agrees(Normal.cdf(Normal.quantile(p)), p, relative: 1e-13))
        }
        #expect(Normal.quantile(0) == -.infinity && Normal.quantile(1) == .infinity)
        #expect(Normal.quantile(-0.1).isNaN && Normal.quantile(1.1).isNaN && Normal.cdf(.nan).isNaN)
    }
}

@Suite("Probabilistic and deflated Sharpe ratios (Bailey & López de Prado)")
struct SharpeInferenceTests {
    @Test("the DSR paper's numerical example: SR₀ ≈ 0.1132 and DSR ≈ 0.9004")
    func paperExample() throws {
        let e = try Fixtures.load("normal.json", as: NormalFixture.self).example
        let sr0 = SharpeInference.expectedMaximumSharpe(trials: e.trials, trialSharpeVariance: e.trialSharpeVariance)
        let dsr = SharpeInference.deflatedSharpeRatio(sharpe: e.sharpe, observations: e.observations, skewness: e.skewness,
                                                      kurtosis: e.kurtosis, trials: e.trials, trialSharpeVariance: e.trialSharpeVariance)
        // as printed in the paper (four decimals)
        #expect(abs(sr0 - 0.1132) < 5e-5)
        #expect(abs(dsr - 0.9004) < 5e-5)
        #expect(e.paperReports["expected_maximum_sharpe"] == 0.1132 && e.paperReports["deflated_sharpe_ratio"] == 0.9004)
        // and to full precision against the same formulas evaluated with scipy
        #expect(agrees(sr0, e.expectedMaximumSharpe))
        #expect(agrees(dsr, e.deflatedSharpeRatio))
        // the inputs are the paper's: annualised SR 2.5 and V 1/2 over 250 days a year, five years
        #expect(agrees(e.sharpe * 250.0.squareRoot(), 2.5) && e.observations == 1250 && e.trials == 100)
    }

    @Test("PSR by hand: 0.5 at the benchmark; normal returns give Φ(SR·√(n−1)/√(1 + SR²/2))")
    func psrByHand() {
        #expect(SharpeInference.probabilisticSharpeRatio(sharpe: 0.1, benchmark: 0.1, observations: 100, skewness: 0, kurtosis: 3) == 0.5)
        let psr = SharpeInference.probabilisticSharpeRatio(sharpe: 0.1, observations: 101, skewness: 0, kurtosis: 3)
        #expect(agrees(psr, Normal.cdf(0.1 * 10 / (1 + 0.01 / 2).squareRoot())))
        #expect(agrees(SharpeInference.sharpeStandardError(sharpe: 0, observations: 5, skewness: 0, kurtosis: 3), 0.5))
    }

    @Test("PSR rises with the track record and falls with negative skew and fat tails")
    func psrDirections() {
        func psr(n: Int = 250, skew: Double = 0, kurt: Double = 3) -> Double {
            SharpeInference.probabilisticSharpeRatio(sharpe: 0.08, observations: n, skewness: skew, kurtosis: kurt)
        }
        #expect(psr(n: 1_000) > psr(n: 250))
        #expect(psr(skew: -2) < psr())
        #expect(psr(kurt: 12) < psr())
        #expect(SharpeInference.probabilisticSharpeRatio(sharpe: 0.1, observations: 1, skewness: 0, kurtosis: 3).isNaN)
        #expect(SharpeInference.probabilisticSharpeRatio(sharpe: .infinity, observations: 10, skewness: 0, kurtosis: 3).isNaN)
    }

    @Test("SR₀ is 0 for one trial, grows with the trials and scales with √V")
    func expectedMaximum() {
        #expect(SharpeInference.expectedMaximumSharpe(trials: 1, trialSharpeVariance: 4) == 0)
        let ten = SharpeInference.expectedMaximumSharpe(trials: 10, trialSharpeVariance: 1)
        let thousand = SharpeInference.expectedMaximumSharpe(trials: 1_000, trialSharpeVariance: 1)
        #expect(ten > 1.4 && ten < 1.7) // E[max of 10 standard normals] ≈ 1.54
        #expect(thousand > ten)
        #expect(agrees(SharpeInference.expectedMaximumSharpe(trials: 10, trialSharpeVariance: 4), 2 * ten))
    }

    @Test("from returns: PSR as quantstats computes it, DSR below PSR once several trials were tried")
    func fromReturns() {
        var rng = Xoshiro256StarStar(seed: 5)
        let returns = (0..<500).map { _ in 0.001 + 0.01 * (rng.unit() - 0.5) }
        let sr = ReturnMetrics.perPeriodSharpe(returns)
        let psr = SharpeInference.probabilisticSharpeRatio(returns: returns)
        #expect(agrees(psr, SharpeInference.probabilisticSharpeRatio(
            sharpe: sr, observations: 500, skewness: Statistics.skewness(returns), kurtosis: Statistics.excessKurtosis(returns) + 3)))
        let trialSharpes = [sr, sr * 0.5, sr * 0.2, -sr * 0.3]
        let dsr = SharpeInference.deflatedSharpeRatio(returns: returns, trialSharpes: trialSharpes)
        let variance = pow(Statistics.standardDeviation(trialSharpes), 2)
        #expect(agrees(dsr, SharpeInference.deflatedSharpeRatio(returns: returns, trials: 4, trialSharpeVariance: variance)))
        #expect(dsr < psr)
        #expect(SharpeInference.deflatedSharpeRatio(returns: returns, trialSharpes: [sr]) == psr)
    }
}
