import Foundation
import QuorumServiceKit

/// A broker of the test's own (Tansu with memory storage, as scripts/servers starts it) on a fixed free loopback port,
/// so a test can restart it without disturbing the shared broker of `make test`. Like the local broker, a restart loses
/// every topic and committed offset.
final class TestBroker: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    static let executable = ProcessInfo.processInfo.environment["QUORUM_TOOLS"].map { $0 + "/bin/tansu" }
        ?? "/usr/local/lib/quorum-tools/bin/tansu"

    let port: Int
    let log: String
    private var process: ChildProcess?

    var address: String { "127.0.0.1:\(port)" }

    /// Where the running broker's pid is kept (nil: nowhere), so a process that outlives a crash of this one can stop it.
    let pidFile: String?

    /// Starts the broker on a free port; its output goes to `log`.
    init(log: String, pidFile: String? = nil) async throws {
        port = try freeLoopbackPort()
        self.log = log
        self.pidFile = pidFile
        try await start()
    }

    deinit { stop() }

    /// Starts the broker (again) on the same port and waits until it accepts connections.
    func start() async throws {
        process = try ChildProcess.spawn(Self.executable, [
            "broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url", "tcp://\(address)",
            "--storage-engine", "memory://tansu/",
        ], log: log)
        if let pidFile, let process { try "\(process.pid)".write(toFile: pidFile, atomically: true, encoding: .utf8) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !canConnect(port: port) {
            guard ContinuousClock.now < deadline else { throw ClusterTestError("the test broker did not open port \(port) within 20 s (see \(log))") }
            guard process?.isRunning == true else { throw ClusterTestError("the test broker exited at start (see \(log))") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops the broker (SIGTERM; SIGKILL after 5 s) and waits for it to exit.
    func stop() {
        guard let process else { return }
        process.terminate()
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        process.kill9()
        process.wait()
        self.process = nil
    }

    /// Stops the broker whose pid `pidFile` holds, if it still runs (a test process that started it crashed).
    static func stopLeftover(pidFile: String) {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text),  // harmless: no file, no broker
              let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
              String(decoding: command, as: UTF8.self).contains("tansu") else { return }
        kill(pid, SIGKILL)
    }

    /// A restart: every topic and committed offset is gone afterwards.
    func restart() async throws {
        stop()
        try await start()
    }
}

/// A loopback TCP port nobody listens on right now.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ClusterTestError("socket() failed: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    guard bound == 0 else { throw ClusterTestError("bind() failed: \(String(cString: strerror(errno)))") }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts TCP connections on the loopback port.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A minimal HTTP GET on loopback (`Connection: close`: the answer ends when the server closes) (the tests poll `/health/ready`; no HTTP client library needed for that).
enum HTTPProbe {
    /// The status code and body, or nil when nothing answered within 2 s.
    static func get(port: Int, path: String) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        // "HTTP/1.1 200 OK\r\n…\r\n\r\nbody"
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
