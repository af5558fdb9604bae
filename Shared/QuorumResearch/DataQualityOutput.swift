import Foundation
import QuorumMarketData
import QuorumModel

/// What `quorum eda` prints: the terminal summary and the JSON (the HTML page is `DataQualityHTML`). Lists (gaps,
/// rejected rows, duplicates, zero-volume bars, outliers) show their first `listLimit` items and say how many more
/// there are; nil shows them all.
extension DataQualityReport {
    /// Every series, with the rows whose market could not be told last.
    public var allSeries: [SeriesQuality] { series + (unattributed.map { [$0] } ?? []) }

    // MARK: JSON

    /// A JSON array of one object per series (docs/eda.md lists every key); counts and statistics are numbers (null
    /// where not defined), times ISO-8601 strings.
    public func json(listLimit: Int? = 10) -> JSON {
        .array(allSeries.map { $0.json(listLimit: listLimit, settings: settings) })
    }

    // MARK: terminal

    /// One block per series, then the correlation table.
    public func summary(listLimit: Int? = 10) -> [String] {
        let files = Set(allSeries.flatMap(\.files)).count
        let totals = [
            "bars \(ReportHTML.grouped(series.reduce(0) { $0 + $1.bars }))",
            "rejected rows \(ReportHTML.grouped(allSeries.reduce(0) { $0 + $1.rejectedRows }))",
            "gaps \(ReportHTML.grouped(series.reduce(0) { $0 + $1.gaps.count }))",
            "duplicates \(ReportHTML.grouped(series.reduce(0) { $0 + $1.duplicates }))",
            "outlying returns \(ReportHTML.grouped(series.reduce(0) { $0 + $1.outliers.count }))",
        ]
        var lines = ["eda: \(series.count) series in \(files) file(s): " + totals.joined(separator: ", ")]
        for s in allSeries {
            lines.append("")
            lines += s.summary(listLimit: listLimit, settings: settings)
        }
        if series.count > 1 {
            lines.append("")
            lines += correlationTable()
        }
        return lines
    }

    func correlationTable() -> [String] {
        let c = correlation
        let width = max(8, (c.labels.map(\.count).max() ?? 0) + 1)
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var lines = ["correlation of log returns (Pearson, each pair over the bars where both have a return):"]
        lines.append("  " + pad("") + c.labels.map(pad).joined())
        for (i, label) in c.labels.enumerated() {
            lines.append("  " + pad(label) + c.values[i].map { pad(ReportHTML.number($0, 3)) }.joined())
        }
        return lines
    }
}

extension SeriesQuality {
    /// The first `limit` items and how many were left out.
    static func first<T>(_ items: [T], _ limit: Int?) -> (shown: ArraySlice<T>, more: Int) {
        let shown = items.prefix(limit ?? items.count)
        return (shown, items.count - shown.count)
    }

    /// The coverage of the time range: bars / expected bars.
    public var coverage: Double { expectedBars > 0 ? Double(bars) / Double(expectedBars) : .nan }

    /// Every duplicate: the reader's within a file (rows at a time already held) and later files' repeats.
    public var duplicatePlaces: [BarPlace] {
        rejections.filter { $0.code == .duplicateTimestamp }.map { BarPlace(time: $0.time ?? 0, file: $0.file, line: $0.line) }
            + repeats.map(\.bar)
    }

