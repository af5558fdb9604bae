import Foundation
import QuorumBus
import QuorumServiceKit
import Testing

/// `scripts/cluster up` where a user clones: a folder only its owner may enter (root's home on Debian is mode 700),
/// so the `postgres` user that runs the database cannot reach it. The broker has the local cluster's default, durable
/// storage (whatever `make test` uses for its own servers): `down` leaves the registry's topics saved in the folder.
@Suite("scripts/cluster from a private folder", .serialized, .timeLimit(.minutes(5)))
struct ClusterScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs a repository script and returns its exit status and output (stdout and stderr).
    static func script(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "quorum-cluster-script-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess.spawn("\(repository)/\(arguments[0])", Array(arguments.dropFirst()), log: log,
                                           environment: environment)
        while child.isRunning { try await Task.sleep(for: .milliseconds(200)) }
        return (child.exitStatus ?? -1, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Polls Prometheus' /api/v1/targets until every active target is up (or 40 s passed); returns instance → health.
    static func targetHealth(_ prometheus: String) async throws -> [String: String] {
        var health: [String: String] = [:]
        let deadline = ContinuousClock.now + .seconds(40)
        repeat {
            let body = try await MonitoringChecks.get("\(prometheus)/api/v1/targets?state=active")
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let targets = (json?["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]] ?? []
            health = [:]
            for target in targets {
                let labels = target["labels"] as? [String: String] ?? [:]
                health[labels["instance"] ?? "?"] = target["health"] as? String ?? "?"
            }
            if !health.isEmpty, health.values.allSatisfy({ $0 == "up" }) { return health }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        return health
    }

    @Test("up --with-prometheus, status (every service ready, Prometheus finds every target up) and down in a mode-700 folder; its permissions are left as they were; the topics are saved in it")
    func privateFolder() async throws {
        let home = NSTemporaryDirectory() + "quorum-home-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(home)/clone", withIntermediateDirectories: true)
        #expect(chmod(home, 0o700) == 0)
        let dir = "\(home)/clone/.cluster"
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        // A block of HTTP ports away from the demo's (18180), from other runs, and below Linux's ephemeral range
        // (32768–60999), where the clients of the suites running beside this one get their ports.
        let base = 20_000 + Int(getpid() % 1_200) * 10
        let environment = ["CLUSTER_BIN": bin, "CLUSTER_HTTP_BASE": String(base), "CLUSTER_READY_TIMEOUT": "150",
                           "SERVERS_BROKER_STORAGE": "s3"]
        // Every step runs (down and purge also after a failed up); the checks follow.
        let up = try await Self.script(["scripts/cluster", "up", "--with-prometheus", dir], environment: environment)
        let status = try await Self.script(["scripts/cluster", "status", dir], environment: environment)
        // Prometheus (Debian's, started by the script) scrapes every instance of the cluster.
        let prometheus = (try? String(contentsOfFile: "\(dir)/prometheus/url", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        var targets: [String: String] = [:]
        if let prometheus { targets = try await Self.targetHealth(prometheus) }
        let prometheusPid = (try? String(contentsOfFile: "\(dir)/prometheus/prometheus.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let down = try await Self.script(["scripts/cluster", "down", dir], environment: environment)
        var info = stat()
        let modeKept = stat(home, &info) == 0 && info.st_mode & 0o777 == 0o700
        // Each instance stopped gracefully within shutdown.timeout: its log ends with "stopped", never the watchdog's line.
        let lastLines = Dictionary(uniqueKeysWithValues: ["ingest", "features", "trainer-1", "trainer-2", "inference", "consensus", "risk",
                                                          "execution", "monitor"].map { inst in
            let log = (try? String(contentsOfFile: "\(dir)/logs/\(inst).log", encoding: .utf8)) ?? ""
            return (inst, (log.split(separator: "\n").last.map(String.init) ?? "", log.contains("exceeded shutdown.timeout")))
        })
        // The S3 server kept the topics on disk in the folder (SeaweedFS volume files), and they are still there after down.
        let volumeBytes = ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/broker/s3")) ?? [])
            .filter { $0.hasSuffix(".dat") }
            .compactMap { try? FileManager.default.attributesOfItem(atPath: "\(dir)/broker/s3/\($0)")[.size] as? Int }
            .reduce(0, +)
        let purge = try await Self.script(["scripts/servers", "purge", dir], environment: [:])

        #expect(up.status == 0, "scripts/cluster up failed:\n\(up.output.suffix(4_000))")
        #expect(status.output.contains("postgres: running"), "\(status.output)")
        #expect(status.output.contains("s3 storage") && status.output.contains("s3: running"), "\(status.output)")
        let services = status.output.split(separator: "\n").filter { $0.split(separator: " ", omittingEmptySubsequences: true).count == 5 }
            .dropFirst()   // the header row
        #expect(services.count == 9, "\(status.output)")
        for line in services { #expect(line.hasSuffix(" 200"), "not ready: \(line)") }
        #expect(prometheus != nil, "no Prometheus URL in \(dir)/prometheus/url:\n\(up.output.suffix(2_000))")
        let instances = ["ingest", "features", "trainer-1", "trainer-2", "inference", "consensus", "risk", "execution", "monitor"]
        #expect(targets == Dictionary(uniqueKeysWithValues: instances.map { ($0, "up") }), "Prometheus targets: \(targets)")
        #expect(status.output.contains("prometheus: running"), "\(status.output)")
        #expect(down.status == 0, "\(down.output.suffix(2_000))")
        // Every instance stops in order on SIGTERM, the monitor too: on s3 storage its lag poll used to confirm each
        // partition's end with its own fetch that waited QUORUM_KAFKA_FETCH_WAIT_MAX_MS (5 s), so a round outlasted the
        // 30 s `down` allows (now one read confirms all the ends: KafkaBus.watermarks(topics:)).
        for (inst, (last, timedOut)) in lastLines.sorted(by: { $0.key < $1.key }) {
            #expect(last.contains("\"msg\":\"stopped\"") && !timedOut, "\(inst) did not stop gracefully; its last log line: \(last)")
        }
        if let prometheusPid { #expect(kill(prometheusPid, 0) != 0, "Prometheus (pid \(prometheusPid)) still runs after down") }
        #expect(modeKept, "the private folder's mode changed")
        #expect(volumeBytes > 100_000, "the S3 server's volumes under \(dir)/broker/s3 hold \(volumeBytes) bytes after down:\n\(down.output.suffix(2_000))")
        #expect(purge.status == 0, "\(purge.output)")
        #expect(!FileManager.default.fileExists(atPath: dir))
        try? FileManager.default.removeItem(atPath: home)
    }
}
