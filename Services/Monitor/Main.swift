import QuorumServiceKit
import QuorumServices

/// `quorum-monitor` (`MonitorStage`): reads every topic: counters, latency, lag, status page; publishes retraining jobs.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-monitor", extraKeys: ServiceKeys.monitor) { @Sendable context in
            try await QuorumStages.monitor(context)
        }
    }
}
