import QuorumAnalytics
import QuorumFeatures
import QuorumMarketData
import QuorumModel

/// The files of `quorum features report`: `<out>/features-<id>/report.json`, `report.html` (one self-contained page)
/// and `pruned-spec.json`, with `id` from the config and the data (as a run id), so the same inputs write the same
/// folder and bytes.
public struct FeatureReportOutput: Sendable {
    public let report: FeatureReport
    public let id: String

    public init(report: FeatureReport, config: BacktestConfig, data: BacktestData) {
        self.report = report
        id = "features-" + BacktestOutput.runID(config: config, data: data)
    }

    public static let fileNames = ["report.json", "report.html", "pruned-spec.json"]

    public func json() -> JSON {
        func number(_ x: Double) -> JSON { x.isFinite ? .double(x) : .null }
        let r = report
        return .object([
            ("spec", .string(r.spec.name)), ("version", .string(r.spec.versionHex)), ("rows", .int(r.rows)),
            ("max_correlation", .double(r.maxCorrelation)), ("seed", .int(r.seed)),
            ("must_keep", .array(r.mustKeep.map(JSON.string))),
            ("folds", .array(r.folds.map { f in
                .object([("index", .int(f.index)), ("test_from", .string(TimestampParser.iso(f.testFrom))),
                         ("test_to", .string(TimestampParser.iso(f.testTo)))])
            })),
            ("features", .array(r.features.map { f in
                .object([
                    ("name", .string(f.name)), ("ic_by_fold", .array(f.foldIC.map { $0.map(number) ?? .null })),
                    ("mean_ic", number(f.meanIC)), ("ic_std", number(f.icStandardDeviation)), ("ic_ir", number(f.icInformationRatio)),
                    ("sign_agreement", number(f.signAgreement)), ("mutual_information_bits", number(f.mutualInformationBits)),
                    ("permutation_importance", f.permutationImportance.map(number) ?? .null), ("cluster", .int(f.cluster)),
                    ("keep", .bool(f.keep)), ("note", .string(f.note)),
                ])
            })),
            ("kept", .array(r.features.filter(\.keep).map { .string($0.name) })),
            ("dropped", .array(r.features.filter { !$0.keep }.map { .string($0.name) })),
        ])
    }

