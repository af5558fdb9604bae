import DequeModule
import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumModel
import QuorumProto
import QuorumRisk
import QuorumStrategy

/// The backtest's fast path: the cluster's stage cores (features → inference → consensus → risk → paper execution)
/// called on typed values, without wire messages. `EventTimeDriver` runs the stages' `StageLogic`s on messages; this
/// driver runs the same cores in the same event-time order, with the same glue the stages have between them, so it
/// makes the same decisions, orders and fills (`EngineParityTests` compare the two on every kind of run). What it does
/// not make are the records themselves: a run that wants their digests goes through `EventTimeDriver`.
///
/// It runs in two parts, as the cluster's data flows:
/// - `SignalStage`: each bar to the features core, each warm vector to inference (a prediction) and consensus (a
///   decision). What it decides depends on the bars and the models only, never on the account.
/// - `AccountStage`: each bar to the paper exchange (fills of earlier orders), each decision to risk's `RiskSequencer`,
///   each approval to the exchange and each final report back to risk, as the stages pass them on.
///
/// Bars go in grouped by close time; a group's bars reach both parts before its decisions reach risk (the cores do not
/// depend on how the two interleave: the paper exchange fills an order at the first bar opening at or after it
/// whichever arrives first, and the sequencer puts risk's inputs in one order). On a long run the signal part runs
/// ahead on a second task, a few thousand bars at a time, while the account part follows: the same results, on two
/// cores. Model activations scheduled at an event time (walk-forward's folds) take effect before the bars closing then.
/// Where a stage would dead-letter its input (a bar the features spec does not fit, a vector a model cannot score, an
/// order of no quantity, a model artifact that does not load), the driver counts a dead letter and goes on.
public struct DirectDriver: Sendable {
    private var signals: SignalStage
    private var account: AccountStage

    /// Runs with at least this many bars pipeline the two parts on two tasks.
    let pipelineThreshold: Int
    /// Bars per chunk handed from the signal part to the account part (whole close-time groups: at least one).
    let chunkBars: Int

    /// - Parameters:
    ///   - pipeline: the stages' settings, as `InProcessPipeline.stages` builds them.
    ///   - symbols: the symbols risk's order waits for from the start.
    ///   - sequenceModelsArrive: whether a scheduled activation serves a sequence model (its symbol's recent vectors are
    ///     then kept from the start, as the inference stage always keeps them).
    ///   - pipelineThreshold: runs with at least this many bars pipeline the two parts on two tasks.
    ///   - chunkBars: bars per chunk handed from the signal part to the account part.
    public init(pipeline: InProcessPipeline, symbols: [Symbol], sequenceModelsArrive: Bool = false,
                pipelineThreshold: Int = 50_000, chunkBars: Int = 4_096) {
        self.pipelineThreshold = pipelineThreshold
        self.chunkBars = chunkBars
        signals = SignalStage(pipeline: pipeline, sequenceModelsArrive: sequenceModelsArrive)
        account = AccountStage(pipeline: pipeline, symbols: symbols)
    }

    public var exchange: PaperExchange { account.exchange }
    /// What execution and risk recorded: every order state change, the fills, the denials (in the cluster: Postgres).
    public var orderRows: [OrderRow] { account.orderRows }
    public var fills: [Fill] { account.fills }
    public var denials: [OrderDenial] { account.denials }
    /// Decisions made (the `decisions` records the stages would publish).
    public var decisions: Int { signals.decisions }
    /// Inputs a stage would have dead-lettered.
    public var deadLetters: Int { signals.deadLetters + account.deadLetters }

    /// Bars that only the features core sees (walk-forward's warm-up before the first traded bar). Like the separate
    /// features stage `Backtest` runs for them on messages, nothing of them is counted or kept but the indicators' state.
    public mutating func warmUp(_ bars: [ArchivedBarRecord]) { signals.warmUp(bars) }

    /// Models put in service at an event time.
    public struct ScheduledModels: Sendable {
        public var time: Nanos
        /// nil: an activation whose artifact did not load (a dead letter).
        public var models: [ServedModel?]

        public init(time: Nanos, models: [ServedModel?]) {
            self.time = time
            self.models = models
        }
    }

