// Popular indicators that TA-Lib lacks: VWAP (rolling and session), SuperTrend, Keltner and Donchian channels,
// Ichimoku, Hull MA, WaveTrend, Heikin-Ashi. Same shape as the TA-Lib ones (`StreamingIndicator`, nil during the
// warm-up of `lookback` bars); each doc comment cites the definition it follows. They are checked against
// independent batch implementations written from those definitions (scripts/gen_indicator_fixtures.py).

extension TA {
    /// Rolling volume-weighted average price over the last n bars: Σ(tp·v) / Σv with tp the typical price
    /// (h + l + c)/3 (TradingView's VWAP source `hlc3`; VWAP as defined by Berkowitz, Logue & Noser, "The Total Cost
    /// of Transactions on the NYSE", Journal of Finance 43(1), 1988). When no bar of the window traded any volume,
    /// the latest typical price. Lookback n − 1.
    public struct VWAP: StreamingIndicator {
        public let period: Int
        private var value: RollingSum
        private var volume: RollingSum
        /// Bars of the window with volume > 0 (an exact count: it decides "no volume" without rounding doubt).
        private var traded: RollingSum

        public init(period: Int = 20) {
            precondition(period >= 1, "VWAP period must be at least 1")
            self.period = period
            value = RollingSum(capacity: period)
            volume = value
            traded = value
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let tp = TA.typicalPrice(bar)
            value.push(tp * bar.volume)
            volume.push(bar.volume)
            traded.push(bar.volume > 0 ? 1 : 0)
            guard value.isFull else { return nil }
            return traded.sum > 0 ? value.sum / volume.sum : tp
        }
    }

