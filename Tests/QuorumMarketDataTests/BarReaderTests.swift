import Foundation
@testable import QuorumMarketData
import QuorumModel
import Testing

/// Reads `text` as market TEST-USD and returns (bars by line, rejections by line, gaps, the contents).
private func read(_ text: String, options: BarReaderOptions = BarReaderOptions(), fileName: String = "fixture.csv")
    throws -> (bars: [Int: Bar], rejected: [Int: RowRejectionCode], gaps: [GapInfo], contents: BarFileContents) {
    var options = options
    if options.symbol == nil { options.symbol = "TEST-USD" }
    let contents = try BarFileReader.read(text: text, fileName: fileName, options: options)
    var bars: [Int: Bar] = [:]
    for series in contents.series { for row in series.rows { bars[row.line] = row.bar } }
    let rejected = Dictionary(contents.rejections.map { ($0.line, $0.code) }, uniquingKeysWith: { a, _ in a })
    return (bars, rejected, contents.series.flatMap(\.gaps), contents)
}

private let t0: Nanos = 1_704_067_200 * 1_000_000_000   // 2024-01-01T00:00:00Z
private let halfHour: Nanos = 1_800 * 1_000_000_000

@Suite("BarFileReader")
struct BarReaderTests {
    /// Found by FuzzBarReader (fuzz/corpus/BarReader/crash-interval-years): steps of years between rows made the
    /// interval's nanoseconds × 1000 (the time-outlier distance) overflow, and times centuries apart overflowed
    /// their difference; both trapped.
    @Test("rows years apart: an interval over a year is an error that says what to do; times 1678 … 2261 do not trap")
    func farApartTimes() throws {
        let yearly = """
            date,open,high,low,close,volume
            2015-01-01,1,2,1,1,1
            2016-06-01,1,2,1,1,1
            2017-11-01,1,2,1,1,1
            2019-04-01,1,2,1,1,1
            """
        do {
            _ = try BarFileReader.read(text: yearly, fileName: "prices.csv")
            Issue.record("an interval of 517 days was accepted")
        } catch {
            #expect(error.code == .invalidInterval, "\(error)")
            #expect(error.description.contains("longer than a year") && error.description.contains("--interval"), "\(error)")
        }
        let centuries = """
            timestamp,open,high,low,close,volume
            1678-01-01T00:00:00Z,1,2,1,1,1
            2019-01-01T00:00:00Z,1,2,1,1,1
            2019-01-02T00:00:00Z,1,2,1,1,1
            2261-01-01T00:00:00Z,1,2,1,1,1
            """
        let contents = try BarFileReader.read(text: centuries, fileName: "btc_usd_1d.csv")
        #expect(contents.bars + contents.rejections.count == 4)
        #expect(contents.rejections.map(\.code) == [.timeOutlier, .timeOutlier])
        #expect(BarFileReader.distance(.min, .max) == .max && BarFileReader.distance(.max, .min) == .min)
    }

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

    static let expectedRowRejections: [Int: RowRejectionCode] = [
        4: .missingField, 5: .unparsableNumber, 6: .unparsableTimestamp, 7: .nonFinite, 8: .nonPositivePrice,
        9: .negativeVolume, 10: .highBelowLow, 11: .openOrCloseOutsideRange, 12: .duplicateTimestamp,
        14: .misalignedTimestamp, 15: .outlier,
    ]

    @Test("every defect is rejected with its own code; the other rows become bars (rows sorted by time)")
    func defectFixture() throws {
        let result = try read(Self.fixture)
        var expected = Self.expectedRowRejections
        expected[13] = .duplicateTimestamp   // sorted into place, it repeats line 2's time
        #expect(result.rejected == expected)
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
        let series = try #require(result.contents.series.first)
        #expect(series.rows.map(\.line) == [2, 3, 16, 18, 19])   // event-time order
        #expect(result.contents.dataRows == 17)
        #expect(series.rows.count + result.contents.rejections.count == 17)
        #expect(series.rejectedCount == 12)
    }

