import Foundation
import QuorumFeatures
import Testing

/// One indicator with TA-Lib's parameters: the fixture key (TA-Lib's name and parameters; a multi-output function's
/// columns are key.0, key.1, … in TA-Lib's output order), its lookback and how to run it over the bars.
struct ParityCase: Sendable, CustomTestStringConvertible {
    var key: String
    var lookback: Int
    /// The outputs of the last `count` bars of a run over `bars` (earlier outputs are computed, not kept).
    var tail: @Sendable (_ bars: [TA.Candle], _ count: Int) -> [[Double]?]
    /// The outputs of every bar.
    func run(_ bars: [TA.Candle]) -> [[Double]?] { tail(bars, bars.count) }
    var testDescription: String { key }

    init<I: StreamingIndicator>(_ key: String, _ make: @escaping @Sendable () -> I,
                                _ outputs: @escaping @Sendable (I.Output) -> [Double]) {
        self.key = key
        lookback = make().lookback
        tail = { QuorumIndicatorTests.run(make(), $0, keepLast: $1, outputs) }
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
        tail = { runPair(make(), $0, keepLast: $1, x, y) }
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
    ] + maTypes

    /// Every moving-average type (`TA.MAType`, TA-Lib's matype without MAMA) through `TA.MA`, and the indicators
    /// that take a type. Keys carry TA-Lib's matype numbers.
    static let maTypes: [ParityCase] = TA.MAType.allCases.map { type in
        ParityCase("MA_10_\(type.rawValue)") { TA.MA(period: 10, type: type) }
    } + [
        ParityCase("APO_12_26_1") { TA.APO(fast: 12, slow: 26, type: .ema) },
        ParityCase("PPO_12_26_1") { TA.PPO(fast: 12, slow: 26, type: .ema) },
        ParityCase("STOCH_5_3_1_3_2", { TA.STOCH(fastK: 5, slowK: 3, kType: .ema, slowD: 3, dType: .wma) }) { [$0.k, $0.d] },
        ParityCase("STOCHF_5_3_3", { TA.STOCHF(fastK: 5, fastD: 3, dType: .dema) }) { [$0.k, $0.d] },
        ParityCase("STOCHRSI_14_5_3_1", { TA.STOCHRSI(period: 14, fastK: 5, fastD: 3, dType: .ema) }) { [$0.k, $0.d] },
        ParityCase("BBANDS_20_2_2_1", { TA.BBANDS(period: 20, up: 2, down: 2, type: .ema) }) { [$0.upper, $0.middle, $0.lower] },
        macdext("MACDEXT_12_1_26_1_9_1") { TA.MACDEXT(fast: 12, fastType: .ema, slow: 26, slowType: .ema, signal: 9, signalType: .ema) },
        macdext("MACDEXT_12_0_26_1_9_2") { TA.MACDEXT(fast: 12, fastType: .sma, slow: 26, slowType: .ema, signal: 9, signalType: .wma) },
        macdext("MACDEXT_26_1_12_3_9_0") { TA.MACDEXT(fast: 26, fastType: .ema, slow: 12, slowType: .dema, signal: 9, signalType: .sma) },
        macdext("MACDEXT_5_6_20_8_4_4") { TA.MACDEXT(fast: 5, fastType: .kama, slow: 20, slowType: .t3, signal: 4, signalType: .tema) },
    ]

    static func macdext(_ key: String, _ make: @escaping @Sendable () -> TA.MACDEXT) -> ParityCase {
        ParityCase(key, make) { [$0.line, $0.signal, $0.histogram] }
    }

