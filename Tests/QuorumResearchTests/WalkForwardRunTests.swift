import Foundation
import QuorumFeatures
import QuorumMarketData
import QuorumML
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

@Suite("Walk-forward runs", .serialized, .timeLimit(.minutes(5)))
struct WalkForwardRunTests {
    static let interval: Nanos = 1_800_000_000_000

    /// Two months of BTC and ETH, 30-day training windows, 10-day test windows, two candidates.
    static func config(folder: String, extra: String = "") throws -> BacktestConfig {
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-03-02")
        let list = files.map { "\"\($0)\"" }.joined(separator: ", ")
        return try BacktestConfig.parse("""
            {"data": {"files": [\(list)]}, "monte_carlo": {"paths": 50},
             "walk_forward": {"train": "30d", "test": "10d", "embargo": "1d", "validation_fraction": 0.25,
                              "candidates": [{"l2": 0.1}, {"l2": 1}]\(extra)}}
            """, file: "wf.json", baseDirectory: folder)
    }

    @Test("folds of the past only: each fold's jobs validate up to 1 ns before its test window, models serve from the test start on, byte-identical twice")
    func run() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try Self.config(folder: folder)
        let data = try BacktestData.load(config)
        let walkForward = try WalkForward(config: config)
        let result = try await walkForward.run(data)

