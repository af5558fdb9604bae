import QuorumMarketData
import QuorumModel
import QuorumPipeline

extension FuzzEntries {
    /// File names that steer the reader's inference (market and interval from the name, Binance/Bybit klines,
    /// Dukascopy, CryptoDataDownload, `.tsv`/`.txt`, and `.gz`: zlib reads a plain file under a `.gz` name as is):
    /// the vendor samples of Tests/Samples/exports, the demo's files and a few more.
    public static let barFileNames = [
        "btc_usd_30m.csv", "BTCUSDT-30m-2019-01.csv", "BTCUSDT-60-2024-01.csv",
        "BTCUSD_Candlestick_1_Hour_BID_01.01.2017-02.01.2017.csv", "Binance_ETHUSDT_d.csv", "Bitstamp_BTCUSD_1h.csv",
        "Gemini_BTCUSD_1h.csv", "btc_usd_pandas.csv", "btc_usd_prefixed.csv", "eth_usd_history.csv",
        "ltc_usd_1h_unsorted.csv", "ltc_usd_prices.csv", "markets_long.csv", "eth_usd_30m.csv.gz", "bars.tsv", "prices.txt",
    ]

    /// `FuzzBarReader`: the bytes as a bar file, read as `quorum ingest --check` and the ingest inbox read one
    /// (`IngestReader.readFile`: gzip, line splitting, layout inference, every row check, the market checks).
    ///
    /// Input: a name byte (`barFileNames[byte % 16]`), an options byte — bit 0 `--strict-order`, bit 1
    /// `--symbol BTC-USD --interval 30m`, bit 2 `--time-format '%d/%m/%Y %H:%M'`, bit 3 a 64-byte line limit — then
    /// the file's bytes. An unusable file must throw an `IngestError` that says what is wrong; a usable one must
    /// hold only valid bars in strict time order per market, and account for every data row as a bar or a rejection
    /// whose kept excerpt is bounded (the dead-letter record of `md.bars.dlq`).
    @Sendable public static func barReader(_ bytes: [UInt8]) {
        var input = FuzzBytes(bytes)
        guard let nameByte = input.byte(), let flags = input.byte() else { return }
        var options = BarReaderOptions()
        if flags & 0x01 != 0 { options.strictOrder = true }
        if flags & 0x02 != 0 {
            options.symbol = "BTC-USD"
            options.intervalSeconds = 1800
        }
        if flags & 0x04 != 0 {
            do { options.timeFormat = try TimeFormat("%d/%m/%Y %H:%M") } catch { finding("the documented time format example does not parse: \(error)") }
        }
        if flags & 0x08 != 0 { options.maxLineBytes = 64 }
        let name = barFileNames[Int(nameByte) % barFileNames.count]
        let path = FuzzScratch.write(input.rest(), as: name)

        let contents: BarFileContents
        do {
            contents = try IngestReader.readFile(path, options: options)
        } catch {
            if error.description.isEmpty { finding("IngestError \(error.code) without a description") }
            return
        }
        check(contents, lineLimit: options.maxLineBytes)
    }

    static func check(_ contents: BarFileContents, lineLimit: Int) {
        let accounted = contents.bars + contents.rejections.count
        if accounted != contents.dataRows {
            finding("\(contents.dataRows) data rows but \(contents.bars) bars + \(contents.rejections.count) rejections")
        }
        for series in contents.series {
            var previous: Nanos?
            for row in series.rows {
                let bar = row.bar
                if let previous, bar.openTime <= previous {
                    finding("\(series.symbol) line \(row.line): bar at \(bar.openTime) not after the one before (\(previous))")
                }
                previous = bar.openTime
                guard bar.low > .zero, bar.high >= bar.low, bar.open >= bar.low, bar.open <= bar.high,
                      bar.close >= bar.low, bar.close <= bar.high, bar.volume >= .zero else {
                    finding("\(series.symbol) line \(row.line): accepted an invalid bar \(bar)")
                }
                if bar.symbol != series.symbol || bar.intervalSeconds != series.intervalSeconds || bar.intervalSeconds <= 0 {
                    finding("\(series.symbol) line \(row.line): bar \(bar.symbol)/\(bar.intervalSeconds) s in series "
                            + "\(series.symbol)/\(series.intervalSeconds) s")
                }
            }
        }
        for rejection in contents.rejections {
            if rejection.detail.isEmpty { finding("rejection of line \(rejection.line) (\(rejection.code)) without a detail") }
            if rejection.rawLine.utf8.count > max(RowRejection.rawLimit, lineLimit) + 4 {
                finding("rejection of line \(rejection.line) keeps \(rejection.rawLine.utf8.count) bytes of the row "
                        + "(limit \(RowRejection.rawLimit))")
            }
        }
    }
}
