/// What a fill costs beyond its notional: slippage and fee, in basis points.
///
/// One definition for the two places that must agree to the last unit: the paper exchange charges a fill with it,
/// and risk's buying-power check prices an order with it, so risk never approves a buy the exchange then rejects
/// for cash. Every step rounds like `Fixed` (half-to-even at 8 decimals), exactly as the ledger applies a fill.
public struct TradingCosts: Sendable, Hashable, Codable {
    /// Slippage against the trader: buys fill at `open × (1 + bps/10⁴)`, sells at `open × (1 − bps/10⁴)`. Default 5.
    public var slippageBps: Fixed
    /// Fee in basis points of the fill's notional (`quantity × fill price`). Default 10.
    public var feeBps: Fixed

    public init(slippageBps: Fixed = 5, feeBps: Fixed = 10) {
        self.slippageBps = slippageBps
        self.feeBps = feeBps
    }

    /// Fill price of `side` at a bar that opens at `open`, slippage against the trader.
    public func fillPrice(open: Fixed, side: Side) -> Fixed {
        let slip = open * slippageBps / 10_000
        return side == .buy ? open + slip : open - slip
    }

    /// Fee of a fill: `quantity × price × feeBps / 10⁴`.
    public func fee(quantity: Fixed, price: Fixed) -> Fixed {
        quantity * price * feeBps / 10_000
    }

    /// Cash a buy of `quantity` takes when it fills at a bar opening at `open`: `quantity × fill price + fee`, the
    /// amount the ledger subtracts. Never decreases when `open` or `quantity` grows, so the cost at an upper bound of
    /// the open bounds the cost at any lower open.
    public func buyCost(quantity: Fixed, open: Fixed) -> Fixed {
        let price = fillPrice(open: open, side: .buy)
        return quantity * price + fee(quantity: quantity, price: price)
    }
}