    @Test("strict order: a row older than the last accepted one is rejected as out of order")
    func strictOrder() throws {
        let result = try read(Self.fixture, options: BarReaderOptions(strictOrder: true))
        var expected = Self.expectedRowRejections
        expected[13] = .outOfOrderTimestamp
        #expect(result.rejected == expected)
        #expect(result.bars.keys.sorted() == [2, 3, 16, 18, 19])
    }

    @Test("newest-first and shuffled rows are sorted into place and counted; strict mode rejects them")
    func newestFirst() throws {
        let rows = (0..<6).map { i in "\(1_704_067_200 + i * 3600),\(100 + i),\(110 + i),\(90 + i),\(105 + i),1" }
        let newestFirst = try read("time,open,high,low,close,volume\n" + rows.reversed().joined(separator: "\n"))
        #expect(newestFirst.rejected.isEmpty)
        let series = try #require(newestFirst.contents.series.first)
        #expect(series.rows.map(\.bar.openTime) == (0..<6).map { t0 + Nanos($0) * 2 * halfHour })
        #expect(series.intervalSeconds == 3600)
        #expect(series.reordered == 5)
        let shuffled = [rows[3], rows[0], rows[5], rows[1], rows[4], rows[2]]
        let result = try read("time,open,high,low,close,volume\n" + shuffled.joined(separator: "\n"))
        #expect(result.contents.series.first?.rows.map(\.bar) == series.rows.map(\.bar))
        #expect(result.contents.series.first?.reordered == 4)   // 0 after 3; 1, 4 and 2 after 5
        let strict = try read("time,open,high,low,close,volume\n" + rows.reversed().joined(separator: "\n"),
                              options: BarReaderOptions(intervalSeconds: 3600, strictOrder: true))
        #expect(strict.bars.count == 1)
        #expect(Set(strict.rejected.values) == [.outOfOrderTimestamp])
    }

    @Test("one absurd time (2117 among 2019 rows) is a time outlier; the rows after it are still bars, in both orders")
    func timeOutlier() throws {
        var lines = ["timestamp,open,high,low,close,volume"]
        for i in 0..<10 { lines.append("2019-03-01T\(i < 10 ? "0" : "")\(i):00:00Z,45,46,44,45.5,1") }
        lines.insert("2117-03-01T05:00:00Z,45,46,44,45.5,1", at: 6)
        for strict in [false, true] {
            let result = try read(lines.joined(separator: "\n"), options: BarReaderOptions(strictOrder: strict))
            #expect(result.rejected == [7: .timeOutlier], "strict \(strict)")
            #expect(result.bars.count == 10)
            let detail = try #require(result.contents.rejections.first?.detail)
            #expect(detail.contains("2117-03-01T05:00:00Z") && detail.contains("2019-03-01T00:00:00Z"), "\(detail)")
        }
    }

    @Test("a rejection names file, line, code, market and keeps the raw line")
    func rejectionContents() throws {
        let contents = try BarFileReader.read(text: Self.fixture, fileName: "fixture.csv", options: BarReaderOptions(symbol: "TEST-USD"))
        let rejection = try #require(contents.rejections.first { $0.line == 10 })
        #expect(rejection.file == "fixture.csv")
        #expect(rejection.symbol == "TEST-USD")
        #expect(rejection.rawLine == "2024-01-01T01:00:00Z,110,100,105,102,3")
        #expect(rejection.rawDigest == nil)
        #expect(rejection.detail.contains("100") && rejection.detail.contains("105"))
        #expect(rejection.description.hasPrefix("fixture.csv:10: highBelowLow"))
        let duplicate = try #require(contents.rejections.first { $0.line == 12 })
        #expect(duplicate.detail.contains("2024-01-01T00:30:00Z"), "times in details are ISO-8601: \(duplicate.detail)")
        // The row's time, once read: rows rejected after the time column (row checks and market checks) carry it.
        let times = Dictionary(contents.rejections.map { ($0.line, $0.time) }, uniquingKeysWith: { a, _ in a })
        #expect(times[4] == .some(nil) && times[6] == .some(nil), "missing field before the time, unreadable time")
        #expect(times[7] == t0 + 2 * halfHour && times[10] == t0 + 2 * halfHour, "NaN, high < low")
        #expect(times[12] == t0 + halfHour && times[14] == t0 + 2 * halfHour + 600_000_000_000, "duplicate, misaligned")
    }

