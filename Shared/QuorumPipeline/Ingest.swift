#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import Logging
import QuorumBus
import QuorumMarketData
import QuorumModel
import QuorumProto

/// A bar as the archive stores it: the bar, its id and where it came from.
public struct ArchivedBarRecord: Sendable, Hashable {
    public var bar: Bar
    public var id: String
    public var file: String
    public var line: Int

    public init(bar: Bar, id: String, file: String, line: Int) {
        self.bar = bar
        self.id = id
        self.file = file
        self.line = line
    }
}

/// The bar archive (Postgres in the cluster). `archive` must be idempotent (insert if absent).
public protocol BarArchiveSink: Sendable {
    func archive(_ bars: [ArchivedBarRecord]) async throws
}

/// One input file and the symbol its rows belong to.
public struct IngestFile: Sendable, Hashable {
    public var path: String
    public var symbol: Symbol

    public init(path: String, symbol: Symbol) {
        self.path = path
        self.symbol = symbol
    }

    /// `btc_usd_30m.csv(.gz)` → `BTC-USD`; otherwise the name up to the first '.' or '_' in capitals.
    public static func symbol(fromFileName path: String) -> Symbol {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let stem = name.split(separator: ".").first.map(String.init) ?? name
        let parts = stem.split(separator: "_").map { $0.uppercased() }
        if parts.count >= 2, parts[0].allSatisfy(\.isLetter), parts[1].allSatisfy(\.isLetter) {
            return Symbol("\(parts[0])-\(parts[1])")
        }
        return Symbol(parts.first ?? stem.uppercased())
    }
}

/// What reading the files gave.
public struct IngestInput: Sendable {
    /// Valid bars of every file, merged into event-time order (close time, then symbol).
    public var bars: [ArchivedBarRecord]
    public var rejections: [RowRejection]
    public var summaries: [String: BarReadSummary]

    public init(bars: [ArchivedBarRecord], rejections: [RowRejection], summaries: [String: BarReadSummary]) {
        self.bars = bars
        self.rejections = rejections
        self.summaries = summaries
    }
}

/// Errors a user can act on: which file, what is wrong, what to do.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum IngestReader {
    /// Reads every file (plain or gzip-compressed), validates every row, merges the bars of all files into
    /// event-time order. Rows outside `[from, to)` (by bar open time) are skipped, not rejected.
    public static func read(_ files: [IngestFile], from: Nanos? = nil, to: Nanos? = nil,
                            options: BarReaderOptions = BarReaderOptions()) throws -> IngestInput {
        var bars: [ArchivedBarRecord] = []
        var rejections: [RowRejection] = []
        var summaries: [String: BarReadSummary] = [:]
        for file in files {
            var reader = BarReader(symbol: file.symbol, fileName: file.path, options: options)
            var summary = BarReadSummary()
            var outcomes: [BarReadOutcome] = []
            do {
                try forEachChunk(of: file.path) { chunk in outcomes += try reader.feed(bytes: chunk) }
                outcomes += try reader.finish()
            } catch let error as BarFileError {
                throw IngestError("\(file.path): \(error)")
            }
            for outcome in outcomes {
                summary.record(outcome)
                switch outcome {
                case .bar(let bar, let line):
                    if let from, bar.openTime < from { continue }
                    if let to, bar.openTime >= to { continue }
                    bars.append(ArchivedBarRecord(bar: bar, id: bar.wireID, file: file.path, line: line))
                case .rejected(let r):
                    rejections.append(r)
                case .gap:
                    break
                }
            }
            summaries[file.path] = summary
        }
        bars.sort { ($0.bar.closeTime, $0.bar.symbol) < ($1.bar.closeTime, $1.bar.symbol) }
        return IngestInput(bars: bars, rejections: rejections, summaries: summaries)
    }

    /// Calls `body` with successive chunks of the file's bytes, gunzipping `.gz` files.
    static func forEachChunk(of path: String, _ body: ([UInt8]) throws -> Void) throws {
        guard let gz = gzopen(path, "rb") else {
            throw IngestError("cannot open \(path): \(String(cString: strerror(errno))); check the path and permissions")
        }
        defer { gzclose(gz) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(gz, &code).map { String(cString: $0) } ?? "unknown error"
                throw IngestError("cannot read \(path): \(message) (a damaged .gz file?)")
            }
            if n == 0 { break }
            try body(Array(buffer[0..<Int(n)]))
        }
    }
}

