import Foundation
import QuorumAnalytics
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto

/// `quorum walk-forward`: models trained only on the past, traded on what follows (docs/backtest.md, "Walk-forward").
///
/// 1. The data's span is cut into folds (`WalkForwardPlan`: rolling or expanding training windows, a test window after
///    each; purge and embargo by event time).
/// 2. Each fold × candidate × symbol is a training job built by `TrainingJobs.make` and trained by `TrainerCore` —
///    the job path of the cluster's trainers — on the feature rows that `quorum-features` would serve (one feature
///    engine over the whole data, so rows are the served vectors, not a fresh warm-up). The training window's last
///    `validation_fraction` validates; validation ends before the test window so that no label reaches into it. Jobs
///    run on a pool of workers.
/// 3. Per fold and symbol the candidate with the best validation log-loss gain that passes the validation gate is
///    activated at the fold's test start *in event time* (a `models` event, as the trainers publish); when none
///    passes, the previous fold's model keeps serving (none before the first).
/// 4. One backtest (`Backtest`, the cluster's stages) trades from the first test window's start to the last one's end,
///    its features warmed up on every bar before: the out-of-sample equity is the test windows, back to back.
/// 5. With several candidates, each candidate is also traded alone; their out-of-sample returns give the
///    probability of backtest overfitting (CSCV) and the deflated Sharpe ratio's trials and their Sharpe variance.
public struct WalkForward: Sendable {
    public let config: BacktestConfig
    public internal(set) var settings: WalkForwardSettings

    public init(config: BacktestConfig) throws(BacktestError) {
        guard let settings = config.walkForward else {
            throw BacktestError(.invalidValue, "the config has no walk_forward section; add one (docs/backtest.md, \"Walk-forward\"), "
                                + "e.g. \"walk_forward\": {\"train\": \"60d\", \"test\": \"30d\"}")
        }
        self.config = config
        self.settings = settings
    }

    /// Where a long run is.
    public enum Progress: Sendable {
        case training(done: Int, total: Int)
        /// Trading run `run` of `runs` (each candidate alone, then the selected models), bars done of `bars`.
        case trading(run: Int, runs: Int, done: Int, bars: Int)
    }

    /// The training half of a walk-forward: the folds, each symbol's feature rows, the jobs and their outcomes, and
    /// the model each symbol serves in each fold (`selected`, fold-major). `quorum features report` stops here.
    struct Models: Sendable {
        let folds: [WalkForwardFold]
        let intervalSeconds: Int64
        let rows: [Symbol: [PriceFeatureRow]]
        let jobs: [Job]
        let outcomes: [JobKey: TrainingOutcome]
        let selected: [ServedSlot?]
    }

    func trainModels(_ data: BacktestData, runner: (any TrainingJobRunner)? = nil, progress: ((Progress) -> Void)? = nil) async throws -> Models {
        try data.check(config.featureSpec)
        let interval = try Self.interval(of: data)
        let folds = try self.folds(data)

        let rows = try Self.featureRows(data, spec: config.featureSpec)
        let jobs = try makeJobs(folds: folds, symbols: data.symbols, intervalSeconds: interval, idPrefix: jobPrefix(data))
        let outcomes = if let runner { try await train(jobs, rows: rows, on: runner, progress: progress) }
            else { await train(jobs, rows: rows, progress: progress) }
        let candidates = settings.candidates.count

        // The served model of every fold and symbol: the best candidate that passes the gate.
        let selected = Self.served(folds: folds, symbols: data.symbols) { fold, symbol in
            let trained = (0..<candidates).compactMap { c -> (Int, TrainingResult)? in
                guard let r = outcomes[JobKey(fold: fold, symbol: symbol, candidate: c)]?.result, r.verdict.passed else { return nil }
                return (c, r)
            }
            // Best gain; the lower candidate index on ties.
            return trained.max { a, b in
                let ga = a.1.registryMetrics[TrainingResult.activationMetric] ?? -.infinity
                let gb = b.1.registryMetrics[TrainingResult.activationMetric] ?? -.infinity
                return ga != gb ? ga < gb : a.0 > b.0
            }.map { (candidate: $0.0, result: $0.1) }
        }
        return Models(folds: folds, intervalSeconds: interval, rows: rows, jobs: jobs, outcomes: outcomes, selected: selected)
    }

