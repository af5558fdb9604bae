import Foundation
import QuorumAnalytics
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

/// `make test-faults` (scripts/test-faults; not part of `make test`): the cluster's promise — kill anything at any moment,
/// nothing lost, nothing doubled — checked by breaking it on purpose.
///
/// Setup: a base run ingests the first bars of the vendored BTC, ETH and LTC files, trains a model per symbol and stops.
/// Each trial then runs all nine instances (ingest, features, two trainers, inference, consensus, risk, execution,
/// monitor) on a topic prefix of its own with the base's models pinned, and feeds them the rest of the files
/// (`QUORUM_FAULTS_BARS`, 100,000 by default, plus three bad rows) through `quorum ingest`. The reference trial breaks
/// nothing; each service trial kills -9 one instance drawn at random at a random moment of the replay and starts it
/// again after a random pause; each server trial restarts the broker, Redis or Postgres mid-run (`scripts/servers
/// restart`). After a trial the cluster must go idle by itself and these must hold (any miss is a violation):
/// - the ledger (orders, fills, positions) and the digests of decisions, approvals, denials and execution reports
///   equal the reference's;
/// - no message lost or doubled with other content: the digests of each stage's output (feature vectors, predictions,
///   signals, decisions) equal the reference's (a digest counts records by id, so a redelivered identical record
///   counts once and a second version under one id changes it);
/// - every approved order has exactly one order in the ledger, and every filled order exactly one fill;
/// - each position equals the sum of its fills; no order or fill id twice;
/// - the dead-letter topics hold exactly the three injected bad rows (`md.bars.dlq`) and nothing else.
///
/// `QUORUM_FAULTS_SEED` makes the draws reproducible; `QUORUM_FAULTS_TRIALS` (20) is the number of service trials,
/// `QUORUM_FAULTS_SERVERS` the servers restarted (each down for 1–5 s; default redis,postgres, and the broker too on
/// `SERVERS_BROKER_STORAGE=s3`), `QUORUM_FAULTS_BIN` the
/// folder of the service binaries (default: the tests' own, a debug build). The table and the RESULT line go to
/// `QUORUM_FAULTS_REPORT` (scripts/test-faults prints it last).
@Suite("Fault injection", .serialized)
struct FaultInjectionTests {
    static let instances = ["quorum-ingest", "quorum-features", "trainer-1", "trainer-2", "quorum-inference", "quorum-consensus",
                            "quorum-risk", "quorum-execution", "quorum-monitor"]
    static let groups = "quorum-features,quorum-inference,quorum-consensus,quorum-risk,quorum-execution"
    static let files = ["btc_usd_30m", "eth_usd_30m", "ltc_usd_30m"]
    static let badRows = 3

    struct Settings {
        var seed: UInt64
        var trials: Int
        var bars: Int
        var servers: [String]
        var report: String?
        var serversDir: String

        static func fromEnvironment() throws -> Settings {
            let e = ProcessInfo.processInfo.environment
            guard let dir = e["QUORUM_TEST_SERVERS_DIR"] else {
                throw ClusterTestError("QUORUM_TEST_SERVERS_DIR is not set: run through `make test-faults`")
            }
            func int(_ key: String, _ fallback: Int) throws -> Int {
                guard let text = e[key] else { return fallback }
                guard let value = Int(text), value >= 0 else { throw ClusterTestError("\(key)=\(text) is not a whole number ≥ 0") }
                return value
            }
            // The broker only on durable storage: on memory storage a restart loses every topic, which no ledger survives.
            let durable = e["SERVERS_BROKER_STORAGE"] == "s3"
            let servers = (e["QUORUM_FAULTS_SERVERS"] ?? (durable ? "broker,redis,postgres" : "redis,postgres")).split(separator: ",").map(String.init)
            if servers.contains("broker") && !durable {
                throw ClusterTestError("QUORUM_FAULTS_SERVERS names the broker, but its storage is memory: a restart loses every topic. Run with SERVERS_BROKER_STORAGE=s3")
            }
            for s in servers where !["broker", "redis", "postgres"].contains(s) {
                throw ClusterTestError("QUORUM_FAULTS_SERVERS: '\(s)' is not broker, redis or postgres")
            }
            return Settings(seed: UInt64(try int("QUORUM_FAULTS_SEED", 1)), trials: try int("QUORUM_FAULTS_TRIALS", 20),
                            bars: max(3_000, try int("QUORUM_FAULTS_BARS", 100_000)), servers: servers, report: e["QUORUM_FAULTS_REPORT"],
                            serversDir: dir)
        }
    }

