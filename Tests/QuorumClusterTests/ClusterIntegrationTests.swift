import Foundation
import QuorumBus
import QuorumFeatures
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumProto
import QuorumRedis
import QuorumServiceKit
import QuorumStores
import Logging
import Testing

/// The real services as separate processes on the servers `make test` starts, each run on its own topic prefix
/// (own topics, Redis keys and Postgres schema), fed a small fixture through the `quorum` CLI.
@Suite("Cluster (services as processes)", .serialized)
struct ClusterIntegrationTests {
    static let symbols = ["AAA-USD", "BBB-USD"]
    static let interval: Int64 = 1800
    static let start: Int64 = 1_599_998_400  // aligned to 30 minutes
    static let barsPerSymbol = 900
    static let historyBars = 600
    static let badRows = 3
    static let pipelineGroups = "quorum-features,quorum-trainer,quorum-inference,quorum-consensus,quorum-risk,quorum-execution"

    struct Env {
        let brokers: String
        let redis: String
        let postgres: String
        let bin: String
        let work: String
    }

    static func environment() throws -> Env {
        let e = ProcessInfo.processInfo.environment
        guard let brokers = e["QUORUM_KAFKA_BROKERS"], let redis = e["QUORUM_REDIS_URL"], let postgres = e["QUORUM_POSTGRES_URL"] else {
            throw ClusterTestError("QUORUM_KAFKA_BROKERS, QUORUM_REDIS_URL and QUORUM_POSTGRES_URL are not set: run through `make test`")
        }
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        // Inside scripts/test's temp folder when there is one, which it removes at the end (logs of a failed run are
        // printed by the tests that need them); else a folder of the system's temp directory.
        let work = (e["QUORUM_TEST_SERVERS_DIR"].map { $0 + "/" } ?? NSTemporaryDirectory()) + "quorum-cluster-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        return Env(brokers: brokers, redis: redis, postgres: postgres, bin: bin, work: work)
    }