        // 60 days: 30 days of training, then 3 test windows of 10 days.
        #expect(result.folds.count == 3)
        #expect(result.jobs == 3 * 2 * 2)
        #expect(result.trained + result.rejected + result.failed == result.jobs)
        for (i, fold) in result.folds.enumerated() {
            #expect(fold.testTo - fold.testFrom == 10 * 86_400_000_000_000)
            #expect(fold.testFrom - fold.trainFrom == 30 * 86_400_000_000_000, "rolling: equal training windows")
            #expect(fold.validateTo == fold.testFrom - 1)
            #expect(fold.trainFrom < fold.trainTo && fold.trainTo < fold.validateTo)
            if i > 0 { #expect(fold.testFrom == result.folds[i - 1].testTo, "back-to-back test windows") }
        }
        // The jobs are those the cluster's trainers would get: fold index and count, ranges, the embargo after
        // earlier test windows as excluded ranges.
        #expect(result.folds[0].testFrom == TimestampParser.parse("2019-01-31"), "folds start at the first bar's open")
        let jobs = try walkForward.makeJobs(folds: try walkForward.folds(data), symbols: data.symbols, intervalSeconds: 1_800)
        #expect(Set(jobs.map(\.wire.jobID)).count == jobs.count)
        for job in jobs {
            #expect(job.wire.foldCount == 3 && Int(job.wire.foldIndex) == job.key.fold)
            let fold = result.folds[job.key.fold]
            #expect(job.spec.validateTo == fold.testFrom - 1)
            // Rolling 30-day windows moved by 10 days: fold 2 trains over fold 0's test window (which ends inside its
            // training window), so the day after it is embargoed; fold 1's training ends where fold 0's test ends.
            let day: Nanos = 86_400_000_000_000
            let after = { (j: Int) in result.folds[j].testTo..<(result.folds[j].testTo + day) }
            let expected: [[Range<Nanos>]] = [[], [], [after(0)]]
            #expect(job.spec.excluded == expected[job.key.fold], "fold \(job.key.fold)")
        }
        // Nothing is traded before the first model serves, nor outside the test windows.
        let firstServed = try #require(result.folds.first { f in f.models.contains { $0.candidate != nil } })
        #expect(!result.backtest.orders.isEmpty, "the models trade")
        for order in result.backtest.orders {
            #expect(order.time >= firstServed.testFrom && order.time < result.folds.last!.testTo, "order at \(order.time)")
        }
        // The curve starts at the open of the first bar closing at the first test start.
        #expect(result.backtest.curve.times.first! == result.folds[0].testFrom - Self.interval)
        // The served models were scored on the test windows; PBO over the two candidates traded alone.
        #expect(result.modelMetrics != nil && result.candidates.count == 2 && result.overfitting != nil)
        #expect(result.backtest.config.trials == 2, "every candidate is a trial of the deflated Sharpe ratio")

        let second = try await WalkForward(config: config).run(data)
        let a = BacktestOutput(walkForward: result, codeVersion: "test").files()
        let b = BacktestOutput(walkForward: second, codeVersion: "test").files()
        for (x, y) in zip(a, b) { #expect(x.contents == y.contents, "\(x.name) differs between runs") }
        let report = try #require(try JSONSerialization.jsonObject(with: Data(a[0].contents.utf8)) as? [String: Any])
        #expect((report["folds"] as? [[String: Any]])?.count == 3)
        #expect(report["auc"] != nil && report["pbo"] != nil && report["sharpe"] != nil)
        // Reliability of the served models over the test windows: ten bins whose rows add up to the scored rows.
        let bins = try #require(report["reliability"] as? [[String: Any]])
        #expect(bins.count == 10 && bins.compactMap { $0["count"] as? Int }.reduce(0, +) == report["scored"] as? Int)
        #expect((report["ece"] as? Double).map { $0 >= 0 && $0 < 0.5 } == true)
        #expect(a[4].contents.contains("Walk-forward folds") && a[4].contents.contains("<h2>Reliability</h2>"))
    }

    @Test("gbdt candidates beside a logistic one: trees trained per fold through the jobs' wire form, traded, byte-identical twice")
    func gbdtCandidates() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-03-02")
        let config = try BacktestConfig.parse("""
            {"data": {"files": [\(files.map { "\"\($0)\"" }.joined(separator: ", "))]}, "monte_carlo": {"paths": 50},
             "features": {"spec": "rich-v1"},
             "walk_forward": {"train": "30d", "test": "10d", "embargo": "1d",
                              "candidates": [{"l2": 0.1}, {"family": "gbdt", "max_leaves": 7, "rounds": 60, "learning_rate": 0.1,
                                              "min_child_samples": 40, "row_subsample": 0.8, "column_subsample": 0.5}]}}
            """, file: "wf.json", baseDirectory: folder)
        #expect(config.walkForward?.candidates[1].family == .gbdt)
        let data = try BacktestData.load(config)
        let result = try await WalkForward(config: config).run(data)
        #expect(result.jobs == 3 * 2 * 2 && result.failed == 0)
        let jobs = try WalkForward(config: config).makeJobs(folds: try WalkForward(config: config).folds(data), symbols: data.symbols,
                                                           intervalSeconds: 1_800)
        #expect(jobs.filter { $0.wire.modelKind == "gbdt" }.count == 6)
        #expect(jobs.allSatisfy { $0.spec.hyperparameters.family == ModelFamily(kind: $0.wire.modelKind) })
        let candidates = result.candidates.map(\.hyperparameters.summary)
        #expect(candidates == ["logistic l2=0.1", "gbdt leaves=7 rate=0.1 rounds=60 rows=0.8 columns=0.5"])
        let second = try await WalkForward(config: config).run(data)
        for (x, y) in zip(BacktestOutput(walkForward: result, codeVersion: "t").files(), BacktestOutput(walkForward: second, codeVersion: "t").files()) {
            #expect(x.contents == y.contents, "\(x.name) differs between runs")
        }
    }

