import QuorumServiceKit
import QuorumServices

/// `quorum-ingest`: ingests OHLCV files dropped into the inbox (`InboxLogic`): validated, archived, published in event-time order.
@main
struct Main {
    static func main() async throws {
        try await ServiceRunner.run(name: "quorum-ingest", extraKeys: ServiceKeys.ingest) { @Sendable context in
            try await IngestWorker.services(context)
        }
    }
}
