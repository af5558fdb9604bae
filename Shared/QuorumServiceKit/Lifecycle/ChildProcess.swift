import Foundation

/// A child process started with posix_spawn (default signal dispositions, so SIGTERM stops it), output to a log file.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `exited` is only touched by the owner (one task), like a file handle.
    public let pid: pid_t
    public let path: String
    public let log: String
    private var exited = false
    /// Exit code once it has exited (a negative number: killed by that signal).
    public private(set) var exitStatus: Int32?

    private init(pid: pid_t, path: String, log: String) {
        self.pid = pid
        self.path = path
        self.log = log
    }

    /// Starts `path` with `arguments`; stdout and stderr append to `log`; stdin is /dev/null; no other descriptor is
    /// inherited. The environment is this process's without any `QUORUM_*` variable (services refuse unknown ones), plus
    /// `environment`.
    public static func spawn(_ path: String, _ arguments: [String], log: String, environment: [String: String] = [:]) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ChildProcessError(description: "\(path) is not an executable; build it first (swift build)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Nothing else of this process is inherited (a pipe held open by a long-lived child keeps its reader waiting).
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("QUORUM_") }
        for (k, v) in environment { merged[k] = v }
        let env = merged.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ChildProcessError(description: "cannot start \(path): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid, path: path, log: log)
    }

    public var isRunning: Bool {
        if exited { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { record(status) }
        return !exited
    }

    /// SIGTERM (graceful shutdown).
    public func terminate() { if isRunning { kill(pid, SIGTERM) } }

    /// SIGKILL, like a crash.
    public func kill9() { if isRunning { kill(pid, SIGKILL) } }

    /// Waits for the exit.
    public func wait() {
        guard !exited else { return }
        var status: Int32 = 0
        if waitpid(pid, &status, 0) == pid { record(status) } else { exited = true }
    }

    private func record(_ status: Int32) {
        exited = true
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : -signal
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), looked up at run time: Swift's Glibc module does not
/// declare it. Nil where the C library lacks it; children then inherit descriptors not marked close-on-exec.
private let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }  // nil: RTLD_DEFAULT
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
}
