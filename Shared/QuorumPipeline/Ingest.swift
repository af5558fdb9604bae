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

/// The bars of records, read in place: `records[i].bar` without copying the rest of the record (its id and file, whose
/// reference counting costs more than reading the bar). What `records.lazy.map(\.bar)` gives, at a fraction of the cost.
public struct BarsOfRecords: RandomAccessCollection, Sendable {
    public let records: [ArchivedBarRecord]

    // Inlinable, so that a generic reader (`EquityCurve`) specialised for this type reads the bar's fields in place.
    @inlinable public init(_ records: [ArchivedBarRecord]) { self.records = records }

    @inlinable public var startIndex: Int { records.startIndex }
    @inlinable public var endIndex: Int { records.endIndex }
    @inlinable public subscript(position: Int) -> Bar { records[position].bar }
}

/// The bar archive (Postgres in the cluster). `archive` must be idempotent (insert if absent).
public protocol BarArchiveSink: Sendable {
    func archive(_ bars: [ArchivedBarRecord]) async throws
}

/// What reading the files gave: the bars of every file that could be read, merged into event-time order.
public struct IngestInput: Sendable {
    /// Valid bars of every file, merged into event-time order (close time, then symbol).
    public var bars: [ArchivedBarRecord]
    /// Rejected rows of every file (file order, then line order).
    public var rejections: [RowRejection]
    /// What each file held, in the order the files were given.
    public var files: [BarFileContents]

    public init(bars: [ArchivedBarRecord], rejections: [RowRejection], files: [BarFileContents] = []) {
        self.bars = bars
        self.rejections = rejections
        self.files = files
    }
}

/// A file that cannot be ingested at all: which file, what is wrong, what to do.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Cannot be opened or read (missing, permissions, damaged or truncated gzip stream).
        case unreadable
        /// No data rows: an empty file, a 0-byte .gz, a header alone.
        case empty
        /// Its layout, times or interval cannot be made out (`BarFileError`).
        case layout
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

