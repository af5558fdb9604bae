import QuorumModel

/// Why a data row did not become a bar. Each check has its own code so that reports and dead-letter
/// records can be counted per cause.
public enum RowRejectionCode: String, Sendable, Hashable, CaseIterable {
    /// A required column is absent from the row or empty.
    case missingField
    /// The line is longer than the reader keeps (`BarReaderOptions.maxLineBytes`): not a CSV row.
    case lineTooLong
    /// The market column holds something that is not a market name.
    case invalidMarket
    /// The time column is not an accepted timestamp (see `TimestampParser`, `TimeFormat`).
    case unparsableTimestamp
    /// A price or volume is not a decimal number, or is out of `Fixed`'s range.
    case unparsableNumber
    /// A price or volume is NaN or infinite.
    case nonFinite
    /// More than 8 decimals while `ExcessDecimalsPolicy.reject` is chosen.
    case tooManyDecimals
    /// open, high, low or close is zero or negative.
    case nonPositivePrice
    /// volume is negative (zero is allowed: a quiet bar).
    case negativeVolume
    /// high is below low.
    case highBelowLow
    /// open or close lies outside [low, high].
    case openOrCloseOutsideRange
    /// The time lies far from every other row of its market (a typo such as 2117 among 2019 rows).
    case timeOutlier
    /// Same open time as a bar accepted before.
    case duplicateTimestamp
    /// Earlier than the last accepted bar (only with `BarReaderOptions.strictOrder`; otherwise rows are sorted).
    case outOfOrderTimestamp
    /// Open time is not a multiple of the interval (see `BarReaderOptions.alignToEpoch`).
    case misalignedTimestamp
    /// close moved more than `BarReaderOptions.outlierFactor` from the previous accepted close.
    case outlier
}

/// One data row that was not turned into a bar.
public struct RowRejection: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based physical line number in the file (the header is line 1 when there is no banner).
    public var line: Int
    public var code: RowRejectionCode
    /// Human-readable specifics (which column, which values). Echoes at most a short excerpt of the input.
    public var detail: String
    /// The market of the row, when it could be told.
    public var symbol: Symbol?
    /// The row's open time, when it could be read (a rejected row's time tells which gap between bars it leaves).
    public var time: Nanos?
    /// The row as read, or its first `RowRejection.rawLimit` bytes: what a dead-letter record carries.
    public var rawLine: String
    /// Length of the whole row in bytes.
    public var rawByteCount: Int
    /// FNV-1a 64 digest of the whole row when `rawLine` is only its beginning.
    public var rawDigest: String?

    /// Bytes of a row kept for its dead-letter record.
    public static let rawLimit = 1024

    public init(file: String, line: Int, code: RowRejectionCode, detail: String, symbol: Symbol? = nil, time: Nanos? = nil,
                raw: TextLine) {
        self.file = file
        self.line = line
        self.code = code
        self.detail = detail
        self.symbol = symbol
        self.time = time
        self.rawByteCount = raw.byteCount
        if raw.byteCount <= Self.rawLimit, !raw.isTruncated {
            rawLine = raw.text
            rawDigest = nil
        } else {
            rawLine = String(decoding: raw.text.utf8.prefix(Self.rawLimit), as: UTF8.self)
            rawDigest = raw.digest ?? FNV1a64.hex(of: Array(raw.text.utf8))
        }
    }

    public var description: String { "\(file):\(line): \(code.rawValue): \(detail)" }
}

/// Missing bars between two accepted bars. Information, not an error.
public struct GapInfo: Sendable, Hashable {
    public var symbol: Symbol
    /// Open time of the last accepted bar before the gap.
    public var after: Nanos
    /// Open time of the first accepted bar after the gap.
    public var before: Nanos
    /// Number of whole intervals missing between them (≥ 1).
    public var missingBars: Int
    /// Line of the bar after the gap.
    public var line: Int

