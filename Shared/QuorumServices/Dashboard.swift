import Foundation
import Logging
import QuorumBus
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumServiceKit
import QuorumStores

/// The monitor's web dashboard (docs/operations.md, "Dashboard"), served by its health server:
///
/// - `GET /dashboard`, `/dashboard/{decisions,models,pipeline,alerts,backtests}`: the pages (`DashboardHTML`);
/// - `GET /dashboard/events?page=P`: server-sent events, every `monitor.dashboard.refresh`, with the page's sections
///   re-rendered (`{"at": time, "sections": {id: html}}`), sent only when something changed (and at least every 15 s);
/// - `GET /dashboard/backtests/{id}/report.html`: a run's report from `monitor.backtests.dir`;
/// - `POST /dashboard/api/kill-switch` `{"on": true, "reason": …, "actor": …}`, `/dashboard/api/activate`
///   `{"model_id": …}`, `/dashboard/api/rollback` `{"symbol": …}`: the operator actions (`OperatorActions`, the same
///   the CLI runs), each requiring `Authorization: Bearer <monitor.admin.token>`; refused attempts are logged (without
///   what was sent) and counted in `quorum_monitor_admin_refused_total{action,why}`.
public struct Dashboard: Sendable {
    let stats: MonitorStats
    let store: PostgresStore?
    let actions: OperatorActions?
    let token: AdminToken?
    let limits: DashboardData.Limits
    let backtestsDir: String
    let refresh: Duration
    let metrics: QuorumMetrics?
    let logger: Logger

    public init(stats: MonitorStats, store: PostgresStore?, actions: OperatorActions?, token: AdminToken?, limits: DashboardData.Limits,
                backtestsDir: String, refresh: Duration, metrics: QuorumMetrics?, logger: Logger) {
        self.stats = stats
        self.store = store
        self.actions = actions
        self.token = token
        self.limits = limits
        self.backtestsDir = backtestsDir
        self.refresh = refresh
        self.metrics = metrics
        self.logger = logger
    }

    /// The monitor's dashboard from its configuration (`monitor.admin.token[.file]`, `monitor.backtests.dir`,
    /// `monitor.dashboard.refresh`, the `risk.*` limits).
    public static func make(_ context: QuorumContext, stats: MonitorStats, bus: any MessageBus, namer: TopicNamer,
                            store: PostgresStore?) throws -> Dashboard {
        let c = context.config
        let secret = try MonitorAlerting.secret(c, ServiceKeys.adminToken, file: ServiceKeys.adminTokenFile)
        let token = secret.flatMap(AdminToken.init)
        func limit(_ key: ConfigKey) throws -> Double { try QuorumStages.fixed(c, key).doubleValue }
        let limits = DashboardData.Limits(maxPositionNotional: try limit(ServiceKeys.riskMaxPosition),
                                          dailyLossLimit: try limit(ServiceKeys.riskDailyLoss))
        let actions = store.map { OperatorActions(bus: bus, namer: namer, store: $0, producer: "quorum-monitor", logger: context.logger) }
        context.logger.info("dashboard", metadata: ["dashboard.actions": .string(token == nil ? "off (no monitor.admin.token)" : "on")])
        return Dashboard(stats: stats, store: store, actions: actions, token: token, limits: limits,
                         backtestsDir: c.string(ServiceKeys.backtestsDir.name), refresh: c.duration(ServiceKeys.dashboardRefresh.name),
                         metrics: context.metrics, logger: context.logger)
    }

    /// Registers the routes on the health server's pages.
    public func register(on pages: StatusPages) {
        for page in DashboardPage.allCases {
            pages.route(.get, page.path) { request in
                let ordersOnly = request.query["orders"] == "1"
                let sections = DashboardHTML.sections(page, await data(for: page, ordersOnly: ordersOnly), ordersOnly: ordersOnly)
                return PageResponse(status: 200, contentType: "text/html; charset=utf-8",
                                    text: DashboardHTML.page(page, sections: sections, query: ordersOnly ? "orders=1" : ""))
            }
        }
        pages.stream("/dashboard/events") { request in events(request) }
        pages.route(.get, "/dashboard/backtests/{id}/report.html") { request in report(request.parameters["id"] ?? "") }
        for action in ["kill-switch", "activate", "rollback"] {
            pages.route(.post, "/dashboard/api/\(action)", bodyLimit: 8 * 1024) { request in await perform(action, request) }
        }
    }

