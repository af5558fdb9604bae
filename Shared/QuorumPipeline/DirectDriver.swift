import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumModel
import QuorumProto
import QuorumRisk
import QuorumStrategy

/// The backtest's fast path: the cluster's stage cores (features → inference → consensus → risk → paper execution)
/// called on typed values in one loop, without wire messages. `EventTimeDriver` runs the stages' `StageLogic`s on
/// messages; this driver runs the same cores in the same event-time order, with the same glue the stages have between
/// them, so it makes the same decisions, orders and fills (a test compares the two on every kind of run). What it does
/// not make are the records themselves: a run that wants their digests goes through `EventTimeDriver`.
///
/// - Bars go in grouped by close time: each bar to the features core and the paper exchange (fills of earlier orders),
///   then each warm vector to inference (a prediction) and consensus (a decision), each decision to risk's
///   `RiskSequencer`, each approval to the exchange and each final report back to risk, as the stages pass them on.
/// - Model activations scheduled at an event time (walk-forward's folds) take effect before the bars closing then.
/// - `finish()` tells risk the input has ended, as `EventTimeDriver` does.
/// - Where a stage would dead-letter its input (a bar the features spec does not fit, a vector a model cannot score, an
///   order of no quantity, a model artifact that does not load), the driver counts a dead letter and goes on.
public struct DirectDriver: Sendable {
    private var features: FeaturesCore
    private let columns: FeatureColumns
    /// Per symbol, the part of its vectors' ids before the bar time (`FeatureVector.wireID`); found by a scan.
    private var idPrefixes: [(symbol: Symbol, prefix: String)] = []
    private let idSuffix: String
    private var inference: InferenceCore?
    private var consensus: ConsensusCore
    private var risk: RiskSequencer
    public private(set) var exchange: PaperExchange
    /// The decision of each order still open (its order rows name it).
    private var decisionIDs: [String: String] = [:]

    /// What execution and risk recorded: every order state change, the fills, the denials (in the cluster: Postgres).
    public private(set) var orderRows: [OrderRow] = []
    public private(set) var fills: [Fill] = []
    public private(set) var denials: [OrderDenial] = []
    /// Decisions made (the `decisions` records the stages would publish).
    public private(set) var decisions = 0
    /// Inputs a stage would have dead-lettered.
    public private(set) var deadLetters = 0

    /// - Parameters:
    ///   - pipeline: the stages' settings, as `InProcessPipeline.stages` builds them.
    ///   - symbols: the symbols risk's order waits for from the start.
    ///   - sequenceModelsArrive: whether a scheduled activation serves a sequence model (its symbol's recent vectors are
    ///     then kept from the start, as the inference stage always keeps them).
    public init(pipeline: InProcessPipeline, symbols: [Symbol], sequenceModelsArrive: Bool = false) {
        features = FeaturesCore(spec: pipeline.featureSpec)
        columns = FeatureColumns(pipeline.featureSpec.names)
        idSuffix = "-\(pipeline.featureSpec.name)-\(pipeline.featureSpec.versionHex)"
        if !pipeline.models.isEmpty || pipeline.modelsArrive {
            let sequences = sequenceModelsArrive || pipeline.models.contains { $0.model.sequenceLength > 1 }
            inference = InferenceCore(models: pipeline.models, keepsHistory: sequences)
        }
        consensus = ConsensusCore(config: pipeline.consensus, rules: pipeline.rules)
        risk = RiskSequencer(core: RiskCore(config: pipeline.risk), expectedSymbols: symbols)
        exchange = PaperExchange(config: pipeline.exchange)
    }

    /// Bars that only the features core sees (walk-forward's warm-up before the first traded bar). Like the separate
    /// features stage `Backtest` runs for them on messages, nothing of them is counted or kept but the indicators' state.
    public mutating func warmUp(_ bars: [ArchivedBarRecord]) {
        for r in bars {
            do { _ = try features.handle(r.bar) } catch { continue }  // that stage's dead letter: not the run's
        }
    }

