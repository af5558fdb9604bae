import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs every hiredis call of one ``RedisClient`` on one dedicated thread, one job at a time, in order.
///
/// Callers hand in jobs (a list of commands sent as one pipeline) with a continuation; the thread connects
/// (and reconnects with exponential backoff), runs the job and resumes the continuation. The thread owns the
/// connection; it frees it when the worker stops, then exits.
///
/// `@unchecked Sendable` is safe because the fields are split in two groups with one owner each:
/// `queue`, `state` and `stopWaiters` are only read or written while holding `condition`; `connection`,
/// `backoff`, `nextConnectAttempt`, `lastConnectFailure`, `everConnected`, `tunnel` and `exchangesOnConnection` are only
/// touched on the worker
/// thread (inside `run()` and the functions it calls).
final class RedisWorker: @unchecked Sendable {
    typealias Completion = CheckedContinuation<Result<[RedisValue], RedisError>, Never>

    private struct Job {
        var commands: [[[UInt8]]]
        var deadline: ContinuousClock.Instant
        var completion: Completion
    }

    private enum State { case running, stopping, stopped }

    private let configuration: RedisConfiguration
    private let logger: Logger
    private let clock = ContinuousClock()

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var state = State.running
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    // Worker thread only.
    private var connection: HiredisConnection?
    private var backoff: Duration
    private var nextConnectAttempt: ContinuousClock.Instant
    private var lastConnectFailure: String?
    private var everConnected = false
    /// `rediss://` only: the TLS tunnel's settings (CA loaded once, at the first connect attempt).
    private var tunnel: Result<RedisTLSTunnel, RedisTLSTunnel.Failure>?
    /// Successful exchanges on the current connection (0: it is new).
    private var exchangesOnConnection = 0

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "redis.endpoint"] = .string(configuration.endpoint)
        self.logger = logger
        self.backoff = configuration.reconnectBackoffInitial
        self.nextConnectAttempt = ContinuousClock().now
    }

    /// Starts the thread. The thread keeps the worker alive until `stop()` has been called and it has exited.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "quorum-redis"
        thread.start()
    }

    /// Queues a job; the completion is always resumed exactly once (with a reply list or an error).
    func submit(_ commands: [[[UInt8]]], completion: Completion) {
        let job = Job(commands: commands, deadline: clock.now + configuration.commandTimeout, completion: completion)
        condition.lock()
        guard state == .running else {
            condition.unlock()
            completion.resume(returning: .failure(closedError))
            return
        }
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Asks the thread to stop: queued and waiting jobs fail with `.clientClosed`. Idempotent, does not block.
    func stop() {
        condition.lock()
        if state == .running { state = .stopping }
        condition.signal()
        condition.unlock()
    }

    /// Returns once the thread has freed the connection and exited.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if state == .stopped {
                condition.unlock()
                continuation.resume()
            } else {
                stopWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    private var closedError: RedisError {
        RedisError(code: .clientClosed, endpoint: configuration.endpoint,
                   message: "the client was closed; create a new RedisClient")
    }

    // MARK: - Worker thread

    private func run() {
        blockSIGPIPEOnThisThread()
        while true {
            condition.lock()
            while queue.isEmpty && state == .running { condition.wait() }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let stopping = state != .running
            condition.unlock()

            if stopping {
                for job in batch { job.completion.resume(returning: .failure(closedError)) }
                break
            }
            for job in batch {
                job.completion.resume(returning: isStopping ? .failure(closedError) : perform(job))
            }
        }
        if connection != nil {
            connection = nil  // frees the hiredis context (and closes its socket) on this thread
            logger.debug("Closed the Redis connection")
        }
        condition.lock()
        state = .stopped
        let waiters = stopWaiters
        stopWaiters.removeAll()
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state != .running
    }

    /// Runs one job: gets a healthy connection (waiting for a reconnect if needed), then one pipelined exchange.
    ///
    /// A job is retried on a new connection only when it was not sent yet; once sent, a broken connection fails it
    /// with `.connectionLost`, because the server may already have executed the commands.
    private func perform(_ job: Job) -> Result<[RedisValue], RedisError> {
        let connection: HiredisConnection
        switch connectionReady(before: job.deadline) {
        case .success(let ready): connection = ready
        case .failure(let error): return .failure(error)
        }
        switch connection.exchange(job.commands) {
        case .success(let replies):
            exchangesOnConnection += 1
            return .success(replies)
        case .failure(let failure):
            // A TLS-only server (redis-server --port 0 --tls-port) closes a plain connection at its first command.
            let hint = configuration.tls == nil && exchangesOnConnection == 0
                ? "; the server closed a new connection at its first command: if it accepts only TLS, use a rediss:// URL"
                : ""
            dropConnection(reason: failure.detail)
            return .failure(RedisError(
                code: .connectionLost, endpoint: configuration.endpoint,
                message: "the connection broke during the command (\(failure.detail)); it may or may not have run;"
                    + " the client reconnects by itself, retry if the command is idempotent\(hint)"))
        }
    }

    /// Returns the current connection if it still looks healthy, otherwise connects again, with exponential
    /// backoff between attempts, until `deadline`.
    private func connectionReady(before deadline: ContinuousClock.Instant) -> Result<HiredisConnection, RedisError> {
        if let connection {
            if connection.looksHealthy { return .success(connection) }
            dropConnection(reason: "the server closed the connection")
        }
        while true {
            if isStopping { return .failure(closedError) }
            let now = clock.now
            if now >= deadline {
                let last = lastConnectFailure.map { " (last error: \($0))" } ?? ""
                return .failure(RedisError(
                    code: .connectionFailed, endpoint: configuration.endpoint,
                    message: "no connection within the command timeout of \(configuration.commandTimeout)\(last);"
                        + " check that redis-server is running and reachable; the client keeps retrying"))
            }
            if now < nextConnectAttempt {
                sleep(until: min(nextConnectAttempt, deadline))
                continue
            }
            switch openConnection(timeout: min(configuration.connectTimeout, deadline - now)) {
            case .connected(let fresh):
                connection = fresh
                return .success(fresh)
            case .retryLater:
                continue
            case .refused(let error):
                return .failure(error)
            }
        }
    }

    private enum ConnectOutcome {
        case connected(HiredisConnection)
        /// A failure that a later attempt may overcome; already recorded for the backoff.
        case retryLater
        /// A failure that retrying cannot fix (e.g. a wrong password).
        case refused(RedisError)
    }

    private struct ConnectFailure: Error {
        var detail: String
        /// TLS itself failed (CA file, certificate, host name).
        var tls: Bool
    }

    /// A plain TCP connection, or (`rediss://`) one through a TLS tunnel whose handshake has completed; the failure's
    /// flag says whether it was TLS itself (CA file, certificate, host name), which retrying cannot fix.
    private func connectSocket(timeout: Duration) -> Result<HiredisConnection, ConnectFailure> {
        guard let tls = configuration.tls else {
            return HiredisConnection.connect(host: configuration.host, port: configuration.port, timeout: timeout)
                .mapError { ConnectFailure(detail: $0.detail, tls: false) }
        }
        let prepared = tunnel ?? RedisTLSTunnel.make(configuration: configuration, tls: tls)
        // A CA file that cannot be loaded is read again at the next attempt (it may have been fixed meanwhile).
        if case .success = prepared { tunnel = prepared }
        switch prepared.flatMap({ $0.open(timeout: timeout) }) {
        case .success(let descriptor):
            return HiredisConnection.connect(socket: descriptor).mapError { ConnectFailure(detail: $0.detail, tls: false) }
        case .failure(.unreachable(let detail)):
            return .failure(ConnectFailure(detail: detail, tls: false))
        case .failure(.tls(let detail)):
            return .failure(ConnectFailure(detail: detail, tls: true))
        }
    }

    /// One connect attempt, followed by AUTH and SELECT when configured.
    private func openConnection(timeout: Duration) -> ConnectOutcome {
        let attempt = connectSocket(timeout: timeout)
            .flatMap { fresh in
                fresh.setIOTimeout(configuration.commandTimeout).map { fresh }.mapError { ConnectFailure(detail: $0.detail, tls: false) }
            }
        let fresh: HiredisConnection
        switch attempt {
        case .success(let connection):
            fresh = connection
        case .failure(let failure) where failure.tls:
            // Not retriable: the command fails at once instead of waiting out its timeout; the next command tries again
            // (after the backoff), so a renewed certificate is picked up without a restart.
            connectAttemptFailed(failure.detail)
            return .refused(RedisError(
                code: .tlsFailed, endpoint: configuration.endpoint,
                message: "could not open a TLS connection (rediss://): \(failure.detail); check redis.tls.ca.file (the CA"
                    + " that signed the server's certificate) and that the host in redis.url is a name or address in the"
                    + " server's certificate"))
        case .failure(let failure):
            connectAttemptFailed(failure.detail)
            return .retryLater
        }
        var handshake: [[[UInt8]]] = []
        if let password = configuration.password {
            if let username = configuration.username {
                handshake.append([Array("AUTH".utf8), Array(username.utf8), Array(password.utf8)])
            } else {
                handshake.append([Array("AUTH".utf8), Array(password.utf8)])
            }
        }
        if configuration.database != 0 {
            handshake.append([Array("SELECT".utf8), Array(String(configuration.database).utf8)])
        }
        if !handshake.isEmpty {
            switch fresh.exchange(handshake) {
            case .failure(let failure):
                connectAttemptFailed(failure.detail)
                return .retryLater
            case .success(let replies):
                if let refusal = replies.lazy.compactMap({ reply -> String? in
                    if case .error(let text) = reply { return text }
                    return nil
                }).first {
                    connectAttemptFailed("AUTH/SELECT refused")
                    return .refused(RedisError(
                        code: .authenticationFailed, endpoint: configuration.endpoint,
                        message: "the server refused AUTH or SELECT: \(refusal); check the user, password and"
                            + " database in the Redis URL"))
                }
            }
        }
        if everConnected {
            logger.info("Reconnected to Redis")
        } else {
            logger.debug("Connected to Redis")
        }
        everConnected = true
        exchangesOnConnection = 0
        backoff = configuration.reconnectBackoffInitial
        lastConnectFailure = nil
        return .connected(fresh)
    }

    private func connectAttemptFailed(_ detail: String) {
        lastConnectFailure = detail
        nextConnectAttempt = clock.now + backoff
        logger.debug("Redis connect attempt failed", metadata: [
            "redis.error": .string(detail), "redis.retry_in": .string("\(backoff)"),
        ])
        backoff = min(backoff * 2, configuration.reconnectBackoffMax)
    }

    private func dropConnection(reason: String) {
        connection = nil  // frees the context
        logger.warning("Lost the connection to Redis; reconnecting with backoff", metadata: [
            "redis.error": .string(reason),
        ])
        // The first reconnect attempt may happen at once; later failures back off.
        backoff = configuration.reconnectBackoffInitial
        nextConnectAttempt = clock.now
    }

    /// Waits until `instant`, or less if a job arrives or `stop()` is called (callers loop and re-check).
    private func sleep(until instant: ContinuousClock.Instant) {
        let remaining = clock.now.duration(to: instant)
        guard remaining > .zero else { return }
        let (seconds, attoseconds) = remaining.components
        let date = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) * 1e-18)
        condition.lock()
        if state == .running { _ = condition.wait(until: date) }
        condition.unlock()
    }

    /// hiredis writes with `write(2)`: on a socket whose peer is gone that raises SIGPIPE, which would kill the
    /// process. Blocking the signal on this thread (only) turns it into an EPIPE error that hiredis reports.
    private func blockSIGPIPEOnThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
