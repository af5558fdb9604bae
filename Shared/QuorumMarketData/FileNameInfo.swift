import QuorumModel

/// What a data file's name says about its contents: the market and the bar interval, when it says them.
///
/// - Binance and Bybit kline files: `BTCUSDT-30m-2019-01.csv` → `BTCUSDT`, 30 minutes (Bybit's minute codes
///   `1 3 5 15 30 60 120 240 360 720` and `D`/`W` after the symbol too: `BTCUSDT-60-2024-01.csv`).
/// - CryptoDataDownload: `Binance_BTCUSDT_1h.csv`, `Bitstamp_BTCUSD_d.csv`, `Coinbase_BTCUSD_minute.csv` (the
///   exchange in front is skipped; their `symbol` column names the market anyway).
/// - Quorum's own: `btc_usd_30m.csv.gz` → `BTC-USD`, 30 minutes.
/// - Otherwise the name up to its first separator, in capitals, and no interval.
public struct FileNameInfo: Sendable, Hashable {
    public var symbol: Symbol
    public var intervalSeconds: Int64?

    public init(path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var stem = name
        for ext in [".gz", ".zip", ".csv", ".tsv", ".txt"] where stem.lowercased().hasSuffix(ext) {
            stem.removeLast(ext.count)
        }
        var tokens = stem.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == " " || $0 == "." }).map(String.init)
        if tokens.count > 1, Self.exchanges.contains(tokens[0].lowercased()) { tokens.removeFirst() }
        guard let first = tokens.first else {
            symbol = Symbol(stem.uppercased())
            intervalSeconds = nil
            return
        }
        var symbolTokens = 1
        if tokens.count >= 2, first.allSatisfy(\.isLetter), Self.quoteCurrencies.contains(tokens[1].uppercased()) {
            symbol = Symbol("\(first.uppercased())-\(tokens[1].uppercased())")
            symbolTokens = 2
        } else {
            symbol = Symbol(first.uppercased())
        }
        let rest = tokens.dropFirst(symbolTokens)
        if let next = rest.first, let minutes = Self.bybitMinuteCodes[next] {
            intervalSeconds = minutes * 60
        } else {
            intervalSeconds = rest.lazy.compactMap(Self.interval(ofToken:)).first
        }
    }

    /// `30m`, `1h`, `4H`, `1d`, `1w`, `15s`, `5min`, `minute`, `hourly`, `d`, `daily` → seconds; nil otherwise
    /// (`1M` and `1mo` are months, not a fixed number of seconds).
    public static func interval(ofToken token: String) -> Int64? {
        switch token.lowercased() {
        case "minute", "min": return 60
        case "hour", "hourly", "h": return 3600
        case "day", "daily", "d": return 86_400
        case "week", "weekly", "w": return 604_800
        default: break
        }
        let digits = token.prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count <= 4, let count = Int64(digits), count > 0 else { return nil }
        switch token.dropFirst(digits.count) {
        case "s": return count
        case "m", "min": return count * 60
        case "h", "H": return count * 3600
        case "d", "D": return count * 86_400
        case "w", "W": return count * 604_800
        default: return nil
        }
    }

    /// The base currency of a market symbol: `BTC-USD` → `BTC`, `BTCUSDT` → `BTC`, `BINANCE:ETH-BTC` → `ETH`; nil
    /// when it cannot be told.
    public static func baseCurrency(of symbol: Symbol) -> String? {
        var name = symbol.name.uppercased()
        if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
        if let dash = name.firstIndex(where: { $0 == "-" || $0 == "/" }) { return String(name[..<dash]) }
        for quote in quoteCurrencies.sorted(by: { $0.count > $1.count }) where name.hasSuffix(quote) && name.count > quote.count {
            return String(name.dropLast(quote.count))
        }
        return nil
    }

    /// Currencies markets are quoted in (the second half of a pair).
    public static let quoteCurrencies: Set<String> = [
        "USD", "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "DAI", "EUR", "GBP", "JPY", "KRW", "TRY", "AUD", "CAD", "CHF",
        "BTC", "ETH", "BNB",
    ]

    private static let exchanges: Set<String> = [
        "binance", "binanceus", "bitstamp", "coinbase", "gdax", "kraken", "bitfinex", "gemini", "okx", "okex", "huobi",
        "bybit", "kucoin", "bittrex", "poloniex", "hitbtc", "deribit", "cexio", "exmo", "ftx", "bitmex",
    ]

    /// Bybit's kline interval codes (minutes, and D/W).
    private static let bybitMinuteCodes: [String: Int64] = [
        "1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "120": 120, "240": 240, "360": 360, "720": 720,
        "D": 1_440, "W": 10_080,
    ]
}