    public init(symbol: Symbol, after: Nanos, before: Nanos, missingBars: Int, line: Int) {
        self.symbol = symbol
        self.after = after
        self.before = before
        self.missingBars = missingBars
        self.line = line
    }
}

/// Settings of a `BarFileReader`. Everything the file does not say can be given here (`quorum ingest` options).
public struct BarReaderOptions: Sendable, Hashable {
    /// The market of every row (overrides a symbol column and the file name).
    public var symbol: Symbol?
    /// Bar interval in seconds; nil takes it from the file name, else infers it per market as the most common
    /// positive difference between consecutive (sorted) open times (ties go to the smaller difference).
    public var intervalSeconds: Int64?
    /// The time column: a header name or a 1-based position; nil finds it by name (`BarColumns.timeColumnNames`).
    public var timeColumn: String?
    /// The format of the time column; nil accepts ISO-8601, epoch numbers and the built-in vendor formats.
    public var timeFormat: TimeFormat?
    /// The zone of times that name none. Default UTC.
    public var timeZone: FileTimeZone
    /// false (default): rows are sorted by time within each market (newest-first and unsorted files are read, and
    /// `BarSeries.reordered` says how many rows were out of place). true: rows must come oldest first; a row
    /// earlier than the last accepted one is rejected as `outOfOrderTimestamp`.
    public var strictOrder: Bool
    /// Largest accepted relative move of close vs the previous accepted close (0.5 = 50 %); nil disables
    /// the outlier check. Default 0.5.
    public var outlierFactor: Fixed?
    /// After this many outlier rejections in a row, the reader accepts that the level really moved: the
    /// next row is checked without the outlier rule (its other checks still apply). Default 3.
    public var outlierResetAfter: Int
    /// true (default): open times must be multiples of the interval since the Unix epoch (exchange bars of
    /// 1 minute to 1 day are). false: multiples of the interval since the first accepted bar.
    public var alignToEpoch: Bool
    /// Numbers with more than 8 decimals: round half-to-even (default) or reject.
    public var excessDecimals: ExcessDecimalsPolicy
    /// A group of at most this many rows whose times lie more than max(1000 intervals, 30 days) from all other
    /// rows of their market is rejected as `timeOutlier`. Default 3.
    public var timeOutlierMaxRows: Int
    /// Longest line kept, in bytes; a longer row is rejected as `lineTooLong`. Default 64 KiB.
    public var maxLineBytes: Int

    public init(symbol: Symbol? = nil, intervalSeconds: Int64? = nil, timeColumn: String? = nil,
                timeFormat: TimeFormat? = nil, timeZone: FileTimeZone = .utc, strictOrder: Bool = false,
                outlierFactor: Fixed? = Fixed("0.5"), outlierResetAfter: Int = 3, alignToEpoch: Bool = true,
                excessDecimals: ExcessDecimalsPolicy = .roundHalfEven, timeOutlierMaxRows: Int = 3,
                maxLineBytes: Int = 65_536) {
        self.symbol = symbol
        self.intervalSeconds = intervalSeconds
        self.timeColumn = timeColumn
        self.timeFormat = timeFormat
        self.timeZone = timeZone
        self.strictOrder = strictOrder
        self.outlierFactor = outlierFactor
        self.outlierResetAfter = max(1, outlierResetAfter)
        self.alignToEpoch = alignToEpoch
        self.excessDecimals = excessDecimals
        self.timeOutlierMaxRows = max(0, timeOutlierMaxRows)
        self.maxLineBytes = max(256, maxLineBytes)
    }
}

/// A bar and the line it came from.
public struct BarRow: Sendable, Hashable {
    public var bar: Bar
    public var line: Int

    public init(bar: Bar, line: Int) {
        self.bar = bar
        self.line = line
    }
}

/// The bars of one market in a file, in event-time order.
public struct BarSeries: Sendable, Hashable {
    public var symbol: Symbol
    public var intervalSeconds: Int64
    public var rows: [BarRow]
    public var gaps: [GapInfo]
    /// Rows that came earlier in the file than a later-timed row and were sorted into place.
    public var reordered: Int
    /// Rejected rows of this market by cause.
    public var rejected: [RowRejectionCode: Int]

