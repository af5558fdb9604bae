import Foundation
import QuorumFeatures
import QuorumMarketData
import QuorumML
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch

/// Synthetic markets written as CSV files, so tests go through the same reader as real data.
enum Support {
    static let interval: Int64 = 1800
    static let start: Nanos = 1_600_000_000 * 1_000_000_000 - (1_600_000_000 * 1_000_000_000) % (1800 * 1_000_000_000)

    /// A random walk with slow waves (rules and models act on it), deterministic for a seed.
    static func bars(symbol: String, count: Int, seed: UInt64, startPrice: Double) -> [Bar] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var price = startPrice
        var out: [Bar] = []
        for i in 0..<count {
            let r = (uniform() - 0.5) * 0.02 + 0.004 * sin(Double(i) / 40.0)
            let open = price
            let close = max(1, price * (1 + r))
            func fx(_ v: Double) -> Fixed { Fixed(approximating: (v * 100).rounded() / 100) }
            var bar = Bar(symbol: Symbol(symbol), openTime: start + Int64(i) * interval * 1_000_000_000, intervalSeconds: interval,
                          open: fx(open), high: fx(max(open, close) * (1 + uniform() * 0.003)),
                          low: fx(min(open, close) * (1 - uniform() * 0.003)), close: fx(close), volume: Fixed(10 + i % 7))
            bar.high = max(bar.high, bar.open, bar.close)
            bar.low = min(bar.low, bar.open, bar.close)
            out.append(bar)
            price = close
        }
        return out
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

    /// Two symbols' files (btc_usd_30m.csv, eth_usd_30m.csv) in `folder`.
    static func writeMarkets(in folder: String, count: Int = 1_200) throws -> [String] {
        let btc = bars(symbol: "BTC-USD", count: count, seed: 1, startPrice: 20_000)
        let eth = bars(symbol: "ETH-USD", count: count, seed: 2, startPrice: 1_500)
        let paths = [folder + "/btc_usd_30m.csv", folder + "/eth_usd_30m.csv"]
        try csv(btc).write(toFile: paths[0], atomically: true, encoding: .utf8)
        try csv(eth).write(toFile: paths[1], atomically: true, encoding: .utf8)
        return paths
    }

    /// A model artifact trained on the first `trainBars` bars, written to `path`.
    static func writeModel(bars: [Bar], trainBars: Int, to path: String) throws {
        let rows = TrainingRows.rows(bars: Array(bars.prefix(trainBars)), spec: .coreV1)
        let job = TrainingJobSpec(jobID: "test-\(bars[0].symbol.name)", symbol: bars[0].symbol, featureSpecVersion: 1,
                                  featureNames: FeatureSpec.coreV1.names, trainFrom: rows[0].time, trainTo: rows[rows.count * 3 / 4].time,
                                  validateTo: rows.last!.time + 1)
        let core = TrainerCore(gate: ValidationGate(minimumCount: 10, minimumImprovement: -1), minimumTrainingRows: 50)
        guard let result = core.train(job: job, rows: rows).result else { throw SupportError.training }
        try Data(result.model.artifact()).write(to: URL(fileURLWithPath: path))
    }

    enum SupportError: Error { case training }
}
