import QuorumModel

/// Why a data row did not become a bar. Each check has its own code so that reports and dead-letter
/// records can be counted per cause.
public enum RowRejectionCode: String, Sendable, Hashable, CaseIterable {
    /// A required column is absent from the row or empty.
    case missingField
    /// The time column is not an accepted timestamp (see `TimestampParser`).
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
    /// Same open time as the last accepted bar.
    case duplicateTimestamp
    /// Earlier than the last accepted bar.
    case outOfOrderTimestamp
    /// Open time is not a multiple of the interval (see `BarReaderOptions.alignToEpoch`).
    case misalignedTimestamp
    /// close moved more than `BarReaderOptions.outlierFactor` from the previous accepted close.
    case outlier
}

/// One data row that was not turned into a bar.
public struct RowRejection: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based physical line number in the file (the header is line 1).
    public var line: Int
    public var code: RowRejectionCode
    /// Human-readable specifics (which column, which values).
    public var detail: String
    /// The row as read, for a dead-letter record.
    public var rawLine: String

    public init(file: String, line: Int, code: RowRejectionCode, detail: String, rawLine: String) {
        self.file = file
        self.line = line
        self.code = code
        self.detail = detail
        self.rawLine = rawLine
    }

    public var description: String { "\(file):\(line): \(code.rawValue): \(detail)" }
}

/// Missing bars between two accepted bars. Information, not an error: the bar after the gap is still
/// delivered (as the next outcome).
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

/// What the reader makes of one data row. A gap is reported just before the bar that ends it.
public enum BarReadOutcome: Sendable, Hashable {
    case bar(Bar, line: Int)
    case rejected(RowRejection)
    case gap(GapInfo)
}

/// Settings of a `BarReader`.
public struct BarReaderOptions: Sendable, Hashable {
    /// Bar interval in seconds; nil infers it from the first `inferenceRows` data rows as the most common
    /// positive difference between consecutive timestamps (ties go to the smaller difference).
    public var intervalSeconds: Int64?
    /// Rows buffered for interval inference (only while the interval is unknown). Default 64.
    public var inferenceRows: Int
    /// Largest accepted relative move of close vs the previous accepted close (0.5 = 50 %); nil disables
    /// the outlier check. Default 0.5.
    public var outlierFactor: Fixed?
    /// After this many outlier rejections in a row, the reader accepts that the level really moved: the
    /// next row is checked without the outlier rule (its other checks still apply). Default 3. This keeps
    /// one genuine jump from rejecting the rest of the file.
    public var outlierResetAfter: Int
    /// true (default): open times must be multiples of the interval since the Unix epoch (exchange bars of
    /// 1 minute to 1 day are). false: multiples of the interval since the first accepted bar.
    public var alignToEpoch: Bool
    /// Numbers with more than 8 decimals: round half-to-even (default) or reject.
    public var excessDecimals: ExcessDecimalsPolicy

    public init(intervalSeconds: Int64? = nil, inferenceRows: Int = 64, outlierFactor: Fixed? = Fixed("0.5"),
                outlierResetAfter: Int = 3, alignToEpoch: Bool = true,
                excessDecimals: ExcessDecimalsPolicy = .roundHalfEven) {
        self.intervalSeconds = intervalSeconds
        self.inferenceRows = max(2, inferenceRows)
        self.outlierFactor = outlierFactor
        self.outlierResetAfter = max(1, outlierResetAfter)
        self.alignToEpoch = alignToEpoch
        self.excessDecimals = excessDecimals
    }
}