    /// Runs the bars, then tells risk the input has ended (it releases what it still holds, as `EventTimeDriver` does).
    /// Each `scheduled` activation (in time order) takes effect before the first bars closing at or after its time.
    /// `progress` is called after each close time with the bars done so far.
    public mutating func run(_ bars: [ArchivedBarRecord], scheduled: [ScheduledModels] = [], progress: ((Int) -> Void)? = nil) async {
        if bars.count >= pipelineThreshold {
            await runPipelined(bars, scheduled: scheduled, progress: progress)
        } else {
            var decided: [RiskDecision] = []
            var index = 0
            var groups = 0
            var schedule = Schedule(scheduled)
            while index < bars.count {
                let end = Self.groupEnd(bars, from: index)
                schedule.activate(upTo: bars[index].bar.closeTime, in: &signals)
                decided.removeAll(keepingCapacity: true)
                signals.group(bars[index..<end], into: &decided)
                account.group(bars[index..<end], decisions: decided[...])
                index = end
                progress?(index)
                groups += 1
                if groups % 4096 == 0 { await Task.yield() }  // share the cooperative pool with the process's other tasks
            }
        }
        account.finish()
    }

    /// The signal part on its own task, a chunk of groups ahead; the account part here. A chunk is whole groups.
    private mutating func runPipelined(_ bars: [ArchivedBarRecord], scheduled: [ScheduledModels], progress: ((Int) -> Void)?) async {
        let channel = ChunkChannel<SignalChunk>(capacity: 4)
        let chunkBars = chunkBars
        let producer = Task { [signals] in
            var signals = signals
            var schedule = Schedule(scheduled)
            var index = 0
            while index < bars.count {
                var chunk = SignalChunk()
                while index < bars.count, chunk.ends.count == 0 || index - chunk.start < chunkBars {
                    if chunk.ends.isEmpty { chunk.start = index }
                    let end = Self.groupEnd(bars, from: index)
                    schedule.activate(upTo: bars[index].bar.closeTime, in: &signals)
                    signals.group(bars[index..<end], into: &chunk.decisions)
                    chunk.ends.append(end)
                    chunk.decisionEnds.append(chunk.decisions.count)
                    index = end
                }
                await channel.send(chunk)
            }
            await channel.finish()
            return signals
        }
        while let chunk = await channel.receive() {
            var start = chunk.start
            var first = 0
            for (end, decisionEnd) in zip(chunk.ends, chunk.decisionEnds) {
                account.group(bars[start..<end], decisions: chunk.decisions[first..<decisionEnd])
                start = end
                first = decisionEnd
                progress?(end)
            }
        }
        signals = await producer.value
    }

    /// The index after the group of bars closing at the same time as `bars[from]`.
    private static func groupEnd(_ bars: [ArchivedBarRecord], from index: Int) -> Int {
        let close = bars[index].bar.closeTime
        var end = index + 1
        while end < bars.count, bars[end].bar.closeTime == close { end += 1 }
        return end
    }

    /// Consecutive groups' decisions: group k spans `bars[ends[k-1]..<ends[k]]` (from `start`) and
    /// `decisions[decisionEnds[k-1]..<decisionEnds[k]]`.
    private struct SignalChunk: Sendable {
        var start = 0
        var ends: [Int] = []
        var decisions: [RiskDecision] = []
        var decisionEnds: [Int] = []
    }

    /// The scheduled activations not yet applied.
    private struct Schedule {
        let entries: [ScheduledModels]
        var next = 0

        init(_ entries: [ScheduledModels]) { self.entries = entries }

        mutating func activate(upTo close: Nanos, in signals: inout SignalStage) {
            while next < entries.count, entries[next].time <= close {
                for served in entries[next].models { signals.activate(served) }
                next += 1
            }
        }
    }
}

/// Features → inference → consensus on typed values: a close-time group of bars in, risk's view of the decisions out.
struct SignalStage: Sendable {
    private var features: FeaturesCore
    private let columns: FeatureColumns
    /// Per symbol, the part of its vectors' ids before the bar time (`FeatureVector.wireID`); found by a scan.
    private var idPrefixes: [(symbol: Symbol, prefix: String)] = []
    private let idSuffix: String
    private var inference: InferenceCore?
    private var consensus: ConsensusCore
    private var vectors: [FeatureVector] = []
    /// The spec's version when it has no cross-asset entries (each bar's vector then goes into `row`); nil otherwise.
    private let rowSpecVersion: UInt32?
    /// One vector's values, reused bar after bar.
    private var row: [Double]
    private(set) var decisions = 0
    private(set) var deadLetters = 0

    init(pipeline: InProcessPipeline, sequenceModelsArrive: Bool) {
        features = FeaturesCore(spec: pipeline.featureSpec)
        columns = FeatureColumns(pipeline.featureSpec.names)
        idSuffix = "-\(pipeline.featureSpec.name)-\(pipeline.featureSpec.versionHex)"
        rowSpecVersion = pipeline.featureSpec.referencedSymbols.isEmpty ? pipeline.featureSpec.version : nil
        row = [Double](repeating: .nan, count: pipeline.featureSpec.names.count)
        if !pipeline.models.isEmpty || pipeline.modelsArrive {
            let sequences = sequenceModelsArrive || pipeline.models.contains { $0.model.sequenceLength > 1 }
            inference = InferenceCore(models: pipeline.models, keepsHistory: sequences)
        }
        consensus = ConsensusCore(config: pipeline.consensus, rules: pipeline.rules)
    }

