import Foundation
import QuorumFeatures
import QuorumML
import QuorumServiceKit
import Testing

/// `quorum backtest` as a user runs it: the built binary on examples/backtest.json and the vendored data.
@Suite("quorum backtest (no cluster)", .serialized, .timeLimit(.minutes(3)))
struct BacktestCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) { try await QuorumCommand.run(arguments) }

    @Test("examples/backtest.json on two weeks of the vendored bars: every output, a summary, the same bytes twice")
    func endToEnd() async throws {
        let out = NSTemporaryDirectory() + "quorum-runs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["backtest", "--config", Self.root + "/examples/backtest.json", "--from", "2019-01-01", "--to", "2019-01-15", "--out", out]
        let first = try await Self.run(args)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("Sharpe") && first.output.contains("final equity"), "\(first.output)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(runs.count == 1)
        let folder = out + "/" + (runs.first ?? "")
        let names = ["report.json", "equity.csv", "trades.csv", "orders.csv", "report.html"]
        let bytes = try names.map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
        let report = try JSONSerialization.jsonObject(with: bytes[0]) as? [String: Any]
        #expect(report?["sharpe"] != nil && report?["max_drawdown"] != nil && report?["run_id"] as? String == runs.first)
        let counts = report?["counts"] as? [String: Any]
        // Two symbols, 14 days of 30-minute bars (2 × 672), less the vendored data's gaps.
        #expect((1_300...1_344).contains(counts?["bars"] as? Int ?? 0), "\(String(describing: counts))")
        let data = report?["data"] as? [String: Any]
        #expect((data?["symbols"] as? [[String: Any]])?.compactMap { $0["symbol"] as? String } == ["BTC-USD", "ETH-USD"])

        let second = try await Self.run(args)
        #expect(second.status == 0, "\(second.output)")
        #expect(try names.map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) } == bytes, "byte-identical outputs")
    }

    @Test("quorum walk-forward on examples/walk-forward.json (BTC, three months): the fold table, every output, the fold's models (WalkForwardRunTests checks determinism)")
    func walkForward() async throws {
        let out = NSTemporaryDirectory() + "quorum-runs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["walk-forward", "--config", Self.root + "/examples/walk-forward.json", "--data", Self.root + "/data/market/btc_usd_30m.csv.gz",
                    "--symbol", "BTC-USD", "--from", "2019-01-01", "--to", "2019-04-01", "--out", out]
        let first = try await Self.run(args)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("walk-forward: 1 fold, 3 jobs") && first.output.contains("PBO"), "\(first.output)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: out)
        let folder = out + "/" + (runs.first ?? "")
        let names = ["report.json", "equity.csv", "trades.csv", "orders.csv", "report.html"]
        let bytes = try names.map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
        let report = try JSONSerialization.jsonObject(with: bytes[0]) as? [String: Any]
        let folds = report?["folds"] as? [[String: Any]]
        #expect(folds?.map { $0["test_from"] as? String } == ["2019-03-02T00:00:00Z"], "\(String(describing: folds))")
        // The fold's model is written exactly when one passed the gate in it.
        let trained = ((folds?.first?["models"] as? [[String: Any]])?.first?["trained_in_fold"] as? Bool) == true
        #expect(FileManager.default.fileExists(atPath: folder + "/models/BTC-USD-f0.model") == trained)
        #expect(report?["sharpe"] != nil && report?["dsr"] != nil && report?["pbo"] != nil)
        #expect(String(decoding: bytes[4], as: UTF8.self).contains("Walk-forward folds"))

        let plain = try await Self.run(["walk-forward", "--config", Self.root + "/examples/backtest.json", "--out", out])
        #expect(plain.status != 0 && plain.output.contains("no walk_forward section"), "\(plain.output)")
    }

    @Test("quorum walk-forward on examples/walk-forward-{gbdt,mlp,ensemble,tcn}.json (BTC, three months, rich-v1): a logistic candidate and one of the family per fold",
          arguments: ["gbdt", "mlp", "ensemble", "tcn"])
    func walkForwardFamily(_ family: String) async throws {
        let out = NSTemporaryDirectory() + "quorum-runs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["walk-forward", "--config", Self.root + "/examples/walk-forward-\(family).json", "--data", Self.root + "/data/market/btc_usd_30m.csv.gz",
                    "--symbol", "BTC-USD", "--from", "2019-01-01", "--to", "2019-04-01", "--out", out]
        let run = try await Self.run(args)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("walk-forward: 1 fold, 2 jobs"), "\(run.output)")
        let folder = out + "/" + (try FileManager.default.contentsOfDirectory(atPath: out).first ?? "")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))) as? [String: Any]
        let candidates = (report?["walk_forward"] as? [String: Any])?["candidates"] as? [[String: Any]]
        #expect(candidates?.map { $0["family"] as? String } == ["logistic", family], "\(String(describing: report?["walk_forward"]))")
        // A served model file loads as its family.
        if let model = try? Data(contentsOf: URL(fileURLWithPath: folder + "/models/BTC-USD-f0.model")) {
            #expect(try TrainedModel(artifact: [UInt8](model)).featureNames == FeatureSpec.richV1.names)
        }
    }

    @Test("bad input: an unknown key, a range without bars, a symbol without data — a clear error and a non-zero exit")
    func errors() async throws {
        let folder = NSTemporaryDirectory() + "quorum-backtest-cfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = folder + "/typo.json"
        try #"{"data": {"files": ["x.csv"]}, "risk": {"risk_per_trad": 0.01}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let typo = try await Self.run(["backtest", "--config", config, "--out", folder])
        #expect(typo.status != 0)
        #expect(typo.output.contains("unknown key \"risk.risk_per_trad\". did you mean \"risk.risk_per_trade\"?"), "\(typo.output)")

        let example = Self.root + "/examples/backtest.json"
        let empty = try await Self.run(["backtest", "--config", example, "--from", "2030-01-01", "--to", "2030-02-01", "--out", folder])
        #expect(empty.status != 0)
        #expect(empty.output.contains("no bars in the range"), "\(empty.output)")

        let ltc = try await Self.run(["backtest", "--config", example, "--data", Self.root + "/data/market/ltc_usd_30m.csv.gz", "--out", folder])
        #expect(ltc.status != 0)
        #expect(ltc.output.contains("symbol BTC-USD has no data"), "\(ltc.output)")
    }
}
