import QuorumModel

/// What the risk core receives.
public enum RiskEvent: Sendable, Hashable, Codable {
    case decision(RiskDecision)
    case fill(FillReport)
    /// A bar close (or other mark) for PnL and the daily loss check.
    case mark(symbol: Symbol, price: Fixed, time: Nanos)
    /// Manual kill switch from the control topic or CLI.
    case killSwitch(on: Bool, reason: String, time: Nanos)
    /// An approved order ended without (completely) filling (rejected or cancelled): its pending remainder no
    /// longer counts toward exposure.
    case orderClosed(clientOrderID: String, time: Nanos)
}

/// State of the kill switch after a change.
public struct KillSwitchStatus: Sendable, Hashable {
    /// Manual or daily-loss switch on: risk-increasing orders are denied.
    public var active: Bool
    public var manual: Bool
    public var dailyLoss: Bool
    public var reason: String
    public var time: Nanos
}

/// What the risk core asks its host to publish.
public enum RiskAction: Sendable, Hashable {
    case approve(OrderIntent)
    case deny(OrderDenial)
    /// The kill switch changed (publish on `control`, alert).
    case killSwitchChanged(KillSwitchStatus)
}

/// The risk stage core: sizes entries, enforces limits, always lets exits through, tracks positions from fills.
///
/// Sizing of an entry: `stop distance = stopATRMultiple × atr` (or `fallbackStopFraction × price`);
/// `quantity = equity × riskPerTrade / stop distance` (× volatility scale), truncated to the lot size, then capped
/// so that the symbol's notional stays ≤ its maximum and the portfolio heat stays ≤ `maxPortfolioHeat`.
/// Heat = Σ over symbols of |position + pending approved quantity| × that symbol's stop distance, over equity.
/// Equity = cash + Σ position × last mark (the last fill price while a symbol has no mark yet).
/// On a spot account a buy is then capped by buying power: cash minus what pending buys may still cost, priced with
/// the exchange's own cost function (`TradingCosts.buyCost`) at an open `priceAllowanceBps` above the reference
/// price. Sells' proceeds count only once filled. So every approved buy is payable when it fills, as long as its fill
/// bar opens within the allowance (a property test keeps this true).
///
/// Decisions: hold → nothing. Target equal to the current exposure's direction → nothing (no pyramiding).
/// Otherwise an exit leg (close the opposite exposure; always approved, even with the kill switch on) and,
/// for a long/short target, an entry leg (approved or denied with the reason).
public struct RiskCore: Sendable {
    public let config: RiskConfig

    public private(set) var cash: Fixed
    /// Position per symbol that has had a fill.
    public var positions: [Symbol: Fixed] { book.dictionary(\.position) }
    /// Last mark per symbol (the first fill's price until a mark comes).
    public var marks: [Symbol: Fixed] { book.dictionary(\.mark) }
    /// Per-unit stop distance of the current exposure per symbol (set when an entry is approved).
    public var stopDistances: [Symbol: Fixed] { book.dictionary(\.stop) }
    /// The three per-symbol values above, kept in one small table (each decision reads and writes them).
    private var book = SymbolBook()
    public private(set) var manualKill = false
    public private(set) var dailyLossKill = false
    /// Equity at the first event of the current UTC day.
    public private(set) var startOfDayEquity: Fixed
    public private(set) var currentDay: Int64?

    struct Pending: Sendable, Codable {
        var symbol: Symbol
        /// Signed quantity not yet filled.
        var remaining: Fixed
        /// Highest open the buying-power check assumed for it (`RiskConfig.worstOpen`).
        var worstOpen: Fixed
    }
    private var pending: [String: Pending] = [:]
    private var seenDecisions: RecentIDs<CompactID>
    private var seenFills: RecentIDs<String>

    /// Everything the core has seen (its configuration is not part of it): a checkpoint's content.
    public struct Memory: Sendable, Codable {
        var cash: Fixed
        var positions: [Symbol: Fixed]
        var marks: [Symbol: Fixed]
        var stopDistances: [Symbol: Fixed]
        var manualKill: Bool
        var dailyLossKill: Bool
        var startOfDayEquity: Fixed
        var currentDay: Int64?
        var pending: [String: Pending]
        var seenDecisions: [String]
        var seenFills: [String]
    }

