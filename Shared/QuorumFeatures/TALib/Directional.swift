// Volatility and directional-movement indicators: TRANGE, ATR, NATR, PLUS_DI, MINUS_DI, ADX, ADXR, AROON,
// AROONOSC, SAR.

extension TA {
    /// True range, TA-Lib `TRANGE`: max(h − l, |c₋₁ − h|, |c₋₁ − l|); needs the previous close. Lookback 1.
    public struct TRANGE: StreamingIndicator {
        private var previousClose: Double?

        public init() {}
        public var lookback: Int { 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            defer { previousClose = bar.close }
            guard let previousClose else { return nil }
            return TA.trueRange(bar, previousClose: previousClose)
        }
    }

    static func trueRange(_ bar: TA.Candle, previousClose: Double) -> Double {
        var range = bar.high - bar.low
        let fromHigh = abs(previousClose - bar.high)
        if fromHigh > range { range = fromHigh }
        let fromLow = abs(previousClose - bar.low)
        if fromLow > range { range = fromLow }
        return range
    }

    /// Average true range, TA-Lib `ATR(n)`: the mean of the first n true ranges (bars 1…n), then Wilder's
    /// atr = (atr·(n − 1) + tr) / n. Lookback n.
    public struct ATR: StreamingIndicator {
        public let period: Int
        private var core: QuorumFeatures.ATR

        public init(period: Int = 14) {
            self.period = period
            core = QuorumFeatures.ATR(period: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            core.update(high: bar.high, low: bar.low, close: bar.close)
        }
    }

    /// Normalised ATR, TA-Lib `NATR(n)`: 100·ATR(n) / close, 0 when close ≈ 0. Lookback n.
    public struct NATR: StreamingIndicator {
        private var atr: ATR

        public init(period: Int = 14) { atr = ATR(period: period) }

        public var lookback: Int { atr.lookback }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let a = atr.update(bar) else { return nil }
            return TA.isZero(bar.close) ? 0 : (a / bar.close) * 100
        }
    }

    /// +DI and −DI of one bar.
    public struct DirectionalIndex: Sendable, Hashable {
        public var plus: Double
        public var minus: Double
    }

    /// Wilder's directional movement as TA-Lib computes it (n > 1): +DM = h − h₋₁ when that is positive and
    /// above l₋₁ − l (else 0), −DM likewise; the sums of the first n − 1 +DM, −DM and true ranges (bars 1…n − 1),
    /// then each bar s = s − s/n + x (Wilder, in sums); +DI = 100·s(+DM)/s(TR), −DI likewise, both 0 when
    /// s(TR) ≈ 0. The first DIs come at bar n.
    struct DirectionalMovement: Sendable, Codable {
        let period: Int
        /// The previous bar's high, low and close (`bars` counts the bars after the first).
        private var previousHigh = 0.0
        private var previousLow = 0.0
        private var previousClose = 0.0
        private var started = false
        private var plusDM = 0.0
        private var minusDM = 0.0
        private var range = 0.0
        private var bars = 0

        init(period: Int) {
            precondition(period >= 2, "directional movement needs a period of at least 2")
            self.period = period
        }

        /// The DIs, or nil before bar n; `sumRange` is the smoothed true range they divide by.
        mutating func update(_ bar: TA.Candle) -> (di: DirectionalIndex, smoothedRange: Double)? {
            let up = bar.high - previousHigh
            let down = previousLow - bar.low
            let tr = TA.trueRange(bar, previousClose: previousClose)
            previousHigh = bar.high
            previousLow = bar.low
            previousClose = bar.close
            guard started else {
                started = true
                return nil
            }
            bars += 1
            let plus = up > 0 && up > down ? up : 0
            let minus = down > 0 && down > up ? down : 0
            let n = Double(period)
            if bars >= period {
                plusDM -= plusDM / n
                minusDM -= minusDM / n
                range -= range / n
            }
            plusDM += plus
            minusDM += minus
            range += tr
            guard bars >= period else { return nil }
            let di = TA.isZero(range)
                ? DirectionalIndex(plus: 0, minus: 0)
                : DirectionalIndex(plus: 100 * (plusDM / range), minus: 100 * (minusDM / range))
            return (di, range)
        }
    }

