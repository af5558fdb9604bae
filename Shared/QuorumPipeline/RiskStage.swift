import QuorumBus
import QuorumModel
import QuorumProto
import QuorumRisk

/// `quorum-risk`: sizes decisions into orders, enforces the limits, publishes approvals and denials.
///
/// Risk's state is shared by all symbols, so the order in which it sees decisions of different symbols matters; the
/// cluster delivers them from several partitions in any order. The stage puts its inputs through a `RiskSequencer`
/// (event-time order `(time, symbol)`, each symbol's earlier fills applied before its next decision; see there), the
/// one a backtest uses too. The only wall time: in the cluster a decision also goes once another symbol has been silent
/// for `idleTimeout` (a stream that stopped must not hold the others; only when a stream stalls for longer than the
/// timeout). A backtest passes no timeout and calls `endOfInput()` when its bars are done, so it never reads the clock.
///
/// The result: the same decisions give byte-identical orders (ids and quantities) on every run, replay and
/// restart. The state is rebuilt from the inputs at start-up.
public struct RiskStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-risk"
    public static let inputTopics: [TopicSpec] = [Topic.decisions, Topic.executionReports, Topic.control]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { true }
    public var wantsTicks: Bool { idleTimeout != nil && sequencer.isHolding }
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

    /// A decision's envelope (the cause of what it produces) and where its record sits.
    struct Cause: Sendable, Codable {
        var envelope: Quorum_V1_Envelope
        var position: MessagePosition

        init(envelope: Quorum_V1_Envelope, position: MessagePosition) {
            self.envelope = envelope
            self.position = position
        }

        private enum CodingKeys: String, CodingKey { case envelope, position }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            envelope = try c.decode(StateWire<Quorum_V1_Envelope>.self, forKey: .envelope).message
            position = try c.decode(MessagePosition.self, forKey: .position)
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(StateWire(envelope), forKey: .envelope)
            try c.encode(position, forKey: .position)
        }
    }

    /// The checkpoint: the sequencer (held decisions and reports, the core's positions, cash, kill switch, …) and what
    /// each held input stands for. Denials, exposure and kill-switch changes not persisted yet are not in it: a
    /// checkpoint is taken after `persist`.
    struct State: Codable {
        var sequencer: RiskSequencer.Memory
        var causes: [RiskSequencer.Tag: Cause]
        var reportPositions: [RiskSequencer.Tag: MessagePosition]
        var nextTag: RiskSequencer.Tag
    }

    public var stateFormat: Int { 1 }

    public func checkpointState() throws -> [UInt8] {
        try Self.encodeState(State(sequencer: sequencer.memory, causes: causes, reportPositions: reportPositions, nextTag: nextTag))
    }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        let state = try Self.decodeState(State.self, bytes)
        sequencer.memory = state.sequencer
        (causes, reportPositions, nextTag) = (state.causes, state.reportPositions, state.nextTag)
        // Silence is measured from the restart: a symbol that stays silent lets the others go after the idle timeout.
        if idleTimeout != nil {
            let now = ContinuousClock.now
            for symbol in sequencer.symbols { lastArrival[symbol] = now }
        }
    }
    private var sequencer: RiskSequencer
    /// What each tag handed to the sequencer stands for, until the sequencer gives it back.
    private var causes: [RiskSequencer.Tag: Cause] = [:]
    private var reportPositions: [RiskSequencer.Tag: MessagePosition] = [:]
    private var nextTag: RiskSequencer.Tag = 0
    public var core: RiskCore { sequencer.core }
    /// Approvals and denials published since the stage started (a rebuild's are not counted): the service's metrics.
    public private(set) var counts = RiskCounts()
    private var lastArrival: [Symbol: ContinuousClock.Instant] = [:]
    private var pendingDenials: [OrderDenial] = []
    private var pendingKill: (on: Bool, reason: String)?
    private var touchedSymbols: Set<Symbol> = []
    private var replayingNow = false

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
        sequencer = RiskSequencer(core: RiskCore(config: config), expectedSymbols: expectedSymbols)
        if idleTimeout != nil {
            let now = ContinuousClock.now
            for symbol in expectedSymbols { lastArrival[symbol] = now }
        }
    }

    /// The input has ended (a backtest's last bar is through): every held decision whose earlier orders are
    /// settled is released in event-time order, without waiting for the other symbols.
    public mutating func endOfInput() throws -> StageStep {
        var out: [RiskSequencer.Output] = []
        sequencer.endOfInput(into: &out)
        return try step(out)
    }

    /// Decisions released because another symbol was silent for `idleTimeout` (wall time), not in strict event-time order.
    public var idleReleases: Int { sequencer.idleReleases }

    /// Decisions held back, waiting for their turn.
    public var heldDecisions: Int { sequencer.heldDecisions }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        replayingNow = replaying
        let position = MessagePosition(message)
        if message.topic == decisionsTopic {
            let wire = try message.decode(Quorum_V1_Decision.self)
            let decision = try wire.riskDecision()
            // A decision not later than the last one of its symbol is a redelivery: already queued or released.
            nextTag += 1
            guard sequencer.decision(decision, tag: nextTag) else { return .done(message) }
            causes[nextTag] = Cause(envelope: wire.envelope, position: position)
            if idleTimeout != nil { lastArrival[decision.symbol] = .now }
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
            guard report.isFinal else { return .done(message) }
            var events: [RiskEvent] = []
            if let fill = try report.fill() { events.append(.fill(fill)) }
            if report.status != .filled { events.append(.orderClosed(clientOrderID: id, time: report.envelope.tsEventNs)) }
            // Held until the next decision of its symbol is released; its offset stays uncommitted meanwhile, so a
            // restart loses nothing.
            nextTag += 1
            guard sequencer.finalReport(clientOrderID: id, symbol: Symbol(report.symbol), events: events, tag: nextTag) else {
                return .done(message)
            }
            reportPositions[nextTag] = position
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
            step.outputs += try publish(sequencer.killSwitch(on: on, reason: reason), cause: command.envelope)
        case .pause, .resume, .retrain:
            break  // Known kinds that risk does not act on (docs/topics.md): not an error.
        case .unspecified, .UNRECOGNIZED:
            // An unknown kind may be a command risk should obey (a newer schema): never ignore it silently.
            throw RejectedMessage(.invalid, "control command \(command.envelope.id) has unknown kind \(command.kind.rawValue)")
        }
        return step
    }

    public mutating func tick() throws -> StageStep { try release() }

    /// Releases every decision whose turn has come (in the cluster also those another symbol's silence let go).
    private mutating func release() throws -> StageStep {
        var out: [RiskSequencer.Output] = []
        let replaying = replayingNow
        let timeout = idleTimeout
        let arrivals = lastArrival
        sequencer.release(into: &out) { other in
            // While rebuilding, never release on a timeout: the original run decides what happened.
            guard !replaying, let timeout, let arrived = arrivals[other] else { return false }
            return ContinuousClock.now - arrived >= timeout
        }
        return try step(out)
    }

    /// Turns what the sequencer released into records and completed positions.
    private mutating func step(_ out: [RiskSequencer.Output]) throws -> StageStep {
        var step = StageStep()
        for item in out {
            switch item {
            case .action(let action, let tag, let sequence):
                guard let cause = causes[tag] else { preconditionFailure("risk sequencer: an action of unknown decision \(tag)") }
                step.outputs += try publish([action], cause: cause.envelope, sequence: sequence)
            case .decided(let symbol, let tag):
                touchedSymbols.insert(symbol)
                if let cause = causes.removeValue(forKey: tag) { step.completed.append(cause.position) }
            case .reportDone(let tag):
                if let p = reportPositions.removeValue(forKey: tag) { step.completed.append(p) }
            }
        }
        return step
    }

    /// Turns the core's actions into records (nothing while rebuilding: what they did is already durable).
    ///
    /// Throws when a record cannot be encoded: the core has already counted the order as approved, so the batch
    /// must fail (nothing of it is committed; the restarted stage rebuilds and handles it again) rather than
    /// lose the order.
    private mutating func publish(_ actions: [RiskAction], cause: Quorum_V1_Envelope, sequence: UInt64? = nil) throws -> [OutgoingMessage] {
        guard !replayingNow else { return [] }
        var out: [OutgoingMessage] = []
        for action in actions {
            switch action {
            case .approve(let order):
                counts.approved += 1
                let w = order.wire(stamp: stamp, cause: cause, sequence: sequence ?? 0)
                out.append(try OutgoingMessage(topic: approvedTopic, key: order.clientOrderID, message: w, eventTimeNs: order.time))
            case .deny(let denial):
                pendingDenials.append(denial)
                counts.denied[denial.reason, default: 0] += 1
                let w = denial.wire(stamp: stamp, cause: cause)
                out.append(try OutgoingMessage(topic: deniedTopic, key: denial.clientOrderID, message: w, eventTimeNs: denial.time))
            case .killSwitchChanged(let status):
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
            let settled = sequencer.settledCore
            for symbol in touchedSymbols.sorted() {
                try await hotState.setExposure(symbol: symbol.name, quantity: settled.exposure(symbol))
            }
            if let kill = pendingKill { try await hotState.setKillSwitch(on: kill.on, reason: kill.reason) }
        }
        touchedSymbols = []
        pendingKill = nil
    }
}

/// What risk decided, counted: approvals, and denials by reason.
public struct RiskCounts: Sendable, Equatable {
    public var approved = 0
    public var denied: [RiskCode: Int] = [:]

    public init() {}
}
