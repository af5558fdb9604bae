import QuorumServiceKit
import QuorumServices

/// `quorum-risk`: decisions → sized orders approved or denied (limits, kill switch), in event-time order.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-risk", extraKeys: ServiceKeys.risk) { @Sendable context in
            try await QuorumStages.risk(context)
        }
    }
}