    public var memory: Memory {
        get {
            Memory(cash: cash, positions: positions, marks: marks, stopDistances: stopDistances, manualKill: manualKill,
                   dailyLossKill: dailyLossKill, startOfDayEquity: startOfDayEquity, currentDay: currentDay, pending: pending,
                   seenDecisions: seenDecisions.ids.map(\.text), seenFills: seenFills.ids)
        }
        set {
            cash = newValue.cash
            book = SymbolBook(positions: newValue.positions, marks: newValue.marks, stops: newValue.stopDistances)
            (manualKill, dailyLossKill) = (newValue.manualKill, newValue.dailyLossKill)
            (startOfDayEquity, currentDay, pending) = (newValue.startOfDayEquity, newValue.currentDay, newValue.pending)
            seenDecisions = RecentIDs(capacity: config.dedupeCapacity, ids: newValue.seenDecisions.map { CompactID($0) })
            seenFills = RecentIDs(capacity: config.dedupeCapacity, ids: newValue.seenFills)
        }
    }

    public init(config: RiskConfig = RiskConfig()) {
        self.config = config
        cash = config.startingEquity
        startOfDayEquity = config.startingEquity
        seenDecisions = RecentIDs(capacity: config.dedupeCapacity)
        seenFills = RecentIDs(capacity: config.dedupeCapacity)
    }

    // MARK: Derived state

    public var killSwitchActive: Bool { manualKill || dailyLossKill }

    /// Cash plus positions at their marks.
    public var equity: Fixed {
        var total = cash
        for entry in book.entries {
            guard let qty = entry.position, !qty.isZero else { continue }
            total += qty * (entry.mark ?? .zero)
        }
        return total
    }

    /// Signed pending (approved, unfilled) quantity for a symbol.
    public func pendingQuantity(_ symbol: Symbol) -> Fixed {
        pending.values.reduce(Fixed.zero) { $0 + ($1.symbol == symbol ? $1.remaining : .zero) }
    }

    /// Position plus pending quantity: what the symbol's position will be once every approved order fills.
    public func exposure(_ symbol: Symbol) -> Fixed { (book.find(symbol).flatMap { book.entries[$0].position } ?? .zero) + pendingQuantity(symbol) }

    /// Cash that pending (approved, unfilled) buys may still take, each priced at its assumed worst open.
    public var reservedCash: Fixed {
        pending.values.reduce(Fixed.zero) { total, p in
            p.remaining > .zero ? total + config.costs.buyCost(quantity: p.remaining, open: p.worstOpen) : total
        }
    }

    /// Cash minus `reservedCash`: what a new buy may spend.
    public var buyingPower: Fixed { cash - reservedCash }

    /// Σ |exposure| × stop distance over all symbols (quote currency).
    public var openRisk: Fixed {
        var symbols = Set(book.entries.compactMap { $0.position == nil ? nil : $0.symbol })
        for p in pending.values { symbols.insert(p.symbol) }
        return symbols.reduce(Fixed.zero) { total, symbol in
            let entry = book.find(symbol).map { book.entries[$0] }
            let stop = entry?.stop ?? fallbackStop(price: entry?.mark ?? .zero)
            return total + exposure(symbol).magnitude * stop
        }
    }

    // MARK: Events

    /// Feeds one event; `time` comes from the event (event time), never from a clock.
    public mutating func handle(_ event: RiskEvent) -> [RiskAction] {
        var actions = rollDay(to: eventTime(event))
        switch event {
        case .decision(let d):
            actions += onDecision(d)
        case .fill(let f):
            actions += onFill(f)
        case .mark(let symbol, let price, let time):
            book.entries[book.slot(symbol)].mark = price
            actions += checkDailyLoss(time: time)
        case .killSwitch(let on, let reason, let time):
            if manualKill != on {
                manualKill = on
                actions.append(.killSwitchChanged(status(reason: "manual: \(reason)", time: time)))
            }
        case .orderClosed(let id, _):
            pending[id] = nil
        }
        return actions
    }

    private func eventTime(_ event: RiskEvent) -> Nanos {
        switch event {
        case .decision(let d): d.time
        case .fill(let f): f.time
        case .mark(_, _, let t), .killSwitch(_, _, let t), .orderClosed(_, let t): t
        }
    }

