// The built-in feature specs, as the JSON documents a user would write (`quorum features spec NAME` prints them,
// to copy and edit). Each is parsed like any spec file; a change here changes the spec's version (its hash).

enum BuiltInSpecs {
    /// The 13 features Quorum started with. Their values are those of the hard-coded engine they replaced.
    static let coreV1 = """
    {
      "name": "core-v1",
      "description": "The first 13 features: returns, EMAs and their ratio, RSI, MACD, Bollinger %b and width, ATR, return volatility.",
      "features": [
        {"kind": "log_return", "names": ["ret_1"]},
        {"kind": "ema", "period": 12},
        {"kind": "ema", "period": 26},
        {"kind": "ema_ratio", "fast": 12, "slow": 26},
        {"kind": "rsi", "period": 14},
        {"kind": "macd", "fast": 12, "slow": 26, "signal": 9, "names": ["macd", "macd_signal", "macd_hist"]},
        {"kind": "bollinger", "period": 20, "width": 2, "outputs": ["pctb", "width"], "names": ["bb_pctb_20", "bb_width_20"]},
        {"kind": "atr", "period": 14},
        {"kind": "atr_pct", "period": 14},
        {"kind": "volatility", "period": 20, "names": ["vol_20"]}
      ]
    }
    """

    /// TA-Lib's classic set, under the column names `quorum features compute --spec talib-parity` promises.
    static let talibParity = """
    {
      "name": "talib-parity",
      "description": "TA-Lib's classic indicators with TA-Lib's default seeding, for comparing with TA-Lib column by column.",
      "features": [
        {"kind": "sma", "period": 20},
        {"kind": "sma", "period": 50},
        {"kind": "ema", "period": 12},
        {"kind": "ema", "period": 26},
        {"kind": "rsi", "period": 14},
        {"kind": "macd", "fast": 12, "slow": 26, "signal": 9, "names": ["macd", "macd_signal", "macd_hist"]},
        {"kind": "bbands", "period": 20, "up": 2, "down": 2, "names": ["bb_upper", "bb_middle", "bb_lower"]},
        {"kind": "atr", "period": 14},
        {"kind": "cci", "period": 20},
        {"kind": "stoch", "fastk": 5, "slowk": 3, "slowd": 3, "names": ["stoch_k", "stoch_d"]},
        {"kind": "obv"},
        {"kind": "adx", "period": 14},
        {"kind": "plus_di", "period": 14},
        {"kind": "minus_di", "period": 14},
        {"kind": "log_return"},
        {"kind": "volatility", "period": 20}
      ]
    }
    """

    /// The default: mostly scale-free features (they mean the same at BTC's and LTC's prices) across every group,
    /// with trend, momentum and volatility also on 4h bars built in the stream. EMA 12/26 and ATR 14 are in price
    /// units because the default rule strategies (EMA crossover) and risk's ATR sizing read them.
    static let richV1 = """
    {
      "name": "rich-v1",
      "description": "The default spec: scale-free trend, momentum, volatility, volume, statistical, calendar and microstructure features, some also on 4h bars.",
      "features": [
        {"kind": "log_return"},
        {"kind": "roc", "period": 4},
        {"kind": "roc", "period": 16},
        {"kind": "roc", "period": 48},
        {"kind": "ema", "period": 12},
        {"kind": "ema", "period": 26},
        {"kind": "ema_ratio", "fast": 12, "slow": 26},
        {"kind": "ema_ratio", "fast": 50, "slow": 200},
        {"kind": "ppo", "fast": 12, "slow": 26, "ma": "ema"},
        {"kind": "supertrend", "period": 10, "factor": 3, "outputs": ["direction"]},
        {"kind": "adx", "period": 14},
        {"kind": "plus_di", "period": 14},
        {"kind": "minus_di", "period": 14},
        {"kind": "aroonosc", "period": 14},
        {"kind": "rsi", "period": 14},
        {"kind": "rsi", "period": 6},
        {"kind": "cmo", "period": 14},
        {"kind": "stoch", "names": ["stoch_k", "stoch_d"]},
        {"kind": "willr", "period": 14},
        {"kind": "cci", "period": 20},
        {"kind": "mfi", "period": 14},
        {"kind": "ultosc"},
        {"kind": "bop"},
        {"kind": "wavetrend", "outputs": ["wt1", "wt2"]},
        {"kind": "bollinger", "period": 20, "outputs": ["pctb", "width"]},
        {"kind": "atr", "period": 14},
        {"kind": "atr_pct", "period": 14},
        {"kind": "volatility", "period": 20},
        {"kind": "volatility", "period": 96},
        {"kind": "parkinson", "period": 20},
        {"kind": "garman_klass", "period": 20},
        {"kind": "rogers_satchell", "period": 20},
        {"kind": "yang_zhang", "period": 20},
        {"kind": "zscore", "period": 20},
        {"kind": "zscore", "period": 20, "source": "volume", "names": ["volume_zscore_20"]},
        {"kind": "moments", "period": 48, "outputs": ["skew", "kurt"]},
        {"kind": "autocorr", "period": 48, "lag": 1},
        {"kind": "perm_entropy", "period": 50, "order": 3},
        {"kind": "hurst", "period": 128},
        {"kind": "bars_since_move", "period": 100, "sigmas": 3},
        {"kind": "amihud", "period": 20},
        {"kind": "corwin_schultz", "period": 20},
        {"kind": "bulk_volume", "period": 20},
        {"kind": "calendar"},
        {"kind": "rsi", "period": 14, "timeframe": "4h"},
        {"kind": "ema_ratio", "fast": 12, "slow": 26, "timeframe": "4h"},
        {"kind": "adx", "period": 14, "timeframe": "4h"},
        {"kind": "volatility", "period": 20, "timeframe": "4h"}
      ]
    }
    """
}
