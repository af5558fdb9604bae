import Foundation
import Logging
import QuorumBus
import QuorumPipeline
import QuorumServiceKit
@testable import QuorumServices
import Testing

/// quorum-ingest's inbox on an in-memory bus (no archive): which files it takes, and that each succeeds or fails
/// on its own.
@Suite("Ingest inbox", .serialized, .timeLimit(.minutes(2)))
struct InboxServiceTests {
    static func service(_ inbox: String, bus: InMemoryBus) throws -> InboxService {
        let metrics = QuorumMetrics(service: "quorum-ingest")
        let ingestor = Ingestor(producer: try bus.makeProducer(clientID: "test"), namer: try TopicNamer(prefix: ""), archive: nil,
                                logger: Logger(label: "test"))
        let io = FileInboxIO(inbox: inbox, ingestor: ingestor, logger: Logger(label: "test"), published: metrics.counter("published"),
                             rejected: metrics.counter("rejected"), failedFiles: metrics.counter("failed"))
        return InboxService(io: io, interval: .milliseconds(20), quietNanos: 0)
    }

    /// Runs the inbox until `done` holds (checked every 20 ms), then stops it.
    static func run(_ service: InboxService, until done: @escaping @Sendable () -> Bool) async throws {
        let task = Task { try await service.run() }
        while !done() { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = await task.result
    }

    static func csv(rows: Int) -> String {
        "timestamp,open,high,low,close,volume\n" + (0..<rows).map { "\(1_704_067_200 + $0 * 1800),1,2,1,2,1\n" }.joined()
    }

    @Test("a good and a bad file dropped together: the good one is ingested and done, the bad one failed with its own error")
    func eachFileOnItsOwn() async throws {
        let inbox = NSTemporaryDirectory() + "quorum-inbox-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: inbox) }
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        try Self.csv(rows: 40).write(toFile: "\(inbox)/aaa_usd_30m.csv", atomically: true, encoding: .utf8)
        try "when,o,h,l,c,v\n1,2,3,4,5,6\n".write(toFile: "\(inbox)/bbb_usd_30m.csv", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(inbox)/ccc_usd_30m.csv", atomically: true, encoding: .utf8)
        try Self.csv(rows: 5).write(toFile: "\(inbox)/ddd_usd_30m.csv.part", atomically: true, encoding: .utf8)
        let bus = InMemoryBus()
        let fm = FileManager.default
        try await Self.run(try Self.service(inbox, bus: bus)) {
            fm.fileExists(atPath: "\(inbox)/done/aaa_usd_30m.csv") && fm.fileExists(atPath: "\(inbox)/failed/bbb_usd_30m.csv.error")
                && fm.fileExists(atPath: "\(inbox)/failed/ccc_usd_30m.csv.error")
        }
        let bars = try await bus.readAll(topic: try TopicNamer(prefix: "").name(Topic.bars))
        #expect(bars.count == 40)
        let bad = try String(contentsOfFile: "\(inbox)/failed/bbb_usd_30m.csv.error", encoding: .utf8)
        #expect(bad.contains("bbb_usd_30m.csv") && bad.contains("unknownHeader") && !bad.contains("aaa_usd"))
        let empty = try String(contentsOfFile: "\(inbox)/failed/ccc_usd_30m.csv.error", encoding: .utf8)
        #expect(empty.contains("ccc_usd_30m.csv") && empty.contains("no data rows"))
        #expect(!fm.fileExists(atPath: "\(inbox)/failed/aaa_usd_30m.csv"))
        #expect(fm.fileExists(atPath: "\(inbox)/ddd_usd_30m.csv.part"), "a temporary name is left alone")
    }
}