    mutating func warmUp(_ bars: [ArchivedBarRecord]) {
        for r in bars {
            do { _ = try features.handle(r.bar) } catch { continue }  // that stage's dead letter: not the run's
        }
    }

    mutating func activate(_ served: ServedModel?) {
        guard let served else {
            deadLetters += 1
            return
        }
        _ = inference?.activate(served)
    }

    /// One close time's bars: their vectors, then each warm one's decision (as risk reads it) appended to `out`.
    mutating func group(_ bars: ArraySlice<ArchivedBarRecord>, into out: inout [RiskDecision]) {
        if let version = rowSpecVersion {
            // A spec without cross-asset entries: each bar's vector depends on its own symbol's bars only, so each bar's
            // decision can follow its vector at once (the same decisions in the same order as vectors first, then
            // decisions). The vector goes into one reused row (`FeaturesCore.update(_:into:)`, what `handle` computes
            // without the action and array per bar); a core that keeps a snapshot's values copies them on write.
            for k in bars.indices {
                let warm: Bool?
                do {
                    warm = try row.withUnsafeMutableBufferPointer { buffer throws(FeatureSpecError) in
                        try features.update(bars[k].bar, into: buffer.baseAddress!)
                    }
                } catch {
                    deadLetters += 1
                    continue
                }
                guard warm == true else { continue }
                decide(symbol: bars[k].bar.symbol, time: bars[k].bar.closeTime, close: bars[k].bar.close, values: row,
                       specVersion: version, into: &out)
            }
            return
        }
        vectors.removeAll(keepingCapacity: true)
        for k in bars.indices {
            do {
                for case .publish(let v) in try features.handle(bars[k].bar) { vectors.append(v) }
            } catch {
                deadLetters += 1
            }
        }
        for vector in vectors where vector.isWarm {
            decide(symbol: vector.symbol, time: vector.barCloseTime, close: vector.close, values: vector.values,
                   specVersion: vector.specVersion, into: &out)
        }
    }

    private mutating func decide(symbol: Symbol, time: Nanos, close: Fixed, values: [Double], specVersion: UInt32,
                                 into out: inout [RiskDecision]) {
        let prefix = idPrefixes.first { $0.symbol == symbol }?.prefix ?? {
            idPrefixes.append((symbol, "fv-\(symbol.name)-"))
            return idPrefixes[idPrefixes.count - 1].prefix
        }()
        let snapshot = FeatureSnapshot(idPrefix: prefix, idNumber: time, idSuffix: idSuffix, symbol: symbol,
                                       time: time, close: close, values: FeatureValues(columns: columns, values: values))
        var prediction: MLPrediction?
        if inference != nil {
            do {
                if let scored = try inference!.score(symbol: symbol, values: values, specVersion: specVersion) {
                    prediction = MLPrediction(id: MLPrediction.id(symbol: symbol.name, time: time, modelVersion: scored.served.version),
                                              symbol: symbol, time: time, probUp: scored.probUp,
                                              confidence: scored.confidence, modelID: scored.served.modelID)
                }
            } catch {
                deadLetters += 1
            }
        }
        if consensus.config.rulesOnly {
            // What `handle(.features(snapshot))` does in rules-only mode, without the signal actions.
            decisions += 1
            out.append(consensus.decision(features: snapshot, prediction: nil).riskDecision)
        } else {
            for case .decision(let d) in consensus.handle(.features(snapshot)) {
                decisions += 1
                out.append(d.riskDecision)
            }
        }
        if let prediction {
            for case .decision(let d) in consensus.handle(.prediction(prediction)) {
                decisions += 1
                out.append(d.riskDecision)
            }
        }
    }
}

/// Risk and the paper exchange on typed values: the account's side of a group (its bars, then its decisions).
struct AccountStage: Sendable {
    private(set) var risk: RiskSequencer
    private(set) var exchange: PaperExchange
    /// The decision of each order still open (its order rows name it).
    private var decisionIDs: [String: String] = [:]
    private(set) var orderRows: [OrderRow] = []
    private(set) var fills: [Fill] = []
    private(set) var denials: [OrderDenial] = []
    private(set) var deadLetters = 0
    private var scratch: [RiskSequencer.Output] = []