    /// The trials' draws (QuorumAnalytics' SplitMix64): the same seed draws the same trials on every machine.
    struct Draws {
        var generator: SplitMix64
        init(seed: UInt64) { generator = SplitMix64(state: seed) }
        mutating func unit() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(generator.next() % UInt64(items.count))] }
    }

    enum Fault: CustomStringConvertible {
        case none
        case kill(instance: String, at: Double, pause: Double)
        case server(name: String, at: Double, down: Double)

        var description: String {
            switch self {
            case .none: "none (reference)"
            case .kill(let instance, let at, let pause): "kill -9 \(instance) at \(String(format: "%.1f", at)) s, back after \(String(format: "%.1f", pause)) s"
            case .server(let name, let at, let down): "\(name) down at \(String(format: "%.1f", at)) s for \(String(format: "%.1f", down)) s"
            }
        }
    }

    /// What a trial left, compared with the reference's.
    struct Observed: Equatable {
        var ledger: ClusterIntegrationTests.Outcome
        var stages: [String: RecordDigest.Result]
        var deadLetters: [String: Int64]
    }

    struct Row {
        var trial: String
        var fault: Fault
        var seconds: Double
        /// The reference only: seconds from the first bar fed until every bar was handled by every stage.
        var busy: Double? = nil
        var recovery: Double?
        var note: String
        var violations: [String]
    }

    /// The live part of each vendored file (after `history` rows) with the bad rows in the first one; the history files.
    struct Data {
        var history: [String]
        var live: [String]
        var split: String
        /// Valid live bars over all files.
        var liveBars: Int
    }

    static func writeData(_ env: ClusterIntegrationTests.Env, history: Int, live: Int) throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var historyFiles: [String] = []
        var liveFiles: [String] = []
        var split = ""
        for (index, name) in files.enumerated() {
            let gz = root.appendingPathComponent("data/market/\(name).csv.gz").path
            let text = try ClusterIntegrationTests.gunzip(gz)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard lines.count > history + live else { throw ClusterTestError("\(gz) has \(lines.count - 1) rows; \(history + live) needed") }
            let header = lines[0]
            let h = [header] + lines[1...history]
            var l = [header] + lines[(history + 1)...(history + live)]
            split = String(lines[history + 1].prefix { $0 != "," })
            if index == 0 {
                let t = String(lines[history + live].prefix { $0 != "," })
                l += ["\(t),-5,10,1,5,1", "\(t),abc,10,1,5,1", "\(t),5,1,10,5,1"]  // negative price, not a number, high < low
            }
            let hp = "\(env.work)/\(name).csv", lp = "\(env.work)/live/\(name).csv"
            try FileManager.default.createDirectory(atPath: "\(env.work)/live", withIntermediateDirectories: true)
            try (h.joined(separator: "\n") + "\n").write(toFile: hp, atomically: true, encoding: .utf8)
            try (l.joined(separator: "\n") + "\n").write(toFile: lp, atomically: true, encoding: .utf8)
            historyFiles.append(hp)
            liveFiles.append(lp)
        }
        return Data(history: historyFiles, live: liveFiles, split: split, liveBars: live * files.count)
    }

    @Test("kill -9 any service, restart the broker, Redis and Postgres mid-replay: the ledger and every stage's output equal an uninterrupted run's")
    func faults() async throws {
        let settings = try Settings.fromEnvironment()
        var env = try ClusterIntegrationTests.environment()
        // The services as the cluster runs them (scripts/test-faults passes the release binaries): debug ones take
        // several times as long per bar.
        if let bin = ProcessInfo.processInfo.environment["QUORUM_FAULTS_BIN"] {
            env = ClusterIntegrationTests.Env(brokers: env.brokers, redis: env.redis, postgres: env.postgres, bin: bin, work: env.work)
        }
        let perSymbol = settings.bars / Self.files.count
        let data = try Self.writeData(env, history: 1_200, live: perSymbol)
        let tag = "flt\(getpid() % 100_000)"
        print("fault injection: seed \(settings.seed), \(settings.trials) service trials, servers \(settings.servers), \(perSymbol * Self.files.count) live bars")

        // The base: history in, one model per symbol trained and activated.
        let base = "\(tag)-base"
        let baseRun = ClusterIntegrationTests.Run(env: env, prefix: base)
        do {
            try baseRun.start("quorum-features")
            // Every symbol gets a model whatever its validation says: the trials test the plumbing, not the model.
            try baseRun.start("quorum-trainer", instance: "trainer-1", extra: ["--trainer.gate.min.improvement", "-1", "--trainer.gate.min.count", "10"])
            try await baseRun.cli(["ingest"] + data.history)
            try await baseRun.cli(["wait", "--idle", "3", "--timeout", "600", "--groups", "quorum-features"])
            try await baseRun.cli(["train", "--until", data.split, "--train-days", "8", "--validation-days", "3", "--wait", "--timeout", "600"])
        } catch {
            baseRun.stopAll()
            throw error
        }
        baseRun.stopAll()
        let symbols = try await ClusterIntegrationTests.withStore(env, prefix: base) { try await ModelRegistry(store: $0).activeModels() }
            .map(\.symbol.name).sorted()
        try #require(symbols.count == Self.files.count, "one active model per symbol after training the base: \(symbols)")

        var draws = Draws(seed: settings.seed)
        // Moments are drawn as a share of the reference's busy time (from the first bar fed until the stages have handled
        // them all), known once it ran: a fault always hits the replay while it flows.
        var shares: [(String, Double, Double)] = []
        for _ in 0..<settings.trials {
            shares.append((draws.pick(Self.instances), 0.05 + 0.9 * draws.unit(), 0.2 + 4.8 * draws.unit()))
        }
        let serverShares = settings.servers.map { ($0, 0.1 + 0.8 * draws.unit(), 1 + 4 * draws.unit()) }

        var rows: [Row] = []
        func record(_ row: Row) {
            rows.append(row)
            print("fault injection: \(Self.line(row))")
            for v in row.violations { print("fault injection:   violation: \(v)") }
        }

        // The reference, then each fault in its own trial.
        let (refObserved, refRow) = try await trial(env, settings: settings, name: "reference", prefix: "\(tag)-ref", base: base, symbols: symbols,
                                                    data: data, fault: .none, reference: nil)
        let reference = refObserved, referenceSeconds = try #require(refRow.busy, "the reference measured no busy time")
        record(refRow)
        print("fault injection: the reference's stages were busy for \(String(format: "%.1f", referenceSeconds)) s after the first bar")
        let plan = shares.enumerated().map { i, s in ("kill \(i + 1)", Fault.kill(instance: s.0, at: s.1 * referenceSeconds, pause: s.2)) }
            + serverShares.map { ("server", Fault.server(name: $0.0, at: $0.1 * referenceSeconds, down: $0.2)) }
        for (i, (name, fault)) in plan.enumerated() {
            let (_, row) = try await trial(env, settings: settings, name: name, prefix: "\(tag)-t\(i + 1)", base: base, symbols: symbols,
                                           data: data, fault: fault, reference: reference)
            record(row)
        }

        let faults = rows.filter { if case .none = $0.fault { false } else { true } }
        let violations = rows.reduce(0) { $0 + $1.violations.count }
        var table = [Self.pad("trial", 10) + " " + Self.pad("fault", 56) + " " + Self.pad("took", 9) + " " + Self.pad("recovery", 9)
                     + " violations  note"]
        for row in rows {
            table.append(Self.line(row))
            for v in row.violations { table.append("    violation: \(v)") }
        }
        table.append("RESULT trials=\(faults.count) faults=\(faults.count) violations=\(violations)")
        if let path = settings.report { try (table.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8) }
        print(table.joined(separator: "\n"))
        #expect(violations == 0, "\(violations) violations; see the table above")
    }

    /// One trial on `prefix`: the nine instances up, the live files in, `fault` at its moment, then idle and compared.
    func trial(_ env: ClusterIntegrationTests.Env, settings: Settings, name: String, prefix: String, base: String, symbols: [String],
               data: Data, fault: Fault,
               reference: Observed?) async throws -> (Observed, Row) {
        // The base's models, active in this prefix's registry before inference starts.
        _ = try await ClusterIntegrationTests.withStore(env, prefix: prefix) { store in
            _ = try await store.migrate()
            return try await ModelRegistry(store: store).copyActive(fromSchema: PostgresConfiguration.schema(forTopicPrefix: base)!)
        }
        let run = ClusterIntegrationTests.Run(env: env, prefix: prefix)
        for instance in Self.instances { run.httpPorts[instance] = try freeLoopbackPort() }
        try FileManager.default.createDirectory(atPath: "\(env.work)/\(prefix)-inbox", withIntermediateDirectories: true)
        var recovery: Double?
        var busy: Double?
        var note = ""
        let started = ContinuousClock.now
        do {
            try run.start("quorum-ingest", extra: ["--ingest.inbox", "\(env.work)/\(prefix)-inbox"])
            // No retraining: a model trained and swapped in mid-replay would make the decisions depend on when the swap
            // happened in wall time, and the trials could not be compared with the reference.
            try run.start("quorum-monitor", extra: ["--monitor.accuracy.min", "0", "--monitor.retrain.every", "0s"])
            try run.start("quorum-features")
            try run.start("quorum-trainer", instance: "trainer-1")
            try run.start("quorum-trainer", instance: "trainer-2")
            try run.start("quorum-inference")
            try run.start("quorum-consensus")
            // Risk holds a decision until every symbol's stream has passed its time, or this long without news of a
            // symbol (then it goes on without it): above a killed stage's pause and restore, so the order of the
            // decisions never depends on the fault; the last decisions of the replay wait for it once.
            try run.start("quorum-risk", extra: ["--risk.symbols", symbols.joined(separator: ","), "--risk.merge.idle.timeout", "60s"])
            try run.start("quorum-execution")
            try await waitReady(run, instances: Self.instances, timeout: .seconds(120))
            let feeding = ContinuousClock.now
            let ingest = try ChildProcess.spawn("\(env.bin)/quorum", ["ingest"] + data.live + ["--topic.prefix", prefix, "--kafka.brokers", env.brokers],
                                                log: "\(env.work)/\(prefix)-ingest-cli.log", environment: run.secrets)
            switch fault {
            case .none:
                busy = try await busyTime(run, env: env, prefix: prefix, bars: data.liveBars, symbols: symbols.count, since: feeding)
            case .kill(let instance, let at, let pause):
                try await Task.sleep(until: feeding + .milliseconds(Int(at * 1000)), clock: .continuous)
                let child = try #require(run.children[instance])
                child.kill9()
                child.wait()
                try await Task.sleep(for: .milliseconds(Int(pause * 1000)))
                try run.restart(instance)
                let restarted = ContinuousClock.now
                try await waitReady(run, instances: [instance], timeout: .seconds(300))
                recovery = Self.seconds(ContinuousClock.now - restarted)
            case .server(let server, let at, let down):
                try await Task.sleep(until: feeding + .milliseconds(Int(at * 1000)), clock: .continuous)
                let ports = run.httpPorts
                let watch = Task { await Self.unreadySeen(ports, for: .seconds(30)) }
                let restart = try await ClusterScriptTests.script(["scripts/servers", "restart", settings.serversDir, server, String(format: "%.1f", down)], environment: [:])
                guard restart.status == 0 else { throw ClusterTestError("scripts/servers restart \(server) failed:\n\(restart.output)") }
                let restarted = ContinuousClock.now
                try await waitReady(run, instances: Self.instances, timeout: .seconds(300))
                recovery = Self.seconds(ContinuousClock.now - restarted)
                let unready = await watch.value
                note = unready.isEmpty ? "no instance seen unready" : "unready: \(unready.sorted().joined(separator: ","))"
            }
            while ingest.isRunning { try await Task.sleep(for: .milliseconds(200)) }
            guard ingest.exitStatus == 0 else { throw ClusterTestError("quorum ingest of \(prefix) failed; see \(ingest.log)") }
            try await run.cli(["wait", "--idle", "5", "--timeout", "1800", "--groups", Self.groups])
            for (instance, child) in run.children where !child.isRunning {
                // The log's end goes into the failure itself: the test's folder is gone once the suite has stopped.
                let log = (try? String(contentsOfFile: child.log, encoding: .utf8)) ?? "(the log could not be read)"
                let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(40).joined(separator: "\n")
                throw ClusterTestError("\(instance) of \(prefix) exited (status \(child.exitStatus.map(String.init) ?? "unknown"), a negative "
                    + "status is the signal) during the trial; the end of \(child.log):\n\(tail)")
            }
        } catch {
            run.stopAll()
            throw error
        }
        run.stopAll()
        let seconds = Self.seconds(ContinuousClock.now - started)
        let observed = try await observe(env, prefix: prefix)
        let violations = Self.violations(observed, reference: reference, symbols: symbols)
        // What the comparison needs is in `observed`: the trial's topics go, so that 20 trials of 100,000 bars do not
        // pile up in the memory broker (several GB).
        try await ClusterIntegrationTests.bus(env).deleteTopics(try TopicNamer(prefix: prefix).specsWithNames().map(\.name))
        return (observed, Row(trial: name, fault: fault, seconds: seconds, busy: busy, recovery: recovery, note: note, violations: violations))
    }

    static func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

    /// One row of the table: trial, fault, how long the trial took, the faulted part's recovery, violations, note.
    static func line(_ row: Row) -> String {
        pad(row.trial, 10) + " " + pad(row.fault.description, 56) + " " + pad(String(format: "%.1f s", row.seconds), 9) + " "
            + pad(row.recovery.map { String(format: "%.1f s", $0) } ?? "-", 9) + " " + pad("\(row.violations.count)", 11) + " " + row.note
    }

    /// Seconds from `since` until all `bars` are on md.bars and the stages' consumer lag is down to what risk holds at
    /// the end of a replay (at most one decision per symbol, released after its idle timeout).
    func busyTime(_ run: ClusterIntegrationTests.Run, env: ClusterIntegrationTests.Env, prefix: String, bars: Int, symbols: Int,
                  since: ContinuousClock.Instant) async throws -> Double {
        let bus = try ClusterIntegrationTests.bus(env)
        let namer = try TopicNamer(prefix: prefix)
        while true {
            do {
                if try await ClusterIntegrationTests.count(bus, namer.name(Topic.bars)) >= Int64(bars) {
                    var lag: Int64 = 0
                    for group in Self.groups.split(separator: ",").map(String.init) {
                        for spec in ServiceGroups.topics(ofGroup: group) ?? [] {
                            lag += try await bus.lag(group: namer.group(group), topic: namer.name(spec))
                        }
                    }
                    if lag <= Int64(symbols) { return Self.seconds(ContinuousClock.now - since) }
                }
            } catch let error as BusError where error.isRetriable {
                // A poll the broker could not answer in time (a busy machine): the next one asks again.
            }
            for (instance, child) in run.children where !child.isRunning {
                throw ClusterTestError("\(instance) of \(prefix) exited during the reference; see \(child.log)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// Polls `/health/ready` of `instances` until every one answers 200.
    func waitReady(_ run: ClusterIntegrationTests.Run, instances: [String], timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var waiting = Set(instances)
        while !waiting.isEmpty {
            for instance in waiting where await Self.ready(run.httpPorts[instance]!) { waiting.remove(instance) }
            if waiting.isEmpty { return }
            guard ContinuousClock.now < deadline else { throw ClusterTestError("not ready within \(timeout): \(waiting.sorted())") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    static func ready(_ port: Int) async -> Bool {
        (try? await MonitoringChecks.get("http://127.0.0.1:\(port)/health/ready")) != nil  // harmless: not answering = not ready
    }

    /// The instances seen unready at least once within `window`.
    static func unreadySeen(_ ports: [String: Int], for window: Duration) async -> Set<String> {
        let end = ContinuousClock.now + window
        var seen: Set<String> = []
        while ContinuousClock.now < end {
            for instance in instances where !seen.contains(instance) {
                if await !ready(ports[instance]!) { seen.insert(instance) }
            }
            try? await Task.sleep(for: .milliseconds(200))  // harmless: the loop ends at `end`
        }
        return seen
    }

    func observe(_ env: ClusterIntegrationTests.Env, prefix: String) async throws -> Observed {
        let ledger = try await ClusterIntegrationTests.outcome(env, prefix: prefix)
        let bus = try ClusterIntegrationTests.bus(env)
        let namer = try TopicNamer(prefix: prefix)
        var stages: [String: RecordDigest.Result] = [:]
        for spec in [Topic.features, Topic.predictions, Topic.signals, Topic.decisions] {
            let values = try await ClusterIntegrationTests.records(bus, namer.name(spec)).map(\.value)
            stages[spec.shortName] = try RecordDigest.digest(valueType: spec.valueType, values: values)
        }
        var deadLetters: [String: Int64] = [:]
        for spec in Topic.all {
            let count = try await ClusterIntegrationTests.count(bus, namer.deadLetterName(spec))
            if count > 0 { deadLetters[spec.shortName] = count }
        }
        return Observed(ledger: ledger, stages: stages, deadLetters: deadLetters)
    }

    static func violations(_ o: Observed, reference: Observed?, symbols: [String]) -> [String] {
        var v: [String] = []
        if let r = reference {
            if o.ledger.orders != r.ledger.orders { v.append("orders differ from the reference (\(o.ledger.orders.count) vs \(r.ledger.orders.count))") }
            if o.ledger.fills != r.ledger.fills { v.append("fills differ from the reference (\(o.ledger.fills.count) vs \(r.ledger.fills.count))") }
            if o.ledger.positions != r.ledger.positions { v.append("positions differ from the reference") }
            if o.ledger.approvals != r.ledger.approvals { v.append("approvals: \(o.ledger.approvals) vs the reference's \(r.ledger.approvals)") }
            if o.ledger.denials != r.ledger.denials { v.append("denials: \(o.ledger.denials) vs the reference's \(r.ledger.denials)") }
            if o.ledger.reports != r.ledger.reports { v.append("execution reports: \(o.ledger.reports) vs the reference's \(r.ledger.reports)") }
            for (stage, digest) in r.stages where o.stages[stage] != digest {
                v.append("\(stage): \(o.stages[stage].map(String.init(describing:)) ?? "nothing") vs the reference's \(digest)")
            }
        }
        // Exactly one order per approval, one fill per filled order, no id twice.
        let orderIDs = o.ledger.orders.map { String($0.prefix { $0 != " " }) }
        if Set(orderIDs).count != orderIDs.count { v.append("an order id appears twice in the ledger") }
        if orderIDs.count != o.ledger.approvals.count { v.append("\(orderIDs.count) orders for \(o.ledger.approvals.count) approvals") }
        let fillIDs = o.ledger.fills.map { String($0.prefix { $0 != " " }) }
        if Set(fillIDs).count != fillIDs.count { v.append("a fill id appears twice in the ledger") }
        let filled = o.ledger.orders.filter { $0.hasSuffix(" FILLED") }.map { String($0.prefix { $0 != " " }) }  // OrderStatus.filled
        for id in filled where fillIDs.filter({ $0.hasPrefix(id + "-") }).count != 1 { v.append("order \(id) is filled but has not exactly one fill") }
        // Positions = the sum of their fills.
        var sums: [String: Fixed] = [:]
        for fill in o.ledger.fills {
            let f = fill.split(separator: " ").map(String.init)  // id symbol side quantity price fee time
            guard f.count >= 4, let q = Fixed(f[3]) else { v.append("unreadable fill line: \(fill)"); continue }
            sums[f[1], default: 0] = sums[f[1], default: 0] + (f[2] == "buy" ? q : Fixed(units: 0) - q)
        }
        for position in o.ledger.positions {
            let p = position.split(separator: " ").map(String.init)  // symbol quantity cost fees fills
            guard p.count >= 2, let q = Fixed(p[1]) else { v.append("unreadable position line: \(position)"); continue }
            if q != sums[p[0], default: 0] { v.append("position \(p[0]) \(q) is not the sum of its fills \(sums[p[0], default: 0])") }
        }
        // Dead letters: exactly the injected bad rows.
        if o.deadLetters != [Topic.bars.shortName: Int64(badRows)] { v.append("dead letters \(o.deadLetters), expected only \(badRows) on md.bars") }
        return v
    }
}

extension ClusterIntegrationTests {
    /// The text of a .gz file, read as `quorum ingest` reads it (`IngestReader.forEachChunk`).
    static func gunzip(_ path: String) throws -> String {
        var bytes: [UInt8] = []
        try IngestReader.forEachChunk(of: path) { chunk, _ in bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The fault suite's checks on made-up outcomes (no servers; part of `make test`): each invariant can fail.
@Suite("Fault injection invariants")
struct FaultInvariantTests {
    static func digest(_ count: Int, _ sha: String) -> RecordDigest.Result { RecordDigest.Result(count: count, sha256: sha) }

    /// Two approved orders, both filled; positions equal their fills; the three bad rows on md.bars.dlq.
    static let good = FaultInjectionTests.Observed(
        ledger: ClusterIntegrationTests.Outcome(
            orders: ["q-1 d-1 BTC-USD buy 2 FILLED", "q-2 d-2 BTC-USD sell 0.5 FILLED"],
            fills: ["q-1-f1 BTC-USD buy 2 100 0.1 1", "q-2-f1 BTC-USD sell 0.5 110 0.1 2"],
            positions: ["BTC-USD 1.5 150 0.2 2"],
            approvals: digest(2, "a"), reports: digest(4, "r"), denials: digest(0, "d")),
        stages: ["features": digest(10, "f"), "predictions": digest(10, "p")],
        deadLetters: [Topic.bars.shortName: 3])

    @Test("the suite's data: a vendored file read whole, header first")
    func vendoredData() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try ClusterIntegrationTests.gunzip(root.appendingPathComponent("data/market/btc_usd_30m.csv.gz").path)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "timestamp,open,high,low,close,volume" && lines.count == 35_020)
    }

    @Test("an outcome equal to the reference breaks nothing")
    func clean() {
        #expect(FaultInjectionTests.violations(Self.good, reference: Self.good, symbols: ["BTC-USD"]) == [])
    }

    @Test("each broken invariant is reported")
    func broken() {
        func check(_ change: (inout FaultInjectionTests.Observed) -> Void, _ expected: String) {
            var o = Self.good
            change(&o)
            let found = FaultInjectionTests.violations(o, reference: Self.good, symbols: ["BTC-USD"])
            #expect(found.contains { $0.contains(expected) }, "expected a violation containing '\(expected)', got \(found)")
        }
        check({ $0.stages["features"] = Self.digest(9, "f2") }, "features")
        check({ $0.ledger.reports = Self.digest(5, "r2") }, "execution reports")
        check({ $0.ledger.fills.append("q-1-f1 BTC-USD buy 2 100 0.1 1") }, "a fill id appears twice")
        check({ $0.ledger.fills.removeLast() }, "order q-2 is filled but has not exactly one fill")
        check({ $0.ledger.positions = ["BTC-USD 2 200 0.1 1"] }, "is not the sum of its fills")
        check({ $0.ledger.orders.append("q-3 d-3 BTC-USD buy 1 NEW") }, "3 orders for 2 approvals")
        check({ $0.deadLetters[Topic.decisions.shortName] = 1 }, "dead letters")
    }
}