    /// Runs the walk-forward. `runner`: where the jobs train — nil for the trainer core on a local pool, or the cluster's
    /// trainer workers (`quorum walk-forward --cluster`): each job goes out as a trial that returns its model, and the
    /// model is measured here on the same rows with this run's gate (`TrainerCore.result(of:job:rows:)`), so the run is
    /// the one a local pool gives when the trainers' archive holds the same bars.
    public func run(_ data: BacktestData, runner: (any TrainingJobRunner)? = nil, progress: ((Progress) -> Void)? = nil) async throws -> WalkForwardResult {
        let models = try await trainModels(data, runner: runner, progress: progress)
        let (folds, interval, rows, jobs, outcomes, selected) = (models.folds, models.intervalSeconds, models.rows, models.jobs,
                                                                  models.outcomes, models.selected)
        let candidates = settings.candidates.count
        let alone: [[ServedSlot?]] = candidates < 2 ? [] : (0..<candidates).map { c in
            Self.served(folds: folds, symbols: data.symbols) { fold, symbol in
                outcomes[JobKey(fold: fold, symbol: symbol, candidate: c)]?.result.map { (candidate: c, result: $0) }
            }
        }

        let (tested, warmUp) = Self.tradingData(data, folds: folds)
        let runs = 1 + alone.count
        var candidateReturns: [[Double]] = []
        var candidateSummaries: [WalkForwardResult.CandidateRun] = []
        for (c, slots) in alone.enumerated() {
            let result = try await trade(tested, warmUp: warmUp, folds: folds, slots: slots, config: config) { done in
                progress?(.trading(run: c + 1, runs: runs, done: done, bars: tested.bars.count))
            }
            let returns = ReturnMetrics.returns(equity: result.curve.equity.map(\.doubleValue))
            candidateReturns.append(returns)
            candidateSummaries.append(.init(candidate: c, hyperparameters: settings.candidates[c], sharpe: result.returns.sharpe,
                                            totalReturn: result.returns.totalReturn, maxDrawdown: result.returns.maxDrawdown,
                                            trades: result.tradeSummary.trades))
        }
        // The deflated Sharpe ratio counts every candidate as a trial, with the variance of their Sharpe ratios.
        var tradingConfig = config
        tradingConfig.trials = config.trials * candidates
        if candidates >= 2, config.trialSharpeVariance == 0 {
            let spread = Statistics.standardDeviation(candidateReturns.map(Self.periodSharpe))
            tradingConfig.trialSharpeVariance = spread * spread
        }
        let result = try await trade(tested, warmUp: warmUp, folds: folds, slots: selected, config: tradingConfig) { done in
            progress?(.trading(run: runs, runs: runs, done: done, bars: tested.bars.count))
        }
        let overfitting = Self.overfitting(candidateReturns)
        // The served models scored on each test window (labels made once per symbol); pooled for the whole run.
        var labelled: [Symbol: LabeledDataset] = [:]
        for (symbol, input) in rows { labelled[symbol] = try? LabeledDataset.make(rows: input) }   // no rows: nothing to score
        let scores = folds.map { Self.score($0, symbols: data.symbols, selected: selected, labelled: labelled) }
        let foldOfJob = Dictionary(uniqueKeysWithValues: jobs.map { ($0.spec.jobID, $0.key.fold) })
        let foldReports = zip(folds, scores).map { fold, scored in
            Self.foldReport(fold, window: Self.trainingWindow(fold, validationFraction: settings.validationFraction,
                                                              intervalNs: interval * 1_000_000_000),
                            symbols: data.symbols, selected: selected, scored: scored, result: result, foldOfJob: foldOfJob)
        }
        let pooled = (probabilities: scores.flatMap(\.probabilities), labels: scores.flatMap(\.labels))
        let counted = outcomes.values
        return WalkForwardResult(
            backtest: result, settings: settings, folds: foldReports, candidates: candidateSummaries, overfitting: overfitting,
            modelMetrics: pooled.labels.isEmpty ? nil : ClassificationMetrics.compute(probabilities: pooled.probabilities, labels: pooled.labels),
            reliability: pooled.labels.isEmpty ? nil : Reliability(probabilities: pooled.probabilities, labels: pooled.labels),
            jobs: jobs.count, trained: counted.filter { $0.result?.verdict.passed == true }.count,
            rejected: counted.filter { $0.result.map { !$0.verdict.passed } ?? false }.count,
            failed: counted.filter { $0.failure != nil }.count, allData: data)
    }

