import Foundation
import QuorumFeatures
import QuorumModel
@testable import QuorumResearch
import Testing

@Suite("Feature report", .serialized, .timeLimit(.minutes(5)))
struct FeatureReportTests {
    /// Two months of BTC and ETH, 3 walk-forward folds, a spec with two exact duplicates: PPO(12, 26, EMA) is
    /// 100 × (EMA12/EMA26 − 1), the EMA ratio scaled; Bollinger %b is 0.5 + z/4 with the population σ, an affine map of
    /// the z-score (sample σ) over the same 20 bars.
    static func config(folder: String) throws -> BacktestConfig {
        try #"""
        {"name": "dup", "features": [
          {"kind": "log_return"}, {"kind": "rsi", "period": 14}, {"kind": "roc", "period": 8}, {"kind": "zscore", "period": 20},
          {"kind": "ema_ratio", "fast": 12, "slow": 26}, {"kind": "ppo", "fast": 12, "slow": 26, "ma": "ema"},
          {"kind": "bollinger", "period": 20, "outputs": ["pctb", "width"]}
        ]}
        """#.write(toFile: folder + "/dup.json", atomically: true, encoding: .utf8)
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-03-02")
        let list = files.map { "\"\($0)\"" }.joined(separator: ", ")
        return try BacktestConfig.parse("""
            {"data": {"files": [\(list)]}, "features": {"spec": "dup.json"}, "rules": [], "monte_carlo": {"paths": 0},
             "walk_forward": {"train": "30d", "test": "10d", "candidates": [{"l2": 0.1}]}}
            """, file: "report.json", baseDirectory: folder)
    }

    @Test("per-fold IC, stability, MI and permutation importance per feature; the exact duplicates are dropped; same bytes twice; the pruned spec parses")
    func report() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try Self.config(folder: folder)
        let data = try BacktestData.load(config)
        let report = try await FeatureReport.run(config: config, data: data)
        #expect(report.folds.count == 3)
        #expect(report.features.map(\.name) == config.featureSpec.names)
        for f in report.features {
            #expect(f.foldIC.count == 3 && f.foldIC.allSatisfy { $0.map { abs($0) <= 1 } ?? false }, "\(f.name)")
            #expect(f.mutualInformationBits >= 0 && f.mutualInformationBits < 0.1, "\(f.name)")
            #expect(f.permutationImportance != nil, "\(f.name): the folds have models")
            #expect((0...1).contains(f.signAgreement))
        }
        // EMA ratio and PPO: ρ = 1, one cluster, exactly one kept (rank-identical, so equal ICs: the earlier column).
        let ratio = report.features.first { $0.name == "ema_ratio_12_26" }!, ppo = report.features.first { $0.name == "ppo_12_26" }!
        #expect(ratio.cluster == ppo.cluster && ratio.keep && !ppo.keep, "\(ratio.note) / \(ppo.note)")
        #expect(ppo.note.contains("with ema_ratio_12_26"))
        #expect(abs(ratio.meanIC - ppo.meanIC) < 1e-12)
        #expect(report.features.filter { !$0.keep }.map(\.name) == ["ppo_12_26", "bollinger_pctb_20"],
                "\(report.features.map { ($0.name, $0.note) })")
        #expect(report.features.first { $0.name == "bollinger_pctb_20" }!.note.contains("with zscore_20"))

        // The pruned spec: every column but the duplicates, under the same names; it parses.
        let pruned = try FeatureSpec.parse(report.prunedSpec(), file: "pruned")
        #expect(pruned.names == config.featureSpec.names.filter { $0 != "ppo_12_26" && $0 != "bollinger_pctb_20" })
        #expect(pruned.name == "dup-pruned")

        // Deterministic: the same files twice.
        let output = FeatureReportOutput(report: report, config: config, data: data)
        let again = FeatureReportOutput(report: try await FeatureReport.run(config: config, data: data), config: config, data: data)
        #expect(output.json().rendered() == again.json().rendered() && output.html() == again.html())
        let written = try output.write(to: folder + "/out")
        for name in FeatureReportOutput.fileNames { #expect(FileManager.default.fileExists(atPath: written + "/" + name)) }
    }

    @Test("a config without walk_forward is an error that says what to add")
    func needsWalkForward() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = try Self.config(folder: folder)
        config.walkForward = nil
        do { _ = try await FeatureReport.run(config: config, data: try BacktestData.load(config)); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("needs a walk_forward section"))
        }
    }
}
