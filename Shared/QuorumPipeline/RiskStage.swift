import DequeModule
import QuorumBus
import QuorumModel
import QuorumProto
import QuorumRisk

/// `quorum-risk`: sizes decisions into orders, enforces the limits, publishes approvals and denials.
///
/// Risk's state is shared by all symbols (equity, portfolio heat, daily loss), so the order in which it sees
/// decisions of different symbols matters. The cluster delivers them from several partitions in any order, so
/// the stage puts its inputs in one deterministic order before the core sees them:
///
/// - Decisions are released in event-time order `(time, symbol)`: a decision waits until every other symbol's
///   stream has reached its time (or, in the cluster, that symbol has been silent for `idleTimeout` of wall time —
///   a stream that stopped must not hold the others; this is the only place wall time can matter, and only when a
///   stream stalls for longer than the timeout). A backtest passes no timeout and calls `endOfInput()` when its
///   bars are done, so it never reads the clock.
/// - A decision of a symbol with approved orders decided earlier waits for their final execution reports
///   (filled, rejected, cancelled) and applies them first. Execution fills an order at the next bar of its
///   symbol, and the next decision of that symbol is made at that bar's close, so the fills a decision sees
///   never depend on timing.
///
/// The result: the same decisions give byte-identical orders (ids and quantities) on every run, replay and
/// restart. The state is rebuilt from the inputs at start-up.
public struct RiskStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-risk"
    public static let inputTopics: [TopicSpec] = [Topic.decisions, Topic.executionReports, Topic.control]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { true }
    public var wantsTicks: Bool { idleTimeout != nil && queues.values.contains { !$0.isEmpty } }
    let decisionsTopic: String
    let reportsTopic: String
    let controlTopic: String
    let approvedTopic: String
    let deniedTopic: String
    let alertsTopic: String
    let stamp = EnvelopeStamp(producer: "quorum-risk")
    /// nil: never release on wall time (backtests; see `endOfInput`).
    let idleTimeout: Duration?
    let hotState: (any HotStateSink)?
    let denialSink: (any DenialRecordSink)?
    public private(set) var core: RiskCore

    private struct Held: Sendable {
        var decision: RiskDecision
        var envelope: Quorum_V1_Envelope
        var position: MessagePosition?
    }
    private struct HeldReport: Sendable {
        var events: [RiskEvent]
        var position: MessagePosition?
    }
    /// First-in first-out decisions per symbol.
    private var queues: [Symbol: Deque<Held>] = [:]
    private var latest: [Symbol: Nanos] = [:]
    private var lastArrival: [Symbol: ContinuousClock.Instant] = [:]
    /// Approved orders without a final report yet: symbol and decision time.
    private var awaiting: [String: (symbol: Symbol, time: Nanos)] = [:]
    /// Final reports that arrived and wait for their place in the order.
    private var reports: [String: HeldReport] = [:]
    /// Number of approvals per symbol so far: the next one gets the next `symbol_sequence`.
    private var sequences: [Symbol: UInt64] = [:]
    /// Orders whose final report has been applied (a redelivered report is then ignored).
    private var applied: Set<String> = []
    private var pendingDenials: [OrderDenial] = []
    private var pendingKill: (on: Bool, reason: String)?
    private var touchedSymbols: Set<Symbol> = []
    private var replayingNow = false
    /// Event time of the last released decision: "now" for the stage (manual commands take effect at it).
    private var eventNow: Nanos = 0

    /// - Parameter expectedSymbols: symbols whose decisions the merge waits for from the start (a symbol it has not
    ///   seen yet cannot hold others back otherwise, so the first decisions could be released too early).
    public init(namer: TopicNamer, config: RiskConfig = RiskConfig(), idleTimeout: Duration? = .seconds(2),
                expectedSymbols: [Symbol] = [],
                hotState: (any HotStateSink)?, denialSink: (any DenialRecordSink)?, group: String = defaultGroup) {
        self.group = namer.group(group)
        decisionsTopic = namer.name(Topic.decisions)
        reportsTopic = namer.name(Topic.executionReports)
        controlTopic = namer.name(Topic.control)
        inputs = Self.inputTopics.map(namer.name)
        approvedTopic = namer.name(Topic.ordersApproved)
        deniedTopic = namer.name(Topic.ordersDenied)
        alertsTopic = namer.name(Topic.alerts)
        self.idleTimeout = idleTimeout
        self.hotState = hotState
        self.denialSink = denialSink
        core = RiskCore(config: config)
        let now = idleTimeout == nil ? nil : ContinuousClock.now
        for symbol in expectedSymbols {
            latest[symbol] = .min
            if let now { lastArrival[symbol] = now }
        }
    }

    /// The input has ended (a backtest's last bar is through): every held decision whose earlier orders are
    /// settled is released in event-time order, without waiting for the other symbols.
    public mutating func endOfInput() throws -> StageStep {
        inputEnded = true
        return try release()
    }
    private var inputEnded = false

    /// Decisions released because another symbol was silent for `idleTimeout` (wall time), not in strict event-time order.
    public private(set) var idleReleases = 0

    /// Decisions held back, waiting for their turn.
    public var heldDecisions: Int { queues.values.reduce(0) { $0 + $1.count } }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        replayingNow = replaying
        let position = MessagePosition(message)
        if message.topic == decisionsTopic {
            let wire = try message.decode(Quorum_V1_Decision.self)
            let decision = try wire.riskDecision()
            let symbol = decision.symbol
            // A decision not later than the last one of its symbol is a redelivery: already queued or released.
            if let last = latest[symbol], decision.time <= last { return .done(message) }
            latest[symbol] = decision.time
            if idleTimeout != nil { lastArrival[symbol] = .now }
            queues[symbol, default: []].append(Held(decision: decision, envelope: wire.envelope, position: position))
            return try release()
        }
        if message.topic == reportsTopic {
            let report = try message.decode(Quorum_V1_ExecutionReport.self)
            if case .UNRECOGNIZED = report.status {
                throw RejectedMessage(.invalid, "execution report \(report.envelope.id) has unknown status \(report.status.rawValue)")
            }
            if report.status == .unspecified {
                throw RejectedMessage(.invalid, "execution report \(report.envelope.id) has no status")
            }
            let id = report.clientOrderID
            guard report.isFinal, !applied.contains(id), reports[id] == nil else { return .done(message) }
            var events: [RiskEvent] = []
            if let fill = try report.fill() { events.append(.fill(fill)) }
            if report.status != .filled { events.append(.orderClosed(clientOrderID: id, time: report.envelope.tsEventNs)) }
            // Held until the next decision of its symbol is released (also when its approval has not been released
            // yet, which happens while rebuilding); its offset stays uncommitted meanwhile, so a restart loses nothing.
            reports[id] = HeldReport(events: events, position: position)
            touchedSymbols.insert(Symbol(report.symbol))  // its stored exposure counts the held report (see `persist`)
            return try release()
        }
        // control
        let command = try message.decode(Quorum_V1_ControlCommand.self)
        var step = StageStep.done(message)
        switch command.kind {
        case .killSwitchOn, .killSwitchOff:
            let on = command.kind == .killSwitchOn
            let reason = command.reason.isEmpty ? "by \(command.actor.isEmpty ? "operator" : command.actor)" : command.reason
            // A command is an operator's act in wall time; the stage applies it at its own event time, so the
            // event-time day of the daily-loss check does not jump.
            step.outputs += try publish(core.handle(.killSwitch(on: on, reason: reason, time: eventNow)), cause: command.envelope)
        case .pause, .resume, .retrain:
            break  // Known kinds that risk does not act on (docs/topics.md): not an error.
        case .unspecified, .UNRECOGNIZED:
            // An unknown kind may be a command risk should obey (a newer schema): never ignore it silently.
            throw RejectedMessage(.invalid, "control command \(command.envelope.id) has unknown kind \(command.kind.rawValue)")
        }
        return step
    }

    public mutating func tick() throws -> StageStep { try release() }

    /// Releases every decision whose turn has come.
    private mutating func release() throws -> StageStep {
        var step = StageStep()
        while let (symbol, head) = nextCandidate(), isReleasable(symbol: symbol, time: head.decision.time) {
            queues[symbol]!.removeFirst()
            eventNow = max(eventNow, head.decision.time)
            // 1. Final reports of this symbol's earlier orders, in decision-time order.
            let due = awaiting.filter { $0.value.symbol == symbol && $0.value.time < head.decision.time }
                .sorted { ($0.value.time, $0.key) < ($1.value.time, $1.key) }
            for (id, _) in due {
                guard let report = reports.removeValue(forKey: id) else { continue }
                awaiting[id] = nil
                applied.insert(id)
                for event in report.events { step.outputs += try publish(core.handle(event), cause: head.envelope) }
                if let p = report.position { step.completed.append(p) }
            }
            // 2. The mark and the decision.
            step.outputs += try publish(core.handle(.mark(symbol: symbol, price: head.decision.referencePrice, time: head.decision.time)),
                                        cause: head.envelope)
            step.outputs += try publish(core.handle(.decision(head.decision)), cause: head.envelope)
            touchedSymbols.insert(symbol)
            if let p = head.position { step.completed.append(p) }
        }
        // Reports of orders already applied (redeliveries) complete at once.
        for (id, report) in reports where applied.contains(id) {
            reports[id] = nil
            if let p = report.position { step.completed.append(p) }
        }
        return step
    }

    private func nextCandidate() -> (Symbol, Held)? {
        var best: (Symbol, Held)?
        for (symbol, queue) in queues {
            guard let head = queue.first else { continue }
            if let b = best, (b.1.decision.time, b.0) <= (head.decision.time, symbol) { continue }
            best = (symbol, head)
        }
        return best
    }

    private mutating func isReleasable(symbol: Symbol, time: Nanos) -> Bool {
        var waitedOut = false
        for (other, seen) in latest where other != symbol && seen < time && !inputEnded {
            // While rebuilding, never release on a timeout: the original run decides what happened.
            guard !replayingNow, queues[other]?.isEmpty ?? true, let idleTimeout,
                  let arrived = lastArrival[other], ContinuousClock.now - arrived >= idleTimeout else { return false }
            waitedOut = true
        }
        for (id, order) in awaiting where order.symbol == symbol && order.time < time && reports[id] == nil {
            return false
        }
        if waitedOut { idleReleases += 1 }
        return true
    }

    /// Turns the core's actions into records (nothing while rebuilding, except remembering approvals).
    ///
    /// Throws when a record cannot be encoded: the core has already counted the order as approved, so the batch
    /// must fail (nothing of it is committed; the restarted stage rebuilds and handles it again) rather than
    /// lose the order.
    private mutating func publish(_ actions: [RiskAction], cause: Quorum_V1_Envelope) throws -> [OutgoingMessage] {
        var out: [OutgoingMessage] = []
        for action in actions {
            switch action {
            case .approve(let order):
                awaiting[order.clientOrderID] = (order.symbol, order.time)
                let sequence = (sequences[order.symbol] ?? 0) + 1
                sequences[order.symbol] = sequence
                guard !replayingNow else { continue }
                let w = order.wire(stamp: stamp, cause: cause, sequence: sequence)
                out.append(try OutgoingMessage(topic: approvedTopic, key: order.clientOrderID, message: w, eventTimeNs: order.time))
            case .deny(let denial):
                guard !replayingNow else { continue }
                pendingDenials.append(denial)
                let w = denial.wire(stamp: stamp, cause: cause)
                out.append(try OutgoingMessage(topic: deniedTopic, key: denial.clientOrderID, message: w, eventTimeNs: denial.time))
            case .killSwitchChanged(let status):
                guard !replayingNow else { continue }
                pendingKill = (status.active, status.reason)
                var alert = Quorum_V1_Alert()
                alert.envelope = stamp.envelope(id: "ks-\(status.time)-\(status.active)", tsEvent: status.time, cause: cause)
                alert.severity = status.active ? .critical : .info
                alert.source = "quorum-risk"
                alert.code = status.active ? "KILL_SWITCH_ON" : "KILL_SWITCH_OFF"
                alert.message = status.reason
                out.append(try OutgoingMessage(topic: alertsTopic, key: alert.source, message: alert, eventTimeNs: status.time))
            }
        }
        return out
    }

    public mutating func persist() async throws {
        if let denialSink, !pendingDenials.isEmpty {
            try await denialSink.record(pendingDenials)
        }
        pendingDenials = []
        if let hotState, !touchedSymbols.isEmpty || pendingKill != nil {
            // The stored exposure counts the execution reports held back until their symbol's next decision (event-time
            // order) as applied: it is what the ledger shows once they are, so `quorum summary` can compare the two.
            var settled = core
            for held in reports.values { for event in held.events { _ = settled.handle(event) } }
            for symbol in touchedSymbols.sorted() {
                try await hotState.setExposure(symbol: symbol.name, quantity: settled.exposure(symbol))
            }
            if let kill = pendingKill { try await hotState.setKillSwitch(on: kill.on, reason: kill.reason) }
        }
        touchedSymbols = []
        pendingKill = nil
    }
}
