import Foundation
import Logging
import QuorumRedis
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thrown (and so recorded as the test's failure) when the integration environment is missing.
struct MissingTestEnvironment: Error, CustomStringConvertible {
    var description: String { "QUORUM_REDIS_URL is not set: run the Redis integration tests via `make test`" }
}

/// The shared test server's URL from `make test`; throws a one-line failure saying how to run the suite.
func redisURLFromEnvironment() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["QUORUM_REDIS_URL"], !url.isEmpty else {
        throw MissingTestEnvironment()
    }
    return url
}

let testLogger = Logger(label: "quorum.redis.tests")

/// A unique key prefix for one test, so runs never see each other's keys.
func uniquePrefix(_ name: String) -> String {
    "test-\(name)-\(UUID().uuidString.prefix(8)):quorum:"
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    try #require(bound, "could not bind a free loopback port")
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Number of open file descriptors of this process.
func openFileDescriptorCount() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

/// Number of threads of this process.
func threadCount() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
}

/// A real `redis-server` process owned by one test, without persistence, on a given loopback port.
final class RedisServerProcess {
    let port: Int
    private let process = Process()

    /// Starts `redis-server` and waits until it accepts connections.
    init(port: Int, extraArguments: [String] = []) async throws {
        self.port = port
        let path = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        process.executableURL = URL(fileURLWithPath: try #require(path, "redis-server is not installed (run scripts/bootstrap)"))
        process.arguments = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no",
                             "--dir", NSTemporaryDirectory()] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try await Self.launchWithAllSignalsUnblocked(process)
        for _ in 0..<200 where !isListening(port: port) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(isListening(port: port), "redis-server did not open port \(port)")
    }

    /// Sends SIGTERM and waits for the process to exit (SIGKILL after 10 s, so a test never hangs here).
    /// Safe to call twice.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<1000 where process.isRunning { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<500 where process.isRunning { usleep(10_000) }
        }
    }

    /// A child inherits the signal mask of the thread that spawns it, and the threads that run Swift tasks
    /// (libdispatch workers) block most signals: launched from a test task, redis-server would never see SIGTERM.
    /// So the launch happens on a fresh thread whose signal mask is cleared first.
    private static func launchWithAllSignalsUnblocked(_ process: Process) async throws {
        // @unchecked Sendable: the box is handed to exactly one thread, which uses it and then resumes the
        // continuation; the awaiting task touches nothing until then.
        final class Launch: @unchecked Sendable {
            let process: Process
            var error: (any Error)?
            init(_ process: Process) { self.process = process }
        }
        let launch = Launch(process)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                do { try launch.process.run() } catch { launch.error = error }
                continuation.resume()
            }
            thread.start()
        }
        if let error = launch.error { throw error }
    }

    deinit { stop() }
}