    // MARK: data

    /// Gathers what `page` shows; what cannot be read becomes a line of `problems`.
    func data(for page: DashboardPage, ordersOnly: Bool) async -> DashboardData {
        var d = DashboardData(monitor: stats.snapshot(), live: stats.dashboard(ordersOnly: ordersOnly, withEquity: page == .overview), limits: limits,
                              actionsEnabled: token != nil && actions != nil)
        if let store {
            if page.needsModels {
                do { d.models = try await ModelRegistry(store: store, logger: logger).summaries() } catch { d.problems.append("model registry: \(error)") }
            }
            if page.needsAlerts {
                do { d.storedAlerts = try await Alerts(store: store, logger: logger).recent(limit: 100) } catch { d.problems.append("stored alerts: \(error)") }
            }
            if page.needsAudit {
                do { d.audit = try await OperatorAudit(store: store, logger: logger).recent(limit: 20) } catch { d.problems.append("operator audit: \(error)") }
            }
        }
        if page.needsBacktests { (d.backtests, d.problems) = BacktestRuns.list(backtestsDir, problems: d.problems) }
        return d
    }

    /// One client's live updates: the page's sections every `refresh`, when they changed (or every 15 s, a heartbeat).
    func events(_ request: PageRequest) -> AsyncStream<String> {
        let page = DashboardPage(rawValue: request.query["page"] ?? "") ?? .overview
        let ordersOnly = request.query["orders"] == "1"
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(2))
        let task = Task {
            var last: [DashboardSection] = []
            var lastSent = ContinuousClock.now - .seconds(60)
            while !Task.isCancelled {
                let sections = DashboardHTML.sections(page, await data(for: page, ordersOnly: ordersOnly), ordersOnly: ordersOnly)
                if sections != last || ContinuousClock.now - lastSent >= .seconds(15) {
                    let changed = sections.filter { !last.contains($0) }
                    let payload: [String: Any] = ["at": ISO8601DateFormatter().string(from: Date()),
                                                  "sections": Dictionary(changed.map { ($0.id, $0.html) }, uniquingKeysWith: { $1 })]
                    if let json = try? JSONSerialization.data(withJSONObject: payload) {  // strings only: cannot fail
                        if case .terminated = continuation.yield(String(decoding: json, as: UTF8.self)) { break }
                    }
                    last = sections
                    lastSent = ContinuousClock.now
                }
                do { try await Task.sleep(for: refresh) } catch { break }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func report(_ id: String) -> PageResponse {
        guard BacktestRuns.isRunID(id), let data = FileManager.default.contents(atPath: "\(backtestsDir)/\(id)/report.html") else {
            return PageResponse(status: 404, contentType: "text/plain; charset=utf-8",
                                text: "no report.html for run '\(id.prefix(64))' in the backtest folder (monitor.backtests.dir)\n")
        }
        return PageResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(data))
    }

    // MARK: actions

    /// One POST: the admin token first, then the body, then the shared operator action.
    func perform(_ action: String, _ request: PageRequest) async -> PageResponse {
        guard let token, let actions else {
            refuse(action, why: "disabled")
            return answer(403, error: "operator actions are off on this monitor: set monitor.admin.token (QUORUM_MONITOR_ADMIN_TOKEN) or monitor.admin.token.file, and give it Postgres")
        }
        guard token.authorizes(authorizationHeader: request.headers["authorization"]) else {
            refuse(action, why: request.headers["authorization"] == nil ? "missing" : "wrong")
            return answer(401, error: "the admin token is missing or wrong (send Authorization: Bearer <token>)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(request.body)) } catch {
            return answer(400, error: "the body is not JSON (\(error)); expected e.g. {\"reason\": \"…\", \"actor\": \"…\"}")
        }
        guard let body = parsed as? [String: Any] else {
            return answer(400, error: "the body is not a JSON object (expected e.g. {\"reason\": \"…\", \"actor\": \"…\"})")
        }
        let who = OperatorRequest(actor: body["actor"] as? String ?? "", reason: body["reason"] as? String ?? "", origin: "dashboard")
        do {
            let detail: String
            switch action {
            case "kill-switch":
                guard let on = body["on"] as? Bool else { return answer(400, error: "say \"on\": true or false") }
                detail = try await actions.killSwitch(on: on, who)
            case "activate":
                guard let id = body["model_id"] as? String, !id.isEmpty else { return answer(400, error: "name the model: \"model_id\"") }
                detail = try await actions.activateModel(id, who)
            default:
                guard let symbol = body["symbol"] as? String, !symbol.isEmpty else { return answer(400, error: "name the symbol: \"symbol\"") }
                detail = try await actions.rollbackModel(symbol: Symbol(symbol), who)
            }
            return answer(200, detail: detail)
        } catch let error as OperatorActionError {
            return answer(error.isUserError ? 400 : 500, error: error.description)
        } catch {
            return answer(500, error: "\(action) failed: \(error)")
        }
    }

    private func refuse(_ action: String, why: String) {
        logger.warning("admin action refused", metadata: ["admin.action": .string(action), "admin.refused": .string(why)])
        metrics?.counter(MetricCatalog.monitorAdminRefused, action, why).increment()
    }

    private func answer(_ status: Int, detail: String? = nil, error: String? = nil) -> PageResponse {
        var object: [String: Any] = ["ok": status == 200]
        if let detail { object["detail"] = detail }
        if let error { object["error"] = error }
        let json = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)  // strings and a bool: cannot fail
        return PageResponse(status: status, contentType: "application/json", body: Array(json))
    }
}

/// The run folders of `quorum backtest` / `quorum walk-forward` (`<dir>/<run-id>/report.json`), newest first.
enum BacktestRuns {
    /// A run id as `quorum backtest` makes them (hex digits), or any plain folder name: no `/`, no leading `.`.
    static func isRunID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && !id.hasPrefix(".") && id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }

