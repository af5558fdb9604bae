import DequeModule
import QuorumModel

/// Settings of the paper exchange.
public struct PaperExchangeConfig: Sendable, Hashable {
    /// Starting cash (quote currency). Default 100,000.
    public var startingCash: Fixed
    /// Slippage in basis points, always against the trader: buys fill at `open × (1 + bps/10⁴)`, sells at
    /// `open × (1 − bps/10⁴)`. Default 5.
    public var slippageBps: Fixed
    /// Fee in basis points of the fill's notional (`quantity × fill price`). Default 10.
    public var feeBps: Fixed
    /// Volatility-scaled slippage on top of `slippageBps`: this fraction of the previous bar's range (high − low) of
    /// the symbol, against the trader (0.1 = a tenth of the last bar's range). Default 0. Risk's buying-power check does
    /// not see it (its `priceAllowanceBps` is the headroom); a buy it leaves without cash is rejected at the fill.
    public var rangeSlippage: Fixed
    /// Spot (false, default): a sell beyond the position and a buy beyond the cash are rejected.
    public var allowShort: Bool
    /// Bars an order waits beyond the next one before it fills (0: the next bar's open, the default; 1: the open of the
    /// bar after, as a stress scenario of `quorum backtest --stress`).
    public var fillDelayBars: Int = 0
    /// Bars remembered per symbol so that an order arriving after its fill bar still fills at that bar (the cluster
    /// delivers bars and orders on different topics, in any relative order). Default 50,000 (~3 years of 30-minute bars).
    public var barMemory: Int

    public init(startingCash: Fixed = 100_000, slippageBps: Fixed = 5, feeBps: Fixed = 10, allowShort: Bool = false,
                barMemory: Int = 50_000, rangeSlippage: Fixed = .zero) {
        self.barMemory = max(1, barMemory)
        self.rangeSlippage = rangeSlippage
        self.startingCash = startingCash
        self.slippageBps = slippageBps
        self.feeBps = feeBps
        self.allowShort = allowShort
    }

    /// Slippage and fee as the shared cost function (risk prices its buying-power check with the same one).
    public var costs: TradingCosts { TradingCosts(slippageBps: slippageBps, feeBps: feeBps) }
}

/// What the paper exchange receives.
public enum ExecutionEvent: Sendable, Hashable {
    case submit(PaperOrder)
    /// A bar (its open fills waiting orders; its close becomes the mark).
    case bar(Bar)
    case cancel(clientOrderID: String, time: Nanos)
}

/// What the paper exchange asks its host to publish.
public enum ExecutionAction: Sendable, Hashable {
    case report(ExecutionReport)
    /// A cancel that could not be applied (unknown order, or already final); the order is unchanged.
    case cancelRejected(clientOrderID: String, reason: String, time: Nanos)
}

/// A paper-trading exchange core: accepts orders at once, fills them at the next bar's open with slippage and fees,
/// keeps a `Ledger`. Deterministic: the same events give the same reports, ids included.
public struct PaperExchange: Sendable {
    /// One order's current state.
    public struct OrderRecord: Sendable, Hashable, Codable {
        public var order: PaperOrder
        public private(set) var status: OrderStatus

        /// Moves to `next` when legal; returns false (and stays put) otherwise. The only way to change a status.
        mutating func transition(to next: OrderStatus) -> Bool {
            guard status.canTransition(to: next) else { return false }
            status = next
            return true
        }

        init(order: PaperOrder) {
            self.order = order
            status = .new
        }
    }

    public let config: PaperExchangeConfig
    public private(set) var ledger: Ledger
    /// Last bar close per symbol (the close of its last remembered bar).
    public var marks: [Symbol: Fixed] { recentBars.compactMapValues { $0.bars.last?.close } }
    public private(set) var orders: [String: OrderRecord] = [:]
    /// Accepted, unfilled order ids in submission order (fills are processed in this order).
    private var working: [String] = []
    /// Recent bars per symbol, oldest first (at most `config.barMemory`).
    private var recentBars: [Symbol: RecentBars] = [:]

    /// A symbol's recent bars, oldest first: between `memory` and `memory + 1024` of them (the oldest go in chunks).
    struct RecentBars: Sendable, Codable {
        var bars: Deque<Bar> = []

