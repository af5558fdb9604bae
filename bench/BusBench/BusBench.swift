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
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["BENCH_LOG"] == "info" ? .info : .warning
        let config = KafkaConfiguration(brokers: brokers, clientID: "bench", sessionTimeoutMs: 6000)
        let bus = try KafkaBus(configuration: config, logger: logger)
        try await bus.checkConnection()
        let run = UUID().uuidString.prefix(8).lowercased()
        let rawTopic = "bench.raw.\(run)", busTopic = "bench.bus.\(run)"
        let specs = [rawTopic, busTopic].map {
            TopicSpec(name: $0, key: .symbol, valueType: "bytes", partitions: partitions, retentionMs: 3_600_000, summary: "bench")
        }
        try await bus.createTopics(specs)
        let payload = [UInt8](repeating: 0x42, count: size)
        print("bench-bus: \(messages) messages of \(size) bytes, \(partitions) partitions, broker \(brokers), librdkafka \(RdKafkaVersion.string)")

        let rawProduce = try RawLoop.produce(brokers: brokers, topic: rawTopic, count: messages, payload: payload)
        report("raw librdkafka produce", rawProduce)
        let busProduce = try await busProduceRun(bus: bus, topic: busTopic, payload: payload)
        report("bus produce (KafkaProducer.send)", busProduce)
        let rawConsume = try RawLoop.consume(brokers: brokers, topic: rawTopic, partitions: partitions, count: messages)
        report("raw librdkafka consume", rawConsume)
        let busConsume = try await busConsumeRun(bus: bus, topic: busTopic)
        report("bus consume (next + commit)", busConsume)

        let produceRatio = busProduce.rate / rawProduce.rate
        let consumeRatio = busConsume.rate / rawConsume.rate
        print("")
        print(String(format: "produce: bus %.0f msg/s vs raw %.0f msg/s = %.0f%% of the raw ceiling (goal >= 70%%)",
                     busProduce.rate, rawProduce.rate, produceRatio * 100))
        print(String(format: "consume: bus %.0f msg/s vs raw %.0f msg/s = %.0f%% of the raw ceiling (goal >= 70%%)",
                     busConsume.rate, rawConsume.rate, consumeRatio * 100))
        if let json {
            let result: [String: Any] = [
                "messages": messages, "size": size, "partitions": partitions, "librdkafka": RdKafkaVersion.string,
                "raw_produce_msgs_per_s": rawProduce.rate, "bus_produce_msgs_per_s": busProduce.rate,
                "raw_consume_msgs_per_s": rawConsume.rate, "bus_consume_msgs_per_s": busConsume.rate,
                "produce_ratio": produceRatio, "consume_ratio": consumeRatio,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
        try? await bus.deleteTopics([rawTopic, busTopic])
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
        while count < messages, let m = try await consumer.next() {
            if start == nil { start = .now }  // from the first message: excludes the group join
            try consumer.commit(m)
            count += 1
        }
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
