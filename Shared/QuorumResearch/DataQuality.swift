import Foundation
import QuorumAnalytics
import QuorumMarketData
import QuorumModel
import QuorumPipeline

/// `quorum eda`: a look at bar files before modelling them. Per series (a symbol at one interval, over every file that
/// holds it): time range, gaps, duplicates, rows out of time order, every kind of row the reader rejects (NaN, prices
/// ≤ 0, high < low, …) with file and line, zero-volume bars, outlying log returns by robust z-score, statistics of the
/// log returns, and the correlation of returns between series. Pure: reading is `IngestReader`'s, printing the CLI's;
/// `DataQualityReport` renders the terminal summary, the JSON and the HTML page.
///
/// The files are read as `quorum ingest` reads them, with one difference (`readerOptions`): the reader's price outlier
/// rule (a close more than 50 % from the previous one is rejected) is off, so that a spike stays in the series and is
/// measured here by its robust z-score instead of disappearing. Every other row check applies, and each rejected row is
/// counted by kind.
public enum DataQuality {
    public struct Settings: Sendable, Hashable {
        /// A log return whose robust z-score is above this in absolute value is an outlier. Default 10.
        public var outlierZ: Double
        /// Autocorrelation of log returns at lags 1…`lags`. Default 5.
        public var lags: Int
        /// A series with fewer log returns is not tested for outliers (the median and MAD of a handful of returns say
        /// nothing about what is unusual). Default 20.
        public var minimumReturnsForOutliers: Int

        public init(outlierZ: Double = 10, lags: Int = 5, minimumReturnsForOutliers: Int = 20) {
            self.outlierZ = outlierZ
            self.lags = max(1, lags)
            self.minimumReturnsForOutliers = max(1, minimumReturnsForOutliers)
        }
    }

    /// The reader's options for EDA: `base` (symbol, interval, time column, format and zone) without the price outlier
    /// rule, rows sorted by time (those out of place are counted, not rejected).
    public static func readerOptions(_ base: BarReaderOptions = BarReaderOptions()) -> BarReaderOptions {
        var options = base
        options.outlierFactor = nil
        options.strictOrder = false
        return options
    }

    /// Reads one file for EDA (`IngestReader.readFile` with `readerOptions(options)`); throws when the file cannot be
    /// used at all (missing, unreadable, empty, a layout that cannot be made out), with the file's name and what to do.
    public static func read(_ path: String, options: BarReaderOptions = BarReaderOptions(),
                            progress: ((Int) -> Void)? = nil) throws(IngestError) -> BarFileContents {
        try IngestReader.readFile(path, options: readerOptions(options), progress: progress)
    }

    /// The report of the files' contents: one series per symbol and interval (the bars of every file that holds it,
    /// merged in time order), sorted by symbol then interval.
    public static func analyse(_ files: [BarFileContents], settings: Settings = Settings()) -> DataQualityReport {
        struct Key: Hashable { var symbol: Symbol; var interval: Int64 }
        var order: [Key] = []
        var parts: [Key: [(file: BarFileContents, series: BarSeries)]] = [:]
        for file in files {
            for series in file.series {
                let key = Key(symbol: series.symbol, interval: series.intervalSeconds)
                if parts[key] == nil { order.append(key) }
                parts[key, default: []].append((file, series))
            }
        }
        order.sort { ($0.symbol, $0.interval) < ($1.symbol, $1.interval) }
        let intervalsPerSymbol = Dictionary(order.map { ($0.symbol, 1) }, uniquingKeysWith: +)
        var series = order.map { key in
            let label = intervalsPerSymbol[key.symbol]! > 1 ? "\(key.symbol) \(Durations.text(key.interval * 1_000_000_000))" : key.symbol.name
            return SeriesQuality(label: label, parts: parts[key]!, settings: settings)
        }
        let orphans = files.flatMap(\.unattributedRejections)
        let unattributed = orphans.isEmpty ? nil : SeriesQuality(unattributed: orphans, files: files.filter { !$0.unattributedRejections.isEmpty }.map(\.file))
        let correlation = ReturnCorrelation(series)
        for i in series.indices {
            series[i].correlations = series.indices.compactMap { j in
                j == i ? nil : (series[j].label, correlation.values[i][j], correlation.pairs[i][j])
            }
        }
        return DataQualityReport(settings: settings, series: series, unattributed: unattributed, correlation: correlation)
    }
}

/// What `DataQuality.analyse` found in a set of files.
public struct DataQualityReport: Sendable {
    public var settings: DataQuality.Settings
    /// One per symbol and interval, sorted by symbol then interval.
    public var series: [SeriesQuality]
    /// Rejected rows whose market could not be told (a long-format row without a usable symbol): symbol `-`, no bars.
    public var unattributed: SeriesQuality?
    public var correlation: ReturnCorrelation
}

