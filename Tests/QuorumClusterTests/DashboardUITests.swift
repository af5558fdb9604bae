import Foundation
import QuorumModel
import QuorumPipeline
import QuorumServiceKit
import Testing

/// The monitor's dashboard in a real browser (headless Chromium over the DevTools protocol) against the services as
/// processes: every page shows the run's data in its DOM, the kill-switch button (admin token, reason) changes the page
/// through a live update without a reload, and screenshots of each page (laptop and phone) are saved.
///
/// Not part of `make test` (it needs Debian's `chromium`): `make test-ui` installs it and runs this suite. Screenshots go
/// to `$QUORUM_UI_OUTPUT` (make test-ui: `.build/ui-test/`), else `<temp>/quorum-cluster-test-<pid>/ui/`.
@Suite("DashboardUITests", .serialized, .timeLimit(.minutes(30)))
struct DashboardUITests {
    static let token = "ui-test-\(UUID().uuidString)"

    @Test("each page renders the run's data, a live update arrives, the buttons need the token; screenshots saved")
    func dashboardInABrowser() async throws {
        let env = try ClusterIntegrationTests.environment()
        let fixture = try ClusterIntegrationTests.writeFixture(env)
        let output = ProcessInfo.processInfo.environment["QUORUM_UI_OUTPUT"] ?? "\(env.work)/ui"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let runs = "\(env.work)/ui-runs"
        try await Self.backtest(env, files: fixture.history, out: runs)
        let prefix = "ui\(wallClockNanos() % 1_000_000_000)"
        let started = ContinuousClock.now
        // The monitor runs from the start, as in the cluster, with the admin token in a file, the backtest folder and
        // the risk and execution services as readiness targets.
        let tokenFile = "\(env.work)/\(prefix)-admin-token"
        try Self.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let monitorExtra = { (run: ClusterIntegrationTests.Run) -> [String] in
            ["--monitor.admin.token.file", tokenFile, "--monitor.backtests.dir", runs, "--monitor.dashboard.refresh", "1s",
             "--monitor.ready.interval", "1s",
             "--monitor.ready.targets", ["quorum-risk", "quorum-execution"].map { "\($0.dropFirst("quorum-".count))=http://127.0.0.1:\(run.httpPorts[$0]!)" }
                .joined(separator: ",")]
        }
        _ = try await ClusterIntegrationTests.runPipeline(env, prefix: prefix, fixture: fixture, everyService: true,
                                                          whenIdle: { run, _ in
            let browsing = ContinuousClock.now
            try await Self.browse(env, run: run, prefix: prefix, runs: runs, output: output)
            print("DashboardUITests: browser part \(ContinuousClock.now - browsing), whole test so far \(ContinuousClock.now - started); screenshots in \(output)")
        }, monitorExtra: monitorExtra)
    }

    /// `quorum backtest` (rules only) on `files`, so the backtests page has a run.
    static func backtest(_ env: ClusterIntegrationTests.Env, files: [String], out: String) async throws {
        let config = "\(env.work)/ui-backtest.json"
        try #"{"data": {"files": [\#(files.map { "\"\($0)\"" }.joined(separator: ", "))], "bad_rows": "skip"}, "monte_carlo": {"paths": 0}}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(env.work)/ui-backtest.log"
        let child = try ChildProcess.spawn("\(env.bin)/quorum", ["backtest", "--config", config, "--out", out], log: log)
        while child.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        guard child.exitStatus == 0 else { throw ClusterTestError("quorum backtest failed:\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
    }

    static func browse(_ env: ClusterIntegrationTests.Env, run: ClusterIntegrationTests.Run, prefix: String, runs: String, output: String) async throws {
        let port = try #require(run.httpPorts["quorum-monitor"])
        let monitor = try #require(run.children["quorum-monitor"])
        let browser = try await Chromium(log: "\(env.work)/\(prefix)-chromium.log")
        defer { browser.close() }
        let base = "http://127.0.0.1:\(port)"
        try await browser.viewport(phone: false)
        func shot(_ name: String) async throws { try await browser.screenshot("\(output)/\(name).png") }

        // Signals and decisions: rows followed from the bar to risk's verdict and the fill, once the monitor caught up.
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            do { try await browser.open("\(base)/dashboard/decisions?orders=1"); break } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .seconds(1))
            }
        }
        try await browser.waitFor("[...document.querySelectorAll('#trail tr[data-correlation]')].some(r => r.textContent.includes('approved') && /filled/i.test(r.textContent))",
                                  what: "a decision row with risk's approval and a fill", seconds: 120)
        let rows = try await browser.evaluate("document.querySelectorAll('#trail tr[data-correlation]').length") as? Int ?? 0
        #expect(rows > 0)
        try await browser.waitFor("[...document.querySelectorAll('#trail tr[data-correlation] td:nth-child(3)')].some(td => /ml (long|short|flat) [0-9]/.test(td.textContent))",
                                  what: "the model's opinion (source ml) with its confidence in a row", seconds: 120)
        try await shot("decisions")

