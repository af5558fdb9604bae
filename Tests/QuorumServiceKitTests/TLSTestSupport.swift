import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import QuorumServiceKit
import Testing

/// A throwaway public key infrastructure made by the `openssl` CLI in a temp folder for one test: a CA, a server
/// certificate it signed, and a second CA that signed nothing here (a client trusting only it must refuse the server).
///
/// The server certificate names ONLY `DNS:localhost` (no IP address), so the same server lets a test check both that
/// `localhost` verifies and that `127.0.0.1` fails host-name verification (and passes `verify-ca`).
struct ThrowawayPKI {
    let folder: URL
    var caFile: String { folder.appendingPathComponent("ca.pem").path }
    var otherCAFile: String { folder.appendingPathComponent("other-ca.pem").path }
    var serverCertificate: String { folder.appendingPathComponent("server.pem").path }
    var serverKey: String { folder.appendingPathComponent("server.key").path }

    static func make() throws -> ThrowawayPKI {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("quorum-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let pki = ThrowawayPKI(folder: folder)
        func openssl(_ arguments: [String]) throws {
            // Every file argument is a name in the folder.
            let names: Set = ["ca.key", "ca.pem", "other-ca.key", "other-ca.pem", "server.key", "server.csr", "server.pem", "server.ext"]
            try runTool("/usr/bin/openssl", arguments.map { names.contains($0) ? folder.appendingPathComponent($0).path : $0 })
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Quorum throwaway test CA"])
        try openssl(["req", "-x509"] + ec + ["-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2",
                                             "-subj", "/CN=Quorum unrelated test CA"])
        try openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try Data("""
            subjectAltName=DNS:localhost
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth

            """.utf8).write(to: folder.appendingPathComponent("server.ext"))
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "server.pem", "-days", "2", "-extfile", "server.ext"])
        return pki
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)  // harmless: a temp folder; a leftover is only litter
    }
}

struct ToolFailed: Error, CustomStringConvertible {
    var description: String
}

/// Runs a command to completion; throws with its output when it exits non-zero. Output goes through a file (no pipe that
/// could fill up).
///
/// `ChildProcess` (posix_spawn + waitpid) rather than Foundation's `Process`: `pg_ctl start` leaves a daemon behind that
/// inherits the descriptors Foundation watches to notice the child's exit, so `waitUntilExit` never returned. The signal
/// mask is cleared for the child (threads running Swift tasks block most signals, and a child would inherit that).
@discardableResult
func runTool(_ executable: String, _ arguments: [String], asPostgresUser: Bool = false) throws -> String {
    var executable = executable, arguments = arguments
    if asPostgresUser && getuid() == 0 {
        // Postgres refuses to run as root: as root, its tools run as the 'postgres' user (like scripts/servers).
        arguments = ["-u", "postgres", "--", executable] + arguments
        executable = "/usr/sbin/runuser"
    }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-tool-\(UUID().uuidString).log").path
    defer { try? FileManager.default.removeItem(atPath: log) }  // harmless: a temp file
    let child = try ChildProcess.spawn(executable, arguments, log: log)
    child.wait()
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""  // harmless: only used in the failure message
    guard child.exitStatus == 0 else {
        throw ToolFailed(description: "\(executable) \(arguments.prefix(6).joined(separator: " ")) failed "
                         + "(status \(child.exitStatus.map(String.init) ?? "?")): \(output.suffix(600))")
    }
    return output
}

/// A Postgres of the test's own (initdb into a temp folder) that accepts ONLY TLS connections from TCP clients
/// (`ssl=on`, pg_hba.conf with `hostssl` lines only), with password (scram) authentication.
final class TLSPostgresServer {
    let port: Int
    let password = "pw-\(UUID().uuidString.prefix(12))"
    private let folder: URL
    private let binaries: String

