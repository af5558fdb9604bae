import Foundation
import Logging
import QuorumBus
import QuorumMarketData
import QuorumModel
import QuorumPipeline
import Testing

/// A clock that moves only when told to (or when someone sleeps until a later instant): paced ingest runs on it
/// without waiting in real time.
final class ManualClock: Clock, @unchecked Sendable {   // `current` is only touched under `lock`
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private let lock = NSLock()
    private var current = Instant(offset: .zero)

    var now: Instant { lock.withLock { current } }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        lock.withLock { if current < deadline { current = deadline } }
    }

    func advance(by duration: Duration) { lock.withLock { current = current.advanced(by: duration) } }
}

/// Records what is sent and when (on the manual clock); each send takes `work` of clock time.
final class RecordingProducer: MessageProducer, @unchecked Sendable {   // `sends` is only touched under `lock`
    let clock: ManualClock
    let work: Duration
    private let lock = NSLock()
    private var sends: [(at: Duration, messages: [OutgoingMessage])] = []

    init(clock: ManualClock = ManualClock(), work: Duration = .zero) {
        self.clock = clock
        self.work = work
    }

    var recorded: [(at: Duration, messages: [OutgoingMessage])] { lock.withLock { sends } }

    func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        lock.withLock { sends.append((clock.now.offset, messages)) }
        clock.advance(by: work)
        return messages.enumerated().map { DeliveryReport(topic: $0.element.topic, partition: 0, offset: Int64($0.offset)) }
    }

    func flush(timeout: Duration) async throws {}
    func close() async {}
}

@Suite("Ingest: files, dead letters, pacing, inbox")
struct IngestTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "quorum-ingest-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func csv(rows: Int, start: Int64 = 1_704_067_200) -> String {
        "timestamp,open,high,low,close,volume\n"
            + (0..<rows).map { "\(start + Int64($0) * 1800),100,101,99,100.5,96.49204544\n" }.joined()
    }

    static func gzip(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", "-n", path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("the vendored market data (data/market, gzip): every row a bar or a rejection, 30-minute bars",
          arguments: [("btc_usd_30m.csv.gz", "BTC-USD"), ("eth_usd_30m.csv.gz", "ETH-USD"), ("ltc_usd_30m.csv.gz", "LTC-USD")])
    func vendoredData(name: String, symbol: String) throws {
        let contents = try IngestReader.readFile(Self.repository.appendingPathComponent("data/market/\(name)").path)
        let series = try #require(contents.series.first)
        #expect(contents.series.count == 1)
        #expect(series.symbol == Symbol(symbol) && series.intervalSeconds == 1800)
        #expect(series.rows.count + contents.rejections.count == contents.dataRows)
        #expect(series.rows.count > 30_000)
        #expect(series.reordered == 0)
        #expect(series.rows.map(\.bar.openTime) == series.rows.map(\.bar.openTime).sorted())
    }

    @Test("a truncated .csv.gz is refused whole (no partial last row), as is one with a bad CRC")
    func truncatedGzip() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/aaa_usd_30m.csv"
        try Self.csv(rows: 2_000).write(toFile: path, atomically: true, encoding: .utf8)
        try Self.gzip(path)
        let whole = try #require(FileManager.default.contents(atPath: path + ".gz"))
        #expect(try IngestReader.readFile(path + ".gz").bars == 2_000)
        for (name, bytes) in [("cut", whole.prefix(whole.count / 2)), ("no trailer", whole.dropLast(8)),
                              ("bad crc", whole.prefix(whole.count - 8) + Data([0, 0, 0, 0]) + whole.suffix(4))] {
            let damaged = "\(folder)/\(name.replacingOccurrences(of: " ", with: "_"))_aaa_usd_30m.csv.gz"
            #expect(FileManager.default.createFile(atPath: damaged, contents: Data(bytes)))
            #expect(throws: IngestError.self, "\(name)") { _ = try IngestReader.readFile(damaged) }
            do { _ = try IngestReader.readFile(damaged) } catch { #expect(error.code == .unreadable) }
        }
    }

    @Test("an empty file, a 0-byte .gz, a gzip of nothing and a header alone are errors (no data rows)")
    func emptyFiles() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(FileManager.default.createFile(atPath: "\(folder)/empty.csv", contents: Data()))
        #expect(FileManager.default.createFile(atPath: "\(folder)/zero.csv.gz", contents: Data()))
        #expect(FileManager.default.createFile(atPath: "\(folder)/nothing.csv", contents: Data()))
        try Self.gzip("\(folder)/nothing.csv")
        try "timestamp,open,high,low,close,volume\n".write(toFile: "\(folder)/header.csv", atomically: true, encoding: .utf8)
        for name in ["empty.csv", "zero.csv.gz", "nothing.csv.gz", "header.csv"] {
            do {
                _ = try IngestReader.readFile("\(folder)/\(name)")
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.code == .empty, "\(name)")
                #expect(error.description.contains(name))
            }
        }
    }

    @Test("an 8 MB line among 300 good rows: the row is rejected with a bounded dead letter, all 300 bars published")
    func hugeLine() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var text = Self.csv(rows: 300)
        let huge = "1704067260," + String(repeating: "7", count: 8 << 20) + "\n"
        let insertAt = text.index(text.startIndex, offsetBy: text.utf8.count / 2)
        let lineStart = text[..<insertAt].lastIndex(of: "\n").map { text.index(after: $0) } ?? insertAt
        text.insert(contentsOf: huge, at: lineStart)
        try text.write(toFile: "\(folder)/aaa_usd_30m.csv", atomically: true, encoding: .utf8)
        let input = try IngestReader.read(["\(folder)/aaa_usd_30m.csv"])
        let producer = RecordingProducer()
        let report = try await Ingestor(producer: producer, namer: try TopicNamer(prefix: ""), archive: nil,
                                        logger: Logger(label: "test")).run(input, clock: producer.clock)
        #expect(report.bars == 300 && report.rejected == 1)
        let messages = producer.recorded.flatMap(\.messages)
        #expect(messages.allSatisfy { $0.value.count <= 1_048_576 }, "every record fits the broker's default 1 MB limit")
        let dead = try #require(messages.first { $0.topic.hasSuffix(".dlq") })
        #expect(dead.value.count <= RowRejection.rawLimit)
        let headers = Dictionary(dead.headers.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
        #expect(headers[DeadLetterHeader.rawLength] == String(huge.utf8.count - 1))
        #expect(headers[DeadLetterHeader.rawDigest] == FNV1a64.hex(of: Array(huge.utf8.dropLast())))
        #expect(headers[DeadLetterHeader.detail]?.hasPrefix("lineTooLong") == true)
    }

    @Test("--speed paces against the clock: each bar is due at start + event-time distance / speed, whatever the work took")
    func pacing() async throws {
        let bars = Fixtures.bars(symbol: "AAA-USD", count: 10, seed: 1)
        // 30 minutes between bars at 36,000× is 50 ms; publishing each takes 30 ms of (manual) clock time.
        let producer = RecordingProducer(work: .milliseconds(30))
        var ingestor = Ingestor(producer: producer, namer: try TopicNamer(prefix: ""), archive: nil, logger: Logger(label: "test"))
        ingestor.speed = 36_000
        let report = try await ingestor.run(Fixtures.input([bars]), clock: producer.clock)
        #expect(producer.recorded.map(\.at) == (0..<10).map { Duration.milliseconds(50 * $0) })
        #expect(report.maxLagSeconds == 0)
        // Faster than the work allows: the bars go out back to back and the lag is reported.
        let slow = RecordingProducer(work: .milliseconds(30))
        var fast = Ingestor(producer: slow, namer: try TopicNamer(prefix: ""), archive: nil, logger: Logger(label: "test"))
        fast.speed = 1_800_000   // 1 ms apart
        let behind = try await fast.run(Fixtures.input([bars]), clock: slow.clock)
        #expect(slow.recorded.map(\.at) == (0..<10).map { Duration.milliseconds(30 * $0) })
        #expect(abs(behind.maxLagSeconds - 0.261) < 1e-9)
        #expect(behind.description.contains("could not hold the requested speed") == false)   // under a second behind
    }

    @Test("bars of several symbols closing together are due together (one send)")
    func pacingSeveralSymbols() async throws {
        let producer = RecordingProducer(work: .milliseconds(1))
        var ingestor = Ingestor(producer: producer, namer: try TopicNamer(prefix: ""), archive: nil, logger: Logger(label: "test"))
        ingestor.speed = 1_800
        let input = Fixtures.input([Fixtures.bars(symbol: "AAA-USD", count: 3, seed: 1), Fixtures.bars(symbol: "BBB-USD", count: 3, seed: 2)])
        _ = try await ingestor.run(input, clock: producer.clock)
        #expect(producer.recorded.map(\.messages.count) == [2, 2, 2])
        #expect(producer.recorded.map(\.at) == [.zero, .seconds(1), .seconds(2)])
    }
}

