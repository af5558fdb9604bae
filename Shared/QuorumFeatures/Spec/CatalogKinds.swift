// The catalog's entries, by group. Each wraps one streaming indicator of this module; the indicator's doc comment
// holds its definition and reference, and docs/features.md tabulates them.

extension FeatureKind {
    /// A one-series indicator with one output, fed the `source` price (close by default).
    static func series<I: SeriesIndicator>(
        _ name: String, _ group: Group, _ summary: String, _ parameters: [FeatureParameter] = [],
        check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
        _ build: @escaping @Sendable (FeatureArguments) -> I
    ) -> FeatureKind where I.Output == Double {
        FeatureKind(name, group, summary, parameters: parameters + [.source()], check: check) { a in
            let source = a.source()
            return IndicatorNode(indicator: build(a), width: 1) { indicator, bar, out in
                out.pointee = indicator.update(source.value(bar)) ?? .nan
            } run: { indicator, bars, out, stride in
                // The close (the default source) without the per-bar switch on the source.
                if source == .close {
                    for k in bars.indices { out[k &* stride] = indicator.update(bars[k].close) ?? .nan }
                } else {
                    for k in bars.indices { out[k &* stride] = indicator.update(source.value(bars[k])) ?? .nan }
                }
            }
        }
    }

    /// A bar indicator (reads open/high/low/close/volume) with one output.
    static func bar<I: StreamingIndicator>(
        _ name: String, _ group: Group, _ summary: String, _ parameters: [FeatureParameter] = [],
        check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
        _ build: @escaping @Sendable (FeatureArguments) -> I
    ) -> FeatureKind where I.Output == Double {
        FeatureKind(name, group, summary, parameters: parameters, check: check) { a in
            IndicatorNode(indicator: build(a), width: 1) { indicator, bar, out in
                out.pointee = indicator.update(bar) ?? .nan
            } run: { indicator, bars, out, stride in
                for k in bars.indices { out[k * stride] = indicator.update(bars[k]) ?? .nan }
            }
        }
    }

    /// A one-series indicator with several outputs.
    static func multiSeries<I: SeriesIndicator>(
        _ name: String, _ group: Group, _ summary: String, _ parameters: [FeatureParameter], outputs: [String],
        defaultOutputs: [String]? = nil,
        check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
        _ build: @escaping @Sendable (FeatureArguments) -> I,
        write: @escaping @Sendable (I.Output, UnsafeMutablePointer<Double>) -> Void
    ) -> FeatureKind {
        FeatureKind(name, group, summary, parameters: parameters + [.source()], outputs: outputs, defaultOutputs: defaultOutputs, check: check) { a in
            let source = a.source(), width = outputs.count
            return IndicatorNode(indicator: build(a), width: width) { indicator, bar, out in
                if let value = indicator.update(source.value(bar)) { write(value, out) } else { out.update(repeating: .nan, count: width) }
            } run: { indicator, bars, out, stride in
                func step(_ value: Double, _ row: UnsafeMutablePointer<Double>) {
                    if let output = indicator.update(value) { write(output, row) } else { row.update(repeating: .nan, count: width) }
                }
                // The close (the default source) without the per-bar switch on the source.
                if source == .close {
                    for k in bars.indices { step(bars[k].close, out + k &* stride) }
                } else {
                    for k in bars.indices { step(source.value(bars[k]), out + k &* stride) }
                }
            }
        }
    }

    /// A bar indicator with several outputs.
    static func multiBar<I: StreamingIndicator>(
        _ name: String, _ group: Group, _ summary: String, _ parameters: [FeatureParameter], outputs: [String],
        defaultOutputs: [String]? = nil,
        check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
        _ build: @escaping @Sendable (FeatureArguments) -> I,
        write: @escaping @Sendable (I.Output, UnsafeMutablePointer<Double>) -> Void
    ) -> FeatureKind {
        FeatureKind(name, group, summary, parameters: parameters, outputs: outputs, defaultOutputs: defaultOutputs, check: check) { a in
            let width = outputs.count
            return IndicatorNode(indicator: build(a), width: width) { indicator, bar, out in
                if let value = indicator.update(bar) { write(value, out) } else { out.update(repeating: .nan, count: width) }
            } run: { indicator, bars, out, stride in
                for k in bars.indices {
                    if let value = indicator.update(bars[k]) { write(value, out + k * stride) }
                    else { (out + k * stride).update(repeating: .nan, count: width) }
                }
            }
        }
    }

