import Foundation
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline

/// Deterministic synthetic markets for pipeline tests: a random walk with slow waves, so rules and models act.
enum Fixtures {
    static let interval: Int64 = 1800
    static let start: Nanos = 1_600_000_000 * 1_000_000_000

    static func bars(symbol: String, count: Int, seed: UInt64, startPrice: Double = 100) -> [Bar] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var price = startPrice
        var out: [Bar] = []
        for i in 0..<count {
            let wave = 0.004 * sin(Double(i) / 40.0)
            let r = (uniform() - 0.5) * 0.02 + wave
            let open = price
            let close = max(1, price * (1 + r))
            let high = max(open, close) * (1 + uniform() * 0.003)
            let low = min(open, close) * (1 - uniform() * 0.003)
            func fx(_ v: Double) -> Fixed { Fixed(approximating: (v * 100).rounded() / 100) }
            var bar = Bar(symbol: Symbol(symbol), openTime: start + Int64(i) * interval * 1_000_000_000, intervalSeconds: interval,
                          open: fx(open), high: fx(high), low: fx(low), close: fx(close), volume: Fixed(10 + i % 7))
            bar.high = max(bar.high, bar.open, bar.close)
            bar.low = min(bar.low, bar.open, bar.close)
            out.append(bar)
            price = close
        }
        return out
    }

    /// The bars of several symbols merged in event-time order, as the ingest reader delivers them.
    static func input(_ perSymbol: [[Bar]]) -> IngestInput {
        var records = perSymbol.flatMap { bars in
            bars.enumerated().map { ArchivedBarRecord(bar: $0.element, id: $0.element.wireID, file: "fixture.csv", line: $0.offset + 2) }
        }
        records.sort { ($0.bar.closeTime, $0.bar.symbol) < ($1.bar.closeTime, $1.bar.symbol) }
        return IngestInput(bars: records, rejections: [])
    }

    /// A model trained on the first `trainBars` bars (the gate's verdict does not matter for serving tests).
    static func model(bars: [Bar], trainBars: Int, hyperparameters: ModelHyperparameters = .logistic(LogisticHyperparameters())) throws -> ServedModel {
        let rows = try TrainingRows.rows(bars: Array(bars.prefix(trainBars)), spec: .coreV1)
        let trainTo = rows[rows.count * 3 / 4].time
        let job = TrainingJobSpec(jobID: "fixture-\(bars[0].symbol.name)", symbol: bars[0].symbol, featureSpecVersion: Int(FeatureSpec.coreV1.version),
                                  featureNames: FeatureSpec.coreV1.names, trainFrom: rows[0].time, trainTo: trainTo,
                                  validateTo: rows.last!.time + 1, hyperparameters: hyperparameters)
        let core = TrainerCore(gate: ValidationGate(minimumCount: 10, minimumImprovement: -1), minimumTrainingRows: 50)
        guard let result = core.train(job: job, rows: rows).result else { throw FixtureError.training }
        return ServedModel(modelID: "m-\(bars[0].symbol.name)", model: result.model)
    }

    enum FixtureError: Error { case training }
}
