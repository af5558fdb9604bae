import Foundation
import Testing
@testable import QuorumAnalytics

struct ReturnFixture: Decodable {
    struct Series: Decodable {
        var name: String
        var periodsPerYear: Double
        var returns: [Double]
        var equityTimestamps: [Int64]
        var expected: [String: Expected]

        enum CodingKeys: String, CodingKey {
            case name, returns, expected
            case periodsPerYear = "periods_per_year"
            case equityTimestamps = "equity_timestamps_ns"
        }
    }

    var series: [Series]
}

@Suite("Return metrics against empyrical / quantstats / backtesting.py fixtures")
struct ReturnMetricsFixtureTests {
    static let seriesNames = ["btc_daily", "btc_30m_tail", "negative_skew", "flat_stretch", "hand_mixed",
                              "constant_gain", "steady_loss"]

    /// Every metric of the fixture and how this library computes it.
    static func actual(_ s: ReturnFixture.Series) -> [String: Double?] {
        let r = s.returns, ppy = s.periodsPerYear
        let summary = ReturnSummary(returns: r, periodsPerYear: ppy, equityTimestamps: s.equityTimestamps)
        return [
            "total_return": summary.totalReturn,
            "cagr": summary.cagr,
            "annual_volatility": summary.annualVolatility,
            "sharpe": summary.sharpe,
            "downside_risk": ReturnMetrics.downsideRisk(r, periodsPerYear: ppy),
            "sortino": summary.sortino,
            "max_drawdown": summary.maxDrawdown,
            "calmar": summary.calmar,
            "value_at_risk_95": summary.valueAtRisk95,
            "conditional_value_at_risk_95": summary.conditionalValueAtRisk95,
            "period_win_rate": summary.winRate,
            "period_profit_factor": summary.profitFactor,
            "skewness": summary.skewness,
            "excess_kurtosis": summary.excessKurtosis,
            "probabilistic_sharpe_ratio": summary.probabilisticSharpe,
            "max_drawdown_duration_periods": summary.maxDrawdownDurationPeriods.map(Double.init),
            "max_drawdown_duration_ns": summary.maxDrawdownDurationNanos.map(Double.init),
        ]
    }

    @Test("the fixture holds exactly the series this suite checks")
    func seriesList() throws {
        let fixture = try Fixtures.load("returns.json", as: ReturnFixture.self)
        #expect(fixture.series.map(\.name) == Self.seriesNames)
    }

    @Test("every metric equals its reference to 1e-9 relative", arguments: seriesNames)
    func metrics(name: String) throws {
        let fixture = try Fixtures.load("returns.json", as: ReturnFixture.self)
        let s = try #require(fixture.series.first { $0.name == name })
        #expect(s.equityTimestamps.count == s.returns.count + 1)
        let actual = Self.actual(s)
        #expect(Set(actual.keys) == Set(s.expected.keys), "metrics without a check or without a reference")
        for (key, expected) in s.expected.sorted(by: { $0.key < $1.key }) {
            let value = try #require(actual[key], "\(key) is not computed")
            switch (value, expected.value) {
            case (nil, nil):
                break
            case let (a?, e?):
                if key.hasPrefix("max_drawdown_duration"), let integer = expected.integer {
                    #expect(a == Double(integer), "\(name) \(key): \(a), expected \(integer) (\(expected.reference))")
                } else {
                    #expect(agrees(a, e), "\(name) \(key): \(a), expected \(e) (\(expected.reference))")
                }
            case let (a, e):
                Issue.record("\(name) \(key): \(String(describing: a)), expected \(String(describing: e)) (\(expected.reference))")
            }
        }
    }

    @Test("an equity curve gives the same summary as its returns")
    func equityInitialiser() throws {
        let fixture = try Fixtures.load("returns.json", as: ReturnFixture.self)
        let s = try #require(fixture.series.first { $0.name == "btc_daily" })
        let equity = ReturnMetrics.equityCurve(returns: s.returns, start: 10_000)
        let fromEquity = ReturnSummary(equity: equity, timestamps: s.equityTimestamps, periodsPerYear: s.periodsPerYear)
        let fromReturns = ReturnSummary(returns: s.returns, periodsPerYear: s.periodsPerYear, equityTimestamps: s.equityTimestamps)
        #expect(agrees(fromEquity.sharpe, fromReturns.sharpe))
        #expect(agrees(fromEquity.totalReturn, fromReturns.totalReturn))
        #expect(agrees(fromEquity.maxDrawdown, fromReturns.maxDrawdown))
        #expect(fromEquity.maxDrawdownDurationNanos == fromReturns.maxDrawdownDurationNanos)
        #expect(fromEquity.maxDrawdownDurationPeriods == fromReturns.maxDrawdownDurationPeriods)
    }
}

