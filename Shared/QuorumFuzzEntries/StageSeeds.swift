import QuorumBus
import QuorumFeatures
import QuorumMarketData
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import SwiftProtobuf
import Foundation

extension FuzzEntries {
    /// The seed corpus of `FuzzStageInputs` (fuzz/corpus/StageInputs/): real records of every input topic, made by the
    /// stages themselves from real bars — the bars of `barFile` (data/market) go through features → consensus → risk →
    /// execution in event time, and each stage's seeds are the first records of its inputs (plus a kill switch, a
    /// prediction and a model event, which no stage of this chain publishes). The same bytes on every run
    /// (`EnvelopeStamp.stampsEventTime`), so `FuzzCorpusTests` can check that the committed files are current.
    public static func stageSeeds(barFile: String, bars count: Int = 400) throws -> [String: [UInt8]] {
        try EnvelopeStamp.$stampsEventTime.withValue(true) {
            let contents = try IngestReader.readFile(barFile)
            guard let series = contents.series.first, series.rows.count >= count else {
                throw RejectedMessage(.invalid, "\(barFile) holds fewer than \(count) bars")
            }
            let stamp = EnvelopeStamp(producer: "quorum-ingest")
            let bars: [OutgoingMessage] = try series.rows.prefix(count).map { row in
                try OutgoingMessage(topic: TopicNamer.live.name(Topic.bars), key: row.bar.symbol.name,
                          message: row.bar.wire(stamp: stamp, file: "btc_usd_30m.csv", line: UInt64(row.line)),
                          eventTimeNs: row.bar.closeTime)
            }

            var features = FeaturesStage(namer: .live, hotState: nil)
            let vectors = try outputs(of: &features, from: bars, topic: Topic.features)
            // Consensus joins each vector with its model's prediction: one per vector, as inference would publish.
            var predictions: [OutgoingMessage] = []
            for (index, vector) in vectors.enumerated() {
                let wire = try Quorum_V1_FeatureVector(serializedBytes: vector.value)
                var p = Quorum_V1_Prediction()
                p.envelope = stamp.envelope(id: "pred-\(wire.symbol)-\(wire.barOpenTimeNs)", tsEvent: wire.envelope.tsEventNs,
                                            cause: wire.envelope)
                p.symbol = wire.symbol
                p.barOpenTimeNs = wire.barOpenTimeNs
                p.modelID = "logistic-\(wire.symbol)"
                p.modelVersion = "1"
                p.probUp = index % 40 < 20 ? 0.9 : 0.1
                p.confidence = 0.8
                p.horizonBars = 1
                predictions.append(try OutgoingMessage(topic: TopicNamer.live.name(Topic.predictions), key: p.symbol,
                                                       message: p, eventTimeNs: p.envelope.tsEventNs))
            }
            var consensus = ConsensusStage(namer: .live)
            let decided = try outputs(of: &consensus, from: zip(vectors, predictions).flatMap { [$0, $1] }, topic: nil)
            let decisions = decided.filter { $0.topic == TopicNamer.live.name(Topic.decisions) }
            var risk = RiskStage(namer: .live, idleTimeout: .seconds(3600), expectedSymbols: [series.symbol],
                                 hotState: nil, denialSink: nil)
            let riskOut = try outputs(of: &risk, from: decisions, topic: nil) + (try risk.tick().outputs)
            let approved = riskOut.filter { $0.topic == TopicNamer.live.name(Topic.ordersApproved) }
            var execution = ExecutionStage(namer: .live, records: nil)
            let executionInput = interleave(approved, bars)
            let reports = try outputs(of: &execution, from: executionInput, topic: Topic.executionReports)

            var control = Quorum_V1_ControlCommand()
            control.envelope = stamp.envelope(id: "control-1", tsEvent: 1_556_668_800_000_000_000, cause: nil)
            control.kind = .killSwitchOn
            control.reason = "fuzz seed"
            control.actor = "quorum kill-switch"
            let controlRecord = try OutgoingMessage(topic: TopicNamer.live.name(Topic.control), key: "risk",
                                                         message: control, eventTimeNs: control.envelope.tsEventNs)
            var prediction = Quorum_V1_Prediction()
            if let vector = vectors.last, let wire = try? Quorum_V1_FeatureVector(serializedBytes: vector.value) {
                prediction.envelope = stamp.envelope(id: "pred-1", tsEvent: wire.envelope.tsEventNs, cause: wire.envelope)
                prediction.symbol = wire.symbol
                prediction.barOpenTimeNs = wire.barOpenTimeNs
            }
            prediction.modelID = "logistic-BTC-USD"
            prediction.modelVersion = "1"
            prediction.probUp = 0.62
            prediction.confidence = 0.24
            prediction.horizonBars = 1
            let predictionRecord = try OutgoingMessage(topic: TopicNamer.live.name(Topic.predictions), key: prediction.symbol,
                                                            message: prediction, eventTimeNs: prediction.envelope.tsEventNs)
            var model = Quorum_V1_ModelEvent()
            model.envelope = stamp.envelope(id: "model-1", tsEvent: 1_556_668_800_000_000_000, cause: nil)
            model.kind = .activated
            model.modelID = "logistic-BTC-USD"
            model.version = "1"
            model.symbol = series.symbol.name
            model.modelKind = "logistic"
            model.featureSpec = "rich-v1"
            let modelRecord = try OutgoingMessage(topic: TopicNamer.live.name(Topic.models), key: model.symbol,
                                                       message: model, eventTimeNs: model.envelope.tsEventNs)

            // ACTIVATED events carrying real artifacts (a logistic regression and a small tree ensemble trained on the
            // same bars), so the fuzzer mutates model files as inference loads them.
            let rows = try TrainingRows.rows(bars: series.rows.prefix(count).map(\.bar), spec: .default)
            var artifacts: [OutgoingMessage] = []
            for (name, hyperparameters) in [("logistic", ModelHyperparameters.logistic(LogisticHyperparameters())),
                                            ("gbdt", .gbdt(GBDTHyperparameters(rounds: 3, maxLeaves: 4)))] {
                let job = TrainingJobSpec(jobID: "seed-\(name)", symbol: series.symbol,
                                          featureSpecVersion: Int(FeatureSpec.default.version), featureNames: FeatureSpec.default.names,
                                          trainFrom: rows[0].time, trainTo: rows[rows.count * 3 / 4].time,
                                          validateTo: rows[rows.count - 1].time + 1, hyperparameters: hyperparameters)
                let core = TrainerCore(gate: ValidationGate(minimumCount: 10, minimumImprovement: -1), minimumTrainingRows: 50)
                guard let trained = core.train(job: job, rows: rows).result else {
                    throw RejectedMessage(.invalid, "the \(name) seed model did not train on \(rows.count) rows")
                }
                var event = model
                event.modelID = "\(name)-\(series.symbol.name)"
                event.modelKind = name
                event.featureSpec = FeatureSpec.default.name
                event.featureSpecVersion = FeatureSpec.default.version
                event.artifactBytes = Data(trained.model.artifact())
                artifacts.append(try OutgoingMessage(topic: TopicNamer.live.name(Topic.models), key: event.symbol,
                                                     message: event, eventTimeNs: event.envelope.tsEventNs))
            }

            var seeds: [String: [UInt8]] = [:]
            func seed(_ name: String, stage: String, _ records: [OutgoingMessage]) {
                let inputs = stageInputTopics[stage] ?? []
                seeds["\(stage)-\(name)"] = stageInput(stage: stage, records.map { record in
                    StageRecord(topic: UInt8(inputs.firstIndex(of: record.topic) ?? 0), key: record.key, value: record.value)
                })
            }
            seed("bars", stage: "features", Array(bars.prefix(4)))
            let first = series.rows[0].bar.openTime, day: Nanos = 86_400_000_000_000
            let jobs = try TrainingJobs.make(symbol: series.symbol, intervalSeconds: series.intervalSeconds, trainFrom: first,
                                             trainTo: first + 5 * day, validateTo: first + 7 * day,
                                             candidates: [.logistic(LogisticHyperparameters(l2: 0.1)),
                                                          .gbdt(GBDTHyperparameters(rounds: 50, maxLeaves: 8))],
                                             stamp: EnvelopeStamp(producer: "quorum")).map { job in
                // Hyperparameters are a protobuf map: sorted keys, so the seed is the same bytes on every run.
                var options = BinaryEncodingOptions()
                options.useDeterministicOrdering = true
                return OutgoingMessage(topic: TopicNamer.live.name(Topic.trainingJobs), key: job.jobID,
                                       value: try job.serializedBytes(options: options))
            }
            seed("jobs", stage: "trainer", jobs)
            seed("vectors-prediction", stage: "inference", [modelRecord] + Array(vectors.suffix(2)))
            seed("logistic-model-vectors", stage: "inference", [artifacts[0]] + Array(vectors.suffix(2)))
            seed("gbdt-model-vectors", stage: "inference", [artifacts[1]] + Array(vectors.suffix(2)))
            seed("vectors-prediction", stage: "consensus", Array(vectors.suffix(2)) + [predictionRecord])
            seed("decisions-control", stage: "risk", Array(decisions.prefix(3)) + Array(reports.prefix(1)) + [controlRecord])
            let firstOrder = executionInput.firstIndex { $0.topic == TopicNamer.live.name(Topic.ordersApproved) } ?? 0
            seed("approved-bars", stage: "execution", Array(executionInput[max(0, firstOrder - 1)...].prefix(6)))
            seed("every-topic", stage: "monitor", [bars[0]] + Array(vectors.suffix(1)) + Array(decisions.prefix(1))
                 + Array(approved.prefix(1)) + Array(reports.prefix(1)) + [controlRecord, modelRecord, predictionRecord])
            return seeds
        }
    }

