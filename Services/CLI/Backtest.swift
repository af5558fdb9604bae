import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import QuorumPipeline
import QuorumResearch
import QuorumServiceKit
import QuorumStores

/// `quorum backtest`: parses the options, runs `Backtest` (QuorumResearch) and prints; everything it computes lives
/// in the library.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run the pipeline's stages (features → inference → consensus → risk → paper execution) over bar files in one process; write runs/<run-id>/.",
        discussion: """
            No servers: the same stage logic as the cluster, driven in event-time order without sleeps or the clock, so \
            two runs of the same config and data write byte-identical files: report.json, equity.csv, trades.csv, \
            orders.csv, report.html. The config is one JSON file (docs/backtest.md; examples/backtest.json).
            """)

    @OptionGroup var options: ResearchOptions
    @Flag(help: "Also print digests of the decisions, orders and execution reports, as `quorum replay --digest` prints a cluster run's (equal digests: identical records).")
    var digests = false
    @Flag(help: "Print wall time of loading the bars and of running the stages, and bars/s (make bench-backtest); the run's files do not change.")
    var timing = false
    @Flag(help: "Instead of a backtest: recompute every feature and prediction with the data cut at many points and report any value that differs from the one computed with all the data (look-ahead bias); exit status 1 if one does.")
    var checkLookahead = false
    @Option(help: "Cut points of --check-lookahead, spread evenly over the data.") var lookaheadCutoffs = 20
    @Flag(help: "Also run the stress scenarios (fees ×2, slippage ×3, fills a bar later, volatility ×2) and report the named historical windows; the config's stress section sets them (docs/backtest.md).")
    var stress = false

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        var (settings, bars) = try await options.load()
        if stress, settings.stress == nil { settings.stress = StressSettings() }
        let backtest = try Backtest(config: settings)
        if checkLookahead {
            try bars.check(settings.featureSpec)
            let columns = settings.featureSpec.names + (backtest.models.isEmpty ? [] : ["prediction"])
            let result = try LookAheadCheck.run(bars, columns: columns, cutoffs: lookaheadCutoffs) { cut in
                try LookAheadCheck.pipelineValues(cut, spec: settings.featureSpec, models: backtest.models)
            }
            print("look-ahead check: \(result.cutoffs.count) cut points, \(result.compared) values compared (\(columns.count) columns: "
                  + "the features of \(settings.featureSpec)\(backtest.models.isEmpty ? "" : " and the models' predictions"))")
            if result.differences.isEmpty {
                print("  no value depends on a later bar")
                return
            }
            print("  LOOK-AHEAD: \(result.leakingColumns.count) column(s) change when later bars are removed: \(result.leakingColumns.joined(separator: ", "))")
            for d in result.differences.prefix(20) { print("  \(d)") }
            throw ExitCode(1)
        }
        let loaded = clock.now
        var progress = ProgressLine(total: bars.bars.count, label: "backtest", quiet: timing)
        let result = try await backtest.run(bars, digests: digests) { done in progress.update(done) }
        let ran = clock.now
        progress.finish()
        var output = BacktestOutput(result: result, codeVersion: QuorumMetrics.buildVersion)
        if settings.stress != nil {
            output.stress = try await Stress.run(config: settings, data: bars, base: result) { name in
                if !timing { FileHandle.standardError.write(Data("stress scenario: \(name)\n".utf8)) }
            }
        }
        try options.write(output)
        for line in result.digestLines { print(line) }
        if timing {
            let load = (loaded - started).seconds, run = (ran - loaded).seconds
            print(String(format: "timing: %d bars, load %.3f s, run %.3f s, %.0f bars/s", bars.bars.count, load, run,
                         Double(bars.bars.count) / run))
        }
    }
}

