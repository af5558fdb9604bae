import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one hiredis `redisContext` (one TCP connection) and frees it exactly once, in `deinit`.
///
/// Not thread-safe and deliberately not `Sendable`: a connection is created, used and released only on its
/// client's worker thread. The context pointer never leaves this class.
final class HiredisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Why a connect attempt or an exchange failed; `detail` is hiredis' error text (never a password).
    struct Failure: Error {
        var detail: String
    }

    private init(context: UnsafeMutablePointer<redisContext>) {
        self.context = context
    }

    deinit {
        // Closes the socket and frees the buffers; every context made by `connect` ends here, once.
        redisFree(context)
    }

    /// Opens a blocking TCP connection, waiting at most `timeout` for the connect itself.
    static func connect(host: String, port: Int, timeout: Duration) -> Result<HiredisConnection, Failure> {
        guard let context = redisConnectWithTimeout(host, Int32(port), makeTimeval(timeout)) else {
            return .failure(Failure(detail: "out of memory while creating the connection"))
        }
        // From here on the connection owns the context, so it is freed on every path (including errors).
        let connection = HiredisConnection(context: context)
        if context.pointee.err != 0 {
            return .failure(Failure(detail: connection.errorText))
        }
        return .success(connection)
    }

    /// Wraps an already connected socket (the plaintext end of a ``RedisTLSTunnel``); the connection owns it from here
    /// on and closes it in `redisFree`, also when creating the context fails.
    static func connect(socket descriptor: Int32) -> Result<HiredisConnection, Failure> {
        guard let context = redisConnectFd(descriptor) else {
            _ = close(descriptor)
            return .failure(Failure(detail: "out of memory while creating the connection"))
        }
        let connection = HiredisConnection(context: context)
        if context.pointee.err != 0 {
            return .failure(Failure(detail: connection.errorText))
        }
        return .success(connection)
    }

    /// Sets the read and write timeout of the socket, so that no reply can block forever.
    func setIOTimeout(_ timeout: Duration) -> Result<Void, Failure> {
        redisSetTimeout(context, makeTimeval(timeout)) == REDIS_OK ? .success(()) : .failure(Failure(detail: errorText))
    }

    /// `true` when the idle socket shows no sign that the server went away.
    ///
    /// Between exchanges nothing should be readable; readable data (normally the end-of-file of a server that
    /// closed the connection), a hang-up or a socket error all mean the connection is stale.
    var looksHealthy: Bool {
        guard context.pointee.err == 0 else { return false }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready == 0
    }

    /// Sends all commands in one write (pipelining) and then reads one reply per command, in order.
    ///
    /// A failure means the connection is unusable (I/O error, end of file, timeout, protocol error): drop it.
    /// Error replies from the server are not failures; they come back as `RedisValue.error`.
    func exchange(_ commands: [[[UInt8]]]) -> Result<[RedisValue], Failure> {
        for arguments in commands {
            guard append(arguments) else { return .failure(Failure(detail: errorText)) }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands.indices {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                return .failure(Failure(detail: errorText))
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.value(of: reply))
            freeReplyObject(raw)
        }
        return .success(replies)
    }

    /// Queues one command in hiredis' output buffer with explicit argument lengths (binary safe).
    private func append(_ arguments: [[UInt8]]) -> Bool {
        let lengths = arguments.map(\.count)
        var flat: [UInt8] = []
        flat.reserveCapacity(lengths.reduce(0, +) + 1)
        for argument in arguments { flat.append(contentsOf: argument) }
        flat.append(0)  // never empty, so the buffer always has a base address
        return flat.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                var argv: [UnsafePointer<CChar>?] = []
                argv.reserveCapacity(arguments.count)
                var offset = 0
                for length in lengths {
                    argv.append(UnsafePointer(chars.baseAddress! + offset))
                    offset += length
                }
                return argv.withUnsafeMutableBufferPointer { argvBuffer in
                    lengths.withUnsafeBufferPointer { lengthBuffer in
                        redisAppendCommandArgv(
                            context, Int32(arguments.count), argvBuffer.baseAddress, lengthBuffer.baseAddress
                        ) == REDIS_OK
                    }
                }
            }
        }
    }

    /// Copies a hiredis reply tree into a Swift value (the caller frees the tree).
    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bytes(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { elements.append(value(of: element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:  // REDIS_REPLY_NIL
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return UnsafeRawBufferPointer(start: pointer, count: length).map { $0 }
    }

    /// hiredis' error text for the context, with the socket timeout spelled out.
    private var errorText: String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if text.contains("Resource temporarily unavailable") { return "timed out waiting for the server" }
        return text.isEmpty ? "unknown I/O error" : text
    }
}

/// Converts a duration to a `timeval`, at least 1 ms: hiredis treats a zero timeout as "wait forever".
private func makeTimeval(_ duration: Duration) -> timeval {
    let safe = max(duration, .milliseconds(1))
    let (seconds, attoseconds) = safe.components
    return timeval(tv_sec: .init(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
}