    /// The folds over the data: from the first bar's open (so windows start on the data's calendar, e.g. midnight)
    /// to the last bar's close, both ends included. Row and test times are bar close times.
    func folds(_ data: BacktestData) throws(BacktestError) -> [WalkForwardFold] {
        let intervalNs = try Self.interval(of: data) * 1_000_000_000
        let plan = WalkForwardPlan(window: settings.window, trainLength: settings.trainLength, testLength: settings.testLength,
                                   step: settings.step, labelHorizon: intervalNs, embargo: settings.embargo)
        let first = data.bars.map(\.bar.openTime).min()!, last = data.bars.last!.bar.closeTime
        do { return try plan.folds(from: first, to: last + 1) } catch {
            throw BacktestError(.noBars, "walk_forward: \(error.description); shorten walk_forward.train or .test, or widen from/to")
        }
    }

    // MARK: jobs

    struct JobKey: Hashable, Sendable {
        var fold: Int
        var symbol: Symbol
        var candidate: Int
    }

    struct Job: Sendable {
        var key: JobKey
        var wire: Quorum_V1_TrainingJob
        var spec: TrainingJobSpec
    }

    /// Job ids start with this (`wf-<digest of the config and data>-`): a trainer worker that recorded a job of another run
    /// with the same windows and candidate index must not take this run's for it. `walk_forward.workers` is left out of
    /// the digest; it changes no result.
    public func jobPrefix(_ data: BacktestData) -> String {
        var c = config
        c.walkForward?.workers = 0
        return "wf-" + BacktestOutput.runID(config: c, data: data) + "-"
    }

    /// One job per fold × symbol × candidate, made as the cluster makes them (ids prefixed with `idPrefix`).
    func makeJobs(folds: [WalkForwardFold], symbols: [Symbol], intervalSeconds: Int64, idPrefix: String = "") throws(BacktestError) -> [Job] {
        let stamp = EnvelopeStamp(producer: "quorum-walk-forward")
        let intervalNs = intervalSeconds * 1_000_000_000
        var jobs: [Job] = []
        for fold in folds {
            let window = Self.trainingWindow(fold, validationFraction: settings.validationFraction, intervalNs: intervalNs)
            // A sequence model reads its last K vectors: a training window of fewer bars cannot give it one row.
            let bars = Int((window.trainTo - fold.trainFrom) / intervalNs)
            for (c, candidate) in settings.candidates.enumerated() where candidate.sequenceLength > bars / 2 {
                throw BacktestError(.invalidValue, "walk_forward.candidates[\(c)] (\(candidate.summary)): sequence_length "
                    + "\(candidate.sequenceLength) needs more than twice as many bars in each training window, and fold \(fold.index) trains "
                    + "on \(bars); lower sequence_length or lengthen walk_forward.train")
            }
            // The embargo after each earlier test window that lies inside this fold's training window.
            let embargoed = fold.embargoed.filter { $0.overlaps(fold.trainFrom..<fold.testFrom) }
            for symbol in symbols {
                let wires = EnvelopeStamp.$stampsEventTime.withValue(true) {
                    TrainingJobs.make(symbol: symbol, intervalSeconds: intervalSeconds, trainFrom: fold.trainFrom, trainTo: window.trainTo,
                                      validateTo: window.validateTo, candidates: settings.candidates, spec: config.featureSpec,
                                      fold: (fold.index, folds.count), excluded: embargoed, stamp: stamp)
                }
                for (c, made) in wires.enumerated() {
                    var wire = made
                    wire.jobID = idPrefix + wire.jobID
                    wire.runID = idPrefix + wire.runID
                    wire.envelope.id = wire.jobID
                    let spec: TrainingJobSpec
                    do { spec = try wire.spec(known: [config.featureSpec]).0 } catch {
                        throw BacktestError(.invalidValue, "walk_forward fold \(fold.index): \(error)")
                    }
                    jobs.append(Job(key: JobKey(fold: fold.index, symbol: symbol, candidate: c), wire: wire, spec: spec))
                }
            }
        }
        return jobs
    }