    public var rejectedCount: Int { rejected.values.reduce(0, +) }
    public var missingBars: Int { gaps.reduce(0) { $0 + $1.missingBars } }
}

/// Everything read from one file.
public struct BarFileContents: Sendable {
    public var file: String
    /// nil when the file held no line but blank ones.
    public var layout: BarFileLayout?
    /// One series per market, in order of first appearance.
    public var series: [BarSeries]
    /// Every rejected row, in line order.
    public var rejections: [RowRejection]
    /// Data rows seen (every one is a bar or a rejection).
    public var dataRows: Int

    /// Rejections whose market could not be told (a long-format row without a usable symbol).
    public var unattributedRejections: [RowRejection] { rejections.filter { $0.symbol == nil } }
    public var bars: Int { series.reduce(0) { $0 + $1.rows.count } }
}

/// Reads an OHLCV CSV file: feed it byte chunks (or lines), then `finish()` gives the bars of each market,
/// validated and in event-time order, and every rejected row with its reason.
///
/// - Layout (`BarFileLayout`): up to 10 banner lines are skipped; a header names the columns (any order and case,
///   prefixed names, both-currency volumes, a `symbol`/`exchange` column for many markets in one file); a
///   headerless file is read as Binance/Bybit klines. The market comes from `options.symbol`, else the row's
///   symbol column, else the file name (`FileNameInfo`); the interval from the options, the file name, or the data.
/// - Row checks as rows arrive, the first failure naming the row's code: line length → market → fields present →
///   time → numbers (NaN/inf, decimals) → prices > 0, volume ≥ 0, high ≥ low, open/close in [low, high].
/// - Then per market at `finish()`: time outliers → order (sorted, or strict) → duplicate → alignment → price
///   outlier, and gaps between accepted bars. Rejected rows never change what later rows are checked against.
/// - Memory: the accepted rows of the file (a bounded excerpt of each line, see `LineSplitter`).
///
/// ```swift
/// var reader = BarFileReader(fileName: "btc_usd_30m.csv")
/// for chunk in chunks { try reader.feed(bytes: chunk) }
/// let contents = try reader.finish()
/// ```
public struct BarFileReader: Sendable {
    public let fileName: String
    public let options: BarReaderOptions
    /// What the file name says (market, interval).
    public let nameInfo: FileNameInfo
    /// Known once the header (or first data row) has been read.
    public private(set) var layout: BarFileLayout?

    private var lineNumber = 0
    private var preamble = 0
    private var splitter: LineSplitter
    private var markets: [MarketRows] = []
    private var marketIndex: [String: Int] = [:]
    private var rejections: [RowRejection] = []
    private var dataRows = 0
    private var firstUnreadableTime: (line: Int, value: String)?

    /// A row that passed the row checks, waiting for the market checks of `finish()`.
    private struct ParsedRow: Sendable {
        var line: Int
        var time: Nanos
        var open, high, low, close, volume: Fixed
        var raw: TextLine
    }

    private struct MarketRows: Sendable {
        var symbol: Symbol
        var rows: [ParsedRow] = []
    }

    public init(fileName: String, options: BarReaderOptions = BarReaderOptions()) {
        self.fileName = fileName
        self.options = options
        self.nameInfo = FileNameInfo(path: fileName)
        self.splitter = LineSplitter(limit: options.maxLineBytes)
    }

    /// Reads a whole text at once (tests, small files).
    public static func read(text: String, fileName: String,
                            options: BarReaderOptions = BarReaderOptions()) throws(BarFileError) -> BarFileContents {
        var reader = BarFileReader(fileName: fileName, options: options)
        try reader.feed(bytes: Array(text.utf8))
        return try reader.finish()
    }

