import Foundation
import Crypto
import QuorumAnalytics
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto

/// The `tune` section of a run configuration (docs/models.md, "Tuning"): the family and search space, the search, and
/// the objective. The folds come from the config's `walk_forward` section.
public struct TuneSettings: Sendable, Equatable {
    public enum Objective: String, Sendable, Equatable {
        /// Mean validation log loss over the folds × symbols (lower is better).
        case logLoss = "log_loss"
        /// Mean validation AUC (the search minimises 1 − AUC).
        case auc
        /// The strategy's Sharpe ratio net of costs over the folds' test windows: each work item's models traded as
        /// `quorum walk-forward` trades a candidate alone (each fold's model activated at its test start, the config's
        /// consensus, risk, fees and slippage). The search minimises −Sharpe; a run without a defined Sharpe (no
        /// trade) counts 0.
        case sharpe
    }

    public var space: SearchSpace
    public var trials = 27
    public var eta = 3
    public var rungs = 3
    /// Work items per generation (successive halving's batch).
    public var generation = 8
    /// Uniform draws before TPE starts modelling.
    public var startup = 8
    public var objective = Objective.logLoss
    public var seed: UInt64 = 1

    static let keys = ["family", "space", "fixed", "trials", "eta", "rungs", "generation", "startup", "objective", "seed"]

    /// The settings as the config's `tune` section would give them (every key, defaults filled in).
    public func json() -> JSON {
        func dimension(_ d: SearchSpace.Dimension) -> JSON {
            switch d {
            case .choice(let values): .object([("choices", .array(values.map { .double($0) }))])
            case .range(let low, let high, let log, let integer):
                .object([("min", .double(low)), ("max", .double(high)), ("log", .bool(log)), ("integer", .bool(integer))])
            }
        }
        return .object([
            ("family", .string(space.family.rawValue)),
            ("space", .object(zip(space.names, space.dimensions).map { ($0, dimension($1)) })),
            ("fixed", .object(space.fixed.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })),
            ("trials", .int(trials)), ("eta", .int(eta)), ("rungs", .int(rungs)), ("generation", .int(generation)),
            ("startup", .int(startup)), ("objective", .string(objective.rawValue)), ("seed", .int(seed)),
        ])
    }

    static func parse(_ s: Section) throws(BacktestError) -> TuneSettings {
        let name = try s.string("family") ?? ModelFamily.logistic.rawValue
        guard let family = ModelFamily(rawValue: name) else {
            throw s.invalid("family", "is \"\(name)\"; use one of \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard case .object(let pairs)? = s.value("space") else {
            throw s.invalid("space", "is required: an object of hyperparameters to vary, e.g. {\"l2\": {\"min\": 0.001, \"max\": 10, \"log\": true}}")
        }
        var names: [String] = [], dimensions: [SearchSpace.Dimension] = []
        for (key, value) in pairs {
            let d = try Section(value, path: s.name("space") + "." + key, file: s.file, keys: ["min", "max", "log", "integer", "choices"])
            if let choices = d.value("choices") {
                guard case .array(let items) = choices else { throw d.invalid("choices", "must be a list of numbers") }
                var values: [Double] = []
                for item in items {
                    guard case .number(let text) = item, let x = Double(text) else { throw d.invalid("choices", "must be a list of numbers") }
                    values.append(x)
                }
                guard d.value("min") == nil, d.value("max") == nil else { throw d.invalid("choices", "goes without min and max") }
                dimensions.append(.choice(values))
            } else {
                guard let low = try d.double("min"), let high = try d.double("max") else {
                    throw d.invalid("min", "and max are required (or give choices)")
                }
                dimensions.append(.range(low: low, high: high, log: try d.bool("log") ?? false, integer: try d.bool("integer") ?? false))
            }
            names.append(key)
        }
        var fixed: [String: Double] = [:]
        if case .object(let pairs)? = s.value("fixed") {
            for (key, value) in pairs {
                guard case .number(let text) = value, let x = Double(text) else { throw s.invalid("fixed.\(key)", "must be a number") }
                fixed[key] = x
            }
        }
        var t = TuneSettings(space: SearchSpace(family: family, names: names, dimensions: dimensions, fixed: fixed))
        do throws(MLError) { try t.space.validate() } catch { throw BacktestError(.invalidValue, "\(s.file): \(s.name("space")): \(error.message)") }
        t.trials = try s.whole("trials", atLeast: 1) ?? t.trials
        t.eta = try s.whole("eta", atLeast: 2) ?? t.eta
        t.rungs = try s.whole("rungs", atLeast: 1) ?? t.rungs
        t.generation = try s.whole("generation", atLeast: 1) ?? t.generation
        t.startup = try s.whole("startup", atLeast: 1) ?? t.startup
        if let objective = try s.string("objective") {
            guard let o = Objective(rawValue: objective) else {
                throw s.invalid("objective", "is \"\(objective)\"; use \"log_loss\", \"auc\" or \"sharpe\"")
            }
            t.objective = o
        }
        if let seed = try s.whole("seed", atLeast: 0) { t.seed = UInt64(seed) }
        return t
    }
}

