import Logging

/// A connection to one Redis server, safe to share between tasks.
///
/// Every hiredis call runs on a thread owned by this client (never on Swift's cooperative pool); the `async`
/// methods suspend until that thread has the reply. Commands run one after another in call order.
///
/// The client connects lazily on the first command and reconnects by itself, with exponential backoff
/// (``RedisConfiguration/reconnectBackoffInitial`` doubling up to ``RedisConfiguration/reconnectBackoffMax``),
/// when the server goes away. It sends `AUTH` and `SELECT` on every (re)connect. A command issued while the
/// server is unreachable waits for a reconnect up to ``RedisConfiguration/commandTimeout`` and then fails with a
/// retriable ``RedisError`` (`.connectionFailed`) naming `host:port`. A command whose connection breaks after it
/// was sent fails with `.connectionLost` (it may or may not have run) and is not resent.
///
/// With a `rediss://` configuration (``RedisConfiguration/tls``) every connection is encrypted and the server's
/// certificate and host name are verified, through an in-process tunnel (hiredis 0.14 has no TLS; see
/// `RedisTLSTunnel`); a TLS failure fails the command at once with `.tlsFailed`. Nothing else changes for callers.
///
/// Arguments and string replies are bytes, so any binary value (including zero bytes) round-trips.
/// Task cancellation does not interrupt a command; the command timeout bounds it.
///
/// Call ``close()`` when done; dropping the last reference also stops the thread and frees the connection.
public final class RedisClient: Sendable {
    /// The configuration this client was created with.
    public let configuration: RedisConfiguration
    private let worker: RedisWorker

    /// Creates a client and its thread. Does not connect yet; use ``ping()`` to check the server.
    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.worker = RedisWorker(configuration: configuration, logger: logger)
        worker.start()
    }

    deinit {
        worker.stop()
    }

    /// Sends one command, e.g. `[Array("GET".utf8), Array(key.utf8)]`, and returns its reply.
    ///
    /// An error reply from the server is returned as ``RedisValue/error(_:)``, not thrown.
    /// - Throws: ``RedisError`` when no reply could be obtained (connection, timeout, closed client).
    public func command(_ arguments: [[UInt8]]) async throws(RedisError) -> RedisValue {
        guard !arguments.isEmpty else {
            throw RedisError(code: .invalidArgument, endpoint: configuration.endpoint, message: "empty command")
        }
        let replies = try await run([arguments])
        guard let reply = replies.first else {
            throw RedisError(code: .unexpectedReply, endpoint: configuration.endpoint, message: "no reply")
        }
        return reply
    }

    /// Sends one command given as UTF-8 strings, e.g. `["SET", "k", "v"]`.
    public func command(_ arguments: [String]) async throws(RedisError) -> RedisValue {
        try await command(arguments.map { Array($0.utf8) })
    }

    /// Sends all commands in one write and reads their replies in one go (real pipelining: one round trip).
    ///
    /// Returns one reply per command, in order; error replies are values, so one failing command does not
    /// hide the others. An empty list returns an empty list without talking to the server.
    /// - Throws: ``RedisError`` when the exchange as a whole failed (some commands may have run).
    public func pipeline(_ commands: [[[UInt8]]]) async throws(RedisError) -> [RedisValue] {
        if commands.isEmpty { return [] }
        guard commands.allSatisfy({ !$0.isEmpty }) else {
            throw RedisError(code: .invalidArgument, endpoint: configuration.endpoint,
                             message: "a pipeline contains an empty command")
        }
        let replies = try await run(commands)
        guard replies.count == commands.count else {
            throw RedisError(code: .unexpectedReply, endpoint: configuration.endpoint,
                             message: "expected \(commands.count) replies, got \(replies.count)")
        }
        return replies
    }

    /// Pipelines commands given as UTF-8 strings.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisValue] {
        try await pipeline(commands.map { $0.map { Array($0.utf8) } })
    }

    /// Sends `PING` and checks that the answer is `PONG`; connects first if needed.
    public func ping() async throws(RedisError) {
        let reply = try await command(["PING"])
        guard reply == .status("PONG") else {
            throw RedisError(code: .unexpectedReply, endpoint: configuration.endpoint,
                             message: "PING answered \(reply) instead of PONG")
        }
    }

    /// Stops the client: fails queued commands with `.clientClosed`, frees the connection and ends the thread,
    /// then returns. Calling it again does nothing; commands after it fail with `.clientClosed`.
    public func close() async {
        worker.stop()
        await worker.waitUntilStopped()
    }

    private func run(_ commands: [[[UInt8]]]) async throws(RedisError) -> [RedisValue] {
        let result = await withCheckedContinuation { (continuation: RedisWorker.Completion) in
            worker.submit(commands, completion: continuation)
        }
        return try result.get()
    }
}