    /// Feeds a chunk of file bytes (any size; lines may span chunks).
    public mutating func feed(bytes chunk: some Sequence<UInt8>) throws(BarFileError) {
        for line in splitter.feed(chunk) { try feed(line: line) }
    }

    /// Bytes of an unfinished last line held so far (a complete file ends with 0 unless its last line lacks a newline).
    public var pendingBytes: Int { splitter.pendingBytes }

    /// Ends the input: a final line without newline is a row like the others; then the market checks run.
    public mutating func finish() throws(BarFileError) -> BarFileContents {
        for line in splitter.finish() { try feed(line: line) }
        var series: [BarSeries] = []
        if layout != nil {
            if markets.allSatisfy({ $0.rows.isEmpty }), let unreadable = firstUnreadableTime {
                let column = layout.map { describeColumn($0.columns.time, in: $0) } ?? "the time column"
                throw BarFileError(
                    code: .unreadableTimes, file: fileName, line: unreadable.line,
                    message: "no row's time could be read: \(column) holds '\(unreadable.value)'. Give its format with "
                        + "--time-format (e.g. --time-format '%d/%m/%Y %H:%M'), its zone with --timezone if it is not "
                        + "UTC, or another column with --time-column")
            }
            for market in markets { series.append(try check(market)) }
        }
        rejections.sort { $0.line < $1.line }
        for i in series.indices {
            for r in rejections where r.symbol == series[i].symbol { series[i].rejected[r.code, default: 0] += 1 }
        }
        return BarFileContents(file: fileName, layout: layout, series: series, rejections: rejections, dataRows: dataRows)
    }

    /// Feeds one line (without its terminator).
    public mutating func feed(line: String) throws(BarFileError) {
        try feed(line: TextLine(text: line, byteCount: line.utf8.count, digest: nil))
    }

    public mutating func feed(line raw: TextLine) throws(BarFileError) {
        lineNumber += 1
        var text = raw.text
        if lineNumber == 1, text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if text.last == "\r" { text.removeLast() }
        if !raw.isTruncated, text.allSatisfy({ $0 == " " || $0 == "\t" }) { return }
        if layout == nil {
            if raw.isTruncated {
                throw BarFileError(code: .unknownHeader, file: fileName, line: lineNumber,
                                   message: "line \(lineNumber) is \(raw.byteCount) bytes long before any header or row: "
                                       + "not an OHLCV CSV file (it starts '\(excerpt(text))')")
            }
            try readLayout(text)
            // The first line of a headerless file is already a data row.
            if let layout, !layout.hasHeader { row(text, raw: raw) }
            return
        }
        row(text, raw: raw)
    }

    // MARK: Layout

    private mutating func readLayout(_ text: String) throws(BarFileError) {
        guard let delimiter = Self.delimiter(of: text), !text.hasPrefix("#") else {
            preamble += 1
            guard preamble <= 10 else {
                throw BarFileError(code: .unknownHeader, file: fileName, line: lineNumber,
                                   message: "the first 10 lines hold no ',', ';' or tab: not a CSV file (line 1 starts "
                                       + "'\(excerpt(text))')")
            }
            return
        }
        let fields = Self.split(text, delimiter: delimiter)
        // No header: the first row is data when its time column holds a time (Binance/Bybit klines).
        let timeIndex = options.timeColumn.flatMap(Int.init).map { $0 - 1 } ?? 0
        if timeIndex >= 0, timeIndex < fields.count, parseTime(fields[timeIndex]) != nil {
            var columns = BarColumns.kline
            if timeIndex != 0 { columns.time = timeIndex }
            layout = BarFileLayout(delimiter: delimiter, preambleLines: preamble, headerNames: [], columns: columns)
            return
        }
        let names = fields.map(String.init)
        let base = FileNameInfo.baseCurrency(of: options.symbol ?? nameInfo.symbol)
        switch BarColumns.fromHeader(names, timeColumn: options.timeColumn, baseCurrency: base) {
        case .success(let columns):
            layout = BarFileLayout(delimiter: delimiter, preambleLines: preamble, headerNames: names, columns: columns)
        case .failure(let problem):
            let shown = names.prefix(12).map { "'\(excerpt($0, limit: 24))'" }.joined(separator: ", ")
                + (names.count > 12 ? ", … (\(names.count) columns)" : "")
            let what: String
            switch problem {
            case .missing(let missing): what = "lacks \(missing.joined(separator: ", "))"
            case .noSuchTimeColumn(let name): what = "has no column '\(excerpt(name, limit: 24))' (--time-column)"
            case .timeColumnOutOfRange(let n, let count): what = "has \(count) columns, so --time-column \(n) is not one"
            }
            throw BarFileError(
                code: .unknownHeader, file: fileName, line: lineNumber,
                message: "header [\(shown)] \(what). Quorum reads a header with a time column ("
                    + BarColumns.timeColumnNames.joined(separator: ", ")
                    + ", or --time-column NAME|N) and open, high, low, close, volume in any order and case (prefixes "
                    + "such as BTC.open are fine), or a headerless Binance/Bybit kline file (open_time,open,high,low,close,volume,…)")
        }
    }

