import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPipeline
import QuorumServiceKit
import QuorumStores
import Testing

/// Broker restarts on a broker of the test's own (`TestBroker`) with memory storage (the durable storage of the local
/// cluster keeps topics across a restart: `DurableBrokerIntegrationTests`), so a restart loses every topic and committed offset, and the topics come back (re-created, or auto-created by a producer's
/// metadata request) with new topic ids.
@Suite("BrokerRestartIntegrationTests", .serialized, .timeLimit(.minutes(20)))
struct BrokerRestartIntegrationTests {
    static let topicCount = 24
    static let restarts = 3

    /// Regression test of the crashes seen during a broker restart (silent SIGSEGV exits of execution and others, glibc
    /// "corrupted double-linked list" in consensus): two librdkafka 2.8.0 bugs, fixed by
    /// scripts/patches/librdkafka-2.8.0-broker-restart.patch (scripts/bootstrap builds librdkafka with it). Without the
    /// patch the child process dies of SIGSEGV in librdkafka's main thread at the first restart.
    @Test("the Kafka clients of a process survive broker restarts whose topics come back with new topic ids")
    func clientsSurviveRestarts() async throws {
        let work = Self.workFolder(testProcess: getpid())
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // A crashed child cannot stop its broker.
        defer { TestBroker.stopLeftover(folder: work + "/broker") }
        // In a child process: the failure this guards against is a crash that would take the test run down with it.
        await #expect(processExitsWith: .success) {
            try await Self.restartUnderClients(work: Self.workFolder(testProcess: getppid()))
        }
    }

    /// The stage services of `ClusterIntegrationTests.Run.startPipeline`, by instance name.
    static let stages = ["quorum-features", "trainer-1", "trainer-2", "quorum-inference", "quorum-consensus", "quorum-risk", "quorum-execution"]

    /// The whole pipeline as processes on a broker of the test's own; the broker restarts (losing every topic and committed
    /// offset) while the cluster is idle between two parts of the live bars. With no manual step, the services re-create
    /// the topics, replace their producers, rejoin their groups and trade the second part; no process exits, and the live
    /// stages still agree with the Postgres ledger. Then execution is killed and restarted: it restores its
    /// state checkpoint (Postgres), so its book still agrees with the ledger although the topics lost their history.
    @Test("the cluster recovers from a broker restart by itself; execution restarted afterwards restores its checkpoint and agrees with the ledger")
    func clusterRecovers() async throws {
        let shared = try ClusterIntegrationTests.environment()
        let broker = try await TestBroker(folder: shared.work + "/restart-broker")
        defer { broker.stop() }
        let env = ClusterIntegrationTests.Env(brokers: broker.address, redis: shared.redis, postgres: shared.postgres, bin: shared.bin,
                                              work: shared.work)
        let fixture = try ClusterIntegrationTests.writeFixture(env)
        let (firstLive, secondLive) = try Self.splitInTwo(fixture.live)
        let prefix = "br\(wallClockNanos() % 1_000_000_000)"
        let namer = try TopicNamer(prefix: prefix)
        let run = ClusterIntegrationTests.Run(env: env, prefix: prefix)
        for name in Self.stages { run.httpPorts[name] = try freeLoopbackPort() }
        defer { run.stopAll() }
        let groups = ClusterIntegrationTests.pipelineGroups

        try run.startPipeline()
        try await run.cli(["ingest"] + fixture.history)
        try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", groups])
        try await run.cli(["train", "--until", fixture.split, "--train-days", "8", "--validation-days", "3", "--wait", "--timeout", "300"])
        try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", groups])
        try await ClusterIntegrationTests.waitForServedModels(env, prefix: prefix)
        try await run.cli(["ingest"] + firstLive)
        try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", groups])
        let fillsBefore = try await Self.fillCount(env, prefix: prefix)
        #expect(fillsBefore >= 1, "the first part of the live bars should trade")
        try await Self.waitUntilReady(run, names: Self.stages, limit: .seconds(60))

        // The restart. A watcher samples every stage's readiness meanwhile.
        let watcher = ReadinessWatcher(ports: run.httpPorts)
        let restarted = ContinuousClock.now
        try await broker.restart()
        // Nobody but the services re-creates the topics (the test's bus does not create any).
        let bus = try ClusterIntegrationTests.bus(env)
        let bars = namer.name(Topic.bars)
        while (try? await bus.topicPartitionCounts())?[bars] == nil {  // the broker may not answer yet: asked again
            guard ContinuousClock.now - restarted < .seconds(120) else { throw ClusterTestError("no service re-created \(bars) within 120 s") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let topicsBack = ContinuousClock.now - restarted
        try await Self.waitUntilReady(run, names: Self.stages, limit: .seconds(180))
        let readyAgain = ContinuousClock.now - restarted
        try await run.cli(["ingest"] + secondLive)
        let reports = namer.name(Topic.executionReports)
        while try await ClusterIntegrationTests.count(bus, reports) == 0 {
            guard ContinuousClock.now - restarted < .seconds(300) else { throw ClusterTestError("no execution report for the bars after the restart within 300 s") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let flowing = ContinuousClock.now - restarted
        try await run.cli(["wait", "--idle", "3", "--timeout", "300", "--groups", groups])
        let unready = watcher.stop()
        let seen = unready.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: " | ")
        print("broker restart: topics re-created after \(Self.seconds(topicsBack)) s, every stage ready again after \(Self.seconds(readyAgain)) s, "
              + "first execution report of the new bars after \(Self.seconds(flowing)) s; readiness seen failing: \(seen)")
        for (name, child) in run.children { #expect(child.isRunning, "\(name) exited after the broker restart (see \(env.work)/\(prefix)-\(name).log)") }
        #expect(try await Self.fillCount(env, prefix: prefix) > fillsBefore, "the bars after the restart should trade too")
        let summary = try await run.cli(["summary"])
        #expect(summary.contains("ledger check: orders, fills and positions agree; execution's live book and risk's exposure agree with them"),
                "\(summary)")

        // Execution restarted now restores its checkpoint (Postgres): its book does not depend on the topics, which hold
        // only what came after the broker restart, and still agrees with the ledger.
        run.children["quorum-execution"]!.kill9()
        run.children["quorum-execution"]!.wait()
        try run.restart("quorum-execution")
        try await Self.waitUntilReady(run, names: ["quorum-execution"], limit: .seconds(120))
        let after = try await run.cli(["summary"])
        #expect(after.contains("ledger check: orders, fills and positions agree; execution's live book and risk's exposure agree with them"),
                "\(after)")
    }

    /// Each live file cut in two at its middle row (both with the header); the bad rows stay in the second part.
    static func splitInTwo(_ files: [String]) throws -> (first: [String], second: [String]) {
        var first: [String] = []
        var second: [String] = []
        for file in files {
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
            let middle = 1 + (lines.count - 1) / 2
            let a = file.replacingOccurrences(of: ".csv", with: "_1.csv")
            let b = file.replacingOccurrences(of: ".csv", with: "_2.csv")
            try ((lines[..<middle]).joined(separator: "\n") + "\n").write(toFile: a, atomically: true, encoding: .utf8)
            try (([lines[0]] + lines[middle...]).joined(separator: "\n") + "\n").write(toFile: b, atomically: true, encoding: .utf8)
            first.append(a)
            second.append(b)
        }
        return (first, second)
    }

    static func fillCount(_ env: ClusterIntegrationTests.Env, prefix: String) async throws -> Int {
        try await ClusterIntegrationTests.withStore(env, prefix: prefix) { try await ExecutionLedgerStore(store: $0).fills().count }
    }

    static func seconds(_ d: Duration) -> String { String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }

    /// Waits until every named instance answers `/health/ready` with 200, or fails with the last answers.
    static func waitUntilReady(_ run: ClusterIntegrationTests.Run, names: [String], limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            var failing: [String] = []
            for name in names {
                let answer = HTTPProbe.get(port: run.httpPorts[name]!, path: "/health/ready")
                if answer?.status != 200 { failing.append("\(name): \(answer.map { "\($0.status) \($0.body)" } ?? "no answer")") }
            }
            if failing.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw ClusterTestError("not ready within \(limit): \(failing.joined(separator: "; "))")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Samples every stage's readiness every 250 ms on a thread of its own (the probes block) until `stop`; `seen` holds,
    /// per instance, the first failing answer.
    final class ReadinessWatcher: @unchecked Sendable {
        // @unchecked: `seen` and `stopped` are only touched under `lock`.
        private let lock = NSLock()
        private var seen: [String: String] = [:]
        private var stopped = false
        private let done = DispatchSemaphore(value: 0)

        init(ports: [String: Int]) {
            Thread.detachNewThread { [self] in
                while !self.lock.withLock({ self.stopped }) {
                    for (name, port) in ports where self.lock.withLock({ self.seen[name] == nil }) {
                        let answer = HTTPProbe.get(port: port, path: "/health/ready")
                        let failure = answer == nil ? "no answer" : answer!.status != 200 ? "\(answer!.status) \(answer!.body.prefix(300))" : nil
                        if let failure { self.lock.withLock { self.seen[name] = failure } }
                    }
                    usleep(250_000)
                }
                self.done.signal()
            }
        }

        /// Stops sampling; returns what was seen.
        func stop() -> [String: String] {
            lock.withLock { stopped = true }
            done.wait()
            return lock.withLock { seen }
        }
    }

    /// The folder of one test process's broker-restart runs (logs, the broker's pid).
    static func workFolder(testProcess: pid_t) -> String {
        NSTemporaryDirectory() + "quorum-broker-restart-\(testProcess)"
    }

    /// Producers, consumers and an admin client on `topicCount` topics; the broker restarts `restarts` times, the topics
    /// are re-created each time, and every producer must deliver to every topic again.
    static func restartUnderClients(work: String) async throws {
        let broker = try await TestBroker(folder: work + "/broker")
        defer { broker.stop() }
        var logger = Logger(label: "broker-restart-test")
        logger.logLevel = .critical  // librdkafka reports every lost connection; the outcome is what counts here
        let configuration = KafkaConfiguration(brokers: broker.address, clientID: "restart-test", sessionTimeoutMs: 6000,
                                               requestTimeoutMs: 3000, messageTimeoutMs: 10_000)
        let bus = try KafkaBus(configuration: configuration, logger: logger)
        let tag = UUID().uuidString.prefix(8).lowercased()
        let specs = (0..<topicCount).map {
            TopicSpec(name: "test.restart.\(tag).\($0)", key: .symbol, valueType: "bytes", partitions: 3, retentionMs: 3_600_000,
                      summary: "test")
        }
        try await bus.createTopics(specs)
        var producers = try (0..<3).map { try bus.makeProducer(clientID: "restart-producer-\($0)") }
        let consumers = try (0..<3).map {
            try bus.makeConsumer(group: "restart-\(tag)-\($0)", topics: specs.map(\.name), clientID: "restart-consumer", startAt: .earliest)
        }
        for round in 0...restarts {
            if round > 0 {
                try await broker.restart()
                try await retry(for: .seconds(60)) { try await bus.createTopics(specs) }
            }
            for index in producers.indices {
                // After a restart the broker no longer knows the idempotent producer (a fatal error for it): a new one
                // is made, as the stages do.
                try await retry(for: .seconds(60), onFailure: {
                    await producers[index].close()
                    producers[index] = try bus.makeProducer(clientID: "restart-producer-\(index)")
                }) {
                    _ = try await producers[index].send(specs.map { OutgoingMessage(topic: $0.name, key: "k", value: [UInt8(round)]) })
                }
            }
            // The consumers' metadata refreshes and rebalances run meanwhile.
            try await Task.sleep(for: .seconds(2))
        }
        for producer in producers { await producer.close() }
        for consumer in consumers { await consumer.close() }
    }

    /// Runs `body` until it succeeds, calling `onFailure` after each failure, for at most `limit`.
    static func retry(for limit: Duration, onFailure: () async throws -> Void = {}, _ body: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                return try await body()
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await onFailure()
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
