import Foundation
import Logging
import Metrics
import QuorumBus
import QuorumMarketData
import QuorumPipeline
import QuorumServiceKit
import QuorumStores
import ServiceLifecycle

/// `quorum-ingest`: watches an inbox folder; each OHLCV file dropped there (every format `quorum ingest` reads; see
/// `InboxWatcher` for which files are taken and when) is validated row by row, archived in Postgres and published to
/// `md.bars` in event-time order, bad rows to `md.bars.dlq` with file and line. What it does at each scan is
/// `InboxLogic` (QuorumPipeline); this is its wiring: the folder, the `Ingestor` and metrics as its `InboxIO`.
public enum IngestWorker {
    public static func services(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let producer = try backends.bus!.makeProducer(clientID: context.config.kafkaClientID)
        var ingestor = Ingestor(producer: producer, namer: backends.namer,
                                archive: PostgresBarArchiveSink(archive: BarArchive(store: backends.postgres!, logger: context.logger)),
                                logger: context.logger)
        ingestor.speed = context.config.double(ServiceKeys.ingestSpeed.name)
        let quiet = context.config.duration(ServiceKeys.ingestInboxQuiet.name)
        let io = FileInboxIO(inbox: context.config.string(ServiceKeys.ingestInbox.name), ingestor: ingestor, logger: context.logger,
                             published: context.metrics.counter(MetricCatalog.ingestBars),
                             rejected: context.metrics.counter(MetricCatalog.ingestRejectedRows),
                             failedFiles: context.metrics.counter(MetricCatalog.ingestFailedFiles))
        let inbox = InboxService(io: io, interval: context.config.duration(ServiceKeys.ingestPollInterval.name),
                                 quietNanos: quiet.nanoseconds)
        return backends.services + [inbox]
    }
}

/// Scans the inbox every `interval` until shutdown, then closes the producer.
struct InboxService: Service {
    let io: FileInboxIO
    let interval: Duration
    let quietNanos: Int64

    func run() async throws {
        try io.prepare()
        try await runUntilGracefulShutdown {
            var logic = InboxLogic(quietNanos: quietNanos)
            while !Task.isCancelled {
                await logic.scan(io: io)
                try await Task.sleep(for: interval)
            }
        }
        await io.ingestor.producer.close()
    }
}

/// The inbox's I/O: the folder (with `done/` and `failed/` in it), the `Ingestor`, logs and metrics.
struct FileInboxIO: InboxIO {
    let inbox: String
    let ingestor: Ingestor
    let logger: Logger
    let published: Metrics.Counter
    let rejected: Metrics.Counter
    let failedFiles: Metrics.Counter

    /// Creates the inbox and its `done/` and `failed/` folders.
    func prepare() throws {
        let fm = FileManager.default
        for sub in ["", "/done", "/failed"] { try fm.createDirectory(atPath: inbox + sub, withIntermediateDirectories: true) }
        logger.info("watching the inbox", metadata: ["ingest.inbox": .string(inbox)])
    }

    func list() throws -> [InboxWatcher.Entry] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: inbox).compactMap { name in
            let attributes = try fm.attributesOfItem(atPath: "\(inbox)/\(name)")
            guard attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = (attributes[.modificationDate] as? Date).map { Int64($0.timeIntervalSince1970 * 1e9) } ?? 0
            return InboxWatcher.Entry(name: name, size: size, modified: modified)
        }
    }

    func now() -> Int64 { wallClockNanos() }

    func read(_ name: String) throws -> BarFileContents { try IngestReader.readFile("\(inbox)/\(name)") }

    func ingest(_ input: IngestInput) async throws -> IngestReport { try await ingestor.run(input) }

    func move(_ name: String, to folder: InboxLogic.Folder, note: String?) throws {
        let fm = FileManager.default
        let target = "\(inbox)/\(folder.rawValue)/\(name)"
        if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
        try fm.moveItem(atPath: "\(inbox)/\(name)", toPath: target)
        if let note { try note.write(toFile: target + ".error", atomically: true, encoding: .utf8) }
    }

    func report(_ event: InboxLogic.Event) {
        switch event {
        case .unlisted(let error):
            logger.error("cannot list the inbox; retrying at the next scan", metadata: ["ingest.inbox": .string(inbox), "error": .string(error)])
        case .unusable(let file, let error):
            failedFiles.increment()
            logger.error("file cannot be ingested; moved to failed/", metadata: ["file": .string(file), "error": .string(error)])
        case .ingested(let files, let report):
            published.increment(by: Int64(report.bars))
            rejected.increment(by: Int64(report.rejected))
            logger.info("ingested", metadata: ["files": .string(files.joined(separator: ",")), "report": .string(report.description)])
        case .interrupted(let files, let error):
            logger.error("ingest interrupted; retrying at the next scan", metadata: [
                "files": .string(files.joined(separator: ",")), "error": .string(error)])
        case .unmoved(let file, let folder, let error):
            logger.error("cannot move the file out of the inbox", metadata: [
                "file": .string(file), "ingest.folder": .string(folder.rawValue), "error": .string(error)])
        }
    }
}
