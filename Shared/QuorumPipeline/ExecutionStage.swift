import QuorumBus
import QuorumExecution
import QuorumModel
import QuorumProto

/// `quorum-execution` (paper): approved orders and bars in, execution reports out; orders, fills and positions
/// written to the record sink (Postgres) before the reports are published and the inputs committed.
///
/// The paper exchange fills an order at the open of the first bar of its symbol opening at or after the order's
/// time, whichever of the two arrives first, so fills do not depend on delivery timing. Client order ids come
/// from risk (derived from the decision id), so a redelivered approval never creates a second order.
/// State (working orders, ledger, recent bars) is rebuilt from the inputs at start-up. With a hot-state sink, the
/// in-memory book (cash and positions) is stored after the rebuild and after each batch with fills, so the ledger check
/// of `quorum summary` compares what the running stage holds with the Postgres ledger.
public struct ExecutionStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-execution"
    public static let inputTopics: [TopicSpec] = [Topic.ordersApproved, Topic.bars]
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { true }
    let approvedTopic: String
    let reportsTopic: String
    let stamp = EnvelopeStamp(producer: "quorum-execution")
    let records: (any ExecutionRecordSink)?
    let hotState: (any HotStateSink)?
    /// Whether the book changed since it was last stored in the hot state (true at start: the rebuilt book is stored).
    private var bookChanged = true
    public private(set) var exchange: PaperExchange
    /// Envelope of each open order's approval (its causal chain continues in the reports).
    private var causes: [String: Quorum_V1_Envelope] = [:]
    private var decisionIDs: [String: String] = [:]
    /// Next `symbol_sequence` to apply per symbol, and approvals that arrived ahead of their turn.
    private var nextSequence: [Symbol: UInt64] = [:]
    private var early: [Symbol: [UInt64: Early]] = [:]
    /// An approval that arrived ahead of its turn, and where its record sits.
    struct Early: Sendable, Codable {
        var approved: StateWire<Quorum_V1_OrderApproved>
        var position: MessagePosition
    }
    private var pendingOrders: [OrderRow] = []
    private var pendingFills: [Fill] = []

    public init(namer: TopicNamer, config: PaperExchangeConfig = PaperExchangeConfig(), records: (any ExecutionRecordSink)?,
                hotState: (any HotStateSink)? = nil, group: String = defaultGroup) {
        self.group = namer.group(group)
        approvedTopic = namer.name(Topic.ordersApproved)
        inputs = Self.inputTopics.map(namer.name)
        reportsTopic = namer.name(Topic.executionReports)
        self.records = records
        self.hotState = hotState
        exchange = PaperExchange(config: config)
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        if message.topic == approvedTopic {
            let approved = try message.decode(Quorum_V1_OrderApproved.self)
            let order = try approved.paperOrder()
            let sequence = approved.symbolSequence
            let next = nextSequence[order.symbol] ?? 1
            // Risk numbers each symbol's approvals; apply them in that order whatever order they arrive in.
            if sequence > next {
                early[order.symbol, default: [:]][sequence] = Early(approved: StateWire(approved), position: MessagePosition(message))
                return StageStep()
            }
            if sequence != 0 && sequence < next { return .done(message) }  // applied before (redelivery)
            var step = StageStep.done(message, try submit(approved, order, replaying: replaying))
            if sequence != 0 { nextSequence[order.symbol] = sequence + 1 }
            // Approvals that were waiting for this one.
            while let following = nextSequence[order.symbol], let waiting = early[order.symbol]?.removeValue(forKey: following) {
                step.outputs += try submit(waiting.approved.message, try waiting.approved.message.paperOrder(), replaying: replaying)
                step.completed.append(waiting.position)
                nextSequence[order.symbol] = following + 1
            }
            return step
        }
        let bar = try Bar(wire: try message.decode(Quorum_V1_Bar.self))
        return .done(message, try publish(exchange.handle(.bar(bar)), replaying: replaying))
    }

    /// The checkpoint: the paper exchange (ledger, working orders, recent bars), what each open order continues, and the
    /// approvals waiting for their turn. Orders and fills not recorded yet are not in it: a checkpoint is taken after
    /// `persist`.
    struct State: Codable {
        var exchange: PaperExchange.Memory
        var causes: [String: StateWire<Quorum_V1_Envelope>]
        var decisionIDs: [String: String]
        var nextSequence: [Symbol: UInt64]
        var early: [Symbol: [UInt64: Early]]
    }

    public var stateFormat: Int { 1 }

    public func checkpointState() throws -> [UInt8] {
        try Self.encodeState(State(exchange: exchange.memory, causes: causes.mapValues(StateWire.init), decisionIDs: decisionIDs,
                                   nextSequence: nextSequence, early: early))
    }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        let state = try Self.decodeState(State.self, bytes)
        exchange.memory = state.exchange
        causes = state.causes.mapValues(\.message)
        (decisionIDs, nextSequence, early) = (state.decisionIDs, state.nextSequence, state.early)
        bookChanged = true  // the restored book goes to the hot state with the first batch
    }

    private mutating func submit(_ approved: Quorum_V1_OrderApproved, _ order: PaperOrder, replaying: Bool) throws -> [OutgoingMessage] {
        if exchange.status(of: order.clientOrderID) == nil {
            causes[order.clientOrderID] = approved.envelope
            decisionIDs[order.clientOrderID] = approved.intent.decisionID
        }
        return try publish(exchange.handle(.submit(order)), replaying: replaying)
    }

    private mutating func publish(_ actions: [ExecutionAction], replaying: Bool) throws -> [OutgoingMessage] {
        // Position right after each fill: the ledger's position now, minus the fills that came later in this call.
        // Reports that are not fills carry no position (it would depend on what else had arrived).
        var positionAfterFill: [String: Fixed] = [:]
        var running: [Symbol: Fixed] = [:]
        for action in actions.reversed() {
            guard case .report(let r) = action, let fill = r.fill else { continue }
            let now = running[r.symbol] ?? exchange.ledger.position(r.symbol).quantity
            positionAfterFill[fill.fillID] = now
            running[r.symbol] = now - fill.signedQuantity
        }
        var outputs: [OutgoingMessage] = []
        for action in actions {
            guard case .report(let report) = action else { continue }
            let id = report.clientOrderID
            let cause = causes[id]
            let decisionID = decisionIDs[id] ?? ""
            if report.status.isFinal {
                causes[id] = nil
                decisionIDs[id] = nil
            }
            guard !replaying else { continue }
            pendingOrders.append(OrderRow(clientOrderID: id, decisionID: decisionID, symbol: report.symbol, side: report.side,
                                          quantity: report.quantity, status: report.status, reason: report.reason, time: report.time))
            if let fill = report.fill { pendingFills.append(fill) }
            let wire = report.wire(stamp: stamp, cause: cause, positionAfter: report.fill.flatMap { positionAfterFill[$0.fillID] })
            outputs.append(try OutgoingMessage(topic: reportsTopic, key: id, message: wire, eventTimeNs: report.time))
        }
        return outputs
    }

    public mutating func persist() async throws {
        if !pendingOrders.isEmpty || !pendingFills.isEmpty {
            if let records { try await records.apply(orders: pendingOrders, fills: pendingFills) }
            if !pendingFills.isEmpty { bookChanged = true }
            pendingOrders = []
            pendingFills = []
        }
        // After the ledger (the book must never run ahead of the durable record).
        if bookChanged, let hotState {
            let ledger = exchange.ledger
            try await hotState.setExecutionBook(startingCash: ledger.startingCash, cash: ledger.cash,
                                                positions: Dictionary(uniqueKeysWithValues: ledger.positions.map { ($0.key.name, $0.value.quantity) }))
            bookChanged = false
        }
    }
}
