import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumProto
import QuorumServiceKit
import QuorumServices
import QuorumStores
import Testing

/// The monitor's dashboard on a real HTTP server, broker and Postgres (`make test`): pages render, live updates stream,
/// and the mutating endpoints need the admin token, ask for a reason, do what the CLI does and are audited.
@Suite("DashboardIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct DashboardIntegrationTests {
    static let token = "dashboard-test-token-\(UUID().uuidString.prefix(8))"

    /// A dashboard on its own topic prefix and Postgres schema, served on a free port, for `body`.
    static func withDashboard(_ body: (Int, KafkaBus, TopicNamer, PostgresStore, QuorumMetrics) async throws -> Void) async throws {
        let bus = try ProgressIntegrationTests.bus()
        let prefix = "dash\(UUID().uuidString.prefix(6).lowercased())"
        let namer = try TopicNamer(prefix: prefix)
        try await bus.createTopics(namer.specsWithNames())
        guard let url = ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"] else {
            throw BusError(.invalidConfiguration, "QUORUM_POSTGRES_URL is not set: run through `make test`")
        }
        var config = try PostgresConfiguration(url: url)
        config.schema = PostgresConfiguration.schema(forTopicPrefix: prefix)
        var logger = Logger(label: "dashboard-test")
        logger.logLevel = .critical
        let store = PostgresStore(configuration: config, logger: logger)
        let metrics = QuorumMetrics(service: "quorum-monitor")
        let stats = MonitorStats()
        let pages = StatusPages()
        let dashboard = Dashboard(stats: stats, store: store, actions: OperatorActions(bus: bus, namer: namer, store: store, producer: "quorum-monitor", logger: logger),
                                  token: AdminToken(token), limits: .init(maxPositionNotional: 25_000, dailyLossLimit: 0.03),
                                  backtestsDir: NSTemporaryDirectory() + "none-\(prefix)", refresh: .milliseconds(200), metrics: metrics, logger: logger)
        dashboard.register(on: pages)
        let server = HealthServer(host: "127.0.0.1", port: 0, health: HealthChecks(), metrics: metrics, logger: logger, pages: pages)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            try await body(try await server.boundPort(), bus, namer, store, metrics)
        }
    }

    static func post(_ port: Int, _ path: String, _ json: String, token: String?) async throws -> HTTPResult {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await httpRequest(port: port, method: "POST", path: path, headers: headers, body: json)
    }

    @Test("every page renders; the events stream pushes sections; the kill switch needs the token and a reason, publishes the CLI's command and is audited")
    func pagesStreamAndKillSwitch() async throws {
        try await Self.withDashboard { port, bus, namer, store, metrics in
            for page in DashboardPage.allCases {
                let r = try await httpGet(port: port, path: page.path)
                #expect(r.status == 200 && r.body.contains("<h1>\(page.title.replacingOccurrences(of: "&", with: "&amp;"))</h1>"), "\(page.path): \(r.status)")
            }
            let overview = try await httpGet(port: port, path: "/dashboard")
            #expect(overview.body.contains("data-kill-switch=\"off\"") && overview.body.contains("No operator action recorded"))
            let events = try await httpRequest(port: port, path: "/dashboard/events?page=overview", until: "\n\n")
            #expect(events.status == 200 && events.body.contains("data: {") && events.body.contains("\"sections\""), "\(events.body.prefix(300))")

            // Refused: no token, a wrong token (counted, never logged or echoed).
            let none = try await Self.post(port, "/dashboard/api/kill-switch", #"{"on": true, "reason": "r", "actor": "a"}"#, token: nil)
            let wrong = try await Self.post(port, "/dashboard/api/kill-switch", #"{"on": true, "reason": "r", "actor": "a"}"#, token: "nope")
            #expect(none.status == 401 && wrong.status == 401 && !wrong.body.contains("nope"))
            let rendered = metrics.render()
            #expect(rendered.contains(#"quorum_monitor_admin_refused_total{action="kill-switch",why="missing"} 1"#), "\(rendered)")
            #expect(rendered.contains(#"quorum_monitor_admin_refused_total{action="kill-switch",why="wrong"} 1"#))
            // The right token without a reason: refused, nothing recorded.
            let noReason = try await Self.post(port, "/dashboard/api/kill-switch", #"{"on": true, "actor": "alice"}"#, token: Self.token)
            #expect(noReason.status == 400 && noReason.body.contains("reason"), "\(noReason.body)")
            #expect(try await OperatorAudit(store: store).recent().isEmpty)

            let done = try await Self.post(port, "/dashboard/api/kill-switch", #"{"on": true, "reason": "venue maintenance", "actor": "alice"}"#,
                                           token: Self.token)
            #expect(done.status == 200 && done.body.contains("kill switch on sent"), "\(done.body)")
            let commands = try await bus.readAll(topic: namer.name(Topic.control)).map { try $0.decode(Quorum_V1_ControlCommand.self) }
            #expect(commands.count == 1)
            #expect(commands.first?.kind == .killSwitchOn && commands.first?.actor == "alice" && commands.first?.reason == "venue maintenance"
                    && commands.first?.targetService == "quorum-risk")
            let audit = try await OperatorAudit(store: store).recent()
            #expect(audit.map(\.outcome) == [.done, .requested])
            #expect(audit.allSatisfy { $0.actor == "alice" && $0.action == "kill_switch_on" && $0.origin == "dashboard" && $0.reason == "venue maintenance" })
            let after = try await httpGet(port: port, path: "/dashboard")
            #expect(after.body.contains("kill_switch_on") && after.body.contains("venue maintenance"))

            // An unknown model: the operator's error (400), audited as failed.
            let unknown = try await Self.post(port, "/dashboard/api/activate", #"{"model_id": "no-such-model", "reason": "try", "actor": "alice"}"#,
                                              token: Self.token)
            #expect(unknown.status == 400 && unknown.body.contains("no-such-model"), "\(unknown.body)")
            #expect(try await OperatorAudit(store: store).recent().first?.outcome == .failed)
        }
    }
}