/// `quorum walk-forward`: parses the options, runs `WalkForward` (QuorumResearch) and prints.
struct WalkForwardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walk-forward",
        abstract: "Train a model per fold on the past only and trade each fold's test window with it; write runs/<run-id>/.",
        discussion: """
            The config's walk_forward section sets the folds (rolling or expanding training windows, test length, step, \
            embargo) and the hyperparameter candidates (docs/backtest.md, "Walk-forward"; examples/walk-forward.json). \
            Each fold × candidate × symbol is a training job of the cluster's trainer core, run on a pool of workers (or, \
            with --cluster, on the cluster's trainer workers, each model then measured here as the pool would); the \
            out-of-sample equity is the test windows back to back. Outputs as `quorum backtest`, with the fold table, \
            the candidates traded alone and the probability of backtest overfitting.
            """)

    @OptionGroup var options: ResearchOptions
    @OptionGroup var broker: BrokerOptions
    @Flag(help: "Train the jobs on the cluster's trainer workers (training.jobs); their archive must hold the same bars (docs/backtest.md).")
    var cluster = false
    @Option(help: "With --cluster: give up when no job has finished for this many seconds.") var stallTimeout: Int = 600

    func run() async throws {
        let (settings, bars) = try await options.load()
        let walkForward = try WalkForward(config: settings)
        let result: WalkForwardResult
        if cluster {
            result = try await ClusterRun.with(broker: broker, stores: options.stores, runIDPrefix: walkForward.jobPrefix(bars),
                                               stallTimeout: .seconds(stallTimeout)) { runner, _, jobsTopic in
                print("walk-forward: training on the cluster's trainers (\(jobsTopic))")
                return try await Self.execute(walkForward, bars, runner: runner)
            }
        } else {
            result = try await Self.execute(walkForward, bars, runner: nil)
        }
        let output = BacktestOutput(walkForward: result, codeVersion: QuorumMetrics.buildVersion)
        let folder = try options.write(output)
        let models = try output.writeModels(to: folder)
        if !models.isEmpty { print("  wrote \(models.count) fold models to \(folder)/models/") }
    }

    /// The walk-forward with progress lines on standard error.
    static func execute(_ walkForward: WalkForward, _ bars: BacktestData, runner: (any TrainingJobRunner)?) async throws -> WalkForwardResult {
        var training = ProgressLine(total: 1, label: "walk-forward training jobs")
        var trading: ProgressLine?
        let result = try await walkForward.run(bars, runner: runner) { step in
            switch step {
            case .training(let done, let total):
                training.total = total
                training.update(done)
                if done == total { training.finish() }
            case .trading(let run, let runs, let done, let total):
                if trading == nil || trading?.label.hasSuffix("\(run)/\(runs)") == false {
                    trading?.finish()
                    trading = ProgressLine(total: total, label: "walk-forward trading run \(run)/\(runs)")
                }
                trading?.update(done)
            }
        }
        trading?.finish()
        return result
    }
}

/// The options `quorum backtest` and `quorum walk-forward` share.
struct ResearchOptions: ParsableArguments {
    @Option(help: "The run configuration (JSON; see docs/backtest.md).") var config: String
    @Option(parsing: .upToNextOption, help: "Bar files (any format `quorum ingest` reads); replace the config's data source.")
    var data: [String] = []
    @Option(help: "Market of every row, and the one symbol traded (default: from the files, as `quorum ingest` infers it).")
    var symbol: String?
    @Option(help: "Only bars opening at or after this time (2019-01-01 or ISO-8601); overrides the config.") var from: String?
    @Option(help: "Only bars opening before this time; overrides the config.") var to: String?
    @Option(help: "Folder that receives runs/<run-id>/ (the run's folder is <out>/<run-id>).") var out: String = "runs"

    @OptionGroup var stores: StoreOptions

    /// The config with the command line's overrides, and its bars. A config that reads the bar archive (`data.archive`)
    /// or serves registered models (`models[].registered_id`) reads them from Postgres (`--postgres.url`, default
    /// `$QUORUM_POSTGRES_URL`), in the schema of the topic prefix it names.
    func load() async throws -> (BacktestConfig, BacktestData) {
        var settings = try BacktestConfig.load(path: config)
        try settings.override(data: data, symbol: symbol, from: from, to: to)
        var archived: [ArchivedBarRecord]?
        if case .archive(let prefix) = settings.data {
            let config = settings
            archived = try await stores.withStore(prefix: prefix) { store in
                try await Self.archivedBars(BarArchive(store: store), config: config, prefix: prefix)
            }
        }
        for case .registered(let id, let prefix) in settings.models {
            let record = try await stores.withStore(prefix: prefix) { try await ModelRegistry(store: $0).model(id: id) }
            guard let record else {
                throw ValidationError("models: no model \(id) in the registry of topic prefix \"\(prefix)\" (quorum models list"
                                      + (prefix.isEmpty ? "" : " --topic.prefix \(prefix)") + " shows the registered ones)")
            }
            settings.registeredArtifacts[id] = record.artifact
        }
        return (settings, try BacktestData.load(settings, archived: archived))
    }

    /// Every archived bar of the config's symbols (all the archive's, when it names none) in its range, at each symbol's
    /// shortest interval, with the file and line each was ingested from.
    static func archivedBars(_ archive: BarArchive, config: BacktestConfig, prefix: String) async throws -> [ArchivedBarRecord] {
        let symbols = config.symbols.isEmpty ? try await archive.symbols() : config.symbols
        guard !symbols.isEmpty else {
            throw ValidationError("data.archive: the bar archive of topic prefix \"\(prefix)\" is empty: ingest bars first (quorum ingest FILE…)")
        }
        var records: [ArchivedBarRecord] = []
        for symbol in symbols {
            guard let interval = try await archive.intervals(symbol: symbol).first else { continue }  // BacktestData names it
            let from = config.from ?? .min, to = config.to.map { $0 - 1 } ?? .max
            for r in try await archive.records(symbol: symbol, intervalSeconds: interval, fromOpenNs: from, toOpenNs: to) {
                records.append(ArchivedBarRecord(bar: r.bar, id: r.bar.wireID, file: r.file, line: r.line))
            }
        }
        return records
    }

    /// Writes the run's files, prints the summary, returns the run's folder.
    @discardableResult
    func write(_ output: BacktestOutput) throws -> String {
        let folder = try output.write(to: out)
        for line in output.summary() { print(line) }
        print("  wrote \(folder)/{\(BacktestOutput.fileNames.joined(separator: ","))}")
        return folder
    }
}

