import Foundation
import QuorumFeatures
import QuorumMarketData
import QuorumML
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch

/// Slices of the vendored bars written as CSV files, so tests go through the same reader as `quorum backtest`.
enum Support {
    /// The vendored bars (data/market), 30-minute BTC, ETH and LTC from 2017-10 to 2019-10.
    static let market = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/market").path

    /// The vendored bars of one file opening in `[from, to)`.
    static func bars(_ file: String, from: String, to: String) throws -> [Bar] {
        try IngestReader.read([market + "/" + file], from: TimestampParser.parse(from), to: TimestampParser.parse(to)).bars.map(\.bar)
    }

    static func csv(_ bars: [Bar]) -> String {
        "timestamp,open,high,low,close,volume\n" + bars.map {
            "\(TimestampParser.iso($0.openTime)),\($0.open),\($0.high),\($0.low),\($0.close),\($0.volume)"
        }.joined(separator: "\n") + "\n"
    }

    /// A fresh temporary folder.
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "quorum-backtest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Two symbols' files (btc_usd_30m.csv, eth_usd_30m.csv) in `folder`: two months of the vendored bars.
    static func writeMarkets(in folder: String, from: String = "2019-01-01", to: String = "2019-03-01") throws -> [String] {
        let paths = [folder + "/btc_usd_30m.csv", folder + "/eth_usd_30m.csv"]
        try csv(try bars("btc_usd_30m.csv.gz", from: from, to: to)).write(toFile: paths[0], atomically: true, encoding: .utf8)
        try csv(try bars("eth_usd_30m.csv.gz", from: from, to: to)).write(toFile: paths[1], atomically: true, encoding: .utf8)
        return paths
    }

    /// A model artifact trained on the first `trainBars` bars, written to `path`.
    static func writeModel(bars: [Bar], trainBars: Int, to path: String) throws {
        let rows = try TrainingRows.rows(bars: Array(bars.prefix(trainBars)), spec: .coreV1)
        let job = TrainingJobSpec(jobID: "test-\(bars[0].symbol.name)", symbol: bars[0].symbol, featureSpecVersion: Int(FeatureSpec.coreV1.version),
                                  featureNames: FeatureSpec.coreV1.names, trainFrom: rows[0].time, trainTo: rows[rows.count * 3 / 4].time,
                                  validateTo: rows.last!.time + 1)
        let core = TrainerCore(gate: ValidationGate(minimumCount: 10, minimumImprovement: -1), minimumTrainingRows: 50)
        guard let result = core.train(job: job, rows: rows).result else { throw SupportError.training }
        try Data(result.model.artifact()).write(to: URL(fileURLWithPath: path))
    }

    enum SupportError: Error { case training }
}
