import ArgumentParser
import Foundation
import QuorumML
import QuorumModel
import QuorumResearch

/// `quorum tune --config FILE`: a hyperparameter search over the config's walk-forward folds (docs/models.md, "Tuning").
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search a model family's hyperparameters over walk-forward folds (TPE and successive halving); write the trials to JSON.",
        discussion: """
            The config's tune section names the family, the search space, the number of trials, the halving (eta, rungs, \
            generation size), the objective (log_loss or auc) and the seed; its walk_forward section the folds. Every work \
            item is a training job per fold × symbol of the trainers' core, on a pool of walk_forward.workers; the same \
            seed gives the same trials. Prints the best trials and writes every one to <out>/tune.json.
            """)

    @OptionGroup var options: ResearchOptions

    func run() async throws {
        let (settings, bars) = try options.load()
        let tune = try Tune(config: settings)
        var progress = ProgressLine(total: tune.settings.trials, label: "tune work items")
        let result = try await tune.run(bars) { done, given in
            progress.total = given
            progress.update(done)
        }
        progress.finish()
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
        try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
        let file = options.out + "/tune.json"
        try (result.json().rendered() + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        print("wrote \(file)")
    }
}
