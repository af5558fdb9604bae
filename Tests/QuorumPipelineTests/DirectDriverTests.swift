import QuorumExecution
import QuorumModel
import QuorumPipeline
import QuorumRisk
import QuorumStrategy
import Testing

/// `DirectDriver` pipelined (the signal part on its own task, chunks of whole close-time groups handed over) against
/// the same driver in one loop: the same orders, fills, denials, decision and dead-letter counts. (`EngineParityTests`
/// compares the one-loop driver with the stages on wire messages.)
@Suite("Direct driver: pipelined = one loop")
struct DirectDriverTests {
    struct Outcome: Equatable {
        var rows: [OrderRow]
        var fills: [Fill]
        var denials: [OrderDenial]
        var decisions: Int
        var deadLetters: Int
        var cash: Fixed
    }

    static func run(_ pipeline: InProcessPipeline, _ input: IngestInput, pipelined: Bool, chunkBars: Int = 4_096) async -> Outcome {
        let symbols = Array(Set(input.bars.map(\.bar.symbol))).sorted()
        var driver = DirectDriver(pipeline: pipeline, symbols: symbols, pipelineThreshold: pipelined ? 0 : .max, chunkBars: chunkBars)
        await driver.run(input.bars)
        return Outcome(rows: driver.orderRows, fills: driver.fills, denials: driver.denials, decisions: driver.decisions,
                       deadLetters: driver.deadLetters, cash: driver.exchange.ledger.cash)
    }

    @Test("rules only and with models; chunks of one group, of a few groups and larger than the run")
    func pipelinedEqualsOneLoop() async throws {
        let (input, models) = try InProcessPipelineTests.scenario()
        var rules = InProcessPipeline(models: [])
        rules.consensus = ConsensusConfig(threshold: 0.2, rulesOnly: true)
        rules.rules = [RSIMeanReversionRule(lower: 45, upper: 55)]   // flips often
        rules.featureSpec = .coreV1
        var withModels = InProcessPipeline(models: models)
        withModels.featureSpec = .coreV1   // the fixture models were trained on core-v1 vectors
        withModels.consensus = ConsensusConfig(threshold: 0.2)
        var poor = rules
        poor.risk = RiskConfig(startingEquity: 2)   // entries below one lot: denials
        poor.exchange = PaperExchangeConfig(startingCash: 2)
        for (name, pipeline) in [("rules only", rules), ("models", withModels), ("denials", poor)] {
            let oneLoop = await Self.run(pipeline, input, pipelined: false)
            #expect(oneLoop.decisions > 1_000 && (oneLoop.fills.count >= 10 || !oneLoop.denials.isEmpty), "\(name): the strategy acts")
            for chunk in [1, 7, 100_000] {
                let pipelined = await Self.run(pipeline, input, pipelined: true, chunkBars: chunk)
                #expect(pipelined == oneLoop, "\(name), chunks of \(chunk) bars")
            }
        }
        #expect(await Self.run(poor, input, pipelined: false).denials.count > 100, "the poor account's entries are denied")
    }
}