    func json(listLimit: Int?, settings: DataQuality.Settings) -> JSON {
        func time(_ t: Nanos?) -> JSON { t.map { .string(TimestampParser.iso($0)) } ?? .null }
        func place(_ p: BarPlace) -> [(String, JSON)] { [("time", time(p.time)), ("file", .string(p.file)), ("line", .int(p.line))] }
        func list<T>(_ key: String, _ items: [T], _ item: (T) -> JSON) -> [(String, JSON)] {
            let (shown, more) = Self.first(items, listLimit)
            return [(key, .array(shown.map(item))), (key + "_more", .int(more))]
        }
        let r = returns
        var pairs: [(String, JSON)] = [
            ("symbol", .string(symbol)), ("label", .string(label)), ("interval_seconds", .int(intervalSeconds)),
            ("files", .array(files.map(JSON.string))), ("first_open", time(firstOpen)), ("last_open", time(lastOpen)),
            ("bars", .int(bars)), ("expected_bars", .int(expectedBars)), ("coverage", .double(coverage)),
            ("gaps", .int(gaps.count)), ("missing_bars", .int(missingBars)), ("longest_gap_bars", .int(longestGap?.missingBars ?? 0)),
            ("rejected_rows_in_gaps", .int(gaps.reduce(0) { $0 + $1.rejectedRows })),
        ]
        pairs += list("gap_list", gaps) { g in
            .object([("after", time(g.after.time)), ("before", time(g.before.time)), ("missing_bars", .int(g.missingBars)),
                     ("rejected_rows", .int(g.rejectedRows)), ("file", .string(g.before.file)), ("line", .int(g.before.line))])
        }
        pairs += [("duplicates", .int(duplicates))]
        pairs += list("duplicate_list", duplicatePlaces) { .object(place($0)) }
        pairs += [
            ("out_of_order", .int(outOfOrder)), ("rejected_rows", .int(rejectedRows)),
            ("rejected", .object(RowRejectionCode.allCases.compactMap { code in rejected[code].map { (code.rawValue, .int($0)) } })),
        ]
        pairs += list("rejection_list", rejections) { r in
            .object([("file", .string(r.file)), ("line", .int(r.line)), ("kind", .string(r.code.rawValue)), ("detail", .string(r.detail))])
        }
        pairs += [
            ("nan", .int(nan)), ("non_positive_price", .int(nonPositivePrice)), ("negative_volume", .int(negativeVolume)),
            ("ohlc_inconsistent", .int(ohlcInconsistent)), ("high_below_low", .int(highBelowLow)),
            ("open_close_outside_range", .int(openCloseOutsideRange)), ("zero_volume", .int(zeroVolume.count)),
        ]
        pairs += list("zero_volume_list", zeroVolume) { .object(place($0)) }
        pairs += [
            ("flat_bars", .int(flatBars)), ("outliers", .int(outliers.count)), ("outliers_tested", .bool(outliersTested)),
            ("outlier_z", .double(settings.outlierZ)),
            ("max_abs_z", .double(maxAbsZ)), ("z_scale", .double(zScale)),
        ]
        pairs += list("outlier_list", outliers) { o in .object(place(o.bar) + [("log_return", .double(o.logReturn)), ("z", .double(o.z))]) }
        pairs += [
            ("returns", .object([
                ("count", .int(r.count)), ("mean", .double(r.mean)), ("std", .double(r.standardDeviation)),
                ("skew", .double(r.skewness)), ("excess_kurtosis", .double(r.excessKurtosis)), ("min", .double(r.min)),
                ("max", .double(r.max)), ("median", .double(r.median)), ("mad", .double(r.medianAbsoluteDeviation)),
                ("autocorrelation", .array(r.autocorrelation.map(JSON.double))),
                ("squared_autocorrelation_1", .double(r.squaredAutocorrelation)),
            ])),
            ("correlation", .object(correlations.map { ($0.label, .double($0.rho)) })),
            ("common_returns", .object(correlations.map { ($0.label, .int($0.pairs)) })),
        ]
        return .object(pairs)
    }

