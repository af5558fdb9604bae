import Foundation
import QuorumAnalytics
import QuorumExecution
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

@Suite("Backtest runs", .serialized, .timeLimit(.minutes(3)))
struct BacktestRunTests {
    static func config(folder: String, files: [String], extra: String = "") throws -> BacktestConfig {
        let list = files.map { "\"\($0)\"" }.joined(separator: ", ")
        return try BacktestConfig.parse("""
            {"data": {"files": [\(list)]}, "consensus": {"threshold": 0.2}, "slippage": {"fixed_bps": "5", "range_fraction": "0.05"}\(extra)}
            """, file: "test.json", baseDirectory: folder)
    }

    static func run(_ config: BacktestConfig) async throws -> BacktestOutput {
        let data = try BacktestData.load(config)
        let result = try await Backtest(config: config).run(data)
        return BacktestOutput(result: result, codeVersion: "test")
    }

    @Test("two runs of the same config and data write byte-identical files; the run id depends on config and data only")
    func deterministic() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder)
        let config = try Self.config(folder: folder, files: files)
        let first = try await Self.run(config)
        let second = try await Self.run(config)
        #expect(first.result.fills.count > 10, "the strategy trades")
        let a = first.files(), b = second.files()
        #expect(a.map(\.name) == BacktestOutput.fileNames)
        for (x, y) in zip(a, b) { #expect(x.contents == y.contents, "\(x.name) differs between runs") }
        // Written twice to the same place: the same folder, the same bytes.
        let out = folder + "/runs"
        let dir1 = try first.write(to: out)
        let bytes1 = try BacktestOutput.fileNames.map { try Data(contentsOf: URL(fileURLWithPath: dir1 + "/" + $0)) }
        let dir2 = try second.write(to: out)
        let bytes2 = try BacktestOutput.fileNames.map { try Data(contentsOf: URL(fileURLWithPath: dir2 + "/" + $0)) }
        #expect(dir1 == dir2 && dir1.hasSuffix("/runs/" + first.runID))
        #expect(bytes1 == bytes2)
        // Another setting, another id.
        var other = config
        other.takerFeeBps = 20
        #expect(BacktestOutput.runID(config: other, data: first.result.data) != first.runID)
    }

    @Test("outputs agree: equity.csv ends at report.json's final equity, trades reconcile with the ledger, orders with the fills")
    func consistent() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder)
        let output = try await Self.run(try Self.config(folder: folder, files: files))
        let result = output.result
        let report = try JSON.parse(output.reportJSON().rendered())

        let equityRows = output.equityCSV().split(separator: "\n")
        #expect(equityRows.first == "timestamp,equity,return,position_BTC-USD,position_ETH-USD")
        let lastEquity = equityRows.last!.split(separator: ",")[1]
        #expect(report["final_equity"] == .number(String(lastEquity)))
        #expect(result.curve.equity.last == result.finalEquity, "the curve's last point is the exchange's equity")
        #expect(equityRows.count == Set(result.data.bars.map(\.bar.closeTime)).count + 2, "a header, the start, one row per close time")
        for key in ["sharpe", "max_drawdown", "total_return", "cagr", "sortino", "calmar", "var_95", "cvar_95", "psr", "dsr"] {
            #expect(report[key] != nil, "report.json lacks \(key)")
        }
        if case .number(let sharpe) = report["sharpe"] { #expect(Double(sharpe) == result.returns.sharpe) }

        // Trades: gross PnL and fees of all trips (closed and open) are exactly the ledger's.
        var ledger = Ledger(startingCash: result.config.startingEquity)
        for fill in result.fills { ledger.apply(fill) }
        let trips = result.trades + result.openTrades
        #expect(trips.reduce(Fixed.zero) { $0 + $1.grossPnL } == ledger.realizedPnL)
        #expect(trips.reduce(Fixed.zero) { $0 + $1.fees } == ledger.fees)
        #expect(Array(result.curve.positions(at: result.curve.equity.count - 1)) == result.curve.symbols.map { ledger.position($0).quantity }, "equity.csv's last positions")
        #expect(result.trades.count > 3)
        #expect(output.tradesCSV().split(separator: "\n").count == result.trades.count + 1)
        // Net PnL per symbol adds up to the equity change.
        #expect(result.pnlBySymbol.reduce(Fixed.zero) { $0 + $1.pnl } == result.finalEquity - result.config.startingEquity)

        // Orders: every fill belongs to exactly one FILLED order line with the same price and fee.
        let filled = result.orders.filter { $0.status == "FILLED" }
        #expect(filled.count == result.fills.count)
        #expect(Set(filled.compactMap { $0.fill?.fillID }) == Set(result.fills.map(\.fillID)))
        #expect(output.ordersCSV().split(separator: "\n").count == result.orders.count + 1)
        #expect(result.deadLetters == 0)
        // Volatility-scaled slippage: buys fill above the open by more than the fixed 5 bps.
        let opens = Dictionary(uniqueKeysWithValues: result.data.bars.map { ("\($0.bar.symbol)|\($0.bar.openTime)", $0.bar.open) })
        let buy = try #require(result.fills.first { $0.side == .buy })
        let open = try #require(opens["\(buy.symbol)|\(buy.time)"])
        #expect(buy.price > open + open * 5 / 10_000)

        // Monte Carlo: both analyses ran, reproducibly (the determinism test compares the whole report).
        #expect(report["monte_carlo"]?["bootstrap"]?["probability_of_loss"] != nil)
        #expect(report["monte_carlo"]?["trade_shuffle"]?["max_drawdown"]?["p50"] != nil)

        let html = output.files().first { $0.name == "report.html" }!.contents
        #expect(html.contains("<svg") && !html.contains("http://") && !html.contains("<script"))
    }

    @Test("a model artifact file is served: predictions join the rules (not rules-only)")
    func withModel() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let btc = try Support.bars("btc_usd_30m.csv.gz", from: "2018-12-01", to: "2019-02-01")
        try Support.csv(Array(btc.dropFirst(1_200))).write(toFile: folder + "/btc_usd_30m.csv", atomically: true, encoding: .utf8)
        try Support.writeModel(bars: btc, trainBars: 1_200, to: folder + "/btc.model")
        let config = try Self.config(folder: folder, files: ["btc_usd_30m.csv"], extra: #", "features": {"spec": "core-v1"}, "models": [{"file": "btc.model"}]"#)
        #expect(!config.consensusConfig.rulesOnly)
        let twice = try Self.config(folder: folder, files: ["btc_usd_30m.csv"], extra: #", "features": {"spec": "core-v1"}, "models": [{"file": "btc.model"}, {"file": "btc.model", "id": "b"}]"#)
        do { _ = try Backtest(config: twice); Issue.record("expected an error") } catch {
            #expect(error.code == .model && error.description.contains("a second model for BTC-USD"), "\(error)")
        }
        let output = try await Self.run(config)
        #expect(output.result.decisions > 1_000)
        let rulesOnly = try await Self.run(try Self.config(folder: folder, files: ["btc_usd_30m.csv"]))
        #expect(output.runID != rulesOnly.runID)
        #expect(output.reportJSON()["config"]?["models"] != rulesOnly.reportJSON()["config"]?["models"])
    }

    @Test("data errors: a malformed row names file and line; a symbol without data; a range without bars")
    func dataErrors() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder, from: "2019-01-01", to: "2019-01-03")
        var text = try String(contentsOfFile: files[0], encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        text[5] = "2019-01-01T02:00:00Z,abc,1,1,1,1"
        let broken = folder + "/broken_btc_usd_30m.csv"
        try text.joined(separator: "\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let brokenConfig = try Self.config(folder: folder, files: [broken])
        do { _ = try BacktestData.load(brokenConfig); Issue.record("expected an error") } catch {
            #expect(error.code == .data)
            #expect(error.description.contains("broken_btc_usd_30m.csv:6:"), "\(error)")
        }
        // bad_rows = skip leaves the row out and counts it.
        let skipping = try BacktestData.load(try Self.config(folder: folder, files: [broken]).with { $0.badRows = .skip })
        #expect(skipping.skippedRows == 1 && skipping.bars.count == 95)

        // A spec reading a symbol the data does not hold, and a spec file that is not a spec.
        try #"{"name": "x", "features": [{"kind": "log_return", "symbol": "XRP-USD"}]}"#.write(toFile: folder + "/cross.json", atomically: true, encoding: .utf8)
        let cross = try Self.config(folder: folder, files: files, extra: #", "features": {"spec": "cross.json"}, "rules": []"#)
        do { _ = try await Self.run(cross); Issue.record("expected an error") } catch let error as BacktestError {
            #expect(error.code == .noBars && error.description.contains("reads XRP-USD's bars"), "\(error)")
        }
        try #"{"name": "x", "features": [{"kind": "rsx"}]}"#.write(toFile: folder + "/bad.json", atomically: true, encoding: .utf8)
        do { _ = try Self.config(folder: folder, files: files, extra: #", "features": {"spec": "bad.json"}"#); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("bad.json: features[0].kind \"rsx\" is not a feature. Did you mean \"rsi\"?"), "\(error)")
        }

        var wrongSymbol = try Self.config(folder: folder, files: files)
        wrongSymbol.symbols = [Symbol("BTC-USDT")]
        do { _ = try BacktestData.load(wrongSymbol); Issue.record("expected an error") } catch {
            #expect(error.code == .noBars)
            #expect(error.description.contains("BTC-USDT has no data") && error.description.contains("Did you mean BTC-USD?"), "\(error)")
        }
        var empty = try Self.config(folder: folder, files: files)
        try empty.override(data: [], symbol: nil, from: "2030-01-01", to: "2030-02-01")
        do { _ = try BacktestData.load(empty); Issue.record("expected an error") } catch {
            #expect(error.code == .noBars)
            #expect(error.description.contains("no bars in the range"), "\(error)")
        }
    }
}

extension BacktestConfig {
    func with(_ change: (inout BacktestConfig) -> Void) -> BacktestConfig {
        var copy = self
        change(&copy)
        return copy
    }
}