public enum IngestReader {
    /// Reads and validates one file (plain or gzip-compressed; see `BarFileReader`). Throws when the file as a whole
    /// cannot be used: unreadable, a gzip stream that ends early or fails its CRC/length check, no data rows, or a
    /// layout that cannot be made out. `progress`, when given, receives the bytes of the file (as stored: compressed
    /// for a `.gz`) read so far, after each chunk of 64 KiB of data.
    public static func readFile(_ path: String, options: BarReaderOptions = BarReaderOptions(),
                                progress: ((Int) -> Void)? = nil) throws(IngestError) -> BarFileContents {
        var reader = BarFileReader(fileName: path, options: options)
        let contents: BarFileContents
        do {
            try forEachChunk(of: path) { chunk, offset throws(BarFileError) in
                try reader.feed(bytes: chunk)
                progress?(offset)
            }
            contents = try reader.finish()
        } catch let error as BarFileError {
            throw IngestError(.layout, error.description)
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.unreadable, "\(path): \(error)")
        }
        guard contents.dataRows > 0 else {
            let what = contents.layout?.hasHeader == true ? "a header but no data rows" : "no data rows (the file is empty)"
            throw IngestError(.empty, "\(path): \(what); nothing to ingest")
        }
        return contents
    }

    /// Merges the bars of the files into event-time order; bars opening outside `[from, to)` are left out.
    public static func merge(_ files: [BarFileContents], from: Nanos? = nil, to: Nanos? = nil) -> IngestInput {
        var bars: [ArchivedBarRecord] = []
        for file in files {
            for series in file.series {
                for row in series.rows {
                    if let from, row.bar.openTime < from { continue }
                    if let to, row.bar.openTime >= to { continue }
                    bars.append(ArchivedBarRecord(bar: row.bar, id: row.bar.wireID, file: file.file, line: row.line))
                }
            }
        }
        bars.sort { ($0.bar.closeTime, $0.bar.symbol) < ($1.bar.closeTime, $1.bar.symbol) }
        return IngestInput(bars: bars, rejections: files.flatMap(\.rejections), files: files)
    }

    /// Reads every file and merges them; the first file that cannot be used stops it (the CLI and the inbox read
    /// file by file with `readFile` to treat each on its own).
    public static func read(_ paths: [String], from: Nanos? = nil, to: Nanos? = nil,
                            options: BarReaderOptions = BarReaderOptions()) throws(IngestError) -> IngestInput {
        var files: [BarFileContents] = []
        for path in paths { files.append(try readFile(path, options: options)) }
        return merge(files, from: from, to: to)
    }

    /// Calls `body` with successive chunks of the file's bytes, gunzipping `.gz` files. A gzip stream must be
    /// complete: a stream that ends before its trailer, or whose CRC or length do not match, is an error. `body` also
    /// receives how many bytes of the file (compressed ones for a `.gz`) have been read.
    public static func forEachChunk(of path: String, _ body: ([UInt8], Int) throws(BarFileError) -> Void) throws {
        guard let gz = gzopen(path, "rb") else {
            throw IngestError(.unreadable, "cannot open \(path): \(String(cString: strerror(errno))); check the path and permissions")
        }
        defer { gzclose(gz) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            var code: Int32 = 0
            if n < 0 {
                let message = gzerror(gz, &code).map { String(cString: $0) } ?? "unknown error"
                throw IngestError(.unreadable, "cannot read \(path): \(message) after \(total) bytes (a damaged .gz file?); "
                                  + "download it again")
            }
            if n == 0 {
                // zlib reports a stream cut before its trailer as Z_BUF_ERROR once the input is used up.
                _ = gzerror(gz, &code)
                if code == Z_BUF_ERROR {
                    throw IngestError(.unreadable, "\(path): the gzip stream ends early (truncated after \(total) bytes of "
                                      + "data; an interrupted download or copy?); nothing of it was ingested")
                }
                break
            }
            total += Int(n)
            try body(Array(buffer[0..<Int(n)]), Int(gzoffset(gz)))
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
    /// Paced runs: how far the slowest bar was published behind its deadline (0 when the rate held).
    public var maxLagSeconds = 0.0

    public init() {}

    public var description: String {
        let codes = rejectedByCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return "\(bars) bars published and archived, \(rejected) rows rejected to the DLQ\(codes.isEmpty ? "" : " (\(codes))"), "
            + "\(gaps) gaps, \(String(format: "%.1f", elapsedSeconds)) s"
            + (maxLagSeconds >= 1 ? "; could not hold the requested speed (up to \(String(format: "%.1f", maxLagSeconds)) s behind)" : "")
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
        try await run(input, clock: ContinuousClock(), progress: progress)
    }

    /// `run` on a given clock: paced runs sleep on it (tests pass a manual clock).
    public func run<C: Clock>(_ input: IngestInput, clock: C,
                              progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> IngestReport where C.Duration == Duration {
        let started = clock.now
        var report = IngestReport()
        let stamp = EnvelopeStamp(producer: "quorum-ingest")
        let barsTopic = namer.name(Topic.bars)

        // Bad rows first: they are facts about the files, in file order.
        let deadLetters = input.rejections.map { deadLetter(for: $0) }
        for r in input.rejections { report.rejectedByCode[r.code.rawValue, default: 0] += 1 }
        if !deadLetters.isEmpty { _ = try await producer.send(deadLetters) }
        report.rejected = input.rejections.count
        report.gaps = input.files.reduce(0) { $0 + $1.series.reduce(0) { $0 + $1.gaps.count } }

        var index = 0
        var lastLog = clock.now
        var lastLagWarning: C.Instant?
        let firstClose = input.bars.first?.bar.closeTime ?? 0
        while index < input.bars.count {
            var end: Int
            if speed > 0 {
                // Paced against the clock: the bars closing at one event time are due at start + (their close − the
                // first close) / speed, however long archiving and publishing the earlier ones took.
                let close = input.bars[index].bar.closeTime
                end = index + 1
                while end < input.bars.count, input.bars[end].bar.closeTime == close { end += 1 }
                let due = started.advanced(by: .nanoseconds(Int64((Double(close - firstClose) / speed).rounded())))
                let now = clock.now
                if now < due {
                    try await clock.sleep(until: due, tolerance: nil)
                } else {
                    let lag = due.duration(to: now)
                    report.maxLagSeconds = max(report.maxLagSeconds, lag.seconds)
                    if lag >= .seconds(1), lastLagWarning.map({ $0.duration(to: now) >= .seconds(10) }) ?? true {
                        lastLagWarning = now
                        logger.warning("cannot hold the requested speed: publishing behind schedule", metadata: [
                            "ingest.speed": .stringConvertible(speed), "ingest.behind_s": .string(String(format: "%.1f", lag.seconds))])
                    }
                }
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
            if lastLog.duration(to: clock.now) >= .seconds(5) {
                lastLog = clock.now
                logger.info("ingesting", metadata: ["bars": .stringConvertible(index), "of": .stringConvertible(input.bars.count)])
            }
        }
        try await producer.flush(timeout: .seconds(30))
        report.elapsedSeconds = started.duration(to: clock.now).seconds
        return report
    }

    /// The dead-letter record of a rejected row: at most `RowRejection.rawLimit` bytes of the row, with its full
    /// length and digest in headers when it was cut, and file, line and reason.
    func deadLetter(for r: RowRejection) -> OutgoingMessage {
        var headers = [
            MessageHeader(DeadLetterHeader.reason, DeadLetterReason.invalid.rawValue),
            MessageHeader(DeadLetterHeader.detail, "\(r.code.rawValue): \(r.detail)"),
            MessageHeader(DeadLetterHeader.sourceFile, r.file),
            MessageHeader(DeadLetterHeader.sourceLine, String(r.line)),
        ]
        if let digest = r.rawDigest {
            headers.append(MessageHeader(DeadLetterHeader.rawLength, String(r.rawByteCount)))
            headers.append(MessageHeader(DeadLetterHeader.rawDigest, digest))
        }
        return OutgoingMessage(topic: namer.deadLetterName(Topic.bars), key: r.file, value: Array(r.rawLine.utf8), headers: headers)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