        // Overview: account figures, equity and drawdown charts, positions, exposure, kill switch off.
        try await browser.open("\(base)/dashboard")
        try await browser.waitFor("document.querySelector('#figures').textContent.includes('PnL total')", what: "the account figures")
        try await browser.waitFor("/Fills\\s*[1-9]/.test(document.querySelector('#figures').innerText)", what: "the run's fills in the account")
        try await browser.waitFor("new Set([...document.querySelectorAll('#equity svg text')].map(t => t.textContent)).size === 3",
                                  what: "an equity curve that moves (three distinct axis labels)")
        try await browser.waitFor("document.querySelector('#equity svg polyline') && document.querySelector('#drawdown svg polyline')",
                                  what: "the equity and drawdown charts")
        try await browser.waitFor("document.querySelector('#exposure').textContent.includes('loss today')", what: "exposure vs limits")
        #expect(try await browser.evaluate("document.querySelector('[data-kill-switch]').dataset.killSwitch") as? String == "off")
        try await shot("overview")

        // Live update: the kill switch through its button (a wrong token first), then the page changes without a reload.
        _ = try await browser.evaluate("window.notReloaded = true; 1")
        let before = try await browser.evaluate("Number(document.body.dataset.updates)") as? Int ?? 0
        try await browser.waitFor("Number(document.body.dataset.updates) > \(before)", what: "a live update (server-sent event)", seconds: 20)
        func confirm(token: String, reason: String) async throws {
            _ = try await browser.evaluate("""
                (function(){var f=document.getElementById('confirm-form');f.reason.value=\(json(reason));f.actor.value='ui-test';
                f.token.value=\(json(token));document.getElementById('confirm-ok').click();return 1;})()
                """)
        }
        _ = try await browser.evaluate("document.querySelector('button[data-action=\"kill-switch\"][data-on=\"true\"]').click(); 1")
        try await browser.waitFor("document.getElementById('confirm').open", what: "the confirmation dialog")
        try await confirm(token: "wrong", reason: "ui test")
        try await browser.waitFor("document.getElementById('confirm-result').textContent.startsWith('Refused')", what: "the wrong token refused")
        try await confirm(token: token, reason: "ui test: kill switch")
        try await browser.waitFor("document.getElementById('confirm-result').textContent.startsWith('Done')", what: "the kill switch accepted")
        _ = try await browser.evaluate("document.getElementById('confirm').close(); 1")
        try await browser.waitFor("document.querySelector('[data-kill-switch=\"on\"]')", what: "the kill switch ON on the page (live update)", seconds: 60)
        #expect(try await browser.evaluate("window.notReloaded === true") as? Bool == true, "the page was not reloaded")
        try await browser.waitFor("document.querySelector('#audit').textContent.includes('ui test: kill switch')", what: "the audited action")
        try await shot("overview-kill-switch-on")

