import Foundation
import QuorumMarketData
import QuorumModel
import Testing

/// The committed samples of the files people download (Tests/Samples/exports, written by hand in each layout): each
/// reads with no options, the market, interval and volume inferred.
@Suite("Exchange and vendor exports")
struct ExportFormatTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/exports").path

    static func read(_ name: String) throws -> BarFileContents {
        let text = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
        return try BarFileReader.read(text: text, fileName: name)
    }

    static func time(_ iso: String) -> Nanos { TimestampParser.parse(iso)! }

    /// The one series of a file, with no rejected row.
    static func single(_ name: String) throws -> BarSeries {
        let contents = try read(name)
        #expect(contents.rejections.isEmpty, "\(contents.rejections)")
        #expect(contents.series.count == 1)
        return try #require(contents.series.first)
    }

    @Test("CryptoDataDownload hourly: banner, newest first, 09-AM times, the base-currency volume")
    func cryptoDataDownloadHourly() throws {
        let s = try Self.single("Bitstamp_BTCUSD_1h.csv")
        #expect(s.symbol == "BTC-USD" && s.intervalSeconds == 3600 && s.rows.count == 6)
        #expect(s.rows.first?.bar.openTime == Self.time("2019-10-16T21:00:00Z"))
        #expect(s.rows.last?.bar.openTime == Self.time("2019-10-17T02:00:00Z"))
        #expect(s.rows.map(\.bar.openTime) == s.rows.map(\.bar.openTime).sorted())
        #expect(s.rows.last?.bar.volume == Fixed("41.25"))          // Volume BTC, not Volume USD
        #expect(s.reordered == 5)
        #expect(try Self.read("Bitstamp_BTCUSD_1h.csv").layout?.preambleLines == 1)
    }

    @Test("CryptoDataDownload daily (unix ms) and volume_btc beside volume in USD")
    func cryptoDataDownloadOthers() throws {
        let daily = try Self.single("Binance_ETHUSDT_d.csv")
        #expect(daily.symbol == "ETH-USDT" && daily.intervalSeconds == 86_400 && daily.rows.count == 4)
        #expect(daily.rows.last?.bar == Bar(symbol: "ETH-USDT", openTime: Self.time("2019-10-17T00:00:00Z"), intervalSeconds: 86_400,
                                            open: Fixed("174.1")!, high: Fixed("178.9")!, low: Fixed("172.5")!,
                                            close: Fixed("177.3")!, volume: Fixed("310520.44")!))
        let hourly = try Self.single("Gemini_BTCUSD_1h.csv")
        #expect(hourly.symbol == "BTCUSD" && hourly.intervalSeconds == 3600)
        #expect(hourly.rows.map(\.bar.volume) == [Fixed("11.0")!, Fixed("9.75")!, Fixed("12.5")!])   // volume_btc
    }

    @Test("a long-format file with exchange and symbol columns splits into one series per market")
    func longFormat() throws {
        let contents = try Self.read("markets_long.csv")
        #expect(contents.rejections.isEmpty)
        #expect(contents.series.map(\.symbol) == ["BINANCE:BTC-USDT", "KRAKEN:BTC-USD", "BINANCE:ETH-USDT"])
        for s in contents.series {
            #expect(s.intervalSeconds == 3600 && s.rows.count == 3 && s.reordered == 0)
            #expect(s.rows.allSatisfy { $0.bar.symbol == s.symbol })
        }
        #expect(contents.series[1].rows.map(\.bar.volume) == [20, 22, 18])
    }

    @Test("calendar days in a day or Date column are daily bars")
    func calendarDays() throws {
        let day = try Self.single("eth_usd_history.csv")
        #expect(day.symbol == "ETH-USD" && day.intervalSeconds == 86_400 && day.rows.count == 4)
        #expect(day.rows.first?.bar.openTime == Self.time("2019-10-01T00:00:00Z"))
        let date = try Self.single("ltc_usd_prices.csv")
        #expect(date.symbol == "LTC-USD" && date.intervalSeconds == 86_400 && date.rows.count == 3)
    }

    @Test("a pandas export whose index column has an empty header")
    func pandasIndex() throws {
        let s = try Self.single("btc_usd_pandas.csv")
        #expect(s.symbol == "BTC-USD" && s.intervalSeconds == 1800 && s.rows.count == 4)
        #expect(s.rows.first?.bar.openTime == Self.time("2019-10-17T00:00:00Z"))
        #expect(s.rows.first?.bar.volume == Fixed("100.5"))
    }

    @Test("prefixed columns (BTC.open …)")
    func prefixed() throws {
        let s = try Self.single("btc_usd_prefixed.csv")
        #expect(s.symbol == "BTC-USD" && s.intervalSeconds == 3600 && s.rows.count == 3)
        #expect(s.rows[1].bar.close == 8055 && s.rows[1].bar.volume == 110)
    }

    @Test("Dukascopy: Gmt time column, 01.01.2017 22:00:00.000, interval from the file name")
    func dukascopy() throws {
        let s = try Self.single("BTCUSD_Candlestick_1_Hour_BID_01.01.2017-02.01.2017.csv")
        #expect(s.symbol == "BTCUSD" && s.intervalSeconds == 3600 && s.rows.count == 4)
        #expect(s.rows.first?.bar.openTime == Self.time("2017-01-01T22:00:00Z"))
        #expect(s.rows.last?.bar.openTime == Self.time("2017-01-02T01:00:00Z"))
    }

    @Test("Binance klines: symbol and interval from BTCUSDT-30m-2019-01.csv, no header")
    func binance() throws {
        let s = try Self.single("BTCUSDT-30m-2019-01.csv")
        #expect(s.symbol == "BTCUSDT" && s.intervalSeconds == 1800 && s.rows.count == 4)
        #expect(s.rows.first?.bar == Bar(symbol: "BTCUSDT", openTime: Self.time("2019-01-01T00:00:00Z"), intervalSeconds: 1800,
                                         open: Fixed("3701.23")!, high: Fixed("3713.00")!, low: Fixed("3697.00")!,
                                         close: Fixed("3703.56")!, volume: Fixed("301.29104")!))
    }

    @Test("Bybit klines: minute code in the file name, startTime/openPrice header, newest first")
    func bybit() throws {
        let s = try Self.single("BTCUSDT-60-2024-01.csv")
        #expect(s.symbol == "BTCUSDT" && s.intervalSeconds == 3600 && s.rows.count == 4 && s.reordered == 3)
        #expect(s.rows.first?.bar.openTime == Self.time("2024-01-01T00:00:00Z"))
        #expect(s.rows.first?.bar.volume == Fixed("150.75"))   // volume, not turnover
    }

    @Test("unsorted rows are sorted and counted; a row dated 2117 is a time outlier, not the end of the file")
    func unsortedWithOutlier() throws {
        let contents = try Self.read("ltc_usd_1h_unsorted.csv")
        #expect(contents.rejections.map(\.code) == [.timeOutlier])
        #expect(contents.rejections.first?.line == 4)
        let s = try #require(contents.series.first)
        #expect(s.rows.count == 5 && s.intervalSeconds == 3600)
        #expect(s.rows.map(\.bar.openTime) == (0..<5).map { Self.time("2019-03-01T00:00:00Z") + Nanos($0) * 3_600_000_000_000 })
        #expect(s.reordered == 3)   // 00:00 and 01:00 after 02:00, 03:00 after 04:00
    }
}
