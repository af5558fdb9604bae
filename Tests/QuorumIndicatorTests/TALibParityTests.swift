import Foundation
import QuorumFeatures
import Testing

/// One indicator with TA-Lib's parameters: the fixture key (TA-Lib's name and parameters; a multi-output function's
/// columns are key.0, key.1, … in TA-Lib's output order), its lookback and how to run it over the bars.
struct ParityCase: Sendable, CustomTestStringConvertible {
    var key: String
    var lookback: Int
    var run: @Sendable ([TA.Candle]) -> [[Double]?]
    var testDescription: String { key }

    init<I: StreamingIndicator>(_ key: String, _ make: @escaping @Sendable () -> I,
                                _ outputs: @escaping @Sendable (I.Output) -> [Double]) {
        self.key = key
        lookback = make().lookback
        run = { QuorumIndicatorTests.run(make(), $0, outputs) }
    }

    init<I: SeriesIndicator>(_ key: String, _ make: @escaping @Sendable () -> I) where I.Output == Double {
        self.init(key, make) { [$0] }
    }

    init<I: StreamingIndicator>(_ key: String, _ make: @escaping @Sendable () -> I) where I.Output == Double {
        self.init(key, make) { [$0] }
    }

    init<I: PairIndicator>(pair key: String, _ make: @escaping @Sendable () -> I,
                           x: @escaping @Sendable (TA.Candle) -> Double, y: @escaping @Sendable (TA.Candle) -> Double)
    where I.Output == Double {
        self.key = key
        lookback = make().lookback
        run = { runPair(make(), $0, x, y) }
    }

