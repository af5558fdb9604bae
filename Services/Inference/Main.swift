import QuorumServiceKit
import QuorumServices

/// `quorum-inference`: feature vectors → predictions with each symbol's active model, hot-swapped on `models` events.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-inference", extraKeys: ServiceKeys.inference) { @Sendable context in
            try await QuorumStages.inference(context)
        }
    }
}