    @Test("purge: a fold's training and validation rows all have labels known before its test window opens")
    func purge() throws {
        let bars = try Support.bars("btc_usd_30m.csv.gz", from: "2019-01-01", to: "2019-02-01")
        let rows = try TrainingRows.rows(bars: bars, spec: .coreV1)
        let fold = WalkForwardFold(index: 0, trainFrom: rows[0].time, trainTo: rows[1_000].time, testFrom: rows[1_000].time,
                                   testTo: rows[1_300].time, labelHorizon: Self.interval)
        let window = WalkForward.trainingWindow(fold, validationFraction: 0.25, intervalNs: Self.interval)
        let job = TrainingJobSpec(jobID: "purge", symbol: "BTC-USD", featureSpecVersion: Int(FeatureSpec.coreV1.version), featureNames: FeatureSpec.coreV1.names,
                                  trainFrom: fold.trainFrom, trainTo: window.trainTo, validateTo: window.validateTo)
        let result = try #require(TrainerCore(gate: ValidationGate(minimumCount: 1, minimumImprovement: -1)).train(job: job, rows: rows).result)
        let labelled = try LabeledDataset.make(rows: rows)
        let allowed = labelled.rows.filter { $0.time >= window.trainTo && $0.labelTime < fold.testFrom }
        #expect(result.validationMetrics.count == allowed.count)
        // The row just before the test window (its label is the test window's first close) is the one left out.
        #expect(labelled.rows.filter { $0.time >= window.trainTo && $0.time < fold.testFrom }.count == allowed.count + 1)
        #expect(allowed.allSatisfy { fold.trains(on: $0.time) })
    }

    @Test("bad walk_forward settings: models beside it, a missing or malformed length, a typo, no section")
    func errors() throws {
        func problem(_ json: String) -> String {
            do { _ = try BacktestConfig.parse(json, file: "wf.json"); return "no error" } catch { return error.description }
        }
        #expect(problem(#"{"models": [{"file": "m.bin"}], "walk_forward": {"train": "30d", "test": "15d"}}"#)
            .contains("walk_forward trains a model per fold, so models must be empty"))
        #expect(problem(#"{"walk_forward": {"test": "15d"}}"#).contains("walk_forward.train is required"))
        #expect(problem(#"{"walk_forward": {"train": "30x", "test": "15d"}}"#).contains("\"30x\" is not a duration"))
        #expect(problem(#"{"walk_forward": {"train": "30d", "tset": "15d"}}"#)
            .contains("unknown key \"walk_forward.tset\". did you mean \"walk_forward.test\"?"))
        #expect(problem(#"{"walk_forward": {"train": "30d", "test": "15d", "window": "sliding"}}"#).contains("use \"rolling\" or \"expanding\""))
        #expect(problem(#"{"walk_forward": {"train": "30d", "test": "15d", "candidates": [{"l2": -1}]}}"#)
            .contains("walk_forward.candidates[0]: l2 = -1.0 is invalid"))
        #expect(problem(#"{"walk_forward": {"train": "30d", "test": "15d", "candidates": [{"family": "gbdt", "max_leafs": 8}]}}"#)
            .contains("unknown key \"walk_forward.candidates[0].max_leafs\". did you mean \"walk_forward.candidates[0].max_leaves\"?"))
        #expect(problem(#"{"walk_forward": {"train": "30d", "test": "15d", "candidates": [{"family": "gbdt", "l2": 1, "max_iterations": 5}]}}"#)
            .contains("unknown key \"walk_forward.candidates[0].max_iterations\""), "a logistic key on a gbdt candidate")
        #expect(problem(#"{"walk_forward": {"train": "30d", "test": "15d", "candidates": [{"family": "forest"}]}}"#)
            .contains("walk_forward.candidates[0].family is \"forest\"; use one of logistic, gbdt"))
        do { _ = try WalkForward(config: BacktestConfig()); Issue.record("expected an error") } catch {
            #expect(error.description.contains("no walk_forward section"))
        }
    }

    @Test("a range too short for one fold names the lengths")
    func tooShort() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = try Self.config(folder: folder)
        config.walkForward?.trainLength = 80 * 86_400_000_000_000
        do { _ = try await WalkForward(config: config).run(try BacktestData.load(config)); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("no fold fits") && "\(error)".contains("80 days of training"), "\(error)")
        }
    }
}
