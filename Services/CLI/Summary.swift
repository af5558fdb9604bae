import ArgumentParser
import Foundation
import Logging
import QuorumBus
import QuorumExecution
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumRedis
import QuorumServiceKit
import QuorumServices
import QuorumStores

/// `quorum summary`: what the cluster did, from the records themselves (topics, Postgres) and the monitor's latency.
struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what the pipeline did (messages per stage, orders, fills, PnL, Sharpe, drawdown, models, latency); --json writes the same as JSON.")
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @Option(name: .customLong("redis.url"),
            help: "Redis URL of the run's hot state, where execution and risk store their live book and exposure for the ledger check (default: $QUORUM_REDIS_URL, else \(CommonKeys.redisURL.defaultValue)); prefer the variable, argv is visible to every user.")
    var redisURLOption: String?
    @Option(help: "The monitor's /status.json saved to a file (e.g. curl -s http://127.0.0.1:18188/status.json > m.json), for latency.")
    var monitorJSON: String?
    @Option(help: "Also write the summary as JSON to this file.") var json: String?
    @Option(help: "Elapsed seconds to report (the demo passes its own).") var elapsed: Double?
    @Option(help: "Starting cash of the paper account.") var startingCash: String = "100000"

    struct Report: Codable {
        var messages: [String: Int64] = [:]
        var deadLetters: [String: Int64] = [:]
        var orders = 0
        var ordersByStatus: [String: Int] = [:]
        var fills = 0
        var denials = 0
        var denialsByReason: [String: Int] = [:]
        var positions: [String: String] = [:]
        var pnl = "0"
        var fees = "0"
        var totalReturnPercent = 0.0
        var sharpe: Double?
        var maxDrawdown = "0"
        var maxDrawdownPercent = 0.0
        var trades = 0
        var winRate: Double?
        var models = 0
        var modelsByStatus: [String: Int] = [:]
        var trainingRuns = 0
        var ledgerProblems: [String] = []
        /// Where the running stages' state (execution's book, risk's exposure) differs from the Postgres ledger.
        var liveStateDifferences: [String] = []
        /// Why the live stages were not compared (e.g. Redis unreachable), or nil.
        var liveStateNotChecked: String?
        var stageLatencyMs: [String: [String: Double]] = [:]
        var barToMessageLatencyMs: [String: [String: Double]] = [:]
        var elapsedSeconds: Double?
    }

    func run() async throws {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        var report = Report()
        for spec in Topic.all {
            report.messages[String(spec.name.dropFirst(10))] = try await bus.watermarks(topic: namer.name(spec)).values.reduce(0) { $0 + $1.high - $1.low }
            let dlq = try await bus.watermarks(topic: namer.deadLetterName(spec)).values.reduce(0) { $0 + $1.high - $1.low }
            if dlq > 0 { report.deadLetters[String(spec.name.dropFirst(10))] = dlq }
        }
        guard let cash = Fixed(startingCash) else { throw ValidationError("--starting-cash '\(startingCash)' is not a decimal") }
        report = try await stores.withStore(prefix: broker.prefix) { [report] store in
            var report = report
            let ledgerStore = ExecutionLedgerStore(store: store)
            let orders = try await ledgerStore.orders()
            report.orders = orders.count
            for o in orders { report.ordersByStatus[o.status.rawValue, default: 0] += 1 }
            let fills = try await ledgerStore.fills().sorted { ($0.time, $0.fillID) < ($1.time, $1.fillID) }
            report.fills = fills.count
            let denials = try await ledgerStore.denials()
            report.denials = denials.count
            for d in denials { report.denialsByReason[d.reasonCode, default: 0] += 1 }
            for p in try await ledgerStore.positions() where !p.quantity.isZero { report.positions[p.symbol.name] = p.quantity.description }
            report.ledgerProblems = try await ledgerStore.verifyLedger()
            do {
                report.liveStateDifferences = try await LiveState.differences(redisURL: redisURL, prefix: broker.prefix, fills: fills,
                                                                              openOrders: LiveState.openOrders(orders, fills: fills))
            } catch {
                report.liveStateNotChecked = "\(error)"
            }
            let models = try await ModelRegistry(store: store).list()
            report.models = models.count
            for m in models { report.modelsByStatus[m.status.rawValue, default: 0] += 1 }
            report.trainingRuns = try await TrainingRuns(store: store).count()

            // Equity curve: from the first fill on, marked to market once per bar close time (EquityCurve).
            if let first = fills.first {
                let archive = BarArchive(store: store)
                var bars: [Bar] = []
                for symbol in Set(fills.map(\.symbol)) {
                    guard let interval = try await archive.intervals(symbol: symbol).first,
                          let range = try await archive.range(symbol: symbol, intervalSeconds: interval) else { continue }
                    bars += try await archive.bars(symbol: symbol, intervalSeconds: interval, fromOpenNs: first.time, toOpenNs: range.last)
                }
                let curve = EquityCurve(fills: fills, bars: bars, startingCash: cash)
                let stats = PerformanceStats(curve: curve)
                let ledger = curve.ledger
                let marks = curve.marks
                report.pnl = (ledger.equity(marks: marks) - cash).description
                report.fees = ledger.fees.description
                report.totalReturnPercent = stats.totalReturn * 100
                report.sharpe = stats.sharpe
                report.maxDrawdown = stats.maxDrawdown.description
                report.maxDrawdownPercent = stats.maxDrawdownPercent * 100
                report.trades = stats.tradeCount
                report.winRate = stats.winRate
            }
            return report
        }
        if let monitorJSON {
            guard let data = FileManager.default.contents(atPath: monitorJSON) else {
                throw ValidationError("\(monitorJSON) cannot be read")
            }
            let snapshot: MonitorSnapshot
            do {
                let decoder = JSONDecoder()
                decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                snapshot = try decoder.decode(MonitorSnapshot.self, from: data)
            } catch {
                throw ValidationError("\(monitorJSON) is not the monitor's /status.json: \(error)")
            }
            report.stageLatencyMs = snapshot.stageLatency.mapValues { ["count": Double($0.count), "p50": $0.p50Ms, "p99": $0.p99Ms] }
            report.barToMessageLatencyMs = snapshot.endToEndLatency.mapValues { ["count": Double($0.count), "p50": $0.p50Ms, "p99": $0.p99Ms] }
        }
        report.elapsedSeconds = elapsed
        print(Self.text(report))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            print("summary written to \(json)")
        }
    }

    /// The ledger check's line: the Postgres ledger's own consistency, then the live stages against it.
    static func ledgerCheck(_ r: Report) -> String {
        var parts: [String] = []
        parts.append(r.ledgerProblems.isEmpty ? "orders, fills and positions agree" : r.ledgerProblems.joined(separator: "; "))
        if let reason = r.liveStateNotChecked {
            parts.append("the live stages were not compared (\(reason))")
        } else if r.liveStateDifferences.isEmpty {
            parts.append("execution's live book and risk's exposure agree with them")
        } else {
            parts.append("the live stages' state differs from the ledger: " + r.liveStateDifferences.joined(separator: "; "))
        }
        return parts.joined(separator: "; ")
    }

    /// The Redis URL: `--redis.url`, else `$QUORUM_REDIS_URL`, else the local default.
    var redisURL: String {
        redisURLOption ?? ProcessInfo.processInfo.environment[CommonKeys.redisURL.environmentVariable] ?? CommonKeys.redisURL.defaultValue
    }

    static func text(_ r: Report) -> String {
        func n(_ key: String) -> String { String(r.messages[key] ?? 0) }
        var lines = [
            "Quorum run summary",
            "  bars \(n("md.bars")) (rejected rows in md.bars.dlq: \(r.deadLetters["md.bars"] ?? 0)) → feature vectors \(n("features")) → predictions \(n("predictions"))",
            "  signals \(n("signals")) → decisions \(n("decisions")) → approved \(n("orders.approved")), denied \(n("orders.denied")) → execution reports \(n("execution.reports"))",
            "  orders \(r.orders) \(r.ordersByStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")), fills \(r.fills), denials \(r.denials) \(r.denialsByReason.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            "  PnL \(r.pnl) (\(String(format: "%+.2f", r.totalReturnPercent)) %), fees \(r.fees), Sharpe \(r.sharpe.map { String(format: "%.2f", $0) } ?? "n/a"), max drawdown \(r.maxDrawdown) (\(String(format: "%.2f", r.maxDrawdownPercent)) %), closing trades \(r.trades), win rate \(r.winRate.map { String(format: "%.1f %%", $0 * 100) } ?? "n/a")",
            "  open positions: \(r.positions.isEmpty ? "none" : r.positions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))",
            "  models \(r.models) \(r.modelsByStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")), training runs \(r.trainingRuns), training jobs \(n("training.jobs"))",
            "  ledger check: \(ledgerCheck(r))",
        ]
        if !r.stageLatencyMs.isEmpty {
            lines.append("  latency per stage (ms, p50/p99): " + r.stageLatencyMs.sorted { $0.key < $1.key }.map {
                "\($0.key.replacingOccurrences(of: "quorum-", with: "")) \(String(format: "%.1f/%.1f", $0.value["p50"] ?? 0, $0.value["p99"] ?? 0))"
            }.joined(separator: ", "))
            lines.append("  bar → message (ms, p50/p99): " + r.barToMessageLatencyMs.sorted { $0.key < $1.key }.map {
                "\($0.key) \(String(format: "%.1f/%.1f", $0.value["p50"] ?? 0, $0.value["p99"] ?? 0))"
            }.joined(separator: ", "))
        }
        if let e = r.elapsedSeconds { lines.append("  elapsed \(Int(e)) s") }
        return lines.joined(separator: "\n")
    }
}

struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, stop or show the local cluster (runs scripts/cluster of the repository you are in).")
    @Argument(help: "up, down, status, restart INSTANCE, kill INSTANCE or start INSTANCE, then options of scripts/cluster.")
    var arguments: [String]

    func run() throws {
        var dir = FileManager.default.currentDirectoryPath
        while !FileManager.default.isExecutableFile(atPath: dir + "/scripts/cluster") {
            let parent = (dir as NSString).deletingLastPathComponent
            guard parent != dir else { throw ValidationError("scripts/cluster not found here or above: run quorum cluster from the Quorum repository") }
            dir = parent
        }
        let script = dir + "/scripts/cluster"
        let argv = ([script] + arguments).map { strdup($0) } + [nil]
        execv(script, argv)
        throw ValidationError("cannot run \(script): \(String(cString: strerror(errno)))")
    }
}

/// Waits until the pipeline on a prefix is idle: no consumer group of the given stages has lag, and no topic grew,
/// for `idleSeconds`. Progress goes to stderr.
func waitUntilIdle(bus: KafkaBus, namer: TopicNamer, groups: [String], idleSeconds: Int, timeoutSeconds: Int,
                   check: () throws -> Void = {}) async throws {
    let started = ContinuousClock.now
    var lastProgress = ContinuousClock.now
    var lastTotal: Int64 = -1
    while ContinuousClock.now - lastProgress < .seconds(idleSeconds) {
        guard ContinuousClock.now - started < .seconds(timeoutSeconds) else {
            FileHandle.standardError.write(Data("\n".utf8))
            throw ValidationError("the pipeline did not become idle within \(timeoutSeconds) s; see scripts/cluster status and the logs")
        }
        try await Task.sleep(for: .seconds(1))
        try check()
        var total: Int64 = 0
        var lag: Int64 = 0
        do {
            // Every topic's ends in one read (on the durable broker each read of an idle partition's end waits a fetch out).
            let ends = try await bus.watermarks(topics: Topic.all.map { namer.name($0) })
            total = ends.values.reduce(0) { sum, marks in marks.values.reduce(sum) { $0 + $1.high } }
            for (group, specs) in ServiceGroups.inputs where groups.contains(group) {
                for spec in specs {
                    lag += try await bus.lag(group: namer.group(group), topic: namer.name(spec), marks: ends[namer.name(spec)])
                }
            }
        } catch let error as BusError where error.isRetriable {
            // A read that timed out says nothing about idleness (the durable broker answers slowly while the stages write):
            // not idle yet; read again (the overall timeout still holds).
            lastProgress = .now
            let elapsed = Int((ContinuousClock.now - started).components.seconds)
            FileHandle.standardError.write(Data("\r  \(elapsed) s: \(error.message); reading again        ".utf8))
            continue
        }
        if total != lastTotal || lag > 0 { lastProgress = .now }
        lastTotal = total
        let elapsed = Int((ContinuousClock.now - started).components.seconds)
        FileHandle.standardError.write(Data("\r  \(elapsed) s: records \(total), consumer lag \(lag)        ".utf8))
    }
    FileHandle.standardError.write(Data("\n".utf8))
}

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until every stage has consumed everything (no consumer lag, no topic growing for --idle seconds).")
    @OptionGroup var broker: BrokerOptions
    @Option(help: "Seconds without any change that count as idle.") var idle: Int = 8
    @Option(help: "Give up after this many seconds.") var timeout: Int = 900
    @Option(help: "Consumer groups to wait for, comma-separated (default: every stage, monitor included).") var groups: String?

    func run() async throws {
        let known = ServiceGroups.inputs.map(\.0)
        let chosen = groups.map { $0.split(separator: ",").map(String.init) } ?? known
        if let unknown = chosen.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown group '\(unknown)'; one of: \(known.joined(separator: ", "))")
        }
        let bus = try broker.bus()
        try await bus.checkConnection()
        try await waitUntilIdle(bus: bus, namer: try TopicNamer(prefix: broker.prefix), groups: chosen,
                                idleSeconds: idle, timeoutSeconds: timeout)
    }
}

