import QuorumAnalytics
import QuorumMarketData
import QuorumModel

/// report.html: one self-contained page (no scripts, no network), its charts drawn here as inline SVG — equity and
/// drawdown, PnL per symbol, monthly returns heat map, trade PnL histogram, rolling Sharpe — with the headline
/// figures. Deterministic: numbers are rendered with fixed decimals, nothing depends on the clock.
struct ReportHTML {
    let output: BacktestOutput
    var result: BacktestResult { output.result }

    static let width = 900.0
    static let height = 220.0
    static let pad = 44.0

    func render() -> String {
        let r = result.returns
        let t = result.tradeSummary
        let curve = result.curve
        let equity = curve.equity.map(\.doubleValue)
        let returns = ReturnMetrics.returns(equity: equity)
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(output.walkForward == nil ? "Backtest" : "Walk-forward") \(output.runID)</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
        h1{font-size:20px}h2{font-size:16px;margin-top:28px}
        table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
        th{text-align:left;font-weight:600}svg{background:#fafafa;border:1px solid #eee}
        .axis{font-size:10px;fill:#666}
        </style></head><body>
        <h1>\(output.walkForward == nil ? "Backtest" : "Walk-forward") \(output.runID)</h1>
        <p>\(Self.escape(result.data.symbols.map(\.name).joined(separator: ", "))) · \(Self.escape(curve.times.first.map(TimestampParser.iso) ?? "")) → \(Self.escape(curve.times.last.map(TimestampParser.iso) ?? "")) · \(result.data.bars.count) bars · \(Self.escape(output.modelsText)) · code \(Self.escape(output.codeVersion))</p>
        <table>
        """
        let rows: [(String, String)] = [
            ("Final equity", (curve.equity.last ?? .zero).description), ("Total return", Self.percent(r.totalReturn)),
            ("CAGR", Self.percent(r.cagr)), ("Sharpe", Self.number(r.sharpe, 3)), ("Sortino", Self.number(r.sortino, 3)),
            ("Calmar", Self.number(r.calmar, 3)), ("Max drawdown", Self.percent(r.maxDrawdown)),
            ("VaR 95 % / CVaR 95 % (per period)", Self.percent(r.valueAtRisk95) + " / " + Self.percent(r.conditionalValueAtRisk95)),
            ("PSR / DSR", Self.number(r.probabilisticSharpe, 3) + " / " + Self.number(result.deflatedSharpe, 3)),
            ("Trades (closed / open)", "\(t.trades) / \(result.openTrades.count)"), ("Trade win rate", Self.percent(t.winRate)),
            ("Profit factor", Self.number(t.profitFactor, 2)), ("Expectancy", Self.number(t.expectancy, 2)),
            ("Exposure", Self.percent(t.exposure)), ("Fees paid", Self.number(t.feesPaid, 2)), ("Slippage paid", Self.number(t.slippagePaid, 2)),
        ]
        for (name, value) in rows { html += "<tr><th>\(Self.escape(name))</th><td>\(Self.escape(value))</td></tr>\n" }
        html += "</table>\n"

        html += walkForwardHTML()
        html += stressHTML()
        html += "<h2>Equity</h2>\n" + Self.lineChart(Self.sample(equity), color: "#1f6feb")
        html += "<h2>Drawdown</h2>\n" + Self.lineChart(Self.sample(Drawdown.series(returns: returns).map { $0 * 100 }), color: "#cf222e", fill: true, unit: "%")
        html += "<h2>PnL per symbol</h2>\n" + Self.barChart(result.pnlBySymbol.map { ($0.symbol.name, $0.pnl.doubleValue) })
        html += "<h2>Monthly returns</h2>\n" + monthlyHeatMap()
        html += "<h2>Trade PnL histogram</h2>\n" + Self.histogram(result.trades.map { $0.pnl.doubleValue })
        html += "<h2>Rolling Sharpe (30 days)</h2>\n" + rollingSharpe(returns)
        html += "<h2>Monte Carlo: block bootstrap of returns</h2>\n" + monteCarlo()
        html += "</body></html>\n"
        return html
    }

    /// The stress scenarios and the historical windows, as two tables.
    func stressHTML() -> String {
        guard let stress = output.stress else { return "" }
        var html = "<h2>Stress scenarios</h2>\n<table><tr><th>scenario</th><th>total return</th><th>Sharpe</th><th>max drawdown</th><th>trades</th><th>final equity</th></tr>\n"
        for s in stress.scenarios {
            html += "<tr><th title=\"\(Self.escape(s.description))\">\(Self.escape(s.name))</th><td>\(Self.percent(s.totalReturn))</td>"
                + "<td>\(Self.number(s.sharpe, 2))</td><td>\(Self.percent(s.maxDrawdown))</td><td>\(s.trades)</td><td>\(s.finalEquity)</td></tr>\n"
        }
        html += "</table>\n<h2>Historical windows (this run)</h2>\n<table><tr><th>window</th><th>from</th><th>to</th><th>return</th><th>Sharpe</th><th>max drawdown</th></tr>\n"
        for w in stress.windows {
            html += "<tr><th>\(Self.escape(w.name))</th><td>\(TimestampParser.iso(w.from))</td><td>\(TimestampParser.iso(w.to))</td>"
            html += w.totalReturn.map { "<td>\(Self.percent($0))</td><td>\(w.sharpe.map { Self.number($0, 2) } ?? "n/a")</td><td>\(Self.percent(w.maxDrawdown ?? 0))</td>" }
                ?? "<td colspan=\"3\">not in the data</td>"
            html += "</tr>\n"
        }
        return html + "</table>\n"
    }

    // MARK: charts

    /// At most `limit` points of a long series (every k-th, and the last).
    /// At most about `limit` points of `values` for a chart: in each run of consecutive points, its lowest and highest, in
    /// the order they came (min-max decimation), so a peak or trough between two kept points is never dropped; the first
    /// and last points are kept.
    static func sample(_ values: [Double], limit: Int = 1200) -> [Double] {
        guard values.count > limit, limit >= 4 else { return values }
        let step = (values.count + limit / 2 - 1) / (limit / 2)
        var out: [Double] = [values[0]]
        var start = 1
        while start < values.count - 1 {
            let end = min(start + step, values.count - 1)
            var lo = start, hi = start
            for i in start..<end {
                if values[i] < values[lo] { lo = i }
                if values[i] > values[hi] { hi = i }
            }
            if lo == hi { out.append(values[lo]) } else { out += lo < hi ? [values[lo], values[hi]] : [values[hi], values[lo]] }
            start = end
        }
        out.append(values[values.count - 1])
        return out
    }

    static func lineChart(_ values: [Double], color: String, fill: Bool = false, unit: String = "") -> String {
        let finite = values.filter(\.isFinite)
        guard finite.count >= 2, let lo = finite.min(), let hi = finite.max() else { return "<p>Not enough data.</p>\n" }
        let span = hi > lo ? hi - lo : 1
        let w = width - 2 * pad, h = height - 2 * pad / 2
        func x(_ i: Int) -> Double { pad + w * Double(i) / Double(values.count - 1) }
        func y(_ v: Double) -> Double { pad / 2 + h * (1 - (v - lo) / span) }
        var points = ""
        for (i, v) in values.enumerated() where v.isFinite { points += "\(number(x(i), 1)),\(number(y(v), 1)) " }
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        for v in [lo, (lo + hi) / 2, hi] {
            svg += "<line x1=\"\(Int(pad))\" x2=\"\(Int(width - pad))\" y1=\"\(number(y(v), 1))\" y2=\"\(number(y(v), 1))\" stroke=\"#e5e5e5\"/>"
            svg += "<text class=\"axis\" x=\"2\" y=\"\(number(y(v) + 3, 1))\">\(number(v, 2))\(unit)</text>\n"
        }
        if fill {
            svg += "<polygon fill=\"\(color)\" fill-opacity=\"0.25\" points=\"\(number(x(0), 1)),\(number(y(min(0, hi)), 1)) \(points)\(number(x(values.count - 1), 1)),\(number(y(min(0, hi)), 1))\"/>\n"
        }
        svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\" points=\"\(points)\"/>\n</svg>\n"
        return svg
    }

    static func barChart(_ bars: [(String, Double)]) -> String {
        guard !bars.isEmpty else { return "<p>No symbols.</p>\n" }
        let rowHeight = 26.0
        let chartHeight = rowHeight * Double(bars.count) + 10
        let maxAbs = max(bars.map { abs($0.1) }.max() ?? 1, 1e-9)
        let mid = width / 2
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(chartHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(chartHeight))\">\n"
        svg += "<line x1=\"\(Int(mid))\" x2=\"\(Int(mid))\" y1=\"0\" y2=\"\(Int(chartHeight))\" stroke=\"#999\"/>\n"
        for (i, (name, value)) in bars.enumerated() {
            let len = (mid - 120) * abs(value) / maxAbs
            let y = 5 + rowHeight * Double(i)
            let x = value >= 0 ? mid : mid - len
            svg += "<rect x=\"\(number(x, 1))\" y=\"\(number(y, 1))\" width=\"\(number(len, 1))\" height=\"\(Int(rowHeight - 8))\" fill=\"\(value >= 0 ? "#2da44e" : "#cf222e")\"/>"
            svg += "<text class=\"axis\" x=\"4\" y=\"\(number(y + 13, 1))\">\(escape(name))</text>"
            svg += "<text class=\"axis\" x=\"\(number(width - 110, 1))\" y=\"\(number(y + 13, 1))\">\(number(value, 2))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Counts of `values` in `bins` equal bins between their least and largest; `noun` names what is counted.
    static func histogram(_ values: [Double], bins: Int = 24, noun: String = "trades", empty: String = "No closed trades.") -> String {
        guard !values.isEmpty, let lo = values.min(), let hi = values.max() else { return "<p>\(escape(empty))</p>\n" }
        let span = hi > lo ? hi - lo : 1
        var counts = [Int](repeating: 0, count: bins)
        for v in values { counts[min(bins - 1, Int((v - lo) / span * Double(bins)))] += 1 }
        let top = Double(counts.max() ?? 1)
        let w = (width - 2 * pad) / Double(bins)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        for (i, c) in counts.enumerated() {
            let h = (height - 2 * pad) * Double(c) / top
            let left = lo + span * Double(i) / Double(bins)
            svg += "<rect x=\"\(number(pad + w * Double(i) + 1, 1))\" y=\"\(number(height - pad - h, 1))\" width=\"\(number(w - 2, 1))\" height=\"\(number(h, 1))\" fill=\"\(left + span / Double(bins) / 2 >= 0 ? "#2da44e" : "#cf222e")\"><title>\(c) \(noun) from \(number(left, 2))</title></rect>\n"
        }
        svg += "<text class=\"axis\" x=\"\(Int(pad))\" y=\"\(Int(height - pad + 14))\">\(number(lo, 2))</text>"
        svg += "<text class=\"axis\" x=\"\(Int(width - pad - 60))\" y=\"\(Int(height - pad + 14))\">\(number(hi, 2))</text>"
        svg += "<text class=\"axis\" x=\"4\" y=\"\(Int(pad))\">\(Int(top)) \(noun)</text>\n"
        return svg + "</svg>\n"
    }

    /// One cell per month: the return from the last equity of the month before to the last of this month.
    func monthlyHeatMap() -> String {
        let curve = result.curve
        var months: [(String, Double)] = []
        var previous = curve.equity.first?.doubleValue ?? 0
        var current = ""
        var last = previous
        for (time, e) in zip(curve.times, curve.equity) {
            let month = String(TimestampParser.iso(time).prefix(7))
            if month != current, !current.isEmpty {
                months.append((current, previous == 0 ? 0 : last / previous - 1))
                previous = last
            }
            current = month
            last = e.doubleValue
        }
        if !current.isEmpty { months.append((current, previous == 0 ? 0 : last / previous - 1)) }
        guard !months.isEmpty else { return "<p>No data.</p>\n" }
        let years = Array(Set(months.map { $0.0.prefix(4) })).sorted()
        let maxAbs = max(months.map { abs($0.1) }.max() ?? 0, 1e-9)
        let cell = 62.0, rowHeight = 24.0
        let svgHeight = rowHeight * Double(years.count + 1) + 6
        var svg = "<svg width=\"\(Int(60 + cell * 12))\" height=\"\(Int(svgHeight))\">\n"
        for m in 1...12 { svg += "<text class=\"axis\" x=\"\(Self.number(60 + cell * Double(m - 1) + 20, 1))\" y=\"14\">\(m)</text>" }
        for (row, year) in years.enumerated() {
            let y = rowHeight * Double(row + 1)
            svg += "<text class=\"axis\" x=\"4\" y=\"\(Self.number(y + 16, 1))\">\(year)</text>\n"
            for (month, value) in months where month.hasPrefix(year) {
                let m = Int(month.suffix(2)) ?? 1
                let intensity = min(1, abs(value) / maxAbs)
                let color = value >= 0 ? "rgba(45,164,78,\(Self.number(0.12 + 0.5 * intensity, 2)))" : "rgba(207,34,46,\(Self.number(0.12 + 0.5 * intensity, 2)))"
                svg += "<rect x=\"\(Self.number(60 + cell * Double(m - 1), 1))\" y=\"\(Self.number(y, 1))\" width=\"\(Int(cell - 2))\" height=\"\(Int(rowHeight - 2))\" fill=\"\(color)\"><title>\(month)</title></rect>"
                svg += "<text class=\"axis\" x=\"\(Self.number(60 + cell * Double(m - 1) + 6, 1))\" y=\"\(Self.number(y + 16, 1))\">\(Self.percent(value))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// Sharpe (`ReturnMetrics.sharpeRatio`, annualised) over a trailing 30-day window, at up to 300 points.
    func rollingSharpe(_ returns: [Double]) -> String {
        let perDay = result.returns.periodsPerYear / 365
        let window = max(2, Int((perDay * 30).rounded()))
        guard returns.count > window else { return "<p>Shorter than the 30-day window.</p>\n" }
        let points = min(300, returns.count - window + 1)
        var values: [Double] = []
        for k in 0..<points {
            let end = window + (returns.count - window) * k / max(1, points - 1)
            let s = ReturnMetrics.sharpeRatio(Array(returns[(end - window)..<end]), periodsPerYear: result.returns.periodsPerYear)
            values.append(s.isFinite ? s : 0)
        }
        return Self.lineChart(values, color: "#8250df")
    }

    /// The bootstrap's fan (growth of 1: 5th–95th percentile band, 25th–75th, median) and its percentiles.
    func monteCarlo() -> String {
        guard let m = result.bootstrap, m.fan.count >= 2 else { return "<p>No Monte Carlo paths (monte_carlo.paths is 0).</p>\n" }
        let lo = m.fan.map(\.equity.p5).min() ?? 0, hi = m.fan.map(\.equity.p95).max() ?? 1
        let span = hi > lo ? hi - lo : 1
        let w = Self.width - 2 * Self.pad, h = Self.height - Self.pad
        func x(_ i: Int) -> Double { Self.pad + w * Double(i) / Double(m.fan.count - 1) }
        func y(_ v: Double) -> Double { Self.pad / 2 + h * (1 - (v - lo) / span) }
        func line(_ values: [Double]) -> String { values.enumerated().map { "\(Self.number(x($0.offset), 1)),\(Self.number(y($0.element), 1))" }.joined(separator: " ") }
        func band(_ low: [Double], _ high: [Double], _ opacity: String) -> String {
            "<polygon fill=\"#1f6feb\" fill-opacity=\"\(opacity)\" points=\"\(line(high)) \(line(low).split(separator: " ").reversed().joined(separator: " "))\"/>\n"
        }
        var svg = "<svg width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\">\n"
        svg += band(m.fan.map(\.equity.p5), m.fan.map(\.equity.p95), "0.15") + band(m.fan.map(\.equity.p25), m.fan.map(\.equity.p75), "0.25")
        svg += "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1.5\" points=\"\(line(m.fan.map(\.equity.p50)))\"/>\n"
        for v in [lo, hi] { svg += "<text class=\"axis\" x=\"2\" y=\"\(Self.number(y(v) + 3, 1))\">\(Self.number(v, 3))</text>" }
        svg += "</svg>\n<table><tr><th></th><th>p5</th><th>p50</th><th>p95</th></tr>\n"
        for (name, b, pct) in [("Final return", m.finalReturn, true), ("Max drawdown", m.maxDrawdown, true), ("Sharpe", m.sharpe, false)] {
            let cells = [b.p5, b.p50, b.p95].map { pct ? Self.percent($0) : Self.number($0, 3) }
            svg += "<tr><th>\(name)</th>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        svg += "<tr><th>Probability of loss</th><td colspan=\"3\">\(Self.percent(m.probabilityOfLoss))</td></tr></table>\n"
        svg += "<p>\(m.paths) paths, blocks of \(result.config.monteCarloBlockLength) bars, seed \(m.seed).</p>\n"
        return svg
    }

    // MARK: formatting (fixed decimals, no locale)

    static func number(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "n/a" : (x > 0 ? "∞" : "-∞") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e18 else { return "\(x)" }
        let units = Int64(scaled)
        let whole = units / Int64(scale)
        var text = (x < 0 && units != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let frac = String(units % Int64(scale))
            text += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return text
    }

    static func percent(_ x: Double) -> String { percentage(x, decimals: 2) }

    static func percentage(_ x: Double, decimals: Int) -> String { x.isFinite ? number(x * 100, decimals) + " %" : "n/a" }

    /// 1234567 → 1,234,567.
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = n < 0 ? "-" : ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// The backtest report's inline SVG charts and number formats, for other pages that draw the same kinds of charts (the
/// monitor's dashboard): one implementation, `ReportHTML`'s.
public enum ReportCharts {
    /// A line chart of `values` (at most 1,200 points drawn), optionally filled to zero; `unit` follows the axis labels.
    public static func line(_ values: [Double], color: String, fill: Bool = false, unit: String = "") -> String {
        ReportHTML.lineChart(ReportHTML.sample(values), color: color, fill: fill, unit: unit)
    }

    /// Horizontal bars around zero, one per (label, value).
    public static func bars(_ bars: [(String, Double)]) -> String { ReportHTML.barChart(bars) }

    /// `x` with `decimals` decimals, no locale ("n/a" for NaN).
    public static func number(_ x: Double, _ decimals: Int) -> String { ReportHTML.number(x, decimals) }

    /// `x` as a percentage with two decimals ("n/a" when not finite).
    public static func percent(_ x: Double) -> String { ReportHTML.percent(x) }

    /// Text made safe inside HTML elements and attribute values.
    public static func escape(_ s: String) -> String { ReportHTML.escape(s) }
}
