import Foundation
import QuorumAnalytics
import QuorumMarketData
import QuorumModel

extension DataQualityReport {
    /// `quorum eda --html`: one self-contained page (inline CSS and SVG, no script, nothing fetched), readable on a
    /// laptop and a phone (charts scale to the width). Deterministic: the same files give the same bytes.
    public func html(listLimit: Int? = 10) -> String {
        DataQualityHTML(report: self, listLimit: listLimit).render()
    }
}

/// The page of `DataQualityReport.html`: an overview table, the correlation table, then a section per series (its
/// checks, a timeline of gaps, rejected rows and outliers, the close, a histogram of log returns, the autocorrelations
/// and the lists). Charts come from `ReportHTML`, as the backtest report's do.
struct DataQualityHTML {
    let report: DataQualityReport
    let listLimit: Int?

    typealias H = ReportHTML

    func render() -> String {
        let all = report.allSeries
        let title = "Data quality: " + report.series.map(\.label).joined(separator: ", ")
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(H.escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:16px auto;padding:0 12px;color:#222;max-width:960px;line-height:1.4}
        h1{font-size:20px}h2{font-size:17px;margin-top:36px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:20px 0 6px}
        table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
        th{text-align:left;font-weight:600}.wide{overflow-x:auto;max-width:100%}
        svg{background:#fafafa;border:1px solid #eee;max-width:100%;height:auto}.axis{font-size:10px;fill:#666}
        .bad{color:#b3261e;font-weight:600}.note{color:#555;font-size:13px}
        ul.rows{font:12px ui-monospace,monospace;padding-left:18px;overflow-wrap:anywhere}
        </style></head><body>
        <h1>\(H.escape(title))</h1>
        <p class="note">\(report.series.count) series in \(Set(all.flatMap(\.files)).count) file(s). Files are read as <code>quorum ingest</code> \
        reads them, without its price outlier rule. Log returns are ln(close / previous close) of bars one interval apart. An \
        outlier is a log return whose robust z-score (r − median) / (1.4826 · MAD) exceeds \(H.number(report.settings.outlierZ, 1)) \
        in absolute value.</p>

        """
        html += overview(all)
        if report.series.count > 1 { html += correlation() }
        for (index, s) in all.enumerated() { html += section(s, id: "s\(index)") }
        return html + "</body></html>\n"
    }

    /// One row per series with every check; counts above zero stand out.
    func overview(_ all: [SeriesQuality]) -> String {
        let columns = ["bars", "coverage", "gaps", "missing", "duplicates", "out of order", "rejected", "NaN/inf", "price ≤ 0",
                       "OHLC", "zero volume", "outliers"]
        var html = "<div class=\"wide\"><table><tr><th>series</th>" + columns.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for (index, s) in all.enumerated() {
            let problems = [s.gaps.count, s.missingBars, s.duplicates, s.outOfOrder, s.rejectedRows, s.nan, s.nonPositivePrice,
                            s.ohlcInconsistent, s.zeroVolume.count, s.outliers.count]
            html += "<tr><th><a href=\"#s\(index)\">\(H.escape(s.label))</a></th><td>\(H.grouped(s.bars))</td><td>\(H.percent(s.coverage))</td>"
                + problems.map(count).joined() + "</tr>\n"
        }
        return html + "</table></div>\n"
    }

    func count(_ n: Int) -> String { n > 0 ? "<td class=\"bad\">\(H.grouped(n))</td>" : "<td>0</td>" }

    /// The correlation matrix as a table whose cells are shaded by ρ (blue positive, red negative).
    func correlation() -> String {
        let c = report.correlation
        var html = "<h2>Correlation of log returns</h2>\n<p class=\"note\">Pearson's ρ, each pair over the bars where both series "
            + "have a return (hover a cell for their number); n/a between different intervals.</p>\n"
        html += "<div class=\"wide\"><table><tr><th></th>" + c.labels.map { "<th>\(H.escape($0))</th>" }.joined() + "</tr>\n"
        for (i, label) in c.labels.enumerated() {
            html += "<tr><th>\(H.escape(label))</th>"
            for (j, rho) in c.values[i].enumerated() {
                let alpha = rho.isFinite ? H.number(0.1 + 0.6 * min(1, abs(rho)), 2) : "0"
                let color = rho >= 0 ? "rgba(31,111,235,\(alpha))" : "rgba(207,34,46,\(alpha))"
                html += "<td style=\"background:\(color)\" title=\"\(H.grouped(c.pairs[i][j])) common returns\">\(H.number(rho, 3))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table></div>\n"
    }

    func section(_ s: SeriesQuality, id: String) -> String {
        var html = "<section id=\"\(id)\">\n<h2>\(H.escape(s.label))</h2>\n"
        func list<T>(_ title: String, _ items: [T], _ text: (T) -> String) {
            guard !items.isEmpty else { return }
            let (shown, more) = SeriesQuality.first(items, listLimit)
            html += "<h3>\(H.escape(title)) (\(H.grouped(items.count)))</h3>\n<ul class=\"rows\">\n"
            for item in shown { html += "<li>\(H.escape(text(item)))</li>\n" }
            if more > 0 { html += "<li>… and \(H.grouped(more)) more</li>\n" }
            html += "</ul>\n"
        }
        html += "<p>\(H.escape(s.files.joined(separator: ", ")))"
        if s.symbol == "-" {
            html += ": rows whose market could not be told (no usable value in the symbol column).</p>\n"
            list("Rejected rows", s.rejections, \.description)
            return html + "</section>\n"
        }
        if let first = s.firstOpen, let last = s.lastOpen {
            html += " · \(Durations.text(s.intervalSeconds * 1_000_000_000)) bars · \(TimestampParser.iso(first)) → \(TimestampParser.iso(last))"
        }
        html += "</p>\n"
        let r = s.returns
        let g = H.grouped
        let rejectedKinds = RowRejectionCode.allCases.compactMap { code in s.rejected[code].map { "\(code.rawValue) \(g($0))" } }
        // (what, value, whether it is a problem)
        let checks: [(String, String, Bool)] = [
            ("bars (of expected)", "\(g(s.bars)) of \(g(s.expectedBars)) (\(H.percent(s.coverage)))", false),
            ("gaps / missing bars / longest", "\(g(s.gaps.count)) / \(g(s.missingBars)) / \(g(s.longestGap?.missingBars ?? 0))", !s.gaps.isEmpty),
            ("missing times holding rejected rows", g(s.gaps.reduce(0) { $0 + $1.rejectedRows }), false),
            ("duplicates", g(s.duplicates), s.duplicates > 0), ("out of time order", g(s.outOfOrder), s.outOfOrder > 0),
            ("rejected rows", rejectedKinds.isEmpty ? "0" : rejectedKinds.joined(separator: ", "), s.rejectedRows > 0),
            ("NaN / inf", g(s.nan), s.nan > 0), ("price ≤ 0", g(s.nonPositivePrice), s.nonPositivePrice > 0),
            ("negative volume", g(s.negativeVolume), s.negativeVolume > 0), ("high < low", g(s.highBelowLow), s.highBelowLow > 0),
            ("open or close outside [low, high]", g(s.openCloseOutsideRange), s.openCloseOutsideRange > 0),
            ("zero volume", g(s.zeroVolume.count), !s.zeroVolume.isEmpty), ("flat bars (O = H = L = C)", g(s.flatBars), false),
            ("outlying returns (largest |z|)", s.outliersTested ? "\(g(s.outliers.count)) (\(H.number(s.maxAbsZ, 1)))"
                : "not tested: fewer than \(report.settings.minimumReturnsForOutliers) returns", !s.outliers.isEmpty),
            ("log returns", g(r.count), false), ("mean / std", "\(H.percentage(r.mean, decimals: 4)) / \(H.percentage(r.standardDeviation, decimals: 3))", false),
            ("skew / excess kurtosis", "\(H.number(r.skewness, 2)) / \(H.number(r.excessKurtosis, 1))", false),
            ("min / median / max", "\(H.percent(r.min)) / \(H.percentage(r.median, decimals: 4)) / \(H.percent(r.max))", false),
            ("autocorrelation lag 1 (of squared returns)",
             "\(H.number(r.autocorrelation.first ?? .nan, 3)) (\(H.number(r.squaredAutocorrelation, 3)))", false),
        ]
        html += "<div class=\"wide\"><table>\n"
        for (name, value, problem) in checks {
            html += "<tr><th>\(H.escape(name))</th><td\(problem ? " class=\"bad\"" : "")>\(H.escape(value))</td></tr>\n"
        }
        html += "</table></div>\n"
        html += "<h3>Timeline</h3>\n<p class=\"note\">Red: missing bars; purple: rejected rows; orange: outlying returns.</p>\n"
            + timeline(s)
        html += "<h3>Close</h3>\n" + H.lineChart(H.sample(s.closes), color: "#1f6feb")
        html += "<h3>Log returns (%)</h3>\n" + returnHistogram(s)
        html += "<h3>Autocorrelation of log returns</h3>\n"
        html += autocorrelation(r)
        list("Gaps", s.gaps, \.description)
        list("Rejected rows", s.rejections, \.description)
        list("Repeated by a later file", s.repeats, \.description)
        list("Outlying returns (the largest |z| first)", s.outliers, \.description)
        list("Zero-volume bars", s.zeroVolume, \.description)
        return html + "</section>\n"
    }

    /// The series' time range in columns: a red bar where bars are missing (its height grows with how many), purple and
    /// orange ticks where rows were rejected and returns are outliers.
    func timeline(_ s: SeriesQuality) -> String {
        guard let first = s.firstOpen, let last = s.lastOpen, last > first else { return "<p>Not enough data.</p>\n" }
        let (width, height, left) = (H.width, 64.0, 8.0)
        let columns = Int(width - 2 * left)
        func column(_ t: Nanos) -> Int { min(columns - 1, max(0, Int(Double(t - first) / Double(last - first) * Double(columns)))) }
        var missing = [Int](repeating: 0, count: columns), rejected = missing, outliers = missing
        let step = s.intervalSeconds * 1_000_000_000
        for g in s.gaps {
            // Spread the gap's missing bars over the columns it covers.
            let (a, b) = (column(g.after.time + step), column(g.before.time - step))
            for c in a...max(a, b) { missing[c] += max(1, g.missingBars / (max(a, b) - a + 1)) }
        }
        for r in s.rejections { if let t = r.time { rejected[column(t)] += 1 } }
        for o in s.outliers { outliers[column(o.bar.time)] += 1 }
        let perColumn = max(1, Double(s.expectedBars) / Double(columns))
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        svg += "<rect x=\"\(Int(left))\" y=\"20\" width=\"\(columns)\" height=\"24\" fill=\"#d7eadb\"/>\n"
        for c in 0..<columns {
            if missing[c] > 0 {
                // Every gap is seen (2 px wide across the band); its shade deepens with the share of the column missing.
                let shade = H.number(0.5 + 0.5 * min(1, Double(missing[c]) / perColumn), 2)
                svg += "<rect x=\"\(Int(left) + c)\" y=\"20\" width=\"2\" height=\"24\" fill=\"#cf222e\" fill-opacity=\"\(shade)\"/>"
            }
            if rejected[c] > 0 { svg += "<rect x=\"\(Int(left) + c)\" y=\"8\" width=\"1\" height=\"10\" fill=\"#8250df\"/>" }
            if outliers[c] > 0 { svg += "<rect x=\"\(Int(left) + c)\" y=\"46\" width=\"1\" height=\"10\" fill=\"#d4760a\"/>" }
        }
        svg += "\n<text class=\"axis\" x=\"\(Int(left))\" y=\"64\">\(TimestampParser.iso(first).prefix(10))</text>"
        svg += "<text class=\"axis\" x=\"\(Int(width - left - 60))\" y=\"64\">\(TimestampParser.iso(last).prefix(10))</text>\n"
        return svg + "</svg>\n"
    }

    /// One stem per lag on a symmetric scale that keeps small values small (at least ±0.1), with the band where 95 % of
    /// lags of returns without autocorrelation would lie (±1.96/√n, dashed).
    func autocorrelation(_ r: ReturnStatistics) -> String {
        guard r.count > 0 else { return "<p>No returns.</p>\n" }
        let band = 1.96 / Double(r.count).squareRoot()
        let finite = r.autocorrelation.filter(\.isFinite)
        let top = max(0.1, 1.5 * band, 1.2 * (finite.map(abs).max() ?? 0))
        let (width, height, left) = (H.width, 160.0, 44.0)
        func y(_ v: Double) -> Double { height / 2 - (height / 2 - 12) * v / top }
        let spacing = (width - left - 12) / Double(r.autocorrelation.count)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        for v in [top, 0, -top] {
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(width - 12))\" y1=\"\(H.number(y(v), 1))\" y2=\"\(H.number(y(v), 1))\" stroke=\"\(v == 0 ? "#999" : "#e5e5e5")\"/>"
            svg += "<text class=\"axis\" x=\"2\" y=\"\(H.number(y(v) + 3, 1))\">\(H.number(v, 2))</text>\n"
        }
        for v in [band, -band] {
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(width - 12))\" y1=\"\(H.number(y(v), 1))\" y2=\"\(H.number(y(v), 1))\" stroke=\"#8250df\" stroke-dasharray=\"4 3\"/>\n"
        }
        for (k, v) in r.autocorrelation.enumerated() where v.isFinite {
            let x = left + spacing * (Double(k) + 0.5)
            svg += "<rect x=\"\(H.number(x - min(8, spacing / 4), 1))\" y=\"\(H.number(min(y(v), y(0)), 1))\" width=\"\(H.number(min(16, spacing / 2), 1))\" "
                + "height=\"\(H.number(abs(y(v) - y(0)), 1))\" fill=\"\(abs(v) > band ? "#cf222e" : "#1f6feb")\"><title>lag \(k + 1): \(H.number(v, 4))</title></rect>"
            if r.autocorrelation.count <= 30 || (k + 1) % 5 == 0 {
                svg += "<text class=\"axis\" x=\"\(H.number(x - 3, 1))\" y=\"\(Int(height - 1))\">\(k + 1)</text>"
            }
            svg += "\n"
        }
        return svg + "</svg>\n<p class=\"note\">Lags 1 to \(r.autocorrelation.count) (bars); dashed: ±\(H.number(band, 3)), where 95 % of "
            + "lags would lie without autocorrelation (red beyond it).</p>\n"
    }

    /// Log returns in %, between their 0.5th and 99.5th percentiles (so that a few outliers do not squeeze the rest into
    /// one bin); how many lie outside is said below.
    func returnHistogram(_ s: SeriesQuality) -> String {
        guard !s.logReturns.isEmpty else { return "<p>No returns.</p>\n" }
        let bounds = Statistics.percentiles(s.logReturns, [0.5, 99.5])
        let inside = s.logReturns.filter { $0 >= bounds[0] && $0 <= bounds[1] }.map { $0 * 100 }
        return H.histogram(inside, bins: 40, noun: "returns", empty: "No returns.")
            + "<p class=\"note\">\(H.grouped(s.logReturns.count - inside.count)) returns outside [\(H.percentage(bounds[0], decimals: 3)), "
            + "\(H.percentage(bounds[1], decimals: 3))] left out of the chart.</p>\n"
    }
}
