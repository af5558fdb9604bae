import QuorumServiceKit
import QuorumServices

/// `quorum-trainer`: a training worker of the `quorum-trainer` group on `training.jobs`; registers and announces models.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-trainer", extraKeys: ServiceKeys.trainer) { @Sendable context in
            try await TrainerWorker.services(context)
        }
    }
}