    /// Plus directional indicator, TA-Lib `PLUS_DI(n)` (see `DirectionalMovement`). Lookback n.
    public struct PLUS_DI: StreamingIndicator {
        private var dm: DirectionalMovement

        public init(period: Int = 14) { dm = DirectionalMovement(period: period) }

        public var lookback: Int { dm.period }
        public mutating func update(_ bar: TA.Candle) -> Double? { dm.update(bar)?.di.plus }
    }

    /// Minus directional indicator, TA-Lib `MINUS_DI(n)` (see `DirectionalMovement`). Lookback n.
    public struct MINUS_DI: StreamingIndicator {
        private var dm: DirectionalMovement

        public init(period: Int = 14) { dm = DirectionalMovement(period: period) }

        public var lookback: Int { dm.period }
        public mutating func update(_ bar: TA.Candle) -> Double? { dm.update(bar)?.di.minus }
    }

    /// Average directional index, TA-Lib `ADX(n)`: DX = 100·|+DI − −DI| / (+DI + −DI) from bar n; the first ADX
    /// (bar 2n − 1) is the sum of the first n DX divided by n (a DX whose DI sum ≈ 0, or whose smoothed range ≈ 0,
    /// adds nothing), then adx = (adx·(n − 1) + dx) / n, skipped on bars where DX is undefined, as in TA-Lib.
    /// Lookback 2n − 1.
    public struct ADX: StreamingIndicator {
        private var dm: DirectionalMovement
        private var smoothing = ADXSmoothing()

        public init(period: Int = 14) { dm = DirectionalMovement(period: period) }

        public var lookback: Int { 2 * dm.period - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let (di, range) = dm.update(bar) else { return nil }
            return smoothing.update(di, smoothedRange: range, period: dm.period)
        }
    }

    /// ADX's part after the DIs (see `ADX`): the first n DX averaged, then Wilder's smoothing; nil before bar 2n − 1.
    struct ADXSmoothing: Sendable, Codable {
        private var dxSeen = 0
        private var adx = 0.0

        mutating func update(_ di: DirectionalIndex, smoothedRange range: Double, period: Int) -> Double? {
            let n = Double(period)
            let total = di.plus + di.minus
            let dx: Double? = TA.isZero(range) || TA.isZero(total) ? nil : 100 * (abs(di.minus - di.plus) / total)
            dxSeen += 1
            if dxSeen < period {
                adx += dx ?? 0
                return nil
            }
            if dxSeen == period {
                adx = (adx + (dx ?? 0)) / n
            } else if let dx {
                adx = (adx * (n - 1) + dx) / n
            }
            return adx
        }
    }

    /// Average directional movement rating, TA-Lib `ADXR(n)`: (ADXₜ + ADXₜ₋₍ₙ₋₁₎) / 2. Lookback 3n − 2.
    public struct ADXR: StreamingIndicator {
        private var adx: ADX
        private var history: Ring

        public init(period: Int = 14) {
            adx = ADX(period: period)
            history = Ring(capacity: period)
        }

        public var lookback: Int { adx.lookback + history.capacity - 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let a = adx.update(bar) else { return nil }
            history.push(a)
            return history.isFull ? (a + history[age: history.capacity - 1]) / 2 : nil
        }
    }

    /// Aroon down and up.
    public struct AroonValue: Sendable, Hashable {
        public var down: Double
        public var up: Double
    }

    /// Aroon, TA-Lib `AROON(n)`: over the last n + 1 bars, up = 100·(n − bars since the highest high) / n and
    /// down likewise with the lowest low (the newest bar wins ties). Lookback n.
    public struct AROON: StreamingIndicator {
        public let period: Int
        private var highest: RollingExtreme
        private var lowest: RollingExtreme

        public init(period: Int = 14) {
            precondition(period >= 2, "AROON period must be at least 2")
            self.period = period
            highest = RollingExtreme(window: period + 1, highest: true)
            lowest = RollingExtreme(window: period + 1, highest: false)
        }