    static func list(_ dir: String, problems: [String]) -> ([DashboardData.BacktestRun], [String]) {
        var problems = problems
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return ([], problems) }  // no folder: no runs
        var runs: [DashboardData.BacktestRun] = []
        for name in names where isRunID(name) {
            let path = "\(dir)/\(name)/report.json"
            guard let data = fm.contents(atPath: path) else { continue }
            guard let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                problems.append("\(path) is not a JSON object")
                continue
            }
            let modified = ((try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
            runs.append(DashboardData.BacktestRun(id: name, modified: modified, fields: fields(report),
                                                  hasHTML: fm.fileExists(atPath: "\(dir)/\(name)/report.html")))
        }
        return (runs.sorted { ($0.modified, $0.id) > ($1.modified, $1.id) }, problems)
    }

    /// The headline of a report.json as text.
    static func fields(_ r: [String: Any]) -> [String: String] {
        func number(_ key: String, percent: Bool = false) -> String {
            guard let x = r[key] as? Double else { return r[key] == nil ? "" : "n/a" }
            return percent ? DashboardHTML.pct(x) : DashboardHTML.n(x, 3)
        }
        var f: [String: String] = [
            "kind": r["walk_forward"] != nil || r["folds"] != nil ? "walk-forward" : "backtest",
            "start": r["start"] as? String ?? "", "end": r["end"] as? String ?? "",
            "total_return": number("total_return", percent: true), "sharpe": number("sharpe"), "max_drawdown": number("max_drawdown", percent: true),
            "final_equity": "\(r["final_equity"] ?? "")",
        ]
        if let trades = r["trades"] as? [String: Any], let count = trades["count"] { f["trades"] = "\(count)" }
        if let data = r["data"] as? [String: Any], let symbols = data["symbols"] as? [String: Any] { f["symbols"] = symbols.keys.sorted().joined(separator: ", ") }
        return f
    }
}
