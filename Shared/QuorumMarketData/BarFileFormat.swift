import Foundation
import QuorumModel

/// The layout of an OHLCV file, found from its first lines: banner lines skipped, the field delimiter, and which
/// column holds what.
public struct BarFileLayout: Sendable, Hashable, CustomStringConvertible {
    /// `,` (default), `;` or tab: the one the header (or first row) uses most.
    public var delimiter: UInt8
    /// Lines before the header that are not part of the table (a vendor's banner such as
    /// `https://www.CryptoDataDownload.com`, `#` comments).
    public var preambleLines: Int
    /// The header's names as written; empty for a headerless file (Binance/Bybit kline layout).
    public var headerNames: [String]
    public var columns: BarColumns

    public var hasHeader: Bool { !headerNames.isEmpty }

    public var description: String {
        func name(_ index: Int) -> String {
            hasHeader ? "'\(excerpt(headerNames[index], limit: 24))'" : "column \(index + 1)"
        }
        var parts = [hasHeader ? "header" : "no header (open_time,open,high,low,close,volume,…)"]
        if preambleLines > 0 { parts.append("\(preambleLines) banner line(s) skipped") }
        if delimiter != UInt8(ascii: ",") { parts.append(delimiter == UInt8(ascii: "\t") ? "tab-separated" : "';'-separated") }
        if hasHeader { parts.append("time \(name(columns.time)), volume \(name(columns.volume))") }
        if let s = columns.symbol { parts.append("markets from \(name(s))" + (columns.exchange.map { " and \(name($0))" } ?? "")) }
        return parts.joined(separator: "; ")
    }
}

/// Zero-based positions of the columns a bar needs, and of the optional market columns of a long-format file.
public struct BarColumns: Sendable, Hashable {
    public var time, open, high, low, close, volume: Int
    /// `symbol` (or `ticker`, `pair`, `market`, `instrument`): the market of each row, for files holding many.
    public var symbol: Int?
    /// `exchange` (or `venue`): with `symbol`, one series per exchange and symbol.
    public var exchange: Int?