    init(pki: ThrowawayPKI) throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []  // harmless: checked below
        let version = try #require(versions.compactMap(Int.init).max(), "Postgres is not installed (run scripts/bootstrap)")
        binaries = "/usr/lib/postgresql/\(version)/bin"
        port = try freePort()
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("quorum-tls-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let files = ["server.pem": pki.serverCertificate, "server.key": pki.serverKey]
        for (name, source) in files {
            try FileManager.default.copyItem(atPath: source, toPath: folder.appendingPathComponent(name).path)
        }
        try Data((password + "\n").utf8).write(to: folder.appendingPathComponent("pwfile"))
        try chmod(folder.appendingPathComponent("server.key").path, 0o600)
        if getuid() == 0 {
            try runTool("/usr/bin/chown", ["-R", "postgres:", folder.path])
        }
        let data = folder.appendingPathComponent("data").path
        try runTool("\(binaries)/initdb", ["-D", data, "-U", "quorum", "--pwfile=\(folder.path)/pwfile", "--auth-local=trust",
                                           "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"], asPostgresUser: true)
        // Only hostssl: a plain TCP client is refused ("no encryption").
        try runTool("/bin/sh", ["-c", "printf 'local all all trust\\nhostssl all all 127.0.0.1/32 scram-sha-256\\n"
                                + "hostssl all all ::1/128 scram-sha-256\\n' > \(data)/pg_hba.conf"], asPostgresUser: true)
        let options = "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories=\(folder.path) -c fsync=off"
            + " -c ssl=on -c ssl_cert_file=\(folder.path)/server.pem -c ssl_key_file=\(folder.path)/server.key"
        try runTool("\(binaries)/pg_ctl", ["-D", data, "-l", "\(folder.path)/postgres.log", "-w", "-t", "30", "-o", options, "start"],
                    asPostgresUser: true)
    }

    /// `postgres://quorum:PASSWORD@host:port/postgres?sslmode=…`
    func url(host: String, sslmode: String) -> String {
        "postgres://quorum:\(password)@\(host):\(port)/postgres?sslmode=\(sslmode)"
    }

    func stop() {
        let data = folder.appendingPathComponent("data").path
        _ = try? runTool("\(binaries)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "20", "stop"], asPostgresUser: true)  // harmless: cleanup; the folder goes next
        try? FileManager.default.removeItem(at: folder)  // harmless: a temp folder
    }

    private func chmod(_ path: String, _ mode: mode_t) throws {
        try FileManager.default.setAttributes([.posixPermissions: Int(mode)], ofItemAtPath: path)
    }
}

/// A TLS endpoint in front of a plain TCP server (the test's Tansu, whose `--cert`/`--key` do not enable TLS, see
/// docs/operations.md): it completes the TLS handshake with swift-nio-ssl using the throwaway server certificate and then
/// copies bytes both ways. librdkafka's side (OpenSSL: handshake, CA and host-name verification, Kafka over TLS) is real.
final class TLSTerminator: Sendable {
    let port: Int
    private let channel: any Channel

    /// Listens on 127.0.0.1:`port` and forwards each connection to 127.0.0.1:`backendPort`.
    init(pki: ThrowawayPKI, forwardingTo backendPort: Int, port: Int) throws {
        let certificates = try NIOSSLCertificate.fromPEMFile(pki.serverCertificate)
        let key = try NIOSSLPrivateKey(file: pki.serverKey, format: .pem)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        let context = try NIOSSLContext(configuration: configuration)
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)  // reading starts once the backend connection is up
            .childChannelInitializer { inbound in
                inbound.eventLoop.makeCompletedFuture {
                    try inbound.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }.flatMap {
                    ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: backendPort)
                }.flatMap { outbound in
                    let (a, b) = ForwardingHandler.pair()
                    return inbound.pipeline.addHandler(a).and(outbound.pipeline.addHandler(b)).map { _ in }
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        self.port = port
    }

    func stop() {
        try? channel.close().wait()  // harmless: test cleanup; open child connections end with the test process
    }
}

/// Copies what one channel reads to its partner (both on one event loop); closing one closes the other.
/// `@unchecked Sendable`: made before the channels use it, then touched only on their shared event loop.
private final class ForwardingHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var partner: ForwardingHandler?
    private var context: ChannelHandlerContext?

    static func pair() -> (ForwardingHandler, ForwardingHandler) {
        let a = ForwardingHandler(), b = ForwardingHandler()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.writeAndFlush(data, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
