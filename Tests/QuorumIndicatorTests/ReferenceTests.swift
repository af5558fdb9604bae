import Foundation
import QuorumFeatures
import Testing

extension ParityCase {
    /// The indicators TA-Lib lacks (TA/Popular.swift), keyed as in scripts/reference_features.py.
    static let popular: [ParityCase] = [
        ParityCase("VWAP_20") { TA.VWAP(period: 20) },
        ParityCase("SESSION_VWAP") { TA.SessionVWAP() },
        ParityCase("SUPERTREND_10_3", { TA.SuperTrend(period: 10, factor: 3) }) { [$0.value, $0.direction] },
        ParityCase("KELTNER_20_10_2", { TA.Keltner(period: 20, atrPeriod: 10, multiplier: 2) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("DONCHIAN_20", { TA.Donchian(period: 20) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("ICHIMOKU_9_26_52_26", { TA.Ichimoku(tenkan: 9, kijun: 26, senkouB: 52, displacement: 26) }) {
            [$0.tenkan, $0.kijun, $0.leadingA, $0.leadingB, $0.cloudA, $0.cloudB]
        },
        ParityCase("HMA_20") { TA.HMA(period: 20) },
        ParityCase("HMA_9") { TA.HMA(period: 9) },
        ParityCase("WAVETREND_10_21_4", { TA.WaveTrend(channel: 10, average: 21, signal: 4) }) { [$0.wt1, $0.wt2] },
        ParityCase("HEIKIN_ASHI", { TA.HeikinAshi() }) { [$0.open, $0.high, $0.low, $0.close] },
    ]

    /// The statistical, volatility, microstructure and temporal features; *_LOGRET keys are fed one-bar log returns.
    static let quant: [ParityCase] = [
        ParityCase("ZSCORE_20") { TA.ZScore(period: 20) },
        ParityCase("MOMENTS_30_LOGRET", { OnLogReturns(TA.Moments(period: 30)) }) {
            [$0.mean, $0.standardDeviation, $0.skewness, $0.kurtosis]
        },
        ParityCase("AUTOCORR_30_1_LOGRET") { OnLogReturns(TA.Autocorrelation(period: 30, lag: 1)) },
        ParityCase("AUTOCORR_50_5_LOGRET") { OnLogReturns(TA.Autocorrelation(period: 50, lag: 5)) },
        ParityCase("HURST_128_8_LOGRET") { OnLogReturns(TA.Hurst(period: 128, minChunk: 8)) },
        ParityCase("PERMEN_50_3_1_LOGRET") { OnLogReturns(TA.PermutationEntropy(period: 50, order: 3, delay: 1)) },
        ParityCase("PERMEN_60_4_2") { TA.PermutationEntropy(period: 60, order: 4, delay: 2) },
        ParityCase("PARKINSON_20") { TA.Parkinson(period: 20) },
        ParityCase("GARMAN_KLASS_20") { TA.GarmanKlass(period: 20) },
        ParityCase("ROGERS_SATCHELL_20") { TA.RogersSatchell(period: 20) },
        ParityCase("YANG_ZHANG_20") { TA.YangZhang(period: 20) },
        ParityCase("AMIHUD_20") { TA.Amihud(period: 20) },
        ParityCase("ROLL_20") { TA.RollSpread(period: 20) },
        ParityCase("CORWIN_SCHULTZ_20") { TA.CorwinSchultz(period: 20) },
        ParityCase("BULK_VOLUME_20") { TA.BulkVolume(period: 20) },
        ParityCase("CALENDAR", { TA.CalendarEncoding() }) { [$0.hourSin, $0.hourCos, $0.weekdaySin, $0.weekdayCos] },
        ParityCase("BARS_SINCE_MOVE_100_3_LOGRET") { OnLogReturns(TA.BarsSinceMove(period: 100, sigmas: 3)) },
    ]

    /// The same types at the edges of their parameters (one-bar windows, no displacement, the shortest periods and
    /// largest lags allowed), where off-by-one errors show.
    static let edges: [ParityCase] = [
        ParityCase("VWAP_1") { TA.VWAP(period: 1) },
        ParityCase("SUPERTREND_1_0.5", { TA.SuperTrend(period: 1, factor: 0.5) }) { [$0.value, $0.direction] },
        ParityCase("KELTNER_1_1_1", { TA.Keltner(period: 1, atrPeriod: 1, multiplier: 1) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("DONCHIAN_1", { TA.Donchian(period: 1) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("ICHIMOKU_3_5_7_0", { TA.Ichimoku(tenkan: 3, kijun: 5, senkouB: 7, displacement: 0) }) {
            [$0.tenkan, $0.kijun, $0.leadingA, $0.leadingB, $0.cloudA, $0.cloudB]
        },
        ParityCase("ICHIMOKU_30_10_20_1", { TA.Ichimoku(tenkan: 30, kijun: 10, senkouB: 20, displacement: 1) }) {
            [$0.tenkan, $0.kijun, $0.leadingA, $0.leadingB, $0.cloudA, $0.cloudB]
        },
        ParityCase("HMA_2") { TA.HMA(period: 2) },
        ParityCase("HMA_4") { TA.HMA(period: 4) },
        ParityCase("WAVETREND_1_1_1", { TA.WaveTrend(channel: 1, average: 1, signal: 1) }) { [$0.wt1, $0.wt2] },
        ParityCase("MOMENTS_4_LOGRET", { OnLogReturns(TA.Moments(period: 4)) }) {
            [$0.mean, $0.standardDeviation, $0.skewness, $0.kurtosis]
        },
        ParityCase("ZSCORE_2") { TA.ZScore(period: 2) },
        ParityCase("AUTOCORR_12_10_LOGRET") { OnLogReturns(TA.Autocorrelation(period: 12, lag: 10)) },
        ParityCase("HURST_16_8_LOGRET") { OnLogReturns(TA.Hurst(period: 16, minChunk: 8)) },
        ParityCase("PERMEN_2_2_1") { TA.PermutationEntropy(period: 2, order: 2, delay: 1) },
        ParityCase("PERMEN_40_6_1_LOGRET") { OnLogReturns(TA.PermutationEntropy(period: 40, order: 6, delay: 1)) },
        ParityCase("PARKINSON_1") { TA.Parkinson(period: 1) },
        ParityCase("YANG_ZHANG_2") { TA.YangZhang(period: 2) },
        ParityCase("AMIHUD_1") { TA.Amihud(period: 1) },
        ParityCase("ROLL_2") { TA.RollSpread(period: 2) },
        ParityCase("CORWIN_SCHULTZ_1") { TA.CorwinSchultz(period: 1) },
        ParityCase("BULK_VOLUME_2") { TA.BulkVolume(period: 2) },
        ParityCase("BARS_SINCE_MOVE_2_1_LOGRET") { OnLogReturns(TA.BarsSinceMove(period: 2, sigmas: 1)) },
    ]

    /// Every case compared with a reference fixture.
    static let referenced = popular + quant + edges
}

/// Feeds a series indicator the one-bar log returns ln(c/c₋₁) of the bars' closes (the first from bar 1).
struct OnLogReturns<Inner: SeriesIndicator>: StreamingIndicator {
    private var inner: Inner
    private var previousClose: Double?

    init(_ inner: Inner) { self.inner = inner }

    var lookback: Int { inner.lookback + 1 }

    mutating func update(_ bar: TA.Candle) -> Inner.Output? {
        defer { previousClose = bar.close }
        guard let previousClose else { return nil }
        return inner.update(log(bar.close / previousClose))
    }
}

/// The indicators TA-Lib lacks against straightforward batch implementations of their published definitions
/// (scripts/reference_features.py, whole-window loops in Python/NumPy, nothing shared with the streaming code) on
/// the same 3,000 BTC and ETH bars and 500 synthetic bars as the TA-Lib parity test: nil exactly during the
/// warm-up, then equal to 1e-9 relative (or 10⁻¹⁰ of the column's largest magnitude).
@Suite("Reference implementations")
struct ReferenceTests {
    static let fixtures: [String: (IndicatorFixture, [TA.Candle])] = {
        var loaded: [String: (IndicatorFixture, [TA.Candle])] = [:]
        for name in IndicatorFixture.referenceFiles { loaded[name] = try? IndicatorFixture.load(name) }
        return loaded
    }()

    @Test("fixtures cover every case")
    func fixturesCoverEveryCase() throws {
        for name in IndicatorFixture.referenceFiles {
            let (fixture, bars) = try #require(Self.fixtures[name], "cannot read the fixture \(name)")
            #expect(fixture.reference?.script == "scripts/reference_features.py")
            #expect(bars.allSatisfy { $0.closeTime != nil }, "every bar has a close time")
            let covered = Set(ParityCase.referenced.flatMap { c in
                fixture.series[c.key] != nil ? [c.key] : fixture.series.keys.filter { $0.hasPrefix(c.key + ".") }
            })
            #expect(covered == Set(fixture.series.keys), "fixture columns without a test case: \(Set(fixture.series.keys).subtracting(covered))")
        }
    }

    @Test("equals the reference implementation", arguments: ParityCase.referenced, IndicatorFixture.referenceFiles)
    func equalsReference(_ indicator: ParityCase, _ file: String) throws {
        let (fixture, bars) = try #require(Self.fixtures[file], "cannot read the fixture \(file)")
        try compareWithFixture(indicator, fixture, bars, reference: "reference")
    }
}
