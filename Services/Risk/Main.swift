import QuorumServiceKit

/// `quorum-risk`: its stage core is wired in by the services issue; today it runs the service kit with its
/// backends (Kafka, Redis, Postgres), readiness checks, metrics and graceful shutdown.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-risk") { @Sendable context in
            let backends = try await Backends.connect(context, needs: .all)
            return backends.services
        }
    }
}