    /// The page: the table (sorted by |IC information ratio|) with IC bars per fold, and the correlation heat map.
    public func html() -> String {
        let r = report
        let n = ReportHTML.number
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Features \(id)</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
        table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:right}
        th{font-weight:600}td.l,th.l{text-align:left}.dropped{color:#999}svg{background:#fafafa;border:1px solid #eee}
        </style></head><body>
        <h1>Features \(ReportHTML.escape(r.spec.description))</h1>
        <p>\(r.features.count) features · \(r.rows) rows · \(r.folds.count) walk-forward folds · clusters at |ρ| ≥ \(n(r.maxCorrelation, 2)) · \
        \(r.features.filter { !$0.keep }.count) near-duplicates dropped · seed \(r.seed)</p>
        <p>IC: Spearman correlation with the next bar's log return on each fold's test window (bars: one per fold, green
        positive, red negative). IR: mean IC / its standard deviation across folds. Agree: share of folds with the mean's
        sign. MI: mutual information of the feature's deciles with the next bar's direction, in millibits. Importance: rise of
        the fold model's log loss (×1000) when the feature is shuffled, out of sample.</p>
        <table><tr><th class="l">feature</th><th>IC by fold</th><th>mean IC</th><th>IR</th><th>agree</th><th>MI (mbit)</th>
        <th>importance</th><th>cluster</th><th class="l">verdict</th></tr>

        """
        let order = r.features.indices.sorted { a, b in
            let (x, y) = (abs(r.features[a].icInformationRatio), abs(r.features[b].icInformationRatio))
            return x != y ? x > y : a < b
        }
        let scale = max(r.features.flatMap { $0.foldIC.compactMap { $0.map(abs) } }.max() ?? 0, 1e-9)
        for i in order {
            let f = r.features[i]
            var bars = "<svg width=\"\(max(1, f.foldIC.count) * 10)\" height=\"24\">"
            for (k, ic) in f.foldIC.enumerated() {
                guard let ic else { continue }
                let h = 11 * abs(ic) / scale
                bars += "<rect x=\"\(k * 10 + 1)\" y=\"\(n(ic >= 0 ? 12 - h : 12, 1))\" width=\"8\" height=\"\(n(h, 1))\" fill=\"\(ic >= 0 ? "#2da44e" : "#cf222e")\"/>"
            }
            bars += "</svg>"
            html += "<tr\(f.keep ? "" : " class=\"dropped\"")><td class=\"l\">\(ReportHTML.escape(f.name))</td><td>\(bars)</td>"
                + "<td>\(n(f.meanIC, 4))</td><td>\(n(f.icInformationRatio, 2))</td><td>\(n(f.signAgreement * 100, 0)) %</td>"
                + "<td>\(n(f.mutualInformationBits * 1000, 2))</td><td>\(f.permutationImportance.map { n($0 * 1000, 3) } ?? "n/a")</td>"
                + "<td>\(f.cluster)</td><td class=\"l\">\(ReportHTML.escape(f.note))</td></tr>\n"
        }
        html += "</table>\n<h2>Correlation between the features (Pearson ρ over all rows: blue positive, red negative)</h2>\n"
        let width = r.features.count, cell = 10, label = 150
        html += "<svg width=\"\(label + width * cell + 10)\" height=\"\(label + width * cell + 10)\">\n"
        for (j, f) in r.features.enumerated() {
            html += "<text x=\"\(label - 4)\" y=\"\(label + j * cell + 8)\" font-size=\"8\" text-anchor=\"end\">\(ReportHTML.escape(f.name))</text>"
            html += "<text transform=\"translate(\(label + j * cell + 8),\(label - 4)) rotate(-90)\" font-size=\"8\">\(ReportHTML.escape(f.name))</text>\n"
        }
        for a in 0..<width {
            for b in 0..<width {
                let rho = r.correlation[a * width + b]
                guard rho.isFinite else { continue }
                let shade = Int(255 - 200 * min(1, abs(rho)))
                let color = rho >= 0 ? "rgb(\(shade),\(shade),255)" : "rgb(255,\(shade),\(shade))"
                html += "<rect x=\"\(label + b * cell)\" y=\"\(label + a * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(color)\"/>"
            }
            html += "\n"
        }
        html += "</svg>\n</body></html>\n"
        return html
    }

    /// Writes the files; returns the folder.
    public func write(to outDirectory: String) throws(BacktestError) -> String {
        let folder = (outDirectory.hasSuffix("/") ? String(outDirectory.dropLast()) : outDirectory) + "/" + id
        try BacktestOutput.makeDirectories(folder)
        try BacktestOutput.writeFile(folder + "/report.json", json().rendered())
        try BacktestOutput.writeFile(folder + "/report.html", html())
        try BacktestOutput.writeFile(folder + "/pruned-spec.json", report.prunedSpec())
        return folder
    }

    /// The terminal summary.
    public func summary() -> [String] {
        let r = report
        var lines = ["features \(r.spec): \(r.features.count) features, \(r.rows) rows, \(r.folds.count) folds"]
        lines.append("  by |IC information ratio| (mean IC, IR, sign agreement, permutation importance ×1000):")
        let top = r.features.sorted { abs($0.icInformationRatio) > abs($1.icInformationRatio) }.prefix(10)
        for f in top {
            let name = f.name.count >= 28 ? f.name : f.name + String(repeating: " ", count: 28 - f.name.count)
            let importance = f.permutationImportance.map { ReportHTML.number($0 * 1000, 3) } ?? "n/a"
            lines.append("    \(name) \(ReportHTML.number(f.meanIC, 4))  \(ReportHTML.number(f.icInformationRatio, 2))  "
                         + "\(ReportHTML.number(f.signAgreement * 100, 0)) %  \(importance)")
        }
        let dropped = r.features.filter { !$0.keep }
        lines.append("  \(dropped.count) near-duplicates (|ρ| ≥ \(r.maxCorrelation)) dropped from the pruned spec"
                     + (dropped.isEmpty ? "" : ": " + dropped.map(\.name).joined(separator: ", ")))
        return lines
    }
}
