// Volume indicators: OBV, AD, ADOSC.

extension TA {
    /// On-balance volume, TA-Lib `OBV`: starts at the first bar's volume, then adds the volume when the close rose,
    /// subtracts it when it fell, keeps it when equal. Lookback 0.
    public struct OBV: StreamingIndicator {
        private var previousClose: Double?
        private var obv = 0.0

        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            if let previousClose {
                // Selects, not branches: the direction of a close is a coin toss for the branch predictor.
                let up = bar.close > previousClose ? bar.volume : 0
                let down = bar.close < previousClose ? bar.volume : 0
                obv += up - down
            } else {
                obv = bar.volume
            }
            previousClose = bar.close
            return obv
        }
    }

    /// Chaikin accumulation/distribution line, TA-Lib `AD`: the running sum of ((c − l) − (h − c)) / (h − l)·volume
    /// over bars with h > l. Lookback 0.
    public struct AD: StreamingIndicator {
        private var ad = 0.0

        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let range = bar.high - bar.low
            if range > 0 { ad += (((bar.close - bar.low) - (bar.high - bar.close)) / range) * bar.volume }
            return ad
        }
    }

    /// Chaikin A/D oscillator, TA-Lib `ADOSC(fast, slow)`: EMA(fast) − EMA(slow) of the AD line, where — unlike
    /// TA-Lib's `EMA` — both averages start at the first bar's AD value (no mean seed) and use k = 2/(n + 1).
    /// Lookback max(fast, slow) − 1.
    public struct ADOSC: StreamingIndicator {
        private var ad = AD()
        private let fastK: Double
        private let slowK: Double
        private var fast = 0.0
        private var slow = 0.0
        private var bars = 0
        public let lookback: Int

        public init(fast: Int = 3, slow: Int = 10) {
            precondition(fast >= 2 && slow >= 2, "ADOSC periods must be at least 2")
            fastK = 2 / Double(fast + 1)
            slowK = 2 / Double(slow + 1)
            lookback = max(fast, slow) - 1
        }

        public mutating func update(_ bar: TA.Candle) -> Double? {
            let line = ad.update(bar)!
            if bars == 0 {
                fast = line
                slow = line
            } else {
                fast = fastK * line + (1 - fastK) * fast
                slow = slowK * line + (1 - slowK) * slow
            }
            bars += 1
            return bars > lookback ? fast - slow : nil
        }
    }
}
