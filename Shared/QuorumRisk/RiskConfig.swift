import QuorumModel

/// Settings of the risk stage. Fractions are exact decimals (`Fixed("0.01")` = 1 %).
public struct RiskConfig: Sendable, Hashable {
    /// Hard ceiling on `riskPerTrade`: a larger configured value is clamped to this.
    public static let hardMaxRiskPerTrade = Fixed("0.02")!

    /// Cash at the start (quote currency). Default 100,000.
    public var startingEquity: Fixed
    /// Fraction of equity risked at the stop per entry. Default 0.01; clamped to `hardMaxRiskPerTrade`.
    public var riskPerTrade: Fixed
    /// Maximum sum of risk at stop over open and pending positions, as a fraction of equity. Default 0.06.
    public var maxPortfolioHeat: Fixed
    /// Maximum |position| × price per symbol (quote currency). Default 25,000.
    public var maxPositionNotional: Fixed
    /// Per-symbol overrides of `maxPositionNotional`.
    public var maxPositionNotionalBySymbol: [Symbol: Fixed]
    /// Stop distance = `stopATRMultiple × atr` when the decision carries a positive ATR. Default 2.
    public var stopATRMultiple: Double
    /// Stop distance = `fallbackStopFraction × price` when there is no ATR. Default 0.02.
    public var fallbackStopFraction: Fixed
    /// Optional volatility scaling: when `atr / price` exceeds this, the size is multiplied by
    /// `volatilityTarget / (atr / price)`. Default nil (sizing by ATR stop already shrinks size as volatility grows).
    public var volatilityTarget: Double?
    /// Loss from the start-of-day equity (UTC day of event time) that trips the kill switch. Default 0.03.
    public var dailyLossLimit: Fixed
    /// Quantity step; sizes are truncated to a multiple of it. Default 0.0001.
    public var lotSize: Fixed
    /// Short entries allowed (false for spot). Default false.
    public var allowShort: Bool
    /// How many recent decision and fill ids are remembered to drop redeliveries. Default 100,000. 0 remembers none: for a
    /// host that never delivers twice (a backtest in one process, whose `RiskSequencer` also drops a decision not later
    /// than its symbol's last).
    public var dedupeCapacity: Int
    /// Slippage and fee of a fill: keep equal to the exchange's (`PaperExchangeConfig.costs`). Default 5 and 10 bps.
    public var costs: TradingCosts
    /// Buying power prices a buy as if its fill bar opened this many basis points above the decision's reference
    /// price (the fill bar may open higher than the decided bar closed), plus `costs`. Default 100 (1 %).
    public var priceAllowanceBps: Fixed

    public init(startingEquity: Fixed = 100_000, riskPerTrade: Fixed = Fixed("0.01")!, maxPortfolioHeat: Fixed = Fixed("0.06")!,
                maxPositionNotional: Fixed = 25_000, maxPositionNotionalBySymbol: [Symbol: Fixed] = [:],
                stopATRMultiple: Double = 2, fallbackStopFraction: Fixed = Fixed("0.02")!, volatilityTarget: Double? = nil,
                dailyLossLimit: Fixed = Fixed("0.03")!, lotSize: Fixed = Fixed("0.0001")!, allowShort: Bool = false,
                dedupeCapacity: Int = 100_000, costs: TradingCosts = TradingCosts(), priceAllowanceBps: Fixed = 100) {
        precondition(lotSize > .zero, "RiskConfig.lotSize must be positive, got \(lotSize)")
        self.startingEquity = startingEquity
        self.riskPerTrade = riskPerTrade
        self.maxPortfolioHeat = maxPortfolioHeat
        self.maxPositionNotional = maxPositionNotional
        self.maxPositionNotionalBySymbol = maxPositionNotionalBySymbol
        self.stopATRMultiple = stopATRMultiple
        self.fallbackStopFraction = fallbackStopFraction
        self.volatilityTarget = volatilityTarget
        self.dailyLossLimit = dailyLossLimit
        self.lotSize = lotSize
        self.allowShort = allowShort
        self.dedupeCapacity = dedupeCapacity
        self.costs = costs
        self.priceAllowanceBps = priceAllowanceBps
    }

    /// `riskPerTrade` clamped to `0...hardMaxRiskPerTrade`.
    public var effectiveRiskPerTrade: Fixed { max(.zero, min(riskPerTrade, Self.hardMaxRiskPerTrade)) }

    public func maxPosition(for symbol: Symbol) -> Fixed { maxPositionNotionalBySymbol[symbol] ?? maxPositionNotional }

    /// The highest open the buying-power check assumes for a buy decided at `referencePrice`.
    public func worstOpen(referencePrice: Fixed) -> Fixed { referencePrice + referencePrice * priceAllowanceBps / 10_000 }
}