    /// Feature rows per symbol: one engine over all the data, as the features stage computes them.
    static func featureRows(_ data: BacktestData, spec: FeatureSpec) throws(BacktestError) -> [Symbol: [PriceFeatureRow]] {
        var rows: [Symbol: [PriceFeatureRow]] = [:]
        let bars = data.bars.map(\.bar)
        for symbol in data.symbols {
            do { rows[symbol] = try TrainingRows.rows(bars: bars, symbol: symbol, spec: spec) } catch {
                throw BacktestError(.invalidValue, "features.spec: \(error)")
            }
        }
        return rows
    }

    /// A fold's training and validation split: validation is the window's last `validationFraction` (whole bars) and
    /// ends 1 ns before the test window, so that a row is validated only when its label (the next close) is known
    /// before the test window opens — the purge.
    static func trainingWindow(_ fold: WalkForwardFold, validationFraction: Double, intervalNs: Nanos) -> (trainTo: Nanos, validateTo: Nanos) {
        let validateTo = fold.testFrom - 1
        let bars = (fold.testFrom - fold.trainFrom) / intervalNs
        let trainingBars = max(1, Int64((Double(bars) * (1 - validationFraction)).rounded(.down)))
        return (min(fold.trainFrom + trainingBars * intervalNs, validateTo), validateTo)
    }

    /// Trains every job on a pool of `settings.workers` tasks (0: one per core); outcomes by job.
    func train(_ jobs: [Job], rows: [Symbol: [PriceFeatureRow]],
               progress: ((Progress) -> Void)?) async -> [JobKey: TrainingOutcome] {
        let core = TrainerCore()
        let outcomes = await Self.onPool(jobs.count, workers: settings.workers, progress: progress.map { report in
            { done, total in report(.training(done: done, total: total)) }
        }) { k in core.train(job: jobs[k].spec, rows: rows[jobs[k].key.symbol] ?? []) }
        var byKey: [JobKey: TrainingOutcome] = [:]
        for (job, outcome) in zip(jobs, outcomes) { byKey[job.key] = outcome }
        return byKey
    }

    /// Trains every job on `runner` (trials that return their models) and measures each returned model on the same rows
    /// with this run's gate: the outcomes `train(_:rows:progress:)` gives locally.
    func train(_ jobs: [Job], rows: [Symbol: [PriceFeatureRow]], on runner: any TrainingJobRunner,
               progress: ((Progress) -> Void)?) async throws -> [JobKey: TrainingOutcome] {
        let wires = jobs.map { job in
            var wire = job.wire
            wire.trial = true
            wire.returnArtifact = true
            return wire
        }
        let results = try await runner.run(wires, progress: nil)
        progress?(.training(done: jobs.count, total: jobs.count))
        let core = TrainerCore()
        var outcomes: [JobKey: TrainingOutcome] = [:]
        for job in jobs {
            let id = job.spec.jobID
            guard let result = results[id], result.status != .failed else {
                // The worker's reason, as "code: message" (MLError's description).
                let text = results[id]?.error ?? "no outcome"
                let parts = text.split(separator: ":", maxSplits: 1)
                let code = parts.count == 2 ? MLError.Code(rawValue: String(parts[0])) : nil
                outcomes[job.key] = .failed(jobID: id, reason: MLError(code ?? .diverged, code == nil ? text : String(parts[1]).trimmingCharacters(in: .whitespaces)))
                continue
            }
            guard let bytes = result.artifact else {
                throw BacktestError(.model, "walk-forward: job \(id) came back without its model (are the trainers older than this command?)")
            }
            do {
                let model = try TrainedModel(artifact: bytes)
                outcomes[job.key] = .trained(try core.result(of: model, job: job.spec, rows: rows[job.key.symbol] ?? []))
            } catch {
                outcomes[job.key] = .failed(jobID: id, reason: error)
            }
        }
        return outcomes
    }