        // Models: the registry, the active model of both symbols, live hit rate and calibration.
        try await browser.open("\(base)/dashboard/models")
        try await browser.waitFor("['AAA-USD','BBB-USD'].every(s => document.querySelector('#active').textContent.includes(s))"
                                  + " && document.querySelector('#active').textContent.includes('model-')", what: "the active models")
        try await browser.waitFor("document.querySelector('#registry').textContent.includes('active')", what: "the registry")
        try await browser.waitFor("document.querySelector('#calibration table')", what: "the live calibration table")
        try await shot("models")

        // Pipeline: per stage records, rate, latency, lag, readiness; the three bad rows of the fixture in md.bars.dlq.
        try await browser.open("\(base)/dashboard/pipeline")
        try await browser.waitFor("['quorum-features','quorum-risk','quorum-execution'].every(s => document.querySelector('#stages').textContent.includes(s))",
                                  what: "the stages")
        try await browser.waitFor("document.querySelector('#dlq').textContent.includes('md.bars.dlq: 3')", what: "the fixture's three dead letters")
        try await browser.waitFor("['risk','execution'].every(s => document.querySelector('#ready').textContent.includes(s))"
                                  + " && document.querySelector('#stages').textContent.includes('risk ready')", what: "readiness of risk and execution")
        try await shot("pipeline")

        // Alerts: risk's kill-switch alert, active.
        try await browser.open("\(base)/dashboard/alerts")
        try await browser.waitFor("document.querySelector('#active-alerts').textContent.includes('kill_switch')", what: "the kill-switch alert")
        try await shot("alerts")

        // Backtests: the run and its report (inline SVG).
        try await browser.open("\(base)/dashboard/backtests")
        try await browser.waitFor("document.querySelector('#runs a[href*=\"report.html\"]')", what: "the backtest run")
        try await shot("backtests")
        _ = try await browser.evaluate("document.querySelector('#runs a[href*=\"report.html\"]').click(); 1")
        try await browser.waitFor("location.pathname.endsWith('report.html') && document.querySelectorAll('svg').length > 3", what: "the report's charts")

        // A phone: the pages fit the width (wide tables scroll inside their box).
        try await browser.viewport(phone: true)
        for page in ["", "/decisions", "/models"] {
            try await browser.open("\(base)/dashboard\(page)")
            try await browser.waitFor("document.querySelector('main h2')", what: "the page on a phone")
            let fits = try await browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 2") as? Bool
            #expect(fits == true, "\(page): the page is wider than the phone's screen")
            try await shot("phone-\(page.isEmpty ? "overview" : String(page.dropFirst()))")
        }
        // Turn the switch off again through the same endpoint (the run's other checks do not need it on).
        let status = try await browser.evaluate("""
            fetch('/dashboard/api/kill-switch',{method:'POST',headers:{'Authorization':'Bearer \(token)','Content-Type':'application/json'},
            body:JSON.stringify({on:false,reason:'ui test done',actor:'ui-test'})}).then(r => r.status)
            """) as? Int
        #expect(status == 200)
        // A graceful shutdown is not held by the browser's open live-update stream: the HTTP server stops first, then
        // (reverse start order) the stage and the Postgres pool, whose "Postgres pool stopped" line must follow within
        // seconds.
        try await browser.open("\(base)/dashboard")
        try await browser.waitFor("Number(document.body.dataset.updates) > 0", what: "an open live-update stream")
        let log = "\(env.work)/\(prefix)-quorum-monitor.log"
        let logged = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").count  // nil: nothing logged yet
        let stopping = ContinuousClock.now
        monitor.terminate()
        var stoppedPast = false
        while ContinuousClock.now - stopping < .seconds(15), !stoppedPast {
            try await Task.sleep(for: .milliseconds(200))
            stoppedPast = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").dropFirst(logged).contains("Postgres pool stopped")
        }
        #expect(stoppedPast, "the monitor's shutdown did not get past its HTTP server within 15 s while a dashboard stream was open")
    }

    static func json(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