@Suite("Return metrics by hand")
struct ReturnMetricsHandTests {
    // Five daily returns: mean 0.002, deviations 0.008, −0.022, 0.028, −0.002, −0.012 (Σd² = 0.00148).
    let r = [0.01, -0.02, 0.03, 0.0, -0.01]

    @Test("the five-return example, worked on paper")
    func handExample() {
        #expect(agrees(ReturnMetrics.totalReturn(r), 1.01 * 0.98 * 1.03 * 0.99 - 1))
        let std = (0.00148 / 4).squareRoot()
        #expect(agrees(ReturnMetrics.annualVolatility(r, periodsPerYear: 252), std * 252.0.squareRoot()))
        #expect(agrees(ReturnMetrics.sharpeRatio(r, periodsPerYear: 252), 0.002 / std * 252.0.squareRoot()))
        #expect(agrees(ReturnMetrics.perPeriodSharpe(r), 0.002 / std))
        // downside: √((0.02² + 0.01²) / 5) = 0.01 per period
        #expect(agrees(ReturnMetrics.downsideRisk(r, periodsPerYear: 1), 0.01))
        #expect(agrees(ReturnMetrics.sortinoRatio(r, periodsPerYear: 252), 0.002 / 0.01 * 252.0.squareRoot()))
        // equity 1, 1.01, 0.9898: 2 % below the peak of 1.01, recovered two periods after it
        #expect(agrees(ReturnMetrics.maxDrawdown(r), -0.02))
        #expect(Drawdown.maxDurationPeriods(returns: r) == 2)
        // sorted −0.02, −0.01, 0, 0.01, 0.03: 5 % quantile at index 0.2
        #expect(agrees(ReturnMetrics.valueAtRisk(r), -0.018))
        #expect(agrees(ReturnMetrics.conditionalValueAtRisk(r), -0.02))
        #expect(ReturnMetrics.winRate(r) == 0.5)
        #expect(agrees(ReturnMetrics.profitFactor(r), 0.04 / 0.03))
        #expect(agrees(ReturnMetrics.cagr(r, periodsPerYear: 252), pow(1 + ReturnMetrics.totalReturn(r), 252.0 / 5) - 1))
        #expect(agrees(ReturnMetrics.calmarRatio(r, periodsPerYear: 252), ReturnMetrics.cagr(r, periodsPerYear: 252) / 0.02))
    }

    @Test("periods per year count every day: 30-minute, hourly and daily bars")
    func periodsPerYear() {
        #expect(ReturnMetrics.periodsPerYear(intervalSeconds: 1_800) == 17_520)
        #expect(ReturnMetrics.periodsPerYear(intervalSeconds: 3_600) == 8_760)
        #expect(ReturnMetrics.periodsPerYear(intervalSeconds: 86_400) == 365)
    }

    @Test("the Sharpe ratio scales with √periodsPerYear: a 1h series annualised for 1h, not for 30m")
    func annualisation() {
        let hourly = ReturnMetrics.sharpeRatio(r, periodsPerYear: 8_760)
        let halfHourly = ReturnMetrics.sharpeRatio(r, periodsPerYear: 17_520)
        #expect(agrees(halfHourly / hourly, 2.0.squareRoot()))
    }

    @Test("empty input: NaN everywhere a value needs data; quantstats' 0 for the period win rate and profit factor")
    func empty() {
        let e: [Double] = []
        for value in [ReturnMetrics.totalReturn(e), ReturnMetrics.cagr(e, periodsPerYear: 365),
                      ReturnMetrics.annualVolatility(e, periodsPerYear: 365), ReturnMetrics.sharpeRatio(e, periodsPerYear: 365),
                      ReturnMetrics.sortinoRatio(e, periodsPerYear: 365), ReturnMetrics.downsideRisk(e, periodsPerYear: 365),
                      ReturnMetrics.maxDrawdown(e), ReturnMetrics.calmarRatio(e, periodsPerYear: 365),
                      ReturnMetrics.valueAtRisk(e), ReturnMetrics.conditionalValueAtRisk(e),
                      Statistics.skewness(e), Statistics.excessKurtosis(e), SharpeInference.probabilisticSharpeRatio(returns: e)] {
            #expect(value.isNaN)
        }
        #expect(ReturnMetrics.winRate(e) == 0)
        #expect(ReturnMetrics.profitFactor(e) == 0)
        #expect(Drawdown.maxDurationPeriods(returns: e) == nil)
        let summary = ReturnSummary(returns: e, periodsPerYear: 365, equityTimestamps: [0])
        #expect(summary.periods == 0 && summary.maxDrawdownDurationNanos == nil)
    }

