import ArgumentParser
import Foundation
import Logging
import QuorumBus
import QuorumMarketData
import QuorumModel
import QuorumPipeline
import QuorumServices
import QuorumStores

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate OHLCV files and ingest them: archive the bars in Postgres and publish them to md.bars in event-time order; bad rows go to md.bars.dlq.",
        discussion: """
            Reads .csv/.tsv/.txt files, plain or .gz: a header naming the columns (any order and case, prefixed names such \
            as BTC.open, a symbol/exchange column for many markets in one file), CryptoDataDownload exports (banner line, \
            newest first), Binance and Bybit kline files, Dukascopy exports, pandas exports. Symbol and interval come from \
            the rows or the file name (BTCUSDT-30m-2019-01.csv → BTCUSDT, 30m; btc_usd_30m.csv → BTC-USD). Rows are \
            sorted by time within each market. With --check nothing is published (no broker or database needed).
            """)
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @Argument(help: "Files (.csv, .tsv, .txt, optionally .gz).") var files: [String]
    @Flag(help: "Only read and validate: one line per market (file, symbol, interval, bars, rejected rows by reason); no cluster needed.")
    var check = false
    @Flag(help: "With --check: print a JSON array of {file, symbol, interval_seconds, bars, rejected} instead.") var json = false
    @Flag(help: "List every rejected row (file:line: reason: detail).") var rejected = false
    @OptionGroup var layout: BarFileOptions
    @Flag(name: .customLong("strict-order"), help: "Reject rows older than the row before (default: sort each market's rows by time).")
    var strictOrder = false
    @Option(help: "Only bars opening at or after this time (2019-01-01 or ISO-8601).") var from: String?
    @Option(help: "Only bars opening before this time.") var to: String?
    @Option(help: "0 = as fast as possible; N = N× real time (paced by event time).") var speed: Double = 0

    func validate() throws {
        if json, !check { throw ValidationError("--json goes with --check") }
        if speed < 0 { throw ValidationError("--speed must be 0 (as fast as possible) or positive, not \(speed)") }
    }

    func run() async throws {
        var options = try layout.readerOptions()
        options.strictOrder = strictOrder
        let fromNs = try from.map { try parseTime($0, option: "--from") }
        let toNs = try to.map { try parseTime($0, option: "--to") }
        var contents: [BarFileContents] = []
        var failures: [IngestError] = []
        for path in files {
            do {
                contents.append(try IngestReader.readFile(path, options: options))
            } catch {
                failures.append(error)
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
        let checks = contents.flatMap(IngestCheck.lines(of:))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(checks), as: UTF8.self))
        } else {
            for line in checks { print(line) }
        }
        if rejected {
            for file in contents { for r in file.rejections { print(r) } }
        }
        if !check, !contents.isEmpty {
            print(try await publish(IngestReader.merge(contents, from: fromNs, to: toNs)))
        }
        if !failures.isEmpty {
            FileHandle.standardError.write(Data("\(failures.count) of \(files.count) file(s) not ingested (see the errors above)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func publish(_ input: IngestInput) async throws -> IngestReport {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        try await bus.createTopics(namer.specsWithNames())
        let speed = self.speed
        return try await stores.withStore(prefix: broker.prefix) { store in
            let producer = try bus.makeProducer(clientID: "quorum-cli-ingest")
            var ingestor = Ingestor(producer: producer, namer: namer,
                                    archive: PostgresBarArchiveSink(archive: BarArchive(store: store)), logger: Logger(label: "quorum"))
            ingestor.speed = speed
            let progress = SharedProgressLine(total: input.bars.count, label: "ingest: bars published")
            let report = try await ingestor.run(input) { done, _ in progress.update(done) }
            progress.finish()
            await producer.close()
            return report
        }
    }
}

/// What a bar file may not say about itself, as options (`quorum ingest`, `quorum eda`): the market, the interval, and
/// which column holds the time, in which format and zone.
struct BarFileOptions: ParsableArguments {
    @Option(help: "Market of every row (overrides the file name and a symbol column), e.g. BTC-USD.") var symbol: String?
    @Option(help: "Bar interval when the file name does not say it and it cannot be inferred: 30m, 1h, 1d, or seconds.") var interval: String?
    @Option(name: .customLong("time-column"), help: "The time column: its header name or 1-based position.") var timeColumn: String?
    @Option(name: .customLong("time-format"), help: "strftime-like format of the time column, e.g. '%d/%m/%Y %H:%M' (%Y %y %m %d %H %I %p %M %S %f %b %z %s).")
    var timeFormat: String?
    @Option(help: "Zone of times that name none: UTC (default), +02:00, or a name such as Europe/Berlin.") var timezone: String?

    func readerOptions() throws -> BarReaderOptions {
        var options = BarReaderOptions(symbol: symbol.map { Symbol($0) }, timeColumn: timeColumn)
        if let interval {
            guard let seconds = Int64(interval) ?? FileNameInfo.interval(ofToken: interval), seconds > 0 else {
                throw ValidationError("--interval '\(interval)' is not an interval: use 30m, 1h, 4h, 1d or a number of seconds")
            }
            options.intervalSeconds = seconds
        }
        if let timeFormat {
            do { options.timeFormat = try TimeFormat(timeFormat) } catch { throw ValidationError("--time-format: \(error)") }
        }
        if let timezone {
            guard let zone = FileTimeZone(parsing: timezone) else {
                throw ValidationError("--timezone '\(timezone)' is not a zone: use UTC, an offset such as +02:00, or a name such as Europe/Berlin")
            }
            options.timeZone = zone
        }
        return options
    }
}

/// One market of one file, as `quorum ingest --check` reports it (JSON keys: file, symbol, interval_seconds, bars,
/// rejected).
struct IngestCheck: Codable, CustomStringConvertible {
    var file: String
    var symbol: String
    var intervalSeconds: Int64
    var bars: Int
    var rejected: [String: Int]
    var reordered: Int
    var gaps: Int

    enum CodingKeys: String, CodingKey {
        case file, symbol, bars, rejected, reordered, gaps
        case intervalSeconds = "interval_seconds"
    }

    /// One line per market; rows whose market could not be told form a line of their own (symbol "-").
    static func lines(of contents: BarFileContents) -> [IngestCheck] {
        var lines = contents.series.map { s in
            IngestCheck(file: contents.file, symbol: s.symbol.name, intervalSeconds: s.intervalSeconds, bars: s.rows.count,
                        rejected: Dictionary(s.rejected.map { ($0.key.rawValue, $0.value) }, uniquingKeysWith: +),
                        reordered: s.reordered, gaps: s.gaps.count)
        }
        let orphans = contents.unattributedRejections
        if !orphans.isEmpty {
            lines.append(IngestCheck(file: contents.file, symbol: "-", intervalSeconds: 0, bars: 0,
                                     rejected: Dictionary(orphans.map { ($0.code.rawValue, 1) }, uniquingKeysWith: +),
                                     reordered: 0, gaps: 0))
        }
        return lines
    }

    var description: String {
        let reasons = rejected.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let count = rejected.values.reduce(0, +)
        return "\(file): \(symbol) \(IngestCheck.intervalText(intervalSeconds)) \(bars) bars, \(count) rows rejected"
            + (reasons.isEmpty ? "" : " (\(reasons))")
            + (reordered > 0 ? ", \(reordered) rows out of time order sorted into place" : "")
            + ", \(gaps) gaps"
    }

    static func intervalText(_ seconds: Int64) -> String {
        switch seconds {
        case 0: "-"
        case let s where s % 86_400 == 0: "\(s / 86_400)d"
        case let s where s % 3600 == 0: "\(s / 3600)h"
        case let s where s % 60 == 0: "\(s / 60)m"
        default: "\(seconds)s"
        }
    }
}