    @Test("byte chunks of any size give the same contents as one text")
    func chunkedBytes() throws {
        let options = BarReaderOptions(symbol: "TEST-USD")
        let whole = try BarFileReader.read(text: Self.fixture, fileName: "fixture.csv", options: options)
        for chunkSize in [1, 7, 64, 4096] {
            var reader = BarFileReader(fileName: "fixture.csv", options: options)
            let bytes = Array(Self.fixture.replacingOccurrences(of: "\n", with: "\r\n").utf8)
            var start = 0
            while start < bytes.count {
                try reader.feed(bytes: bytes[start..<min(bytes.count, start + chunkSize)])
                start += chunkSize
            }
            let contents = try reader.finish()
            #expect(contents.series == whole.series, "chunk size \(chunkSize)")
            #expect(contents.rejections.map(\.line) == whole.rejections.map(\.line))
        }
    }

    @Test("interval inference: the most common positive step between sorted times")
    func inference() throws {
        var lines = ["time,open,high,low,close,volume"]
        for (i, minute) in [0, 5, 10, 20, 25, 30].enumerated() { lines.append("\(1_704_067_200 + minute * 60),\(10 + i),20,5,10,1") }
        let result = try read(lines.joined(separator: "\n"), options: BarReaderOptions(outlierFactor: nil))
        #expect(result.contents.series.first?.intervalSeconds == 300)
        #expect(result.contents.layout?.columns == BarColumns(time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5))
        // 10 → 20 minutes misses one 5-minute bar.
        #expect(result.gaps.map(\.missingBars) == [1])
    }

