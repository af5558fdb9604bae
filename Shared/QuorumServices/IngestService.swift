import Foundation
import Logging
import Metrics
import QuorumBus
import QuorumPipeline
import QuorumServiceKit
import QuorumStores
import ServiceLifecycle

/// `quorum-ingest`: watches an inbox folder; each OHLCV file dropped there (.csv or .csv.gz, symbol from the file
/// name) is validated row by row, archived in Postgres and published to `md.bars` in event-time order, bad rows to
/// `md.bars.dlq` with file and line. A finished file moves to `done/`; a file that cannot be read moves to
/// `failed/` with a `<name>.error` note. Files are taken in name order; several files found together are merged
/// into one event-time order across symbols.
public enum IngestWorker {
    public static func services(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let producer = try backends.bus!.makeProducer(clientID: context.config.kafkaClientID)
        var ingestor = Ingestor(producer: producer, namer: backends.namer,
                                archive: PostgresBarArchiveSink(archive: BarArchive(store: backends.postgres!, logger: context.logger)),
                                logger: context.logger)
        ingestor.speed = context.config.double(ServiceKeys.ingestSpeed.name)
        let inbox = InboxService(inbox: context.config.string(ServiceKeys.ingestInbox.name), ingestor: ingestor,
                                 interval: context.config.duration(ServiceKeys.ingestPollInterval.name), logger: context.logger,
                                 published: context.metrics.counter("quorum_ingest_bars_total"),
                                 rejected: context.metrics.counter("quorum_ingest_rejected_rows_total"))
        return backends.services + [inbox]
    }
}

struct InboxService: Service {
    let inbox: String
    let ingestor: Ingestor
    let interval: Duration
    let logger: Logger
    let published: Metrics.Counter
    let rejected: Metrics.Counter

    func run() async throws {
        let fm = FileManager.default
        for sub in ["", "/done", "/failed"] { try fm.createDirectory(atPath: inbox + sub, withIntermediateDirectories: true) }
        logger.info("watching the inbox", metadata: ["ingest.inbox": .string(inbox)])
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let names = (try? fm.contentsOfDirectory(atPath: inbox)) ?? []
                let files = names.filter { $0.hasSuffix(".csv") || $0.hasSuffix(".csv.gz") }.sorted()
                if !files.isEmpty { await ingest(files) }
                try await Task.sleep(for: interval)
            }
        }
        await ingestor.producer.close()
    }

    private func ingest(_ names: [String]) async {
        let fm = FileManager.default
        let paths = names.map { "\(inbox)/\($0)" }
        do {
            let input = try IngestReader.read(paths.map { IngestFile(path: $0, symbol: IngestFile.symbol(fromFileName: $0)) })
            let report = try await ingestor.run(input)
            published.increment(by: Int64(report.bars))
            rejected.increment(by: Int64(report.rejected))
            logger.info("ingested", metadata: ["files": .string(names.joined(separator: ",")), "report": .string(report.description)])
            for name in names {
                try? fm.removeItem(atPath: "\(inbox)/done/\(name)")
                try fm.moveItem(atPath: "\(inbox)/\(name)", toPath: "\(inbox)/done/\(name)")
            }
        } catch let error as IngestError {
            logger.error("ingest failed; files moved to failed/", metadata: ["files": .string(names.joined(separator: ",")),
                                                                             "error": .string("\(error)")])
            for name in names {
                try? fm.removeItem(atPath: "\(inbox)/failed/\(name)")
                try? fm.moveItem(atPath: "\(inbox)/\(name)", toPath: "\(inbox)/failed/\(name)")
                try? "\(error)\n".write(toFile: "\(inbox)/failed/\(name).error", atomically: true, encoding: .utf8)
            }
        } catch {
            // A server is down: leave the files; the next scan ingests them again (archive and ids are idempotent).
            logger.error("ingest interrupted; retrying at the next scan", metadata: [
                "files": .string(names.joined(separator: ",")), "error": .string("\(error)")])
        }
    }
}
