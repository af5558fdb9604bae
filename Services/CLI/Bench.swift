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

/// `quorum bench-pipeline`: every bar of the given files through features → inference → consensus → risk →
/// execution as separate processes on a fresh topic prefix of the running cluster's servers; reports end-to-end
/// bars/s and bar → decision / bar → order latency from the records' `ts_init` stamps.
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

    struct Result: Codable {
        var bars = 0
        var decisions = 0
        var orders = 0
        var seconds = 0.0
        var barsPerSecond = 0.0
        var barToDecisionMs: [String: Double] = [:]
        var barToOrderMs: [String: Double] = [:]
        var prefix = ""
    }

    func run() async throws {
        let bus = try broker.bus()
        try await bus.checkConnection()
        let prefix = "bench-\(wallClockNanos() / 1_000_000)"
        let namer = try TopicNamer(prefix: prefix)
        try await bus.createTopics(namer.specsWithNames())
        let input: IngestInput
        do {
            input = try IngestReader.read(files)
        } catch {
            throw ValidationError(error.description)
        }
        let modelled = try await PrefixPipeline.pinModels(stores, from: broker.prefix, to: prefix)
        guard !modelled.isEmpty else {
            throw ValidationError("no active models to serve: run `make demo` (or quorum train) first")
        }
        let symbols = Set(input.bars.map(\.bar.symbol.name)).filter { modelled.contains($0) }.sorted()
        let children = try PrefixPipeline.spawn(bin: bin, logs: logs, prefix: prefix, brokers: broker.brokers,
                                                postgresURL: stores.postgresURL, symbols: symbols)
        defer { PrefixPipeline.stop(children) }
        try await PrefixPipeline.waitUntilJoined(children)
        print("publishing \(input.bars.count) bars to \(namer.name(Topic.bars))")
        try await stores.withStore(prefix: prefix) { store in
            let producer = try bus.makeProducer(clientID: "quorum-cli-bench")
            _ = try await Ingestor(producer: producer, namer: namer, archive: PostgresBarArchiveSink(archive: BarArchive(store: store)),
                                   logger: Logger(label: "quorum")).run(input)
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
        func latencies(_ records: [Quorum_V1_Envelope]) -> [Double] {
            records.compactMap { e in barInit[e.correlationID].map { Double(e.tsInitNs - $0) / 1e6 } }.sorted()
        }
        let decisions = latencies(decisionEnvelopes)
        let orders = latencies(orderEnvelopes)
        func pct(_ xs: [Double]) -> [String: Double] {
            guard !xs.isEmpty else { return [:] }
            func at(_ p: Double) -> Double { xs[min(xs.count - 1, Int((p * Double(xs.count - 1)).rounded()))] }
            return ["p50": at(0.5), "p99": at(0.99), "max": xs.last!]
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
        print(String(format: "pipeline: %d bars in %.1f s = %.0f bars/s end to end (first bar published → last report)",
                     result.bars, result.seconds, result.barsPerSecond))
        print(String(format: "bar → decision: p50 %.1f ms, p99 %.1f ms (%d decisions)", result.barToDecisionMs["p50"] ?? 0,
                     result.barToDecisionMs["p99"] ?? 0, result.decisions))
        print(String(format: "bar → order:    p50 %.1f ms, p99 %.1f ms (%d orders)", result.barToOrderMs["p50"] ?? 0,
                     result.barToOrderMs["p99"] ?? 0, result.orders))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }
}
