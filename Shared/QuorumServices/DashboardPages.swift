import Foundation
import QuorumAlerts
import QuorumAnalytics
import QuorumModel
import QuorumPipeline
import QuorumResearch
import QuorumStores

/// Everything one render of a dashboard page needs, gathered by `Dashboard` (monitor memory, Postgres, the backtest
/// folder), so the HTML below is a pure function of it.
public struct DashboardData: Sendable {
    /// Risk's limits as configured (the same `risk.*` keys quorum-risk reads), for "exposure vs limits".
    public struct Limits: Sendable {
        public var maxPositionNotional: Double
        public var dailyLossLimit: Double
        public init(maxPositionNotional: Double, dailyLossLimit: Double) {
            self.maxPositionNotional = maxPositionNotional
            self.dailyLossLimit = dailyLossLimit
        }
    }

    /// One run folder of `quorum backtest` / `quorum walk-forward` (its report.json's headline).
    public struct BacktestRun: Sendable {
        public var id: String
        public var modified: Date
        public var fields: [String: String]
        public var hasHTML: Bool
    }

    public var monitor: MonitorSnapshot
    public var live: DashboardSnapshot
    public var limits: Limits
    public var models: [ModelRecord] = []
    public var storedAlerts: [AlertRecord] = []
    public var audit: [AuditEntry] = []
    public var backtests: [BacktestRun] = []
    /// What could not be read (Postgres down, a bad report): shown on the page instead of failing it.
    public var problems: [String] = []
    /// Whether the monitor has an admin token (else the buttons say that actions are off).
    public var actionsEnabled: Bool
}

/// The dashboard's pages: a page is a list of sections, each rendered server-side to HTML (charts are inline SVG drawn by
/// `ReportCharts`, the backtest report's charts), so the browser needs nothing from the network but this server. Live
/// updates replace each section's inner HTML with the version the server pushes on `/dashboard/events`.
public enum DashboardPage: String, CaseIterable, Sendable {
    case overview, decisions, models, pipeline, alerts, backtests

    public var title: String {
        switch self {
        case .overview: "Overview"
        case .decisions: "Signals & decisions"
        case .models: "Models"
        case .pipeline: "Pipeline"
        case .alerts: "Alerts"
        case .backtests: "Backtests"
        }
    }

    public var path: String { self == .overview ? "/dashboard" : "/dashboard/\(rawValue)" }

    /// What the page reads from Postgres or disk (the rest is the monitor's memory).
    var needsModels: Bool { self == .models }
    var needsAlerts: Bool { self == .alerts }
    var needsAudit: Bool { self == .overview || self == .alerts }
    var needsBacktests: Bool { self == .backtests }
}

/// A section of a page: its element id, heading and inner HTML.
public struct DashboardSection: Sendable, Equatable {
    public var id: String
    public var title: String
    public var html: String
}

public enum DashboardHTML {
    static func e(_ s: String) -> String { ReportCharts.escape(s) }
    static func n(_ x: Double, _ d: Int = 2) -> String { ReportCharts.number(x, d) }
    static func pct(_ x: Double) -> String { ReportCharts.percent(x) }
    static func time(_ ns: Int64) -> String {
        ns == 0 ? "" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
    }

    /// The sections of `page` (the live part: what `/dashboard/events` pushes).
    public static func sections(_ page: DashboardPage, _ d: DashboardData, ordersOnly: Bool = false) -> [DashboardSection] {
        var out: [DashboardSection]
        switch page {
        case .overview: out = overview(d)
        case .decisions: out = [DashboardSection(id: "trail", title: ordersOnly ? "Decisions with an order (newest first)" : "Decisions (newest first)",
                                                 html: trail(d.live.trail))]
        case .models: out = models(d)
        case .pipeline: out = pipeline(d)
        case .alerts: out = alerts(d)
        case .backtests: out = [DashboardSection(id: "runs", title: "Backtest and walk-forward runs", html: backtests(d.backtests))]
        }
        if !d.problems.isEmpty {
            out.insert(DashboardSection(id: "problems", title: "Not available", html: "<ul class=\"bad\">" + d.problems.map { "<li>\(e($0))</li>" }.joined() + "</ul>"), at: 0)
        }
        return out
    }

    // MARK: overview

