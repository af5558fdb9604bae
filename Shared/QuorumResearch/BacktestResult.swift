import QuorumAnalytics
import QuorumExecution
import QuorumModel
import QuorumPipeline
import QuorumRisk

/// One round trip of a symbol: from flat to a position and back to flat (a flip closes one and opens the next),
/// however many fills it took. PnL uses the ledger's average-price accounting, so the trades' gross PnL adds up to
/// the ledger's realized PnL and their fees to the ledger's fees, to the last unit.
public struct RoundTrip: Sendable, Equatable {
    public var symbol: Symbol
    public var side: TradeSide
    /// Quantity opened over the trip (base units).
    public var size: Fixed
    public var entryTime: Nanos
    /// Time of the last closing fill (nil while open).
    public var exitTime: Nanos?
    /// Average entry price (slippage included).
    public var entryPrice: Fixed
    /// Average exit price (slippage included); zero while nothing closed.
    public var exitPrice: Fixed
    /// Fees of every fill of the trip (the part of a flipping fill that closed it).
    public var fees: Fixed
    /// What slippage cost over the trip (inside the prices; reported, not subtracted again).
    public var slippage: Fixed
    /// Realized PnL before fees.
    public var grossPnL: Fixed
    public var fills: Int

    /// Net PnL: gross − fees.
    public var pnl: Fixed { grossPnL - fees }
    public var isOpen: Bool { exitTime == nil }

    /// The QuorumAnalytics view (Doubles) of a closed trip.
    public var analyticsTrade: Trade {
        Trade(symbol: symbol.name, side: side, size: size.doubleValue, entryTime: entryTime, exitTime: exitTime ?? entryTime,
              entryPrice: entryPrice.doubleValue, exitPrice: exitPrice.doubleValue, fees: fees.doubleValue,
              slippage: slippage.doubleValue, pnl: pnl.doubleValue)
    }
}

/// One order as it ended: execution's final status (or risk's denial), with its fill.
public struct OrderLine: Sendable, Equatable {
    public var clientOrderID: String
    public var decisionID: String
    public var symbol: Symbol
    /// nil for a denial (risk sized nothing).
    public var side: Side?
    public var quantity: Fixed
    /// Event time of the decision.
    public var time: Nanos
    /// FILLED, REJECTED, CANCELLED, ACCEPTED (still working at the end) or DENIED (by risk).
    public var status: String
    public var reason: String?
    public var fill: Fill?
    /// What slippage cost on the fill (zero without one).
    public var slippage: Fixed
}

/// Everything a backtest produced, measured with the one metrics library (QuorumAnalytics).
public struct BacktestResult: Sendable {
    public let config: BacktestConfig
    public let data: BacktestData
    /// Equity sampled once per close time across all symbols (`EquityCurve`), with positions per sample.
    public let curve: EquityCurve
    /// The exchange's equity at the end (cash + positions at the last closes); equals the curve's last point.
    public let finalEquity: Fixed
    public let trades: [RoundTrip]
    /// Trips still open at the end (at most one per symbol).
    public let openTrades: [RoundTrip]
    public let orders: [OrderLine]
    public let fills: [Fill]
    public let returns: ReturnSummary
    public let tradeSummary: TradeSummary
    /// PSR against the expected maximum Sharpe of `config.trials` trials (= PSR for one trial).
    public let deflatedSharpe: Double
    /// Net PnL per symbol: cash flows of its fills (fees included) plus its position at the last close.
    public let pnlBySymbol: [(symbol: Symbol, pnl: Fixed)]
    /// Trade-order shuffle of the closed trips' net PnL (nil with fewer than two trades or no paths).
    public let tradeShuffle: MonteCarloResult?
    /// Block bootstrap of the per-period returns (nil without returns or paths).
    public let bootstrap: MonteCarloResult?
    public let decisions: Int
    /// Records a stage could not handle (dead-letter topics); 0 in a healthy run.
    public let deadLetters: Int
    /// `digest <topic>: <count> records, sha256 <hex>` of the decisions, orders and execution reports, when the run
    /// was asked for them (`Backtest.run(digests:)`); the lines `quorum replay --digest` prints for a cluster run.
    public internal(set) var digestLines: [String] = []