    /// A two-series indicator: of two prices of the same bar (`x`, `y`), or with `"with": SYMBOL` of this symbol's
    /// `x` and that symbol's `y` at the same event time (then both default to the close). `leaderFirst` feeds the
    /// other symbol's series as the indicator's first input in that case (BETA regresses its second on its first).
    static func pair<I: PairIndicator>(
        _ name: String, _ summary: String, _ parameters: [FeatureParameter], x: PriceSource, y: PriceSource, leaderFirst: Bool = false,
        check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
        _ build: @escaping @Sendable (FeatureArguments) -> I
    ) -> FeatureKind where I.Output == Double {
        FeatureKind(name, .statistics, summary, parameters: parameters + [.source("x", x), .source("y", y)], isPair: true, check: check) { a in
            PairNode(indicator: build(a), x: a.source("x"), y: a.source("y"), crossAsset: a.crossAsset, swapped: a.crossAsset && leaderFirst)
        }
    }
}

private typealias Out = UnsafeMutablePointer<Double>

private func period(_ value: Int, min: Int = 1) -> FeatureParameter { .int("period", value, min: min) }

private func writeBands(_ b: TA.Bands, _ out: Out) {
    out[0] = b.upper
    out[1] = b.middle
    out[2] = b.lower
}

private func writeStochastic(_ s: TA.Stochastic, _ out: Out) {
    out[0] = s.k
    out[1] = s.d
}

private func writeMACD(_ m: MACDValue, _ out: Out) {
    out[0] = m.line
    out[1] = m.signal
    out[2] = m.histogram
}