    /// Equity now against its peak (≤ 0). The peak is the equity curve's (every fill at its event time) as well as the
    /// alert rules': theirs is the equity at each bar with the fills read by then, and in the cluster the bars run far
    /// ahead of the fills they cause (seen in the demo: 0.00 % here while the equity chart stood well below its top).
    public static func drawdownFromPeak(equity: Double, rulesPeak: Double, curve: [Double]) -> Double {
        let peak = max(rulesPeak, equity, curve.max() ?? 0)
        return peak > 0 ? equity / peak - 1 : 0
    }

    static func overview(_ d: DashboardData) -> [DashboardSection] {
        var figures = "<p>No fills or bars seen yet.</p>"
        var exposure = "<p>No open positions.</p>"
        var positions = "<p>No open positions.</p>"
        if let a = d.live.account {
            // Today's PnL from the curve (event time, every fill at its time): equity now minus at the latest UTC midnight.
            let pnlToday = dayStartEquity(times: d.live.equityTimes, equity: d.live.equity).map { a.equity.doubleValue - $0 } ?? a.pnlToday.doubleValue
            let dayStart = a.equity.doubleValue - pnlToday
            let drawdown = drawdownFromPeak(equity: a.equity.doubleValue, rulesPeak: a.peak.doubleValue, curve: d.live.equity)
            figures = table(["", ""], [
                ["Equity", a.equity.description], ["PnL today (UTC day, event time)", signed(pnlToday)],
                ["PnL total", signed(a.pnlTotal.doubleValue)], ["Realized PnL / fees", "\(n(a.realizedPnL.doubleValue)) / \(n(a.fees.doubleValue))"],
                ["Drawdown from peak", pct(drawdown)], ["Cash", a.cash.description], ["Fills", "\(a.fills)"],
            ], headed: false)
            if !a.positions.isEmpty {
                positions = table(["symbol", "quantity", "entry", "mark", "unrealised PnL", "notional"], a.positions.map { p in
                    [p.symbol.name, p.quantity.description, p.entryPrice.description, p.mark.description, signed(p.unrealizedPnL.doubleValue),
                     n(p.notional.doubleValue)]
                })
            }
            let equity = a.equity.doubleValue
            var rows = a.positions.map { p in
                [p.symbol.name + " notional", n(p.notional.doubleValue), n(d.limits.maxPositionNotional), gauge(p.notional.doubleValue / d.limits.maxPositionNotional)]
            }
            let gross = a.positions.reduce(0) { $0 + $1.notional.doubleValue }
            rows.append(["gross exposure / equity", pct(equity > 0 ? gross / equity : 0), "—", ""])
            let dayLoss = dayStart > 0 ? max(0, -pnlToday / dayStart) : 0
            rows.append(["loss today", pct(dayLoss), pct(d.limits.dailyLossLimit), gauge(dayLoss / d.limits.dailyLossLimit)])
            exposure = table(["", "now", "limit", "use"], rows)
        }
        return [
            DashboardSection(id: "figures", title: "Account", html: figures),
            DashboardSection(id: "switch", title: "Kill switch and breakers", html: killSwitch(d)),
            DashboardSection(id: "equity", title: "Equity", html: ReportCharts.line(d.live.equity, color: "#1f6feb")),
            DashboardSection(id: "drawdown", title: "Drawdown (%)", html: ReportCharts.line(
                Drawdown.series(returns: ReturnMetrics.returns(equity: d.live.equity)).map { $0 * 100 }, color: "#cf222e", fill: true, unit: "%")),
            DashboardSection(id: "positions", title: "Open positions", html: positions),
            DashboardSection(id: "exposure", title: "Exposure vs limits", html: exposure),
            DashboardSection(id: "audit", title: "Operator actions", html: audit(d.audit)),
        ]
    }

    /// The curve's equity at the start of its last point's UTC day (the last point at or before midnight); nil without one.
    public static func dayStartEquity(times: [Int64], equity: [Double]) -> Double? {
        guard let last = times.last, times.count == equity.count else { return nil }
        let day: Int64 = 86_400 * 1_000_000_000
        let midnight = last - ((last % day) + day) % day
        guard let index = times.lastIndex(where: { $0 <= midnight }) else { return nil }
        return equity[index]
    }