        public var lookback: Int { period }

        /// The bar index and the indices of the highest high and lowest low in the window, once warm.
        mutating func extremes(_ bar: TA.Candle) -> (today: Int, high: Int, low: Int)? {
            let h = highest.push(bar.high).index, l = lowest.push(bar.low).index
            let today = highest.index
            return today >= period ? (today, h, l) : nil
        }

        public mutating func update(_ bar: TA.Candle) -> AroonValue? {
            guard let e = extremes(bar) else { return nil }
            let factor = 100.0 / Double(period), n = Double(period)
            return AroonValue(down: factor * (n - Double(e.today - e.low)), up: factor * (n - Double(e.today - e.high)))
        }
    }

    /// Aroon oscillator, TA-Lib `AROONOSC(n)`: Aroon up − Aroon down = 100·(index of the highest high − index of
    /// the lowest low) / n over the last n + 1 bars. Lookback n.
    public struct AROONOSC: StreamingIndicator {
        private var aroon: AROON

        public init(period: Int = 14) { aroon = AROON(period: period) }

        public var lookback: Int { aroon.lookback }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let e = aroon.extremes(bar) else { return nil }
            return 100.0 / Double(aroon.period) * Double(e.high - e.low)
        }
    }

    /// Parabolic SAR, TA-Lib `SAR(acceleration, maximum)`. Starts at bar 1: long unless bar 1's −DM is positive
    /// (l₀ − l₁ > 0 and above h₁ − h₀); the first SAR is l₀ (long) or h₀ (short), the extreme point h₁ or l₁, the
    /// factor `acceleration`. Each bar: on a penetration (low ≤ SAR when long, high ≥ SAR when short) the trend
    /// reverses, SAR becomes the extreme point (kept beyond this and the previous bar's range) and the factor
    /// resets; otherwise the extreme point and factor (+acceleration, at most `maximum`) advance. The SAR output is
    /// then moved by factor·(ep − SAR) for the next bar and kept outside this and the previous bar's range (TA-Lib
    /// takes bar 1 itself as the "previous" bar on the first step). Lookback 1.
    public struct SAR: StreamingIndicator {
        public let acceleration: Double
        public let maximum: Double
        private var previous: TA.Candle?
        private var started = false
        private var isLong = true
        private var sar = 0.0
        private var ep = 0.0
        private var af = 0.0

        public init(acceleration: Double = 0.02, maximum: Double = 0.2) {
            self.acceleration = acceleration
            self.maximum = maximum
        }

        public var lookback: Int { 1 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            guard let prior = previous else {
                previous = bar
                return nil
            }
            var prevHigh = prior.high, prevLow = prior.low
            if !started {
                started = true
                let up = bar.high - prior.high, down = prior.low - bar.low
                isLong = !(down > 0 && down > up)
                ep = isLong ? bar.high : bar.low
                sar = isLong ? prior.low : prior.high
                af = acceleration
                prevHigh = bar.high
                prevLow = bar.low
            }
            previous = bar
            let output: Double
            if isLong {
                if bar.low <= sar {
                    isLong = false
                    sar = max(ep, prevHigh, bar.high)
                    output = sar
                    af = acceleration
                    ep = bar.low
                    sar = max(sar + af * (ep - sar), prevHigh, bar.high)
                } else {
                    output = sar
                    if bar.high > ep {
                        ep = bar.high
                        af = min(af + acceleration, maximum)
                    }
                    sar = min(sar + af * (ep - sar), prevLow, bar.low)
                }
            } else {
                if bar.high >= sar {
                    isLong = true
                    sar = min(ep, prevLow, bar.low)
                    output = sar
                    af = acceleration
                    ep = bar.high
                    sar = min(sar + af * (ep - sar), prevLow, bar.low)
                } else {
                    output = sar
                    if bar.low < ep {
                        ep = bar.low
                        af = min(af + acceleration, maximum)
                    }
                    sar = max(sar + af * (ep - sar), prevHigh, bar.high)
                }
            }
            return output
        }
    }
}
