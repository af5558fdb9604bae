import DequeModule
import QuorumModel

/// Puts risk's inputs in one deterministic order before the core sees them, and keeps what that order needs.
///
/// Risk's state is shared by all symbols (equity, portfolio heat, daily loss), so the order in which the core sees
/// decisions of different symbols matters. The cluster delivers them from several partitions in any order; a backtest
/// hands them over in its own order. Both put them through this sequencer, so both make the same orders:
///
/// - Decisions are released in event-time order `(time, symbol)`: a decision waits until every other symbol's stream has
///   reached its time, or the input has ended (`endOfInput`), or its host says the other stream has been silent long
///   enough (`release(waitedOut:)`: the cluster's idle timeout, the only place wall time can matter; the sequencer itself
///   never reads a clock).
/// - A decision of a symbol with approved orders decided earlier waits for their final execution reports (filled,
///   rejected, cancelled) and applies them first. Execution fills an order at the next bar of its symbol, and the next
///   decision of that symbol is made at that bar's close, so the fills a decision sees never depend on timing.
/// - Approvals are numbered per symbol (`Output.sequence`): execution applies each symbol's orders in that order.
///
/// Each input carries a `Tag` the host gets back with what it causes (the stage numbers its records and keeps their
/// envelopes and offsets aside; a backtest passes 0). A plain integer rather than a generic parameter: the sequencer is
/// then compiled once, in this module, for every host.
///
/// Symbols are kept in a small table found by a linear scan, cheaper than hashing names for the few symbols of a run.
public struct RiskSequencer: Sendable {
    public typealias Tag = Int
    public private(set) var core: RiskCore

    /// What releasing produced, in order.
    public enum Output: Sendable {
        /// A core action caused by the decision tagged `cause`; `sequence` numbers an approval within its symbol.
        case action(RiskAction, cause: Tag, sequence: UInt64?)
        /// A decision of a symbol handed to the core (its record is complete).
        case decided(Symbol, Tag)
        /// A final report applied, or a redelivered one dropped (its record is complete).
        case reportDone(Tag)
    }

    struct Held: Sendable, Codable {
        var decision: RiskDecision
        var tag: Tag
    }

    struct HeldReport: Sendable, Codable {
        var id: String
        var slot: Int
        var events: [RiskEvent]
        var tag: Tag
    }

    struct Awaiting: Sendable, Codable {
        var id: String
        var slot: Int
        var time: Nanos
    }

    /// One symbol's FIFO of decisions, the latest decision time seen, its approvals so far.
    struct Lane: Sendable, Codable {
        var symbol: Symbol
        private(set) var items: Deque<Held> = []
        var latest: Nanos = .min
        /// Whether other symbols' decisions wait for this stream (it is expected or has had a decision; a symbol known
        /// only from a report holds nobody back).
        var paced = false
        var approvals: UInt64 = 0
        /// The time of the first held decision (nil when none): what each release compares for every lane, kept aside so
        /// that no decision is copied out of the queue for it. Not coded: it follows from `items`.
        private(set) var headTime: Nanos?

        private enum CodingKeys: String, CodingKey { case symbol, items, latest, paced, approvals }

        init(symbol: Symbol) { self.symbol = symbol }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            symbol = try c.decode(Symbol.self, forKey: .symbol)
            items = try c.decode(Deque<Held>.self, forKey: .items)
            latest = try c.decode(Nanos.self, forKey: .latest)
            paced = try c.decode(Bool.self, forKey: .paced)
            approvals = try c.decode(UInt64.self, forKey: .approvals)
            headTime = items.first?.decision.time
        }

        var isEmpty: Bool { items.isEmpty }

        mutating func append(_ held: Held) {
            if items.isEmpty { headTime = held.decision.time }
            items.append(held)
        }

