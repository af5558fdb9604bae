import QuorumFeatures
import QuorumMarketData
import QuorumModel
import QuorumPipeline

/// The bars of a backtest, read from files as `quorum ingest` reads them and merged into event-time order, with a
/// digest per symbol (the run id and report.json say exactly which data was used).
public struct BacktestData: Sendable {
    /// What the run used of one symbol.
    public struct SymbolDigest: Sendable, Equatable {
        public var symbol: Symbol
        public var intervalSeconds: Int64
        public var bars: Int
        public var firstOpen: Nanos
        public var lastOpen: Nanos
        /// FNV-1a 64 over every used bar's open time and OHLCV (exact units), in time order.
        public var digest: String
    }

    /// The bars in `[from, to)` of the chosen symbols, in event-time order (close time, then symbol).
    public var bars: [ArchivedBarRecord]
    public var symbols: [Symbol]
    public var digests: [SymbolDigest]
    /// Each file (as given) and the bars it held (before the symbol and time filters).
    public var files: [(file: String, bars: Int)]
    /// Malformed rows left out (only with `data.bad_rows = "skip"`).
    public var skippedRows: Int

    public init(bars: [ArchivedBarRecord], files: [(file: String, bars: Int)] = [], skippedRows: Int = 0) {
        self.bars = bars
        self.files = files
        self.skippedRows = skippedRows
        var bySymbol: [Symbol: (interval: Int64, count: Int, first: Nanos, last: Nanos, hash: FNV1a64)] = [:]
        for r in bars {
            let bar = r.bar
            var entry = bySymbol[bar.symbol] ?? (bar.intervalSeconds, 0, bar.openTime, bar.openTime, FNV1a64())
            entry.count += 1
            entry.last = bar.openTime
            for v in [bar.openTime, bar.open.units, bar.high.units, bar.low.units, bar.close.units, bar.volume.units] {
                withUnsafeBytes(of: v.littleEndian) { entry.hash.combine($0) }
            }
            bySymbol[bar.symbol] = entry
        }
        symbols = bySymbol.keys.sorted()
        digests = symbols.map { s in
            let e = bySymbol[s]!
            return SymbolDigest(symbol: s, intervalSeconds: e.interval, bars: e.count, firstOpen: e.first, lastOpen: e.last, digest: e.hash.hex)
        }
    }

    /// Reads the config's data source: its files, or for `data.archive` the bars `archived` holds (read from Postgres by
    /// the command, `BarArchive.records`, every symbol's bars of the range). Errors name the file and line of a malformed
    /// row, a symbol without data, a range without bars.
    public static func load(_ config: BacktestConfig, archived: [ArchivedBarRecord]? = nil) throws(BacktestError) -> BacktestData {
        switch config.data {
        case .archive(let prefix):
            guard let archived else {
                throw BacktestError(.unsupported, "data.archive: the bar archive (topic prefix \"\(prefix)\") is in Postgres, which only "
                                    + "`quorum backtest` reads; export the bars to CSV or give the files with data.files / --data")
            }
            let ordered = archived.sorted { ($0.bar.closeTime, $0.bar.symbol) < ($1.bar.closeTime, $1.bar.symbol) }
            let inRange = ordered.filter { r in config.from.map { r.bar.openTime >= $0 } ?? true && config.to.map { r.bar.openTime < $0 } ?? true }
            return try select(all: ordered, inRange: inRange, source: "the bar archive (topic prefix \"\(prefix)\")", config: config,
                              files: [], skipped: 0)
        case .files(let files):
            guard !files.isEmpty else {
                throw BacktestError(.invalidValue, "no data: list bar files in data.files of the config, or give --data FILE")
            }
            let paths = files.map(config.resolve)
            let options = try config.readerOptions()
            var contents: [BarFileContents] = []
            for path in paths {
                do { contents.append(try IngestReader.readFile(path, options: options)) } catch {
                    throw BacktestError(.data, error.description)
                }
            }
            let rejections = contents.flatMap(\.rejections)
            if config.badRows == .error, let first = rejections.first {
                let more = rejections.count > 1 ? " (and \(rejections.count - 1) more malformed rows)" : ""
                throw BacktestError(.data, "malformed row: \(first)\(more); fix the file, or set data.bad_rows to \"skip\" to leave such rows out")
            }
            return try select(all: IngestReader.merge(contents).bars, inRange: IngestReader.merge(contents, from: config.from, to: config.to).bars,
                              source: paths.joined(separator: ", "), config: config, files: zip(paths, contents).map { ($0, $1.bars) },
                              skipped: rejections.count)
        }
    }

    /// The config's symbols of `inRange` (the bars of `all`, in event-time order, in the config's range), checked: every
    /// symbol the config names has data, and bars in the range.
    static func select(all: [ArchivedBarRecord], inRange: [ArchivedBarRecord], source: String, config: BacktestConfig,
                       files: [(file: String, bars: Int)], skipped: Int) throws(BacktestError) -> BacktestData {
        let present = Set(all.map(\.bar.symbol))
        for symbol in config.symbols where !present.contains(symbol) {
            let hint = NameSuggestion.closest(to: symbol.name, among: present.map(\.name)).map { " Did you mean \($0)?" } ?? ""
            throw BacktestError(.noBars, "symbol \(symbol) has no data in \(source) "
                                + "(it holds: \(present.map(\.name).sorted().joined(separator: ", "))).\(hint)")
        }
        let wanted = config.symbols.isEmpty ? present : Set(config.symbols)
        let chosen = inRange.filter { wanted.contains($0.bar.symbol) }
        let range = "[\(config.from.map(TimestampParser.iso) ?? "start"), \(config.to.map(TimestampParser.iso) ?? "end"))"
        guard !chosen.isEmpty else {
            let span = all.isEmpty ? "no bars at all" : "bars from \(TimestampParser.iso(all.first!.bar.openTime)) to \(TimestampParser.iso(all.last!.bar.openTime))"
            throw BacktestError(.noBars, "no bars in the range \(range): the data has \(span); change from/to (or --from/--to)")
        }
        let inRangeSymbols = Set(chosen.map(\.bar.symbol))
        if let missing = wanted.sorted().first(where: { !inRangeSymbols.contains($0) }) {
            throw BacktestError(.noBars, "symbol \(missing) has no bars in the range \(range)")
        }
        return BacktestData(bars: chosen, files: files, skippedRows: skipped)
    }
}

extension BacktestData {
    /// Rejects a feature spec these bars cannot feed: a symbol it reads that is not in the data (cross-asset
    /// entries), or a higher timeframe that is not a larger multiple of a symbol's interval.
    public func check(_ spec: FeatureSpec) throws(BacktestError) {
        let present = Set(symbols)
        for other in spec.referencedSymbols where !present.contains(other) {
            let hint = NameSuggestion.closest(to: other.name, among: symbols.map(\.name)).map { " Did you mean \($0)?" } ?? ""
            throw BacktestError(.noBars, "feature spec \(spec) reads \(other)'s bars (cross-asset entries), but the data holds only "
                + "\(symbols.map(\.name).joined(separator: ", ")): add \(other)'s file to the data, or use another spec.\(hint)")
        }
        for digest in digests {
            do { try spec.check(intervalSeconds: digest.intervalSeconds) } catch {
                throw BacktestError(.invalidValue, "\(digest.symbol): \(error)")
            }
        }
    }
}