    /// The most frequent of `,`, `;` and tab in the line (nil when none occurs).
    static func delimiter(of text: String) -> UInt8? {
        var counts: [UInt8: Int] = [:]
        for byte in text.utf8 where byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "\t") {
            counts[byte, default: 0] += 1
        }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }?.key
    }

    /// Splits a row on the delimiter; fields are trimmed, and double quotes around a field (which may contain the
    /// delimiter; `""` inside is one quote) are removed.
    static func split(_ text: String, delimiter: UInt8) -> [Substring] {
        let d = Character(Unicode.Scalar(delimiter))
        func trimmed(_ field: Substring) -> Substring {
            var f = field.drop { $0 == " " || $0 == "\t" }
            while let last = f.last, last == " " || last == "\t" { f = f.dropLast() }
            if f.count >= 2, f.first == "\"", f.last == "\"" { f = f.dropFirst().dropLast() }
            return f
        }
        guard text.contains("\"") else {
            return text.split(separator: d, omittingEmptySubsequences: false).map(trimmed)
        }
        var fields: [Substring] = []
        var current = ""
        var quoted = false
        var justClosed = false   // the previous character closed a quoted part: a quote now is an escaped one ("")
        for c in text {
            if quoted {
                if c == "\"" { quoted = false; justClosed = true; continue }
                current.append(c)
            } else if c == "\"" {
                if justClosed { current.append("\"") }
                quoted = true
            } else if c == d {
                fields.append(trimmed(Substring(current)))
                current = ""
            } else {
                current.append(c)
            }
            justClosed = false
        }
        fields.append(trimmed(Substring(current)))
        return fields
    }

    private func describeColumn(_ index: Int, in layout: BarFileLayout) -> String {
        layout.hasHeader ? "column '\(excerpt(layout.headerNames[index], limit: 24))' (\(index + 1))" : "column \(index + 1)"
    }

    private func parseTime(_ field: Substring) -> Nanos? {
        guard let parsed = options.timeFormat.map({ $0.parse(field) }) ?? TimestampParser.parseDetailed(field) else { return nil }
        return parsed.naive ? options.timeZone.toUTC(parsed.nanos) : parsed.nanos
    }

    // MARK: Rows

    /// The row checks; a row that passes is kept for its market's checks in `finish()`.
    private mutating func row(_ text: String, raw: TextLine) {
        dataRows += 1
        let line = lineNumber
        var time: Nanos?   // known once the time column is read
        func reject(_ code: RowRejectionCode, _ detail: String, _ symbol: Symbol?) {
            rejections.append(RowRejection(file: fileName, line: line, code: code, detail: detail, symbol: symbol, time: time, raw: raw))
        }
        guard !raw.isTruncated else {
            reject(.lineTooLong, "the line is \(raw.byteCount) bytes long (at most \(options.maxLineBytes)); it starts "
                   + "'\(excerpt(text))'", nil)
            return
        }
        let layout = self.layout!
        let columns = layout.columns
        let fields = Self.split(text, delimiter: layout.delimiter)
        // Market.
        var key = ""
        var symbol = options.symbol ?? nameInfo.symbol
        if options.symbol == nil, let symbolColumn = columns.symbol {
            guard symbolColumn < fields.count, !fields[symbolColumn].isEmpty else {
                reject(.missingField, "\(describeColumn(symbolColumn, in: layout)) (the market) is missing or empty", nil)
                return
            }
            var parts = [fields[symbolColumn]]
            if let exchangeColumn = columns.exchange {
                guard exchangeColumn < fields.count, !fields[exchangeColumn].isEmpty else {
                    reject(.missingField, "\(describeColumn(exchangeColumn, in: layout)) (the exchange) is missing or empty", nil)
                    return
                }
                parts.insert(fields[exchangeColumn], at: 0)
            }
            guard let name = Self.marketName(parts) else {
                reject(.invalidMarket, "'\(excerpt(parts.joined(separator: ":")))' is not a market name (letters, digits and "
                       + "- / _ . up to 40 characters)", nil)
                return
            }
            key = name
            symbol = Symbol(name)
        }
        func reject(_ code: RowRejectionCode, _ detail: String) { reject(code, detail, symbol) }
        let named = [("time", columns.time), ("open", columns.open), ("high", columns.high),
                     ("low", columns.low), ("close", columns.close), ("volume", columns.volume)]
        for (name, index) in named where index >= fields.count || fields[index].isEmpty {
            reject(.missingField, "\(name) (\(describeColumn(index, in: layout))) is missing or empty; the row has "
                   + "\(fields.count) field(s)")
            return
        }
        guard let parsed = parseTime(fields[columns.time]) else {
            if firstUnreadableTime == nil { firstUnreadableTime = (line, excerpt(fields[columns.time])) }
            let expected = options.timeFormat.map { "the format '\($0.pattern)'" }
                ?? "ISO-8601 (2019-10-17T09:00:00Z), Unix s/ms/µs/ns, 2019-10-17 09-AM or 01.01.2017 22:00:00.000; "
                    + "--time-format gives another"
            reject(.unparsableTimestamp, "'\(excerpt(fields[columns.time]))' in \(describeColumn(columns.time, in: layout)) "
                   + "is not a time: expected \(expected)")
            return
        }
        time = parsed
        var values: [Fixed] = []
        for (name, index) in named.dropFirst() {
            let field = fields[index]
            switch DecimalParser.parse(field, excess: options.excessDecimals) {
            case .value(let v): values.append(v)
            case .nonFinite: reject(.nonFinite, "\(name) is '\(excerpt(field))'"); return
            case .invalid: reject(.unparsableNumber, "\(name) '\(excerpt(field))' is not a decimal number"); return
            case .outOfRange: reject(.unparsableNumber, "\(name) '\(excerpt(field))' is out of range (±92e9)"); return
            case .tooManyDecimals: reject(.tooManyDecimals, "\(name) '\(excerpt(field))' has more than 8 decimals"); return
            }
        }
        let (open, high, low, close, volume) = (values[0], values[1], values[2], values[3], values[4])
        for (name, value) in [("open", open), ("high", high), ("low", low), ("close", close)] where value <= .zero {
            reject(.nonPositivePrice, "\(name) is \(value)")
            return
        }
        if volume < .zero { reject(.negativeVolume, "volume is \(volume)"); return }
        if high < low { reject(.highBelowLow, "high \(high) < low \(low)"); return }
        if open < low || open > high || close < low || close > high {
            reject(.openOrCloseOutsideRange, "open \(open) / close \(close) outside [\(low), \(high)]")
            return
        }
        let index: Int
        if let known = marketIndex[key] {
            index = known
        } else {
            index = markets.count
            marketIndex[key] = index
            markets.append(MarketRows(symbol: symbol))
        }
        markets[index].rows.append(ParsedRow(line: line, time: parsed, open: open, high: high, low: low, close: close,
                                             volume: volume, raw: raw))
    }

    /// `BTC/USD` → `BTC-USD`; with an exchange, `binance`, `BTC/USDT` → `BINANCE:BTC-USDT`. nil when not a market name.
    static func marketName(_ parts: [Substring]) -> String? {
        let names = parts.map { part in
            String(part.uppercased().map { $0 == "/" || $0 == "_" ? "-" : $0 })
        }
        for name in names {
            guard !name.isEmpty, name.count <= 40,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else { return nil }
        }
        return names.joined(separator: ":")
    }

    // MARK: Market checks

    private mutating func check(_ market: MarketRows) throws(BarFileError) -> BarSeries {
        let rows = market.rows
        let symbol = market.symbol
        var series = BarSeries(symbol: symbol, intervalSeconds: 0, rows: [], gaps: [], reordered: 0, rejected: [:])
        guard !rows.isEmpty else { return series }
        let byTime = rows.indices.sorted { (rows[$0].time, $0) < (rows[$1].time, $1) }
        let interval = try interval(of: market, byTime: byTime)
        series.intervalSeconds = interval
        guard interval <= Self.maxIntervalSeconds else {
            throw BarFileError(code: .invalidInterval, file: fileName, line: rows[0].line,
                               message: "the interval of \(symbol) would be \(interval) s, longer than a year: pass --interval "
                                   + "(e.g. --interval 1d), or check the file's times")
        }
        let intervalNanos = interval * 1_000_000_000
        func reject(_ row: ParsedRow, _ code: RowRejectionCode, _ detail: String) {
            rejections.append(RowRejection(file: fileName, line: row.line, code: code, detail: detail, symbol: symbol, time: row.time,
                                           raw: row.raw))
        }

        // Time outliers: small groups of rows far from all the others (in sorted order, split where times jump).
        let jump = max(Self.saturating(intervalNanos, times: 1000), 30 * 86_400 * 1_000_000_000)
        var groups: [Range<Int>] = []
        var start = 0
        for k in 1..<max(1, byTime.count) where Self.distance(rows[byTime[k - 1]].time, rows[byTime[k]].time) > jump {
            groups.append(start..<k)
            start = k
        }
        groups.append(start..<byTime.count)
        let largest = groups.max { $0.count < $1.count }!
        var outliers = Set<Int>()
        for group in groups where group.count <= options.timeOutlierMaxRows && group.count < largest.count {
            for k in group {
                let row = rows[byTime[k]]
                outliers.insert(byTime[k])
                reject(row, .timeOutlier, "time \(TimestampParser.iso(row.time)) lies more than \(jump / 86_400_000_000_000) days "
                       + "from the other rows of \(symbol) (they span \(TimestampParser.iso(rows[byTime[largest.lowerBound]].time)) … "
                       + "\(TimestampParser.iso(rows[byTime[largest.upperBound - 1]].time)))")
            }
        }

        // Order: sorted by time (stable), or the file's order in strict mode.
        var latest = Nanos.min
        for (i, row) in rows.enumerated() where !outliers.contains(i) {
            if row.time < latest { series.reordered += 1 }
            latest = max(latest, row.time)
        }
        let order = options.strictOrder ? Array(rows.indices) : byTime

        var last: (openTime: Nanos, close: Fixed)?
        var firstOpen: Nanos?
        var consecutiveOutliers = 0
        for i in order where !outliers.contains(i) {
            let row = rows[i]
            if let last {
                if row.time == last.openTime {
                    reject(row, .duplicateTimestamp, "open time \(TimestampParser.iso(row.time)) repeats a bar accepted before")
                    continue
                }
                if row.time < last.openTime {
                    reject(row, .outOfOrderTimestamp, "open time \(TimestampParser.iso(row.time)) is earlier than the last "
                           + "accepted bar's \(TimestampParser.iso(last.openTime)) (strict order)")
                    continue
                }
            }
            let origin = options.alignToEpoch ? 0 : (firstOpen ?? row.time)
            let offset = Self.distance(origin, row.time) % intervalNanos
            if offset != 0 {
                reject(row, .misalignedTimestamp, "open time \(TimestampParser.iso(row.time)) is \(offset / 1_000_000) ms off "
                       + "the \(interval) s grid")
                continue
            }
            if let factor = options.outlierFactor, let last {
                if consecutiveOutliers >= options.outlierResetAfter {
                    consecutiveOutliers = 0   // accept the new level: skip the rule for this row
                } else if (row.close - last.close).magnitude > last.close * factor {
                    consecutiveOutliers += 1
                    reject(row, .outlier, "close \(row.close) moved more than \(factor) × the previous close \(last.close)")
                    continue
                }
            }
            if let last, Self.distance(last.openTime, row.time) > intervalNanos {
                series.gaps.append(GapInfo(symbol: symbol, after: last.openTime, before: row.time,
                                           missingBars: Int(Self.distance(last.openTime, row.time) / intervalNanos) - 1, line: row.line))
            }
            last = (row.time, row.close)
            if firstOpen == nil { firstOpen = row.time }
            consecutiveOutliers = 0
            series.rows.append(BarRow(bar: Bar(symbol: symbol, openTime: row.time, intervalSeconds: interval, open: row.open,
                                               high: row.high, low: row.low, close: row.close, volume: row.volume),
                                      line: row.line))
        }
        return series
    }

    /// The longest bar interval a file may have (a year): longer ones are a mistake, and their nanoseconds times 1000
    /// (the time-outlier distance) would not fit in Int64.
    static let maxIntervalSeconds: Int64 = 366 * 86_400

    /// `to - from`, saturated at Int64's bounds: open times may lie anywhere from 1677 to 2262, whose difference
    /// does not fit in Int64 nanoseconds.
    static func distance(_ from: Nanos, _ to: Nanos) -> Nanos {
        let (difference, overflow) = to.subtractingReportingOverflow(from)
        return overflow ? (to > from ? .max : .min) : difference
    }

    static func saturating(_ value: Int64, times factor: Int64) -> Int64 {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? ((value < 0) != (factor < 0) ? .min : .max) : product
    }

    /// The given interval, the file name's, or the most common positive step between sorted open times.
    private func interval(of market: MarketRows, byTime: [Int]) throws(BarFileError) -> Int64 {
        let rows = market.rows
        if let given = options.intervalSeconds ?? nameInfo.intervalSeconds {
            guard given > 0 else {
                throw BarFileError(code: .invalidInterval, file: fileName, line: rows[0].line,
                                   message: "interval \(given) s is not positive: pass --interval, e.g. --interval 30m")
            }
            return given
        }
        var counts: [Nanos: Int] = [:]
        for k in 1..<max(1, byTime.count) {
            let step = Self.distance(rows[byTime[k - 1]].time, rows[byTime[k]].time)
            if step > 0 { counts[step, default: 0] += 1 }
        }
        guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else {
            throw BarFileError(
                code: .cannotInferInterval, file: fileName, line: rows[0].line,
                message: "cannot infer the bar interval of \(market.symbol) from \(rows.count) row(s) without two different "
                    + "times: pass --interval (e.g. --interval 30m), or name the file like BTCUSDT-30m-2019-01.csv")
        }
        guard best.key % 1_000_000_000 == 0 else {
            throw BarFileError(
                code: .invalidInterval, file: fileName, line: rows[0].line,
                message: "the most common step between rows of \(market.symbol) is \(Double(best.key) / 1e9) s, not a whole "
                    + "number of seconds: pass --interval (e.g. --interval 30m)")
        }
        return best.key / 1_000_000_000
    }
}
