import Foundation
import QuorumServiceKit
import Testing

/// `quorum ingest --check` as a user runs it: the built binary, no broker and no database.
@Suite("quorum ingest --check (no cluster)", .serialized, .timeLimit(.minutes(2)))
struct IngestCommandTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/exports").path

    /// Runs `quorum`; no broker or database is reachable on these addresses: --check must not need them.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await QuorumCommand.run(arguments, environment: ["QUORUM_KAFKA_BROKERS": "127.0.0.1:9",
                                                             "QUORUM_POSTGRES_URL": "postgres://nobody@127.0.0.1:9/x"])
    }

    struct Line: Decodable {
        var file: String
        var symbol: String
        var interval_seconds: Int64
        var bars: Int
        var rejected: [String: Int]
    }

    @Test("--check --json: one object per market with file, symbol, interval_seconds, bars, rejected")
    func json() async throws {
        let files = ["Bitstamp_BTCUSD_1h.csv", "markets_long.csv", "ltc_usd_1h_unsorted.csv", "BTCUSDT-30m-2019-01.csv"]
        let result = try await Self.run(["ingest", "--check", "--json"] + files.map { "\(Self.samples)/\($0)" })
        #expect(result.status == 0, "\(result.output)")
        let lines = try JSONDecoder().decode([Line].self, from: Data(result.output.utf8))
        #expect(lines.map(\.symbol) == ["BTC-USD", "BINANCE:BTC-USDT", "KRAKEN:BTC-USD", "BINANCE:ETH-USDT", "LTC-USD", "BTCUSDT"])
        #expect(lines.map(\.interval_seconds) == [3600, 3600, 3600, 3600, 3600, 1800])
        #expect(lines.map(\.bars) == [6, 3, 3, 3, 5, 4])
        #expect(lines[4].rejected == ["timeOutlier": 1])
        #expect(lines[0].file.hasSuffix("Bitstamp_BTCUSD_1h.csv"))
    }

    @Test("--check lines and --rejected list the rejected rows as file:line: reason, times in ISO-8601")
    func rejectedRows() async throws {
        let result = try await Self.run(["ingest", "--check", "--rejected", "\(Self.samples)/ltc_usd_1h_unsorted.csv"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ltc_usd_1h_unsorted.csv: LTC-USD 1h 5 bars, 1 rows rejected (timeOutlier=1)"), "\(result.output)")
        #expect(result.output.contains("ltc_usd_1h_unsorted.csv:4: timeOutlier: time 2117-03-01T03:00:00Z"), "\(result.output)")
    }

    @Test("an empty file: an error naming it and a non-zero exit; the output keeps its order when piped")
    func emptyFile() async throws {
        let empty = NSTemporaryDirectory() + "quorum-empty-\(UUID().uuidString).csv"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let result = try await Self.run(["ingest", "--check", "\(Self.samples)/eth_usd_history.csv", empty])
        #expect(result.status != 0)
        let lines = result.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("error: \(empty): no data rows") == true, "\(result.output)")
        #expect(lines.dropFirst().first?.contains("eth_usd_history.csv: ETH-USD 1d 4 bars") == true, "\(result.output)")
        // Standard output is flushed per line: the summary on standard error comes last, as it was written.
        #expect(lines.last == "1 of 2 file(s) not ingested (see the errors above)", "\(result.output)")
    }

    @Test("options that cannot be used are refused in the CLI's words")
    func badOptions() async throws {
        let file = "\(Self.samples)/eth_usd_history.csv"
        for (arguments, expected) in [(["--time-format", "%d/%m %Q"], "--time-format: time format '%d/%m %Q' %Q is not a supported directive"),
                                      (["--timezone", "Mars/Olympus"], "--timezone 'Mars/Olympus' is not a zone"),
                                      (["--interval", "fortnight"], "--interval 'fortnight' is not an interval")] {
            let result = try await Self.run(["ingest", "--check"] + arguments + [file])
            #expect(result.status != 0)
            #expect(result.output.contains(expected), "\(result.output)")
        }
    }
}