/// `quorum tune`: a hyperparameter search over the walk-forward folds. Each work item (a trial at a rung) is one
/// training job per fold × symbol, made as the cluster makes them (`TrainingJobs.make`), its training window cut to the
/// rung's budget (the latest share of it) and marked a trial (no model is registered); the item's loss is the objective
/// averaged over those jobs (a failed job counts as the worst). Successive halving decides, generation by generation,
/// which trials go on with more budget; TPE proposes the new ones.
///
/// The jobs run on a `TrainingJobRunner`: the trainer core on a local pool (`LocalTrainingRunner`), or the cluster's
/// trainer workers (`quorum tune --cluster`). Both see the same jobs (ids, windows, seeds) and the search only reads the
/// outcomes' metrics, so on the same bars both give the same trials and losses.
public struct Tune: Sendable {
    public let config: BacktestConfig
    public let settings: TuneSettings
    let walkForward: WalkForward

    public init(config: BacktestConfig) throws(BacktestError) {
        guard let settings = config.tune else {
            throw BacktestError(.invalidValue, "the config has no tune section; add one (docs/models.md, \"Tuning\")")
        }
        self.config = config
        self.settings = settings
        walkForward = try WalkForward(config: config)
    }

    public struct Trial: Sendable {
        public let index: Int
        public let hyperparameters: ModelHyperparameters
        /// The loss at each rung run (nil: not run there).
        public let losses: [Double?]
    }

    public struct Result: Sendable {
        public let searchID: String
        public let settings: TuneSettings
        public let trials: [Trial]
        public let best: Trial?
        public let bestRung: Int?
        public let jobs: Int
        public let folds: Int
    }

    /// One work item as measured: what `quorum tune --cluster` stores per trial and rung.
    public struct ItemOutcome: Sendable {
        public let trial: Int
        public let rung: Int
        public let hyperparameters: ModelHyperparameters
        public let budget: Double
        /// The objective averaged over the item's jobs; +∞ when one failed.
        public let loss: Double
        public let jobs: Int
        public let failedJobs: Int
        public let durationMs: Int64
    }

    /// The search's id: the config (with its tune section, without `walk_forward.workers`, which changes no result) and
    /// the data's digests. The same search on the same bars has the same id, so a resumed `quorum tune --cluster` finds
    /// its earlier trials; the jobs' ids start with it.
    public func searchID(_ data: BacktestData) -> String {
        var c = config
        c.walkForward?.workers = 0
        return String(SHA256.hash(data: Array((BacktestOutput.runID(config: c, data: data) + "\n" + settings.json().rendered()).utf8)).hexString.prefix(12))
    }

    /// The in-process runner on the data's feature rows (one engine over all the data, as the features stage computes
    /// them), `walk_forward.workers` jobs at a time.
    public func localRunner(_ data: BacktestData) throws(BacktestError) -> LocalTrainingRunner {
        LocalTrainingRunner(rows: try WalkForward.featureRows(data, spec: config.featureSpec), featureSpec: config.featureSpec,
                            workers: walkForward.settings.workers)
    }

