/// Which features a vector holds, in which order, and how many bars they need.
///
/// The default, `FeatureSpec.coreV1` ("core-v1"), computes from each bar's close (and high/low for ATR):
///
/// | name | meaning | defined from bar |
/// |---|---|---|
/// | `ret_1` | ln(close / previous close) | 2 |
/// | `ema_12`, `ema_26` | EMA of close, price units (`EMA`) | 12, 26 |
/// | `ema_ratio_12_26` | ema_12 / ema_26 − 1 (scale-free trend) | 26 |
/// | `rsi_14` | RSI, 0…100 (`RSI`) | 15 |
/// | `macd`, `macd_signal`, `macd_hist` | MACD(12, 26, 9), price units (`MACD`) | 34 |
/// | `bb_pctb_20` | Bollinger %b, (close − lower) / (upper − lower) (`Bollinger`, 2σ) | 20 |
/// | `bb_width_20` | (upper − lower) / middle (scale-free) | 20 |
/// | `atr_14` | ATR, price units (`ATR`) | 15 |
/// | `atr_pct_14` | atr_14 / close (scale-free) | 15 |
/// | `vol_20` | sample std of the last 20 `ret_1` (`RollingVolatility`) | 21 |
///
/// Raw price-unit features (EMAs, MACD, ATR) are kept for rule strategies and for parity checks against
/// TA-Lib; models should prefer the scale-free ones (returns, ratios, %b, RSI), which mean the same thing at
/// BTC's and LTC's price levels. Changing any parameter must change `version`.
public struct FeatureSpec: Sendable, Hashable {
    /// Identifies the definition, e.g. "core-v1"; stored with every vector and every trained model.
    public var version: String
    public var emaFast: Int
    public var emaSlow: Int
    public var rsiPeriod: Int
    public var macdFast: Int
    public var macdSlow: Int
    public var macdSignal: Int
    public var bollingerPeriod: Int
    public var bollingerWidth: Double
    public var atrPeriod: Int
    public var volatilityPeriod: Int

    public init(version: String, emaFast: Int, emaSlow: Int, rsiPeriod: Int, macdFast: Int, macdSlow: Int,
                macdSignal: Int, bollingerPeriod: Int, bollingerWidth: Double, atrPeriod: Int, volatilityPeriod: Int) {
        self.version = version
        self.emaFast = emaFast
        self.emaSlow = emaSlow
        self.rsiPeriod = rsiPeriod
        self.macdFast = macdFast
        self.macdSlow = macdSlow
        self.macdSignal = macdSignal
        self.bollingerPeriod = bollingerPeriod
        self.bollingerWidth = bollingerWidth
        self.atrPeriod = atrPeriod
        self.volatilityPeriod = volatilityPeriod
    }

    /// The default feature set (see the table above).
    public static let coreV1 = FeatureSpec(
        version: "core-v1", emaFast: 12, emaSlow: 26, rsiPeriod: 14, macdFast: 12, macdSlow: 26, macdSignal: 9,
        bollingerPeriod: 20, bollingerWidth: 2, atrPeriod: 14, volatilityPeriod: 20)

    /// Feature names in vector order.
    public var names: [String] {
        [
            "ret_1", "ema_\(emaFast)", "ema_\(emaSlow)", "ema_ratio_\(emaFast)_\(emaSlow)", "rsi_\(rsiPeriod)",
            "macd", "macd_signal", "macd_hist", "bb_pctb_\(bollingerPeriod)", "bb_width_\(bollingerPeriod)",
            "atr_\(atrPeriod)", "atr_pct_\(atrPeriod)", "vol_\(volatilityPeriod)",
        ]
    }

    /// Bars needed until every feature is defined: the vector of this bar (1-based) is the first warm one.
    public var warmUpBars: Int {
        [2, emaFast, emaSlow, rsiPeriod + 1, macdSlow + macdSignal - 1, bollingerPeriod, atrPeriod + 1,
         volatilityPeriod + 1].max()!
    }
}