        /// Appends a bar newer than the last one; false for a bar not newer (a redelivery or out of order).
        mutating func remember(_ bar: Bar, memory: Int) -> Bool {
            if let last = bars.last, bar.openTime <= last.openTime { return false }
            bars.append(bar)
            if bars.count > memory + 1024 { bars.removeFirst(bars.count - memory) }
            return true
        }
    }

    /// The exchange's whole state (its configuration is not part of it): a checkpoint's content.
    public struct Memory: Sendable, Codable {
        var ledger: Ledger
        var orders: [String: OrderRecord]
        var working: [String]
        var recentBars: [Symbol: RecentBars]
    }

    public var memory: Memory {
        get { Memory(ledger: ledger, orders: orders, working: working, recentBars: recentBars) }
        set { (ledger, orders, working, recentBars) = (newValue.ledger, newValue.orders, newValue.working, newValue.recentBars) }
    }

    public init(config: PaperExchangeConfig = PaperExchangeConfig()) {
        self.config = config
        ledger = Ledger(startingCash: config.startingCash)
    }

    public var equity: Fixed { ledger.equity(marks: marks) }

    public func status(of clientOrderID: String) -> OrderStatus? { orders[clientOrderID]?.status }

    public mutating func handle(_ event: ExecutionEvent) -> [ExecutionAction] {
        switch event {
        case .submit(let order): submit(order)
        case .bar(let bar): onBar(bar)
        case .cancel(let id, let time): cancel(id, time: time)
        }
    }

    private func report(_ r: OrderRecord, time: Nanos, fill: Fill? = nil, reason: String? = nil) -> ExecutionAction {
        .report(ExecutionReport(clientOrderID: r.order.clientOrderID, symbol: r.order.symbol, side: r.order.side,
                                quantity: r.order.quantity, status: r.status, time: time, fill: fill, reason: reason))
    }

    /// Quantity of accepted sells not yet filled for a symbol (reserved against the position).
    private func reservedSells(_ symbol: Symbol) -> Fixed {
        working.reduce(Fixed.zero) { total, id in
            guard let r = orders[id], r.order.symbol == symbol, r.order.side == .sell else { return total }
            return total + r.order.quantity
        }
    }

    private mutating func submit(_ order: PaperOrder) -> [ExecutionAction] {
        guard orders[order.clientOrderID] == nil else { return [] } // redelivery: the order exists already
        var record = OrderRecord(order: order)
        var actions = [report(record, time: order.time)]
        var rejection: String?
        if order.quantity <= .zero {
            rejection = "quantity \(order.quantity) must be positive"
        } else if order.side == .sell && !config.allowShort {
            // Working buys count: they fill at a bar no later than this sell's, so the position will be there.
            let free = ledger.position(order.symbol).quantity + workingBuys(order.symbol) - reservedSells(order.symbol)
            if order.quantity > free {
                rejection = "sell \(order.quantity) \(order.symbol) exceeds the free position \(free) (spot: no shorting)"
            }
        }
        if let rejection {
            _ = record.transition(to: .rejected)
            actions.append(report(record, time: order.time, reason: rejection))
        } else {
            _ = record.transition(to: .accepted)
            actions.append(report(record, time: order.time))
            // Its fill bar may have arrived already: fill at the first remembered bar opening at or after the order.
            if let bar = firstFillBar(for: order) {
                actions.append(fill(&record, at: bar))
            } else {
                working.append(order.clientOrderID)
            }
        }
        orders[order.clientOrderID] = record
        return actions
    }