    /// Runs the search. `runner` trains the jobs (default: `localRunner`); `progress` gets the work items done and
    /// those handed out so far, after each generation; `recorded` each item once measured (in the search's order).
    public func run(_ data: BacktestData, runner: (any TrainingJobRunner)? = nil, progress: ((Int, Int) -> Void)? = nil,
                    recorded: ((ItemOutcome) async throws -> Void)? = nil) async throws -> Result {
        try data.check(config.featureSpec)
        let interval = try WalkForward.interval(of: data)
        let folds = try walkForward.folds(data)
        // A sequence model's window must fit the folds' training windows whatever the search draws: checked before any job.
        if let k = settings.space.largest("sequence_length"), let fold = folds.first {
            let bars = (WalkForward.trainingWindow(fold, validationFraction: walkForward.settings.validationFraction,
                                                   intervalNs: interval * 1_000_000_000).trainTo - fold.trainFrom) / (interval * 1_000_000_000)
            guard k <= Double(bars / 2) else {
                throw BacktestError(.invalidValue, "tune.space: sequence_length can be \(Int(k)), but each fold trains on \(bars) bars "
                    + "(a sequence model needs more than twice its window); lower sequence_length or lengthen walk_forward.train")
            }
        }
        let runner = try runner ?? localRunner(data)
        let searchID = searchID(data)
        // The Sharpe objective trades each item's models over the test windows; the bars before them warm the features.
        let trading: (tested: BacktestData, warmUp: [ArchivedBarRecord])? = settings.objective == .sharpe ? WalkForward.tradingData(data, folds: folds) : nil
        let space = settings.space
        var search = SuccessiveHalving(dimensions: space.names.count, trials: settings.trials, eta: settings.eta, rungs: settings.rungs,
                                       generationSize: settings.generation, seed: settings.seed, sampler: TPESampler(startup: settings.startup))
        var hyperparameters: [Int: ModelHyperparameters] = [:]
        var jobCount = 0, itemsDone = 0, itemsGiven = 0
        while true {
            let items = search.nextGeneration()
            if items.isEmpty { break }
            itemsGiven += items.count
            var candidates: [ModelHyperparameters] = []
            for item in items {
                let h = try space.hyperparameters(item.point)
                hyperparameters[item.trial] = h
                candidates.append(h)
            }
            // One job per fold × symbol × item; the item's budget keeps the latest share of the training window.
            var generation = walkForward
            generation.settings.candidates = candidates
            let jobs = try generation.makeJobs(folds: folds, symbols: data.symbols, intervalSeconds: interval).map { job in
                let item = items[job.key.candidate]
                var wire = job.wire
                let span = Double(wire.trainRange.toNs - wire.trainRange.fromNs)
                wire.trainRange.fromNs = wire.trainRange.toNs - Nanos((span * item.budget).rounded(.up))
                wire.seed = settings.seed &+ UInt64(item.trial)
                wire.trial = true
                wire.returnArtifact = settings.objective == .sharpe
                wire.runID = "tune-\(searchID)"
                wire.jobID = "tune-\(searchID)-t\(item.trial)-r\(item.rung)-\(job.key.symbol.name)-f\(job.key.fold)"
                wire.envelope.id = wire.jobID
                wire.candidateIndex = UInt32(item.trial)
                wire.candidateCount = UInt32(settings.trials)
                return (candidate: job.key.candidate, fold: job.key.fold, symbol: job.key.symbol, wire: wire)
            }
            let outcomes = try await runner.run(jobs.map(\.wire), progress: nil)
            jobCount += jobs.count
            for (c, item) in items.enumerated() {
                let own = jobs.filter { $0.candidate == c }
                let mine = own.map { outcomes[$0.wire.jobID] }
                var total = 0.0, failed = 0, duration: Int64 = 0
                for outcome in mine {
                    duration += outcome?.durationMs ?? 0
                    guard let o = outcome, o.status != .failed, let loss = loss(o.metrics) else { failed += 1; continue }
                    total += loss
                }
                var loss = mine.isEmpty || failed > 0 ? Double.infinity : total / Double(mine.count)
                if let trading, loss.isFinite {
                    loss = try await tradingLoss(own.map { ($0.fold, $0.symbol, $0.wire.jobID, outcomes[$0.wire.jobID]) }, folds: folds,
                                                 data: trading.tested, warmUp: trading.warmUp)
                }
                search.report(item, loss: loss)
                itemsDone += 1
                try await recorded?(ItemOutcome(trial: item.trial, rung: item.rung, hyperparameters: hyperparameters[item.trial]!,
                                                budget: item.budget, loss: loss, jobs: mine.count, failedJobs: failed, durationMs: duration))
            }
            progress?(itemsDone, itemsGiven)
        }
        let trials = search.points.indices.map { Trial(index: $0, hyperparameters: hyperparameters[$0]!, losses: search.losses[$0]) }
        let best = search.best
        return Result(searchID: searchID, settings: settings, trials: trials, best: best.map { trials[$0.trial] }, bestRung: best?.rung,
                      jobs: jobCount, folds: folds.count)
    }