    init(config: BacktestConfig, data: BacktestData, exchange: PaperExchange, records: BacktestRecords.Snapshot,
         decisions: Int, deadLetters: Int) async {
        self.config = config
        self.data = data
        self.decisions = decisions
        self.deadLetters = deadLetters
        let fills = exchange.ledger.fills
        self.fills = fills
        // The trades and orders need the fills and the bars' opens, the equity curve and its metrics every bar: the two
        // run side by side.
        async let tradesAndOrders = Self.tradesAndOrders(fills: fills, bars: data.bars, records: records)
        // The bars are read where they are (a million of them are not copied out of their records).
        curve = EquityCurve(fills: fills, bars: BarsOfRecords(data.bars), startingCash: config.startingEquity)
        finalEquity = exchange.equity
        let equity = curve.equity.map(\.doubleValue)
        let periodReturns = ReturnMetrics.returns(equity: equity)
        // What `ReturnSummary(equity:timestamps:periodsPerYear:)` computes, without making the returns a second time.
        returns = ReturnSummary(returns: periodReturns, periodsPerYear: curve.periodsPerYear, equityTimestamps: equity.isEmpty ? nil : curve.times)
        deflatedSharpe = SharpeInference.deflatedSharpeRatio(returns: periodReturns, trials: config.trials,
                                                             trialSharpeVariance: config.trialSharpeVariance)
        (trades, openTrades, orders) = await tradesAndOrders

        var flows: [Symbol: Fixed] = [:]
        for fill in fills { flows[fill.symbol, default: .zero] -= fill.signedQuantity * fill.price + fill.fee }
        pnlBySymbol = data.symbols.map { s in
            let p = exchange.ledger.position(s)
            let mark = exchange.marks[s] ?? p.averagePrice
            return (s, (flows[s] ?? .zero) + p.quantity * mark)
        }

        tradeSummary = TradeSummary(trades: trades.map(\.analyticsTrade), timeline: curve.times, equity: equity)
        // The two Monte Carlo studies are independent: side by side too.
        let paths = config.monteCarloPaths
        let tradePnL = trades.map { $0.pnl.doubleValue }
        async let shuffle = tradePnL.count < 2 || paths == 0 ? nil
            : MonteCarlo.shuffleTrades(pnl: tradePnL, startingEquity: config.startingEquity.doubleValue, paths: paths, seed: config.monteCarloSeed)
        let periodsPerYear = curve.periodsPerYear
        bootstrap = periodReturns.isEmpty || paths == 0 ? nil
            : MonteCarlo.bootstrapReturns(periodReturns, blockLength: config.monteCarloBlockLength, paths: paths, seed: config.monteCarloSeed,
                                          periodsPerYear: periodsPerYear)
        tradeShuffle = await shuffle
    }

