import Foundation
import QuorumMarketData
import QuorumModel
import Testing

/// Parses `text` and returns (bars by line, rejections by line, gaps).
private func read(_ text: String, options: BarReaderOptions = BarReaderOptions()) throws -> (bars: [Int: Bar], rejected: [Int: RowRejectionCode], gaps: [GapInfo]) {
    var bars: [Int: Bar] = [:]
    var rejected: [Int: RowRejectionCode] = [:]
    var gaps: [GapInfo] = []
    for outcome in try BarReader.readAll(text: text, symbol: "TEST-USD", fileName: "fixture.csv", options: options) {
        switch outcome {
        case .bar(let bar, let line): bars[line] = bar
        case .rejected(let r): rejected[r.line] = r.code
        case .gap(let g): gaps.append(g)
        }
    }
    return (bars, rejected, gaps)
}

private let t0: Nanos = 1_704_067_200 * 1_000_000_000   // 2024-01-01T00:00:00Z
private let halfHour: Nanos = 1_800 * 1_000_000_000

@Suite("BarReader")
struct BarReaderTests {
    /// One row of every defect; line numbers are physical (header = 1, the blank line 17 is not a row).
    static let fixture = """
        timestamp,open,high,low,close,volume
        2024-01-01T00:00:00Z,100,110,90,105,10
        2024-01-01T00:30:00Z,105,112,100,110,12.5
        2024-01-01T01:00:00Z,110,115,,112,3
        2024-01-01T01:00:00Z,abc,115,105,112,3
        not-a-time,110,115,105,112,3
        2024-01-01T01:00:00Z,NaN,115,105,112,3
        2024-01-01T01:00:00Z,110,115,105,0,3
        2024-01-01T01:00:00Z,110,115,105,112,-1
        2024-01-01T01:00:00Z,110,100,105,102,3
        2024-01-01T01:00:00Z,110,115,105,120,3
        2024-01-01T00:30:00Z,110,115,105,112,3
        2024-01-01T00:00:00Z,110,115,105,112,3
        2024-01-01T01:10:00Z,110,115,105,112,3
        2024-01-01T01:00:00Z,200,250,190,240,3
        2024-01-01T01:00:00Z,110,115,105,112,3

        2024-01-01T02:30:00Z,112,118,110,115.123456789,4
        2024-01-01 03:00:00,115,116,114,115.5,1
        """

