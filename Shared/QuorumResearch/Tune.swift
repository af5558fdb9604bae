import Foundation
import QuorumAnalytics
import QuorumML
import QuorumModel
import QuorumPipeline

/// The `tune` section of a run configuration (docs/models.md, "Tuning"): the family and search space, the search, and
/// the objective. The folds come from the config's `walk_forward` section.
public struct TuneSettings: Sendable, Equatable {
    public enum Objective: String, Sendable, Equatable {
        /// Mean validation log loss over the folds × symbols (lower is better).
        case logLoss = "log_loss"
        /// Mean validation AUC (the search minimises 1 − AUC).
        case auc
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
            guard let o = Objective(rawValue: objective) else { throw s.invalid("objective", "is \"\(objective)\"; use \"log_loss\" or \"auc\"") }
            t.objective = o
        }
        if let seed = try s.whole("seed", atLeast: 0) { t.seed = UInt64(seed) }
        return t
    }
}

/// `quorum tune`: a hyperparameter search over the walk-forward folds. Each work item (a trial at a rung) is one
/// training job per fold × symbol, made as the cluster makes them (`TrainingJobs.make`), its training window cut to the
/// rung's budget (the latest share of it), trained by the trainers' core on a pool of workers; the item's loss is the
/// objective averaged over those jobs (a failed job counts as the worst). Successive halving decides, generation by
/// generation, which trials go on with more budget; TPE proposes the new ones.
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
        public let settings: TuneSettings
        public let trials: [Trial]
        public let best: Trial?
        public let bestRung: Int?
        public let jobs: Int
        public let folds: Int
    }

    /// `progress` gets the work items done and those handed out so far, after each generation.
    public func run(_ data: BacktestData, progress: ((Int, Int) -> Void)? = nil) async throws -> Result {
        try data.check(config.featureSpec)
        let interval = try WalkForward.interval(of: data)
        let folds = try walkForward.folds(data)
        let rows = try WalkForward.featureRows(data, spec: config.featureSpec)
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
            var jobs = try generation.makeJobs(folds: folds, symbols: data.symbols, intervalSeconds: interval)
            for k in jobs.indices {
                let budget = items[jobs[k].key.candidate].budget
                let spec = jobs[k].spec
                let span = Double(spec.trainTo - spec.trainFrom)
                jobs[k].spec.trainFrom = spec.trainTo - Nanos((span * budget).rounded(.up))
                jobs[k].spec.seed = settings.seed &+ UInt64(items[jobs[k].key.candidate].trial)
            }
            let outcomes = await generation.train(jobs, rows: rows, progress: nil)
            jobCount += jobs.count
            for (c, item) in items.enumerated() {
                let results = jobs.filter { $0.key.candidate == c }.map { outcomes[$0.key]?.result }
                var total = 0.0
                for result in results {
                    guard let r = result else { total = .infinity; break }
                    switch settings.objective {
                    case .logLoss: total += r.validationMetrics.logLoss
                    case .auc: total += 1 - (r.validationMetrics.auc ?? 0.5)
                    }
                }
                search.report(item, loss: results.isEmpty ? .infinity : total / Double(results.count))
                itemsDone += 1
            }
            progress?(itemsDone, itemsGiven)
        }
        let trials = search.points.indices.map { Trial(index: $0, hyperparameters: hyperparameters[$0]!, losses: search.losses[$0]) }
        let best = search.best
        return Result(settings: settings, trials: trials, best: best.map { trials[$0.trial] }, bestRung: best?.rung, jobs: jobCount,
                      folds: folds.count)
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
            ("objective", .string(settings.objective.rawValue)), ("family", .string(settings.space.family.rawValue)),
            ("trials", .int(trials.count)), ("rungs", .int(settings.rungs)), ("eta", .int(settings.eta)), ("seed", .int(settings.seed)),
            ("folds", .int(folds)), ("jobs", .int(jobs)),
            ("best", best.map(trialJSON) ?? .null), ("best_rung", bestRung.map { .int($0) } ?? .null),
            ("all", .array(trials.map(trialJSON))),
        ])
    }
}