        mutating func popFirst() -> Held {
            let held = items.removeFirst()
            headTime = items.first?.decision.time
            return held
        }
    }

    private var lanes: [Lane] = []
    /// Approved orders without an applied final report, in approval order.
    private var awaiting: [Awaiting] = []
    /// Final reports that arrived and wait for their place in the order.
    private var reports: [HeldReport] = []
    /// Orders whose final report has been applied (a redelivered report is then dropped).
    private var applied: Set<String> = []
    private var inputEnded = false
    /// Event time of the last released decision: "now" for risk (manual commands take effect at it).
    public private(set) var eventNow: Nanos = 0
    /// Decisions released because the host said another symbol waited out its silence, not in strict event-time order.
    public private(set) var idleReleases = 0

    /// Everything the sequencer holds and has seen, its core's included (not the core's configuration): a checkpoint's
    /// content.
    public struct Memory: Sendable, Codable {
        var core: RiskCore.Memory
        var lanes: [Lane]
        var awaiting: [Awaiting]
        var reports: [HeldReport]
        var applied: Set<String>
        var inputEnded: Bool
        var eventNow: Nanos
        var idleReleases: Int
    }

    public var memory: Memory {
        get {
            Memory(core: core.memory, lanes: lanes, awaiting: awaiting, reports: reports, applied: applied, inputEnded: inputEnded,
                   eventNow: eventNow, idleReleases: idleReleases)
        }
        set {
            core.memory = newValue.core
            (lanes, awaiting, reports, applied) = (newValue.lanes, newValue.awaiting, newValue.reports, newValue.applied)
            (inputEnded, eventNow, idleReleases) = (newValue.inputEnded, newValue.eventNow, newValue.idleReleases)
        }
    }

    /// - Parameter expectedSymbols: symbols whose decisions the order waits for from the start (a symbol not seen yet
    ///   cannot hold others back otherwise, so the first decisions could be released too early).
    public init(core: RiskCore, expectedSymbols: [Symbol] = []) {
        self.core = core
        for symbol in expectedSymbols { lanes[slot(symbol)].paced = true }
    }

    private mutating func slot(_ symbol: Symbol) -> Int {
        if let i = lanes.firstIndex(where: { $0.symbol == symbol }) { return i }
        lanes.append(Lane(symbol: symbol))
        return lanes.count - 1
    }

    /// The symbols seen so far (decisions, reports or expected).
    public var symbols: [Symbol] { lanes.map(\.symbol) }

    /// Decisions held back, waiting for their turn.
    public var heldDecisions: Int { lanes.reduce(0) { $0 + $1.items.count } }

    /// Whether decisions wait for their turn (a host with an idle timeout wakes up to look again).
    public var isHolding: Bool { lanes.contains { !$0.isEmpty } }

    /// Queues a decision. Returns false for a decision not later than the last one of its symbol: a redelivery, already
    /// queued or released (its record is complete at once).
    public mutating func decision(_ decision: RiskDecision, tag: Tag) -> Bool {
        let i = slot(decision.symbol)
        guard decision.time > lanes[i].latest else { return false }
        lanes[i].latest = decision.time
        lanes[i].paced = true
        lanes[i].append(Held(decision: decision, tag: tag))
        return true
    }

    /// Holds a final execution report of an order until the next decision of its symbol is released (also when its
    /// approval has not been released yet, which happens while a stage rebuilds). `events` are what the core is to see
    /// (its fill, and `orderClosed` unless it filled). Returns false for a report already applied or already held
    /// (its record is complete at once).
    public mutating func finalReport(clientOrderID id: String, symbol: Symbol, events: [RiskEvent], tag: Tag) -> Bool {
        guard !applied.contains(id), !reports.contains(where: { $0.id == id }) else { return false }
        reports.append(HeldReport(id: id, slot: slot(symbol), events: events, tag: tag))
        return true
    }

    /// A manual kill-switch command, applied at risk's own event time (so the event-time day of the daily-loss check
    /// does not jump).
    public mutating func killSwitch(on: Bool, reason: String) -> [RiskAction] {
        core.handle(.killSwitch(on: on, reason: reason, time: eventNow))
    }

    /// The input has ended (a backtest's last bar is through): held decisions are released without waiting for the
    /// other symbols.
    public mutating func endOfInput(into out: inout [Output]) {
        inputEnded = true
        release(into: &out)
    }

    /// Releases every decision whose turn has come, appending what that produces to `out`. `waitedOut(symbol)` is asked
    /// about a symbol that holds a decision back while it has nothing queued: true releases the decision anyway.
    public mutating func release(into out: inout [Output], waitedOut: (Symbol) -> Bool = { _ in false }) {
        while let i = nextCandidate(), let time = lanes[i].headTime, isReleasable(i, time: time, waitedOut: waitedOut) {
            let head = lanes[i].popFirst()
            eventNow = max(eventNow, head.decision.time)
            // 1. Final reports of this symbol's earlier orders, in decision-time order (then id).
            if awaiting.contains(where: { $0.slot == i && $0.time < head.decision.time }) {
                let due = awaiting.filter { $0.slot == i && $0.time < head.decision.time }.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
                for order in due {
                    guard let r = reports.firstIndex(where: { $0.id == order.id }) else { continue }
                    let report = reports.remove(at: r)
                    awaiting.removeAll { $0.id == order.id }
                    applied.insert(order.id)
                    for event in report.events { append(core.handle(event), cause: head.tag, to: &out) }
                    out.append(.reportDone(report.tag))
                }
            }
            // 2. The mark and the decision.
            let d = head.decision
            append(core.handle(.mark(symbol: d.symbol, price: d.referencePrice, time: d.time)), cause: head.tag, to: &out)
            append(core.handle(.decision(d)), cause: head.tag, to: &out)
            out.append(.decided(d.symbol, head.tag))
        }
        // Reports of orders already applied (redeliveries) complete at once.
        if !reports.isEmpty {
            reports.removeAll { report in
                guard applied.contains(report.id) else { return false }
                out.append(.reportDone(report.tag))
                return true
            }
        }
    }

    private mutating func append(_ actions: [RiskAction], cause: Tag, to out: inout [Output]) {
        for action in actions {
            var sequence: UInt64?
            if case .approve(let order) = action {
                let i = slot(order.symbol)
                awaiting.append(Awaiting(id: order.clientOrderID, slot: i, time: order.time))
                lanes[i].approvals += 1
                sequence = lanes[i].approvals
            }
            out.append(.action(action, cause: cause, sequence: sequence))
        }
    }

    /// The lane whose head is first in `(time, symbol)` order.
    private func nextCandidate() -> Int? {
        var best: Int?
        var bestTime = Nanos.max
        for i in lanes.indices {
            guard let time = lanes[i].headTime else { continue }
            if let b = best, bestTime < time || (bestTime == time && lanes[b].symbol <= lanes[i].symbol) { continue }
            best = i
            bestTime = time
        }
        return best
    }

    private mutating func isReleasable(_ i: Int, time: Nanos, waitedOut: (Symbol) -> Bool) -> Bool {
        var waited = false
        if !inputEnded {
            for j in lanes.indices where j != i && lanes[j].paced && lanes[j].latest < time {
                guard lanes[j].isEmpty, waitedOut(lanes[j].symbol) else { return false }
                waited = true
            }
        }
        for order in awaiting where order.slot == i && order.time < time {
            if !reports.contains(where: { $0.id == order.id }) { return false }
        }
        if waited { idleReleases += 1 }
        return true
    }

    /// The core as it will be once the held final reports are applied: what the ledger shows once they are (risk's
    /// stored exposure counts them, so `quorum summary` can compare the two).
    public var settledCore: RiskCore {
        var settled = core
        for held in reports { for event in held.events { _ = settled.handle(event) } }
        return settled
    }
}
