import QuorumModel

/// A rule strategy: reads one bar's features and gives its opinion, or nil when a feature it needs is missing
/// (e.g. during warm-up). Rules are pure and stateless: the same snapshot always gives the same signal.
public protocol RuleStrategy: Sendable {
    /// Source name used in signals, reasons and `ConsensusConfig.weights`.
    var name: String { get }
    func evaluate(_ snapshot: FeatureSnapshot) -> SignalOut?
}

/// Trend following: long while the fast EMA is above the slow EMA, short while below.
///
/// Strength and confidence grow with the gap between the EMAs relative to the slow EMA:
/// `min(1, |fast − slow| / slow / saturationGap)`. With the default `saturationGap` of 0.01, a 1 % gap or more
/// is full confidence.
public struct EMACrossoverRule: RuleStrategy {
    public var name: String
    public var fastKey: String
    public var slowKey: String
    public var saturationGap: Double

    public init(name: String = "ema_cross", fastKey: String = "ema_12", slowKey: String = "ema_26", saturationGap: Double = 0.01) {
        self.name = name
        self.fastKey = fastKey
        self.slowKey = slowKey
        self.saturationGap = saturationGap
    }

    public func evaluate(_ snapshot: FeatureSnapshot) -> SignalOut? {
        guard let fast = snapshot.values[fastKey], let slow = snapshot.values[slowKey],
              fast.isFinite, slow.isFinite, slow != 0 else { return nil }
        let gap = abs(fast - slow) / abs(slow)
        let score = min(1, gap / saturationGap)
        let direction: Direction = fast > slow ? .long : fast < slow ? .short : .flat
        return SignalOut(source: name, symbol: snapshot.symbol, time: snapshot.time, direction: direction,
                         strength: score, confidence: score, detail: .comparison(fastKey, fast, slowKey, slow))
    }
}

/// Mean reversion on RSI: oversold (`rsi < lower`, default 30) → long; overbought (`rsi > upper`, default 70)
/// → short (in long-only mode consensus turns that into an exit); otherwise flat with zero confidence, which
/// abstains. Strength and confidence are the distance past the band over the band's room:
/// `(lower − rsi) / lower` or `(rsi − upper) / (100 − upper)`.
public struct RSIMeanReversionRule: RuleStrategy {
    public var name: String
    public var key: String
    public var lower: Double
    public var upper: Double

    public init(name: String = "rsi_revert", key: String = "rsi_14", lower: Double = 30, upper: Double = 70) {
        self.name = name
        self.key = key
        self.lower = lower
        self.upper = upper
    }

    public func evaluate(_ snapshot: FeatureSnapshot) -> SignalOut? {
        guard let rsi = snapshot.values[key], rsi.isFinite else { return nil }
        let direction: Direction
        let score: Double
        if rsi < lower {
            direction = .long
            score = min(1, (lower - rsi) / lower)
        } else if rsi > upper {
            direction = .short
            score = min(1, (rsi - upper) / (100 - upper))
        } else {
            direction = .flat
            score = 0
        }
        return SignalOut(source: name, symbol: snapshot.symbol, time: snapshot.time, direction: direction,
                         strength: score, confidence: score, detail: .bands(key, rsi, lower: lower, upper: upper))
    }
}