extension FeatureCatalog {
    static let trend: [FeatureKind] = [
        .series("sma", .trend, "simple moving average (TA-Lib SMA)", [period(30)]) { TA.SMA(period: $0.int("period")) },
        .series("ema", .trend, "exponential moving average, SMA-seeded (TA-Lib EMA)", [period(30)]) { TA.EMA(period: $0.int("period")) },
        .series("wma", .trend, "linearly weighted moving average (TA-Lib WMA)", [period(30)]) { TA.WMA(period: $0.int("period")) },
        .series("dema", .trend, "double EMA (TA-Lib DEMA)", [period(30)]) { TA.DEMA(period: $0.int("period")) },
        .series("tema", .trend, "triple EMA (TA-Lib TEMA)", [period(30)]) { TA.TEMA(period: $0.int("period")) },
        .series("trima", .trend, "triangular moving average (TA-Lib TRIMA)", [period(30)]) { TA.TRIMA(period: $0.int("period")) },
        .series("kama", .trend, "Kaufman adaptive moving average (TA-Lib KAMA)", [period(30)]) { TA.KAMA(period: $0.int("period")) },
        .series("t3", .trend, "Tillson T3 (TA-Lib T3)", [period(5), .double("vfactor", 0.7, above: nil, atLeast: 0)]) {
            TA.T3(period: $0.int("period"), volumeFactor: $0.double("vfactor"))
        },
        .series("ma", .trend, "moving average of a chosen type (TA-Lib MA)", [period(30), .maType()]) {
            TA.MA(period: $0.int("period"), type: $0.maType())
        },
        .series("hma", .trend, "Hull moving average (Alan Hull)", [period(20, min: 2)]) { TA.HMA(period: $0.int("period")) },
        .series("ema_ratio", .trend, "EMA(fast) / EMA(slow) − 1, scale-free trend", [.int("fast", 12), .int("slow", 26)],
                check: { $0.int("fast") < $0.int("slow") ? nil : "fast must be below slow" }) {
            EMARatio(fast: $0.int("fast"), slow: $0.int("slow"))
        },
        .multiSeries("macd", .trend, "MACD line, signal and histogram (TA-Lib MACD)",
                     [.int("fast", 12, min: 2), .int("slow", 26, min: 2), .int("signal", 9)],
                     outputs: ["line", "signal", "hist"], { TA.MACD(fast: $0.int("fast"), slow: $0.int("slow"), signal: $0.int("signal")) },
                     write: writeMACD),
        .multiSeries("macdext", .trend, "MACD with chosen MA types (TA-Lib MACDEXT)",
                     [.int("fast", 12, min: 2), .maType("fast_ma"), .int("slow", 26, min: 2), .maType("slow_ma"), .int("signal", 9), .maType("signal_ma")],
                     outputs: ["line", "signal", "hist"], {
                         TA.MACDEXT(fast: $0.int("fast"), fastType: $0.maType("fast_ma"), slow: $0.int("slow"), slowType: $0.maType("slow_ma"),
                                    signal: $0.int("signal"), signalType: $0.maType("signal_ma"))
                     }, write: writeMACD),
        .bar("sar", .trend, "parabolic SAR (TA-Lib SAR)", [.double("acceleration", 0.02), .double("maximum", 0.2)]) {
            TA.SAR(acceleration: $0.double("acceleration"), maximum: $0.double("maximum"))
        },
        .multiBar("supertrend", .trend, "SuperTrend line and direction (TradingView ta.supertrend)",
                  [period(10), .double("factor", 3)], outputs: ["line", "direction"], {
                      TA.SuperTrend(period: $0.int("period"), factor: $0.double("factor"))
                  }, write: { v, out in out[0] = v.value; out[1] = v.direction }),
        .multiBar("ichimoku", .trend, "Ichimoku Kinkō Hyō lines (Hosoda)",
                  [.int("tenkan", 9), .int("kijun", 26), .int("senkou_b", 52), .int("displacement", 26, min: 0)],
                  outputs: ["tenkan", "kijun", "leading_a", "leading_b", "cloud_a", "cloud_b"], {
                      TA.Ichimoku(tenkan: $0.int("tenkan"), kijun: $0.int("kijun"), senkouB: $0.int("senkou_b"), displacement: $0.int("displacement"))
                  }, write: { v, out in
                      out[0] = v.tenkan; out[1] = v.kijun; out[2] = v.leadingA; out[3] = v.leadingB; out[4] = v.cloudA; out[5] = v.cloudB
                  }),
        .multiSeries("linearreg", .trend, "least-squares line over the window: value, slope, intercept, angle (TA-Lib LINEARREG*)",
                     [period(14, min: 2)], outputs: ["value", "slope", "intercept", "angle"], { TA.LINEARREG(period: $0.int("period")) },
                     write: { v, out in out[0] = v.value; out[1] = v.slope; out[2] = v.intercept; out[3] = v.angle }),
        .bar("adx", .trend, "average directional index (TA-Lib ADX)", [period(14, min: 2)]) { TA.ADX(period: $0.int("period")) },
        .bar("adxr", .trend, "ADX rating (TA-Lib ADXR)", [period(14, min: 2)]) { TA.ADXR(period: $0.int("period")) },
        .bar("plus_di", .trend, "+DI (TA-Lib PLUS_DI)", [period(14, min: 2)]) { TA.PLUS_DI(period: $0.int("period")) },
        .bar("minus_di", .trend, "−DI (TA-Lib MINUS_DI)", [period(14, min: 2)]) { TA.MINUS_DI(period: $0.int("period")) },
        .multiBar("aroon", .trend, "Aroon down and up (TA-Lib AROON)", [period(14, min: 2)], outputs: ["down", "up"],
                  { TA.AROON(period: $0.int("period")) }, write: { v, out in out[0] = v.down; out[1] = v.up }),
        .bar("aroonosc", .trend, "Aroon oscillator (TA-Lib AROONOSC)", [period(14, min: 2)]) { TA.AROONOSC(period: $0.int("period")) },
    ]