    private func status(reason: String, time: Nanos) -> KillSwitchStatus {
        KillSwitchStatus(active: killSwitchActive, manual: manualKill, dailyLoss: dailyLossKill, reason: reason, time: time)
    }

    /// UTC day number of an event time (floor division, so times before 1970 work too).
    public static func utcDay(_ time: Nanos) -> Int64 {
        let day: Int64 = 86_400 * 1_000_000_000
        return time >= 0 ? time / day : -((-time + day - 1) / day)
    }

    private mutating func rollDay(to time: Nanos) -> [RiskAction] {
        let day = Self.utcDay(time)
        guard let current = currentDay else {
            currentDay = day
            startOfDayEquity = equity
            return []
        }
        guard day > current else { return [] }
        currentDay = day
        startOfDayEquity = equity
        guard dailyLossKill else { return [] }
        dailyLossKill = false
        return [.killSwitchChanged(status(reason: "daily loss switch reset: new UTC day \(day)", time: time))]
    }

    private mutating func checkDailyLoss(time: Nanos) -> [RiskAction] {
        guard !dailyLossKill, startOfDayEquity > .zero else { return [] }
        let floor = startOfDayEquity - startOfDayEquity * config.dailyLossLimit
        let now = equity
        guard now <= floor else { return [] }
        dailyLossKill = true
        return [.killSwitchChanged(status(
            reason: "daily loss limit: equity \(now) ≤ \(floor) (start of day \(startOfDayEquity) − \(config.dailyLossLimit)); "
                + "risk-increasing orders denied until the next UTC day", time: time))]
    }

    private mutating func onFill(_ f: FillReport) -> [RiskAction] {
        guard seenFills.insert(f.fillID) else { return [] }
        let signed = f.side == .buy ? f.quantity : -f.quantity
        let slot = book.slot(f.symbol)
        book.entries[slot].position = (book.entries[slot].position ?? .zero) + signed
        cash -= signed * f.price + f.fee
        if book.entries[slot].mark == nil { book.entries[slot].mark = f.price }
        if var p = pending[f.clientOrderID] {
            p.remaining -= signed
            // Done when the remainder reached zero or crossed it (an over-fill never leaves phantom exposure).
            pending[f.clientOrderID] = p.remaining.isZero || p.remaining.signum == signed.signum ? nil : p
        }
        return checkDailyLoss(time: f.time)
    }

    private func fallbackStop(price: Fixed) -> Fixed { price * config.fallbackStopFraction }

    private func orderID(_ decisionID: String, leg: String) -> String {
        "q-" + StableHash.hex(decisionID + "/" + leg)
    }

    private mutating func onDecision(_ d: RiskDecision) -> [RiskAction] {
        guard let target = d.target else { return [] }
        guard seenDecisions.insert(d.key) else { return [] }

        var actions: [RiskAction] = []
        let current = exposure(d.symbol)
        let wanted = target == .long ? 1 : target == .short ? -1 : 0
        if current.signum == wanted { return [] }

        // Exit leg: close whatever points the other way (or anything, for a flat target).
        if !current.isZero {
            let intent = OrderIntent(
                clientOrderID: orderID(d.id, leg: "exit"), decisionID: d.id, symbol: d.symbol,
                side: current > .zero ? .sell : .buy, quantity: current.magnitude, referencePrice: d.referencePrice,
                stopPrice: d.referencePrice, riskAmount: .zero, isExit: true, time: d.time,
                checks: [RiskCheckResult(code: .exitAllowed, passed: true, limit: .zero, observed: current.magnitude,
                                         detail: "reduces \(d.symbol) exposure \(current) to 0; exits are always allowed")])
            pending[intent.clientOrderID] = Pending(symbol: d.symbol, remaining: current > .zero ? -current.magnitude : current.magnitude,
                                                    worstOpen: config.worstOpen(referencePrice: d.referencePrice))
            actions.append(.approve(intent))
        }
        if wanted != 0 {
            actions.append(entry(d, side: wanted > 0 ? .buy : .sell))
        }
        return actions
    }