    public init(time: Int, open: Int, high: Int, low: Int, close: Int, volume: Int, symbol: Int? = nil, exchange: Int? = nil) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.symbol = symbol
        self.exchange = exchange
    }

    /// The Binance/Bybit kline layout of a headerless file: `open_time, open, high, low, close, volume, …`.
    public static let kline = BarColumns(time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5)

    /// Accepted names for the time column, in order of preference when several are present (after lower-casing,
    /// with spaces as `_`).
    public static let timeColumnNames = ["timestamp", "open_time", "opentime", "unix", "unix_timestamp", "starttime",
                                         "start_time", "datetime", "date", "time", "day", "gmt_time", "local_time"]
    public static let valueColumnNames = ["open", "high", "low", "close", "volume"]
    static let symbolColumnNames = ["symbol", "ticker", "pair", "market", "instrument"]
    static let exchangeColumnNames = ["exchange", "venue", "exchange_name"]

    /// `Open Time` → `open_time`, `Volume_(BTC)` → `volume_btc`, `openPrice` → `openprice`.
    static func normalise(_ name: some StringProtocol) -> String {
        var out = ""
        for c in name.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: " \t\"")) {
            switch c {
            case " ", "-": out.append("_")
            case "(", ")", "[", "]": continue
            default: out.append(c)
            }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.replacingOccurrences(of: "__", with: "_")
    }

    /// Maps a header's names to positions.
    ///
    /// - Names match after `normalise`: exactly (`close`), with a `price` suffix (`closePrice`, Bybit), or after a
    ///   prefix ending in `.`, `_`, `:` (`BTC.open`, `btc_close`, `X:high`).
    /// - Time: `timeColumn` when given (a name, or a 1-based position), else the first of `timeColumnNames`
    ///   present, else an empty first header cell (a pandas index written without a name).
    /// - Volume: a file with volumes in both currencies of the pair (`Volume BTC` and `Volume USD`, or `volume_btc`
    ///   beside `volume` in USD) gives the base one: the column tagged with `baseCurrency` when known, else the
    ///   first tagged with a currency that is not a quote currency, else plain `volume`. Quote and taker volumes
    ///   (`quote_volume`, `taker_buy_volume`, `volumeto`) are never the bar's volume.
    ///
    /// Returns what is missing when a required column cannot be found.
    static func fromHeader(_ names: [String], timeColumn: String?, baseCurrency: String?) -> Result<BarColumns, HeaderProblem> {
        let normal = names.map { normalise($0) }
        func tokens(_ n: String) -> [Substring] { n.split(whereSeparator: { $0 == "." || $0 == "_" || $0 == ":" }) }
        /// The value name a column stands for, ignoring prefixes and a `price` suffix.
        func valueName(_ n: String) -> String? {
            for candidate in [n, n.hasSuffix("price") ? String(n.dropLast(5)).trimmingCharacters(in: CharacterSet(charactersIn: "_")) : nil].compactMap({ $0 }) {
                if valueColumnNames.contains(candidate) { return candidate }
                if let last = tokens(candidate).last, ["open", "high", "low", "close"].contains(String(last)) { return String(last) }
            }
            return nil
        }
        func position(_ value: String) -> Int? {
            normal.firstIndex(of: value) ?? normal.indices.first { valueName(normal[$0]) == value && normal[$0] != "adj_close" }
        }
        // Time.
        let time: Int?
        if let timeColumn {
            if let oneBased = Int(timeColumn) {
                guard oneBased >= 1, oneBased <= names.count else {
                    return .failure(.timeColumnOutOfRange(oneBased, names.count))
                }
                time = oneBased - 1
            } else {
                guard let index = normal.firstIndex(of: normalise(timeColumn)) else {
                    return .failure(.noSuchTimeColumn(timeColumn))
                }
                time = index
            }
        } else {
            time = timeColumnNames.lazy.compactMap { normal.firstIndex(of: $0) }.first
                ?? (normal.first == "" ? 0 : nil)
        }
        // Volume.
        var plain: Int?
        var tagged: [(index: Int, currency: String)] = []
        for (i, n) in normal.enumerated() {
            let t = tokens(n).map(String.init)
            if t.contains("quote") || t.contains("taker") || n == "volumeto" || n == "volume_to" { continue }
            if n == "volume" || n == "vol" { plain = plain ?? i; continue }
            if n == "volumefrom" || n == "volume_from" { tagged.append((i, baseCurrency ?? "")); continue }
            if t.count == 2, t[0] == "volume" || t[0] == "vol" { tagged.append((i, t[1].uppercased())) }
            else if t.count == 2, t[1] == "volume" {
                // `BTC.volume` beside `BTC.open`: the prefix names the market, not a currency.
                let marketPrefix = normal.contains { tokens($0).first.map(String.init) == t[0] && valueName($0) == "open" }
                if marketPrefix { plain = plain ?? i } else { tagged.append((i, t[0].uppercased())) }
            }
        }
        let quoteLike = FileNameInfo.quoteCurrencies.union(["CURRENCY", "QUOTE", "USDT", "USD"])
        let volume = tagged.first { baseCurrency != nil && $0.currency == baseCurrency?.uppercased() }?.index
            ?? tagged.first { !quoteLike.contains($0.currency) }?.index
            ?? plain
            ?? tagged.first { $0.currency == baseCurrency?.uppercased() || $0.currency.isEmpty }?.index
        var missing: [String] = []
        if time == nil { missing.append("a time column") }
        let values = ["open", "high", "low", "close"].map { position($0) }
        for (name, index) in zip(["open", "high", "low", "close"], values) where index == nil { missing.append(name) }
        if volume == nil {
            missing.append(tagged.isEmpty ? "volume" : "a base-currency volume (only quote volumes: "
                           + tagged.map { names[$0.index] }.joined(separator: ", ") + ")")
        }
        guard missing.isEmpty, let time, let volume, let open = values[0], let high = values[1], let low = values[2],
              let close = values[3] else {
            return .failure(.missing(missing))
        }
        return .success(BarColumns(time: time, open: open, high: high, low: low, close: close, volume: volume,
                                   symbol: symbolColumnNames.lazy.compactMap { normal.firstIndex(of: $0) }.first,
                                   exchange: exchangeColumnNames.lazy.compactMap { normal.firstIndex(of: $0) }.first))
    }

    var highestIndex: Int { [time, open, high, low, close, volume, symbol ?? 0, exchange ?? 0].max()! }
}

/// Why a header could not be mapped.
enum HeaderProblem: Error, Equatable {
    case missing([String])
    case noSuchTimeColumn(String)
    case timeColumnOutOfRange(Int, Int)
}

/// A problem with a whole file (not one row): the reader cannot continue.
public struct BarFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The first lines are neither a recognised header nor data rows.
        case unknownHeader
        /// Too few rows with valid timestamps to infer the bar interval.
        case cannotInferInterval
        /// The given or inferred interval is not a positive whole number of seconds.
        case invalidInterval
        /// Not one row's time could be read: the time format needs to be given.
        case unreadableTimes
    }

    public var code: Code
    public var file: String
    /// 1-based line number the problem refers to.
    public var line: Int
    /// What went wrong and what to do.
    public var message: String

    public var description: String { "\(file):\(line): \(code.rawValue): \(message)" }
}