    static let momentum: [FeatureKind] = [
        .series("rsi", .momentum, "relative strength index, Wilder (TA-Lib RSI)", [period(14)]) { TA.RSI(period: $0.int("period")) },
        .series("cmo", .momentum, "Chande momentum oscillator (TA-Lib CMO)", [period(14)]) { TA.CMO(period: $0.int("period")) },
        .series("apo", .momentum, "absolute price oscillator (TA-Lib APO)", [.int("fast", 12, min: 2), .int("slow", 26, min: 2), .maType()]) {
            TA.APO(fast: $0.int("fast"), slow: $0.int("slow"), type: $0.maType())
        },
        .series("ppo", .momentum, "percentage price oscillator (TA-Lib PPO)", [.int("fast", 12, min: 2), .int("slow", 26, min: 2), .maType()]) {
            TA.PPO(fast: $0.int("fast"), slow: $0.int("slow"), type: $0.maType())
        },
        .series("mom", .momentum, "momentum, x − x₋ₙ (TA-Lib MOM)", [period(10)]) { TA.MOM(period: $0.int("period")) },
        .series("roc", .momentum, "rate of change in % (TA-Lib ROC)", [period(10)]) { TA.ROC(period: $0.int("period")) },
        .series("trix", .momentum, "1-bar ROC of a triple EMA (TA-Lib TRIX)", [period(30)]) { TA.TRIX(period: $0.int("period")) },
        .multiBar("stoch", .momentum, "slow stochastic %K and %D (TA-Lib STOCH)",
                  [.int("fastk", 5), .int("slowk", 3), .maType("slowk_ma"), .int("slowd", 3), .maType("slowd_ma")], outputs: ["k", "d"], {
                      TA.STOCH(fastK: $0.int("fastk"), slowK: $0.int("slowk"), kType: $0.maType("slowk_ma"), slowD: $0.int("slowd"), dType: $0.maType("slowd_ma"))
                  }, write: writeStochastic),
        .multiBar("stochf", .momentum, "fast stochastic %K and %D (TA-Lib STOCHF)", [.int("fastk", 5), .int("fastd", 3), .maType("fastd_ma")],
                  outputs: ["k", "d"], { TA.STOCHF(fastK: $0.int("fastk"), fastD: $0.int("fastd"), dType: $0.maType("fastd_ma")) },
                  write: writeStochastic),
        .multiSeries("stochrsi", .momentum, "stochastic of RSI (TA-Lib STOCHRSI)", [period(14), .int("fastk", 5), .int("fastd", 3), .maType("fastd_ma")],
                     outputs: ["k", "d"], {
                         TA.STOCHRSI(period: $0.int("period"), fastK: $0.int("fastk"), fastD: $0.int("fastd"), dType: $0.maType("fastd_ma"))
                     }, write: writeStochastic),
        .bar("willr", .momentum, "Williams %R (TA-Lib WILLR)", [period(14)]) { TA.WILLR(period: $0.int("period")) },
        .bar("cci", .momentum, "commodity channel index (TA-Lib CCI)", [period(14)]) { TA.CCI(period: $0.int("period")) },
        .bar("mfi", .momentum, "money flow index (TA-Lib MFI)", [period(14)]) { TA.MFI(period: $0.int("period")) },
        .bar("ultosc", .momentum, "ultimate oscillator (TA-Lib ULTOSC)", [.int("period1", 7), .int("period2", 14), .int("period3", 28)]) {
            TA.ULTOSC(period1: $0.int("period1"), period2: $0.int("period2"), period3: $0.int("period3"))
        },
        .bar("bop", .momentum, "balance of power (TA-Lib BOP)") { _ in TA.BOP() },
        .multiBar("wavetrend", .momentum, "WaveTrend wt1 and wt2 (LazyBear)", [.int("channel", 10), .int("average", 21), .int("signal", 4)],
                  outputs: ["wt1", "wt2"], { TA.WaveTrend(channel: $0.int("channel"), average: $0.int("average"), signal: $0.int("signal")) },
                  write: { v, out in out[0] = v.wt1; out[1] = v.wt2 }),
    ]

