import DequeModule
import QuorumExecution
import QuorumModel

// What the monitor keeps for its dashboard beyond counters and latencies: bounded, presentational histories. They live
// in `MonitorStats`, not in the stage's checkpoint: after a monitor restart they hold what its rebuild re-reads (the
// records after its checkpoint) and then fill up again.

/// One row of the dashboard's live decisions table: everything that followed one bar of one symbol, joined by the
/// correlation id (the bar's id, which every record it causes carries): each source's opinion (its `signals` record),
/// consensus's decision, risk's verdict, the order and its fills.
public struct TrailRow: Sendable, Hashable, Codable {
    public struct Source: Sendable, Hashable, Codable {
        public var name: String
        /// long, short or flat.
        public var direction: String
        public var confidence: Double
        public var weight: Double

        public init(name: String, direction: String, confidence: Double, weight: Double) {
            self.name = name
            self.direction = direction
            self.confidence = confidence
            self.weight = weight
        }
    }

    public var correlationID: String
    public var symbol: String
    /// Open time of the bar decided on.
    public var barTime: Nanos
    public var sources: [Source]
    /// buy, sell or hold.
    public var action: String
    public var confidence: Double
    public var reasons: [String]
    /// nil until risk answered; "approved" or "denied".
    public var verdict: String?
    /// The denial's code and reason, or the approved quantity.
    public var verdictDetail: String = ""
    /// Client order id, side and quantity of the order (approved or denied).
    public var order: String?
    /// Execution's reports: status, and quantity @ price for a fill.
    public var fills: [String] = []

    public init(correlationID: String, symbol: String, barTime: Nanos, sources: [Source], action: String, confidence: Double, reasons: [String]) {
        self.correlationID = correlationID
        self.symbol = symbol
        self.barTime = barTime
        self.sources = sources
        self.action = action
        self.confidence = confidence
        self.reasons = reasons
    }
}

/// The latest rows of the decisions table, newest first, at most `capacity`. Risk's and execution's records find their
/// row by correlation id. The monitor reads each topic at its own pace (a restarted monitor may read all of
/// `orders.approved` before `decisions` catches up), so a verdict or report that comes before its decision waits for it
/// (at most `capacity` of them, oldest dropped first); one whose row was already dropped is ignored.
public struct DecisionTrail: Sendable {
    public let capacity: Int
    private var rows: [String: TrailRow] = [:]
    private var order: Deque<String> = []
    /// Verdicts and reports whose decision has not been seen yet, by correlation id (the row holds only them).
    private var early: [String: TrailRow] = [:]
    private var earlyOrder: Deque<String> = []
    /// Correlation ids whose rows were dropped (bounded), so their late records are not kept as early ones.
    private var dropped: Set<String> = []
    private var droppedOrder: Deque<String> = []

    public init(capacity: Int = 300) { self.capacity = max(1, capacity) }

    /// A decision starts its row (a second decision with the same correlation id replaces the first's part).
    public mutating func decision(_ row: TrailRow) {
        let id = row.correlationID
        guard rows[id] != nil else {
            var new = row
            if let waiting = early.removeValue(forKey: id) {
                // Out of the early order too: a stale entry there would later evict a new early part of the same id.
                earlyOrder.removeAll { $0 == id }
                (new.verdict, new.verdictDetail, new.order, new.fills) = (waiting.verdict, waiting.verdictDetail, waiting.order, waiting.fills)
                if new.sources.isEmpty { new.sources = waiting.sources }
            }
            order.append(id)
            rows[id] = new
            if order.count > capacity, let oldest = order.popFirst() {
                rows[oldest] = nil
                remember(dropped: oldest)
            }
            return
        }
        if !row.sources.isEmpty { rows[id]?.sources = row.sources }
        rows[id]?.action = row.action
        rows[id]?.confidence = row.confidence
        rows[id]?.reasons = row.reasons
    }