    @Test("every defect is rejected with its own code; the other rows become bars")
    func defectFixture() throws {
        let result = try read(Self.fixture)
        let expected: [Int: RowRejectionCode] = [
            4: .missingField, 5: .unparsableNumber, 6: .unparsableTimestamp, 7: .nonFinite, 8: .nonPositivePrice,
            9: .negativeVolume, 10: .highBelowLow, 11: .openOrCloseOutsideRange, 12: .duplicateTimestamp,
            13: .outOfOrderTimestamp, 14: .misalignedTimestamp, 15: .outlier,
        ]
        #expect(result.rejected == expected)
        #expect(Set(expected.values).count == expected.count)
        #expect(result.bars.keys.sorted() == [2, 3, 16, 18, 19])
        #expect(result.bars[2] == Bar(symbol: "TEST-USD", openTime: t0, intervalSeconds: 1800, open: 100, high: 110,
                                      low: 90, close: 105, volume: 10))
        #expect(result.bars[3]?.volume == Fixed("12.5"))
        #expect(result.bars[16]?.openTime == t0 + 2 * halfHour)
        // 9 decimals round half-to-even to 8: 115.123456789 → 115.12345679.
        #expect(result.bars[18]?.close == Fixed("115.12345679"))
        #expect(result.bars[19]?.openTime == t0 + 6 * halfHour)
        #expect(result.gaps == [GapInfo(symbol: "TEST-USD", after: t0 + 2 * halfHour, before: t0 + 5 * halfHour,
                                        missingBars: 2, line: 18)])
    }

    @Test("outcomes are in file order, a gap right before the bar that ends it; every data row accounted for")
    func outcomeOrder() throws {
        let outcomes = try BarReader.readAll(text: Self.fixture, symbol: "TEST-USD", fileName: "fixture.csv")
        var lines: [Int] = []
        var summary = BarReadSummary()
        for (i, outcome) in outcomes.enumerated() {
            summary.record(outcome)
            switch outcome {
            case .bar(_, let line): lines.append(line)
            case .rejected(let r): lines.append(r.line)
            case .gap(let g):
                guard case .bar(_, let next) = outcomes[i + 1] else { Issue.record("gap not followed by a bar"); return }
                #expect(next == g.line)
            }
        }
        #expect(lines == Array(2...16) + [18, 19])
        #expect(summary.dataRows == 17)
        #expect(summary.bars == 5 && summary.gaps == 1 && summary.missingBars == 2)
    }

    @Test("a rejection names file, line, code and keeps the raw line")
    func rejectionContents() throws {
        let outcomes = try BarReader.readAll(text: Self.fixture, symbol: "TEST-USD", fileName: "fixture.csv")
        let rejection = try #require(outcomes.lazy.compactMap { o -> RowRejection? in
            if case .rejected(let r) = o, r.line == 10 { r } else { nil }
        }.first)
        #expect(rejection.file == "fixture.csv")
        #expect(rejection.rawLine == "2024-01-01T01:00:00Z,110,100,105,102,3")
        #expect(rejection.detail.contains("100") && rejection.detail.contains("105"))
        #expect(rejection.description.hasPrefix("fixture.csv:10: highBelowLow"))
    }

    @Test("byte chunks of any size give the same outcomes as whole lines")
    func chunkedBytes() throws {
        let whole = try BarReader.readAll(text: Self.fixture, symbol: "TEST-USD", fileName: "fixture.csv")
        for chunkSize in [1, 7, 64, 4096] {
            var reader = BarReader(symbol: "TEST-USD", fileName: "fixture.csv")
            var outcomes: [BarReadOutcome] = []
            let bytes = Array(Self.fixture.replacingOccurrences(of: "\n", with: "\r\n").utf8)
            var start = 0
            while start < bytes.count {
                outcomes += try reader.feed(bytes: bytes[start..<min(bytes.count, start + chunkSize)])
                start += chunkSize
            }
            outcomes += try reader.finish()
            #expect(outcomes == whole, "chunk size \(chunkSize)")
        }
    }

    @Test("with a given interval, rows are answered as they arrive (no buffering)")
    func streamingWithGivenInterval() throws {
        var reader = BarReader(symbol: "X", fileName: "f.csv", options: BarReaderOptions(intervalSeconds: 1800))
        #expect(try reader.feed(line: "timestamp,open,high,low,close,volume").isEmpty)
        let first = try reader.feed(line: "2024-01-01T00:00:00Z,1,1,1,1,0")
        #expect(first.count == 1)
        if case .bar(let bar, 2)? = first.first { #expect(bar.volume == .zero) } else { Issue.record("expected a bar, got \(first)") }
    }

    @Test("interval inference: most common positive difference, held rows released when known")
    func inference() throws {
        var reader = BarReader(symbol: "X", fileName: "f.csv", options: BarReaderOptions(inferenceRows: 4))
        _ = try reader.feed(line: "time,open,high,low,close,volume")
        var outcomes: [BarReadOutcome] = []
        for (i, minute) in [0, 5, 10, 20, 25, 30].enumerated() {
            outcomes += try reader.feed(line: "\(1_704_067_200 + minute * 60),\(10 + i),20,5,10,1")
            #expect(outcomes.isEmpty == (i < 3), "row \(i)")
        }
        #expect(reader.intervalSeconds == 300)
        #expect(reader.format == .header(BarColumns(time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5)))
        // 10 → 20 minutes misses one 5-minute bar.
        #expect(outcomes.filter { if case .gap(let g) = $0 { g.missingBars == 1 } else { false } }.count == 1)
    }

    @Test("a single row cannot reveal the interval: clear error")
    func cannotInfer() throws {
        #expect(throws: BarFileError.self) {
            _ = try BarReader.readAll(text: "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,1,1,1,1\n",
                                      symbol: "X", fileName: "one.csv")
        }
        let outcomes = try BarReader.readAll(text: "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,1,1,1,1\n",
                                             symbol: "X", fileName: "one.csv", options: BarReaderOptions(intervalSeconds: 60))
        #expect(outcomes.count == 1)
    }

    @Test("unknown header: error names the file and lists the accepted columns")
    func unknownHeader() {
        do throws(BarFileError) {
            _ = try BarReader.readAll(text: "when,o,h,l,c,v\n2024-01-01,1,1,1,1,1\n", symbol: "X", fileName: "weird.csv")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownHeader)
            #expect(error.line == 1)
            let text = error.description
            #expect(text.contains("weird.csv"))
            for name in ["timestamp", "open_time", "date", "open", "high", "low", "close", "volume"] {
                #expect(text.contains(name), "missing \(name) in: \(text)")
            }
        }
    }

    @Test("header columns in any order and case, with extra columns and a BOM")
    func reorderedHeader() throws {
        let text = "\u{FEFF}Close,Volume,Open_Time,High,Low,Open,trades\n"
            + "105,10,1704067200000,110,90,100,7\n"
            + "106,11,1704067260000,110,90,105,8\n"
        let result = try read(text)
        #expect(result.rejected.isEmpty)
        #expect(result.bars[2] == Bar(symbol: "TEST-USD", openTime: t0, intervalSeconds: 60, open: 100, high: 110,
                                      low: 90, close: 105, volume: 10))
        #expect(result.bars[3]?.close == 106)
    }

    @Test("Binance kline export without header (ms and µs open times)")
    func binanceHeaderless() throws {
        let ms = """
            1704067200000,42283.58,42554.57,42261.02,42475.23,1271.68108,1704070799999,53957248.97,47134,682.578,28957416.82,0
            1704070800000,42475.23,42775.00,42431.65,42613.56,1196.37856,1704074399999,50984113.18,50396,712.457,30366651.91,0
            1704074400000,42613.57,42638.00,42400.00,42581.10,1065.10000,1704077999999,45280013.00,41000,500.000,21000000.00,0
            """
        let result = try read(ms)
        #expect(result.rejected.isEmpty && result.gaps.isEmpty)
        #expect(result.bars.count == 3)
        #expect(result.bars[1] == Bar(symbol: "TEST-USD", openTime: t0, intervalSeconds: 3600,
                                      open: Fixed("42283.58")!, high: Fixed("42554.57")!, low: Fixed("42261.02")!,
                                      close: Fixed("42475.23")!, volume: Fixed("1271.68108")!))
        let micro = ms.replacingOccurrences(of: "00000,", with: "00000000,")
        let microResult = try read(micro)
        #expect(microResult.bars.mapValues(\.openTime) == result.bars.mapValues(\.openTime))
    }

    @Test("unix seconds and milliseconds in a date column")
    func unixTimes() throws {
        let seconds = try read("date,open,high,low,close,volume\n1704067200,1,2,1,2,1\n1704069000,2,3,2,3,1\n")
        let millis = try read("date,open,high,low,close,volume\n1704067200000,1,2,1,2,1\n1704069000000,2,3,2,3,1\n")
        #expect(seconds.bars.count == 2 && seconds.rejected.isEmpty)
        #expect(seconds.bars == millis.bars)
        #expect(seconds.bars[2]?.openTime == t0 && seconds.bars[2]?.intervalSeconds == 1800)
    }

    @Test("excess decimals: half-to-even by default, rejected on request; exponents exact")
    func decimals() throws {
        let text = """
            timestamp,open,high,low,close,volume
            2024-01-01T00:00:00Z,1.000000005,2,1,1.000000015,1.5e-05
            2024-01-01T00:30:00Z,1.000000025,2,1,1.0000000250001,2E3
            """
        let rounded = try read(text)
        #expect(rounded.bars[2]?.open == Fixed(units: 100_000_000))        // tie → even
        #expect(rounded.bars[2]?.close == Fixed(units: 100_000_002))       // tie → even (1 is odd → up)
        #expect(rounded.bars[2]?.volume == Fixed("0.000015"))
        #expect(rounded.bars[3]?.open == Fixed(units: 100_000_002))        // tie → even (2 stays)
        #expect(rounded.bars[3]?.close == Fixed(units: 100_000_003))       // above the tie → up
        #expect(rounded.bars[3]?.volume == 2000)
        let rejected = try read(text, options: BarReaderOptions(excessDecimals: .reject))
        #expect(rejected.rejected == [2: .tooManyDecimals, 3: .tooManyDecimals])
        // Trailing zeros are not excess decimals.
        let zeros = try read("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1.5000000000,2,1,1,1\n",
                             options: BarReaderOptions(intervalSeconds: 60, excessDecimals: .reject))
        #expect(zeros.bars[2]?.open == Fixed("1.5"))
    }

    @Test("a genuine level shift is accepted after outlierResetAfter rejections in a row")
    func outlierReset() throws {
        var lines = ["timestamp,open,high,low,close,volume", "2024-01-01T00:00:00Z,100,100,100,100,1"]
        for i in 1...5 { lines.append("\(1_704_067_200 + i * 60),300,300,300,300,1") }
        let result = try read(lines.joined(separator: "\n"), options: BarReaderOptions(intervalSeconds: 60))
        #expect(result.rejected == [3: .outlier, 4: .outlier, 5: .outlier])
        #expect(result.bars.keys.sorted() == [2, 6, 7])
        let off = try read(lines.joined(separator: "\n"), options: BarReaderOptions(intervalSeconds: 60, outlierFactor: nil))
        #expect(off.rejected.isEmpty)
    }

    @Test("alignment relative to the first bar when not epoch-aligned")
    func alignment() throws {
        let text = "timestamp,open,high,low,close,volume\n1704067210,1,1,1,1,1\n1704067270,1,1,1,1,1\n1704067320,1,1,1,1,1\n"
        let epoch = try read(text, options: BarReaderOptions(intervalSeconds: 60))
        #expect(epoch.rejected == [2: .misalignedTimestamp, 3: .misalignedTimestamp])
        let relative = try read(text, options: BarReaderOptions(intervalSeconds: 60, alignToEpoch: false))
        #expect(relative.rejected == [4: .misalignedTimestamp])
    }
}