    /// `work(0..<count)` on a pool of `workers` Dispatch threads (0: one per core); results in index order. `progress` gets
    /// the items done and `count` after each one.
    static func onPool<T: Sendable>(_ count: Int, workers: Int, progress: ((Int, Int) -> Void)?,
                                    _ work: @escaping @Sendable (Int) -> T) async -> [T] {
        let workers = max(1, workers > 0 ? workers : ProcessInfo.processInfo.activeProcessorCount)
        var results = [T?](repeating: nil, count: count)
        await withTaskGroup(of: (Int, T).self) { group in
            var next = 0, done = 0
            func start() {
                guard next < count else { return }
                let k = next
                next += 1
                group.addTask { (k, await offCooperativePool { work(k) }) }
            }
            for _ in 0..<min(workers, count) { start() }
            while let (k, result) = await group.next() {
                results[k] = result
                done += 1
                progress?(done, count)
                start()
            }
        }
        return results.map { $0! }
    }

    /// Runs CPU-bound work on a Dispatch thread: seconds of training on Swift's cooperative pool (one thread per core)
    /// would starve every other task of the process — timers, I/O, other tests — until it ends.
    static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    // MARK: trading

    /// What a trading run over the folds trades — the bars closing in the test windows, back to back — and the bars before
    /// them, which only warm the features up.
    static func tradingData(_ data: BacktestData, folds: [WalkForwardFold]) -> (tested: BacktestData, warmUp: [ArchivedBarRecord]) {
        let tradeFrom = folds.first!.testFrom, tradeTo = folds.last!.testTo
        let tested = BacktestData(bars: data.bars.filter { $0.bar.closeTime >= tradeFrom && $0.bar.closeTime < tradeTo },
                                  files: data.files, skippedRows: data.skippedRows)
        return (tested, data.bars.filter { $0.bar.closeTime < tradeFrom })
    }

    /// The model a symbol trades in a fold: a job's result (its candidate), or none.
    typealias ServedSlot = (candidate: Int, result: TrainingResult)

    /// `choose` per fold and symbol; a fold without a choice keeps the previous fold's model.
    static func served(folds: [WalkForwardFold], symbols: [Symbol],
                       choose: (Int, Symbol) -> ServedSlot?) -> [ServedSlot?] {
        var slots: [ServedSlot?] = []
        var current: [Symbol: ServedSlot] = [:]
        for fold in folds {
            for symbol in symbols {
                if let chosen = choose(fold.index, symbol) { current[symbol] = chosen }
                slots.append(current[symbol])
            }
        }
        return slots
    }

    static func modelID(fold: Int, symbol: Symbol, candidate: Int) -> String { "wf-\(symbol.name)-f\(fold)-c\(candidate)" }

    /// A model as a trading run activates it: its registry id (`model-<job id>`, as a trainer registers it), the model
    /// and its validation metrics.
    struct TradedModel: Sendable {
        let id: String
        let model: TrainedModel
        let metrics: [String: Double]

        init(id: String, model: TrainedModel, metrics: [String: Double]) {
            self.id = id
            self.model = model
            self.metrics = metrics
        }

        init(_ slot: ServedSlot) {
            self.init(id: "model-" + slot.result.jobID, model: slot.result.model, metrics: slot.result.registryMetrics)
        }
    }

    /// Backtests `data` with each fold's models activated at its test start (`slots`: fold-major, then symbol).
    func trade(_ data: BacktestData, warmUp: [ArchivedBarRecord], folds: [WalkForwardFold], slots: [ServedSlot?],
               config: BacktestConfig, progress: @escaping (Int) -> Void) async throws -> BacktestResult {
        try await trade(data, warmUp: warmUp, folds: folds, models: slots.map { $0.map(TradedModel.init) }, config: config, progress: progress)
    }