    /// The closed and open round trips and the order lines, with each fill's slippage against its bar's open.
    static func tradesAndOrders(fills: [Fill], bars: [ArchivedBarRecord], records: BacktestRecords.Snapshot)
        -> (closed: [RoundTrip], open: [RoundTrip], orders: [OrderLine]) {
        // Each symbol's bar opens in time order (the bars are), searched for the few fills rather than hashed for every bar.
        var opens: [(symbol: Symbol, times: [Nanos], prices: [Fixed])] = []
        var column = -1
        for bar in BarsOfRecords(bars) {
            if column < 0 || opens[column].symbol != bar.symbol {
                column = opens.firstIndex { $0.symbol == bar.symbol } ?? {
                    opens.append((bar.symbol, [], []))
                    return opens.count - 1
                }()
            }
            opens[column].times.append(bar.openTime)
            opens[column].prices.append(bar.open)
        }
        for c in opens.indices where zip(opens[c].times, opens[c].times.dropFirst()).contains(where: { $0 > $1 }) {
            let pairs = zip(opens[c].times, opens[c].prices).enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            opens[c].times = pairs.map(\.element.0)
            opens[c].prices = pairs.map(\.element.1)
        }
        func slippage(_ fill: Fill) -> Fixed {
            guard let o = opens.first(where: { $0.symbol == fill.symbol }) else { return .zero }
            // The last bar opening at the fill's time.
            var lo = 0, hi = o.times.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if o.times[mid] <= fill.time { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0, o.times[lo - 1] == fill.time else { return .zero }
            return (fill.price - o.prices[lo - 1]).magnitude * fill.quantity
        }
        let (closed, open) = roundTrips(fills, slippage: slippage)
        return (closed, open, orderLines(records, fills: fills, slippage: slippage))
    }

    /// Round trips from fills in ledger order (see `RoundTrip`). The fills go through a `Ledger`, whose position before
    /// each fill says whether it opens, adds, reduces or flips, and whose realized PnL is the trips' gross PnL.
    static func roundTrips(_ fills: [Fill], slippage: (Fill) -> Fixed) -> (closed: [RoundTrip], open: [RoundTrip]) {
        var ledger = Ledger(startingCash: .zero)
        var closed: [RoundTrip] = []
        var open: [Symbol: RoundTrip] = [:]
        /// Per open trip: notional of its entries, quantity and notional of its exits (for the average prices).
        var legs: [Symbol: (entryNotional: Fixed, exitQuantity: Fixed, exitNotional: Fixed)] = [:]
        for fill in fills {
            let before = ledger.position(fill.symbol).quantity
            let realized = ledger.realizedPnL
            guard ledger.apply(fill) else { continue }
            let after = ledger.position(fill.symbol).quantity
            let q = fill.signedQuantity
            let slip = slippage(fill)
            func start(_ quantity: Fixed, fee: Fixed, slip: Fixed) {
                open[fill.symbol] = RoundTrip(symbol: fill.symbol, side: q > .zero ? .long : .short, size: quantity, entryTime: fill.time,
                                              exitTime: nil, entryPrice: fill.price, exitPrice: .zero, fees: fee, slippage: slip,
                                              grossPnL: .zero, fills: 1)
                legs[fill.symbol] = (quantity * fill.price, .zero, .zero)
            }
            if before.isZero {
                start(q.magnitude, fee: fill.fee, slip: slip)
            } else if before.signum == q.signum, var trip = open[fill.symbol], var leg = legs[fill.symbol] {
                trip.size += q.magnitude
                leg.entryNotional += q.magnitude * fill.price
                trip.entryPrice = leg.entryNotional / trip.size
                trip.fees += fill.fee
                trip.slippage += slip
                trip.fills += 1
                open[fill.symbol] = trip
                legs[fill.symbol] = leg
            } else if var trip = open[fill.symbol], var leg = legs[fill.symbol] {
                // Reducing, closing or flipping: the closing part's share of the fee and slippage belongs to this trip.
                let closing = min(q.magnitude, before.magnitude)
                let whole = closing == q.magnitude
                let fee = whole ? fill.fee : fill.fee * closing / q.magnitude
                let slipPart = whole ? slip : slip * closing / q.magnitude
                trip.grossPnL += ledger.realizedPnL - realized
                trip.fees += fee
                trip.slippage += slipPart
                trip.fills += 1
                leg.exitQuantity += closing
                leg.exitNotional += closing * fill.price
                trip.exitPrice = leg.exitNotional / leg.exitQuantity
                legs[fill.symbol] = leg
                if after.isZero || after.signum != before.signum {
                    trip.exitTime = fill.time
                    closed.append(trip)
                    open[fill.symbol] = nil
                    if !after.isZero { start(after.magnitude, fee: fill.fee - fee, slip: slip - slipPart) }
                } else {
                    open[fill.symbol] = trip
                }
            }
        }
        return (closed, open.values.sorted { ($0.entryTime, $0.symbol) < ($1.entryTime, $1.symbol) })
    }

    /// Each order once, in decision-time order: its final status from execution's records, or risk's denial.
    static func orderLines(_ records: BacktestRecords.Snapshot, fills: [Fill], slippage: (Fill) -> Fixed) -> [OrderLine] {
        var fillByOrder: [String: Fill] = [:]
        for fill in fills { fillByOrder[fill.clientOrderID] = fill }
        var lines: [OrderLine] = []
        var index: [String: Int] = [:]
        for row in records.orderRows {
            if let i = index[row.clientOrderID] {
                lines[i].status = row.status.rawValue
                if let reason = row.reason { lines[i].reason = reason }
            } else {
                index[row.clientOrderID] = lines.count
                lines.append(OrderLine(clientOrderID: row.clientOrderID, decisionID: row.decisionID, symbol: row.symbol, side: row.side,
                                       quantity: row.quantity, time: row.time, status: row.status.rawValue, reason: row.reason,
                                       fill: nil, slippage: .zero))
            }
        }
        for i in lines.indices {
            if let fill = fillByOrder[lines[i].clientOrderID] {
                lines[i].fill = fill
                lines[i].slippage = slippage(fill)
            }
        }
        for d in records.denials {
            lines.append(OrderLine(clientOrderID: d.clientOrderID, decisionID: d.decisionID, symbol: d.symbol, side: nil, quantity: .zero,
                                   time: d.time, status: "DENIED", reason: "\(d.reason.rawValue): \(d.text)", fill: nil, slippage: .zero))
        }
        // Stable: execution's order within one time and symbol is kept.
        return lines.enumerated().sorted { ($0.element.time, $0.element.symbol, $0.offset) < ($1.element.time, $1.element.symbol, $1.offset) }
            .map(\.element)
    }
}