    static let volatility: [FeatureKind] = [
        .bar("trange", .volatility, "true range (TA-Lib TRANGE)") { _ in TA.TRANGE() },
        .bar("atr", .volatility, "average true range, Wilder (TA-Lib ATR)", [period(14)]) { TA.ATR(period: $0.int("period")) },
        .bar("natr", .volatility, "ATR / close × 100 (TA-Lib NATR)", [period(14)]) { TA.NATR(period: $0.int("period")) },
        .bar("atr_pct", .volatility, "ATR / close, scale-free", [period(14)]) { ATRFraction(period: $0.int("period")) },
        .multiSeries("bbands", .volatility, "Bollinger bands (TA-Lib BBANDS, population σ)",
                     [period(5, min: 2), .double("up", 2, above: nil, atLeast: 0), .double("down", 2, above: nil, atLeast: 0), .maType()],
                     outputs: ["upper", "middle", "lower"], {
                         TA.BBANDS(period: $0.int("period"), up: $0.double("up"), down: $0.double("down"), type: $0.maType())
                     }, write: writeBands),
        .multiSeries("bollinger", .volatility, "Bollinger bands with %b and bandwidth (rolling mean, population σ)",
                     [period(20), .double("width", 2)], outputs: ["upper", "middle", "lower", "pctb", "width"],
                     defaultOutputs: ["pctb", "width"], { BollingerIndicator(period: $0.int("period"), width: $0.double("width")) },
                     write: { v, out in out[0] = v.upper; out[1] = v.middle; out[2] = v.lower; out[3] = v.percentB; out[4] = v.bandwidth }),
        .multiBar("keltner", .volatility, "Keltner channel: EMA ± multiplier × ATR (Chester Keltner, L. Raschke)",
                  [period(20), .int("atr_period", 10), .double("multiplier", 2)], outputs: ["upper", "middle", "lower"], {
                      TA.Keltner(period: $0.int("period"), atrPeriod: $0.int("atr_period"), multiplier: $0.double("multiplier"))
                  }, write: writeBands),
        .multiBar("donchian", .volatility, "Donchian channel: highest high, midpoint, lowest low", [period(20)],
                  outputs: ["upper", "middle", "lower"], { TA.Donchian(period: $0.int("period")) }, write: writeBands),
        .series("stddev", .volatility, "population standard deviation × deviations (TA-Lib STDDEV)",
                [period(5, min: 2), .double("deviations", 1, above: nil, atLeast: 0)]) {
            TA.STDDEV(period: $0.int("period"), deviations: $0.double("deviations"))
        },
        .series("volatility", .volatility, "sample standard deviation of the last n log returns", [period(20, min: 2)]) {
            RollingVolatilityIndicator(period: $0.int("period"))
        },
        .bar("parkinson", .volatility, "Parkinson high-low volatility (Parkinson 1980)", [period(20)]) { TA.Parkinson(period: $0.int("period")) },
        .bar("garman_klass", .volatility, "Garman–Klass OHLC volatility (1980)", [period(20)]) { TA.GarmanKlass(period: $0.int("period")) },
        .bar("rogers_satchell", .volatility, "Rogers–Satchell drift-free volatility (1991)", [period(20)]) {
            TA.RogersSatchell(period: $0.int("period"))
        },
        .bar("yang_zhang", .volatility, "Yang–Zhang volatility (2000)", [period(20, min: 2)]) { TA.YangZhang(period: $0.int("period")) },
    ]

    static let volume: [FeatureKind] = [
        .bar("obv", .volume, "on-balance volume (TA-Lib OBV)") { _ in TA.OBV() },
        .bar("ad", .volume, "Chaikin accumulation/distribution line (TA-Lib AD)") { _ in TA.AD() },
        .bar("adosc", .volume, "Chaikin A/D oscillator (TA-Lib ADOSC)", [.int("fast", 3, min: 2), .int("slow", 10, min: 2)]) {
            TA.ADOSC(fast: $0.int("fast"), slow: $0.int("slow"))
        },
        .bar("vwap", .volume, "rolling volume-weighted average price over n bars", [period(20)]) { TA.VWAP(period: $0.int("period")) },
        .bar("session_vwap", .volume, "VWAP since the UTC day began") { _ in TA.SessionVWAP() },
    ]