    static func killSwitch(_ d: DashboardData) -> String {
        let on = d.live.killSwitch?.on ?? false
        var html = "<p class=\"state \(on ? "bad" : "good")\" data-kill-switch=\"\(on ? "on" : "off")\">Kill switch: <b>\(on ? "ON" : "off")</b>"
        if let k = d.live.killSwitch { html += " — \(e(k.reason)) (\(e(time(k.time))))" }
        html += "</p>"
        let breakers = (d.monitor.activeAlerts ?? []).filter { ["drawdown", "daily_loss", "kill_switch"].contains($0.code) }
        html += breakers.isEmpty ? "<p>No breaker tripped (drawdown, daily loss).</p>"
            : "<ul class=\"bad\">" + breakers.map { "<li>\(e($0.code)): \(e($0.message))</li>" }.joined() + "</ul>"
        html += "<p>" + button("kill-switch", label: "Kill switch ON", data: ["on": "true"], d)
            + " " + button("kill-switch", label: "Kill switch OFF", data: ["on": "false"], d) + "</p>"
        return html
    }

    static func audit(_ entries: [AuditEntry]) -> String {
        guard !entries.isEmpty else { return "<p>No operator action recorded.</p>" }
        return table(["when", "who", "action", "target", "why", "outcome"], entries.prefix(20).map { a in
            [a.at.map { ISO8601DateFormatter().string(from: $0) } ?? "", a.actor + " (\(a.origin))", a.action, a.target, a.reason,
             a.outcome.rawValue + (a.detail.isEmpty ? "" : ": " + a.detail)]
        })
    }

    // MARK: decisions

    static func trail(_ rows: [TrailRow]) -> String {
        guard !rows.isEmpty else { return "<p>No decision seen yet.</p>" }
        var html = "<div class=\"scroll\"><table class=\"trail\"><tr><th>bar</th><th>symbol</th><th>sources (direction, confidence)</th><th>decision</th><th>risk</th><th>order</th><th>fills</th><th>correlation id</th></tr>"
        for r in rows {
            let sources = r.sources.map { "\(e($0.name)) \(e($0.direction)) \(n($0.confidence, 2))" }.joined(separator: "<br>")
            let verdict = r.verdict.map { "<span class=\"\($0 == "denied" ? "bad" : "good")\">\(e($0))</span> \(e(r.verdictDetail))" } ?? ""
            html += "<tr data-correlation=\"\(e(r.correlationID))\"><td>\(e(time(r.barTime)))</td><td>\(e(r.symbol))</td><td>\(sources)</td>"
            html += "<td title=\"\(e(r.reasons.joined(separator: "; ")))\"><b>\(e(r.action))</b> \(n(r.confidence, 2))</td><td>\(verdict)</td>"
            html += "<td>\(e(r.order ?? ""))</td><td>\(r.fills.map(e).joined(separator: "<br>"))</td><td class=\"id\">\(e(r.correlationID))</td></tr>"
        }
        return html + "</table></div>"
    }

    // MARK: models

    static func models(_ d: DashboardData) -> [DashboardSection] {
        let active = d.models.filter { $0.status == .active }
        let symbols = Set(d.models.map(\.symbol.name)).union(d.monitor.liveAccuracy.keys).union(d.live.calibration.keys).sorted()
        var perSymbol: [[String]] = []
        for symbol in symbols {
            let model = active.first { $0.symbol.name == symbol }
            let table = d.live.calibration[symbol]
            perSymbol.append([symbol, model?.modelID ?? "none", model?.modelKind ?? "",
                              d.monitor.liveAccuracy[symbol].map { n($0, 3) } ?? "",
                              table.map { "\(n($0.hitRate, 3)) of \($0.scored)" } ?? "",
                              button("rollback", label: "Roll back", data: ["symbol": symbol], d)])
        }
        let activeHTML = symbols.isEmpty ? "<p>No model registered.</p>"
            : table(["symbol", "active model", "kind", "live accuracy (retraining window)", "live hit rate", ""], perSymbol, raw: [5])
        var calibration = ""
        for (symbol, t) in d.live.calibration.sorted(by: { $0.key < $1.key }) {
            calibration += "<h3>\(e(symbol))</h3>" + table(["predicted P(up)", "predictions", "mean predicted", "went up"], t.bins.enumerated().compactMap { i, b in
                b.count == 0 ? nil : ["\(n(Double(i) / 10, 1))–\(n(Double(i + 1) / 10, 1))", "\(b.count)", n(b.meanPredicted, 3), n(b.observed, 3)]
            })
        }
        let registry = d.models.isEmpty ? "<p>The registry is empty.</p>" : table(
            ["model", "symbol", "status", "kind", "accuracy", "AUC", "log-loss gain", "validated to", ""],
            d.models.map { m in
                [m.modelID, m.symbol.name, m.status.rawValue, m.modelKind, m.metrics["accuracy"].map { n($0, 4) } ?? "",
                 m.metrics["auc"].map { n($0, 4) } ?? "", m.metrics["log_loss_gain"].map { n($0, 5) } ?? "", time(m.validateTo),
                 m.status == .registered || m.status == .retired ? button("activate", label: "Activate", data: ["model": m.modelID], d) : ""]
            }, raw: [8])
        return [
            DashboardSection(id: "active", title: "Active model per symbol", html: activeHTML),
            DashboardSection(id: "calibration", title: "Live calibration (P(up) vs the next bar)",
                             html: calibration.isEmpty ? "<p>No scored prediction yet.</p>" : calibration),
            DashboardSection(id: "registry", title: "Registry (newest first)", html: registry),
        ]
    }

