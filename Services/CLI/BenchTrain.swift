import ArgumentParser
import Foundation
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumResearch

/// `quorum bench-train`: Quorum's gbdt and logistic models on walk-forward folds of bar files (make bench-train runs it
/// beside LightGBM on the folds it writes).
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Train gbdt, logistic and mlp models on walk-forward folds of bar files: AUC and seconds per fold; write the folds for a reference library.",
        discussion: """
            Per symbol and fold: the spec's feature rows, labelled up/down over one bar; training rows whose label is \
            known before the test window, the latest 20 % of them watching the trees' early stopping; the test window's \
            rows score. --out writes <symbol>.csv (label and features per row), folds.json (row ranges per fold) and \
            quorum.json (the figures). make bench-train runs LightGBM on the same files.
            """)
    @Argument(help: "Bar files (.csv, .tsv, .txt, optionally .gz).") var files: [String]
    @Option(help: "A built-in spec or a spec file.") var spec: String = FeatureSpec.default.name
    @Option(help: "Training window (rolling), e.g. 365d.") var train: String = "365d"
    @Option(help: "Test window and step, e.g. 90d.") var test: String = "90d"
    @Option(help: "Boosting rounds.") var rounds: Int = 200
    @Option(help: "Leaves per tree.") var leaves: Int = 31
    @Option(help: "Learning rate.") var learningRate: Double = 0.05
    @Option(help: "Row and column subsampling.") var subsample: Double = 0.8
    @Option(help: "Early-stopping rounds (0: every round runs).") var earlyStopping: Int = 20
    @Option(help: "Folder for the folds and figures.") var out: String?
    @Flag(help: "Leave malformed rows out instead of stopping at the first.") var skipBadRows = false

    func run() throws {
        guard let trainLength = Durations.parse(train), let testLength = Durations.parse(test) else {
            throw ValidationError("--train and --test are durations, e.g. 365d and 90d")
        }
        let featureSpec = try FeatureSpec.load(spec)
        var config = BacktestConfig()
        config.data = .files(files)
        if skipBadRows { config.badRows = .skip }
        let data = try BacktestData.load(config)
        let h = GBDTHyperparameters(rounds: rounds, learningRate: learningRate, maxLeaves: leaves, rowSubsample: subsample,
                                    columnSubsample: subsample, earlyStoppingRounds: earlyStopping)
        try h.validate()
        let plan = WalkForwardPlan(window: .rolling, trainLength: trainLength, testLength: testLength)
        let (datasets, folds) = try TrainBench.folds(data, spec: featureSpec, plan: plan, hyperparameters: h)
        guard !folds.isEmpty else { throw ValidationError("no fold fits the data: shorten --train or --test") }
        FileHandle.standardError.write(Data("bench-train: \(folds.count) folds over \(datasets.count) symbols, \(featureSpec)\n".utf8))
        var figures: [JSON] = []
        print("symbol   fold  fit   stop  test   gbdt AUC  trees  seconds   logistic AUC  seconds   mlp AUC  epochs  seconds")
        for fold in folds {
            let rows = datasets.first { $0.symbol == fold.symbol }!.rows
            let trees = try TrainBench.gbdt(rows, fold, h, seed: 1)
            let linear = try TrainBench.logistic(rows, fold, LogisticHyperparameters(l2: 0.1))
            let network = try TrainBench.mlp(rows, fold, MLPHyperparameters(), seed: 1)
            print(fold.symbol.name.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + String(format: " %4d %5d %5d %5d   %8.4f  %5d  %7.3f   %12.4f  %7.3f   %7.4f  %6d  %7.3f", fold.index, fold.fit.count,
                           fold.stop.count, fold.test.count, trees.auc, trees.size, trees.seconds, linear.auc, linear.seconds,
                           network.auc, network.size, network.seconds))
            func range(_ r: Range<Int>) -> JSON { .array([.int(r.lowerBound), .int(r.upperBound)]) }
            figures.append(.object([
                ("symbol", .string(fold.symbol.name)), ("fold", .int(fold.index)), ("fit", range(fold.fit)), ("stop", range(fold.stop)),
                ("test", range(fold.test)), ("gbdt_auc", .double(trees.auc)), ("gbdt_seconds", .double(trees.seconds)),
                ("gbdt_trees", .int(trees.size)), ("logistic_auc", .double(linear.auc)), ("logistic_seconds", .double(linear.seconds)),
                ("mlp_auc", .double(network.auc)), ("mlp_seconds", .double(network.seconds)), ("mlp_epochs", .int(network.size)),
            ]))
        }
        guard let out else { return }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for dataset in datasets {
            try TrainBench.csv(dataset).write(toFile: "\(out)/\(dataset.symbol.name).csv", atomically: true, encoding: .utf8)
        }
        let parameters: JSON = .object(h.jsonPairs)
        try JSON.object([("spec", .string(featureSpec.description)), ("hyperparameters", parameters), ("folds", .array(figures))])
            .rendered().write(toFile: "\(out)/quorum.json", atomically: true, encoding: .utf8)
    }
}

extension GBDTHyperparameters {
    /// The hyperparameters by their names (`ModelHyperparameters.values`), for the reference to read.
    var jsonPairs: [(String, JSON)] {
        ModelHyperparameters.gbdt(self).values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) }
    }
}
