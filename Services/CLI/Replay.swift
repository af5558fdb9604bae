import ArgumentParser
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

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a time range into a prefixed set of topics (and run a pipeline on it), reset a consumer group to a time, or print digests.",
        discussion: """
        quorum replay --topic md.bars --from T1 --to T2 --prefix replay-7 [--run]
            copies the records of [T1, T2) (event time) of the live run (or of --topic.prefix) into replay-7.<topic>;
            with --run, starts features, inference, consensus, risk and execution on the prefix (own Redis keys and
            Postgres schema replay_7, the source run's active models),
            waits until they are idle, prints digests of decisions, orders and fills, and stops them.
        quorum replay --group quorum-risk --to-time T
            sets the group's committed offsets (all its input topics) to the first record at or after T; stop the
            service first, it re-reads from there when started.
        quorum replay --digest --prefix replay-7
            prints the digests of a prefix's decisions, orders and execution reports (equal digests = identical records).
        """)
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @Option(help: "Topic to copy, e.g. md.bars (short or full name).") var topic: String?
    @Option(help: "Start of the range (event time, inclusive).") var from: String?
    @Option(help: "End of the range (event time, exclusive).") var to: String?
    @Option(name: .customLong("prefix"), help: "Prefix of the replay's topics, e.g. replay-7.") var replayPrefix: String?
    @Flag(help: "Run features → execution on the prefix until idle, then print digests.") var run = false
    @Option(help: "Consumer group to reset (e.g. quorum-risk).") var group: String?
    @Option(name: .customLong("to-time"), help: "Time the group is reset to.") var toTime: String?
    @Option(help: "Why the group is reset (required with --group; recorded in the operator audit).") var reason: String?
    @Option(help: "Who resets it, for the operator audit (default: the OS user: $USER, else the account name).")
    var actor: String = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
    @Flag(help: "Only print the digests of --prefix.") var digest = false
    @Option(help: "Folder of the service binaries (default: next to this executable).") var bin: String?
    @Option(help: "Folder for the replay's logs.") var logs: String = ".cluster/replays"
    @Option(help: "Seconds without progress after which --run stops waiting.") var idleSeconds: Int = 8

    func run() async throws {
        if let group {
            guard let toTime else { throw ValidationError("--group needs --to-time") }
            guard let reason else { throw ValidationError("--group needs --reason (why; recorded in the operator audit)") }
            let time = try parseTime(toTime, option: "--to-time")
            let (broker, stores) = (self.broker, self.stores)
            let request = OperatorRequest(actor: actor, reason: reason, origin: "cli")
            try await stores.withOperatorActions(broker) { actions in
                try await actions.audited("replay_group_reset", target: "\(group) to \(isoTime(time))", request) {
                    try await Self.resetGroup(group, to: time, broker: broker, stores: stores)
                }
            }
            return
        }
        guard let replayPrefix else { throw ValidationError("say --prefix (e.g. replay-7), or --group with --to-time") }
        let namer = try TopicNamer(prefix: replayPrefix)
        let bus = try broker.bus()
        try await bus.checkConnection()
        if digest {
            try await printDigests(bus: bus, namer: namer)
            return
        }
        guard let topic, let from, let to else { throw ValidationError("say --topic, --from and --to (or --digest, or --group)") }
        guard let spec = Topic.all.first(where: { $0.name == topic || $0.name == "quorum.v1." + topic }) else {
            throw ValidationError("unknown topic '\(topic)'; one of: \(Topic.all.map { String($0.name.dropFirst(10)) }.joined(separator: ", "))")
        }
        let (fromNs, toNs) = (try parseTime(from, option: "--from"), try parseTime(to, option: "--to"))
        guard fromNs < toNs else { throw ValidationError("--from must be before --to") }
        try await bus.createTopics(namer.specsWithNames())
        let source = try TopicNamer(prefix: broker.prefix)
        let symbols = try await copy(spec, bus: bus, from: source, to: namer, fromNs: fromNs, toNs: toNs)
        guard run else { return }
        // The replay scores with the source run's active models.
        let modelled = try await PrefixPipeline.pinModels(stores, from: broker.prefix, to: replayPrefix)
        try await runPipeline(bus: bus, namer: namer, symbols: symbols.filter { modelled.contains($0) })
        try await printDigests(bus: bus, namer: namer)
    }

    /// Copies [from, to) of `spec` from the source run (`--topic.prefix`, live by default) into the replay's topic;
    /// returns the symbols (keys) seen.
    func copy(_ spec: TopicSpec, bus: KafkaBus, from sourceNamer: TopicNamer, to namer: TopicNamer, fromNs: Nanos, toNs: Nanos) async throws -> [String] {
        let source = sourceNamer.name(spec)
        let target = namer.name(spec)
        let marks = try await bus.watermarks(topic: source)
        let start = try await bus.offsetsForTimes(topic: source, timestampMs: fromNs / 1_000_000)
        let total = marks.reduce(Int64(0)) { $0 + max(0, $1.value.high - (start[$1.key] ?? $1.value.low)) }
        print("copying \(source) [\(isoTime(fromNs)), \(isoTime(toNs))) → \(target) (scanning \(total) records)")
        let consumer = try bus.makeConsumer(group: "quorum-replay-copy-\(wallClockNanos())", topics: [source], clientID: "quorum-cli-replay",
                                            startAt: .earliest)
        let producer = try bus.makeProducer(clientID: "quorum-cli-replay")
        var remaining = Set(marks.filter { $0.value.high > $0.value.low }.keys)
        var batch: [OutgoingMessage] = []
        var copied = 0
        var keys: Set<String> = []
        var progress = ProgressLine(total: Int(total), label: "replay: records scanned")
        var scanned = 0
        while !remaining.isEmpty, let m = try await consumer.next() {
            scanned += 1
            progress.update(scanned)
            if m.offset >= (marks[m.partition]?.high ?? 0) - 1 { remaining.remove(m.partition) }
            guard let ts = m.timestampMs, ts * 1_000_000 >= fromNs, ts * 1_000_000 < toNs else { continue }
            batch.append(OutgoingMessage(topic: target, key: m.key, value: m.value, headers: m.headers, timestampMs: m.timestampMs))
            keys.insert(m.keyString)
            if batch.count >= 5_000 {
                _ = try await producer.send(batch)
                copied += batch.count
                batch = []
            }
        }
        progress.finish()
        if !batch.isEmpty { _ = try await producer.send(batch); copied += batch.count }
        await consumer.close()
        await producer.close()
        print("copied \(copied) records (keys: \(keys.sorted().joined(separator: ",")))")
        return keys.sorted()
    }

    /// Rewinds `group`'s offsets to `time` and deletes its checkpoint; prints each step and returns a summary (audited).
    static func resetGroup(_ group: String, to time: Nanos, broker: BrokerOptions, stores: StoreOptions) async throws -> String {
        guard let specs = ServiceGroups.topics(ofGroup: group) else {
            throw ValidationError("unknown group '\(group)'; one of: \(ServiceGroups.inputs.map(\.0).joined(separator: ", "))")
        }
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        for spec in specs {
            let topic = namer.name(spec)
            let before = try await bus.committedOffsets(group: namer.group(group), topic: topic)
            let offsets = try await bus.offsetsForTimes(topic: topic, timestampMs: time / 1_000_000)
            do {
                try await bus.setCommittedOffsets(group: namer.group(group), topic: topic, offsets: offsets)
            } catch let error as BusError {
                throw ValidationError("\(error.description) — is \(group) still running? Stop it first (scripts/cluster kill …).")
            }
            let moved = offsets.keys.sorted().map { "p\($0): \(before[$0].map(String.init) ?? "-") → \(offsets[$0]!)" }.joined(separator: ", ")
            print("\(group) on \(topic): \(moved)")
        }
        // The group's checkpoint covers records after the new offsets: without it the restarted stage rebuilds its state from
        // its inputs' beginning up to the new offsets, and re-reads from there.
        let stageGroup = namer.group(group)
        let deleted = try await stores.withStore(prefix: broker.prefix, { try await StageCheckpoints(store: $0).delete(group: stageGroup) })
        if deleted { print("\(group): its state checkpoint is deleted") }
        print("restart \(group) to re-read from \(isoTime(time)); a restarted stage rebuilds its state from its inputs first")
        return "\(group) rewound to \(isoTime(time)) on \(specs.count) topics" + (deleted ? ", its checkpoint deleted" : "")
    }

    func printDigests(bus: KafkaBus, namer: TopicNamer) async throws {
        for spec in RecordDigest.ledgerTopics {
            let values = try await bus.readAll(topic: namer.name(spec), clientID: "quorum-cli-digest").map(\.value)
            print(RecordDigest.line(spec, try RecordDigest.digest(valueType: spec.valueType, values: values)))
        }
    }

    /// Starts the replay stages on the prefix, waits until no group has lag and nothing moved for `idleSeconds`.
    func runPipeline(bus: KafkaBus, namer: TopicNamer, symbols: [String]) async throws {
        let children = try PrefixPipeline.spawn(bin: bin, logs: logs, prefix: namer.prefix, brokers: broker.brokers,
                                                postgresURL: stores.postgresURL, symbols: symbols)
        defer { PrefixPipeline.stop(children) }
        try await waitUntilIdle(bus: bus, namer: namer, groups: ServiceGroups.replayStages, idleSeconds: idleSeconds, timeoutSeconds: 1800) {
            try PrefixPipeline.checkRunning(children)
        }
    }
}

