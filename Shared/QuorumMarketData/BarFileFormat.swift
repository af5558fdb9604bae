/// The layout of an OHLCV file, detected from its first non-empty line.
public enum BarFileFormat: Sendable, Hashable {
    /// A header line names the columns (any order, case-insensitive); extra columns are ignored.
    case header(BarColumns)
    /// No header: the Binance kline layout `open_time, open, high, low, close, volume, close_time, …`
    /// (columns after the sixth are ignored). Chosen when the first field of the first line is a timestamp.
    case positional

    /// Zero-based column positions of the fields a bar needs.
    public var columns: BarColumns {
        switch self {
        case .header(let columns): columns
        case .positional: BarColumns(time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5)
        }
    }
}

/// Zero-based positions of the time and OHLCV columns in a row.
public struct BarColumns: Sendable, Hashable {
    public var time, open, high, low, close, volume: Int

    public init(time: Int, open: Int, high: Int, low: Int, close: Int, volume: Int) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    /// Accepted names for the time column, in order of preference when several are present.
    public static let timeColumnNames = ["timestamp", "open_time", "opentime", "datetime", "date", "time"]
    /// The price and volume column names (exact, case-insensitive).
    public static let valueColumnNames = ["open", "high", "low", "close", "volume"]

    /// Maps a header line's names to positions, or nil when a required column is missing.
    static func fromHeader(_ names: [String]) -> BarColumns? {
        let lowered = names.map { $0.lowercased() }
        func position(_ name: String) -> Int? { lowered.firstIndex(of: name) }
        guard let time = timeColumnNames.lazy.compactMap(position).first,
              let open = position("open"), let high = position("high"), let low = position("low"),
              let close = position("close"), let volume = position("volume") else { return nil }
        return BarColumns(time: time, open: open, high: high, low: low, close: close, volume: volume)
    }

    var highestIndex: Int { max(time, open, high, low, close, volume) }
}

/// A problem with a whole file (not one row): the reader cannot continue.
public struct BarFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The first line is neither a recognised header nor a data row.
        case unknownHeader
        /// Too few rows with valid timestamps to infer the bar interval.
        case cannotInferInterval
        /// The given or inferred interval is not a positive whole number of seconds.
        case invalidInterval
    }

    public var code: Code
    public var file: String
    /// 1-based line number the problem refers to.
    public var line: Int
    /// What went wrong and what to do.
    public var message: String

    public var description: String { "\(file):\(line): \(code.rawValue): \(message)" }
}
