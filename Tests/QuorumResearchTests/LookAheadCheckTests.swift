import Foundation
import QuorumFeatures
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

@Suite("Look-ahead check", .serialized)
struct LookAheadCheckTests {
    static func data(_ folder: String) throws -> BacktestData {
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-02-01")
        return try BacktestData.load(try BacktestConfig.parse("{\"data\": {\"files\": [\"\(files[0])\", \"\(files[1])\"]}}", file: "t.json"))
    }

    @Test("the pipeline's features (higher timeframes, cross-asset joins) and predictions do not change when later bars are cut")
    func pipelineHasNone() throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try Self.data(folder)
        let spec = try FeatureSpec.parse("""
            {"name": "t", "features": [{"kind": "rsi"}, {"kind": "adx", "timeframe": "4h"}, {"kind": "ema_ratio", "timeframe": "1d"},
              {"kind": "log_return", "symbol": "BTC-USD"}, {"kind": "return_correl", "period": 20, "with": "BTC-USD"}, {"kind": "calendar"}]}
            """, file: "t")
        let result = try LookAheadCheck.run(data, columns: spec.names, cutoffs: 12) { try LookAheadCheck.pipelineValues($0, spec: spec, models: []) }
        #expect(result.cutoffs.count == 12)
        #expect(result.compared > 100_000)
        #expect(result.differences.isEmpty, "\(result.differences.prefix(3))")
    }

    @Test("a deliberately leaking feature (each close divided by the highest close of all the data given) is caught, with column and time")
    func catchesALeak() throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try Self.data(folder)
        let result = LookAheadCheck.run(data, columns: ["rsi_14", "close_over_max"], cutoffs: 5) { bars in
            var core = FeaturesCore(spec: try! FeatureSpec.parse(#"{"name": "r", "features": [{"kind": "rsi"}]}"#, file: "r"))
            let highest = bars.map(\.bar.close.doubleValue).max() ?? 1   // the leak: a statistic of the whole series
            var out: [LookAheadCheck.Key: [Double]] = [:]
            for record in bars {
                for case .publish(let v) in try! core.handle(record.bar) {
                    out[.init(symbol: v.symbol, time: v.barCloseTime)] = [v.values[0], record.bar.close.doubleValue / highest]
                }
            }
            return out
        }
        #expect(result.leakingColumns == ["close_over_max"])
        #expect(!result.differences.isEmpty && result.differences.allSatisfy { $0.column == "close_over_max" && $0.time <= $0.cutoff })
        #expect(result.differences[0].description.contains("close_over_max of"))
    }
}