/// The stages features → execution as child processes on a topic prefix (replays and the pipeline benchmark).
enum PrefixPipeline {
    /// `bin`: folder of the service binaries; nil = the folder of this executable.
    /// URLs that may hold a password (Postgres, Redis) reach the children through their environment, never argv
    /// (which every user can read in `ps` or /proc/PID/cmdline).
    /// `extra`: further arguments for every stage (e.g. `--kafka.fetch.wait.max.ms 1`).
    static func spawn(bin: String?, logs: String, prefix: String, brokers: String, postgresURL: String,
                      symbols: [String], extra: [String] = []) throws -> [ChildProcess] {
        let binDir = bin ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let logDir = "\(logs)/\(prefix)"
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        var secrets = [CommonKeys.postgresURL.environmentVariable: postgresURL]
        if let redis = ProcessInfo.processInfo.environment[CommonKeys.redisURL.environmentVariable] {
            secrets[CommonKeys.redisURL.environmentVariable] = redis
        }
        var children: [ChildProcess] = []
        do {
            for stage in ServiceGroups.replayStages {
                var args = ["--topic.prefix", prefix, "--http.port", "0", "--service.instance", "\(prefix)-\(stage)",
                            "--kafka.brokers", brokers, "--log.format", "json"] + extra
                // Strict event-time order: wait for every symbol that has a model, and do not give up on a slow one.
                if stage == "quorum-risk" { args += ["--risk.symbols", symbols.joined(separator: ","), "--risk.merge.idle.timeout", "120s"] }
                children.append(try ChildProcess.spawn("\(binDir)/\(stage)", args, log: "\(logDir)/\(stage).log", environment: secrets))
            }
        } catch {
            stop(children)
            throw error
        }
        print("running \(ServiceGroups.replayStages.count) stages on prefix \(prefix) (logs in \(logDir))")
        return children
    }