/// A bar's place: its open time and the file and line it was read from.
public struct BarPlace: Sendable, Hashable {
    public var time: Nanos
    public var file: String
    public var line: Int
}

/// The quality and the return statistics of one series.
public struct SeriesQuality: Sendable {
    /// Missing bars between two bars of the series.
    public struct Gap: Sendable, Hashable {
        /// The last bar before the gap and the first after it.
        public var after: BarPlace
        public var before: BarPlace
        /// Whole intervals missing between them (≥ 1).
        public var missingBars: Int
        /// Rejected rows whose time lies inside the gap: the file has rows there, but they are not bars.
        public var rejectedRows: Int
    }

    /// A log return whose robust z-score exceeds the threshold.
    public struct Outlier: Sendable, Hashable {
        /// The bar the return ends at (the return is log(its close / the previous bar's close)).
        public var bar: BarPlace
        public var logReturn: Double
        public var z: Double
    }

    /// A bar that repeats the open time of a bar of an earlier file (the earlier one is kept).
    public struct Repeat: Sendable, Hashable {
        public var bar: BarPlace
        public var first: BarPlace
    }

    public var symbol: String
    /// The symbol, or "symbol interval" when the files hold the symbol at several intervals.
    public var label: String
    public var intervalSeconds: Int64
    /// The files that hold the series, in the order given.
    public var files: [String]
    /// Bars after the reader's row checks, over all files, one per open time.
    public var bars: Int
    public var firstOpen: Nanos?
    public var lastOpen: Nanos?
    /// Gaps between consecutive bars, in time order.
    public var gaps: [Gap]
    /// Rows rejected by the reader, file by file in line order (`rejected` counts them by kind).
    public var rejections: [RowRejection]
    public var rejected: [RowRejectionCode: Int]
    /// Bars of a later file at an open time an earlier file already gave.
    public var repeats: [Repeat]
    /// Rows that came after a later-timed row of their file (sorted into place).
    public var outOfOrder: Int
    public var zeroVolume: [BarPlace]
    /// Bars with open = high = low = close.
    public var flatBars: Int
    public var returns: ReturnStatistics
    /// Outlying log returns, the largest |z| first.
    public var outliers: [Outlier]
    /// Whether the returns were tested for outliers (enough of them, `Settings.minimumReturnsForOutliers`).
    public var outliersTested: Bool
    /// The largest |robust z| of a log return (0 without returns).
    public var maxAbsZ: Double
    /// Robust z of a log return: (r − median) / `zScale`; 0 when every return is the same.
    public var zScale: Double
    /// Correlation of this series' log returns with each other series' (label, ρ or NaN, common returns).
    public var correlations: [(label: String, rho: Double, pairs: Int)] = []

    /// The close of every bar and its open time (charts).
    public var times: [Nanos]
    public var closes: [Double]
    /// Log returns of consecutive bars one interval apart, and the open time of the bar each ends at.
    public var returnTimes: [Nanos]
    public var logReturns: [Double]

    // MARK: counts by the names of `quorum eda --json`

    /// Bars the time range would hold without gaps.
    public var expectedBars: Int {
        guard let firstOpen, let lastOpen, intervalSeconds > 0 else { return bars }
        return Int((lastOpen - firstOpen) / (intervalSeconds * 1_000_000_000)) + 1
    }
    public var missingBars: Int { gaps.reduce(0) { $0 + $1.missingBars } }
    /// The longest gap (the first of equals).
    public var longestGap: Gap? { gaps.reduce(nil) { best, g in best.map { g.missingBars > $0.missingBars ? g : $0 } ?? g } }
    public var rejectedRows: Int { rejections.count }
    /// Same open time as a bar before: rejected by the reader within a file, or repeated by a later file.
    public var duplicates: Int { count(.duplicateTimestamp) + repeats.count }
    /// NaN or ±infinite values.
    public var nan: Int { count(.nonFinite) }
    public var nonPositivePrice: Int { count(.nonPositivePrice) }
    public var negativeVolume: Int { count(.negativeVolume) }
    public var highBelowLow: Int { count(.highBelowLow) }
    /// open or close outside [low, high]: high < max(open, close) or low > min(open, close).
    public var openCloseOutsideRange: Int { count(.openOrCloseOutsideRange) }
    public var ohlcInconsistent: Int { highBelowLow + openCloseOutsideRange }

    func count(_ code: RowRejectionCode) -> Int { rejected[code] ?? 0 }

