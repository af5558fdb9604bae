import ArgumentParser
import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumServiceKit
import QuorumServices
import QuorumStores

/// `quorum bench-pipeline`: every bar of the given files (or `--count` of them from `--from`, optionally paced with
/// `--speed`) through features → inference → consensus → risk → execution as separate processes on a fresh topic
/// prefix of the running cluster's servers; reports end-to-end bars/s, bar → decision / bar → order latency and each
/// hop's latency from the records' `ts_init` stamps (the monitor's definitions: a record's `ts_init` minus its
/// cause's, and minus its chain's bar's).
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-pipeline",
        abstract: "Measure the pipeline: all bars of the files through the five trading stages on a fresh prefix; bars/s and latency.")
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @Argument(help: "OHLCV files (.csv or .csv.gz).") var files: [String]
    @Option(help: "Folder of the service binaries (default: next to this executable).") var bin: String?
    @Option(help: "Folder for the stages' logs.") var logs: String = ".cluster/bench"
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(help: "Only bars opening at or after this time (2019-06-01 or ISO-8601).") var from: String?
    @Option(help: "Only the first N bars (across symbols, in event-time order) from --from.") var count: Int?
    @Option(help: "0 = publish as fast as possible; N = N× real time (3 symbols of 30-minute bars at 6000× = 10 bars/s).")
    var speed: Double = 0
    @Option(name: .customLong("stage-set"),
            help: "KEY=VALUE: a configuration key given to every stage (repeatable), e.g. --stage-set kafka.fetch.wait.max.ms=1.")
    var stageSettings: [String] = []

    struct Result: Codable {
        var bars = 0
        var decisions = 0
        var orders = 0
        var seconds = 0.0
        var barsPerSecond = 0.0
        var barToDecisionMs: [String: Double] = [:]
        var barToOrderMs: [String: Double] = [:]
        /// Per topic: the record's `ts_init` minus its cause's (p50, p99, max in ms).
        var hopMs: [String: [String: Double]] = [:]
        var prefix = ""
    }

    func run() async throws {
        let bus = try broker.bus()
        try await bus.checkConnection()
        let prefix = "bench-\(wallClockNanos() / 1_000_000)"
        let namer = try TopicNamer(prefix: prefix)
        try await bus.createTopics(namer.specsWithNames())
        var input: IngestInput
        do {
            input = try IngestReader.read(files, from: from.map { try parseTime($0, option: "--from") })
        } catch let error as IngestError {
            throw ValidationError(error.description)
        }
        if let count { input.bars = Array(input.bars.prefix(count)) }
        let modelled = try await PrefixPipeline.pinModels(stores, from: broker.prefix, to: prefix)
        guard !modelled.isEmpty else {
            throw ValidationError("no active models to serve: run `make demo` (or quorum train) first")
        }
        let symbols = Set(input.bars.map(\.bar.symbol.name)).filter { modelled.contains($0) }.sorted()
        var extra: [String] = []
        for setting in stageSettings {
            guard let eq = setting.firstIndex(of: "="), eq != setting.startIndex else {
                throw ValidationError("--stage-set '\(setting)' is not KEY=VALUE (e.g. kafka.fetch.wait.max.ms=1)")
            }
            extra += ["--" + setting[..<eq], String(setting[setting.index(after: eq)...])]
        }
        let children = try PrefixPipeline.spawn(bin: bin, logs: logs, prefix: prefix, brokers: broker.brokers,
                                                postgresURL: stores.postgresURL, symbols: symbols, extra: extra)
        defer { PrefixPipeline.stop(children) }
        try await PrefixPipeline.waitUntilJoined(children)
        print("publishing \(input.bars.count) bars to \(namer.name(Topic.bars))")
        let speed = self.speed
        try await stores.withStore(prefix: prefix) { [input] store in
            let producer = try bus.makeProducer(clientID: "quorum-cli-bench")
            var ingestor = Ingestor(producer: producer, namer: namer, archive: PostgresBarArchiveSink(archive: BarArchive(store: store)),
                                    logger: Logger(label: "quorum"))
            ingestor.speed = speed
            let report = try await ingestor.run(input)
            if report.maxLagSeconds > 0.01 { print(String(format: "publishing fell up to %.2f s behind the requested speed", report.maxLagSeconds)) }
            await producer.close()
        }
        try await waitUntilIdle(bus: bus, namer: namer, groups: ServiceGroups.replayStages, idleSeconds: 5, timeoutSeconds: 3600) {
            try PrefixPipeline.checkRunning(children)
        }

        // Measure from the records: when each bar was published, when its decision and orders were made.
        func envelopes(_ spec: TopicSpec) async throws -> [Quorum_V1_Envelope] {
            try await bus.readAll(topic: namer.name(spec), clientID: "quorum-cli-bench")
                .map { try Quorum_V1_EnvelopeHeader(serializedBytes: $0.value).envelope }
        }
        let bars = try await envelopes(Topic.bars)
        let barInit = Dictionary(bars.map { ($0.id, $0.tsInitNs) }, uniquingKeysWith: { first, _ in first })
        let first = bars.map(\.tsInitNs).min() ?? 0
        let decisionEnvelopes = try await envelopes(Topic.decisions)
        let orderEnvelopes = try await envelopes(Topic.ordersApproved)
        let reportEnvelopes = try await envelopes(Topic.executionReports)
        // The run ends with the last record any stage made.
        let last = (decisionEnvelopes + orderEnvelopes + reportEnvelopes).map(\.tsInitNs).max() ?? first
        func latencies(_ records: [Quorum_V1_Envelope], from start: [String: Int64]) -> [Double] {
            records.compactMap { e in start[e.correlationID].map { Double(e.tsInitNs - $0) / 1e6 } }.sorted()
        }
        let decisions = latencies(decisionEnvelopes, from: barInit)
        let orders = latencies(orderEnvelopes, from: barInit)
        func pct(_ xs: [Double]) -> [String: Double] {
            guard !xs.isEmpty else { return [:] }
            func at(_ p: Double) -> Double { xs[min(xs.count - 1, Int((p * Double(xs.count - 1)).rounded()))] }
            return ["p50": at(0.5), "p99": at(0.99), "max": xs.last!]
        }
        // Each hop: a record's ts_init minus its cause's (the stage's own time plus the bus hop into it).
        let featureEnvelopes = try await envelopes(Topic.features)
        let predictionEnvelopes = try await envelopes(Topic.predictions)
        let hops: [(String, [Quorum_V1_Envelope])] = [("features", featureEnvelopes), ("predictions", predictionEnvelopes),
                                                     ("decisions", decisionEnvelopes), ("orders.approved", orderEnvelopes),
                                                     ("execution.reports", reportEnvelopes)]
        var initOf = barInit
        for (_, records) in hops { for e in records { initOf[e.id] = e.tsInitNs } }
        var hopMs: [String: [String: Double]] = [:]
        for (name, records) in hops {
            hopMs[name] = pct(records.compactMap { e in initOf[e.causationID].map { Double(e.tsInitNs - $0) / 1e6 } }.sorted())
        }
        var result = Result()
        result.prefix = prefix
        result.bars = barInit.count
        result.decisions = decisions.count
        result.orders = orders.count
        result.seconds = Double(last - first) / 1e9
        result.barsPerSecond = result.seconds > 0 ? Double(result.bars) / result.seconds : 0
        result.barToDecisionMs = pct(decisions)
        result.barToOrderMs = pct(orders)
        result.hopMs = hopMs
        print(String(format: "pipeline: %d bars in %.1f s = %.0f bars/s end to end (first bar published → last report)",
                     result.bars, result.seconds, result.barsPerSecond))
        print(String(format: "bar → decision: p50 %.1f ms, p99 %.1f ms (%d decisions)", result.barToDecisionMs["p50"] ?? 0,
                     result.barToDecisionMs["p99"] ?? 0, result.decisions))
        print(String(format: "bar → order:    p50 %.1f ms, p99 %.1f ms (%d orders)", result.barToOrderMs["p50"] ?? 0,
                     result.barToOrderMs["p99"] ?? 0, result.orders))
        for (name, _) in hops {
            let h = hopMs[name] ?? [:]
            print(String(format: "  hop → %@: p50 %.1f ms, p99 %.1f ms, max %.1f ms", name.padding(toLength: 18, withPad: " ", startingAt: 0),
                         h["p50"] ?? 0, h["p99"] ?? 0, h["max"] ?? 0))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }
}
