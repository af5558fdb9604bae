import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPostgres
import QuorumRedis
import QuorumServiceKit
import Testing

/// TLS to real servers that the tests start themselves, with a throwaway CA made by `openssl` (``ThrowawayPKI``): a
/// Postgres that accepts only TLS, a redis-server with only a TLS port, and (Kafka) librdkafka against a TLS endpoint in
/// front of the test's own Tansu. Each test checks that the right CA works end to end, and that a different CA, a host the
/// certificate does not name, and a plain connection each fail with an error that says so (and holds no password).
///
/// The configurations are built the way a service builds them (``Backends``' functions from configuration keys), so the
/// keys documented in docs/configuration.md are what is tested.
@Suite("TLSIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct TLSIntegrationTests {
    static let tansu = ProcessInfo.processInfo.environment["QUORUM_TOOLS"].map { $0 + "/bin/tansu" }
        ?? "/usr/local/lib/quorum-tools/bin/tansu"

    var logger: Logger {
        var logger = Logger(label: "quorum.tls.tests")
        logger.logLevel = .critical
        return logger
    }

    func configuration(_ values: [String: String]) throws -> Configuration {
        try Configuration(registry: .standard, values: values)
    }

    // MARK: Postgres

    /// Runs `body` with a store (its pool running) made from the keys.
    func withStore<T: Sendable>(_ values: [String: String], _ body: (PostgresStore) async throws -> T) async throws -> T {
        let store = PostgresStore(configuration: try Backends.postgresConfiguration(configuration(values)), logger: logger)
        let pool = Task { await store.run() }
        defer { pool.cancel() }
        return try await body(store)
    }

    /// The error of `body`, as a ``PostgresStoreError``.
    func postgresError(_ values: [String: String], password: String, _ body: @escaping (PostgresStore) async throws -> Void) async throws -> PostgresStoreError {
        let error = await #expect(throws: PostgresStoreError.self) {
            try await withStore(values) { try await body($0) }
        }
        let storeError = try #require(error)
        #expect(!"\(storeError)".contains(password), "the password leaked: \(storeError)")
        return storeError
    }

    @Test("Postgres: verify-full with the CA works over TLS; another CA, a name not in the certificate and a plain connection fail clearly")
    func postgres() async throws {
        let pki = try ThrowawayPKI.make()
        defer { pki.remove() }
        let server = try TLSPostgresServer(pki: pki)
        defer { server.stop() }
        let logger = self.logger

        // The CA from postgres.tls.ca.file, the host named in the certificate: a query runs, on a TLS connection.
        let encrypted = try await withStore([
            "postgres.url": server.url(host: "localhost", sslmode: "verify-full"), "postgres.tls.ca.file": pki.caFile,
        ]) { store in
            try await store.checkConnection()
            return try await store.withConnection { connection in
                var ssl = false
                let rows = try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: logger)
                for try await (flag,) in rows.decode((Bool,).self) { ssl = flag }
                return ssl
            }
        }
        #expect(encrypted, "pg_stat_ssl says the session is not encrypted")

        // The same CA given libpq's way, in the URL.
        try await withStore([
            "postgres.url": server.url(host: "localhost", sslmode: "verify-full") + "&sslrootcert=\(pki.caFile)",
        ]) { try await $0.checkConnection() }

        // verify-ca does not check the name: 127.0.0.1 is not in the certificate, and that is accepted.
        try await withStore([
            "postgres.url": server.url(host: "127.0.0.1", sslmode: "verify-ca"), "postgres.tls.ca.file": pki.caFile,
        ]) { try await $0.checkConnection() }

        // verify-full refuses a certificate that does not name the host connected to.
        let wrongName = try await postgresError([
            "postgres.url": server.url(host: "127.0.0.1", sslmode: "verify-full"), "postgres.tls.ca.file": pki.caFile,
        ], password: server.password) { try await $0.checkConnection() }
        #expect(wrongName.code == .tls && !wrongName.isRetriable)
        #expect("\(wrongName)".contains("does not name the host"), "\(wrongName)")

        // A CA that did not sign the server's certificate.
        let otherCA = try await postgresError([
            "postgres.url": server.url(host: "localhost", sslmode: "verify-full"), "postgres.tls.ca.file": pki.otherCAFile,
        ], password: server.password) { try await $0.checkConnection() }
        #expect(otherCA.code == .tls && !otherCA.isRetriable)
        #expect("\(otherCA)".contains("not signed by a trusted CA"), "\(otherCA)")

        // The pool (ping) reports the same as a one-off connection.
        let otherCAPing = try await postgresError([
            "postgres.url": server.url(host: "localhost", sslmode: "verify-full"), "postgres.tls.ca.file": pki.otherCAFile,
        ], password: server.password) { try await $0.ping(timeout: .seconds(5)) }
        #expect(otherCAPing.code == .tls, "\(otherCAPing)")

        // A plain connection to a server that accepts only TLS.
        let plain = try await postgresError([
            "postgres.url": server.url(host: "localhost", sslmode: "disable"),
        ], password: server.password) { try await $0.checkConnection() }
        #expect(plain.code == .tls, "\(plain)")
        #expect("\(plain)".contains("accepts only TLS"), "\(plain)")
    }

    // MARK: Redis

    func redisClient(_ values: [String: String]) throws -> RedisClient {
        var config = try Backends.redisConfiguration(configuration(values), namer: TopicNamer(prefix: ""))
        config.commandTimeout = .seconds(5)
        return RedisClient(configuration: config, logger: logger)
    }

    func redisError(_ values: [String: String]) async throws -> RedisError {
        let client = try redisClient(values)
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        await client.close()
        return try #require(error)
    }

    @Test("Redis: rediss:// with the CA runs SET and GET through the TLS tunnel; another CA, a name not in the certificate and plain redis:// fail clearly")
    func redis() async throws {
        let pki = try ThrowawayPKI.make()
        defer { pki.remove() }
        let port = try freePort()
        // TLS only: --port 0 closes the plain port.
        let server = ServerProcess(executable: "/usr/bin/redis-server", arguments: [
            "--bind", "127.0.0.1", "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", pki.serverCertificate,
            "--tls-key-file", pki.serverKey, "--tls-ca-cert-file", pki.caFile, "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no", "--dir", pki.folder.path,
        ])
        try server.start()
        defer { server.stop() }
        try await waitForPort(port)

        let client = try redisClient(["redis.url": "rediss://localhost:\(port)", "redis.tls.ca.file": pki.caFile])
        let key = "tls-test-\(UUID().uuidString.prefix(8))"
        #expect(try await client.command(["SET", key, "over tls"]) == .status("OK"))
        #expect(try await client.command(["GET", key]) == .bytes(Array("over tls".utf8)))
        // Binary values and a pipeline cross the tunnel unchanged.
        let blob = (0..<70_000).map { UInt8($0 % 251) }
        let replies = try await client.pipeline([[Array("SET".utf8), Array(key.utf8), blob], [Array("GET".utf8), Array(key.utf8)]])
        #expect(replies.last == .bytes(blob))
        // A server restart closes the tunnel; the client reconnects through a new one (a command caught in the break
        // fails with connectionLost, as on plain TCP; the next one runs).
        server.stop()
        try server.start()
        try await waitForPort(port)
        var firstError: RedisError?
        do {
            try await client.ping()
        } catch {
            firstError = error
        }
        #expect(firstError == nil || firstError?.code == .connectionLost, "\(String(describing: firstError))")
        if firstError != nil { try await client.ping() }
        await client.close()

        let otherCA = try await redisError(["redis.url": "rediss://localhost:\(port)", "redis.tls.ca.file": pki.otherCAFile])
        #expect(otherCA.code == .tlsFailed && !otherCA.isRetriable, "\(otherCA)")
        #expect(otherCA.description.contains("not signed by a trusted CA"), "\(otherCA)")

        let wrongName = try await redisError(["redis.url": "rediss://127.0.0.1:\(port)", "redis.tls.ca.file": pki.caFile])
        #expect(wrongName.code == .tlsFailed, "\(wrongName)")
        #expect(wrongName.description.contains("does not name the host"), "\(wrongName)")

        let plain = try await redisError(["redis.url": "redis://localhost:\(port)"])
        #expect(plain.code == .connectionLost || plain.code == .connectionFailed, "\(plain)")
        #expect(plain.description.contains("rediss://"), "\(plain)")
    }

    // MARK: Kafka

    func kafkaBus(_ values: [String: String]) throws -> KafkaBus {
        let config = try configuration(values.merging(["kafka.session.timeout.ms": "6000", "kafka.request.timeout.ms": "3000"]) { a, _ in a })
        return try KafkaBus(configuration: Backends.kafkaConfiguration(config), logger: logger)
    }

    func kafkaError(_ values: [String: String]) async throws -> String {
        let bus = try kafkaBus(values)
        let error = await #expect(throws: BusError.self) { try await bus.checkConnection(timeout: .seconds(2)) }
        return "\(try #require(error))"
    }

    @Test("Kafka: librdkafka with security.protocol=ssl and the CA produces and consumes through a TLS endpoint; another CA, a name not in the certificate and plain TCP fail clearly")
    func kafka() async throws {
        let pki = try ThrowawayPKI.make()
        defer { pki.remove() }
        let brokerPort = try freePort()
        let tlsPort = try freePort()
        // The broker advertises the TLS endpoint, under the name in the certificate, so every connection librdkafka
        // makes (bootstrap, then the advertised broker) is TLS and verified.
        let broker = ServerProcess(executable: Self.tansu, arguments: [
            "broker", "--listener-url", "tcp://127.0.0.1:\(brokerPort)", "--advertised-listener-url", "tcp://localhost:\(tlsPort)",
            "--storage-engine", "memory://tansu/",
        ])
        try broker.start()
        defer { broker.stop() }
        try await waitForPort(brokerPort)
        let terminator = try TLSTerminator(pki: pki, forwardingTo: brokerPort, port: tlsPort)
        defer { terminator.stop() }

        let bus = try kafkaBus(["kafka.brokers": "localhost:\(tlsPort)", "kafka.tls.enabled": "true", "kafka.tls.ca.file": pki.caFile])
        try await bus.checkConnection()
        let topic = "test.tls.\(UUID().uuidString.prefix(8).lowercased())"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 1,
                                              retentionMs: 3_600_000, summary: "test")])
        let producer = try bus.makeProducer(clientID: "tls-producer")
        _ = try await producer.send([OutgoingMessage(topic: topic, key: "BTC-USD", value: Array("over tls".utf8))])
        await producer.close()
        let consumer = try bus.makeConsumer(group: "g-\(topic)", topics: [topic], clientID: "tls-consumer", startAt: .earliest)
        let message = try await consumer.next()
        await consumer.close()
        #expect(message.map { String(decoding: $0.value, as: UTF8.self) } == "over tls")

        // The three failures run side by side (each waits out the check's 2 s).
        async let otherCAResult = kafkaError(["kafka.brokers": "localhost:\(tlsPort)", "kafka.tls.enabled": "true",
                                              "kafka.tls.ca.file": pki.otherCAFile])
        // The right CA, but 127.0.0.1 is not in the certificate (librdkafka says "certificate verify failed" for both).
        async let wrongNameResult = kafkaError(["kafka.brokers": "127.0.0.1:\(tlsPort)", "kafka.tls.enabled": "true",
                                                "kafka.tls.ca.file": pki.caFile])
        // A plain client at the TLS port: librdkafka's own diagnosis reaches the error.
        async let plainResult = kafkaError(["kafka.brokers": "localhost:\(tlsPort)"])
        let (otherCA, wrongName, plain) = try await (otherCAResult, wrongNameResult, plainResult)
        #expect(otherCA.contains("certificate verify failed"), "\(otherCA)")
        #expect(wrongName.contains("certificate verify failed"), "\(wrongName)")
        #expect(plain.contains("SSL listener"), "\(plain)")
    }
}