    @Test("a single row cannot reveal the interval: an error that says what to pass")
    func cannotInfer() throws {
        let text = "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,1,1,1,1\n"
        do {
            _ = try BarFileReader.read(text: text, fileName: "one.csv")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .cannotInferInterval)
            #expect(error.description.contains("--interval"))
            #expect(!error.description.contains("BarReaderOptions"))
        }
        let given = try read(text, options: BarReaderOptions(intervalSeconds: 60))
        #expect(given.bars.count == 1)
        // The file name can say it too.
        let named = try BarFileReader.read(text: text, fileName: "ONE-1h-2024-01.csv")
        #expect(named.series.first?.intervalSeconds == 3600 && named.series.first?.symbol == "ONE")
    }

    @Test("unknown header: the error names the file, the header and the accepted columns")
    func unknownHeader() {
        do {
            _ = try BarFileReader.read(text: "when,o,h,l,c,v\n2024-01-01,1,1,1,1,1\n", fileName: "weird.csv")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownHeader)
            #expect(error.line == 1)
            let text = error.description
            #expect(text.contains("weird.csv") && text.contains("'when'") && text.contains("--time-column"))
            for name in ["timestamp", "open_time", "date", "day", "open", "high", "low", "close", "volume"] {
                #expect(text.contains(name), "missing \(name) in: \(text)")
            }
        }
    }

    @Test("errors echo only a short excerpt of the input: a huge header, binary bytes")
    func boundedErrors() {
        let hugeName = String(repeating: "x", count: 2_000_000)
        for text in ["time,open,\(hugeName)\n1,2,3\n", "\u{01}\u{02}\u{7F},ELF\u{00}\u{FFFD},\(hugeName)\n"] {
            do {
                _ = try BarFileReader.read(text: text, fileName: "big.csv")
                Issue.record("expected an error")
            } catch {
                #expect(error.description.utf8.count < 2_000, "\(error.description.utf8.count) bytes")
                #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            }
        }
        // A line longer than the reader keeps, before any header: not a CSV file, said in a few words.
        do {
            _ = try BarFileReader.read(text: String(repeating: "z", count: 100_000) + "\n", fileName: "blob.csv")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.utf8.count < 500)
        }
    }

    @Test("a 1 MB row among good rows is rejected with a bounded excerpt, its length and digest; the rest are bars")
    func longRow() throws {
        let long = "2024-01-01T01:00:00Z,1,1,1,1," + String(repeating: "9", count: 1_000_000)
        var lines = ["timestamp,open,high,low,close,volume"]
        for i in 0..<5 { lines.append("\(1_704_067_200 + i * 1800),1,1,1,1,1") }
        lines.insert(long, at: 3)
        let result = try read(lines.joined(separator: "\n"))
        #expect(result.rejected == [4: .lineTooLong])
        #expect(result.bars.count == 5)
        let r = try #require(result.contents.rejections.first)
        #expect(r.rawByteCount == long.utf8.count)
        #expect(r.rawLine.utf8.count <= RowRejection.rawLimit)
        #expect(r.rawDigest == FNV1a64.hex(of: Array(long.utf8)))
        #expect(r.detail.utf8.count < 300)
    }

    @Test("no row's time readable: one error naming the column, an example value and --time-format")
    func unreadableTimes() {
        do {
            _ = try BarFileReader.read(text: "when_utc,open,high,low,close,volume\n17/10/2019 09:00,1,1,1,1,1\n17/10/2019 10:00,1,1,1,1,1\n",
                                       fileName: "x.csv", options: BarReaderOptions(timeColumn: "when_utc"))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unreadableTimes)
            #expect(error.line == 2)
            #expect(error.description.contains("'when_utc' (1)") && error.description.contains("17/10/2019 09:00"))
            #expect(error.description.contains("--time-format"))
        }
    }

    @Test("--time-format, --timezone and --time-column read what nothing else can")
    func timeOptions() throws {
        let text = "id,when,open,high,low,close,volume\n7,17/10/2019 11:00,1,1,1,1,1\n8,17/10/2019 11:30,1,1,1,1,1\n"
        let options = BarReaderOptions(timeColumn: "2", timeFormat: try TimeFormat("%d/%m/%Y %H:%M"),
                                       timeZone: try #require(FileTimeZone(parsing: "Europe/Berlin")))
        let result = try read(text, options: options)
        // 11:00 in Berlin on 17 October 2019 (summer time, +02:00) is 09:00 UTC.
        #expect(result.bars[2]?.openTime == TimestampParser.parse("2019-10-17T09:00:00Z"))
        #expect(result.bars[3]?.intervalSeconds == 1800)
        let fixed = try read(text, options: BarReaderOptions(timeColumn: "when", timeFormat: try TimeFormat("%d/%m/%Y %H:%M"),
                                                              timeZone: try #require(FileTimeZone(parsing: "-05:00"))))
        #expect(fixed.bars[2]?.openTime == TimestampParser.parse("2019-10-17T16:00:00Z"))
        // An explicit zone in the text wins over --timezone.
        let zoned = try read("time,open,high,low,close,volume\n2019-10-17T11:00:00Z,1,1,1,1,1\n",
                             options: BarReaderOptions(intervalSeconds: 3600, timeZone: .offset(seconds: 7200)))
        #expect(zoned.bars[2]?.openTime == TimestampParser.parse("2019-10-17T11:00:00Z"))
    }

    @Test("prefixed, price-suffixed and quoted columns")
    func columnNames() throws {
        let headers = ["date,btc_open,btc_high,btc_low,btc_close,btc_volume", "timestamp,X:open,X:high,X:low,X:close,X:volume",
                       "startTime,openPrice,highPrice,lowPrice,closePrice,volume,turnover",
                       "Date,Open,High,Low,Close,Adj Close,Volume"]
        for header in headers {
            let row = header.contains("Adj") ? "2024-01-01,1000.5,2000,900,1000,9,5" : "2024-01-01,1000.5,2000,900,1000,5,77"
            let result = try read(header + "\n" + row + "\n", options: BarReaderOptions(intervalSeconds: 86_400))
            #expect(result.bars[2] == Bar(symbol: "TEST-USD", openTime: t0, intervalSeconds: 86_400, open: Fixed("1000.5")!,
                                          high: 2000, low: 900, close: 1000, volume: 5), "\(header)")
        }
        // A quoted field may hold the delimiter and escaped quotes.
        let quoted = try read("symbol,timestamp,open,high,low,close,volume,note\n\"BTC/USD\",2024-01-01T00:00:00Z,1,2,1,2,\"3\",\"a, \"\"b\"\"\"\n",
                              options: BarReaderOptions(intervalSeconds: 60))
        #expect(quoted.bars[2]?.volume == 3)
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
        let rejected = try read(text, options: BarReaderOptions(intervalSeconds: 1800, excessDecimals: .reject))
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

    @Test("an empty file and a header alone have no data rows; blank lines are not rows")
    func empty() throws {
        #expect(try BarFileReader.read(text: "", fileName: "e.csv").layout == nil)
        #expect(try BarFileReader.read(text: "\n  \n", fileName: "e.csv").dataRows == 0)
        let headerOnly = try BarFileReader.read(text: "timestamp,open,high,low,close,volume\n", fileName: "h.csv")
        #expect(headerOnly.layout?.hasHeader == true && headerOnly.dataRows == 0 && headerOnly.series.isEmpty)
    }
}

@Suite("TimestampParser")
struct TimestampParserTests {
    /// Found by FuzzBarReader (fuzz/corpus/BarReader/crash-time-before-1677): a time Int64 nanoseconds cannot hold
    /// overflowed (a trap) instead of being an unreadable time.
    @Test("times outside 1677-09-21 … 2262-04-11 are unreadable, in every form, and their rows are rejected")
    func outOfRange() throws {
        for text in ["1500-01-01T00:00:00Z", "1677-09-21T00:00:00Z", "2262-04-12T00:00:00Z", "9999-12-31 23:59:59",
                     "9999999999", "9999999999.5", "99999999999999", "99999999999999999", "1500-10-17 02-AM"] {
            #expect(TimestampParser.parse(text) == nil, "\(text)")
        }
        #expect(TimestampParser.parse("2262-04-11T00:00:00Z") != nil)
        #expect(TimestampParser.parse("1677-09-22T00:00:00Z") != nil)
        #expect(try TimeFormat("%d/%m/%Y %H:%M").parse("01/01/1500 00:00") == nil)
        #expect(try TimeFormat("%s").parse("999999999999") == nil)

        let text = """
            Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USD
            1500-10-17 02-AM,BTC/USD,8051.2,8060.0,8040.0,8055.4,41.25,332196.25
            2019-10-17 01-AM,BTC/USD,8040.0,8055.0,8035.0,8051.2,38.5,309571.2
            2019-10-17 12-AM,BTC/USD,8020.5,8044.1,8015.0,8040.0,52.75,423462.1
            9999999999,BTC/USD,8035.0,8038.9,8010.2,8020.5,60.0,481230.0
            """
        let contents = try BarFileReader.read(text: text, fileName: "Bitstamp_BTCUSD_1h.csv")
        #expect(contents.bars == 2)
        #expect(contents.rejections.map(\.code) == [.unparsableTimestamp, .unparsableTimestamp])
        #expect(contents.rejections.map(\.line) == [2, 5])
    }

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

    @Test("vendor formats: CryptoDataDownload hours and Dukascopy times")
    func vendorFormats() {
        let nine: Nanos = TimestampParser.parse("2019-10-17T09:00:00Z")!
        #expect(TimestampParser.parse("2019-10-17 09-AM") == nine)
        #expect(TimestampParser.parse("2019-10-17 09-PM") == nine + 12 * 3_600_000_000_000)
        #expect(TimestampParser.parse("2019-10-17 12-AM") == nine - 9 * 3_600_000_000_000)
        #expect(TimestampParser.parse("2019-10-17 12-PM") == nine + 3 * 3_600_000_000_000)
        #expect(TimestampParser.parse("17.10.2019 09:00:00.000") == nine)
        #expect(TimestampParser.parse("17.10.2019 11:00:00.000 GMT+0200") == nine)
        #expect(TimestampParser.parseDetailed("17.10.2019 11:00:00.000 GMT+0200")?.naive == false)
        #expect(TimestampParser.parseDetailed("17.10.2019 09:00:00.000")?.naive == true)
        #expect(TimestampParser.parseDetailed("1571302800")?.naive == false)
        for text in ["2019-10-17 13-PM", "32.10.2019 09:00:00.000", "2019-10-17 09-XM"] {
            #expect(TimestampParser.parse(text) == nil, "\(text)")
        }
    }

    @Test("iso() is the inverse of parse for whole and fractional times, before and after 1970")
    func isoRoundTrip() {
        for text in ["2019-10-17T09:00:00Z", "1969-12-31T23:59:59Z", "2000-02-29T12:34:56.789Z", "2117-03-01T05:00:00Z",
                     "1970-01-01T00:00:00.000000001Z"] {
            #expect(TimestampParser.iso(TimestampParser.parse(text)!) == text)
        }
        var day: Nanos = -40 * 365 * 86_400 * 1_000_000_000
        while day < 200 * 365 * 86_400 * 1_000_000_000 {
            #expect(TimestampParser.parse(TimestampParser.iso(day)) == day)
            day += 86_400 * 1_000_000_000 * 37 + 1_234_000_000
        }
    }

    @Test("time formats: directives, and errors that name the problem")
    func formats() throws {
        #expect(try TimeFormat("%b %d %Y %I:%M %p").parse("Oct 17 2019 09:30 PM")?.nanos == TimestampParser.parse("2019-10-17T21:30:00Z"))
        #expect(try TimeFormat("%y%m%d%H%M").parse("1910170930")?.nanos == TimestampParser.parse("2019-10-17T09:30:00Z"))
        #expect(try TimeFormat("%s").parse("1571302800")?.nanos == TimestampParser.parse("2019-10-17T09:00:00Z"))
        #expect(try TimeFormat("%Y-%m-%dT%T%z").parse("2019-10-17T11:00:00+02:00")?.nanos == TimestampParser.parse("2019-10-17T09:00:00Z"))
        #expect(try TimeFormat("%d/%m/%Y").parse("31/02/2019") == nil)
        #expect(throws: TimeFormatError.self) { try TimeFormat("%d/%m %H:%M") }
        #expect(throws: TimeFormatError.self) { try TimeFormat("%Y %Q") }
        #expect(throws: TimeFormatError.self) { try TimeFormat("%Y %I:%M") }
        #expect(FileTimeZone(parsing: "+05:30") == .offset(seconds: 19_800))
        #expect(FileTimeZone(parsing: "UTC") == .utc)
        #expect(FileTimeZone(parsing: "Mars/Olympus") == nil)
    }
}

@Suite("FileNameInfo")
struct FileNameInfoTests {
    @Test("symbol and interval from the names exchanges and vendors give their files", arguments: [
        ("BTCUSDT-30m-2019-01.csv", "BTCUSDT", Int64?(1800)),
        ("data/ETHUSDT-1h-2024-01-02.csv.gz", "ETHUSDT", 3600),
        ("BTCUSDT-60-2024-01.csv", "BTCUSDT", 3600),
        ("BTCUSDT-D-2024.csv", "BTCUSDT", 86_400),
        ("Binance_BTCUSDT_1h.csv", "BTCUSDT", 3600),
        ("Bitstamp_BTCUSD_d.csv", "BTCUSD", 86_400),
        ("Coinbase_BTCUSD_minute.csv", "BTCUSD", 60),
        ("btc_usd_30m.csv.gz", "BTC-USD", 1800),
        ("eth_usd_30m_live.csv", "ETH-USD", 1800),
        ("aaa_usd_history.csv", "AAA-USD", nil),
        ("BTCUSD_Candlestick_1_Hour_BID_01.01.2017-31.12.2017.csv", "BTCUSD", 3600),
        ("BTCUSDT-1M-2019.csv", "BTCUSDT", nil),
        ("prices.csv", "PRICES", nil),
    ])
    func names(path: String, symbol: String, interval: Int64?) {
        let info = FileNameInfo(path: path)
        #expect(info.symbol == Symbol(symbol))
        #expect(info.intervalSeconds == interval)
    }

    @Test("base currency of a market")
    func base() {
        #expect(FileNameInfo.baseCurrency(of: "BTC-USD") == "BTC")
        #expect(FileNameInfo.baseCurrency(of: "BTCUSDT") == "BTC")
        #expect(FileNameInfo.baseCurrency(of: "BINANCE:ETH-BTC") == "ETH")
        #expect(FileNameInfo.baseCurrency(of: "PRICES") == nil)
    }
}

