import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumServiceKit
import QuorumServices

/// The `quorum` command-line tool: operations on the cluster.
@main
struct Quorum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quorum",
        abstract: "Operate a Quorum cluster.",
        subcommands: [Cluster.self, Topics.self, Ingest.self, BacktestCommand.self, WalkForwardCommand.self, Features.self, EDA.self, Train.self, Models.self, KillSwitch.self, Replay.self, Wait.self, Summary.self, BenchPipeline.self, BenchTrain.self, BenchInference.self, TuneCommand.self,
                      ConfigDoc.self, Version.self])

    /// Line-buffered standard output, so that what the commands print keeps its order beside standard error (progress)
    /// when both go to one pipe or file.
    static func main() async {
        setvbuf(Glibc.stdout, nil, _IOLBF, 0)
        if MenuCommand.applies { Glibc.exit(MenuCommand.run()) }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // The subcommand's own usage under its error (not the root's, which says nothing about the options at fault).
            type(of: command).exit(withError: error)
        }
    }
}

/// Options shared by subcommands that talk to the broker.
struct BrokerOptions: ParsableArguments {
    @Option(name: .customLong("kafka.brokers"), help: "Broker list (default: $QUORUM_KAFKA_BROKERS or 127.0.0.1:9092).")
    var brokers: String = ProcessInfo.processInfo.environment["QUORUM_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
    @Option(name: .customLong("topic.prefix"), help: "Topic prefix of the run (e.g. replay-7).")
    var prefix: String = ProcessInfo.processInfo.environment["QUORUM_TOPIC_PREFIX"] ?? ""

    func bus() throws -> KafkaBus {
        var logger = Logger(label: "quorum")
        logger.logLevel = .warning
        return try KafkaBus(configuration: KafkaConfiguration(brokers: brokers, clientID: "quorum-cli"), logger: logger)
    }
}

struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every topic of the registry with its message count and the lag of each stage consuming it; --create creates missing ones.")
    @OptionGroup var broker: BrokerOptions
    @Flag(help: "Create the topics (and dead-letter twins) that do not exist yet.") var create = false

    func run() async throws {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        do {
            try await bus.checkConnection()
            if create { try await bus.createTopics(namer.specsWithNames()) }
            let existing = try await bus.topicPartitionCounts()
            print("topic".padding(toLength: 44, withPad: " ", startingAt: 0) + " partitions   messages   lag (consumer group)")
            for spec in namer.specsWithNames() {
                let name = spec.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                guard existing[spec.name] != nil else { print("\(name) (missing)"); continue }
                let marks = try await bus.watermarks(topic: spec.name)
                let count = marks.values.reduce(0) { $0 + ($1.high - $1.low) }
                // Lag of every stage that consumes this topic (records it has not committed yet).
                var lags: [String] = []
                for (group, specs) in ServiceGroups.inputs where group != "quorum-monitor" && specs.contains(where: { namer.name($0) == spec.name }) {
                    let lag = try await bus.lag(group: namer.group(group), topic: spec.name, marks: marks)
                    lags.append("\(lag) (\(group))")
                }
                print("\(name) \(String(marks.count).padding(toLength: 10, withPad: " ", startingAt: 0)) "
                      + "\(String(count).padding(toLength: 10, withPad: " ", startingAt: 0)) \(lags.joined(separator: ", "))")
            }
        } catch let error as BusError {
            throw ValidationError(error.description)
        }
    }
}

struct ConfigDoc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-doc", abstract: "Print docs/configuration.md (every configuration key).")
    func run() { print(ConfigurationDoc.markdown(registry: ServiceKeys.documentationRegistry), terminator: "") }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print versions of Quorum and librdkafka.")
    func run() { print("quorum \(QuorumMetrics.buildVersion), librdkafka \(RdKafkaVersion.string)") }
}
