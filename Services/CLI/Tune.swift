import ArgumentParser
import Foundation
import QuorumBus
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumResearch
import QuorumServiceKit
import QuorumServices
import QuorumStores

/// `quorum tune --config FILE [--cluster [--register]]`: a hyperparameter search over the config's walk-forward folds
/// (docs/models.md, "Tuning").
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search a model family's hyperparameters over walk-forward folds (TPE and successive halving); write the trials to JSON.",
        discussion: """
            The config's tune section names the family, the search space, the number of trials, the halving (eta, rungs, \
            generation size), the objective (log_loss, auc or sharpe) and the seed; its walk_forward section the folds. Every work \
            item is a training job per fold × symbol; the same seed gives the same trials. Without --cluster the trainers' core \
            runs them on a pool of walk_forward.workers; with --cluster they go to training.jobs for the cluster's trainer \
            workers, the search and its trials are stored in Postgres (tuning_searches, tuning_trials), and a search that \
            is run again (after a crash of the tuner or a worker) resumes: jobs already done are not run again. \
            --register then trains the best hyperparameters on the latest data through the trainers, which register the \
            model with the search's lineage and activate it when it passes the gate and beats the active one. \
            Prints the best trials and writes every one to <out>/tune.json.
            """)

    @OptionGroup var options: ResearchOptions
    @OptionGroup var broker: BrokerOptions
    @Flag(help: "Run the jobs on the cluster's trainer workers (training.jobs); store the search in Postgres.") var cluster = false
    @Flag(help: "With --cluster: register the best hyperparameters' model per symbol through the trainers.") var register = false
    @Option(help: "With --cluster: give up when no job has finished for this many seconds.") var stallTimeout: Int = 600

    func validate() throws {
        if register && !cluster { throw ValidationError("--register needs --cluster: the trainers register the model in the cluster's registry") }
        if stallTimeout < 1 { throw ValidationError("--stall-timeout must be at least 1 second, got \(stallTimeout)") }
    }

    func run() async throws {
        let (settings, bars) = try await options.load()
        let tune = try Tune(config: settings)
        let result: Tune.Result
        if cluster {
            result = try await runOnCluster(tune, bars)
        } else {
            result = try await tune.run(bars, progress: Self.progressLine(tune))
        }
        report(result)
        try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
        let file = options.out + "/tune.json"
        try (result.json().rendered() + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        print("wrote \(file)")
    }

    /// A progress line over the work items; returns its update function.
    static func progressLine(_ tune: Tune) -> (Int, Int) -> Void {
        var progress = ProgressLine(total: tune.settings.trials, label: "tune work items")
        return { done, given in
            progress.total = given
            progress.update(done)
            if done == given, given > 0 { progress.finish() }
        }
    }

    func runOnCluster(_ tune: Tune, _ bars: BacktestData) async throws -> Tune.Result {
        let register = self.register
        let searchID = tune.searchID(bars)
        return try await ClusterRun.with(broker: broker, stores: options.stores, runIDPrefix: "tune-\(searchID)",
                                         stallTimeout: .seconds(stallTimeout)) { runner, store, jobsTopic in
            let searches = TuningSearches(store: store)
            let known = try await searches.search(id: searchID)
            print("search \(searchID): \(known == nil ? "new" : "resumed (\(try await searches.trials(searchID: searchID).count) trial rungs recorded)") "
                  + "on the cluster's trainers (\(jobsTopic))")
            try await searches.begin(TuningSearchRecord(searchID: searchID, family: tune.settings.space.family.rawValue,
                                                        objective: tune.settings.objective.rawValue,
                                                        settings: tune.settings.json().rendered()))
            let started = ContinuousClock.now
            let result = try await tune.run(bars, runner: runner, progress: Self.progressLine(tune)) { item in
                try await searches.record(TuningTrialRecord(
                    searchID: searchID, trial: item.trial, rung: item.rung, hyperparameters: item.hyperparameters.values,
                    budget: item.budget, loss: item.loss.isFinite ? item.loss : nil, jobs: item.jobs, failedJobs: item.failedJobs,
                    durationMs: item.durationMs))
            }
            // The search's own time (the first jobs handed out → the last outcome): what the workers' number changes.
            print("search time: " + String(format: "%.2f s for %d jobs", (ContinuousClock.now - started).seconds, result.jobs))
            let best = result.best.flatMap { b in result.bestRung.map { (trial: b.index, rung: $0, loss: b.losses[$0] ?? .infinity) } }
            try await searches.finish(searchID: searchID, best: best)
            // How the trainers shared the work: jobs and busy time per worker (training_runs).
            let runs = try await TrainingRuns(store: store).runs(runID: "tune-\(searchID)")
            for (worker, mine) in Dictionary(grouping: runs, by: \.worker).sorted(by: { $0.key < $1.key }) {
                let busy = Double(mine.reduce(0) { $0 + ($1.durationMs ?? 0) }) / 1000
                print("worker \(worker): \(mine.count) jobs, " + String(format: "%.1f s busy", busy))
            }
            if register { try await Self.registerBest(tune, result, bars, runner: runner, registry: ModelRegistry(store: store)) }
            return result
        }
    }

    static func registerBest(_ tune: Tune, _ result: Tune.Result, _ bars: BacktestData, runner: ClusterTrainingRunner,
                      registry: ModelRegistry) async throws {
        let jobs = try tune.registrationJobs(result, data: bars, codeVersion: QuorumMetrics.buildVersion)
        guard !jobs.isEmpty else {
            print("register: no trial finished, nothing to register")
            return
        }
        print("register: training trial \(result.best!.index)'s hyperparameters on the latest data for \(jobs.count) symbols")
        let outcomes = try await runner.run(jobs, progress: nil)
        for job in jobs {
            let outcome = outcomes[job.jobID]!
            let model = try await registry.model(id: "model-\(job.jobID)")
            let state = model.map { "\($0.modelID) \($0.status.rawValue)" } ?? "no model"
            let gain = outcome.metrics[TrainingResult.activationMetric].map { String(format: "%+.5f", $0) } ?? "-"
            print("  \(job.symbol): \(outcome.status.rawValue), \(state), log_loss_gain \(gain)\(outcome.error.map { " (\($0))" } ?? "")")
        }
    }

    func report(_ result: Tune.Result) {
        let ranked = result.trials.sorted { a, b in
            let ra = a.losses.lastIndex { $0 != nil } ?? -1, rb = b.losses.lastIndex { $0 != nil } ?? -1
            return ra != rb ? ra > rb : (a.losses[ra] ?? .infinity, a.index) < (b.losses[rb] ?? .infinity, b.index)
        }
        print("tune: \(result.trials.count) trials, \(result.jobs) training jobs over \(result.folds) folds; objective \(result.settings.objective.rawValue)")
        print("trial  " + (0..<result.settings.rungs).map { "rung \($0)  " }.joined() + "hyperparameters")
        for t in ranked.prefix(10) {
            let cells = t.losses.map { $0.map { $0.isFinite ? String(format: "%.5f", $0) : "failed " } ?? "   -   " }
            print(String(format: "%5d  ", t.index) + cells.map { $0 + "  " }.joined() + t.hyperparameters.summary)
        }
        if let best = result.best {
            print("best: trial \(best.index) at rung \(result.bestRung ?? 0): \(best.hyperparameters.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}

/// A command's run on the cluster's trainer workers: the broker's topics made sure of, a `ClusterTrainingRunner` on
/// `training.jobs` (its partitions counted), the Postgres store; the runner is closed however `body` ends.
enum ClusterRun {
    static func with<T: Sendable>(broker: BrokerOptions, stores: StoreOptions, runIDPrefix: String, stallTimeout: Duration,
                                  _ body: @escaping @Sendable (ClusterTrainingRunner, PostgresStore, String) async throws -> T) async throws -> T {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        try await bus.createTopics(namer.specsWithNames())
        let jobsTopic = namer.name(Topic.trainingJobs)
        guard let partitions = try await bus.topicPartitionCounts()[jobsTopic] else {
            throw ValidationError("the broker has no topic \(jobsTopic) after creating the topics: is it the cluster's broker?")
        }
        return try await stores.withStore(prefix: broker.prefix) { store in
            let runner = try ClusterTrainingRunner(bus: bus, namer: namer, runs: TrainingRuns(store: store), partitions: partitions,
                                                   runIDPrefix: runIDPrefix, stallTimeout: stallTimeout)
            do {
                let result = try await body(runner, store, jobsTopic)
                await runner.close()
                return result
            } catch {
                await runner.close()
                throw error
            }
        }
    }
}
