import Foundation
import QuorumBus
import QuorumML
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

/// `DirectDriver` (the backtest's default engine: stage cores on typed values) against `EventTimeDriver` (the stages'
/// `StageLogic`s on wire messages, as the services run them): every output file of a run must be byte for byte the same,
/// and so must the counts of decisions and dead letters.
@Suite("Backtest engines agree", .serialized, .timeLimit(.minutes(3)))
struct EngineParityTests {
    static func compare(_ config: BacktestConfig, scheduled: [EventTimeDriver.Scheduled] = [], warmUp: [ArchivedBarRecord] = [],
                        _ what: String) async throws -> BacktestResult {
        let data = try BacktestData.load(config)
        let backtest = try Backtest(config: config)
        let direct = try await backtest.run(data, warmUp: warmUp, scheduled: scheduled, engine: .direct)
        let messages = try await backtest.run(data, warmUp: warmUp, scheduled: scheduled, engine: .messages)
        #expect(direct.decisions == messages.decisions, "\(what): decisions")
        #expect(direct.deadLetters == messages.deadLetters, "\(what): dead letters")
        let sameFills = direct.fills == messages.fills, sameOrders = direct.orders == messages.orders
        #expect(sameFills, "\(what): fills (\(direct.fills.count) direct, \(messages.fills.count) on messages)")
        #expect(sameOrders, "\(what): orders (\(direct.orders.count) direct, \(messages.orders.count) on messages)")
        let a = BacktestOutput(result: direct, codeVersion: "test").files()
        let b = BacktestOutput(result: messages, codeVersion: "test").files()
        for (x, y) in zip(a, b) {
            let same = x.contents == y.contents
            #expect(same, "\(what): \(x.name) differs between the engines")
        }
        return direct
    }

    @Test("rules only: long-only, with shorts, with denials, with rejected orders: the same files")
    func rulesOnly() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try Support.writeMarkets(in: folder)
        let list = files.map { "\"\($0)\"" }.joined(separator: ", ")
        func config(_ extra: String, consensus: String = #""threshold": 0.2"#) throws -> BacktestConfig {
            try BacktestConfig.parse(#"{"data": {"files": [\#(list)]}, "consensus": {\#(consensus)}\#(extra)}"#,
                                     file: "test.json", baseDirectory: folder)
        }
        let plain = try await Self.compare(try config(""), "long-only")
        #expect(plain.fills.count > 10 && plain.decisions > 1_000)
        let shorts = try await Self.compare(try config(#", "risk": {"allow_short": true}"#, consensus: #""threshold": 0.2, "long_only": false"#), "shorts")
        #expect(shorts.fills != plain.fills, "shorting changes the trades")
        // A tight heat limit: risk denies entries.
        let tight = try await Self.compare(try config(#", "starting_equity": "2000", "risk": {"max_portfolio_heat": "0.01", "risk_per_trade": "0.02"}"#), "tight")
        #expect(tight.orders.contains { $0.status == "DENIED" }, "the tight run has denials")
        // Buys sized to all the cash at the decision's close, with no allowance for a higher open: the exchange rejects
        // those the next open makes too dear (their pending quantity must then stop counting in risk).
        let rejected = try await Self.compare(try config(#", "risk": {"price_allowance_bps": "0", "max_position_notional": "10000000", "risk_per_trade": "0.02", "max_portfolio_heat": "1"}"#), "rejections")
        #expect(rejected.orders.contains { $0.status == "REJECTED" }, "the run has rejected orders: \(Set(rejected.orders.map(\.status)))")
    }

    @Test("a served model, and a model activated mid-run after a warm-up (walk-forward's shape): the same files")
    func models() async throws {
        let folder = try Support.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let btc = try Support.bars("btc_usd_30m.csv.gz", from: "2018-12-01", to: "2019-02-01")
        try Support.csv(Array(btc.dropFirst(1_200))).write(toFile: folder + "/btc_usd_30m.csv", atomically: true, encoding: .utf8)
        try Support.writeModel(bars: btc, trainBars: 1_200, to: folder + "/btc.model")
        let served = try BacktestConfig.parse(#"{"data": {"files": ["btc_usd_30m.csv"]}, "consensus": {"threshold": 0.2}, "features": {"spec": "core-v1"}, "models": [{"file": "btc.model"}]}"#,
                                              file: "test.json", baseDirectory: folder)
        let withModel = try await Self.compare(served, "served model")
        #expect(withModel.decisions > 1_000 && !withModel.fills.isEmpty)

        // Walk-forward's shape: no initial model, warm-up bars, the model activated at a time inside the data.
        let arriving = try BacktestConfig.parse(#"{"data": {"files": ["btc_usd_30m.csv"]}, "consensus": {"threshold": 0.2}, "features": {"spec": "core-v1"}, "walk_forward": {"train": "10d", "test": "5d"}}"#,
                                                file: "test.json", baseDirectory: folder)
        let data = try BacktestData.load(arriving)
        let model = try TrainedModel(artifact: Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/btc.model"))))
        let at = data.bars[data.bars.count / 2].bar.closeTime
        let activation = try EnvelopeStamp.$stampsEventTime.withValue(true) {
            try WalkForward.activation(WalkForward.TradedModel(id: "m1", model: model, metrics: [:]), symbol: Symbol("BTC-USD"), at: at,
                                       stamp: EnvelopeStamp(producer: "test"), namer: .live)
        }
        let warmUp = btc.prefix(1_200).enumerated().map { ArchivedBarRecord(bar: $1, id: "warm-\($0)", file: "warm", line: $0 + 1) }
        let mid = try await Self.compare(arriving, scheduled: [.init(time: at, messages: [activation])], warmUp: Array(warmUp), "activated mid-run")
        #expect(mid.fills.count > 0)
    }
}