    /// Sizes and checks an entry leg; on approval records it as pending.
    private mutating func entry(_ d: RiskDecision, side: Side) -> RiskAction {
        let id = orderID(d.id, leg: "entry")
        func deny(_ code: RiskCode, _ text: String, limit: Fixed, observed: Fixed) -> RiskAction {
            .deny(OrderDenial(clientOrderID: id, decisionID: d.id, symbol: d.symbol, reason: code, text: text,
                              limit: limit, observed: observed, time: d.time))
        }
        let price = d.referencePrice
        let equityNow = equity

        if side == .sell && !config.allowShort {
            return deny(.shortingDisabled, "short entry in \(d.symbol) denied: shorting is disabled (spot); set allowShort for margin accounts",
                        limit: .zero, observed: .zero)
        }
        if manualKill {
            return deny(.killSwitch, "kill switch is on (manual); only exits pass until it is turned off", limit: .zero, observed: .one)
        }
        if dailyLossKill {
            let floor = startOfDayEquity - startOfDayEquity * config.dailyLossLimit
            return deny(.dailyLossLimit, "daily loss limit reached: equity \(equityNow) ≤ \(floor); entries resume on the next UTC day",
                        limit: floor, observed: equityNow)
        }
        guard equityNow > .zero, price > .zero else {
            return deny(.invalidInput, "cannot size \(d.symbol): equity \(equityNow) and reference price \(price) must be positive",
                        limit: .zero, observed: min(equityNow, price))
        }
        var stop = fallbackStop(price: price)
        if let atr = d.atr, atr.isFinite, atr > 0 {
            stop = Fixed(approximating: config.stopATRMultiple * atr)
        }
        guard stop > .zero else {
            return deny(.invalidInput, "stop distance for \(d.symbol) is \(stop); check atr \(d.atr.map { "\($0)" } ?? "nil") and stop settings",
                        limit: .zero, observed: stop)
        }

        var checks: [RiskCheckResult] = []
        let lot = config.lotSize
        // 1. Risk per trade.
        let budget = equityNow * config.effectiveRiskPerTrade
        var qty = budget / stop
        if let target = config.volatilityTarget, let atr = d.atr, atr > 0 {
            let relative = atr / price.doubleValue
            if relative > target { qty = qty * Fixed(approximating: target / relative) }
        }
        qty = qty.truncated(toMultipleOf: lot)
        while qty > .zero && qty * stop > budget { qty -= lot }
        checks.append(RiskCheckResult(code: .riskPerTrade, passed: true, limit: budget, observed: qty * stop,
                                      detail: "risk \(qty) × stop \(stop) ≤ \(config.effectiveRiskPerTrade) × equity \(equityNow)"))

        // 2. Max position notional (exposure is 0 here after the exit leg, but count it anyway).
        let maxNotional = config.maxPosition(for: d.symbol)
        let held = exposure(d.symbol).magnitude
        let heldNotional = held * price
        let positionRoom = maxNotional - heldNotional
        guard positionRoom > .zero else {
            return deny(.maxPosition, "\(d.symbol) position notional \(heldNotional) already at its maximum \(maxNotional)",
                        limit: maxNotional, observed: heldNotional)
        }
        var capQty = (positionRoom / price).truncated(toMultipleOf: lot)
        while capQty > .zero && (held + capQty) * price > maxNotional { capQty -= lot }
        let positionCapped = capQty < qty
        if positionCapped { qty = capQty }
        checks.append(RiskCheckResult(code: .maxPosition, passed: true, limit: maxNotional, observed: (held + qty) * price,
                                      detail: positionCapped ? "size capped by max position" : "within max position"))

        // 3. Portfolio heat.
        let heatLimit = equityNow * config.maxPortfolioHeat
        let used = openRisk
        let heatRoom = heatLimit - used
        guard heatRoom > .zero else {
            return deny(.portfolioHeat, "portfolio heat \(used) already at the limit \(heatLimit) (\(config.maxPortfolioHeat) of equity); wait for exits",
                        limit: heatLimit, observed: used)
        }
        var heatQty = (heatRoom / stop).truncated(toMultipleOf: lot)
        while heatQty > .zero && used + heatQty * stop > heatLimit { heatQty -= lot }
        let heatCapped = heatQty < qty
        if heatCapped { qty = heatQty }
        checks.append(RiskCheckResult(code: .portfolioHeat, passed: true, limit: heatLimit, observed: used + qty * stop,
                                      detail: heatCapped ? "size capped by portfolio heat" : "within portfolio heat"))

        // 4. Buying power (spot buys): the exchange rejects a buy whose fill costs more than its cash.
        let worstOpen = config.worstOpen(referencePrice: price)
        let power = buyingPower
        var buyingCapped = false
        if side == .buy && !config.allowShort {
            let costs = config.costs
            if costs.buyCost(quantity: qty, open: worstOpen) > power {
                // The largest payable multiple of the lot (the quotient is below qty, so it cannot overflow).
                let unitCost = costs.buyCost(quantity: .one, open: worstOpen)
                var payable = power > .zero ? min(qty, (power / unitCost).truncated(toMultipleOf: lot)) : .zero
                while payable > .zero && costs.buyCost(quantity: payable, open: worstOpen) > power { payable -= lot }
                qty = payable
                buyingCapped = true
            }
            checks.append(RiskCheckResult(code: .buyingPower, passed: true, limit: power,
                                          observed: costs.buyCost(quantity: qty, open: worstOpen),
                                          detail: (buyingCapped ? "size capped by buying power" : "within buying power")
                                              + ": cash \(cash) − pending buys \(cash - power); priced at open ≤ \(worstOpen) with fees and slippage"))
        }

        guard qty > .zero else {
            if buyingCapped {
                return deny(.buyingPower, "buying power \(power) (cash \(cash) − pending buys \(cash - power)) pays for less than one lot (\(lot)) of \(d.symbol) at open ≤ \(worstOpen) with fees and slippage",
                            limit: power, observed: config.costs.buyCost(quantity: lot, open: worstOpen))
            }
            if heatCapped {
                return deny(.portfolioHeat, "remaining heat \(heatRoom) buys less than one lot (\(lot)) at stop \(stop); wait for exits",
                            limit: heatLimit, observed: used)
            }
            if positionCapped {
                return deny(.maxPosition, "room \(positionRoom) under max position \(maxNotional) is less than one lot at \(price)",
                            limit: maxNotional, observed: heldNotional)
            }
            return deny(.belowLotSize, "risk budget \(budget) at stop distance \(stop) sizes below one lot (\(lot)); widen the budget or lot size",
                        limit: lot, observed: budget / stop)
        }

        book.entries[book.slot(d.symbol)].stop = stop
        let signed = side == .buy ? qty : -qty
        pending[id] = Pending(symbol: d.symbol, remaining: signed, worstOpen: worstOpen)
        return .approve(OrderIntent(
            clientOrderID: id, decisionID: d.id, symbol: d.symbol, side: side, quantity: qty, referencePrice: price,
            stopPrice: side == .buy ? price - stop : price + stop, riskAmount: qty * stop, isExit: false, time: d.time,
            checks: checks))
    }
}