@Suite("TimestampParser")
struct TimestampParserTests {
    @Test("ISO-8601 variants and epoch units agree")
    func variants() {
        let expected: Nanos = 1_506_816_000 * 1_000_000_000   // 2017-10-01T00:00:00Z
        for text in ["2017-10-01T00:00:00Z", "2017-10-01 00:00:00", "2017-10-01T00:00", "2017-10-01",
                     "2017-10-01T02:00:00+02:00", "2017-10-01T02:00:00+0200", "2017-09-30T19:00:00-05",
                     "2017-10-01T00:00:00.000Z", "1506816000", "1506816000000", "1506816000000000",
                     "1506816000000000000", "1506816000.0"] {
            #expect(TimestampParser.parse(text) == expected, "\(text)")
        }
        #expect(TimestampParser.parse("2017-10-01T00:00:00.25Z") == expected + 250_000_000)
        #expect(TimestampParser.parse("1506816000.5") == expected + 500_000_000)
    }

    @Test("hand-checked dates, leap years")
    func dates() {
        let second: Nanos = 1_000_000_000
        #expect(TimestampParser.parse("1970-01-01T00:00:00Z") == 0)
        #expect(TimestampParser.parse("2000-03-01") == 951_868_800 * second)
        #expect(TimestampParser.parse("2024-02-29T12:00:00Z") == 1_709_208_000 * second)
        #expect(TimestampParser.parse("1969-12-31T23:59:59Z") == -second)
    }