/// Streaming reader of OHLCV CSV files: feed it lines (or byte chunks) and it returns one outcome per data
/// row, plus a `.gap` before a bar that follows missing bars.
///
/// - The first non-empty line decides the format (`BarFileFormat`); blank lines are skipped and are not
///   data rows. Every other line is a data row and yields exactly one `.bar` or `.rejected`.
/// - Memory is bounded: at most `inferenceRows` rows are held back while the interval is being inferred;
///   after that each row is answered immediately. Call `finish()` at the end of input.
/// - Checks run in this order, and the first failure names the row's code: fields present →
///   timestamp → numbers (NaN/inf, decimals) → prices > 0, volume ≥ 0, high ≥ low, open/close in
///   [low, high] → duplicate → out of order → alignment → outlier. Rejected rows never change the reader's
///   state (last accepted time and close).
///
/// ```swift
/// var reader = BarReader(symbol: "BTC-USD", fileName: "btc.csv")
/// for line in lines { for outcome in try reader.feed(line: line) { … } }
/// for outcome in try reader.finish() { … }
/// ```
public struct BarReader: Sendable {
    public let symbol: Symbol
    public let fileName: String
    public let options: BarReaderOptions
    /// Known after the first non-empty line.
    public private(set) var format: BarFileFormat?
    /// Given, or known once inferred.
    public private(set) var intervalSeconds: Int64?

    private var lineNumber = 0
    private var pending: [(line: Int, text: String)] = []
    private var lastAccepted: (openTime: Nanos, close: Fixed)?
    private var firstAcceptedOpenTime: Nanos?
    private var consecutiveOutliers = 0
    private var splitter = LineSplitter()

    public init(symbol: Symbol, fileName: String, options: BarReaderOptions = BarReaderOptions()) {
        self.symbol = symbol
        self.fileName = fileName
        self.options = options
        self.intervalSeconds = options.intervalSeconds
    }

    /// Reads a whole text at once (tests, small files).
    public static func readAll(text: String, symbol: Symbol, fileName: String,
                               options: BarReaderOptions = BarReaderOptions()) throws(BarFileError) -> [BarReadOutcome] {
        var reader = BarReader(symbol: symbol, fileName: fileName, options: options)
        var outcomes = try reader.feed(bytes: Array(text.utf8))
        outcomes += try reader.finish()
        return outcomes
    }

    /// Feeds a chunk of file bytes (any size; lines may span chunks). Do not mix with `feed(line:)`.
    public mutating func feed(bytes chunk: some Sequence<UInt8>) throws(BarFileError) -> [BarReadOutcome] {
        var outcomes: [BarReadOutcome] = []
        for line in splitter.feed(chunk) { outcomes += try feed(line: line) }
        return outcomes
    }