    /// A job's loss under the objective, from its registry metrics (nil when the metric is missing). The Sharpe objective
    /// is the item's, not a job's (`tradingLoss`): 0 here.
    func loss(_ metrics: [String: Double]) -> Double? {
        switch settings.objective {
        case .logLoss: metrics["log_loss"]
        case .auc: 1 - (metrics["auc"] ?? 0.5)
        case .sharpe: 0
        }
    }

    /// −Sharpe of trading one item's models: each fold's model of each symbol (its job's returned artifact) activated at
    /// the fold's test start, over the test windows, as `quorum walk-forward` trades a candidate alone.
    func tradingLoss(_ jobs: [(fold: Int, symbol: Symbol, jobID: String, outcome: TrainingJobOutcome?)], folds: [WalkForwardFold],
                     data: BacktestData, warmUp: [ArchivedBarRecord]) async throws -> Double {
        var models = [WalkForward.TradedModel?](repeating: nil, count: folds.count * data.symbols.count)
        for job in jobs {
            guard let s = data.symbols.firstIndex(of: job.symbol), let outcome = job.outcome else { continue }
            guard let bytes = outcome.artifact else {
                throw BacktestError(.model, "tune: job \(job.jobID) returned no model artifact, which the sharpe objective trades "
                                    + "(are the trainers older than this tuner?)")
            }
            let model: TrainedModel
            do { model = try TrainedModel(artifact: bytes) } catch {
                throw BacktestError(.model, "tune: job \(job.jobID) returned a model that does not load: \(error)")
            }
            models[job.fold * data.symbols.count + s] = WalkForward.TradedModel(id: "model-" + job.jobID, model: model, metrics: outcome.metrics)
        }
        // The config keeps its walk_forward section: models arrive by `models` events, as in `quorum walk-forward`.
        let result = try await walkForward.trade(data, warmUp: warmUp, folds: folds, models: models, config: config) { _ in }
        let sharpe = result.returns.sharpe
        return sharpe.isFinite ? -sharpe : 0
    }

    /// The jobs that register the search's best hyperparameters (`quorum tune --cluster --register`): one ordinary job per
    /// symbol on the latest data — its training window as long as the folds' and its validation the same share, ending at
    /// the last bar's close — with the search's lineage, so the trainers register the model and activate it when it
    /// passes the gate and beats the active one.
    public func registrationJobs(_ result: Result, data: BacktestData, codeVersion: String) throws -> [Quorum_V1_TrainingJob] {
        guard let best = result.best, let rung = result.bestRung else { return [] }
        let interval = try WalkForward.interval(of: data)
        let intervalNs = interval * 1_000_000_000
        let wf = walkForward.settings
        let stamp = EnvelopeStamp(producer: "quorum-tune")
        var jobs: [Quorum_V1_TrainingJob] = []
        for symbol in data.symbols {
            let bars = data.bars.lazy.filter { $0.bar.symbol == symbol }
            guard let first = bars.first?.bar.openTime, let lastClose = bars.last?.bar.closeTime else { continue }
            let trainFrom = max(first, lastClose - wf.trainLength)
            let total = (lastClose - trainFrom) / intervalNs
            let trainingBars = max(1, Int64((Double(total) * (1 - wf.validationFraction)).rounded(.down)))
            let trainTo = min(trainFrom + trainingBars * intervalNs, lastClose)
            var job = EnvelopeStamp.$stampsEventTime.withValue(true) {
                TrainingJobs.make(symbol: symbol, intervalSeconds: interval, trainFrom: trainFrom, trainTo: trainTo, validateTo: lastClose,
                                  candidates: [best.hyperparameters], spec: config.featureSpec, stamp: stamp)[0]
            }
            job.runID = "tune-\(result.searchID)-final"
            job.jobID = "tune-\(result.searchID)-final-\(symbol.name)"
            job.envelope.id = job.jobID
            job.seed = settings.seed &+ UInt64(best.index)
            job.lineage = [
                "search_id": result.searchID, "trial": String(best.index), "rung": String(rung),
                "objective": settings.objective.rawValue, "folds": String(result.folds), "trials": String(result.trials.count),
                "feature_spec": FeatureSpec.label(config.featureSpec.name, config.featureSpec.version),
                "data_from": String(first), "data_to": String(lastClose), "code_version": codeVersion,
            ]
            jobs.append(job)
        }
        return jobs
    }
}

