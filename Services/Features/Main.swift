import QuorumServiceKit
import QuorumServices

/// `quorum-features`: bars → feature vectors (QuorumPipeline.FeaturesStage), latest vector per symbol in Redis.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-features", extraKeys: ServiceKeys.features) { @Sendable context in
            try await QuorumStages.features(context)
        }
    }
}