    static let statistics: [FeatureKind] = [
        .series("zscore", .statistics, "(x − rolling mean) / rolling sample σ", [period(20, min: 2)]) { TA.ZScore(period: $0.int("period")) },
        .multiSeries("moments", .statistics, "rolling mean, σ, skewness and excess kurtosis (pandas' estimators) of log returns",
                     [period(30, min: 4)], outputs: ["mean", "std", "skew", "kurt"], defaultOutputs: ["skew", "kurt"],
                     { OfLogReturns(TA.Moments(period: $0.int("period"))) },
                     write: { v, out in out[0] = v.mean; out[1] = v.standardDeviation; out[2] = v.skewness; out[3] = v.kurtosis }),
        .series("autocorr", .statistics, "rolling autocorrelation of log returns at a lag", [period(30, min: 3), .int("lag", 1)],
                check: { $0.int("period") >= $0.int("lag") + 2 ? nil : "period must be at least lag + 2" }) {
            OfLogReturns(TA.Autocorrelation(period: $0.int("period"), lag: $0.int("lag")))
        },
        .series("hurst", .statistics, "Hurst exponent by rescaled range of log returns (Hurst 1951)", [period(128, min: 4), .int("min_chunk", 8, min: 2)],
                check: { $0.int("period") >= 2 * $0.int("min_chunk") ? nil : "period must be at least 2 × min_chunk" }) {
            OfLogReturns(TA.Hurst(period: $0.int("period"), minChunk: $0.int("min_chunk")))
        },
        .series("perm_entropy", .statistics, "normalised permutation entropy of log returns (Bandt & Pompe 2002)",
                [period(50, min: 2), .int("order", 3, min: 2), .int("delay", 1)], check: { a in
                    guard a.int("order") <= 6 else { return "order must be 2…6" }
                    return a.int("period") > (a.int("order") - 1) * a.int("delay") ? nil : "period must exceed (order − 1) × delay"
                }) {
            OfLogReturns(TA.PermutationEntropy(period: $0.int("period"), order: $0.int("order"), delay: $0.int("delay")))
        },
        .pair("beta", "beta of y's one-bar returns on x's (TA-Lib BETA); with \"with\": of this symbol's on the other's",
              [period(5)], x: .high, y: .low, leaderFirst: true) { TA.BETA(period: $0.int("period")) },
        .pair("correl", "Pearson correlation of x and y (TA-Lib CORREL)", [period(30)], x: .high, y: .low) { TA.CORREL(period: $0.int("period")) },
        .pair("return_correl", "Pearson correlation of the one-bar log returns of x and y", [period(30, min: 2)], x: .close, y: .open) {
            OfLogReturnPairs(TA.CORREL(period: $0.int("period")))
        },
        .pair("rel_strength", "relative strength: ln(x/x₋ₙ) − ln(y/y₋ₙ), e.g. this symbol's n-bar return over the leader's",
              [period(48)], x: .close, y: .open) { RelativeStrength(period: $0.int("period")) },
    ]

    static let temporal: [FeatureKind] = [
        .multiBar("calendar", .temporal, "hour-of-day and day-of-week as sin/cos (UTC)", [], outputs: ["hour_sin", "hour_cos", "dow_sin", "dow_cos"],
                  { _ in TA.CalendarEncoding() },
                  write: { v, out in out[0] = v.hourSin; out[1] = v.hourCos; out[2] = v.weekdaySin; out[3] = v.weekdayCos }),
        .series("bars_since_move", .temporal, "bars since the last |log return| above sigmas × its rolling σ",
                [period(100, min: 2), .double("sigmas", 3)]) {
            OfLogReturns(TA.BarsSinceMove(period: $0.int("period"), sigmas: $0.double("sigmas")))
        },
    ]

    static let microstructure: [FeatureKind] = [
        .bar("amihud", .microstructure, "Amihud illiquidity |r| / dollar volume, rolling mean (Amihud 2002)", [period(20)]) {
            TA.Amihud(period: $0.int("period"))
        },
        .series("roll_spread", .microstructure, "Roll's effective spread from price-change autocovariance (Roll 1984)", [period(20, min: 2)]) {
            TA.RollSpread(period: $0.int("period"))
        },
        .bar("corwin_schultz", .microstructure, "Corwin–Schultz high-low spread (2012)", [period(20)]) { TA.CorwinSchultz(period: $0.int("period")) },
        .bar("bulk_volume", .microstructure, "bulk volume classification: buy share of volume (Easley, López de Prado, O'Hara 2012)",
             [period(20, min: 2)]) { TA.BulkVolume(period: $0.int("period")) },
    ]

    static let price: [FeatureKind] = [
        .series("log_return", .price, "ln(x / x₋₁)") { _ in LogReturnIndicator() },
        .multiBar("heikin_ashi", .price, "Heikin-Ashi candle (open, high, low, close)", [], outputs: ["open", "high", "low", "close"],
                  { _ in TA.HeikinAshi() }, write: { v, out in out[0] = v.open; out[1] = v.high; out[2] = v.low; out[3] = v.close }),
    ]
}