    init(pipeline: InProcessPipeline, symbols: [Symbol]) {
        risk = RiskSequencer(core: RiskCore(config: pipeline.risk), expectedSymbols: symbols)
        exchange = PaperExchange(config: pipeline.exchange)
    }

    mutating func group(_ bars: ArraySlice<ArchivedBarRecord>, decisions: ArraySlice<RiskDecision>) {
        for k in bars.indices { execute(exchange.handle(.bar(bars[k].bar))) }
        for d in decisions {
            guard risk.decision(d, tag: 0) else { continue }
            // One buffer for every decision's release (taken while in use: a release inside `apply` makes its own).
            var released = scratch
            scratch = []
            risk.release(into: &released)
            apply(released)
            released.removeAll(keepingCapacity: true)
            scratch = released
        }
    }

    /// The input has ended: risk releases what it still holds, and what that causes runs.
    mutating func finish() {
        var released: [RiskSequencer.Output] = []
        risk.endOfInput(into: &released)
        apply(released)
    }

    /// Risk's released actions: approvals to the exchange, denials recorded.
    private mutating func apply(_ released: [RiskSequencer.Output]) {
        for case .action(let action, _, _) in released {
            switch action {
            case .approve(let intent):
                guard intent.quantity > .zero else {
                    deadLetters += 1  // execution rejects an approval of no quantity
                    continue
                }
                let order = PaperOrder(clientOrderID: intent.clientOrderID, symbol: intent.symbol, side: intent.side,
                                       quantity: intent.quantity, time: intent.time)
                if exchange.status(of: order.clientOrderID) == nil { decisionIDs[order.clientOrderID] = intent.decisionID }
                execute(exchange.handle(.submit(order)))
            case .deny(let denial):
                denials.append(denial)
            case .killSwitchChanged:
                break  // an alert record; nothing in the ledger
            }
        }
    }

    /// The exchange's reports: recorded as execution records them, final ones back to risk (which may release what
    /// waited for them).
    private mutating func execute(_ actions: [ExecutionAction]) {
        guard !actions.isEmpty else { return }
        var released: [RiskSequencer.Output] = []
        for case .report(let report) in actions {
            let id = report.clientOrderID
            orderRows.append(OrderRow(clientOrderID: id, decisionID: decisionIDs[id] ?? "", symbol: report.symbol, side: report.side,
                                      quantity: report.quantity, status: report.status, reason: report.reason, time: report.time))
            if let fill = report.fill { fills.append(fill) }
            guard report.status.isFinal else { continue }
            decisionIDs[id] = nil
            var events: [RiskEvent] = []
            if report.status == .filled, var fill = report.fill {
                fill.time = report.time  // as the report carries it
                events.append(.fill(fill))
            }
            if report.status != .filled { events.append(.orderClosed(clientOrderID: id, time: report.time)) }
            if risk.finalReport(clientOrderID: id, symbol: report.symbol, events: events, tag: 0) {
                risk.release(into: &released)
            }
        }
        apply(released)
    }
}

/// A bounded hand-over between two tasks: `send` waits while `capacity` items are waiting, `receive` while none is;
/// after `finish`, `receive` drains what is left and then returns nil.
actor ChunkChannel<Item: Sendable> {
    private let capacity: Int
    private var items: Deque<Item> = []
    private var finished = false
    private var waitingReceiver: CheckedContinuation<Item?, Never>?
    private var waitingSender: CheckedContinuation<Void, Never>?

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func send(_ item: Item) async {
        while items.count >= capacity { await withCheckedContinuation { waitingSender = $0 } }
        if let receiver = waitingReceiver {
            waitingReceiver = nil
            receiver.resume(returning: item)
        } else {
            items.append(item)
        }
    }

    func finish() {
        finished = true
        waitingReceiver?.resume(returning: nil)
        waitingReceiver = nil
    }

    func receive() async -> Item? {
        if let item = items.popFirst() {
            waitingSender?.resume()
            waitingSender = nil
            return item
        }
        if finished { return nil }
        return await withCheckedContinuation { waitingReceiver = $0 }
    }
}

extension Decision {
    /// Risk's view of the decision, as it reads it from the `decisions` record (`Quorum_V1_Decision.riskDecision`).
    public var riskDecision: RiskDecision {
        let target: PositionTarget?
        switch action {
        case .hold: target = nil
        case .buy, .sell: target = targetDirection == .long ? .long : targetDirection == .short ? .short : .flat
        }
        return RiskDecision(key: key, symbol: symbol, time: time, target: target, confidence: confidence,
                            referencePrice: referencePrice, atr: atr.flatMap { $0 > 0 ? $0 : nil })
    }
}