@Suite("InboxWatcher")
struct InboxWatcherTests {
    static let second: Int64 = 1_000_000_000
    typealias Entry = InboxWatcher.Entry

    @Test("a file still being written (size or time changing, or too fresh) is left; a quiet one is taken")
    func quietPeriod() {
        var watcher = InboxWatcher(quietNanos: 5 * Self.second)
        let t = 1_000 * Self.second
        // A plain copy in two writes 4 s apart.
        #expect(watcher.scan([Entry(name: "a.csv", size: 100, modified: t)], now: t + 1 * Self.second).isEmpty)
        #expect(watcher.scan([Entry(name: "a.csv", size: 100, modified: t)], now: t + 2 * Self.second).isEmpty)   // too fresh
        #expect(watcher.scan([Entry(name: "a.csv", size: 250, modified: t + 4 * Self.second)], now: t + 4 * Self.second).isEmpty)
        #expect(watcher.scan([Entry(name: "a.csv", size: 250, modified: t + 4 * Self.second)], now: t + 8 * Self.second).isEmpty)
        #expect(watcher.scan([Entry(name: "a.csv", size: 250, modified: t + 4 * Self.second)], now: t + 9 * Self.second) == ["a.csv"])
        // A file renamed in (its time is old) is taken at the second scan that sees it unchanged.
        #expect(watcher.scan([Entry(name: "b.csv.gz", size: 7, modified: 0)], now: t + 10 * Self.second).isEmpty)
        #expect(watcher.scan([Entry(name: "b.csv.gz", size: 7, modified: 0)], now: t + 11 * Self.second) == ["b.csv.gz"])
    }

    @Test("temporary and hidden names are never taken; data files in every accepted form are",
          arguments: [("x.csv.part", false), ("x.csv.tmp", false), (".x.csv", false), ("x.csv.crdownload", false),
                      ("x.partial", false), ("notes.md", false), ("x.csv", true), ("X.CSV.GZ", true), ("x.tsv", true),
                      ("x.txt.gz", true)])
    func names(name: String, taken: Bool) {
        #expect(InboxWatcher.isDataFile(name) == taken)
    }
}