    public mutating func verdict(correlationID: String, approved: Bool, detail: String, order: String) {
        update(correlationID) { row in
            row.verdict = approved ? "approved" : "denied"
            row.verdictDetail = detail
            row.order = order
        }
    }

    /// One source's signal for the bar (consensus publishes each on `signals` besides its decision); a source's later
    /// signal for the same bar replaces its earlier one.
    public mutating func source(correlationID: String, _ source: TrailRow.Source) {
        update(correlationID) { row in
            if let i = row.sources.firstIndex(where: { $0.name == source.name }) { row.sources[i] = source } else { row.sources.append(source) }
        }
    }

    /// An execution report; the same text twice (a redelivery) is kept once.
    public mutating func report(correlationID: String, text: String) {
        update(correlationID) { row in if !row.fills.contains(text) { row.fills.append(text) } }
    }

    /// Changes the row of `id`, or its early part when its decision has not come yet.
    private mutating func update(_ id: String, _ change: (inout TrailRow) -> Void) {
        if rows[id] != nil {
            change(&rows[id]!)
            return
        }
        guard !dropped.contains(id) else { return }
        var row: TrailRow
        if let waiting = early[id] {
            row = waiting
        } else {
            // Room first (the oldest early parts go), so the part made here is never the one evicted.
            while early.count >= capacity, let oldest = earlyOrder.popFirst() { early[oldest] = nil }
            earlyOrder.append(id)
            row = TrailRow(correlationID: id, symbol: "", barTime: 0, sources: [], action: "", confidence: 0, reasons: [])
        }
        change(&row)
        early[id] = row
    }

    private mutating func remember(dropped id: String) {
        dropped.insert(id)
        droppedOrder.append(id)
        if droppedOrder.count > 4 * capacity, let oldest = droppedOrder.popFirst() { dropped.remove(oldest) }
    }

    /// The newest `limit` rows (only those with an order when `ordersOnly`), newest first.
    public func latest(_ limit: Int, ordersOnly: Bool = false) -> [TrailRow] {
        var out: [TrailRow] = []
        for id in order.reversed() {
            guard let row = rows[id] else { continue }
            if ordersOnly, row.order == nil { continue }
            out.append(row)
            if out.count == limit { break }
        }
        return out
    }
}

/// What the overview's equity curve is computed from: the fills and the latest `capacity` bars the monitor has read, in
/// whatever order the topics delivered them. `curve(startingCash:)` hands them to `EquityCurve` (QuorumExecution, the
/// curve every report uses), which orders them by event time, so fills read after the bars they follow (the monitor
/// reads each topic at its own pace) still land where they belong.
public struct EquityInputs: Sendable, Codable {
    public let capacity: Int
    private var bars: Deque<Bar> = []
    private var barKeys: Set<BarKey> = []
    private var fills: [Fill] = []
    private var fillIDs: Set<String> = []

    struct BarKey: Hashable, Sendable, Codable { var symbol: Symbol; var openTime: Nanos }

    public init(capacity: Int = 100_000) { self.capacity = max(2, capacity) }

    /// A bar; the same bar again (a redelivery) is kept once.
    public mutating func bar(_ bar: Bar) {
        guard barKeys.insert(BarKey(symbol: bar.symbol, openTime: bar.openTime)).inserted else { return }
        bars.append(bar)
        if bars.count > capacity, let oldest = bars.popFirst() { barKeys.remove(BarKey(symbol: oldest.symbol, openTime: oldest.openTime)) }
    }

    /// A fill; the same fill id again is kept once.
    public mutating func fill(_ fill: Fill) {
        guard fillIDs.insert(fill.fillID).inserted else { return }
        fills.append(fill)
    }

    /// The equity at every close time of the kept bars (every fill applied by its time).
    public func curve(startingCash: Fixed) -> EquityCurve {
        EquityCurve(fills: fills, bars: Array(bars), startingCash: startingCash)
    }
}

