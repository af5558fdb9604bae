import Foundation
import QuorumMarketData
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

@Suite("Backtest config")
struct BacktestConfigTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    func error(_ text: String) -> BacktestError? {
        do {
            _ = try BacktestConfig.parse(text, file: "b.json")
            return nil
        } catch {
            return error
        }
    }

    /// Found by FuzzConfig (fuzz/corpus/Config/crash-backtest-from-4038): a date past 2262 trapped on overflow.
    @Test("from/to dates that nanoseconds cannot hold are an invalid value naming the key")
    func datesOutOfRange() throws {
        for text in [#"{"from": "4038-01-01"}"#, #"{"to": "1500-01-01T00:00:00Z"}"#, #"{"from": "99999999999"}"#] {
            let error = try #require(self.error(text), "\(text)")
            #expect(error.code == .invalidValue, "\(error)")
            #expect(error.description.contains("from") || error.description.contains("to"), "\(error)")
        }
    }

    @Test("examples/backtest.json parses onto the stage settings; relative data paths start at the config's folder")
    func example() throws {
        let config = try BacktestConfig.load(path: Self.examples + "/backtest.json")
        #expect(config.symbols == [Symbol("BTC-USD"), Symbol("ETH-USD")])
        guard case .files(let files) = config.data else { Issue.record("files expected"); return }
        #expect(files.count == 2)
        #expect(config.resolve(files[0]).hasSuffix("examples/../data/market/btc_usd_30m.csv.gz"))
        #expect(config.intervalSeconds == 1800)
        #expect(config.models.isEmpty && config.consensusConfig.rulesOnly)
        #expect(config.riskConfig.riskPerTrade == Fixed("0.01")!)
        #expect(config.riskConfig.costs == config.exchange.costs)
        #expect(config.exchange.feeBps == 10 && config.exchange.slippageBps == 5 && config.exchange.rangeSlippage == Fixed("0.05")!)
        #expect(config.from.map(TimestampParser.iso) == "2019-01-01T00:00:00Z")
        // The resolved config renders every section, and reads back to the same settings.
        let again = try BacktestConfig.parse(config.json().rendered(), file: "resolved.json", baseDirectory: config.baseDirectory)
        #expect(again.json() == config.json())
    }

    @Test("an unknown key is rejected with its JSON path and the closest known key")
    func unknownKeys() {
        let nested = error(#"{"risk": {"max_positon_notional": 1000}}"#)
        #expect(nested?.code == .unknownKey)
        #expect(nested?.description.contains("unknown key \"risk.max_positon_notional\"") == true, "\(String(describing: nested))")
        #expect(nested?.description.contains("did you mean \"risk.max_position_notional\"?") == true, "\(String(describing: nested))")
        let top = error(#"{"starting_equty": 5}"#)
        #expect(top?.description.contains("did you mean \"starting_equity\"?") == true, "\(String(describing: top))")
        let inList = error(#"{"models": [{"fiel": "m.bin"}]}"#)
        #expect(inList?.description.contains("\"models[0].fiel\"") == true, "\(String(describing: inList))")
        #expect(inList?.description.contains("did you mean \"models[0].file\"?") == true, "\(String(describing: inList))")
        let ruleKey = error(#"{"rules": [{"type": "rsi_revert", "fast": "ema_12"}]}"#)
        #expect(ruleKey?.code == .unknownKey, "an ema_cross key on an rsi_revert rule: \(String(describing: ruleKey))")
    }

    @Test("wrong types, bad values and bad JSON name the key or the line")
    func badValues() {
        #expect(error(#"{"risk": {"risk_per_trade": "a lot"}}"#)?.description.contains("risk.risk_per_trade") == true)
        #expect(error(#"{"interval": "fortnightly"}"#)?.description.contains("interval") == true)
        #expect(error(#"{"from": "2019-02-01", "to": "2019-01-01"}"#)?.description.contains("to must be after from") == true)
        #expect(error(#"{"consensus": {"long_only": "yes"}}"#)?.description.contains("consensus.long_only must be true or false") == true)
        #expect(error(#"{"features": {"spec": "core-v9"}}"#)?.description.contains("core-v1") == true)
        #expect(error(#"{"rules": [{"type": "ema_crossover"}]}"#)?.description.contains("did you mean \"ema_cross\"") == true)
        let syntax = error("{\n  \"symbols\": [\"BTC-USD\",]\n}")
        #expect(syntax?.code == .syntax)
        #expect(syntax?.description.contains("line 2") == true, "\(String(describing: syntax))")
        #expect(error(#"{"symbols": ["A"], "symbols": ["B"]}"#)?.description.contains("appears twice") == true)
    }

    @Test("Postgres sources: the archive's bars are selected like a file's; registered models load from the artifacts read; without them each says who reads Postgres; a missing model file is named")
    func postgresSourcesAndMissing() throws {
        let archive = try BacktestConfig.parse(#"{"data": {"archive": {"topic_prefix": "run-1"}}, "from": "2020-01-01T01:00:00Z"}"#)
        #expect(throws: BacktestError.self) { try BacktestData.load(archive) }
        // The bars the command read from the archive: any order in, event-time order out, the range applied.
        let t0: Int64 = 1_577_836_800_000_000_000  // 2020-01-01
        func record(_ symbol: String, _ k: Int64) -> ArchivedBarRecord {
            let bar = Bar(symbol: Symbol(symbol), openTime: t0 + k * 1_800_000_000_000, intervalSeconds: 1800, open: 10, high: 11, low: 9,
                          close: 10, volume: 1)
            return ArchivedBarRecord(bar: bar, id: bar.wireID, file: "\(symbol).csv", line: Int(k) + 2)
        }
        let archived = [record("B-USD", 3), record("A-USD", 3), record("A-USD", 1), record("B-USD", 2), record("A-USD", 2)]
        let data = try BacktestData.load(archive, archived: archived)
        #expect(data.bars.map { "\($0.bar.symbol.name)@\(($0.bar.openTime - t0) / 1_800_000_000_000)" } == ["A-USD@2", "B-USD@2", "A-USD@3", "B-USD@3"])
        #expect(data.symbols == [Symbol("A-USD"), Symbol("B-USD")])
        var late = archive
        late.from = t0 + 100 * 1_800_000_000_000
        do { _ = try BacktestData.load(late, archived: archived); Issue.record("expected an error") } catch {
            #expect(error.code == .noBars && error.description.contains("no bars in the range"), "\(error)")
        }

        var registered = try BacktestConfig.parse(#"{"models": [{"registered_id": "m-1", "topic_prefix": "run-1"}]}"#)
        #expect(registered.models == [.registered(id: "m-1", prefix: "run-1")])
        do { _ = try Backtest(config: registered); Issue.record("expected an error") } catch {
            #expect(error.code == .unsupported && error.description.contains("quorum backtest"), "\(error)")
        }
        registered.registeredArtifacts["m-1"] = Array("not a model".utf8)
        do { _ = try Backtest(config: registered); Issue.record("expected an error") } catch {
            #expect(error.code == .model && error.description.contains("registered model m-1 is not a model artifact"), "\(error)")
        }
        #expect(throws: BacktestError.self) { try BacktestConfig.parse(#"{"models": [{"file": "a.model", "topic_prefix": "x"}]}"#) }
        let missing = try BacktestConfig.parse(#"{"models": [{"file": "nowhere/model.bin"}]}"#, baseDirectory: "/tmp")
        do { _ = try Backtest(config: missing); Issue.record("expected an error") } catch {
            #expect(error.code == .model)
            #expect(error.description.contains("/tmp/nowhere/model.bin does not exist"), "\(error)")
        }
    }

    @Test("command-line overrides: --data files from the current folder, --symbol as the market and the one symbol, --from/--to")
    func overrides() throws {
        var config = try BacktestConfig.load(path: Self.examples + "/backtest.json")
        try config.override(data: ["ltc.csv", "/abs/x.csv"], symbol: "LTC-USD", from: "2019-05-01", to: "2019-06-01")
        guard case .files(let files) = config.data else { Issue.record("files expected"); return }
        #expect(files[0].hasSuffix("/ltc.csv") && files[0].hasPrefix("/") && files[1] == "/abs/x.csv")
        #expect(config.resolve(files[0]) == files[0])
        #expect(config.symbols == [Symbol("LTC-USD")] && config.dataSymbol == Symbol("LTC-USD"))
        #expect(config.from.map(TimestampParser.iso) == "2019-05-01T00:00:00Z" && config.to.map(TimestampParser.iso) == "2019-06-01T00:00:00Z")
        #expect(throws: BacktestError.self) { try config.override(data: [], symbol: nil, from: "2019-07-01", to: nil) }
        #expect(config.monteCarloPaths == 1_000 && config.monteCarloBlockLength == 48)
    }

    @Test("JSON renders deterministically and reads back")
    func jsonRoundTrip() throws {
        let value: JSON = .object([("a", .array([.int(1), .double(0.5), .null])), ("b", .string("x\"y\n")), ("c", .object([])),
                                   ("d", .array([.object([("e", .bool(true))])])), ("nan", .double(.nan))])
        let text = value.rendered()
        #expect(try JSON.parse(text) == .object([("a", .array([.number("1"), .number("0.5"), .null])), ("b", .string("x\"y\n")),
                                                 ("c", .object([])), ("d", .array([.object([("e", .bool(true))])])), ("nan", .null)]))
        #expect(text == value.rendered())
    }
}