    @Test("one return: total return and CAGR exist, dispersion-based ratios are NaN")
    func single() {
        #expect(agrees(ReturnMetrics.totalReturn([0.05]), 0.05))
        #expect(agrees(ReturnMetrics.cagr([0.05], periodsPerYear: 365), pow(1.05, 365) - 1))
        #expect(ReturnMetrics.sharpeRatio([0.05], periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.sortinoRatio([0.05], periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.annualVolatility([0.05], periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.maxDrawdown([0.05]) == 0)
        #expect(agrees(ReturnMetrics.maxDrawdown([-0.05]), -0.05))
    }

    @Test("all-zero returns: Sharpe and Sortino NaN (0/0), no drawdown, Calmar NaN")
    func allZero() {
        let z = [Double](repeating: 0, count: 10)
        #expect(ReturnMetrics.sharpeRatio(z, periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.sortinoRatio(z, periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.maxDrawdown(z) == 0)
        #expect(ReturnMetrics.calmarRatio(z, periodsPerYear: 365).isNaN)
        #expect(ReturnMetrics.winRate(z) == 0)
        #expect(ReturnMetrics.profitFactor(z) == 0)
        #expect(ReturnMetrics.annualVolatility(z, periodsPerYear: 365) == 0)
    }

    @Test("percentiles interpolate linearly between ranks, as numpy")
    func percentiles() {
        let v = [3.0, 1, 4, 1, 5, 9, 2, 6]
        // sorted 1 1 2 3 4 5 6 9; index q·7
        #expect(Statistics.percentile(v, 0) == 1)
        #expect(Statistics.percentile(v, 100) == 9)
        #expect(agrees(Statistics.percentile(v, 50), 3.5))
        #expect(agrees(Statistics.percentile(v, 90), 6 + 0.3 * 3))
        #expect(Statistics.percentile([], 50).isNaN)
        #expect(Statistics.percentile([1, .nan], 50).isNaN)
    }

    @Test("the m smallest values equal a full sort's first m: random data with ties, every size from 0 to 300")
    func smallestValues() {
        var rng = SplitMix64(state: 17)
        for n in 0...300 {
            // Values on a coarse grid, so that many tie (also at the cut).
            let values = (0..<n).map { _ in Double(Int.random(in: -40...40, using: &rng)) / 8 }
            for m in Set([0, 1, 2, n / 20 + 2, n / 5, n / 4, n].filter { $0 <= n }) {
                #expect(Statistics.smallest(m, of: values) == Array(values.sorted().prefix(m)), "n \(n), m \(m)")
            }
        }
    }

    @Test("tailRisk gives exactly valueAtRisk and conditionalValueAtRisk (one partial sort for both)")
    func tailRiskEqualsBoth() {
        var rng = SplitMix64(state: 5)
        for n in [1, 2, 3, 19, 20, 21, 40, 41, 100, 1_000, 35_019] {
            let returns = (0..<n).map { _ in Double.random(in: -0.05...0.05, using: &rng) }
            for cutoff in [0.0, 0.01, 0.05, 0.25, 0.5, 1.0] {
                let (v, c) = ReturnMetrics.tailRisk(returns, cutoff: cutoff)
                #expect(v == ReturnMetrics.valueAtRisk(returns, cutoff: cutoff), "VaR, n \(n), cutoff \(cutoff)")
                #expect(c == ReturnMetrics.conditionalValueAtRisk(returns, cutoff: cutoff), "CVaR, n \(n), cutoff \(cutoff)")
            }
        }
        let empty = ReturnMetrics.tailRisk([])
        #expect(empty.valueAtRisk.isNaN && empty.conditionalValueAtRisk.isNaN)
        #expect(ReturnMetrics.tailRisk([0.01, .nan, -0.02]).valueAtRisk.isNaN)
    }

    @Test("skewness and kurtosis: symmetric data has zero skew; one outlier has a known G1 and G2")
    func moments() {
        #expect(abs(Statistics.skewness([1, 2, 3, 4, 5])) < 1e-15)
        // 0, 0, 0, 1: Σd² = 0.75, Σd³ = 0.375, Σd⁴ = 0.328125; G1 = 2 and G2 = 4 (pandas gives the same)
        #expect(agrees(Statistics.skewness([0, 0, 0, 1]), 2))
        #expect(agrees(Statistics.excessKurtosis([0, 0, 0, 1]), 4))
        #expect(Statistics.skewness([1, 1]).isNaN)
        #expect(Statistics.excessKurtosis([1, 2, 3]).isNaN)
        #expect(Statistics.skewness([2, 2, 2, 2]).isNaN)
    }