    // MARK: pipeline

    static func pipeline(_ d: DashboardData) -> [DashboardSection] {
        let producers = Set(d.live.producerMessages.keys).union(d.monitor.stageLatency.keys).sorted()
        let rows = producers.map { p -> [String] in
            let latency = d.monitor.stageLatency[p]
            let lag = d.monitor.lag[p].map { $0.values.reduce(0, +) }
            let ready = readiness(for: p, d.live.readiness)
            return [p, "\(d.live.producerMessages[p] ?? 0)", n(d.live.producerRates[p] ?? 0, 1), latency.map { n($0.p50Ms) } ?? "",
                    latency.map { n($0.p99Ms) } ?? "", lag.map { "\($0)" } ?? "", ready]
        }
        let stages = producers.isEmpty ? "<p>No record seen yet.</p>"
            : table(["stage (producer)", "records", "records/s (30 s)", "p50 ms", "p99 ms", "consumer lag", "ready"], rows, raw: [6])
        let lags = d.monitor.lag.sorted { $0.key < $1.key }.flatMap { g in g.value.sorted { $0.key < $1.key }.map { [g.key, $0.key, "\($0.value)"] } }
        var dead = ""
        let dlqTopics = d.monitor.messages.filter { $0.key.hasSuffix(".dlq") }.sorted { $0.key < $1.key }
        for (topic, count) in dlqTopics {
            let short = String(topic.dropLast(4))
            dead += "<h3>\(e(topic)): \(count)</h3>"
            dead += table(["time", "reason", "detail"], (d.live.deadLetters[short] ?? []).map {
                [time($0.timestampMs * 1_000_000), $0.reason, $0.detail]
            })
        }
        let readinessRows = d.live.readiness.sorted { $0.key < $1.key }.map { [$0.key, $0.value.ready ? "ready" : "NOT ready", $0.value.reason, time($0.value.at)] }
        return [
            DashboardSection(id: "stages", title: "Stages", html: stages),
            DashboardSection(id: "ready", title: "Readiness (monitor.ready.targets)",
                             html: readinessRows.isEmpty ? "<p>No readiness targets configured.</p>" : table(["service", "state", "reason", "probed"], readinessRows)),
            DashboardSection(id: "lag", title: "Consumer lag per group and topic", html: lags.isEmpty ? "<p>Not measured yet.</p>" : table(["group", "topic", "lag"], lags)),
            DashboardSection(id: "dlq", title: "Dead letters", html: dead.isEmpty ? "<p>No dead letter.</p>" : dead),
            DashboardSection(id: "topics", title: "Records per topic", html: table(["topic", "records", "last event time"],
                d.monitor.messages.sorted { $0.key < $1.key }.map { [$0.key, "\($0.value)", d.monitor.lastEventTime[$0.key] ?? ""] })),
        ]
    }

    /// The readiness of the instance whose name the producer `quorum-risk` matches (`risk`, `trainer-1`, …).
    static func readiness(for producer: String, _ probes: [String: DashboardSnapshot.Readiness]) -> String {
        let stem = producer.hasPrefix("quorum-") ? String(producer.dropFirst("quorum-".count)) : producer
        let matching = probes.filter { $0.key == stem || $0.key.hasPrefix(stem + "-") || $0.key == producer }
        guard !matching.isEmpty else { return "" }
        return matching.sorted { $0.key < $1.key }.map { name, r in
            "<span class=\"\(r.ready ? "good" : "bad")\" title=\"\(e(r.reason))\">\(e(name)) \(r.ready ? "ready" : "NOT ready")</span>"
        }.joined(separator: "<br>")
    }