/// Totals of one ingest run.
public struct IngestReport: Sendable, CustomStringConvertible {
    public var bars = 0
    public var rejected = 0
    public var rejectedByCode: [String: Int] = [:]
    public var gaps = 0
    public var elapsedSeconds = 0.0

    public var description: String {
        let codes = rejectedByCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return "\(bars) bars published and archived, \(rejected) rows rejected to the DLQ\(codes.isEmpty ? "" : " (\(codes))"), "
            + "\(gaps) gaps, \(String(format: "%.1f", elapsedSeconds)) s"
    }
}

/// Publishes bars to `md.bars` (keyed by symbol, event-time order) after archiving them, and rejected rows
/// to `md.bars.dlq` with file, line and reason headers. Used by `quorum-ingest` and `quorum ingest`.
public struct Ingestor: Sendable {
    public let producer: any MessageProducer
    public let namer: TopicNamer
    public let archive: (any BarArchiveSink)?
    public let logger: Logger
    /// 0 = as fast as possible; N = N× real time (bars are spaced by their event-time distance / N).
    public var speed: Double = 0
    public var batchSize = 2_000

    public init(producer: any MessageProducer, namer: TopicNamer, archive: (any BarArchiveSink)?, logger: Logger) {
        self.producer = producer
        self.namer = namer
        self.archive = archive
        self.logger = logger
    }

    public func run(_ input: IngestInput, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> IngestReport {
        let started = ContinuousClock.now
        var report = IngestReport()
        let stamp = EnvelopeStamp(producer: "quorum-ingest")
        let barsTopic = namer.name(Topic.bars)
        let dlqTopic = namer.deadLetterName(Topic.bars)

        // Bad rows first: they are facts about the files, in file order.
        var deadLetters: [OutgoingMessage] = []
        for r in input.rejections {
            deadLetters.append(OutgoingMessage(topic: dlqTopic, key: r.file, value: Array(r.rawLine.utf8), headers: [
                MessageHeader(DeadLetterHeader.reason, DeadLetterReason.invalid.rawValue),
                MessageHeader(DeadLetterHeader.detail, "\(r.code.rawValue): \(r.detail)"),
                MessageHeader(DeadLetterHeader.sourceFile, r.file),
                MessageHeader(DeadLetterHeader.sourceLine, String(r.line)),
            ]))
            report.rejectedByCode[r.code.rawValue, default: 0] += 1
        }
        if !deadLetters.isEmpty { _ = try await producer.send(deadLetters) }
        report.rejected = input.rejections.count
        report.gaps = input.summaries.values.reduce(0) { $0 + $1.gaps }

        var index = 0
        var lastLog = ContinuousClock.now
        var previousClose: Nanos?
        while index < input.bars.count {
            let end: Int
            if speed > 0 {
                // Paced: one bar at a time, each after its event-time distance from the previous one / speed.
                end = index + 1
                if let previousClose {
                    let gapNs = Double(input.bars[index].bar.closeTime - previousClose) / speed
                    if gapNs > 0 { try await Task.sleep(for: .nanoseconds(Int64(gapNs))) }
                }
                previousClose = input.bars[index].bar.closeTime
            } else {
                end = min(index + batchSize, input.bars.count)
            }
            let batch = Array(input.bars[index..<end])
            try await archive?.archive(batch)
            let messages = try batch.map { r in
                let w = r.bar.wire(stamp: stamp, file: r.file, line: UInt64(r.line))
                return try OutgoingMessage(topic: barsTopic, key: w.symbol, message: w, eventTimeNs: r.bar.closeTime)
            }
            _ = try await producer.send(messages)
            index = end
            report.bars = index
            progress?(index, input.bars.count)
            if ContinuousClock.now - lastLog >= .seconds(5) {
                lastLog = .now
                logger.info("ingesting", metadata: ["bars": .stringConvertible(index), "of": .stringConvertible(input.bars.count)])
            }
        }
        try await producer.flush(timeout: .seconds(30))
        let elapsed = ContinuousClock.now - started
        report.elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return report
    }
}
