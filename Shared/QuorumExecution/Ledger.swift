import QuorumModel

/// Cash, positions and PnL built from fills only (exact).
///
/// Invariants (checked by tests): for every symbol, `position = Σ signed fill quantities`;
/// `cash = startingCash − Σ (signed quantity × price) − Σ fees`, with each product rounded half-even at 8 decimals
/// exactly as `Fixed *` does.
public struct Ledger: Sendable, Codable {
    /// One symbol's holding.
    public struct Position: Sendable, Hashable, Codable {
        /// Signed quantity (negative = short).
        public var quantity: Fixed = .zero
        /// Average entry price of the current quantity (0 when flat).
        public var averagePrice: Fixed = .zero

        public init(quantity: Fixed = .zero, averagePrice: Fixed = .zero) {
            self.quantity = quantity
            self.averagePrice = averagePrice
        }
    }

    public let startingCash: Fixed
    public private(set) var cash: Fixed
    public private(set) var positions: [Symbol: Position] = [:]
    /// Gross realized PnL (before fees) over all reducing fills.
    public private(set) var realizedPnL: Fixed = .zero
    public private(set) var fees: Fixed = .zero
    /// Gross realized PnL of each fill that reduced or closed a position, in order: the "trades" of `PerformanceStats`.
    public private(set) var closedTradePnLs: [Fixed] = []
    /// Every fill applied, in order.
    public private(set) var fills: [Fill] = []
    private var fillIDs: Set<String> = []

    public init(startingCash: Fixed) {
        self.startingCash = startingCash
        cash = startingCash
    }

    public func position(_ symbol: Symbol) -> Position { positions[symbol] ?? Position() }

    /// Applies a fill. Returns false (and changes nothing) when a fill with the same id was applied before.
    @discardableResult
    public mutating func apply(_ fill: Fill) -> Bool {
        guard fillIDs.insert(fill.fillID).inserted else { return false }
        fills.append(fill)
        let q = fill.signedQuantity
        cash -= q * fill.price
        cash -= fill.fee
        fees += fill.fee

        var p = positions[fill.symbol] ?? Position()
        if p.quantity.isZero || p.quantity.signum == q.signum {
            // Opening or adding: weighted average entry.
            let newQty = p.quantity + q
            p.averagePrice = (p.quantity.magnitude * p.averagePrice + q.magnitude * fill.price) / newQty.magnitude
            p.quantity = newQty
        } else {
            // Reducing, closing or flipping.
            let closed = min(q.magnitude, p.quantity.magnitude)
            let perUnit = p.quantity > .zero ? fill.price - p.averagePrice : p.averagePrice - fill.price
            let pnl = perUnit * closed
            realizedPnL += pnl
            closedTradePnLs.append(pnl)
            let newQty = p.quantity + q
            if newQty.isZero {
                p.averagePrice = .zero
            } else if newQty.signum != p.quantity.signum {
                p.averagePrice = fill.price // flipped: the remainder opened at this fill's price
            }
            p.quantity = newQty
        }
        positions[fill.symbol] = p
        return true
    }

    /// Cash plus every position valued at its mark; a position without a mark is valued at its average price.
    public func equity(marks: [Symbol: Fixed]) -> Fixed {
        var total = cash
        for (symbol, p) in positions where !p.quantity.isZero {
            total += p.quantity * (marks[symbol] ?? p.averagePrice)
        }
        return total
    }

    /// Unrealized PnL of all positions at the marks.
    public func unrealizedPnL(marks: [Symbol: Fixed]) -> Fixed {
        positions.reduce(Fixed.zero) { total, entry in
            let (symbol, p) = entry
            guard !p.quantity.isZero else { return total }
            return total + ((marks[symbol] ?? p.averagePrice) - p.averagePrice) * p.quantity
        }
    }
}