    @Test("invalid forms are nil")
    func invalid() {
        for text in ["", "2023-02-29", "2017-13-01", "2017-10-32", "2017-10-01T24:00:00", "2017-10-01T00:60",
                     "2017-10-01X00:00", "2017-10-01T00:00:00Q", "12ab", "-5", "1506816000000.5", "yesterday"] {
            #expect(TimestampParser.parse(text) == nil, "\(text)")
        }
    }
}

@Suite("Real market data files")
struct RealDataTests {
    /// `../shared/data` beside the repository (where the project's shared folder lives), or `MARKET_DATA_DIR`.
    static let directory = ProcessInfo.processInfo.environment["MARKET_DATA_DIR"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path

    @Test("every row of the real files is a bar or a rejection",
          arguments: [("btc_usd_30m.csv", "BTC-USD"), ("eth_usd_30m.csv", "ETH-USD"), ("ltc_usd_30m.csv", "LTC-USD")])
    func realFile(name: String, symbol: String) throws {
        let data = try #require(FileManager.default.contents(atPath: Self.directory + "/" + name),
                                "\(name) not found in \(Self.directory): the shared data folder must sit beside the repository (or set MARKET_DATA_DIR)")
        let bytes = [UInt8](data)
        let dataRows = String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst()
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        var reader = BarReader(symbol: Symbol(symbol), fileName: name)
        var summary = BarReadSummary()
        var rejections: [RowRejection] = []
        var lastOpen: Nanos = .min
        var start = 0
        while start < bytes.count {
            for outcome in try reader.feed(bytes: bytes[start..<min(bytes.count, start + 65_536)]) {
                summary.record(outcome)
                if case .rejected(let r) = outcome { rejections.append(r) }
                if case .bar(let bar, _) = outcome { #expect(bar.openTime > lastOpen); lastOpen = bar.openTime }
            }
            start += 65_536
        }
        for outcome in try reader.finish() {
            summary.record(outcome)
            if case .rejected(let r) = outcome { rejections.append(r) }
        }
        print("\(name): rows \(dataRows), bars \(summary.bars), rejected \(summary.rejected), gaps \(summary.gaps), "
              + "missing bars \(summary.missingBars)")
        for r in rejections.prefix(10) { print("  \(r) | \(r.rawLine)") }
        #expect(reader.intervalSeconds == 1800)
        #expect(summary.dataRows == dataRows)
        #expect(summary.bars > 0)
    }
}