    /// Backtests `data` with each fold's models activated at its test start (`models`: fold-major, then symbol; nil: the
    /// symbol keeps its previous model).
    func trade(_ data: BacktestData, warmUp: [ArchivedBarRecord], folds: [WalkForwardFold], models slots: [TradedModel?],
               config: BacktestConfig, progress: @escaping (Int) -> Void) async throws -> BacktestResult {
        let symbols = data.symbols
        let namer = TopicNamer.live
        let stamp = EnvelopeStamp(producer: "quorum-walk-forward")
        var active: [Symbol: String] = [:]
        var scheduled: [EventTimeDriver.Scheduled] = []
        try EnvelopeStamp.$stampsEventTime.withValue(true) {
            for fold in folds {
                var messages: [OutgoingMessage] = []
                for (s, symbol) in symbols.enumerated() {
                    guard let slot = slots[fold.index * symbols.count + s] else { continue }
                    let id = slot.model.version + "@" + symbol.name
                    guard active[symbol] != id else { continue }
                    active[symbol] = id
                    messages.append(try Self.activation(slot, symbol: symbol, at: fold.testFrom, stamp: stamp, namer: namer))
                }
                if !messages.isEmpty { scheduled.append(.init(time: fold.testFrom, messages: messages)) }
            }
        }
        return try await Backtest(config: config).run(data, warmUp: warmUp, scheduled: scheduled, progress: progress)
    }

    /// The `models` event that activates a trained model, as a trainer publishes it (the artifact inside).
    static func activation(_ slot: TradedModel, symbol: Symbol, at time: Nanos, stamp: EnvelopeStamp,
                           namer: TopicNamer) throws -> OutgoingMessage {
        let model = slot.model
        let id = slot.id
        var e = Quorum_V1_ModelEvent()
        e.envelope = stamp.envelope(id: "me-\(id)-activated-\(time)", tsEvent: time, cause: nil)
        e.kind = .activated
        e.modelID = id
        e.version = model.version
        e.symbol = symbol.name
        e.modelKind = model.family.kind
        e.featureSpecVersion = UInt32(model.featureSpecVersion)
        e.metrics = slot.metrics
        e.artifactBytes = Data(model.artifact())
        e.role = .primary
        return try OutgoingMessage(topic: namer.name(Topic.models), key: symbol.name, message: e, eventTimeNs: time)
    }

    // MARK: measuring

    static func interval(of data: BacktestData) throws(BacktestError) -> Int64 {
        let intervals = Set(data.digests.map(\.intervalSeconds))
        guard intervals.count == 1, let interval = intervals.first, interval > 0 else {
            throw BacktestError(.data, "walk-forward needs one bar interval for every symbol; the data has "
                                + data.digests.map { "\($0.symbol) \($0.intervalSeconds) s" }.joined(separator: ", "))
        }
        return interval
    }

    /// Per-period Sharpe ratio (mean / std, ddof 1, not annualised): the unit of the trials' Sharpe variance.
    static func periodSharpe(_ returns: [Double]) -> Double {
        guard returns.count >= 2 else { return 0 }
        let sd = Statistics.standardDeviation(returns)
        return sd > 0 ? Statistics.mean(returns) / sd : 0
    }

    /// CSCV over the candidates' out-of-sample returns: 16 blocks, fewer (even) when the periods are few.
    static func overfitting(_ returns: [[Double]]) -> CSCVResult? {
        guard returns.count >= 2, let periods = returns.first?.count else { return nil }
        var blocks = 16
        while blocks > 2, periods < 4 * blocks { blocks -= 2 }
        guard periods >= 2 * blocks else { return nil }
        return BacktestOverfitting.cscv(returns: returns, blocks: blocks)
    }

    /// The served models' probabilities and the labels on the test window's rows, symbol after symbol.
    static func score(_ fold: WalkForwardFold, symbols: [Symbol], selected: [ServedSlot?],
                      labelled: [Symbol: LabeledDataset]) -> (probabilities: [Double], labels: [Int]) {
        var probabilities: [Double] = []
        var labels: [Int] = []
        for (s, symbol) in symbols.enumerated() {
            guard let slot = selected[fold.index * symbols.count + s], let rows = labelled[symbol]?.rows else { continue }
            for row in rows where fold.tests(row.time) {
                guard let p = try? slot.result.model.probabilityUp(row.features) else { continue }   // width checked in training
                probabilities.append(p)
                labels.append(row.label)
            }
        }
        return (probabilities, labels)
    }