    /// Rows whose market could not be told, as a series of its own (symbol `-`).
    init(unattributed: [RowRejection], files: [String]) {
        symbol = "-"
        label = "-"
        intervalSeconds = 0
        self.files = files
        bars = 0
        gaps = []
        rejections = unattributed
        rejected = Dictionary(unattributed.map { ($0.code, 1) }, uniquingKeysWith: +)
        repeats = []
        outOfOrder = 0
        zeroVolume = []
        flatBars = 0
        returns = ReturnStatistics(returns: [], autocorrelation: [], squaredAutocorrelation: .nan)
        outliers = []
        outliersTested = false
        maxAbsZ = 0
        zScale = 0
        times = []
        closes = []
        returnTimes = []
        logReturns = []
    }

    /// One symbol at one interval over the files that hold it (`parts` in the order the files were given).
    init(label: String, parts: [(file: BarFileContents, series: BarSeries)], settings: DataQuality.Settings) {
        let first = parts[0].series
        symbol = first.symbol.name
        self.label = label
        intervalSeconds = first.intervalSeconds
        files = parts.map(\.file.file)
        outOfOrder = parts.reduce(0) { $0 + $1.series.reordered }
        rejections = parts.flatMap { part in part.file.rejections.filter { $0.symbol == first.symbol } }
        rejected = Dictionary(rejections.map { ($0.code, 1) }, uniquingKeysWith: +)

        // The files' bars in time order (stable: an earlier file wins a tie); a later file's repeat is not a bar.
        var merged = parts.flatMap { part in part.series.rows.map { (bar: $0.bar, place: BarPlace(time: $0.bar.openTime, file: part.file.file, line: $0.line)) } }
        if parts.count > 1 { merged = merged.enumerated().sorted { ($0.element.bar.openTime, $0.offset) < ($1.element.bar.openTime, $1.offset) }.map(\.element) }
        var kept: [(bar: Bar, place: BarPlace)] = []
        repeats = []
        for row in merged {
            if let last = kept.last, last.bar.openTime == row.bar.openTime {
                repeats.append(Repeat(bar: row.place, first: last.place))
            } else {
                kept.append(row)
            }
        }
        bars = kept.count
        firstOpen = kept.first?.bar.openTime
        lastOpen = kept.last?.bar.openTime
        times = kept.map(\.bar.openTime)
        closes = kept.map(\.bar.close.doubleValue)
        zeroVolume = kept.filter { $0.bar.volume == .zero }.map(\.place)
        flatBars = kept.reduce(0) { n, r in n + (r.bar.open == r.bar.high && r.bar.high == r.bar.low && r.bar.low == r.bar.close ? 1 : 0) }

        // Gaps, with the rejected rows that fall inside each.
        let step = intervalSeconds * 1_000_000_000
        let rejectedTimes = rejections.compactMap(\.time).sorted()
        func rejectedRows(after: Nanos, before: Nanos) -> Int {
            Self.firstIndex(in: rejectedTimes, notBelow: before) - Self.firstIndex(in: rejectedTimes, notBelow: after + 1)
        }
        gaps = []
        var returnTimes: [Nanos] = [], logReturns: [Double] = [], returnPlaces: [BarPlace] = []
        for i in kept.indices.dropFirst() {
            let (previous, bar) = (kept[i - 1], kept[i])
            let distance = bar.bar.openTime - previous.bar.openTime
            if distance == step {
                returnTimes.append(bar.bar.openTime)
                logReturns.append(log(bar.bar.close.doubleValue / previous.bar.close.doubleValue))
                returnPlaces.append(bar.place)
            } else if step > 0, distance > step {
                gaps.append(Gap(after: previous.place, before: bar.place, missingBars: Int(distance / step) - 1,
                                rejectedRows: rejectedRows(after: previous.bar.openTime, before: bar.bar.openTime)))
            }
        }
        self.returnTimes = returnTimes
        self.logReturns = logReturns

        // Statistics; autocorrelation on pairs of returns exactly k intervals apart.
        let autocorrelation = (1...settings.lags).map { k in
            let pairs = Self.aligned(returnTimes, logReturns, returnTimes, logReturns, shift: Nanos(k) * step)
            return Statistics.correlation(pairs.0, pairs.1)
        }
        let squares = logReturns.map { $0 * $0 }
        let squaredPairs = Self.aligned(returnTimes, squares, returnTimes, squares, shift: step)
        returns = ReturnStatistics(returns: logReturns, autocorrelation: autocorrelation,
                                   squaredAutocorrelation: Statistics.correlation(squaredPairs.0, squaredPairs.1))

        // Robust z-score: (r − median) / (1.4826 · MAD); with MAD = 0 (over half the returns equal), 1.2533 · the mean
        // absolute deviation from the median instead (Iglewicz & Hoaglin's modified z-score).
        let median = returns.median
        var scale = 1.4826 * returns.medianAbsoluteDeviation
        if !(scale > 0), !logReturns.isEmpty {
            scale = 1.2533 * Statistics.mean(logReturns.map { abs($0 - median) })
        }
        zScale = scale > 0 ? scale : 0
        outliersTested = logReturns.count >= settings.minimumReturnsForOutliers
        var outliers: [Outlier] = []
        var maxAbsZ = 0.0
        if zScale > 0 {
            for (k, r) in logReturns.enumerated() {
                let z = (r - median) / zScale
                maxAbsZ = max(maxAbsZ, abs(z))
                if outliersTested, abs(z) > settings.outlierZ { outliers.append(Outlier(bar: returnPlaces[k], logReturn: r, z: z)) }
            }
        }
        // The most extreme first (then in time order): what to look at first.
        self.outliers = outliers.sorted { (-abs($0.z), $0.bar.time) < (-abs($1.z), $1.bar.time) }
        self.maxAbsZ = maxAbsZ
    }

