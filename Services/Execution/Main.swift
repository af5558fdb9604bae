import QuorumServiceKit
import QuorumServices

/// `quorum-execution`: approved orders → paper fills at the next bar; orders, fills and positions in Postgres.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-execution", extraKeys: ServiceKeys.execution) { @Sendable context in
            try await QuorumStages.execution(context)
        }
    }
}