/// Reads what the running stages stored in the hot state and compares it with the ledger (`LiveStateCheck`).
enum LiveState {
    /// The signed quantity of the orders not final yet (new or accepted), less what they filled, per symbol.
    static func openOrders(_ orders: [OrderRecord], fills: [Fill]) -> [Symbol: Fixed] {
        var filled: [String: Fixed] = [:]
        for fill in fills { filled[fill.clientOrderID, default: .zero] += fill.quantity }
        var open: [Symbol: Fixed] = [:]
        for order in orders where order.status.rank < 2 {
            let remaining = order.quantity - (filled[order.clientOrderID] ?? .zero)
            open[order.symbol, default: .zero] += order.side == .buy ? remaining : -remaining
        }
        return open
    }

    static func differences(redisURL: String, prefix: String, fills: [Fill], openOrders: [Symbol: Fixed]) async throws -> [String] {
        var logger = Logger(label: "quorum")
        logger.logLevel = .warning
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL, keyPrefix: RedisConfiguration.keyPrefix(forTopicPrefix: prefix)),
                                 logger: logger)
        let state = RedisHotState(client: client)
        let stored: (startingCash: String, cash: String, positions: [String: String])?
        let exposures: [String: String]
        do {
            stored = try await state.executionBook()
            exposures = try await state.exposures()
            await client.close()
        } catch {
            await client.close()
            throw error
        }
        func amount(_ text: String, _ what: String) throws -> Fixed {
            guard let value = Fixed(text) else { throw ValidationError("\(what) in Redis is not a decimal: '\(text)'") }
            return value
        }
        let book = try stored.map { stored in
            LiveStateCheck.Book(startingCash: try amount(stored.startingCash, "execution's starting cash"), cash: try amount(stored.cash, "execution's cash"),
                                positions: Dictionary(uniqueKeysWithValues: try stored.positions.map { (Symbol($0.key), try amount($0.value, "execution's position of \($0.key)")) }))
        }
        let risk = Dictionary(uniqueKeysWithValues: try exposures.map { (Symbol($0.key), try amount($0.value, "risk's exposure of \($0.key)")) })
        return LiveStateCheck.differences(fills: fills, openOrders: openOrders, book: book, exposures: risk)
    }
}