    @Test("correlation: 1 with itself and an affine copy, −1 with the negation, a hand-computed value, NaN when undefined")
    func correlation() {
        let x = [1.0, 3, 2, 5, 4]
        #expect(agrees(Statistics.correlation(x, x), 1))
        #expect(agrees(Statistics.correlation(x, x.map { 3 * $0 + 7 }), 1))
        #expect(agrees(Statistics.correlation(x, x.map { -$0 }), -1))
        // Deviations (−2, 0, −1, 2, 1) and (−1, 1, −1, 1, 0): Σxy = 2 + 0 + 1 + 2 + 0 = 5, Σx² = 10, Σy² = 4: r = 5/√40.
        #expect(agrees(Statistics.correlation(x, [0, 2, 0, 2, 1]), 5 / 40.0.squareRoot()))
        #expect(Statistics.correlation(x, [1, 1, 1, 1, 1]).isNaN)
        #expect(Statistics.correlation([1], [2]).isNaN)
        #expect(Statistics.correlation([1, 2, 3], [1, 2]).isNaN)
    }

    @Test("median and median absolute deviation: odd and even counts, an outlier moves neither much")
    func medianAbsoluteDeviation() {
        let odd = Statistics.medianAbsoluteDeviation([1, 2, 3, 4, 100])
        #expect(odd.median == 3 && odd.deviation == 1)   // |x − 3| = 2, 1, 0, 1, 97
        let even = Statistics.medianAbsoluteDeviation([1, 2, 4, 8])
        #expect(even.median == 3 && even.deviation == 1.5)   // |x − 3| = 2, 1, 1, 5 → (1 + 2) / 2
        #expect(Statistics.medianAbsoluteDeviation([]).median.isNaN && Statistics.medianAbsoluteDeviation([]).deviation.isNaN)
    }
}

@Suite("Drawdown periods and durations")
struct DrawdownTests {
    @Test("peaks, troughs and recoveries of a hand-made curve; the ongoing one ends at the last point")
    func periods() {
        let equity = [100.0, 110, 90, 95, 110, 120, 100]
        let p = Drawdown.periods(equity: equity)
        #expect(p.count == 2)
        #expect(p[0].peakIndex == 1 && p[0].troughIndex == 2 && p[0].recoveryIndex == 4 && p[0].durationPeriods == 3)
        #expect(agrees(p[0].depth, -20.0 / 110))
        #expect(p[1].peakIndex == 5 && p[1].troughIndex == 6 && p[1].recoveryIndex == nil && p[1].durationPeriods == 1)
        #expect(agrees(p[1].depth, -20.0 / 120))
        #expect(Drawdown.maxDurationPeriods(equity: equity) == 3)
    }

    @Test("in time the longest drawdown can be another one than in periods (irregular timestamps)")
    func timeDuration() {
        let equity = [100.0, 110, 90, 95, 110, 120, 100]
        #expect(Drawdown.maxDuration(equity: equity, timestamps: [0, 1, 2, 3, 4, 5, 100]) == 95)
        #expect(Drawdown.maxDuration(equity: equity, timestamps: [0, 10, 20, 30, 40, 50, 60]) == 30)
    }

    @Test("a curve that only rises has no drawdown; a last-point dip counts (backtesting.py would skip it)")
    func edges() {
        #expect(Drawdown.maxDurationPeriods(equity: [1, 2, 2, 3]) == nil)
        #expect(Drawdown.maxDurationPeriods(equity: [1, 1.01, 0.9999]) == 1)
        #expect(Drawdown.maxDurationPeriods(returns: [0.01, -0.01]) == 1)
        #expect(Drawdown.periods(equity: []).isEmpty)
        #expect(Drawdown.periods(equity: [5]).isEmpty)
    }

    @Test("returning exactly to the peak ends a drawdown")
    func equalPeakRecovers() {
        let p = Drawdown.periods(equity: [10, 8, 10, 9])
        #expect(p.map(\.recoveryIndex) == [2, nil])
        #expect(p.map(\.durationPeriods) == [2, 1])
    }

    @Test("the drawdown series matches the max drawdown")
    func series() {
        let r = [0.1, -0.2, 0.05, 0.3, -0.1]
        let dd = Drawdown.series(returns: r)
        #expect(dd.count == r.count)
        #expect(agrees(dd.min()!, ReturnMetrics.maxDrawdown(r)))
        #expect(dd[0] == 0 && dd.allSatisfy { $0 <= 0 })
    }
}