    /// Throws naming the first stage that is no longer running.
    static func checkRunning(_ children: [ChildProcess]) throws {
        for c in children where !c.isRunning { throw ValidationError("\(c.path) exited early; see \(c.log)") }
    }

    static func stop(_ children: [ChildProcess]) {
        for c in children { c.terminate() }
        for c in children { c.wait() }
    }

    /// Copies the source run's active models into the prefix's schema; returns their symbols.
    static func pinModels(_ stores: StoreOptions, from sourcePrefix: String, to prefix: String) async throws -> [String] {
        try await stores.withStore(prefix: prefix) { store in
            let schema = PostgresConfiguration.schema(forTopicPrefix: prefix)!
            let sourceSchema = PostgresConfiguration.schema(forTopicPrefix: sourcePrefix) ?? "public"
            let registry = ModelRegistry(store: store)
            let copied = try await registry.copyActive(fromSchema: sourceSchema)
            print("pinned \(copied) active models of schema \(sourceSchema) into schema \(schema)")
            return try await registry.activeModels().map(\.symbol.name)
        }
    }

    /// Waits until every stage logged its first partition assignment (its consumer group is formed).
    static func waitUntilJoined(_ children: [ChildProcess], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let joined = children.filter { c in
                // Harmless: a log not written yet means "not joined yet"; a stage that died is caught by checkRunning.
                ((try? String(contentsOfFile: c.log, encoding: .utf8)) ?? "").contains("partitions assigned")
            }
            if joined.count == children.count { return }
            try checkRunning(children)
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ValidationError("the stages did not join their consumer groups within \(timeout); see their logs")
    }
}
