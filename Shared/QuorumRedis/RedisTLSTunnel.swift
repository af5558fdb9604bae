import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import QuorumTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// TLS for `rediss://` although hiredis 0.14.1 (Debian 12) has no TLS: every hiredis connection runs through a private
/// in-process tunnel.
///
/// For each connection the worker thread (1) opens a TCP connection to the server with swift-nio-ssl and completes the
/// TLS handshake, verifying the certificate against ``RedisConfiguration/TLS/caFile`` and the host name; (2) makes a
/// connected pair of Unix stream sockets (`socketpair`) and gives one end to hiredis (`redisConnectFd`) and the other to
/// NIO; (3) glues the NIO end to the TLS channel, so that every byte hiredis writes leaves the process encrypted and every
/// reply comes back decrypted. Closing either side closes the other.
///
/// Why this design: a socket pair has no address, so no other process can reach the plaintext side (a forwarder
/// listening on a loopback port could be connected to by any local user before hiredis does); the handshake completes
/// before hiredis gets its socket, so a wrong CA or a certificate for another host fails the connect attempt with a
/// clear, non-retriable error instead of a broken first command; and the ``RedisClient`` API, its worker thread,
/// reconnects and timeouts stay exactly as they are for plain TCP. The alternatives were worse: hiredis 1.x built with
/// OpenSSL would be a second C library built from source (beside librdkafka) with a changed API to wrap, and a separate
/// stunnel process is one more thing to install, run and supervise (and its plaintext side is a listening port). The cost
/// is one NIO event-loop hop per exchange (the NIO singleton group) and one socket pair per connection.
///
/// Thread use: `open` blocks on NIO futures and is called only from the client's worker thread (never from an event loop
/// or the cooperative pool). `@unchecked Sendable` is not needed: the type holds only immutable, `Sendable` values.
struct RedisTLSTunnel: Sendable {
    let host: String
    let port: Int
    let context: NIOSSLContext
    /// The SNI and certificate name: the host unless it is an IP address (NIOSSL then matches the certificate's IP
    /// addresses against the address connected to).
    let serverHostname: String?

    /// Why the tunnel could not be opened.
    enum Failure: Error {
        /// The server could not be reached (refused, unreachable, timed out): a later attempt may succeed.
        case unreachable(String)
        /// TLS itself failed (CA file, certificate, host name, not a TLS port): retrying will not help.
        case tls(String)
    }

    /// Loads the CA file and builds the TLS context; called once per client, on the worker thread.
    static func make(configuration: RedisConfiguration, tls: RedisConfiguration.TLS) -> Result<RedisTLSTunnel, Failure> {
        do {
            let tlsConfiguration = try ClientTLS.configuration(caFile: tls.caFile, verification: .fullVerification)
            let context = try NIOSSLContext(configuration: tlsConfiguration)
            return .success(RedisTLSTunnel(host: configuration.host, port: configuration.port, context: context,
                                           serverHostname: isIPAddress(configuration.host) ? nil : configuration.host))
        } catch let error as PEMFileError {
            return .failure(.tls("\(error.reason) (redis.tls.ca.file); \(error.remedy)"))
        } catch {
            return .failure(.tls("could not set up TLS: \(error)"))
        }
    }

    /// Connects and completes the handshake, both within `timeout`, and returns the socket hiredis should use (owned by
    /// the caller from then on: hiredis closes it in `redisFree`).
    func open(timeout: Duration) -> Result<Int32, Failure> {
        let deadline = NIODeadline.now() + .nanoseconds(max(timeout, .milliseconds(1)).nanoseconds)
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let handshake = eventLoop.makePromise(of: Void.self)
        let context = self.context
        let serverHostname = self.serverHostname
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(max(timeout, .milliseconds(1)).nanoseconds))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                    try channel.pipeline.syncOperations.addHandler(HandshakeSignal(promise: handshake))
                }
            }

        let tlsChannel: any Channel
        do {
            tlsChannel = try bootstrap.connect(host: host, port: port).wait()
        } catch {
            handshake.fail(error)  // no channel, so HandshakeSignal never completes it
            return .failure(.unreachable("\(error)"))
        }
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            handshake.fail(HandshakeTimeout())
        }
        do {
            try handshake.futureResult.wait()
            timer.cancel()
        } catch {
            timer.cancel()
            tlsChannel.close(promise: nil)
            if error is HandshakeTimeout {
                return .failure(.unreachable("the TLS handshake did not finish within \(timeout)"))
            }
            return .failure(.tls(ClientTLS.describeHandshakeFailure(error) ?? "TLS failed: \(error)"))
        }

        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            let reason = String(cString: strerror(errno))
            tlsChannel.close(promise: nil)
            return .failure(.unreachable("socketpair failed: \(reason)"))
        }
        let (tlsSide, localSide) = TunnelGlue.pair()
        do {
            try tlsChannel.pipeline.addHandler(tlsSide).wait()
            // The NIO end of the pair takes ownership of pair[1] (closed with its channel).
            let localChannel = try ClientBootstrap(group: tlsChannel.eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(localSide) }
                }
                .withConnectedSocket(pair[1])
                .wait()
            // Both halves are in place now, so a later close of either side closes the other. The server may have
            // closed the TLS connection before that: then close the local side too, so hiredis sees end-of-file.
            try tlsChannel.eventLoop.submit {
                if !tlsChannel.isActive { localChannel.close(promise: nil) }
            }.wait()
        } catch {
            _ = close(pair[0])
            tlsChannel.close(promise: nil)
            return .failure(.unreachable("could not connect the TLS tunnel: \(error)"))
        }
        return .success(pair[0])
    }

    private struct HandshakeTimeout: Error {}

    private static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Completes `promise` when the TLS handshake succeeded, or fails it with the first error or the close of the channel.
private final class HandshakeSignal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            promise.succeed(())
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

/// One half of a two-way byte pipe between two channels on the same event loop: what one channel reads, the other
/// writes. Reading pauses while the other side cannot take more (back-pressure), and a close on one side closes the other.
///
/// `@unchecked Sendable`: a pair is made on the worker thread and handed to the event loop before any callback can run;
/// from then on both halves are used only on their shared event loop (every callback runs there), which is what makes
/// the unsynchronised `partner`, `context` and `readPending` safe.
private final class TunnelGlue: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelGlue?
    private var context: ChannelHandlerContext?
    private var readPending = false

    static func pair() -> (TunnelGlue, TunnelGlue) {
        let first = TunnelGlue()
        let second = TunnelGlue()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.writeFromPartner(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.flushFromPartner()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.closeFromPartner()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An I/O or TLS error ends the tunnel; hiredis then sees end-of-file and reports a lost connection.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReadingFromPartner() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partner, !partner.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    private var isWritable: Bool { context?.channel.isWritable ?? true }

    private func writeFromPartner(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func flushFromPartner() {
        context?.flush()
    }

    private func closeFromPartner() {
        context?.close(promise: nil)
    }

    private func resumeReadingFromPartner() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }
}