/// Live calibration of the served models per symbol: each prediction's P(up) against what the next bar did (its close
/// above the close of the bar the prediction was made from), in ten bins of predicted probability.
///
/// A prediction names its bar (`bar_open_time_ns`); it is scored when the monitor has seen that bar and the next one,
/// in whichever order the topics deliver them.
public struct LiveCalibration: Sendable, Codable {
    public struct Bin: Sendable, Hashable, Codable {
        public var count = 0
        public var sumProbability = 0.0
        public var ups = 0
        /// Mean predicted P(up) in the bin, and the share that went up.
        public var meanPredicted: Double { count == 0 ? .nan : sumProbability / Double(count) }
        public var observed: Double { count == 0 ? .nan : Double(ups) / Double(count) }
    }

    public struct Table: Sendable, Hashable, Codable {
        public var bins: [Bin] = Array(repeating: Bin(), count: 10)
        /// Scored predictions and those whose direction (P(up) > 0.5) was right.
        public var scored = 0
        public var hits = 0
        public var hitRate: Double { scored == 0 ? .nan : Double(hits) / Double(scored) }
    }

    public private(set) var tables: [String: Table] = [:]
    private var closes: [String: [Nanos: Fixed]] = [:]
    private var closeOrder: [String: Deque<Nanos>] = [:]
    private var intervals: [String: Int64] = [:]
    private var pending: [String: [Nanos: Double]] = [:]
    private var pendingOrder: [String: Deque<Nanos>] = [:]
    /// Closes and waiting predictions kept per symbol: enough for a monitor that (re)starts and reads all of `md.bars`
    /// before `predictions` to score the latest ones.
    public let remember: Int

    public init(remember: Int = 5000) { self.remember = max(2, remember) }

    public mutating func bar(symbol: String, openTime: Nanos, close: Fixed, intervalSeconds: Int64) {
        let interval = intervalSeconds * 1_000_000_000
        intervals[symbol] = interval
        if closes[symbol, default: [:]].updateValue(close, forKey: openTime) == nil {
            closeOrder[symbol, default: []].append(openTime)
            if closeOrder[symbol]!.count > remember, let oldest = closeOrder[symbol]!.popFirst() { closes[symbol]![oldest] = nil }
        }
        // The prediction made from the bar before is scored by this close; one made from this bar, by the next close if
        // it was seen already. (A pending prediction is removed only once it is scored.)
        if let previous = closes[symbol]?[openTime - interval], let p = pending[symbol]?.removeValue(forKey: openTime - interval) {
            score(symbol, probability: p, up: previous < close)
        }
        if let next = closes[symbol]?[openTime + interval], let predicted = pending[symbol]?.removeValue(forKey: openTime) {
            score(symbol, probability: predicted, up: close < next)
        }
    }

    public mutating func prediction(symbol: String, barOpenTime: Nanos, probabilityUp: Double) {
        guard probabilityUp.isFinite else { return }
        if let interval = intervals[symbol], let reference = closes[symbol]?[barOpenTime], let next = closes[symbol]?[barOpenTime + interval] {
            score(symbol, probability: probabilityUp, up: reference < next)
        } else if pending[symbol, default: [:]].updateValue(probabilityUp, forKey: barOpenTime) == nil {
            pendingOrder[symbol, default: []].append(barOpenTime)
            if pendingOrder[symbol]!.count > remember, let oldest = pendingOrder[symbol]!.popFirst() { pending[symbol]![oldest] = nil }
        }
    }

    private mutating func score(_ symbol: String, probability: Double, up: Bool) {
        var table = tables[symbol] ?? Table()
        let index = min(9, max(0, Int(probability * 10)))
        table.bins[index].count += 1
        table.bins[index].sumProbability += probability
        if up { table.bins[index].ups += 1 }
        table.scored += 1
        if (probability > 0.5) == up { table.hits += 1 }
        tables[symbol] = table
    }
}
