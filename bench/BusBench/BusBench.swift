// quorum-bench bus: pushes N messages of S bytes through the Kafka bus (QuorumKafka) and, in the same
// run against the same broker, through a bare librdkafka loop (the raw ceiling), and prints both rates
// and their ratio for produce and consume.
//
//   quorum-bench --brokers 127.0.0.1:9092 [--messages 1000000] [--size 200] [--partitions 6]
import ArgumentParser
import CRdKafka
import Foundation
import Logging
import QuorumBus
import QuorumKafka

@main
struct BusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quorum-bench",
        abstract: "Bus throughput: QuorumKafka vs a bare librdkafka loop on the same broker.")

    @Option(help: "Broker list host:port.") var brokers = ProcessInfo.processInfo.environment["QUORUM_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
    @Option(help: "Messages per run.") var messages = 1_000_000
    @Option(help: "Value size in bytes.") var size = 200
    @Option(help: "Partitions of the benchmark topics.") var partitions: Int32 = 6
    @Option(help: "Messages per send() call on the bus.") var batch = 10_000
    @Option(help: "send() calls in flight at once on the bus.") var window = 8
    @Option(help: "fetch.wait.max.ms of both consumers (bus and raw), so they fetch alike.") var fetchWaitMs = KafkaConfiguration().fetchWaitMaxMs
    @Option(help: "How often the bus consumer commits its marked offsets (kafka.commit.interval.ms).") var commitIntervalMs = KafkaConfiguration().commitIntervalMs
    @Option(name: .customLong("set"), help: "An extra librdkafka property key=value for the bus clients (repeatable).") var extra: [String] = []
    @Option(help: "Rounds of all four runs; the medians are compared.") var rounds = 3
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        if let bad = extra.first(where: { !$0.contains("=") || $0.hasPrefix("=") }) {
            throw ValidationError("--set '\(bad)' is not key=value (for example --set fetch.min.bytes=1)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG"] == "info" ? .info : .warning
        let config = KafkaConfiguration(brokers: brokers, clientID: "bench", sessionTimeoutMs: 6000,
                                        commitIntervalMs: commitIntervalMs, fetchWaitMaxMs: fetchWaitMs,
                                        properties: Dictionary(extra.map { pair in
                                            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                                            return (kv[0], kv.count > 1 ? kv[1] : "")
                                        }, uniquingKeysWith: { $1 }))
        let bus = try KafkaBus(configuration: config, logger: logger)
        try await bus.checkConnection()
        let payload = [UInt8](repeating: 0x42, count: size)
        print("bench-bus: \(messages) messages of \(size) bytes, \(partitions) partitions, broker \(brokers), librdkafka \(RdKafkaVersion.string), "
              + "fetch.wait.max.ms \(fetchWaitMs), bus commit interval \(commitIntervalMs) ms, \(rounds) rounds (medians compared)")

        // Each round: fresh topics, raw then bus produce, raw then bus consume. The medians over the rounds are
        // compared, because one round on a shared 2-core machine (broker included) varies by ±20 %.
        var results: [String: [Double]] = [:]
        for round in 1...rounds {
            let run = UUID().uuidString.prefix(8).lowercased()
            let rawTopic = "bench.raw.\(run)", busTopic = "bench.bus.\(run)"
            let specs = [rawTopic, busTopic].map {
                TopicSpec(name: $0, key: .symbol, valueType: "bytes", partitions: partitions, retentionMs: 3_600_000, summary: "bench")
            }
            try await bus.createTopics(specs)
            // Both producers (raw and bus) start on a new topic: wait until the broker lists all its partitions with
            // leaders, so neither run measures (or fails on) a topic whose partitions are not known yet.
            try await bus.awaitTopicMetadata(specs)
            print("round \(round)/\(rounds)")
            let measured: [(String, Measurement)] = [
                ("raw librdkafka produce", try RawLoop.produce(brokers: brokers, topic: rawTopic, count: messages, payload: payload)),
                ("bus produce (KafkaProducer.send)", try await busProduceRun(bus: bus, topic: busTopic, payload: payload)),
                ("raw librdkafka consume", try RawLoop.consume(brokers: brokers, topic: rawTopic, partitions: partitions,
                                                               count: messages, fetchWaitMs: fetchWaitMs)),
                ("bus consume (next + commit)", try await busConsumeRun(bus: bus, topic: busTopic)),
            ]
            for (name, m) in measured {
                report(name, m)
                results[name, default: []].append(m.rate)
            }
            try? await bus.deleteTopics([rawTopic, busTopic])
        }
        func median(_ name: String) -> Double {
            let v = results[name]!.sorted()
            return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        }
        let rawProduce = median("raw librdkafka produce"), busProduce = median("bus produce (KafkaProducer.send)")
        let rawConsume = median("raw librdkafka consume"), busConsume = median("bus consume (next + commit)")
        let produceRatio = busProduce / rawProduce
        let consumeRatio = busConsume / rawConsume
        print("")
        print(String(format: "produce: bus %.0f msg/s vs raw %.0f msg/s = %.0f%% of the raw ceiling (goal >= 70%%)",
                     busProduce, rawProduce, produceRatio * 100))
        print(String(format: "consume: bus %.0f msg/s vs raw %.0f msg/s = %.0f%% of the raw ceiling (goal >= 70%%)",
                     busConsume, rawConsume, consumeRatio * 100))
        print(String(format: "RESULT bus_produce_msgs_per_s=%.0f raw_produce_msgs_per_s=%.0f produce_ratio=%.2f "
                     + "bus_consume_msgs_per_s=%.0f raw_consume_msgs_per_s=%.0f consume_ratio=%.2f",
                     busProduce, rawProduce, produceRatio, busConsume, rawConsume, consumeRatio))
        if let json {
            let result: [String: Any] = [
                "messages": messages, "size": size, "fetch_wait_max_ms": fetchWaitMs, "commit_interval_ms": commitIntervalMs,
                "partitions": partitions, "librdkafka": RdKafkaVersion.string, "rounds": rounds,
                "raw_produce_msgs_per_s": rawProduce, "bus_produce_msgs_per_s": busProduce,
                "raw_consume_msgs_per_s": rawConsume, "bus_consume_msgs_per_s": busConsume,
                "produce_ratio": produceRatio, "consume_ratio": consumeRatio,
                "per_round_msgs_per_s": results,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    func report(_ name: String, _ r: Measurement) {
        print(String(format: "  %-34@ %9d msgs in %6.3f s = %10.0f msg/s", name as NSString, r.count, r.seconds, r.rate))
    }

    func busProduceRun(bus: KafkaBus, topic: String, payload: [UInt8]) async throws -> Measurement {
        let producer = try bus.makeProducer(clientID: "bench-bus-producer")
        let keys = (0..<64).map { Array("key-\($0)".utf8) }
        let batches = stride(from: 0, to: messages, by: batch).map { start in
            (start..<min(start + batch, messages)).map { i in OutgoingMessage(topic: topic, key: keys[i % keys.count], value: payload) }
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var inFlight = 0
            while next < batches.count || inFlight > 0 {
                while inFlight < window && next < batches.count {
                    let b = batches[next]
                    group.addTask { try await producer.send(b).count }
                    next += 1
                    inFlight += 1
                }
                _ = try await group.next()
                inFlight -= 1
            }
        }
        let elapsed = ContinuousClock.now - start
        await producer.close()
        return Measurement(count: messages, elapsed: elapsed)
    }

    func busConsumeRun(bus: KafkaBus, topic: String) async throws -> Measurement {
        let consumer = try bus.makeConsumer(group: "bench-\(topic)", topics: [topic], clientID: "bench-bus-consumer", startAt: .earliest)
        var count = 0
        var start: ContinuousClock.Instant?
        var last = ContinuousClock.now
        var pauses: [String] = []
        let total = messages  // a local: the @Option getter costs more per call than next() itself
        while count < total, let m = try await consumer.next() {
            if start == nil { start = .now; last = start! }  // from the first message: excludes the group join
            try consumer.commit(m)
            count += 1
            if count & 1023 == 0 {
                let now = ContinuousClock.now
                if now - last > .milliseconds(50) { pauses.append("\(count): \(now - last)") }
                last = now
            }
        }
        if !pauses.isEmpty { print("  bus consume pauses > 50 ms (per 1024 msgs): \(pauses.joined(separator: ", "))") }
        let elapsed = ContinuousClock.now - start!
        await consumer.close()
        return Measurement(count: count, elapsed: elapsed)
    }
}

struct Measurement {
    var count: Int
    var elapsed: Duration
    var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
    var rate: Double { Double(count) / seconds }
}