    /// Runs the bars, then `finish()`. Each `scheduled` activation (in time order) takes effect before the first bars
    /// closing at or after its time. `progress` is called after each close time with the bars done so far.
    public mutating func run(_ bars: [ArchivedBarRecord], scheduled: [ScheduledModels] = [], progress: ((Int) -> Void)? = nil) async {
        var index = 0
        var nextScheduled = 0
        var groups = 0
        var vectors: [FeatureVector] = []
        while index < bars.count {
            let close = bars[index].bar.closeTime
            while nextScheduled < scheduled.count, scheduled[nextScheduled].time <= close {
                for served in scheduled[nextScheduled].models { activate(served) }
                nextScheduled += 1
            }
            vectors.removeAll(keepingCapacity: true)
            while index < bars.count, bars[index].bar.closeTime == close {
                let bar = bars[index].bar
                do {
                    for case .publish(let v) in try features.handle(bar) { vectors.append(v) }
                } catch {
                    deadLetters += 1
                }
                execute(exchange.handle(.bar(bar)))
                index += 1
            }
            for vector in vectors where vector.isWarm { decide(vector) }
            progress?(index)
            // A long run shares the cooperative thread pool with the process's other tasks: give them a turn now and then.
            groups += 1
            if groups % 4096 == 0 { await Task.yield() }
        }
        finish()
    }

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

    private mutating func activate(_ served: ServedModel?) {
        guard let served else {
            deadLetters += 1
            return
        }
        _ = inference?.activate(served)
    }

    /// One warm vector through inference and consensus, and its decision through risk.
    private mutating func decide(_ vector: FeatureVector) {
        let symbol = vector.symbol
        let prefix = idPrefixes.first { $0.symbol == symbol }?.prefix ?? {
            idPrefixes.append((symbol, "fv-\(symbol.name)-"))
            return idPrefixes[idPrefixes.count - 1].prefix
        }()
        let snapshot = FeatureSnapshot(id: prefix + String(vector.barCloseTime) + idSuffix, symbol: symbol,
                                       time: vector.barCloseTime, close: vector.close,
                                       values: FeatureValues(columns: columns, values: vector.values))
        var prediction: MLPrediction?
        if inference != nil {
            do {
                if let scored = try inference!.score(symbol: symbol, values: vector.values, specVersion: vector.specVersion) {
                    prediction = MLPrediction(id: MLPrediction.id(symbol: symbol.name, time: vector.barCloseTime, modelVersion: scored.served.version),
                                              symbol: symbol, time: vector.barCloseTime, probUp: scored.probUp,
                                              confidence: scored.confidence, modelID: scored.served.modelID)
                }
            } catch {
                deadLetters += 1
            }
        }
        var actions = consensus.handle(.features(snapshot))
        if let prediction { actions += consensus.handle(.prediction(prediction)) }
        var released: [RiskSequencer.Output] = []
        for case .decision(let d) in actions {
            decisions += 1
            guard risk.decision(d.riskDecision, tag: 0) else { continue }
            risk.release(into: &released)
        }
        apply(released)
    }

    /// The input has ended: risk releases what it still holds, and what that causes runs.
    public mutating func finish() {
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

    /// Risk's final state.
    public var riskCore: RiskCore { risk.core }
}

extension Decision {
    /// Risk's view of the decision, as it reads it from the `decisions` record (`Quorum_V1_Decision.riskDecision`).
    public var riskDecision: RiskDecision {
        let target: PositionTarget?
        switch action {
        case .hold: target = nil
        case .buy, .sell: target = targetDirection == .long ? .long : targetDirection == .short ? .short : .flat
        }
        return RiskDecision(id: id, symbol: symbol, time: time, target: target, confidence: confidence,
                            referencePrice: referencePrice, atr: atr.flatMap { $0 > 0 ? $0 : nil })
    }
}