    /// The number of `sorted` values below `value`.
    static func firstIndex(in sorted: [Nanos], notBelow value: Nanos) -> Int {
        var (lo, hi) = (0, sorted.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The pairs (x at t, y at t + shift) for every t of `xTimes` with `t + shift` in `yTimes` (both ascending).
    static func aligned(_ xTimes: [Nanos], _ x: [Double], _ yTimes: [Nanos], _ y: [Double], shift: Nanos) -> ([Double], [Double]) {
        var a: [Double] = [], b: [Double] = []
        var j = 0
        for (i, t) in xTimes.enumerated() {
            let wanted = t + shift
            while j < yTimes.count, yTimes[j] < wanted { j += 1 }
            if j == yTimes.count { break }
            if yTimes[j] == wanted {
                a.append(x[i])
                b.append(y[j])
            }
        }
        return (a, b)
    }
}

/// Statistics of a series' log returns ln(closeₜ / closeₜ₋₁), over consecutive bars one interval apart (a return across
/// a gap is left out). NaN where there are too few returns.
public struct ReturnStatistics: Sendable, Hashable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1).
    public var standardDeviation: Double
    /// Adjusted Fisher–Pearson skewness G1 (pandas `skew`).
    public var skewness: Double
    /// Excess kurtosis G2 (pandas `kurt`; 0 for a normal distribution).
    public var excessKurtosis: Double
    public var min: Double
    public var max: Double
    public var median: Double
    /// median(|r − median|), unscaled.
    public var medianAbsoluteDeviation: Double
    /// Pearson's r of rₜ with rₜ₋ₖ for k = 1…lags, over the returns whose k-th predecessor (k intervals earlier) exists.
    public var autocorrelation: [Double]
    /// The same at lag 1 for squared returns: volatility clustering.
    public var squaredAutocorrelation: Double

    init(returns: [Double], autocorrelation: [Double], squaredAutocorrelation: Double) {
        count = returns.count
        mean = Statistics.mean(returns)
        standardDeviation = Statistics.standardDeviation(returns)
        skewness = Statistics.skewness(returns)
        excessKurtosis = Statistics.excessKurtosis(returns)
        min = returns.min() ?? .nan
        max = returns.max() ?? .nan
        (median, medianAbsoluteDeviation) = Statistics.medianAbsoluteDeviation(returns)
        self.autocorrelation = autocorrelation
        self.squaredAutocorrelation = squaredAutocorrelation
    }
}

/// Pearson correlation of log returns between series, each pair over the times where both have a return (pairwise, as
/// pandas `DataFrame.corr`); only series of the same interval are compared (NaN otherwise).
public struct ReturnCorrelation: Sendable {
    /// Series labels, in the report's order.
    public var labels: [String]
    /// ρ[i][j]; NaN when fewer than 2 common returns, a constant side or different intervals.
    public var values: [[Double]]
    /// Common returns of each pair.
    public var pairs: [[Int]]

    init(_ series: [SeriesQuality]) {
        labels = series.map(\.label)
        let n = series.count
        values = Array(repeating: Array(repeating: .nan, count: n), count: n)
        pairs = Array(repeating: Array(repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in i..<n where series[i].intervalSeconds == series[j].intervalSeconds {
                let (a, b) = SeriesQuality.aligned(series[i].returnTimes, series[i].logReturns, series[j].returnTimes,
                                                   series[j].logReturns, shift: 0)
                let rho = Statistics.correlation(a, b)
                (values[i][j], values[j][i]) = (rho, rho)
                (pairs[i][j], pairs[j][i]) = (a.count, a.count)
            }
        }
    }
}
