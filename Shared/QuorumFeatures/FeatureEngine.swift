import QuorumModel

/// The features of one symbol at one bar's close.
///
/// Equality and hashing compare `values` bit for bit, so that two vectors with the same NaN placeholders
/// are equal: replay determinism is a bitwise property.
public struct FeatureVector: Sendable, Hashable, CustomStringConvertible {
    public var symbol: Symbol
    /// Close time of the bar (its event time).
    public var barCloseTime: Nanos
    /// `FeatureSpec.version` of the spec that produced it.
    public var specVersion: String
    /// One value per `FeatureSpec.names`; NaN where a feature is not yet defined (before warm-up).
    public var values: [Double]
    /// true when every value is defined (from bar `FeatureSpec.warmUpBars` on).
    public var isWarm: Bool
    /// The bar's close, exact.
    public var close: Fixed

    public init(symbol: Symbol, barCloseTime: Nanos, specVersion: String, values: [Double], isWarm: Bool, close: Fixed) {
        self.symbol = symbol
        self.barCloseTime = barCloseTime
        self.specVersion = specVersion
        self.values = values
        self.isWarm = isWarm
        self.close = close
    }

    public static func == (a: FeatureVector, b: FeatureVector) -> Bool {
        a.symbol == b.symbol && a.barCloseTime == b.barCloseTime && a.specVersion == b.specVersion
            && a.isWarm == b.isWarm && a.close == b.close && a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(symbol)
        hasher.combine(barCloseTime)
        hasher.combine(specVersion)
        hasher.combine(isWarm)
        hasher.combine(close)
        for v in values { hasher.combine(v.bitPattern) }
    }

    public var description: String {
        "\(symbol)@\(barCloseTime) \(specVersion)\(isWarm ? "" : " (warming)") \(values)"
    }
}

/// Computes a `FeatureSpec`'s features for one symbol, one bar at a time, in O(1) per bar.
///
/// The engine trusts its caller for order: it treats each bar as the one after the previous (a gap in the
/// data is simply bridged, as TA-Lib does on an array with missing rows). `FeaturesCore` drops bars that are
/// not newer than the last one.
public struct FeatureEngine: Sendable {
    public let symbol: Symbol
    public let spec: FeatureSpec
    /// Close time of the last bar taken, nil before the first.
    public private(set) var lastBarCloseTime: Nanos?
    /// Bars taken so far.
    public private(set) var barCount = 0

    private var logReturn = LogReturn()
    private var emaFast: EMA
    private var emaSlow: EMA
    private var rsi: RSI
    private var macd: MACD
    private var bollinger: Bollinger
    private var atr: ATR
    private var volatility: RollingVolatility

    public init(symbol: Symbol, spec: FeatureSpec = .coreV1) {
        self.symbol = symbol
        self.spec = spec
        emaFast = EMA(period: spec.emaFast)
        emaSlow = EMA(period: spec.emaSlow)
        rsi = RSI(period: spec.rsiPeriod)
        macd = MACD(fast: spec.macdFast, slow: spec.macdSlow, signal: spec.macdSignal)
        bollinger = Bollinger(period: spec.bollingerPeriod, width: spec.bollingerWidth)
        atr = ATR(period: spec.atrPeriod)
        volatility = RollingVolatility(period: spec.volatilityPeriod)
    }

    /// Values held in windows across all indicators; bounded by the spec's periods whatever the bar count.
    public var storedValueCount: Int {
        macd.storedValueCount + bollinger.storedValueCount + volatility.storedValueCount
    }

    /// Takes the next bar and returns its feature vector.
    public mutating func update(_ bar: Bar) -> FeatureVector {
        let close = bar.close.doubleValue
        let ret = logReturn.update(close: close)
        let fast = emaFast.update(close)
        let slow = emaSlow.update(close)
        let strength = rsi.update(close: close)
        let macdValue = macd.update(close: close)
        let bands = bollinger.update(close: close)
        let range = atr.update(high: bar.high.doubleValue, low: bar.low.doubleValue, close: close)
        let vol = volatility.update(close: close)

        var ratio: Double?
        if let fast, let slow { ratio = fast / slow - 1 }
        let optionals: [Double?] = [
            ret, fast, slow, ratio, strength,
            macdValue?.line, macdValue?.signal, macdValue?.histogram,
            bands?.percentB, bands?.bandwidth,
            range, range.map { $0 / close }, vol,
        ]
        barCount += 1
        lastBarCloseTime = bar.closeTime
        return FeatureVector(symbol: symbol, barCloseTime: bar.closeTime, specVersion: spec.version,
                             values: optionals.map { $0 ?? .nan }, isWarm: optionals.allSatisfy { $0 != nil },
                             close: bar.close)
    }
}
