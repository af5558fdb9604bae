import Foundation
import QuorumBus
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumProto
import QuorumServiceKit
import QuorumStores
import Logging
import Testing

/// `quorum tune --cluster` on the real trainer workers: the same trials as in process, a resume after kill -9 of the
/// tuner that loses no trial and runs no job twice to completion, and the best model registered with its lineage.
/// Part of the cluster suite (`scripts/test` runs `ClusterIntegrationTests` first, on its own): it is an extension of it.
extension ClusterIntegrationTests {
    @Test("tune --cluster: the trainer workers give the in-process trials; kill -9 of the tuner resumes; the best is registered with its lineage; backtest from the archive and registry equals backtest from files")
    func tuneOnTheCluster() async throws {
        let env = try Self.environment()
        let fixture = try Self.writeFixture(env)
        let prefix = "tu\(wallClockNanos() % 1_000_000_000)"
        let run = Run(env: env, prefix: prefix)
        defer { run.stopAll() }
        let files = fixture.history + fixture.live
        let config = "\(env.work)/\(prefix)-tune.json"
        try """
            {"data": {"files": [], "bad_rows": "skip"}, "interval": "30m", "features": {"spec": "core-v1"},
             "walk_forward": {"train": "6d", "test": "3d", "validation_fraction": 0.25, "workers": 2},
             "tune": {"family": "logistic", "space": {"l2": {"min": 0.001, "max": 10, "log": true}},
                      "trials": 6, "eta": 3, "rungs": 2, "generation": 3, "startup": 3, "objective": "log_loss", "seed": 7}}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        // 1. In process: the reference trials.
        let local = "\(env.work)/\(prefix)-local"
        try await run.cli(["tune", "--config", config, "--data"] + files + ["--out", local])
        let expected = try String(contentsOfFile: local + "/tune.json", encoding: .utf8)
        // The project's JSON reader keeps numbers as their text (Foundation's does not read every double back exactly).
        let reference = try JSON.parse(expected)
        guard case .string(let searchID)? = reference["search_id"], case .number(let jobCount)? = reference["jobs"],
              let jobs = Int(jobCount), case .array(let referenceTrials)? = reference["all"] else {
            throw ClusterTestError("tune.json lacks search_id, jobs or all: \(expected)")
        }
        #expect(jobs >= 40, "the search should have enough jobs to be killed in the middle: \(jobs)")
        #expect(!expected.contains("\"failed\""), "every trial should train: \(expected)")

        // 2. The cluster: two trainers (the gate lets any model through, as in the ledger test), the bars in the archive.
        try run.start("quorum-trainer", instance: "trainer-1", extra: ["--trainer.gate.min.improvement", "-1", "--trainer.gate.min.count", "10"])
        try run.start("quorum-trainer", instance: "trainer-2", extra: ["--trainer.gate.min.improvement", "-1", "--trainer.gate.min.count", "10"])
        try await run.cli(["ingest"] + files)

        // 3. The tuner on the cluster, killed with -9 once half of the jobs are recorded.
        let clusterOut = "\(env.work)/\(prefix)-cluster"
        let arguments = ["tune", "--config", config, "--data"] + files + ["--out", clusterOut, "--cluster", "--register",
                                                                         "--topic.prefix", prefix, "--kafka.brokers", env.brokers]
        let tuner = try ChildProcess.spawn("\(env.bin)/quorum", arguments, log: "\(env.work)/\(prefix)-tuner-1.log", environment: run.secrets)
        let runID = "tune-\(searchID)"
        let deadline = ContinuousClock.now + .seconds(300)
        var recorded = 0
        while recorded < jobs / 2 {
            guard tuner.isRunning, ContinuousClock.now < deadline else {
                throw ClusterTestError("the tuner ended or stalled before half of its jobs were done (\(recorded) of \(jobs)): see \(env.work)/\(prefix)-tuner-1.log")
            }
            try await Task.sleep(for: .milliseconds(100))
            recorded = try await Self.withStore(env, prefix: prefix) { try await TrainingRuns(store: $0).runs(runID: runID).count }
        }
        tuner.kill9()
        tuner.wait()
        #expect(recorded < jobs, "killed before the search ended")

        // 4. Run again: it resumes the search and ends it, then registers the best hyperparameters' models.
        let output = try await run.cli(Array(arguments.dropLast(4)))
        #expect(output.contains("search \(searchID): resumed"), "\(output)")
        let got = try String(contentsOfFile: clusterOut + "/tune.json", encoding: .utf8)
        #expect(got == expected, "the cluster's trials differ from the in-process ones:\ncluster: \(got)\nin process: \(expected)")

        // Every job ran to completion exactly once: one result each on training.results, one training_runs row each.
        let bus = try Self.bus(env)
        let results = try await Self.records(bus, try TopicNamer(prefix: prefix).name(Topic.trainingResults))
            .map { try Quorum_V1_TrainingResult(serializedBytes: $0.value) }
        let trialResults = Dictionary(grouping: results.filter { $0.runID == runID }, by: \.jobID)
        #expect(trialResults.count == jobs)
        #expect(trialResults.values.allSatisfy { $0.count == 1 }, "\(trialResults.filter { $0.value.count > 1 }.keys.sorted())")

        // Postgres: the search, its trials (the same losses as tune.json), the registered models with their lineage.
        let (search, trials, runs, models) = try await Self.withStore(env, prefix: prefix) { store in
            let searches = TuningSearches(store: store)
            return (try await searches.search(id: searchID), try await searches.trials(searchID: searchID),
                    try await TrainingRuns(store: store).runs(runID: runID), try await ModelRegistry(store: store).list(symbol: nil))
        }
        #expect(runs.count == jobs)
        #expect(runs.allSatisfy { $0.durationMs != nil && $0.modelID == nil }, "trials register no model")
        let s = try #require(search)
        #expect(s.finished && s.bestTrial.map { JSON.int($0) } == reference["best"]?["trial"])
        var items = 0
        for trial in referenceTrials {
            guard case .array(let losses)? = trial["losses"] else { continue }
            items += losses.filter { $0 != .null }.count
        }
        #expect(trials.count == items)
        for t in trials {
            let losses = referenceTrials.first { $0["trial"] == .int(t.trial) }?["losses"]
            guard case .array(let values)? = losses, t.rung < values.count else {
                Issue.record("trial \(t.trial) rung \(t.rung) is stored but not in tune.json")
                continue
            }
            #expect(values[t.rung] == t.loss.map(JSON.double), "trial \(t.trial) rung \(t.rung)")
        }
        #expect(models.count == Self.symbols.count, "\(models.map(\.modelID))")
        for model in models {
            #expect(model.modelID == "model-\(runID)-final-\(model.symbol.name)")
            #expect(model.status == .active)
            #expect(model.lineage["search_id"] == searchID && model.lineage["trial"] == s.bestTrial.map(String.init))
            #expect(model.lineage["feature_spec"]?.hasPrefix("core-v1") == true && model.lineage["code_version"] != nil)
        }

        // `quorum backtest` on the cluster's sources — the bar archive and the registered models, read from Postgres —
        // decides exactly as on the same files and the same models exported to artifact files (equal digests).
        var modelFiles: [String] = []
        for model in models {
            let file = "\(env.work)/\(prefix)-\(model.symbol.name).model"
            try Data(model.artifact).write(to: URL(fileURLWithPath: file))
            modelFiles.append(#"{"file": "\#(file)", "id": "\#(model.modelID)"}"#)
        }
        let common = #""interval": "30m", "features": {"spec": "core-v1"}, "consensus": {"threshold": 0.2}, "monte_carlo": {"paths": 0}"#
        let fromFiles = "\(env.work)/\(prefix)-files.json", fromCluster = "\(env.work)/\(prefix)-sources.json"
        try #"{"data": {"files": [\#(files.map { "\"\($0)\"" }.joined(separator: ", "))], "bad_rows": "skip"}, "models": [\#(modelFiles.joined(separator: ", "))], \#(common)}"#
            .write(toFile: fromFiles, atomically: true, encoding: .utf8)
        let registered = models.map { #"{"registered_id": "\#($0.modelID)", "topic_prefix": "\#(prefix)"}"# }
        try #"{"data": {"archive": {"topic_prefix": "\#(prefix)"}}, "models": [\#(registered.joined(separator: ", "))], \#(common)}"#
            .write(toFile: fromCluster, atomically: true, encoding: .utf8)
        var digests: [String] = []
        for (name, config) in [("files", fromFiles), ("sources", fromCluster)] {
            let log = "\(env.work)/\(prefix)-backtest-\(name).log"
            let child = try ChildProcess.spawn("\(env.bin)/quorum", ["backtest", "--config", config, "--digests", "--out", "\(env.work)/\(prefix)-runs"],
                                               log: log, environment: run.secrets)
            while child.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let output = try String(contentsOfFile: log, encoding: .utf8)
            #expect(child.exitStatus == 0, "\(output)")
            digests.append(output.split(separator: "\n").filter { $0.hasPrefix("digest ") }.joined(separator: "\n"))
        }
        #expect(!digests[0].isEmpty && digests[0] == digests[1], "files:\n\(digests[0])\nPostgres sources:\n\(digests[1])")
        #expect(!digests[0].contains("orders.approved: 0 records"), "the backtest should trade: \(digests[0])")

        // The sharpe objective on the cluster: the trainers return each trial's model (TrainingJob.return_artifact), the
        // tuner trades them; the same trials and losses as in process.
        let sharpe = "\(env.work)/\(prefix)-sharpe.json"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: #""trials": 6, "eta": 3, "rungs": 2, "generation": 3, "startup": 3, "objective": "log_loss""#,
                                  with: #""trials": 3, "eta": 3, "rungs": 1, "generation": 3, "startup": 3, "objective": "sharpe""#)
            .write(toFile: sharpe, atomically: true, encoding: .utf8)
        try await run.cli(["tune", "--config", sharpe, "--data"] + files + ["--out", local + "-sharpe"])
        try await run.cli(["tune", "--config", sharpe, "--data"] + files + ["--out", clusterOut + "-sharpe", "--cluster"])
        let sharpeLocal = try String(contentsOfFile: local + "-sharpe/tune.json", encoding: .utf8)
        #expect(sharpeLocal.contains(#""objective": "sharpe""#) && !sharpeLocal.contains(#""failed""#), "\(sharpeLocal)")
        #expect(try String(contentsOfFile: clusterOut + "-sharpe/tune.json", encoding: .utf8) == sharpeLocal)

        // quorum walk-forward --cluster: the trainers train the fold jobs, the command measures their models with its own
        // gate: the same report and fold models as a local pool.
        var reports: [String] = []
        for (name, extra) in [("local", [String]()), ("cluster", ["--cluster"])] {
            let out = "\(env.work)/\(prefix)-wf-\(name)"
            let output = try await run.cli(["walk-forward", "--config", config, "--data"] + files + ["--out", out] + extra)
            #expect(output.contains("walk-forward: 4 folds, 16 jobs"), "\(output)")
            let folder = out + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: out).first))
            reports.append(try String(contentsOfFile: folder + "/report.json", encoding: .utf8))
            // Fold models are written for the candidates that passed the gate (the fixture's may not); the candidates traded
            // alone in report.json use every fold's model.
            let models = ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/models")) ?? []).sorted()
            reports.append(try models.map { try String(contentsOfFile: folder + "/models/" + $0, encoding: .utf8) }.joined(separator: "\n"))
        }
        #expect(reports[0] == reports[2], "report.json differs between a local pool and the cluster's trainers")
        #expect(reports[0].contains("\"candidates\""), "two candidates, each traded alone")
        #expect(reports[1] == reports[3], "the fold models differ between a local pool and the cluster's trainers")
    }
}