    static func foldReport(_ fold: WalkForwardFold, window: (trainTo: Nanos, validateTo: Nanos), symbols: [Symbol],
                           selected: [ServedSlot?], scored: (probabilities: [Double], labels: [Int]), result: BacktestResult,
                           foldOfJob: [String: Int]) -> WalkForwardResult.Fold {
        let curve = result.curve
        // Samples closing in (testFrom, testTo]: the periods the fold's positions are held (a decision at a close fills
        // at the next open).
        let inside = curve.times.indices.filter { curve.times[$0] > fold.testFrom && curve.times[$0] <= fold.testTo }
        var equity: [Double] = []
        var times: [Nanos] = []
        if let firstIndex = inside.first {
            // The return of the first bar in the window counts from the equity before it.
            equity.append(firstIndex > 0 ? curve.equity[firstIndex - 1].doubleValue : result.config.startingEquity.doubleValue)
            times.append(firstIndex > 0 ? curve.times[firstIndex - 1] : fold.testFrom)   // the first sample is the start
            for i in inside {
                equity.append(curve.equity[i].doubleValue)
                times.append(curve.times[i])
            }
        }
        let returns = equity.count >= 2 ? ReturnSummary(equity: equity, timestamps: times, periodsPerYear: curve.periodsPerYear) : nil
        let models: [WalkForwardResult.FoldModel] = symbols.enumerated().map { s, symbol in
            let slot = selected[fold.index * symbols.count + s]
            return .init(symbol: symbol, candidate: slot?.candidate, trainedInFold: slot.map { foldOfJob[$0.result.jobID] == fold.index } ?? false,
                         validationGain: slot?.result.registryMetrics[TrainingResult.activationMetric],
                         converged: slot?.result.model.provenance.converged, model: slot?.result.model)
        }
        return .init(index: fold.index, trainFrom: fold.trainFrom, trainTo: window.trainTo, validateTo: window.validateTo,
                     testFrom: fold.testFrom, testTo: fold.testTo, models: models,
                     test: scored.labels.isEmpty ? nil : ClassificationMetrics.compute(probabilities: scored.probabilities, labels: scored.labels),
                     returns: returns, trades: result.trades.filter { fold.tests($0.entryTime) }.count)
    }
}

/// What a walk-forward produced: the out-of-sample backtest (its metrics are the whole run's), per-fold figures, the
/// candidates traded alone, and the overfitting guards.
public struct WalkForwardResult: Sendable {
    /// The model a symbol traded in a fold.
    public struct FoldModel: Sendable {
        public var symbol: Symbol
        /// The candidate whose model served (nil: no model, the symbol made no decisions).
        public var candidate: Int?
        /// false: no candidate of this fold passed the gate, the previous fold's model kept serving.
        public var trainedInFold: Bool
        public var validationGain: Double?
        public var converged: Bool?
        /// The served model (`quorum walk-forward` writes the artifacts to the run's `models/` folder).
        public var model: TrainedModel?
    }

    public struct Fold: Sendable {
        public var index: Int
        public var trainFrom: Nanos
        /// Validation starts here (training rows are in `[trainFrom, trainTo)`).
        public var trainTo: Nanos
        /// Validation ends here (1 ns before the test window).
        public var validateTo: Nanos
        public var testFrom: Nanos
        public var testTo: Nanos
        public var models: [FoldModel]
        /// The served models on the test window's rows (pooled over symbols).
        public var test: ClassificationMetrics?
        /// The strategy's returns over the test window.
        public var returns: ReturnSummary?
        /// Round trips entered in the test window.
        public var trades: Int
    }

    /// One candidate traded alone in every fold.
    public struct CandidateRun: Sendable {
        public var candidate: Int
        public var hyperparameters: ModelHyperparameters
        public var sharpe: Double
        public var totalReturn: Double
        public var maxDrawdown: Double
        public var trades: Int
    }

    public let backtest: BacktestResult
    public let settings: WalkForwardSettings
    public let folds: [Fold]
    public let candidates: [CandidateRun]
    /// CSCV over the candidates' out-of-sample returns (nil with one candidate or too few periods).
    public let overfitting: CSCVResult?
    /// The served models over every test window.
    public let modelMetrics: ClassificationMetrics?
    /// Their probabilities against the outcomes over every test window (10 bins, expected calibration error).
    public let reliability: Reliability?
    public let jobs: Int
    /// Jobs whose model passed the validation gate, was rejected by it, or could not be trained.
    public let trained: Int
    public let rejected: Int
    public let failed: Int
    /// The whole input (the backtest's `data` is the traded part).
    public let allData: BacktestData
}