    /// Each stage's input topics (full live names), in the order the topic byte picks them.
    static let stageInputTopics: [String: [String]] = [
        "features": FeaturesStage.inputTopics.map(TopicNamer.live.name),
        "inference": InferenceStage.inputTopics.map(TopicNamer.live.name),
        "consensus": ConsensusStage.inputTopics.map(TopicNamer.live.name),
        "risk": RiskStage.inputTopics.map(TopicNamer.live.name),
        "execution": ExecutionStage.inputTopics.map(TopicNamer.live.name),
        "monitor": MonitorStage.inputTopics.map(TopicNamer.live.name),
        "trainer": [TopicNamer.live.name(Topic.trainingJobs)],
    ]

    /// Feeds `records` to `stage` and returns its outputs (on `topic` only, when given).
    static func outputs<Stage: StageLogic>(of stage: inout Stage, from records: [OutgoingMessage],
                                           topic: TopicSpec?) throws -> [OutgoingMessage] {
        var out: [OutgoingMessage] = []
        for (offset, record) in records.enumerated() where stage.inputs.contains(record.topic) {
            let message = IncomingMessage(topic: record.topic, partition: 0, offset: Int64(offset), key: record.key,
                                          value: record.value, headers: record.headers, timestampMs: record.timestampMs)
            out += try stage.handle(message, replaying: false).outputs
        }
        guard let topic else { return out }
        return out.filter { $0.topic == TopicNamer.live.name(topic) }
    }

    /// Approved orders each before the bars that follow their decision (by record timestamp), as execution reads them.
    static func interleave(_ orders: [OutgoingMessage], _ bars: [OutgoingMessage]) -> [OutgoingMessage] {
        (orders + bars).enumerated().sorted { a, b in
            let ta = a.element.timestampMs ?? 0, tb = b.element.timestampMs ?? 0
            return ta != tb ? ta < tb : a.offset < b.offset
        }.map(\.element)
    }
}