/// Trains jobs with the trainer core in this process, `workers` at a time (0: one per core), on feature rows per symbol.
public struct LocalTrainingRunner: TrainingJobRunner {
    let rows: [Symbol: [PriceFeatureRow]]
    let featureSpec: FeatureSpec
    let workers: Int

    public func run(_ jobs: [Quorum_V1_TrainingJob], progress: (@Sendable (Int, Int) -> Void)?) async throws -> [String: TrainingJobOutcome] {
        var specs: [TrainingJobSpec] = []
        for job in jobs {
            do { specs.append(try job.spec(known: [featureSpec]).0) } catch {
                throw BacktestError(.invalidValue, "tune: \(error)")
            }
        }
        let (rows, jobSpecs, returnArtifact) = (self.rows, specs, jobs.map(\.returnArtifact))
        let core = TrainerCore()
        let outcomes = await WalkForward.onPool(jobSpecs.count, workers: workers, progress: progress) { k in
            let started = ContinuousClock.now
            let outcome = core.train(job: jobSpecs[k], rows: rows[jobSpecs[k].symbol] ?? [])
            let elapsed = ContinuousClock.now - started
            let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            switch outcome {
            case .trained(let r):
                return TrainingJobOutcome(status: r.verdict.passed ? .succeeded : .rejected, metrics: r.registryMetrics, durationMs: ms,
                                          artifact: returnArtifact[k] ? r.model.artifact() : nil)
            case .failed(_, let reason):
                return TrainingJobOutcome(status: .failed, error: reason.description, durationMs: ms)
            }
        }
        var byID: [String: TrainingJobOutcome] = [:]
        for (job, outcome) in zip(jobs, outcomes) { byID[job.jobID] = outcome }
        return byID
    }
}

extension Tune.Result {
    /// tune.json: the settings, every trial (hyperparameters, loss per rung), the best and the counts; the number of
    /// trials is what the deflated Sharpe ratio of a strategy picked this way should count (`overfitting.trials`).
    public func json() -> JSON {
        func loss(_ x: Double?) -> JSON { x.map { $0.isFinite ? .double($0) : .string("failed") } ?? .null }
        func trialJSON(_ t: Tune.Trial) -> JSON {
            .object([("trial", .int(t.index)), ("summary", .string(t.hyperparameters.summary)), ("family", .string(t.hyperparameters.family.rawValue)),
                     ("hyperparameters", .object(t.hyperparameters.values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })),
                     ("losses", .array(t.losses.map(loss)))])
        }
        return .object([
            ("search_id", .string(searchID)), ("objective", .string(settings.objective.rawValue)), ("family", .string(settings.space.family.rawValue)),
            ("trials", .int(trials.count)), ("rungs", .int(settings.rungs)), ("eta", .int(settings.eta)), ("seed", .int(settings.seed)),
            ("folds", .int(folds)), ("jobs", .int(jobs)),
            ("best", best.map(trialJSON) ?? .null), ("best_rung", bestRung.map { .int($0) } ?? .null),
            ("all", .array(trials.map(trialJSON))),
        ])
    }
}
