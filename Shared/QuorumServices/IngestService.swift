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
/// `md.bars` in event-time order, bad rows to `md.bars.dlq` with file and line. Each file succeeds or fails on its
/// own: a finished file moves to `done/`; a file that cannot be used (unreadable, truncated, empty, unknown layout)
/// moves to `failed/` with a `<name>.error` note. The files found together are merged into one event-time order.
public enum IngestWorker {
    public static func services(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let producer = try backends.bus!.makeProducer(clientID: context.config.kafkaClientID)
        var ingestor = Ingestor(producer: producer, namer: backends.namer,
                                archive: PostgresBarArchiveSink(archive: BarArchive(store: backends.postgres!, logger: context.logger)),
                                logger: context.logger)
        ingestor.speed = context.config.double(ServiceKeys.ingestSpeed.name)
        let quiet = context.config.duration(ServiceKeys.ingestInboxQuiet.name)
        let inbox = InboxService(inbox: context.config.string(ServiceKeys.ingestInbox.name), ingestor: ingestor,
                                 interval: context.config.duration(ServiceKeys.ingestPollInterval.name),
                                 quietNanos: quiet.components.seconds * 1_000_000_000 + quiet.components.attoseconds / 1_000_000_000,
                                 logger: context.logger,
                                 published: context.metrics.counter("quorum_ingest_bars_total"),
                                 rejected: context.metrics.counter("quorum_ingest_rejected_rows_total"),
                                 failedFiles: context.metrics.counter("quorum_ingest_failed_files_total"))
        return backends.services + [inbox]
    }
}

struct InboxService: Service {
    let inbox: String
    let ingestor: Ingestor
    let interval: Duration
    let quietNanos: Int64
    let logger: Logger
    let published: Metrics.Counter
    let rejected: Metrics.Counter
    let failedFiles: Metrics.Counter

    func run() async throws {
        let fm = FileManager.default
        for sub in ["", "/done", "/failed"] { try fm.createDirectory(atPath: inbox + sub, withIntermediateDirectories: true) }
        logger.info("watching the inbox", metadata: ["ingest.inbox": .string(inbox)])
        try await cancelWhenGracefulShutdown {
            var watcher = InboxWatcher(quietNanos: quietNanos)
            while !Task.isCancelled {
                do {
                    let ready = watcher.scan(try listing(), now: wallClockNanos())
                    if !ready.isEmpty { await ingest(ready) }
                } catch {
                    logger.error("cannot list the inbox; retrying at the next scan", metadata: [
                        "ingest.inbox": .string(inbox), "error": .string("\(error)")])
                }
                try await Task.sleep(for: interval)
            }
        }
        await ingestor.producer.close()
    }

    /// The regular files directly in the inbox, with size and modification time.
    private func listing() throws -> [InboxWatcher.Entry] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: inbox).compactMap { name in
            let attributes = try fm.attributesOfItem(atPath: "\(inbox)/\(name)")
            guard attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = (attributes[.modificationDate] as? Date).map { Int64($0.timeIntervalSince1970 * 1e9) } ?? 0
            return InboxWatcher.Entry(name: name, size: size, modified: modified)
        }
    }

    private func ingest(_ names: [String]) async {
        var good: [(name: String, contents: BarFileContents)] = []
        for name in names {
            do {
                good.append((name, try IngestReader.readFile("\(inbox)/\(name)")))
            } catch {
                failedFiles.increment()
                logger.error("file cannot be ingested; moved to failed/", metadata: ["file": .string(name), "error": .string("\(error)")])
                move(name, to: "failed", note: "\(error)\n")
            }
        }
        guard !good.isEmpty else { return }
        let files = good.map(\.name).joined(separator: ",")
        do {
            let report = try await ingestor.run(IngestReader.merge(good.map(\.contents)))
            published.increment(by: Int64(report.bars))
            rejected.increment(by: Int64(report.rejected))
            logger.info("ingested", metadata: ["files": .string(files), "report": .string(report.description)])
            for (name, _) in good { move(name, to: "done", note: nil) }
        } catch {
            // A server is down: leave the files; the next scan ingests them again (archive and ids are idempotent).
            logger.error("ingest interrupted; retrying at the next scan", metadata: ["files": .string(files), "error": .string("\(error)")])
        }
    }

    /// Moves a file to done/ or failed/ (replacing an older file of that name there), with an optional note beside it.
    /// A file that cannot be moved stays in the inbox and is taken again at the next scan (ingesting is idempotent).
    private func move(_ name: String, to folder: String, note: String?) {
        let fm = FileManager.default
        let target = "\(inbox)/\(folder)/\(name)"
        do {
            if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
            try fm.moveItem(atPath: "\(inbox)/\(name)", toPath: target)
            if let note { try note.write(toFile: target + ".error", atomically: true, encoding: .utf8) }
        } catch {
            logger.error("cannot move the file out of the inbox", metadata: [
                "file": .string(name), "ingest.folder": .string(folder), "error": .string("\(error)")])
        }
    }
}
