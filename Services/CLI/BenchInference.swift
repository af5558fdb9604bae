import ArgumentParser
import Foundation
import QuorumAnalytics
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumResearch

/// `quorum bench-inference` (make bench-inference): how long one prediction takes, as inference serves it
/// (`TrainedModel.score` on one feature vector), per model family, and predictions per second in a batch loop.
struct BenchInference: ParsableCommand {
    static func size(_ model: TrainedModel) -> String {
        switch model {
        case .logistic(let m): "\(m.width) weights"
        case .gbdt(let m): "\(m.trees.count) trees of up to \(m.hyperparameters.maxLeaves) leaves"
        case .mlp(let m): "layers \(m.layers.shape.map(String.init).joined(separator: "-"))"
        case .ensemble(let m): "members " + m.members.map { size($0) }.joined(separator: "; ")
        case .tcn(let m): "\(m.layers.layers) dilated layers of \(m.layers.channels) channels over \(m.sequenceLength) vectors"
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "bench-inference",
        abstract: "Latency of one prediction (p50/p99) and batched predictions per second, per model family, on real feature vectors.",
        discussion: """
            Trains each family on the first 70 % of the file's rows (gbdt: every one of --rounds rounds, no early stopping, \
            so the trees are as many as the defaults allow), then scores the other 30 %: --count single predictions, each \
            timed alone, and the whole set in a loop for about a second. Prints a table and \
            `RESULT gbdt_p99_us=N logistic_p99_us=N gbdt_batch_per_s=N logistic_batch_per_s=N mlp_p99_us=N mlp_batch_per_s=N \
            tcn_p99_us=N tcn_batch_per_s=N` (the tcn scores a window of the last 16 vectors, as inference gives it).
            """)
    @Argument(help: "One bar file (.csv, optionally .gz).") var file: String
    @Option(help: "A built-in spec or a spec file.") var spec: String = FeatureSpec.default.name
    @Option(help: "Single predictions to time (after 10,000 to warm up).") var count: Int = 200_000
    @Option(help: "Boosting rounds of the gbdt model.") var rounds: Int = 200

    func run() throws {
        let featureSpec = try FeatureSpec.load(spec)
        var config = BacktestConfig()
        config.data = .files([file])
        let data = try BacktestData.load(config)
        let rows = try TrainingRows.rows(bars: data.bars.map(\.bar), spec: featureSpec)
        let cut = rows.count * 7 / 10
        guard cut > 1_000 else { throw ValidationError("\(file) has \(rows.count) feature rows; the bench needs a few thousand") }

        let core = TrainerCore(gate: ValidationGate(minimumCount: 1, minimumImprovement: -1))
        var figures: [(family: String, p50: Double, p99: Double, perSecond: Double)] = []
        for (name, h) in [("logistic", ModelHyperparameters.logistic(LogisticHyperparameters())),
                          ("gbdt", .gbdt(GBDTHyperparameters(rounds: rounds, earlyStoppingRounds: 0))),
                          ("mlp", .mlp(MLPHyperparameters())), ("tcn", .tcn(TCNHyperparameters(epochs: 5)))] {
            // What inference scores: one vector, or the last K concatenated for a sequence model.
            let k = h.sequenceLength
            let vectors = k == 1 ? rows[cut...].map(\.features) : TrainerCore.windows(Array(rows[(cut - k + 1)...]), length: k).map(\.features)
            let job = TrainingJobSpec(jobID: name, symbol: data.symbols[0], featureSpecVersion: Int(featureSpec.version),
                                      featureNames: featureSpec.names, trainFrom: rows[0].time, trainTo: rows[cut * 8 / 10].time,
                                      validateTo: rows[cut].time, hyperparameters: h)
            let outcome = core.train(job: job, rows: Array(rows[..<cut]))
            guard let model = outcome.result?.model else { throw ValidationError("\(name) did not train: \(outcome.failure.map { "\($0)" } ?? "")") }
            FileHandle.standardError.write(Data("bench-inference: \(name) \(model.version), \(Self.size(model))\n".utf8))
            // One at a time, each timed alone.
            var sink = 0.0
            var latencies = [Double]()
            latencies.reserveCapacity(count)
            for i in 0..<(count + 10_000) {
                let vector = vectors[i % vectors.count]
                let started = ContinuousClock.now
                sink += try model.score(vector).probUp
                let elapsed = ContinuousClock.now - started
                if i >= 10_000 { latencies.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6) }
            }
            // Batched: the whole set in a loop for about a second.
            let started = ContinuousClock.now
            var predictions = 0
            while ContinuousClock.now - started < .seconds(1) {
                for vector in vectors { sink += try model.score(vector).probUp }
                predictions += vectors.count
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            if sink.isNaN { print("") }
            figures.append((name, Statistics.percentile(latencies, 50), Statistics.percentile(latencies, 99), Double(predictions) / seconds))
        }
        print("family     p50 µs   p99 µs   batched predictions/s")
        for f in figures {
            print(f.family.padding(toLength: 9, withPad: " ", startingAt: 0) + String(format: " %7.3f  %7.3f   %12.0f", f.p50, f.p99, f.perSecond))
        }
        let g = figures[1], l = figures[0]
        let m = figures[2], t = figures[3]
        print(String(format: "RESULT gbdt_p99_us=%.3f logistic_p99_us=%.3f gbdt_batch_per_s=%.0f logistic_batch_per_s=%.0f mlp_p99_us=%.3f "
                     + "mlp_batch_per_s=%.0f tcn_p99_us=%.3f tcn_batch_per_s=%.0f",
                     g.p99, l.p99, g.perSecond, l.perSecond, m.p99, m.perSecond, t.p99, t.perSecond))
    }
}