    // MARK: alerts

    static func alerts(_ d: DashboardData) -> [DashboardSection] {
        func rows(_ list: [MonitorSnapshot.AlertView]) -> [[String]] { list.map { [$0.time, $0.severity, $0.code, $0.message] } }
        let active = d.monitor.activeAlerts ?? []
        return [
            DashboardSection(id: "active-alerts", title: "Active alerts", html: active.isEmpty ? "<p class=\"good\">No active alert.</p>"
                                : table(["since", "severity", "rule", "message"], rows(active))),
            DashboardSection(id: "recent-alerts", title: "Recent alerts (this monitor process)",
                             html: table(["time", "severity", "code", "message"], rows(d.monitor.recentAlerts ?? []))),
            DashboardSection(id: "stored-alerts", title: "Stored alerts (Postgres, latest 100)", html: table(["event time", "severity", "source", "code", "message"],
                d.storedAlerts.map { [time($0.time), $0.severity, $0.source, $0.code, $0.message] })),
            DashboardSection(id: "audit", title: "Operator actions", html: audit(d.audit)),
        ]
    }

    // MARK: backtests

    static func backtests(_ runs: [DashboardData.BacktestRun]) -> String {
        guard !runs.isEmpty else { return "<p>No run in the backtest folder (monitor.backtests.dir); `quorum backtest --out DIR` writes them.</p>" }
        let keys = ["kind", "symbols", "start", "end", "total_return", "sharpe", "max_drawdown", "trades", "final_equity"]
        return table(["run"] + keys + ["report"], runs.map { r in
            [r.id] + keys.map { r.fields[$0] ?? "" }
                + [r.hasHTML ? "<a href=\"/dashboard/backtests/\(e(r.id))/report.html\">report</a>" : ""]
        }, raw: [keys.count + 1])
    }

    // MARK: building blocks

    /// A table; `raw` names the columns whose cells are HTML already (buttons, links), every other cell is escaped.
    static func table(_ head: [String], _ rows: [[String]], headed: Bool = true, raw: Set<Int> = []) -> String {
        var html = "<div class=\"scroll\"><table>"
        if headed { html += "<tr>" + head.map { "<th>\(e($0))</th>" }.joined() + "</tr>" }
        for row in rows {
            html += "<tr>" + row.enumerated().map { i, cell in
                (i == 0 && !headed ? "<th>" : "<td>") + (raw.contains(i) ? cell : e(cell)) + (i == 0 && !headed ? "</th>" : "</td>")
            }.joined() + "</tr>"
        }
        return html + "</table></div>"
    }

    static func signed(_ x: Double) -> String { (x > 0 ? "+" : "") + n(x) }

