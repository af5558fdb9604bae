import QuorumBus
import QuorumExecution
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumStrategy
import Testing

@Suite("In-process pipeline")
struct InProcessPipelineTests {
    static func scenario() throws -> (IngestInput, [ServedModel]) {
        let btc = Fixtures.bars(symbol: "BTC-USD", count: 1_400, seed: 1, startPrice: 20_000)
        let eth = Fixtures.bars(symbol: "ETH-USD", count: 1_400, seed: 2, startPrice: 1_500)
        let models = [try Fixtures.model(bars: btc, trainBars: 600), try Fixtures.model(bars: eth, trainBars: 600)]
        // Trade on the bars after the training range.
        return (Fixtures.input([Array(btc.dropFirst(500)), Array(eth.dropFirst(500))]), models)
    }

    static func digests(_ outcome: InProcessPipeline.Outcome) async throws -> [String: RecordDigest.Result] {
        var out: [String: RecordDigest.Result] = [:]
        for spec in [Topic.decisions, Topic.ordersApproved, Topic.ordersDenied, Topic.executionReports] {
            let records = outcome.records(outcome.namer.name(spec))
            out[spec.name] = try RecordDigest.digest(valueType: spec.valueType, values: records.map(\.value))
        }
        return out
    }

    @Test("the same bars twice give byte-identical records (decisions, orders, fills, ts_init), and the ledger adds up")
    func replayIsDeterministic() async throws {
        let (input, models) = try Self.scenario()
        var pipeline = InProcessPipeline(models: models)
        pipeline.featureSpec = .coreV1   // the fixture models were trained on core-v1 vectors
        pipeline.consensus = ConsensusConfig(threshold: 0.2)
        let first = try await pipeline.run(input)
        let second = try await pipeline.run(input)
        let a = try await Self.digests(first)
        let b = try await Self.digests(second)
        #expect(a == b)
        // No clock is read: every record of every topic is the same bytes, ts_init included (= event time).
        for spec in first.namer.specsWithNames() {
            #expect(first.records(spec.name).map(\.value) == second.records(spec.name).map(\.value), "\(spec.name)")
        }
        #expect(first.risk.idleReleases == 0)
        #expect((a[Topic.decisions.name]?.count ?? 0) > 500)
        #expect((a[Topic.ordersApproved.name]?.count ?? 0) > 10)
        #expect((a[Topic.executionReports.name]?.count ?? 0) > 30)

        // Ledger: every fill of the reports is in the exchange's ledger, positions equal the sum of fills.
        let ledger = first.execution.exchange.ledger
        var sums: [Symbol: Fixed] = [:]
        for fill in ledger.fills { sums[fill.symbol, default: .zero] += fill.signedQuantity }
        for (symbol, position) in ledger.positions { #expect(position.quantity == sums[symbol] ?? .zero) }
        let reports = first.records(first.namer.name(Topic.executionReports))
        let filled = try reports.map { try $0.decode(Quorum_V1_ExecutionReport.self) }.filter { $0.status == .filled }
        #expect(Set(filled.map(\.fillID)) == Set(ledger.fills.map(\.fillID)))
        // Risk saw exactly the fills execution made.
        #expect(first.risk.core.positions.filter { !$0.value.isZero } == ledger.positions.mapValues(\.quantity).filter { !$0.value.isZero })
    }

    /// Feeds messages to a stage in the given order and collects what it publishes on `topic`.
    static func drive<L: StageLogic>(_ logic: inout L, _ messages: [IncomingMessage], topic: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for m in messages {
            out += try logic.handle(m, replaying: false).outputs.filter { $0.topic == topic }.map(\.value)
        }
        out += try logic.tick().outputs.filter { $0.topic == topic }.map(\.value)
        return out
    }

    @Test("risk and execution give the same orders and fills whatever the arrival order of their inputs")
    func arrivalOrderDoesNotMatter() async throws {
        let (input, models) = try Self.scenario()
        var pipeline = InProcessPipeline(models: models)
        pipeline.featureSpec = .coreV1   // the fixture models were trained on core-v1 vectors
        pipeline.consensus = ConsensusConfig(threshold: 0.2)
        let run = try await pipeline.run(input)
        let namer = run.namer
        let decisions = run.records(namer.name(Topic.decisions))
        let reports = run.records(namer.name(Topic.executionReports))
        let approvals = run.records(namer.name(Topic.ordersApproved))
        let bars = run.records(namer.name(Topic.bars))
        let expectedOrders = try RecordDigest.digest(valueType: Topic.ordersApproved.valueType, values: approvals.map(\.value))
        let expectedReports = try RecordDigest.digest(valueType: Topic.executionReports.valueType, values: reports.map(\.value))
        #expect(expectedOrders.count > 5)

        // Risk: decisions first then reports; reports first then decisions; decisions of one symbol before the other's.
        let bySymbol = decisions.sorted { ($0.keyString, $0.offset) < ($1.keyString, $1.offset) }
        for order in [decisions + reports, reports + decisions, bySymbol + reports, reports.reversed() + bySymbol] {
            var risk = RiskStage(namer: namer, idleTimeout: .seconds(3600), expectedSymbols: ["BTC-USD", "ETH-USD"],
                                 hotState: nil, denialSink: nil)
            let out = try Self.drive(&risk, order, topic: namer.name(Topic.ordersApproved))
            #expect(try RecordDigest.digest(valueType: Topic.ordersApproved.valueType, values: out) == expectedOrders)
        }
        // Execution: orders before bars, bars before orders, and a symbol's orders in reverse (as after a restart).
        for order in [approvals + bars, bars + approvals, approvals.reversed() + bars, bars + approvals.reversed()] {
            var execution = ExecutionStage(namer: namer, records: nil)
            let out = try Self.drive(&execution, order, topic: namer.name(Topic.executionReports))
            #expect(try RecordDigest.digest(valueType: Topic.executionReports.valueType, values: out) == expectedReports)
        }
    }
}