    /// Other parameters (short, long and swapped periods), compared on the first 600 BTC bars (grid.json.gz).
    static let grid: [ParityCase] = [
        ParityCase("SMA_7") { TA.SMA(period: 7) },
        ParityCase("EMA_50") { TA.EMA(period: 50) },
        ParityCase("WMA_3") { TA.WMA(period: 3) },
        ParityCase("DEMA_9") { TA.DEMA(period: 9) },
        ParityCase("TEMA_9") { TA.TEMA(period: 9) },
        ParityCase("TRIMA_9") { TA.TRIMA(period: 9) },
        ParityCase("TRIMA_2") { TA.TRIMA(period: 2) },
        ParityCase("RSI_2") { TA.RSI(period: 2) },
        ParityCase("MACD_5_35_5", { TA.MACD(fast: 5, slow: 35, signal: 5) }) { [$0.line, $0.signal, $0.histogram] },
        ParityCase("BBANDS_50_1.5_2.5", { TA.BBANDS(period: 50, up: 1.5, down: 2.5) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("STDDEV_7_2") { TA.STDDEV(period: 7, deviations: 2) },
        ParityCase("ATR_7") { TA.ATR(period: 7) },
        ParityCase("NATR_30") { TA.NATR(period: 30) },
        ParityCase("ADX_5") { TA.ADX(period: 5) },
        ParityCase("ADXR_5") { TA.ADXR(period: 5) },
        ParityCase("PLUS_DI_30") { TA.PLUS_DI(period: 30) },
        ParityCase("MINUS_DI_30") { TA.MINUS_DI(period: 30) },
        ParityCase("STOCH_14_3_5", { TA.STOCH(fastK: 14, slowK: 3, slowD: 5) }) { [$0.k, $0.d] },
        ParityCase("STOCHF_14_1", { TA.STOCHF(fastK: 14, fastD: 1) }) { [$0.k, $0.d] },
        ParityCase("STOCHRSI_7_3_4", { TA.STOCHRSI(period: 7, fastK: 3, fastD: 4) }) { [$0.k, $0.d] },
        ParityCase("WILLR_7") { TA.WILLR(period: 7) },
        ParityCase("CCI_7") { TA.CCI(period: 7) },
        ParityCase("MFI_7") { TA.MFI(period: 7) },
        ParityCase("MOM_1") { TA.MOM(period: 1) },
        ParityCase("ROC_3") { TA.ROC(period: 3) },
        ParityCase("CMO_5") { TA.CMO(period: 5) },
        ParityCase("APO_26_12") { TA.APO(fast: 26, slow: 12) },
        ParityCase("PPO_5_20") { TA.PPO(fast: 5, slow: 20) },
        ParityCase("TRIX_5") { TA.TRIX(period: 5) },
        ParityCase("AROON_5", { TA.AROON(period: 5) }) { [$0.down, $0.up] },
        ParityCase("AROONOSC_25") { TA.AROONOSC(period: 25) },
        ParityCase("ADOSC_10_3") { TA.ADOSC(fast: 10, slow: 3) },
        ParityCase("ULTOSC_28_7_14") { TA.ULTOSC(period1: 28, period2: 7, period3: 14) },
        ParityCase("KAMA_10") { TA.KAMA(period: 10) },
        ParityCase("T3_3_0.5") { TA.T3(period: 3, volumeFactor: 0.5) },
        ParityCase("SAR_0.05_0.3") { TA.SAR(acceleration: 0.05, maximum: 0.3) },
        ParityCase("LINEARREG_5", { TA.LINEARREG(period: 5) }) { [$0.value] },
        ParityCase(pair: "BETA_10_high_low", { TA.BETA(period: 10) }, x: \.high, y: \.low),
        ParityCase(pair: "CORREL_10_open_close", { TA.CORREL(period: 10) }, x: \.open, y: \.close),
        ParityCase("MA_1_3") { TA.MA(period: 1, type: .dema) },
        ParityCase("MA_5_6") { TA.MA(period: 5, type: .kama) },
        ParityCase("APO_5_20_6") { TA.APO(fast: 5, slow: 20, type: .kama) },
        ParityCase("PPO_5_20_8") { TA.PPO(fast: 5, slow: 20, type: .t3) },
        ParityCase("APO_26_12_4") { TA.APO(fast: 26, slow: 12, type: .tema) },
        ParityCase("STOCHF_14_3_5", { TA.STOCHF(fastK: 14, fastD: 3, dType: .trima) }) { [$0.k, $0.d] },
        ParityCase("STOCH_14_5_3_4_6", { TA.STOCH(fastK: 14, slowK: 5, kType: .dema, slowD: 4, dType: .kama) }) { [$0.k, $0.d] },
        ParityCase("STOCHRSI_7_3_4_8", { TA.STOCHRSI(period: 7, fastK: 3, fastD: 4, dType: .t3) }) { [$0.k, $0.d] },
        ParityCase("BBANDS_10_2_1_5", { TA.BBANDS(period: 10, up: 2, down: 1, type: .trima) }) { [$0.upper, $0.middle, $0.lower] },
        ParityCase("BBANDS_7_1_1_6", { TA.BBANDS(period: 7, up: 1, down: 1, type: .kama) }) { [$0.upper, $0.middle, $0.lower] },
        macdext("MACDEXT_3_8_10_5_1_1") { TA.MACDEXT(fast: 3, fastType: .t3, slow: 10, slowType: .trima, signal: 1, signalType: .ema) },
        macdext("MACDEXT_20_2_5_6_5_3") { TA.MACDEXT(fast: 20, fastType: .wma, slow: 5, slowType: .kama, signal: 5, signalType: .dema) },
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
        for name in IndicatorFixture.files + [IndicatorFixture.grid] { loaded[name] = try? IndicatorFixture.load(name) }
        return loaded
    }()

    @Test("fixtures cover every case and come from the pinned TA-Lib")
    func fixturesCoverEveryCase() throws {
        for name in IndicatorFixture.files + [IndicatorFixture.grid] {
            let (fixture, _) = try #require(Self.fixtures[name], "cannot read the fixture \(name)")
            let cases = name == IndicatorFixture.grid ? ParityCase.grid : ParityCase.all
            #expect(fixture.taLib?.python == "0.8.2")
            let covered = Set(cases.flatMap { c in
                fixture.series[c.key] != nil ? [c.key] : fixture.series.keys.filter { $0.hasPrefix(c.key + ".") }
            })
            #expect(covered == Set(fixture.series.keys), "fixture columns without a test case: \(Set(fixture.series.keys).subtracting(covered))")
        }
    }

    @Test("equals TA-Lib", arguments: ParityCase.all, IndicatorFixture.files)
    func equalsTALib(_ indicator: ParityCase, _ file: String) throws {
        try compare(indicator, file)
    }

    @Test("equals TA-Lib with other parameters", arguments: ParityCase.grid)
    func equalsTALibWithOtherParameters(_ indicator: ParityCase) throws {
        try compare(indicator, IndicatorFixture.grid)
    }

    private func compare(_ indicator: ParityCase, _ file: String) throws {
        let (fixture, bars) = try #require(Self.fixtures[file], "cannot read the fixture \(file)")
        try compareWithFixture(indicator, fixture, bars, reference: "TA-Lib")
    }
}

/// Runs `indicator` over `bars` and compares it with its fixture columns: nil exactly where the reference has no
/// value (the first value at `lookback`), then equal to 1e-9 relative or 10⁻¹⁰ of the column's largest magnitude.
/// With INDICATOR_ERRORS set in the environment it prints each column's largest relative error (over values at least
/// 10⁻³ of the column's largest magnitude) and largest absolute error divided by that magnitude (for reports).
func compareWithFixture(_ indicator: ParityCase, _ fixture: IndicatorFixture, _ bars: [TA.Candle],
                        reference: String) throws {
    let rows = indicator.run(bars)
    let single = fixture.series[indicator.key]
    let outputCount = single != nil ? 1 : fixture.series.keys.filter { $0.hasPrefix(indicator.key + ".") }.count
    #expect(outputCount >= 1, "no fixture column for \(indicator.key)")
    #expect(rows.firstIndex { $0 != nil } == indicator.lookback, "first value at the lookback")
    for output in 0..<outputCount {
        let column = single ?? fixture.series["\(indicator.key).\(output)"]!
        #expect(column.firstIndex { $0 != nil } == indicator.lookback, "\(reference)'s first value at the lookback")
        let scale = column.compactMap { $0 }.map(abs).max() ?? 0
        var failures = 0
        var worst = 0.0, worstAbsolute = 0.0
        for (position, barIndex) in fixture.indices.enumerated() {
            let expected = column[position]
            let actual = rows[barIndex]?[output]
            guard let expected else {
                #expect(actual == nil, "\(indicator.key)[\(output)] bar \(barIndex): \(actual!) during \(reference)'s warm-up")
                continue
            }
            guard let actual else {
                Issue.record("\(indicator.key)[\(output)] bar \(barIndex): nil, \(reference) \(expected)")
                continue
            }
            if abs(expected) >= 1e-3 * scale { worst = max(worst, abs(actual - expected) / abs(expected)) }
            worstAbsolute = max(worstAbsolute, abs(actual - expected) / scale)
            if abs(actual - expected) > max(1e-9 * abs(expected), 1e-10 * scale) {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(indicator.key)[\(output)] bar \(barIndex): \(actual), \(reference) \(expected)")
                }
            }
        }
        #expect(failures == 0, "\(indicator.key)[\(output)]: \(failures) values differ from \(reference)")
        if ProcessInfo.processInfo.environment["INDICATOR_ERRORS"] != nil {
            print("max-error \(reference) \(fixture.source) \(indicator.key)[\(output)] relative \(worst) absolute/scale \(worstAbsolute)")
        }
    }
}
