import Foundation
import QuorumServiceKit
import Testing

/// A real server process started by the test on a free loopback port, so the test can stop and restart it.
///
/// Started with `posix_spawn` and an empty signal mask: threads that run Swift tasks block most signals and
/// a child started from them (Foundation `Process`) inherits that mask, so it would ignore SIGTERM.
final class ServerProcess: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    let arguments: [String]
    let executable: String
    private var pid: pid_t = 0

    init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    func start() throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
    }

    /// SIGTERM, then SIGKILL after 10 s; reaps the child.
    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for i in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid { pid = 0; return }
            if i == 100 { kill(pid, SIGKILL) }
            usleep(100_000)
        }
        pid = 0
    }

    deinit { stop() }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func waitForPort(_ port: Int, timeout: Duration = .seconds(15)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        close(fd)
        if ok { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("port \(port) did not open within \(timeout)")
}

func readyStatus(_ port: Int) async throws -> (Int, String) {
    let r = try await httpGet(port: port, path: "/health/ready")
    return (r.status, r.body)
}

@Suite("ReadinessIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct ReadinessIntegrationTests {
    static let tansu = ProcessInfo.processInfo.environment["QUORUM_TOOLS"].map { $0 + "/bin/tansu" } ?? "/usr/local/lib/quorum-tools/bin/tansu"

    @Test("/health/ready turns 503 naming the server when Redis or the broker stops, and 200 again when it is back")
    func unreadyWhenDependencyStops() async throws {
        let redisPort = try freePort(), kafkaPort = try freePort()
        let redis = ServerProcess(executable: "/usr/bin/redis-server",
                                  arguments: ["--bind", "127.0.0.1", "--port", "\(redisPort)", "--save", "", "--appendonly", "no"])
        let broker = ServerProcess(executable: Self.tansu, arguments: [
            "broker", "--listener-url", "tcp://127.0.0.1:\(kafkaPort)", "--advertised-listener-url", "tcp://127.0.0.1:\(kafkaPort)",
            "--storage-engine", "memory://tansu/"])
        try redis.start()
        try broker.start()
        defer { redis.stop(); broker.stop() }
        try await waitForPort(redisPort)
        try await waitForPort(kafkaPort)

        let config = try Configuration(registry: ServiceRunner.makeRegistry(name: "quorum-readiness-test"), values: [
            "http.port": "0", "readiness.check.interval": "0", "log.level": "critical",
            "redis.url": "redis://127.0.0.1:\(redisPort)", "redis.command.timeout": "1s",
            "kafka.brokers": "127.0.0.1:\(kafkaPort)", "kafka.request.timeout.ms": "3000",
        ])
        let app = try await ServiceRunner.build(config: config) { @Sendable context in
            let backends = try await Backends.connect(context, needs: [.kafka, .redis], createTopics: false)
            return backends.services
        }
        let running = Task { try await app.run() }
        defer { running.cancel() }
        let port = try await app.healthServer.boundPort()
        #expect(try await readyStatus(port).0 == 200)

        redis.stop()
        let (redisDown, redisBody) = try await readyStatus(port)
        #expect(redisDown == 503)
        #expect(redisBody.contains(#""name":"redis","ok":false"#), "body: \(redisBody)")
        try redis.start()
        try await waitForPort(redisPort)
        #expect(try await eventuallyReady(port), "ready again after redis-server restarted")

        broker.stop()
        let (kafkaDown, kafkaBody) = try await readyStatus(port)
        #expect(kafkaDown == 503)
        #expect(kafkaBody.contains(#""name":"kafka","ok":false"#), "body: \(kafkaBody)")
        try broker.start()
        try await waitForPort(kafkaPort)
        #expect(try await eventuallyReady(port), "ready again after the broker restarted")

        await app.shutdown()
        _ = try? await running.value
    }

    private func eventuallyReady(_ port: Int) async throws -> Bool {
        for _ in 0..<100 {
            if try await readyStatus(port).0 == 200 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