    /// The first remembered bar of the order's symbol it fills at, if any. The bars are in open-time order and `fills` is
    /// true from some bar on, so a binary search finds it.
    private func firstFillBar(for order: PaperOrder) -> Bar? {
        guard let bars = recentBars[order.symbol]?.bars else { return nil }
        var lo = bars.startIndex, hi = bars.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if fills(order, at: bars[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo < bars.endIndex ? bars[lo] : nil
    }

    /// Quantity of accepted buys not yet filled for a symbol.
    private func workingBuys(_ symbol: Symbol) -> Fixed {
        working.reduce(Fixed.zero) { total, id in
            guard let r = orders[id], r.order.symbol == symbol, r.order.side == .buy else { return total }
            return total + r.order.quantity
        }
    }

    private mutating func cancel(_ id: String, time: Nanos) -> [ExecutionAction] {
        guard var record = orders[id] else {
            return [.cancelRejected(clientOrderID: id, reason: "unknown client order id \(id)", time: time)]
        }
        guard record.transition(to: .cancelled) else {
            return [.cancelRejected(clientOrderID: id, reason: "order \(id) is \(record.status.rawValue); only ACCEPTED orders can be cancelled", time: time)]
        }
        orders[id] = record
        working.removeAll { $0 == id }
        return [report(record, time: time, reason: "cancelled on request")]
    }

    /// Fill price for a side at a bar open, slippage against the trader (`TradingCosts.fillPrice`).
    public func fillPrice(open: Fixed, side: Side) -> Fixed { config.costs.fillPrice(open: open, side: side) }

    /// Fee for a fill: `quantity × price × feeBps / 10⁴` (`TradingCosts.fee`).
    public func fee(quantity: Fixed, price: Fixed) -> Fixed { config.costs.fee(quantity: quantity, price: price) }

    private mutating func onBar(_ bar: Bar) -> [ExecutionAction] {
        // A bar not newer than the last one of its symbol is a redelivery (or out of order): nothing to do.
        guard recentBars[bar.symbol, default: RecentBars()].remember(bar, memory: config.barMemory) else { return [] }

        var actions: [ExecutionAction] = []
        var stillWorking: [String] = []
        for id in working {
            guard var record = orders[id] else { continue }
            guard record.order.symbol == bar.symbol, fills(record.order, at: bar) else {
                stillWorking.append(id)
                continue
            }
            actions.append(fill(&record, at: bar))
            orders[id] = record
        }
        working = stillWorking
        return actions
    }

    /// Whether `bar` is the order's fill bar or later: it opens at or after the order's time, plus `fillDelayBars` intervals.
    private func fills(_ order: PaperOrder, at bar: Bar) -> Bool {
        bar.openTime >= order.time + Int64(config.fillDelayBars) * bar.intervalSeconds * 1_000_000_000
    }

    /// High − low of the symbol's bar before `bar` (nil for its first bar).
    private func previousRange(before bar: Bar) -> Fixed? {
        guard let bars = recentBars[bar.symbol]?.bars else { return nil }
        for candidate in bars.reversed() where candidate.openTime < bar.openTime { return candidate.high - candidate.low }
        return nil
    }

    /// Fills an accepted order at `bar`'s open (or rejects it when spot cash or position do not allow it).
    private mutating func fill(_ record: inout OrderRecord, at bar: Bar) -> ExecutionAction {
        let order = record.order
        let id = order.clientOrderID
        var price = fillPrice(open: bar.open, side: order.side)
        if !config.rangeSlippage.isZero, let range = previousRange(before: bar) {
            let slip = range * config.rangeSlippage
            price = order.side == .buy ? price + slip : max(.zero, price - slip)
        }
        let fee = fee(quantity: order.quantity, price: price)
        var rejection: String?
        if !config.allowShort {
            if order.side == .buy {
                let cost = order.quantity * price + fee
                if cost > ledger.cash {
                    rejection = "buy \(order.quantity) \(order.symbol) costs \(cost) with fees but cash is \(ledger.cash)"
                }
            } else if order.quantity > ledger.position(order.symbol).quantity {
                rejection = "sell \(order.quantity) \(order.symbol) exceeds the position \(ledger.position(order.symbol).quantity)"
            }
        }
        if let rejection {
            _ = record.transition(to: .rejected)
            return report(record, time: bar.openTime, reason: rejection)
        }
        let fill = Fill(fillID: "\(id)-f1", clientOrderID: id, symbol: order.symbol, side: order.side,
                        quantity: order.quantity, price: price, fee: fee, time: bar.openTime)
        ledger.apply(fill)
        _ = record.transition(to: .filled)
        return report(record, time: bar.openTime, fill: fill)
    }
}