    func summary(listLimit: Int?, settings: DataQuality.Settings) -> [String] {
        let g = ReportHTML.grouped
        var lines: [String] = []
        func items<T>(_ title: String, _ list: [T], _ text: (T) -> String) {
            guard !list.isEmpty else { return }
            let (shown, more) = Self.first(list, listLimit)
            lines.append("  \(title):")
            for item in shown { lines.append("    " + text(item)) }
            if more > 0 { lines.append("    … and \(g(more)) more") }
        }
        guard symbol != "-" else {
            lines.append("rows without a market (no usable symbol column value) in \(files.joined(separator: ", ")): \(g(rejectedRows))")
            items("rejected rows", rejections, \.description)
            return lines
        }
        let range = firstOpen.map { "\(TimestampParser.iso($0)) → \(TimestampParser.iso(lastOpen ?? $0))" } ?? "no bars"
        lines.append("\(label)  \(Durations.text(intervalSeconds * 1_000_000_000))  \(range)  \(g(bars)) bars of \(g(expectedBars)) "
                     + "expected (\(ReportHTML.percent(coverage)))")
        lines.append("  files: \(files.joined(separator: ", "))")
        var gapLine = "  gaps: \(g(gaps.count))"
        if let longest = longestGap {
            let inGaps = gaps.reduce(0) { $0 + $1.rejectedRows }
            gapLine += " (\(g(missingBars)) missing bars; longest \(g(longest.missingBars)) after \(TimestampParser.iso(longest.after.time))"
                + (inGaps > 0 ? "; \(g(inGaps)) of the missing times hold rejected rows" : "") + ")"
        }
        lines.append(gapLine)
        items("gap list", gaps, \.description)
        lines.append("  rows: rejected \(g(rejectedRows)), duplicates \(g(duplicates)), out of time order \(g(outOfOrder)) (sorted into place)")
        lines.append("  values: NaN/inf \(g(nan)), price ≤ 0 \(g(nonPositivePrice)), negative volume \(g(negativeVolume)), "
                     + "OHLC inconsistent \(g(ohlcInconsistent)) (high < low \(g(highBelowLow)), open/close outside [low, high] "
                     + "\(g(openCloseOutsideRange))), zero volume \(g(zeroVolume.count)), flat bars \(g(flatBars))")
        let others = RowRejectionCode.allCases.filter {
            ![.duplicateTimestamp, .nonFinite, .nonPositivePrice, .negativeVolume, .highBelowLow, .openOrCloseOutsideRange].contains($0)
        }.compactMap { code in rejected[code].map { "\(code.rawValue) \(g($0))" } }
        if !others.isEmpty { lines.append("  other rejected rows: " + others.joined(separator: ", ")) }
        items("rejected rows", rejections, \.description)
        items("repeated by a later file", repeats, \.description)
        items("zero-volume bars", zeroVolume, \.description)
        if outliersTested {
            lines.append("  outliers: \(g(outliers.count)) log returns with |robust z| > \(ReportHTML.number(settings.outlierZ, 1)) "
                         + "(largest |z| \(ReportHTML.number(maxAbsZ, 1)))")
        } else {
            lines.append("  outliers: not tested (\(returns.count) log returns, fewer than \(settings.minimumReturnsForOutliers))")
        }
        items("outlier list (the largest |z| first)", outliers, \.description)
        let r = returns
        lines.append("  log returns: \(g(r.count)), mean \(ReportHTML.percentage(r.mean, decimals: 4)), std \(ReportHTML.percentage(r.standardDeviation, decimals: 3)), "
                     + "skew \(ReportHTML.number(r.skewness, 2)), excess kurtosis \(ReportHTML.number(r.excessKurtosis, 1)), "
                     + "min \(ReportHTML.percent(r.min)), max \(ReportHTML.percent(r.max))")
        lines.append("  autocorrelation: " + r.autocorrelation.enumerated().map { "lag \($0.offset + 1) \(ReportHTML.number($0.element, 3))" }
            .joined(separator: ", ") + "; squared returns lag 1 \(ReportHTML.number(r.squaredAutocorrelation, 3))")
        return lines
    }
}

extension BarPlace: CustomStringConvertible {
    /// `2019-01-07T13:00:00Z  file.csv:123`
    public var description: String { "\(TimestampParser.iso(time))  \(file):\(line)" }
}

extension SeriesQuality.Gap: CustomStringConvertible {
    public var description: String {
        "\(TimestampParser.iso(after.time)) → \(TimestampParser.iso(before.time)): \(ReportHTML.grouped(missingBars)) missing"
            + (rejectedRows > 0 ? " (rejected rows there: \(rejectedRows))" : "") + "  \(before.file):\(before.line)"
    }
}

extension SeriesQuality.Repeat: CustomStringConvertible {
    public var description: String { "\(bar) (first at \(first.file):\(first.line))" }
}

extension SeriesQuality.Outlier: CustomStringConvertible {
    /// The return as a simple return (exp(r) − 1) in %, and its z.
    public var description: String {
        "\(TimestampParser.iso(bar.time))  return \(ReportHTML.percent(exp(logReturn) - 1))  z \(ReportHTML.number(z, 1))  \(bar.file):\(bar.line)"
    }
}
