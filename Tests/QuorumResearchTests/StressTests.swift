import Foundation
import QuorumModel
@testable import QuorumResearch
import Testing

@Suite("Stress scenarios", .serialized)
struct StressTests {
    @Test("harsher costs and markets, each a backtest of its own; the windows slice the base run; the config section round-trips")
    func scenarios() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-03-01")
        let config = try BacktestConfig.parse("""
            {"data": {"files": ["\(files[0])", "\(files[1])"]}, "consensus": {"threshold": 0.2}, "monte_carlo": {"paths": 0},
             "stress": {"windows": {"february": ["2019-02-01", "2019-02-15"], "2030": ["2030-01-01", "2030-02-01"]}}}
            """, file: "s.json")
        #expect(config.stress?.windows.map(\.name) == ["february", "2030"] && config.stress?.feeFactor == 2)
        // The resolved config carries the section: it parses back the same.
        #expect(try BacktestConfig.parse(config.json().rendered(), file: "again.json").stress == config.stress)

        let data = try BacktestData.load(config)
        let base = try await Backtest(config: config).run(data)
        let stress = try await Stress.run(config: config, data: data, base: base)
        #expect(stress.scenarios.map(\.name) == ["base", "fees ×2", "slippage ×3", "fills +1 bar", "volatility ×2"])
        let s = Dictionary(uniqueKeysWithValues: stress.scenarios.map { ($0.name, $0) })
        #expect(base.tradeSummary.trades > 5)
        #expect(s["fees ×2"]!.finalEquity < base.finalEquity && s["slippage ×3"]!.finalEquity < base.finalEquity)
        #expect(s["fills +1 bar"]!.finalEquity != base.finalEquity)

        let february = stress.windows[0]
        let inside = zip(base.curve.times, base.curve.equity).filter { $0.0 >= february.from && $0.0 <= february.to }.map { $0.1.doubleValue }
        #expect(february.samples == inside.count && inside.count > 600)
        #expect(abs(february.totalReturn! - (inside.last! / inside.first! - 1)) < 1e-12)
        #expect(stress.windows[1].totalReturn == nil && stress.windows[1].samples == 0)

        // The volatility shock doubles every close-to-close log return (to the 8 decimals of the prices).
        let shocked = Stress.shocked(data, factor: 2)
        for symbol in data.symbols {
            let a = data.bars.filter { $0.bar.symbol == symbol }.map(\.bar), b = shocked.bars.filter { $0.bar.symbol == symbol }.map(\.bar)
            for i in 1..<a.count {
                let original = log(a[i].close.doubleValue / a[i - 1].close.doubleValue)
                let moved = log(b[i].close.doubleValue / b[i - 1].close.doubleValue)
                #expect(abs(moved - 2 * original) < 1e-6, "\(symbol) bar \(i)")
                #expect(b[i].high >= max(b[i].open, b[i].close) && b[i].low <= min(b[i].open, b[i].close))
            }
        }
    }

    @Test("a malformed window is an error naming it")
    func badWindow() {
        #expect(throws: BacktestError.self) {
            try BacktestConfig.parse(#"{"data": {"files": []}, "stress": {"windows": {"x": ["2019-02-01"]}}}"#, file: "s.json")
        }
    }
}