/// Risk's per-symbol values (position, mark, stop distance), one entry per symbol in order of first appearance, found by
/// a linear scan: a run has a few symbols, and comparing their short names is cheaper than hashing one for each event.
/// A value is nil where the dictionaries it stands for (`RiskCore.positions`, `marks`, `stopDistances`) have no key.
struct SymbolBook: Sendable {
    struct Entry: Sendable {
        var symbol: Symbol
        var position: Fixed?
        var mark: Fixed?
        var stop: Fixed?
    }

    var entries: [Entry] = []

    init() {}

    init(positions: [Symbol: Fixed], marks: [Symbol: Fixed], stops: [Symbol: Fixed]) {
        for (symbol, value) in positions { entries[slot(symbol)].position = value }
        for (symbol, value) in marks { entries[slot(symbol)].mark = value }
        for (symbol, value) in stops { entries[slot(symbol)].stop = value }
    }

    func find(_ symbol: Symbol) -> Int? { entries.firstIndex { $0.symbol == symbol } }

    /// The symbol's entry, added empty when it has none.
    mutating func slot(_ symbol: Symbol) -> Int {
        if let i = find(symbol) { return i }
        entries.append(Entry(symbol: symbol))
        return entries.count - 1
    }

    func dictionary(_ value: KeyPath<Entry, Fixed?>) -> [Symbol: Fixed] {
        var out: [Symbol: Fixed] = [:]
        for entry in entries { if let v = entry[keyPath: value] { out[entry.symbol] = v } }
        return out
    }
}