    /// Feeds one line (without its line terminator). Throws when the file as a whole cannot be read
    /// (unknown header, invalid interval).
    public mutating func feed(line: some StringProtocol) throws(BarFileError) -> [BarReadOutcome] {
        lineNumber += 1
        var text = String(line)
        if lineNumber == 1, text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if text.last == "\r" { text.removeLast() }
        if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return [] }
        if format == nil {
            if try detectFormat(text) { return [] }
        }
        if intervalSeconds == nil {
            pending.append((lineNumber, text))
            guard pending.count >= options.inferenceRows else { return [] }
            return try inferIntervalAndFlush(atEnd: false)
        }
        return try process(text, line: lineNumber)
    }

    /// Ends the input: answers rows held back for interval inference and a final line without newline.
    public mutating func finish() throws(BarFileError) -> [BarReadOutcome] {
        var outcomes: [BarReadOutcome] = []
        for line in splitter.finish() { outcomes += try feed(line: line) }
        if intervalSeconds == nil, !pending.isEmpty { outcomes += try inferIntervalAndFlush(atEnd: true) }
        return outcomes
    }

    // MARK: Format and interval

    /// Sets `format`; returns true when the line was a header (not a data row).
    private mutating func detectFormat(_ text: String) throws(BarFileError) -> Bool {
        let fields = Self.splitFields(text)
        if let first = fields.first, TimestampParser.parse(first) != nil {
            format = .positional
            return false
        }
        let names = fields.map(String.init)
        guard let columns = BarColumns.fromHeader(names) else {
            throw BarFileError(
                code: .unknownHeader, file: fileName, line: lineNumber,
                message: "header \(names) lacks a required column; accepted: a time column named one of "
                    + "\(BarColumns.timeColumnNames.joined(separator: "/")) and "
                    + "\(BarColumns.valueColumnNames.joined(separator: ", ")) (any order, any case), "
                    + "or no header with Binance kline columns open_time,open,high,low,close,volume,…")
        }
        format = .header(columns)
        return true
    }

    private mutating func inferIntervalAndFlush(atEnd: Bool) throws(BarFileError) -> [BarReadOutcome] {
        let timeColumn = format?.columns.time ?? 0
        let times = pending.compactMap { row -> Nanos? in
            let fields = Self.splitFields(row.text)
            return timeColumn < fields.count ? TimestampParser.parse(fields[timeColumn]) : nil
        }
        var counts: [Nanos: Int] = [:]
        for (a, b) in zip(times, times.dropFirst()) where b > a { counts[b - a, default: 0] += 1 }
        guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else {
            throw BarFileError(
                code: .cannotInferInterval, file: fileName, line: pending.first?.line ?? lineNumber,
                message: "cannot infer the bar interval from \(pending.count) row(s) without two increasing "
                    + "timestamps; pass BarReaderOptions(intervalSeconds:)")
        }
        guard best.key % 1_000_000_000 == 0 else {
            throw BarFileError(
                code: .invalidInterval, file: fileName, line: pending.first?.line ?? lineNumber,
                message: "inferred interval \(best.key) ns is not a whole number of seconds; "
                    + "pass BarReaderOptions(intervalSeconds:)")
        }
        intervalSeconds = best.key / 1_000_000_000
        let rows = pending
        pending = []
        var outcomes: [BarReadOutcome] = []
        for row in rows { outcomes += try process(row.text, line: row.line) }
        return outcomes
    }

    // MARK: Rows

    private static func splitFields(_ text: String) -> [Substring] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { field in
            var f = field.drop { $0 == " " || $0 == "\t" }
            while let last = f.last, last == " " || last == "\t" { f = f.dropLast() }
            if f.count >= 2, f.first == "\"", f.last == "\"" { f = f.dropFirst().dropLast() }
            return f
        }
    }

    private mutating func process(_ text: String, line: Int) throws(BarFileError) -> [BarReadOutcome] {
        guard let interval = intervalSeconds, interval > 0 else {
            throw BarFileError(code: .invalidInterval, file: fileName, line: line,
                               message: "interval \(intervalSeconds.map(String.init) ?? "nil") s is not positive")
        }
        switch evaluate(text, line: line, interval: interval) {
        case .rejected(let rejection):
            return [.rejected(rejection)]
        case .accepted(let bar):
            var outcomes: [BarReadOutcome] = []
            let intervalNanos = interval * 1_000_000_000
            if let last = lastAccepted, bar.openTime - last.openTime > intervalNanos {
                outcomes.append(.gap(GapInfo(symbol: symbol, after: last.openTime, before: bar.openTime,
                                             missingBars: Int((bar.openTime - last.openTime) / intervalNanos) - 1,
                                             line: line)))
            }
            lastAccepted = (bar.openTime, bar.close)
            if firstAcceptedOpenTime == nil { firstAcceptedOpenTime = bar.openTime }
            consecutiveOutliers = 0
            outcomes.append(.bar(bar, line: line))
            return outcomes
        }
    }

    /// All checks for one row; `.success` only when every check passes. Mutates only the outlier counter.
    private mutating func evaluate(_ text: String, line: Int, interval: Int64) -> RowCheck {
        func reject(_ code: RowRejectionCode, _ detail: String) -> RowCheck {
            .rejected(RowRejection(file: fileName, line: line, code: code, detail: detail, rawLine: text))
        }
        let columns = (format ?? .positional).columns
        let fields = Self.splitFields(text)
        let named = [("time", columns.time), ("open", columns.open), ("high", columns.high),
                     ("low", columns.low), ("close", columns.close), ("volume", columns.volume)]
        for (name, index) in named where index >= fields.count || fields[index].isEmpty {
            return reject(.missingField, "column '\(name)' (position \(index + 1)) is missing or empty; "
                          + "the row has \(fields.count) field(s)")
        }
        guard let openTime = TimestampParser.parse(fields[columns.time]) else {
            return reject(.unparsableTimestamp, "'\(fields[columns.time])' is not an ISO-8601 time or a Unix "
                          + "time in s/ms/µs/ns")
        }
        var values: [Fixed] = []
        for (name, index) in named.dropFirst() {
            switch DecimalParser.parse(fields[index], excess: options.excessDecimals) {
            case .value(let v): values.append(v)
            case .nonFinite: return reject(.nonFinite, "\(name) is '\(fields[index])'")
            case .invalid: return reject(.unparsableNumber, "\(name) '\(fields[index])' is not a decimal number")
            case .outOfRange: return reject(.unparsableNumber, "\(name) '\(fields[index])' is out of range (±92e9)")
            case .tooManyDecimals: return reject(.tooManyDecimals, "\(name) '\(fields[index])' has more than 8 decimals")
            }
        }
        let (open, high, low, close, volume) = (values[0], values[1], values[2], values[3], values[4])
        for (name, value) in [("open", open), ("high", high), ("low", low), ("close", close)] where value <= .zero {
            return reject(.nonPositivePrice, "\(name) is \(value)")
        }
        if volume < .zero { return reject(.negativeVolume, "volume is \(volume)") }
        if high < low { return reject(.highBelowLow, "high \(high) < low \(low)") }
        if open < low || open > high || close < low || close > high {
            return reject(.openOrCloseOutsideRange, "open \(open) / close \(close) outside [\(low), \(high)]")
        }
        let intervalNanos = interval * 1_000_000_000
        if let last = lastAccepted {
            if openTime == last.openTime {
                return reject(.duplicateTimestamp, "open time \(openTime) ns repeats the bar accepted before")
            }
            if openTime < last.openTime {
                return reject(.outOfOrderTimestamp, "open time \(openTime) ns is earlier than the last accepted "
                              + "bar's \(last.openTime) ns")
            }
        }
        let origin = options.alignToEpoch ? 0 : (firstAcceptedOpenTime ?? openTime)
        let offset = (openTime - origin) % intervalNanos
        if offset != 0 {
            return reject(.misalignedTimestamp, "open time \(openTime) ns is \(offset / 1_000_000) ms off the "
                          + "\(interval) s grid")
        }
        if let factor = options.outlierFactor, let last = lastAccepted {
            if consecutiveOutliers >= options.outlierResetAfter {
                consecutiveOutliers = 0   // accept the new level: skip the rule for this row
            } else if (close - last.close).magnitude > last.close * factor {
                consecutiveOutliers += 1
                return reject(.outlier, "close \(close) moved more than \(factor) × the previous close \(last.close)")
            }
        }
        let bar = Bar(symbol: symbol, openTime: openTime, intervalSeconds: interval,
                      open: open, high: high, low: low, close: close, volume: volume)
        return .accepted(bar)
    }
}

/// Result of the row checks.
private enum RowCheck {
    case accepted(Bar)
    case rejected(RowRejection)
}

/// Running totals over reader outcomes (for logs and reports).
public struct BarReadSummary: Sendable, Hashable {
    public var bars = 0
    public var rejected: [RowRejectionCode: Int] = [:]
    public var gaps = 0
    public var missingBars = 0

    public init() {}

    public var rejectedCount: Int { rejected.values.reduce(0, +) }
    /// Data rows seen: every row is either a bar or a rejection.
    public var dataRows: Int { bars + rejectedCount }

    public mutating func record(_ outcome: BarReadOutcome) {
        switch outcome {
        case .bar: bars += 1
        case .rejected(let r): rejected[r.code, default: 0] += 1
        case .gap(let g): gaps += 1; missingBars += g.missingBars
        }
    }
}