    /// Fixture files: history (before the split) and live (after, with `badRows` invalid rows in the first file).
    static func writeFixture(_ env: Env) throws -> (history: [String], live: [String], split: String) {
        var history: [String] = []
        var live: [String] = []
        for (index, symbol) in symbols.enumerated() {
            let bars = FixtureBars.make(count: barsPerSymbol, seed: UInt64(index + 1), startPrice: index == 0 ? 20_000 : 1_500)
            let iso = ISO8601DateFormatter()
            func row(_ i: Int, _ b: (Double, Double, Double, Double)) -> String {
                let t = iso.string(from: Date(timeIntervalSince1970: Double(start + Int64(i) * interval)))
                return "\(t),\(b.0),\(b.1),\(b.2),\(b.3),\(10 + i % 7)"
            }
            let stem = symbol.lowercased().replacingOccurrences(of: "-", with: "_")
            let header = "timestamp,open,high,low,close,volume"
            let h = [header] + (0..<historyBars).map { row($0, bars[$0]) }
            var l = [header] + (historyBars..<barsPerSymbol).map { row($0, bars[$0]) }
            if index == 0 {
                // Injected bad rows (each must land in md.bars.dlq with its file and line): a negative price,
                // a non-number, and high below low.
                let t = { (i: Int) in iso.string(from: Date(timeIntervalSince1970: Double(start + Int64(i) * interval))) }
                l.append("\(t(barsPerSymbol)),-5,10,1,5,1")
                l.append("\(t(barsPerSymbol + 1)),abc,10,1,5,1")
                l.append("\(t(barsPerSymbol + 2)),5,1,10,5,1")
            }
            let hp = "\(env.work)/\(stem)_history.csv"
            let lp = "\(env.work)/\(stem)_live.csv"
            try (h.joined(separator: "\n") + "\n").write(toFile: hp, atomically: true, encoding: .utf8)
            try (l.joined(separator: "\n") + "\n").write(toFile: lp, atomically: true, encoding: .utf8)
            history.append(hp)
            live.append(lp)
        }
        let split = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(start + Int64(historyBars) * interval)))
        return (history, live, split)
    }

    /// One pipeline run on a prefix.
    final class Run {
        let env: Env
        let prefix: String
        var children: [String: ChildProcess] = [:]
        var arguments: [String: [String]] = [:]
        /// The HTTP port of each instance (health and metrics), when the test fixes them; others get any free port.
        var httpPorts: [String: Int] = [:]

        init(env: Env, prefix: String) {
            self.env = env
            self.prefix = prefix
        }

        func common(http port: Int) -> [String] {
            ["--topic.prefix", prefix, "--http.port", "\(port)", "--kafka.brokers", env.brokers, "--log.format", "json", "--shutdown.timeout", "20s"]
        }

        /// URLs with passwords go to the services by environment, never argv (visible in /proc/PID/cmdline).
        var secrets: [String: String] { ["QUORUM_POSTGRES_URL": env.postgres, "QUORUM_REDIS_URL": env.redis] }

        func start(_ service: String, instance: String? = nil, extra: [String] = []) throws {
            let name = instance ?? service
            let args = common(http: httpPorts[name] ?? 0) + ["--service.instance", "\(prefix)-\(name)"] + extra
            arguments[name] = [service] + args
            children[name] = try ChildProcess.spawn("\(env.bin)/\(service)", args, log: "\(env.work)/\(prefix)-\(name).log",
                                                    environment: secrets)
        }

        func restart(_ name: String) throws {
            let args = arguments[name]!
            children[name] = try ChildProcess.spawn("\(env.bin)/\(args[0])", Array(args.dropFirst()), log: "\(env.work)/\(prefix)-\(name).log",
                                                    environment: secrets)
        }

        func startPipeline() throws {
            try start("quorum-features")
            try start("quorum-trainer", instance: "trainer-1", extra: ["--trainer.gate.min.improvement", "-1", "--trainer.gate.min.count", "10"])
            try start("quorum-trainer", instance: "trainer-2", extra: ["--trainer.gate.min.improvement", "-1", "--trainer.gate.min.count", "10"])
            try start("quorum-inference")
            try start("quorum-consensus", extra: ["--consensus.threshold", "0.2"])
            try start("quorum-risk", extra: ["--risk.symbols", ClusterIntegrationTests.symbols.joined(separator: ","),
                                            "--risk.merge.idle.timeout", "120s"])
            try start("quorum-execution")
        }

        /// Runs the `quorum` CLI on this prefix; fails with its output when it exits non-zero.
        @discardableResult
        func cli(_ args: [String]) async throws -> String {
            let log = "\(env.work)/\(prefix)-cli.log"
            let marker = (try? String(contentsOfFile: log, encoding: .utf8))?.count ?? 0
            let child = try ChildProcess.spawn("\(env.bin)/quorum", args + ["--topic.prefix", prefix, "--kafka.brokers", env.brokers],
                                               log: log, environment: secrets)
            while child.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let output = String((try? String(contentsOfFile: log, encoding: .utf8))?.dropFirst(marker) ?? "")
            guard child.exitStatus == 0 else { throw ClusterTestError("quorum \(args.joined(separator: " ")) failed:\n\(output)") }
            return output
        }

        func stopAll() {
            for c in children.values { c.terminate() }
            for c in children.values { c.wait() }
        }
    }

    /// What a run left: the ledger in Postgres and the digests of its topics.
    struct Outcome: Equatable {
        var orders: [String]
        var fills: [String]
        var positions: [String]
        var approvals: RecordDigest.Result
        var reports: RecordDigest.Result
        var denials: RecordDigest.Result
    }

    static func bus(_ env: Env) throws -> KafkaBus {
        var logger = Logger(label: "cluster-test")
        logger.logLevel = .warning
        return try KafkaBus(configuration: KafkaConfiguration(brokers: env.brokers, clientID: "cluster-test"), logger: logger)
    }

    static func records(_ bus: KafkaBus, _ topic: String) async throws -> [IncomingMessage] {
        try await bus.readAll(topic: topic, clientID: "cluster-test")
    }

    static func withStore<T: Sendable>(_ env: Env, prefix: String, _ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        var config = try PostgresConfiguration(url: env.postgres)
        config.schema = PostgresConfiguration.schema(forTopicPrefix: prefix)
        let store = PostgresStore(configuration: config, logger: Logger(label: "cluster-test"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await store.run(); return nil }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    static func outcome(_ env: Env, prefix: String) async throws -> Outcome {
        let bus = try bus(env)
        let namer = try TopicNamer(prefix: prefix)
        let (orders, fills, positions) = try await withStore(env, prefix: prefix) { store in
            let ledger = ExecutionLedgerStore(store: store)
            return (try await ledger.orders(), try await ledger.fills(), try await ledger.positions())
        }
        func digest(_ spec: TopicSpec) async throws -> RecordDigest.Result {
            try RecordDigest.digest(valueType: spec.valueType, values: try await records(bus, namer.name(spec)).map(\.value))
        }
        return Outcome(
            orders: orders.map { "\($0.clientOrderID) \($0.decisionID) \($0.symbol) \($0.side) \($0.quantity) \($0.status.rawValue)" }.sorted(),
            fills: fills.map { "\($0.fillID) \($0.symbol) \($0.side) \($0.quantity) \($0.price) \($0.fee) \($0.time)" }.sorted(),
            positions: positions.map { "\($0.symbol) \($0.quantity) \($0.cost) \($0.fees) \($0.fillCount)" }.sorted(),
            approvals: try await digest(Topic.ordersApproved), reports: try await digest(Topic.executionReports),
            denials: try await digest(Topic.ordersDenied))
    }

    /// history → train → live; `duringLive` runs while the live bars flow (e.g. kill -9 a service). With `everyService`,
    /// quorum-ingest (on an empty inbox) and quorum-monitor (with the flags `monitorExtra` gives, once the ports are chosen) run too, and every instance gets a
    /// known HTTP port (`Run.httpPorts`), so `whenIdle` can read each one's /metrics.
    static func runPipeline(_ env: Env, prefix: String, fixture: (history: [String], live: [String], split: String),
                            everyService: Bool = false,
                            duringLive: ((Run, KafkaBus) async throws -> Void)? = nil,
                            whenIdle: ((Run, KafkaBus) async throws -> Void)? = nil,
                            monitorExtra: (Run) -> [String] = { _ in [] }) async throws -> Run {
        let run = Run(env: env, prefix: prefix)
        do {
            if everyService {
                for name in ["quorum-features", "trainer-1", "trainer-2", "quorum-inference", "quorum-consensus", "quorum-risk",
                             "quorum-execution", "quorum-ingest", "quorum-monitor"] {
                    run.httpPorts[name] = try freeLoopbackPort()
                }
                try FileManager.default.createDirectory(atPath: "\(env.work)/\(prefix)-inbox", withIntermediateDirectories: true)
                try run.start("quorum-ingest", extra: ["--ingest.inbox", "\(env.work)/\(prefix)-inbox"])
                try run.start("quorum-monitor", extra: monitorExtra(run))
            }
            try run.startPipeline()
            try await run.cli(["ingest"] + fixture.history)
            try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", pipelineGroups])
            try await run.cli(["train", "--until", fixture.split, "--train-days", "8", "--validation-days", "3", "--wait", "--timeout", "300"])
            // Inference must have swapped the new models in before the live bars come: it records the active model
            // of each symbol in Redis when it does.
            try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", pipelineGroups])
            try await waitForServedModels(env, prefix: prefix)
            try await run.cli(["ingest"] + fixture.live)
            if let duringLive { try await duringLive(run, try bus(env)) }
            try await run.cli(["wait", "--idle", "4", "--timeout", "600", "--groups", pipelineGroups])
            if let whenIdle { try await whenIdle(run, try bus(env)) }
        } catch {
            run.stopAll()
            throw error
        }
        run.stopAll()
        return run
    }

    /// Waits until inference has an active model for every fixture symbol (its Redis pointer), or fails saying so.
    static func waitForServedModels(_ env: Env, prefix: String) async throws {
        let state = try hotState(env, prefix: prefix)
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            var served = 0
            for symbol in symbols where try await state.activeModel(symbol: symbol) != nil { served += 1 }
            if served == symbols.count { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ClusterTestError("inference of \(prefix) did not swap in a model for every symbol within 120 s (Redis model:active keys)")
    }

    /// The hot state (Redis) of one prefix's run.
    static func hotState(_ env: Env, prefix: String) throws -> RedisHotState {
        let client = RedisClient(configuration: try RedisConfiguration(url: env.redis, keyPrefix: RedisConfiguration.keyPrefix(forTopicPrefix: prefix)),
                                 logger: Logger(label: "cluster-test"))
        return RedisHotState(client: client)
    }

    /// Polls /proc until cancelled; returns the argv of every process seen whose argv `matches`, by pid.
    static func watchCommandLines(matching matches: @escaping @Sendable ([String]) -> Bool) -> Task<[Int32: [String]], Never> {
        Task {
            var seen: [Int32: [String]] = [:]
            while !Task.isCancelled {
                let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []  // harmless: retried next poll
                for pid in pids.compactMap({ Int32($0) }) where seen[pid] == nil {
                    // A process that exited between the listing and the read has no cmdline: nothing to see.
                    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { continue }
                    let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    if matches(argv) { seen[pid] = argv }
                }
                do { try await Task.sleep(for: .milliseconds(50)) } catch { break }
            }
            return seen
        }
    }

    static func count(_ bus: KafkaBus, _ topic: String) async throws -> Int64 {
        try await bus.watermarks(topic: topic).values.reduce(0) { $0 + $1.high - $1.low }
    }

    /// Runs `quorum backtest --digests` on the bars of `files` opening at or after `from` (epoch seconds) with the active
    /// models of `prefix`'s registry and the replay stages' settings (the services' defaults: consensus, risk, fees,
    /// slippage); returns its digest lines.
    static func backtestDigests(_ env: Env, prefix: String, files: [String], from: Int64) async throws -> String {
        let models = try await withStore(env, prefix: prefix) { try await ModelRegistry(store: $0).activeModels() }
        #expect(models.count == symbols.count, "one active model per symbol")
        var entries: [String] = []
        for model in models {
            let path = "\(env.work)/\(prefix)-\(model.modelID).model"
            try Data(model.artifact).write(to: URL(fileURLWithPath: path))
            entries.append(#"{"file": "\#(path)", "id": "\#(model.modelID)"}"#)
        }
        let config = "\(env.work)/\(prefix)-parity.json"
        try #"""
            {"data": {"files": [\#(files.map { "\"\($0)\"" }.joined(separator: ", "))], "bad_rows": "skip"},
             "from": "\#(from)", "models": [\#(entries.joined(separator: ", "))], "monte_carlo": {"paths": 0}}
            """#.write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(env.work)/\(prefix)-parity.log"
        let child = try ChildProcess.spawn("\(env.bin)/quorum", ["backtest", "--config", config, "--out", "\(env.work)/\(prefix)-runs", "--digests"],
                                           log: log, environment: [:])
        while child.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard child.exitStatus == 0 else { throw ClusterTestError("quorum backtest failed:\n\(output)") }
        return output.split(separator: "\n").filter { $0.hasPrefix("digest ") }.joined(separator: "\n")
    }

    @Test("cluster on a fixture: ledger complete and consistent, DLQ holds exactly the bad rows; kill -9 of execution or risk changes nothing")
    func ledgerAndCrashes() async throws {
        let env = try Self.environment()
        let fixture = try Self.writeFixture(env)
        let tag = String(wallClockNanos() % 1_000_000_000)

        // 1. An uninterrupted run: the reference.
        let reference = "ct\(tag)-a"
        _ = try await Self.runPipeline(env, prefix: reference, fixture: fixture, everyService: true, whenIdle: { run, bus in
            // The manual kill switch through the control topic: risk turns it on, raises an alert and records it in
            // Redis. Only once the run is idle: a command is an operator's act in wall time, so sent while decisions
            // flow it would deny a timing-dependent share of them and the reference would not be reproducible.
            try await run.cli(["kill-switch", "on", "--reason", "integration test"])
            // Risk's alert (the monitor, running in this run, publishes its own alerts on the same topic).
            let alerts = try TopicNamer(prefix: reference).name(Topic.alerts)
            let deadline = ContinuousClock.now + .seconds(60)
            var alert: Quorum_V1_Alert?
            while alert == nil, ContinuousClock.now < deadline {
                alert = try await Self.records(bus, alerts).map { try Quorum_V1_Alert(serializedBytes: $0.value) }.first { $0.source == "quorum-risk" }
                if alert == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let riskAlert = try #require(alert, "risk raised no alert within 60 s")
            #expect(riskAlert.code == "KILL_SWITCH_ON" && riskAlert.message.contains("integration test"))
            let killSwitch = try await Self.hotState(env, prefix: reference).killSwitch()
            #expect(killSwitch.on && killSwitch.reason?.contains("integration test") == true, "\(killSwitch)")
            try await Self.checkMetrics(run, bus)
        })
        let bus = try Self.bus(env)
        let namer = try TopicNamer(prefix: reference)
        let expected = try await Self.outcome(env, prefix: reference)

        // Ledger: every approved order has exactly one order row, and its fill; positions = Σ fills.
        let approvals = try await Self.records(bus, namer.name(Topic.ordersApproved)).map { try Quorum_V1_OrderApproved(serializedBytes: $0.value) }
        let approvedIDs = Set(approvals.map(\.intent.clientOrderID))
        #expect(approvedIDs.count >= 3, "the fixture should trade")
        #expect(Set(expected.orders.map { String($0.split(separator: " ")[0]) }) == approvedIDs)
        #expect(expected.orders.count == approvedIDs.count)
        let problems = try await Self.withStore(env, prefix: reference) { try await ExecutionLedgerStore(store: $0).verifyLedger() }
        #expect(problems.isEmpty, "\(problems)")
        let filledOrders = expected.orders.filter { $0.hasSuffix(" filled") }.count
        #expect(expected.fills.count == filledOrders)
        // Every denial has a reason (topic and audit table).
        let denials = try await Self.records(bus, namer.name(Topic.ordersDenied)).map { try Quorum_V1_OrderDenied(serializedBytes: $0.value) }
        #expect(denials.allSatisfy { !$0.reason.isEmpty && $0.reasonCode != .unspecified })
        let audited = try await Self.withStore(env, prefix: reference) { try await ExecutionLedgerStore(store: $0).denials() }
        #expect(audited.count == Set(denials.map(\.intent.clientOrderID)).count)
        #expect(audited.allSatisfy { !$0.reason.isEmpty })
        // The DLQ holds exactly the injected rows, with file and line.
        let dead = try await Self.records(bus, namer.deadLetterName(Topic.bars))
        #expect(dead.count == Self.badRows)
        #expect(dead.allSatisfy { $0.header(DeadLetterHeader.sourceFile)?.text.hasSuffix("aaa_usd_live.csv") == true && $0.header(DeadLetterHeader.sourceLine) != nil })

        // Training sees what serving sees: the rows a trainer computes from the archive (from each symbol's first bar)
        // are the vectors quorum-features published, bit for bit.
        let vectors = try await Self.records(bus, namer.name(Topic.features)).map { try Quorum_V1_FeatureVector(serializedBytes: $0.value) }
        let servedSymbols = Set(vectors.map(\.symbol)).sorted()
        #expect(servedSymbols.count == 2)
        let mismatches = try await Self.withStore(env, prefix: reference) { store in
            let archive = BarArchive(store: store, logger: Logger(label: "cluster-test"))
            var problems: [String] = []
            for symbol in servedSymbols {
                let bars = try await archive.bars(symbol: Symbol(symbol), intervalSeconds: Self.interval,
                                                  fromOpenNs: TrainingRows.fromFirstBar, toOpenNs: .max)
                let rows = try TrainingRows.rows(bars: bars, spec: .default)
                let trained = Dictionary(rows.map { ($0.time, $0.features.map(\.bitPattern)) }, uniquingKeysWith: { a, _ in a })
                var served: [Int64: [UInt64]] = [:]
                for v in vectors where v.symbol == symbol && v.warm { served[v.barCloseTime] = v.values.map(\.bitPattern) }
                if served.count < 500 || served.count != trained.count {
                    problems.append("\(symbol): \(served.count) warm vectors served, \(trained.count) training rows")
                }
                for (time, values) in served where trained[time] != values { problems.append("\(symbol) at \(time): the training row differs") }
            }
            return problems
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")

        // Replaying the live range twice (each on its own prefix, with the reference run's models) gives identical
        // decisions, orders and fills. The replay's stages get no secret in argv (/proc/PID/cmdline is world-readable).
        var digests: [String] = []
        for replay in ["\(reference)-r1", "\(reference)-r2"] {
            let watcher = Self.watchCommandLines { argv in zip(argv, argv.dropFirst()).contains { $0 == "--topic.prefix" && $1 == replay } }
            let output = try await Run(env: env, prefix: reference).cli([
                "replay", "--topic", "md.bars", "--from", fixture.split, "--to", "2030-01-01", "--prefix", replay, "--run",
                "--bin", env.bin, "--logs", env.work, "--idle-seconds", "4"])
            watcher.cancel()
            let stages = await watcher.value
            #expect(stages.count == 5, "the replay's five stages should have been seen running: \(stages)")
            let password = try #require(URLComponents(string: env.postgres)?.password, "the test Postgres URL has a password")
            for (pid, argv) in stages {
                let line = argv.joined(separator: " ")
                #expect(!line.contains(password) && !line.contains("postgres://") && !line.contains(env.redis),
                        "pid \(pid) has a secret in argv: \(line)")
            }
            let lines = output.split(separator: "\n").filter { $0.hasPrefix("digest ") }.map(String.init)
            #expect(lines.count == 4, "\(output)")
            digests.append(lines.joined(separator: "\n"))
        }
        #expect(digests[0] == digests[1])
        #expect(!digests[0].contains("orders.approved: 0 records"), "the replay should trade: \(digests[0])")

        // Parity: `quorum backtest` of the same live bars, in one process with the reference run's active models and
        // the services' settings, makes the same decisions, orders and fills as the cluster's replay (equal digests).
        // The replay copies md.bars records stamped (bar close) at or after the split: from the bar opening one interval
        // before it.
        let parity = try await Self.backtestDigests(env, prefix: reference, files: fixture.history + fixture.live,
                                                    from: Self.start + Int64(Self.historyBars - 1) * Self.interval)
        #expect(parity == digests[0], "backtest:\n\(parity)\ncluster replay:\n\(digests[0])")

        // 2. kill -9 execution while the live bars flow, restart it: the same ledger.
        let crashedExecution = "ct\(tag)-e"
        _ = try await Self.runPipeline(env, prefix: crashedExecution, fixture: fixture) { run, bus in
            let topic = try TopicNamer(prefix: crashedExecution).name(Topic.executionReports)
            while try await Self.count(bus, topic) < 2 { try await Task.sleep(for: .milliseconds(50)) }
            run.children["quorum-execution"]!.kill9()
            run.children["quorum-execution"]!.wait()
            try run.restart("quorum-execution")
        }
        #expect(try await Self.outcome(env, prefix: crashedExecution) == expected)

        // 3. kill -9 risk the same way.
        let crashedRisk = "ct\(tag)-r"
        _ = try await Self.runPipeline(env, prefix: crashedRisk, fixture: fixture) { run, bus in
            let topic = try TopicNamer(prefix: crashedRisk).name(Topic.ordersApproved)
            while try await Self.count(bus, topic) < 2 { try await Task.sleep(for: .milliseconds(50)) }
            run.children["quorum-risk"]!.kill9()
            run.children["quorum-risk"]!.wait()
            try run.restart("quorum-risk")
        }
        #expect(try await Self.outcome(env, prefix: crashedRisk) == expected)

        // 4. No secret in any log of the three runs (every service, crashed ones included, and the CLI).
        let scan = try Self.secretsInLogs(env, prefixes: ["ct\(tag)-"])
        #expect(scan.files >= 3 * 7 && scan.bytes > 10_000, "the runs' logs were found and read: \(scan.files) files, \(scan.bytes) bytes")
        #expect(scan.hits.isEmpty, "secrets in logs: \(scan.hits)")
        // The scan finds a password where there is one.
        let planted = "planted\(tag)-x.log"
        try "connecting to \(env.postgres)\n".write(toFile: "\(env.work)/\(planted)", atomically: true, encoding: .utf8)
        #expect(try Self.secretsInLogs(env, prefixes: ["planted\(tag)-"]).hits == ["\(planted): postgres password"])
    }

    /// The metrics of a finished run with every service (`runPipeline(everyService:)`), read from each instance's /metrics:
    /// every Prometheus rule and Grafana panel names only metrics these export (docs/metrics.md); every Quorum family has
    /// HELP text and is catalogued; and the counters agree with the records (approvals, fills, dead letters, kill switch).
    static func checkMetrics(_ run: Run, _ bus: KafkaBus) async throws {
        var texts: [String: String] = [:]
        for (name, port) in run.httpPorts.sorted(by: { $0.key < $1.key }) {
            texts[name] = try await MonitoringChecks.get("http://127.0.0.1:\(port)/metrics")
        }
        var families: [String: MonitoringChecks.Family] = [:]
        for text in texts.values { families.merge(MonitoringChecks.families(text)) { a, _ in a } }
        for (name, family) in families where name.hasPrefix("quorum_") {
            #expect(family.help?.isEmpty == false, "\(name) has no HELP text")
            #expect(MetricCatalog.definition(named: name) != nil, "\(name) is exported but not in MetricCatalog (docs/metrics.md)")
        }
        try MonitoringChecks.expectQueriesUseExportedMetrics(MonitoringChecks.queryableNames(families))

        // The counters count what happened: risk's approvals are the records on orders.approved, execution's fills the
        // fill reports, the features stage handled every bar, and the kill switch just turned on shows.
        let namer = try TopicNamer(prefix: run.prefix)
        let approvals = try await count(bus, namer.name(Topic.ordersApproved))
        let risk = texts["quorum-risk"] ?? ""
        #expect(MonitoringChecks.value(risk, "quorum_risk_orders_approved_total") == Double(approvals), "approvals: \(approvals)")
        #expect(MonitoringChecks.value(risk, "quorum_risk_kill_switch_active") == 1)
        let reports = try await records(bus, namer.name(Topic.executionReports)).map { try Quorum_V1_ExecutionReport(serializedBytes: $0.value) }
        let fills = reports.filter { $0.status == .filled }.count
        let execution = texts["quorum-execution"] ?? ""
        let filled = ["buy", "sell"].compactMap { MonitoringChecks.value(execution, #"quorum_execution_fills_total{side="\#($0)"}"#) }.reduce(0, +)
        #expect(fills > 0 && filled == Double(fills), "fills: \(fills) reports, counter \(filled)")
        let bars = try await count(bus, namer.name(Topic.bars))
        let handled = MonitoringChecks.value(texts["quorum-features"] ?? "",
                                             #"quorum_stage_messages_handled_total{stage="\#(namer.group("quorum-features"))",topic="\#(namer.name(Topic.bars))"}"#)
        #expect(handled == Double(bars), "bars: \(bars), handled by features: \(handled ?? -1)")
        // The monitor is not among the groups `quorum wait` waited for: give it time to read the approvals.
        let barToOrder = #"quorum_monitor_end_to_end_latency_seconds_count{topic="orders.approved"}"#
        var measured: Double?
        let deadline = ContinuousClock.now + .seconds(60)
        repeat {
            measured = MonitoringChecks.value(try await MonitoringChecks.get("http://127.0.0.1:\(run.httpPorts["quorum-monitor"]!)/metrics"), barToOrder)
            if measured == Double(approvals) { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        #expect(measured == Double(approvals), "the monitor measured bar → order for \(measured ?? -1) of \(approvals) approvals")
    }

    /// Every log of the runs whose prefix starts with one of `prefixes`, searched for the Postgres password and the
    /// Redis password (when its URL has one). Returns the files and bytes read and, for each hit, the file and which
    /// secret (never the secret itself).
    static func secretsInLogs(_ env: Env, prefixes: [String]) throws -> (files: Int, bytes: Int, hits: [String]) {
        var secrets: [(name: String, value: String)] = []
        for (name, url) in [("postgres password", env.postgres), ("redis password", env.redis)] {
            if let password = URLComponents(string: url)?.password, password.count >= 4 { secrets.append((name, password)) }
        }
        #expect(!secrets.isEmpty, "the test Postgres has a password to look for")
        var files = 0, bytes = 0
        var hits: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: env.work).sorted()
        where name.hasSuffix(".log") && prefixes.contains(where: { name.hasPrefix($0) }) {
            let text = try String(contentsOfFile: "\(env.work)/\(name)", encoding: .utf8)
            files += 1
            bytes += text.utf8.count
            for secret in secrets where text.contains(secret.value) { hits.append("\(name): \(secret.name)") }
        }
        return (files, bytes, hits)
    }
}

struct ClusterTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Deterministic OHLC rows (a random walk with waves), rounded to cents.
enum FixtureBars {
    static func make(count: Int, seed: UInt64, startPrice: Double) -> [(Double, Double, Double, Double)] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        func cents(_ v: Double) -> Double { (v * 100).rounded() / 100 }
        var price = startPrice
        var out: [(Double, Double, Double, Double)] = []
        for i in 0..<count {
            let r = (uniform() - 0.5) * 0.02 + 0.004 * sin(Double(i) / 40.0)
            let open = cents(price)
            let close = cents(max(1, price * (1 + r)))
            let high = cents(max(open, close) * (1 + uniform() * 0.003))
            let low = cents(min(open, close) * (1 - uniform() * 0.003))
            out.append((open, max(high, open, close), min(low, open, close), close))
            price = close
        }
        return out
    }
}