    static let all: [ParityCase] = [
        ParityCase("SMA_20") { TA.SMA(period: 20) },
        ParityCase("EMA_12") { TA.EMA(period: 12) },
        ParityCase("WMA_20") { TA.WMA(period: 20) },
        ParityCase("DEMA_20") { TA.DEMA(period: 20) },
        ParityCase("TEMA_20") { TA.TEMA(period: 20) },
        ParityCase("TRIMA_20") { TA.TRIMA(period: 20) },
        ParityCase("TRIMA_15") { TA.TRIMA(period: 15) },
        ParityCase("RSI_14") { TA.RSI(period: 14) },
        ParityCase("MACD_12_26_9", { TA.MACD(fast: 12, slow: 26, signal: 9) }) { [$0.line, $0.signal, $0.histogram] },
        ParityCase("BBANDS_20_2", { TA.BBANDS(period: 20, up: 2, down: 2) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("STDDEV_20") { TA.STDDEV(period: 20, deviations: 1) },
        ParityCase("ATR_14") { TA.ATR(period: 14) },
        ParityCase("NATR_14") { TA.NATR(period: 14) },
        ParityCase("TRANGE") { TA.TRANGE() },
        ParityCase("ADX_14") { TA.ADX(period: 14) },
        ParityCase("ADXR_14") { TA.ADXR(period: 14) },
        ParityCase("PLUS_DI_14") { TA.PLUS_DI(period: 14) },
        ParityCase("MINUS_DI_14") { TA.MINUS_DI(period: 14) },
        ParityCase("STOCH_5_3_3", { TA.STOCH(fastK: 5, slowK: 3, slowD: 3) }) { [$0.k, $0.d] },
        ParityCase("STOCHF_5_3", { TA.STOCHF(fastK: 5, fastD: 3) }) { [$0.k, $0.d] },
        ParityCase("STOCHRSI_14_5_3", { TA.STOCHRSI(period: 14, fastK: 5, fastD: 3) }) { [$0.k, $0.d] },
        ParityCase("WILLR_14") { TA.WILLR(period: 14) },
        ParityCase("CCI_20") { TA.CCI(period: 20) },
        ParityCase("MFI_14") { TA.MFI(period: 14) },
        ParityCase("MOM_10") { TA.MOM(period: 10) },
        ParityCase("ROC_10") { TA.ROC(period: 10) },
        ParityCase("CMO_14") { TA.CMO(period: 14) },
        ParityCase("APO_12_26") { TA.APO(fast: 12, slow: 26) },
        ParityCase("PPO_12_26") { TA.PPO(fast: 12, slow: 26) },
        ParityCase("TRIX_15") { TA.TRIX(period: 15) },
        ParityCase("AROON_14", { TA.AROON(period: 14) }) { [$0.down, $0.up] },
        ParityCase("AROONOSC_14") { TA.AROONOSC(period: 14) },
        ParityCase("BOP") { TA.BOP() },
        ParityCase("OBV") { TA.OBV() },
        ParityCase("AD") { TA.AD() },
        ParityCase("ADOSC_3_10") { TA.ADOSC(fast: 3, slow: 10) },
        ParityCase("ULTOSC_7_14_28") { TA.ULTOSC(period1: 7, period2: 14, period3: 28) },
        ParityCase("KAMA_30") { TA.KAMA(period: 30) },
        ParityCase("T3_5_0.7") { TA.T3(period: 5, volumeFactor: 0.7) },
        ParityCase("SAR_0.02_0.2") { TA.SAR(acceleration: 0.02, maximum: 0.2) },
        ParityCase("LINEARREG_14", { TA.LINEARREG(period: 14) }) { [$0.value] },
        ParityCase("LINEARREG_SLOPE_14", { TA.LINEARREG(period: 14) }) { [$0.slope] },
        ParityCase("LINEARREG_ANGLE_14", { TA.LINEARREG(period: 14) }) { [$0.angle] },
        ParityCase("LINEARREG_INTERCEPT_14", { TA.LINEARREG(period: 14) }) { [$0.intercept] },
        ParityCase(pair: "BETA_5_open_close", { TA.BETA(period: 5) }, x: \.open, y: \.close),
        ParityCase(pair: "CORREL_30_high_low", { TA.CORREL(period: 30) }, x: \.high, y: \.low),
    ]
}

/// Every indicator against TA-Lib (the pinned wheel's C library, Tests/Fixtures/indicators) on the first 3,000 BTC
/// and ETH 30-minute bars of data/market and on 500 synthetic bars that reach TA-Lib's special cases (flat bars with
/// zero range and volume, equal highs, a pure uptrend): nil exactly during TA-Lib's warm-up (the first value at bar `lookback`),
/// then equal to 1e-9 relative. Values that are differences of nearly equal prices (a slope, a histogram close to
/// 0) carry absolute rounding noise in TA-Lib and here alike, so a value may instead differ by up to 10⁻¹⁰ of the
/// largest magnitude in its series.
@Suite("TA-Lib parity")
struct TALibParityTests {
    static let fixtures: [String: (IndicatorFixture, [TA.Candle])] = {
        var loaded: [String: (IndicatorFixture, [TA.Candle])] = [:]
        for name in IndicatorFixture.files { loaded[name] = try? IndicatorFixture.load(name) }
        return loaded
    }()

    @Test("fixtures cover every case and come from the pinned TA-Lib")
    func fixturesCoverEveryCase() throws {
        for name in IndicatorFixture.files {
            let (fixture, _) = try #require(Self.fixtures[name], "cannot read the fixture \(name)")
            #expect(fixture.taLib.python == "0.8.2")
            let covered = Set(ParityCase.all.flatMap { c in
                fixture.series[c.key] != nil ? [c.key] : fixture.series.keys.filter { $0.hasPrefix(c.key + ".") }
            })
            #expect(covered == Set(fixture.series.keys), "fixture columns without a test case: \(Set(fixture.series.keys).subtracting(covered))")
        }
    }

    @Test("equals TA-Lib", arguments: ParityCase.all, IndicatorFixture.files)
    func equalsTALib(_ indicator: ParityCase, _ file: String) throws {
        let (fixture, bars) = try #require(Self.fixtures[file], "cannot read the fixture \(file)")
        let rows = indicator.run(bars)
        let single = fixture.series[indicator.key]
        let outputCount = single != nil ? 1 : fixture.series.keys.filter { $0.hasPrefix(indicator.key + ".") }.count
        #expect(outputCount >= 1, "no fixture column for \(indicator.key)")
        #expect(rows.firstIndex { $0 != nil } == indicator.lookback, "first value at the lookback")
        for output in 0..<outputCount {
            let column = single ?? fixture.series["\(indicator.key).\(output)"]!
            #expect(column.firstIndex { $0 != nil } == indicator.lookback, "TA-Lib's first value at the lookback")
            let scale = column.compactMap { $0 }.map(abs).max() ?? 0
            var failures = 0
            for (position, barIndex) in fixture.indices.enumerated() {
                let expected = column[position]
                let actual = rows[barIndex]?[output]
                guard let expected else {
                    #expect(actual == nil, "\(indicator.key)[\(output)] bar \(barIndex): \(actual!) during TA-Lib's warm-up")
                    continue
                }
                guard let actual else {
                    Issue.record("\(indicator.key)[\(output)] bar \(barIndex): nil, TA-Lib \(expected)")
                    continue
                }
                if abs(actual - expected) > max(1e-9 * abs(expected), 1e-10 * scale) {
                    failures += 1
                    if failures <= 5 {
                        Issue.record("\(indicator.key)[\(output)] bar \(barIndex): \(actual), TA-Lib \(expected)")
                    }
                }
            }
            #expect(failures == 0, "\(indicator.key)[\(output)]: \(failures) values differ from TA-Lib")
        }
    }
}
