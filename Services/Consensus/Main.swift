import QuorumServiceKit
import QuorumServices

/// `quorum-consensus`: features + predictions → signals and one decision per bar (ML and rule strategies by confidence).
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-consensus", extraKeys: ServiceKeys.consensus) { @Sendable context in
            try await QuorumStages.consensus(context)
        }
    }
}