    /// A bar showing how much of a limit is used.
    static func gauge(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "" }
        let width = Int(min(1, max(0, fraction)) * 100)
        return "\(Int((fraction * 100).rounded())) %"
            + (width > 0 ? " " + String(repeating: "█", count: max(1, width / 10)) : "")
    }

    /// A mutating action's button; the page's script asks for the reason and the admin token before it posts.
    static func button(_ action: String, label: String, data: [String: String], _ d: DashboardData) -> String {
        let attributes = data.sorted { $0.key < $1.key }.map { " data-\($0.key)=\"\(e($0.value))\"" }.joined()
        return "<button type=\"button\" data-action=\"\(action)\"\(attributes)\(d.actionsEnabled ? "" : " disabled title=\"no admin token configured on the monitor\"")>\(e(label))</button>"
    }

    // MARK: the whole page

    /// A full page: navigation, the sections, the confirmation dialog and the live-update script.
    public static func page(_ page: DashboardPage, sections: [DashboardSection], query: String) -> String {
        let nav = DashboardPage.allCases.map {
            "<a href=\"\($0.path)\"\($0 == page ? " class=\"here\"" : "")>\(e($0.title))</a>"
        }.joined()
        let body = sections.map { "<section><h2>\(e($0.title))</h2><div id=\"\(e($0.id))\">\($0.html)</div></section>" }.joined(separator: "\n")
        let extra = page == .decisions
            ? "<p><a href=\"/dashboard/decisions\">all decisions</a> · <a href=\"/dashboard/decisions?orders=1\">only those with an order</a></p>" : ""
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Quorum · \(e(page.title))</title><style>\(style)</style></head>
        <body data-page="\(page.rawValue)" data-updates="0"><header><b>Quorum</b><nav>\(nav)</nav><span id="live">connecting…</span></header>
        <main><h1>\(e(page.title))</h1>\(extra)
        \(body)
        </main>
        <dialog id="confirm"><form method="dialog" id="confirm-form"><h3 id="confirm-title"></h3>
        <label>Reason (recorded in the operator audit)<input name="reason" required maxlength="500"></label>
        <label>Your name<input name="actor" required maxlength="64"></label>
        <label>Admin token<input name="token" type="password" required autocomplete="off"></label>
        <p id="confirm-result"></p><menu><button value="cancel" formnovalidate>Cancel</button><button id="confirm-ok" value="ok">Confirm</button></menu></form></dialog>
        <script>\(script(page: page, query: query))</script></body></html>
        """
    }

    static let style = """
    body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fff}header{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;\
    padding:.5em 1em;background:#24292f;color:#fff}header a{color:#ddd;text-decoration:none;padding:.2em .4em}header a.here{color:#fff;\
    border-bottom:2px solid #58a6ff}nav{display:flex;flex-wrap:wrap;gap:.2em}#live{margin-left:auto;font-size:12px;color:#8b949e}\
    main{padding:0 1em 2em;max-width:1200px}h1{font-size:20px}h2{font-size:16px;margin:1.4em 0 .4em}h3{font-size:14px}\
    .scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;\
    vertical-align:top}th{font-weight:600}svg{max-width:100%;height:auto;background:#fafafa;border:1px solid #eee}.axis{font-size:10px;fill:#666}\
    .good{color:#1a7f37}.bad{color:#cf222e}.state{font-size:16px}td.id{font-size:11px;color:#666;word-break:break-all}\
    button{font:inherit;padding:.3em .8em;margin:.1em}dialog label{display:block;margin:.5em 0}dialog input{display:block;width:100%;\
    box-sizing:border-box}dialog{max-width:min(420px,92vw)}@media (max-width:600px){main{padding:0 .5em 2em}table{font-size:12px}}
    """

    /// Live updates (EventSource on /dashboard/events; each event is {"at": …, "sections": {id: html}}) and the buttons
    /// (a dialog asks for reason, name and token, then POSTs with `Authorization: Bearer`).
    static func script(page: DashboardPage, query: String) -> String {
        """
        (function(){
        var live=document.getElementById('live'),updates=0;
        var es=new EventSource('/dashboard/events?page=\(page.rawValue)\(query.isEmpty ? "" : "&" + query)');
        es.onmessage=function(ev){var d=JSON.parse(ev.data);for(var id in d.sections){var el=document.getElementById(id);if(el)el.innerHTML=d.sections[id];}
        updates++;document.body.setAttribute('data-updates',String(updates));live.textContent='live · '+d.at;};
        es.onerror=function(){live.textContent='reconnecting…';};
        var dialog=document.getElementById('confirm'),form=document.getElementById('confirm-form'),result=document.getElementById('confirm-result'),pending=null;
        document.addEventListener('click',function(ev){var b=ev.target.closest('button[data-action]');if(!b)return;
        var a=b.dataset.action,body={},title='';
        if(a==='kill-switch'){body.on=b.dataset.on==='true';title='Turn the kill switch '+(body.on?'ON':'off');}
        if(a==='activate'){body.model_id=b.dataset.model;title='Activate model '+b.dataset.model;}
        if(a==='rollback'){body.symbol=b.dataset.symbol;title='Roll '+b.dataset.symbol+' back to its previous model';}
        pending={action:a,body:body};document.getElementById('confirm-title').textContent=title;result.textContent='';
        form.actor.value=sessionStorage.getItem('quorum.actor')||'';dialog.showModal();});
        document.getElementById('confirm-ok').addEventListener('click',function(ev){ev.preventDefault();if(!form.reportValidity()||!pending)return;
        var body=pending.body;body.reason=form.reason.value;body.actor=form.actor.value;sessionStorage.setItem('quorum.actor',body.actor);
        fetch('/dashboard/api/'+pending.action,{method:'POST',headers:{'Content-Type':'application/json','Authorization':'Bearer '+form.token.value},
        body:JSON.stringify(body)}).then(function(r){return r.json().then(function(j){result.textContent=(r.ok?'Done: '+j.detail:'Refused: '+j.error);
        result.className=r.ok?'good':'bad';if(r.ok){form.token.value='';form.reason.value='';}});}).catch(function(e){result.textContent='Failed: '+e;});});
        })();
        """
    }
}
