import Logging
import QuorumBus
import QuorumKafka
import ServiceLifecycle
import Synchronization

/// Keeps the run's topics on the broker: every `kafka.topics.check.interval` it lists the broker's topics and re-creates
/// the missing ones from the topic registry (partitions and retention as `Topic` names them). The local broker keeps
/// topics in memory, so a restart loses every one; without this, producers fail and consumers own no partition until
/// someone re-creates them by hand.
///
/// Its readiness check `topics` fails while the last look found topics missing (naming them) or with another partition
/// count than the registry's (which only deleting and re-creating the topic can fix).
public final class TopicGuard: Service, Sendable {
    let bus: KafkaBus
    let specs: [TopicSpec]
    let interval: Duration
    let logger: Logger
    /// What the last look found wrong, one line per topic (empty: all there).
    private let problems = Mutex<[String]>([])

    /// - Parameter specs: the topics (full names) that must exist.
    public init(bus: KafkaBus, specs: [TopicSpec], interval: Duration, logger: Logger) {
        self.bus = bus
        self.specs = specs
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await runUntilGracefulShutdown {
            while !Task.isCancelled {
                await self.checkOnce()
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// One look: re-creates missing topics, records what is wrong. A broker that does not answer is the `kafka`
    /// check's business; the topics are then looked at again next time.
    public func checkOnce() async {
        let counts: [String: Int32]
        do {
            counts = try await bus.topicPartitionCounts()
        } catch {
            logger.debug("topic check skipped: the broker did not answer", metadata: ["error": .string(String(describing: error))])
            return
        }
        let missing = specs.filter { counts[$0.name] == nil }
        let mismatched = specs.compactMap { spec -> String? in
            guard let count = counts[spec.name], count != spec.partitions else { return nil }
            return "\(spec.name) has \(count) partitions, the registry says \(spec.partitions) (delete it; it is re-created)"
        }
        problems.withLock { $0 = missing.map { "\($0.name) is missing (re-creating it)" } + mismatched }
        guard !missing.isEmpty else { return }
        logger.warning("topics missing on the broker (a restart of the local broker loses them); re-creating them from the registry", metadata: [
            "kafka.topics.missing": .stringConvertible(missing.count),
            "kafka.topics": .string(missing.prefix(8).map(\.name).joined(separator: ",") + (missing.count > 8 ? ",…" : "")),
        ])
        do {
            try await bus.createTopics(missing)
            problems.withLock { $0 = mismatched }
            logger.info("topics re-created", metadata: ["kafka.topics.created": .stringConvertible(missing.count)])
        } catch {
            logger.error("re-creating topics failed; trying again at the next check", metadata: [
                "error": .string(String(describing: error)), "retry.in": .string("\(interval)"),
            ])
        }
    }

    /// The readiness check `topics`.
    public var check: some DependencyCheck {
        ClosureCheck("topics") { [self] in
            let found = self.problems.withLock { $0 }
            guard found.isEmpty else {
                throw TopicsNotReady(description: "\(found.count) of the run's topics are not usable: " + found.prefix(5).joined(separator: "; ")
                                        + (found.count > 5 ? "; …" : ""))
            }
        }
    }
}

/// Why the `topics` readiness check fails.
struct TopicsNotReady: Error, CustomStringConvertible {
    var description: String
}
