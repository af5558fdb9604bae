import Foundation
import QuorumServiceKit

/// A broker of the test's own, on a fixed free loopback port, so a test can restart it without disturbing the shared broker
/// of `make test`. It is started, restarted and stopped by scripts/broker (the one implementation the local servers use) in
/// a folder of its own: with `.memory` storage a restart loses every topic and committed offset, with `.s3` (the local
/// cluster's durable storage: Tansu on a local S3 server) they survive it.
final class TestBroker: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    enum Storage: String { case memory, s3 }

    static let script = ClusterScriptTests.repository + "/scripts/broker"

    let port: Int
    let folder: String
    let storage: Storage
    /// The broker's output (appended across restarts).
    var log: String { folder + "/broker.log" }
    var address: String { "127.0.0.1:\(port)" }
    private var running = false

    /// Starts the broker on a free port with its state in `folder` (created when missing).
    init(folder: String, storage: Storage = .memory) async throws {
        port = try freeLoopbackPort()
        self.folder = folder
        self.storage = storage
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try await start()
    }

    deinit { stop() }

    /// Starts the broker (and, with `.s3`, its S3 server on the folder's data) on the same port; returns once it accepts
    /// connections.
    func start() async throws {
        try await Self.run(["up", folder, String(port)], folder: folder, storage: storage)
        running = true
    }

    /// Stops the broker and its S3 server (a clean stop of the whole local broker).
    func stop() {
        guard running else { return }
        Self.runBlocking(["down", folder], folder: folder)
        running = false
    }

    /// kill -9 of the broker and of its S3 server, as a crash or a power cut of the machine would stop them (without
    /// its page cache: what the S3 server wrote reached the kernel). `start` brings both back on the folder's data.
    func crash() throws {
        for name in ["broker", "s3"] {
            let file = "\(folder)/\(name).pid"
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),  // absent: not running (memory has no s3)
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            guard kill(pid, SIGKILL) == 0 else { throw ClusterTestError("kill -9 of the \(name) (pid \(pid)) failed") }
            while kill(pid, 0) == 0 { usleep(10_000) }
            try FileManager.default.removeItem(atPath: file)
        }
        running = false
    }

    /// A broker restart: the broker process alone stops and starts again on the same port. With `.memory` every topic and
    /// committed offset is gone afterwards; with `.s3` the S3 server keeps running and holds them.
    func restart() async throws {
        try await Self.run(["restart", folder], folder: folder, storage: storage)
    }

    /// Stops the broker of `folder` and its S3 server, if they still run (a test process that started them crashed).
    static func stopLeftover(folder: String) {
        guard FileManager.default.fileExists(atPath: folder) else { return }
        runBlocking(["down", folder], folder: folder)
    }

    /// Runs scripts/broker and waits for it; throws with the end of its output when it fails.
    private static func run(_ arguments: [String], folder: String, storage: Storage) async throws {
        let output = folder + "/broker-script.log"
        let child = try ChildProcess.spawn(script, arguments, log: output, environment: environment(storage: storage))
        while child.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard child.exitStatus == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? "(no output)"  // only for the message
            throw ClusterTestError("scripts/broker \(arguments.joined(separator: " ")) failed (exit \(child.exitStatus ?? -1)): "
                                   + "\(text.suffix(1_500))")
        }
    }

    /// The same, blocking (for `stop` in `deinit` and `defer`); a failure is only in the script's output.
    private static func runBlocking(_ arguments: [String], folder: String) {
        guard let child = try? ChildProcess.spawn(script, arguments, log: folder + "/broker-script.log",  // best effort: cleanup
                                                  environment: environment(storage: nil)) else { return }
        child.wait()
    }

    /// ChildProcess leaves out every QUORUM_* variable; the tools folder is passed on, and the storage is always explicit
    /// (`make test` sets SERVERS_BROKER_STORAGE=memory for its own servers).
    private static func environment(storage: Storage?) -> [String: String] {
        var environment: [String: String] = [:]
        if let tools = ProcessInfo.processInfo.environment["QUORUM_TOOLS"] { environment["QUORUM_TOOLS"] = tools }
        if let storage { environment["SERVERS_BROKER_STORAGE"] = storage.rawValue }
        return environment
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