    /// Session VWAP anchored at 00:00 UTC (TradingView's VWAP with anchor "Session", for a market that trades around
    /// the clock): Σ(tp·v) / Σv over the bars of the current UTC day, tp = (h + l + c)/3. A bar belongs to the day in
    /// which it traded, the day of `closeTime − 1 s`, so a bar closing at exactly 00:00 ends the old session and the
    /// next bar starts a new one. The latest typical price while the session has no volume yet. Needs
    /// `Candle.closeTime`. Lookback 0.
    public struct SessionVWAP: StreamingIndicator {
        private var day: Int64?
        private var value = 0.0
        private var volume = 0.0

        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let closeTime = bar.closeTime else { preconditionFailure("SessionVWAP needs bars with a closeTime") }
            let barDay = (closeTime - 1).floorDivided(by: 86_400)
            if barDay != day {
                day = barDay
                value = 0
                volume = 0
            }
            let tp = TA.typicalPrice(bar)
            value += tp * bar.volume
            volume += bar.volume
            return volume > 0 ? value / volume : tp
        }
    }

    /// SuperTrend's line and the trend it follows.
    public struct SuperTrendValue: Sendable, Hashable {
        /// The trailing line: the lower band in an uptrend, the upper band in a downtrend.
        public var value: Double
        /// +1 in an uptrend (close above the line), −1 in a downtrend (TradingView's `direction` has the opposite sign).
        public var direction: Double
    }

    /// SuperTrend (Olivier Seban), as TradingView's built-in `ta.supertrend(factor, atrPeriod)` defines it, with
    /// TA-Lib's ATR(n): with m = (h + l)/2, basic bands m ± factor·ATR; the final upper band takes the basic one when
    /// it is lower than the previous final upper band or the previous close was above that band, else keeps the
    /// previous one (the lower band mirrors this); on the first bar the final bands are the basic ones and the trend
    /// is down. The trend turns up when the close rises above the upper band (while the line was the upper band)
    /// and down when it falls below the lower band; the line is the lower band in an uptrend, the upper band in a
    /// downtrend. Lookback n (ATR's).
    public struct SuperTrend: StreamingIndicator {
        public let factor: Double
        private var atr: ATR
        private var previous: Final?
        /// The previous bar's final bands, close and trend.
        private struct Final: Sendable, Codable {
            var upper: Double
            var lower: Double
            var close: Double
            var up: Bool
        }

        public init(period: Int = 10, factor: Double = 3) {
            precondition(period >= 1, "SuperTrend period must be at least 1")
            precondition(factor > 0, "SuperTrend factor must be positive")
            self.factor = factor
            atr = ATR(period: period)
        }

        public var lookback: Int { atr.lookback }

        public mutating func update(_ bar: TA.Candle) -> SuperTrendValue? {
            guard let range = atr.update(bar) else { return nil }
            let middle = (bar.high + bar.low) / 2
            var upper = middle + factor * range, lower = middle - factor * range
            var up = false
            if let p = previous {
                if !(upper < p.upper || p.close > p.upper) { upper = p.upper }
                if !(lower > p.lower || p.close < p.lower) { lower = p.lower }
                up = p.up ? bar.close >= lower : bar.close > upper
            }
            previous = Final(upper: upper, lower: lower, close: bar.close, up: up)
            return SuperTrendValue(value: up ? lower : upper, direction: up ? 1 : -1)
        }
    }

    /// Keltner channels as StockCharts' ChartSchool defines them (Linda Raschke's version): middle = EMA(n) of the
    /// close (TA-Lib's mean-seeded `EMA`), upper/lower = middle ± multiplier·ATR(atrPeriod) (TA-Lib's `ATR`).
    /// Lookback max(n − 1, atrPeriod).
    public struct Keltner: StreamingIndicator {
        public let multiplier: Double
        private var middle: EMA
        private var atr: ATR

        public init(period: Int = 20, atrPeriod: Int = 10, multiplier: Double = 2) {
            precondition(period >= 1 && atrPeriod >= 1, "Keltner periods must be at least 1")
            self.multiplier = multiplier
            middle = EMA(period: period)
            atr = ATR(period: atrPeriod)
        }

        public var lookback: Int { max(middle.lookback, atr.lookback) }

        public mutating func update(_ bar: TA.Candle) -> Bands? {
            let m = middle.update(bar.close), range = atr.update(bar)
            guard let m, let range else { return nil }
            return Bands(upper: m + multiplier * range, middle: m, lower: m - multiplier * range)
        }
    }

    /// Donchian channels (Richard Donchian; TradingView's built-in "Donchian Channels"): upper = highest high and
    /// lower = lowest low of the last n bars including this one, middle = their mean. Lookback n − 1.
    public struct Donchian: StreamingIndicator {
        public let period: Int
        private var channel: HighLowWindow

        public init(period: Int = 20) {
            precondition(period >= 1, "Donchian period must be at least 1")
            self.period = period
            channel = HighLowWindow(period: period)
        }

        public var lookback: Int { period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Bands? {
            guard let c = channel.update(high: bar.high, low: bar.low) else { return nil }
            return Bands(upper: c.high, middle: (c.high + c.low) / 2, lower: c.low)
        }
    }

    /// Ichimoku's lines of one bar.
    public struct IchimokuValue: Sendable, Hashable {
        /// Tenkan-sen (conversion line).
        public var tenkan: Double
        /// Kijun-sen (base line).
        public var kijun: Double
        /// Senkou span A computed on this bar, (tenkan + kijun)/2: the cloud edge a chart draws `displacement` bars ahead.
        public var leadingA: Double
        /// Senkou span B computed on this bar: the other cloud edge drawn `displacement` bars ahead.
        public var leadingB: Double
        /// The cloud a chart shows at this bar: span A computed `displacement` bars ago.
        public var cloudA: Double
        /// Span B computed `displacement` bars ago.
        public var cloudB: Double
    }

    /// Ichimoku kinko hyo (Goichi Hosoda), lines as StockCharts' ChartSchool defines them: tenkan = (highest high +
    /// lowest low)/2 over `tenkan` bars (9), kijun the same over `kijun` bars (26), senkou A = (tenkan + kijun)/2 and
    /// senkou B = the midpoint over `senkouB` bars (52), both plotted `displacement` bars (26) ahead.
    ///
    /// Displacement without look-ahead: a chart draws the spans in the future, so nothing here shifts a value
    /// backwards. Each bar returns the spans it computes itself (`leadingA`, `leadingB`, known now and meant for a
    /// later bar) and the cloud that lies under this bar (`cloudA`, `cloudB`: the spans computed `displacement` bars
    /// ago). The chikou span (this close drawn `displacement` bars back) is left out: as of a bar it is just the close.
    /// Lookback max(tenkan, kijun, senkouB) − 1 + displacement (77 with the defaults).
    public struct Ichimoku: StreamingIndicator {
        public let displacement: Int
        private var tenkan: HighLowWindow
        private var kijun: HighLowWindow
        private var senkouB: HighLowWindow
        private var spansA: Ring
        private var spansB: Ring
        private let firstSpan: Int
        private var bars = 0

        public init(tenkan: Int = 9, kijun: Int = 26, senkouB: Int = 52, displacement: Int = 26) {
            precondition(tenkan >= 1 && kijun >= 1 && senkouB >= 1, "Ichimoku periods must be at least 1")
            precondition(displacement >= 0, "Ichimoku displacement cannot be negative")
            self.displacement = displacement
            self.tenkan = HighLowWindow(period: tenkan)
            self.kijun = HighLowWindow(period: kijun)
            self.senkouB = HighLowWindow(period: senkouB)
            spansA = Ring(capacity: displacement + 1)
            spansB = Ring(capacity: displacement + 1)
            firstSpan = max(tenkan, kijun, senkouB) - 1
        }

        public var lookback: Int { firstSpan + displacement }

        public mutating func update(_ bar: TA.Candle) -> IchimokuValue? {
            defer { bars += 1 }
            let t = tenkan.midpoint(bar), k = kijun.midpoint(bar), b = senkouB.midpoint(bar)
            guard bars >= firstSpan, let t, let k, let b else { return nil }
            let a = (t + k) / 2
            spansA.push(a)
            spansB.push(b)
            guard spansA.isFull else { return nil }
            return IchimokuValue(tenkan: t, kijun: k, leadingA: a, leadingB: b,
                                 cloudA: spansA[age: displacement], cloudB: spansB[age: displacement])
        }
    }

    /// Hull moving average (Alan Hull, 2005; TradingView's `ta.hma`): WMA(2·WMA(x, ⌊n/2⌋) − WMA(x, n), ⌊√n⌋), the
    /// inner difference formed once WMA(n) exists. Lookback (n − 1) + (⌊√n⌋ − 1).
    public struct HMA: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        private var half: WMA
        private var full: WMA
        private var smooth: WMA

        public init(period: Int = 20) {
            precondition(period >= 2, "HMA period must be at least 2")
            self.period = period
            half = WMA(period: period / 2)
            full = WMA(period: period)
            var root = Int(Double(period).squareRoot())
            while root * root > period { root -= 1 }
            while (root + 1) * (root + 1) <= period { root += 1 }
            smooth = WMA(period: root)
        }

        public var lookback: Int { full.lookback + smooth.lookback }

        public mutating func update(_ value: Double) -> Double? {
            let h = half.update(value), f = full.update(value)
            guard let h, let f else { return nil }
            return smooth.update(2 * h - f)
        }
    }

    /// WaveTrend's two lines.
    public struct WaveTrendValue: Sendable, Hashable {
        public var wt1: Double
        public var wt2: Double
    }

    /// WaveTrend oscillator, LazyBear's TradingView script "Indicator: WaveTrend Oscillator [WT]": with ap = (h + l +
    /// c)/3, esa = EMA(ap, channel), d = EMA(|ap − esa|, channel), ci = (ap − esa)/(0.015·d) (0 when d = 0),
    /// wt1 = EMA(ci, average), wt2 = SMA(wt1, signal). Pine's `ema` is seeded with the SMA of its first values, as
    /// TA-Lib's `EMA`; d starts with the first esa. Both lines are blank until wt2 exists.
    /// Lookback 2(channel − 1) + (average − 1) + (signal − 1).
    public struct WaveTrend: StreamingIndicator {
        private var esa: EMA
        private var deviation: EMA
        private var wt1: EMA
        private var wt2: SMA

        public init(channel: Int = 10, average: Int = 21, signal: Int = 4) {
            precondition(channel >= 1 && average >= 1 && signal >= 1, "WaveTrend periods must be at least 1")
            esa = EMA(period: channel)
            deviation = EMA(period: channel)
            wt1 = EMA(period: average)
            wt2 = SMA(period: signal)
        }

        public var lookback: Int { esa.lookback + deviation.lookback + wt1.lookback + wt2.lookback }

        public mutating func update(_ bar: TA.Candle) -> WaveTrendValue? {
            let ap = TA.typicalPrice(bar)
            guard let e = esa.update(ap), let d = deviation.update(abs(ap - e)) else { return nil }
            let ci = d == 0 ? 0 : (ap - e) / (0.015 * d)
            guard let w1 = wt1.update(ci), let w2 = wt2.update(w1) else { return nil }
            return WaveTrendValue(wt1: w1, wt2: w2)
        }
    }

    /// Heikin-Ashi bar (Munehisa Homma's candles as StockCharts' ChartSchool defines them): close = (o + h + l + c)/4,
    /// open = (previous HA open + previous HA close)/2 with (o + c)/2 on the first bar, high = max(h, HA open,
    /// HA close), low = min(l, HA open, HA close); the volume is the bar's. Lookback 0.
    public struct HeikinAshi: StreamingIndicator {
        private var previous: Candle?
        /// The previous Heikin-Ashi bar's open and close.
        private struct Candle: Sendable, Codable {
            var open: Double
            var close: Double
        }

        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> TA.Candle? {
            let close = (bar.open + bar.high + bar.low + bar.close) / 4
            let open = previous.map { ($0.open + $0.close) / 2 } ?? (bar.open + bar.close) / 2
            previous = Candle(open: open, close: close)
            return TA.Candle(open: open, high: max(bar.high, open, close), low: min(bar.low, open, close), close: close,
                             volume: bar.volume, closeTime: bar.closeTime)
        }
    }
}

extension Int64 {
    /// ⌊self / divisor⌋ for a positive divisor (Swift's `/` truncates towards zero).
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor < 0) ? q - 1 : q
    }
}
