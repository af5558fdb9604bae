import Foundation
import QuorumML
import QuorumModel
@testable import QuorumResearch
import Testing

@Suite("quorum tune", .serialized, .timeLimit(.minutes(5)))
struct TuneTests {
    static func config(folder: String, workers: Int, tune: String) throws -> BacktestConfig {
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-03-02")
        return try BacktestConfig.parse("""
            {"data": {"files": [\(files.map { "\"\($0)\"" }.joined(separator: ", "))]}, "features": {"spec": "core-v1"},
             "walk_forward": {"train": "30d", "test": "10d", "workers": \(workers)}, "tune": \(tune)}
            """, file: "tune.json", baseDirectory: folder)
    }

    static let search = """
        {"family": "gbdt", "space": {"learning_rate": {"min": 0.03, "max": 0.3, "log": true}, "max_leaves": {"min": 3, "max": 15, "integer": true},
         "column_subsample": {"choices": [0.5, 1]}}, "fixed": {"rounds": 30}, "trials": 9, "eta": 3, "rungs": 2, "generation": 4, "startup": 4, "seed": 3}
        """

    @Test("trials over the walk-forward folds: halving by generations, the best at the top rung, the same trials with one worker or two")
    func run() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let one = try Self.config(folder: folder, workers: 1, tune: Self.search)
        let data = try BacktestData.load(one)
        let result = try await Tune(config: one).run(data)
        #expect(result.trials.count == 9 && result.folds == 3)
        let items = result.trials.reduce(0) { $0 + $1.losses.compactMap { $0 }.count }
        #expect(result.jobs == items * 3 * 2, "a job per fold × symbol × work item")
        #expect(result.trials.filter { $0.losses[1] != nil }.count >= 3, "the best third went on to the full budget")
        let best = try #require(result.best)
        #expect(result.bestRung == 1)
        #expect(result.trials.compactMap { $0.losses[1] }.allSatisfy { $0 >= best.losses[1]! })
        #expect(result.trials.allSatisfy { $0.hyperparameters.family == .gbdt })
        guard case .gbdt(let h) = best.hyperparameters else { Issue.record("not gbdt"); return }
        #expect(h.rounds == 30 && (3...15).contains(h.maxLeaves) && [0.5, 1].contains(h.columnSubsample))

        let two = try Self.config(folder: folder, workers: 2, tune: Self.search)
        let again = try await Tune(config: two).run(data)
        #expect(again.json() == result.json(), "worker count does not change the trials")
        #expect(result.json().rendered().contains("\"trials\": 9"))
    }

    @Test("the sharpe objective trades each item's models over the test windows: the best trial's top-rung loss is −Sharpe of walk-forward trading it alone")
    func sharpeObjective() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let search = """
            {"family": "logistic", "space": {"l2": {"min": 0.01, "max": 10, "log": true}}, "trials": 4, "eta": 2, "rungs": 2,
             "generation": 4, "startup": 2, "objective": "sharpe", "seed": 5}
            """
        let config = try Self.config(folder: folder, workers: 2, tune: search)
        let data = try BacktestData.load(config)
        let result = try await Tune(config: config).run(data)
        let best = try #require(result.best)
        let loss = try #require(best.losses[1])
        #expect(loss.isFinite && loss != 0, "the best trial traded: \(result.json().rendered())")
        // Walk-forward with the best trial's hyperparameters as a candidate (and another, so each is traded alone).
        var check = config
        check.tune = nil
        check.walkForward?.candidates = [best.hyperparameters, .logistic(LogisticHyperparameters(l2: 123))]
        let walk = try await WalkForward(config: check).run(data)
        let alone = try #require(walk.candidates.first)
        #expect(-loss == alone.sharpe, "tune \(-loss), walk-forward \(alone.sharpe)")
        #expect(result.json().rendered().contains("\"objective\": \"sharpe\""))
    }

    @Test("bad tune sections are refused before any job runs, saying what and where")
    func errors() async throws {
        func problem(_ tune: String) -> String {
            do { _ = try BacktestConfig.parse(#"{"walk_forward": {"train": "30d", "test": "10d"}, "tune": "# + tune + "}", file: "t.json"); return "no error" } catch {
                return error.description
            }
        }
        #expect(problem(#"{"family": "gbdt", "space": {}}"#).contains("the search space is empty"))
        #expect(problem(#"{"family": "gbdt", "space": {"max_leafs": {"min": 2, "max": 8}}}"#).contains("did you mean \"max_leaves\""))
        #expect(problem(#"{"family": "gbdt", "space": {"l2": {"min": 0, "max": 1, "log": true}}}"#).contains("min > 0"))
        #expect(problem(#"{"family": "forest", "space": {}}"#).contains("tune.family is \"forest\""))
        #expect(problem(#"{"family": "gbdt", "space": {"l2": {"min": 0.1, "max": 1}}, "objective": "shrpe"}"#).contains("use \"log_loss\", \"auc\" or \"sharpe\""))
        #expect(problem(#"{"family": "gbdt"}"#).contains("tune.space is required"))
        // A sequence window longer than the data can give: refused before any job runs.
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var long = try Self.config(folder: folder, workers: 1, tune: #"{"family": "tcn", "space": {"sequence_length": {"min": 8, "max": 256, "integer": true}}}"#)
        long.walkForward?.trainLength = 5 * 86_400_000_000_000   // 240 bars, 180 of them training
        do { _ = try await Tune(config: long).run(try BacktestData.load(long)); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("sequence_length can be 256, but each fold trains on 180 bars"), "\(error)")
        }
        #expect(problem(#"{"family": "gbdt", "space": {"l2": {"min": 1, "mx": 2}}}"#).contains("unknown key \"tune.space.l2.mx\""))
    }
}
