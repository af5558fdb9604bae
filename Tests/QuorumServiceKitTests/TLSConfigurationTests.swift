import Foundation
import Logging
import QuorumBus
import QuorumKafka
import QuorumPostgres
import QuorumRedis
import QuorumServiceKit
import Testing

/// The TLS keys without servers: each bad file or bad combination stops start-up with an error that names the key, the
/// path and what to do, and never shows a file's content or a password.
@Suite("TLSConfigurationTests")
struct TLSConfigurationTests {
    /// A temp folder with: a CA file, a file that is not PEM (holding a fake secret), and a sub-folder.
    struct Files {
        let folder: URL
        var ca: String { folder.appendingPathComponent("ca.pem").path }
        var notPEM: String { folder.appendingPathComponent("not-pem.txt").path }
        var missing: String { folder.appendingPathComponent("missing.pem").path }
        var directory: String { folder.path }
        static let secretContent = "hunter2-private-key-material"

        init() throws {
            folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("quorum-tls-config-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try runTool("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                             "-keyout", folder.appendingPathComponent("ca.key").path, "-out", ca, "-days", "1",
                                             "-subj", "/CN=test"])
            try Data("not a certificate: \(Self.secretContent)\n".utf8).write(to: URL(fileURLWithPath: notPEM))
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }  // harmless: a temp folder
    }

    func configuration(_ values: [String: String]) throws -> Configuration {
        try Configuration(registry: .standard, values: values)
    }

    /// The ConfigurationError thrown by `body`, checked to name `key` and to hold no secret.
    func configurationError(naming key: String, _ body: () throws -> Void) throws -> String {
        let error = #expect(throws: ConfigurationError.self) { try body() }
        let text = "\(try #require(error))"
        #expect(text.contains(key), "\(text)")
        #expect(!text.contains(Files.secretContent) && !text.contains("s3cret-pw"), "a secret leaked: \(text)")
        return text
    }

    @Test("a CA file that is missing, a directory or not PEM is an error naming the key, the path and what to do",
          arguments: ["kafka.tls.ca.file", "redis.tls.ca.file", "postgres.tls.ca.file"])
    func badCAFile(key: String) throws {
        let files = try Files()
        defer { files.remove() }
        var base: [String: String] = [:]
        switch key {
        case "kafka.tls.ca.file": base = ["kafka.tls.enabled": "true"]
        case "redis.tls.ca.file": base = ["redis.url": "rediss://:s3cret-pw@localhost:6380"]
        default: base = ["postgres.url": "postgres://quorum:s3cret-pw@localhost/quorum?sslmode=verify-full"]
        }
        func load(_ path: String) throws {
            let config = try configuration(base.merging([key: path]) { _, new in new })
            _ = try Backends.kafkaConfiguration(config)
            _ = try Backends.redisConfiguration(config, namer: TopicNamer(prefix: ""))
            _ = try Backends.postgresConfiguration(config)
        }
        let missing = try configurationError(naming: key) { try load(files.missing) }
        #expect(missing.contains(files.missing) && missing.contains("does not exist") && missing.contains("CA that signed"), "\(missing)")
        let directory = try configurationError(naming: key) { try load(files.directory) }
        #expect(directory.contains("is a directory"), "\(directory)")
        let notPEM = try configurationError(naming: key) { try load(files.notPEM) }
        #expect(notPEM.contains(files.notPEM) && notPEM.contains("is not PEM"), "\(notPEM)")
        // The good file passes, and reaches the adapter's settings.
        let config = try configuration(base.merging([key: files.ca]) { _, new in new })
        #expect(try Backends.kafkaConfiguration(config).tls?.caFile == (key == "kafka.tls.ca.file" ? files.ca : nil))
        #expect(try Backends.redisConfiguration(config, namer: TopicNamer(prefix: "")).tls?.caFile == (key == "redis.tls.ca.file" ? files.ca : nil))
        #expect(try Backends.postgresConfiguration(config).caFile == (key == "postgres.tls.ca.file" ? files.ca : nil))
    }

    @Test("TLS files for a plain connection, or a certificate without its key, are errors instead of a silently plain connection")
    func conflicts() throws {
        let files = try Files()
        defer { files.remove() }
        let kafka = try configurationError(naming: "kafka.tls.enabled") {
            _ = try Backends.kafkaConfiguration(try configuration(["kafka.tls.ca.file": files.ca]))
        }
        #expect(kafka.contains("kafka.tls.ca.file"), "\(kafka)")
        let pair = try configurationError(naming: "kafka.tls.key.file") {
            _ = try Backends.kafkaConfiguration(try configuration(["kafka.tls.enabled": "true", "kafka.tls.cert.file": files.ca]))
        }
        #expect(pair.contains("kafka.tls.cert.file"), "\(pair)")
        let notAKey = try configurationError(naming: "kafka.tls.key.file") {
            _ = try Backends.kafkaConfiguration(try configuration(["kafka.tls.enabled": "true", "kafka.tls.cert.file": files.ca,
                                                                   "kafka.tls.key.file": files.notPEM]))
        }
        #expect(notAKey.contains("PRIVATE KEY"), "\(notAKey)")
        let encryptedKey = files.folder.appendingPathComponent("encrypted.key").path
        try runTool("/usr/bin/openssl", ["pkey", "-in", files.folder.appendingPathComponent("ca.key").path, "-out", encryptedKey,
                                         "-aes256", "-passout", "pass:s3cret-pw"])
        let encrypted = try configurationError(naming: "kafka.tls.key.file") {
            _ = try Backends.kafkaConfiguration(try configuration(["kafka.tls.enabled": "true", "kafka.tls.cert.file": files.ca,
                                                                   "kafka.tls.key.file": encryptedKey]))
        }
        #expect(encrypted.contains(encryptedKey) && encrypted.contains("encrypted with a passphrase"), "\(encrypted)")
        // A good pair passes.
        let pairTLS = try Backends.kafkaConfiguration(try configuration([
            "kafka.tls.enabled": "true", "kafka.tls.cert.file": files.ca, "kafka.tls.key.file": files.folder.appendingPathComponent("ca.key").path]))
        #expect(pairTLS.tls?.certificateFile == files.ca && pairTLS.tls?.caFile == nil)
        let redis = try configurationError(naming: "redis.tls.ca.file") {
            _ = try Backends.redisConfiguration(try configuration(["redis.url": "redis://:s3cret-pw@localhost", "redis.tls.ca.file": files.ca]),
                                                namer: TopicNamer(prefix: ""))
        }
        #expect(redis.contains("rediss://"), "\(redis)")
        _ = try configurationError(naming: "postgres.tls.ca.file") {
            _ = try Backends.postgresConfiguration(try configuration([
                "postgres.url": "postgres://quorum:s3cret-pw@localhost/quorum?sslmode=disable", "postgres.tls.ca.file": files.ca]))
        }
        _ = try configurationError(naming: "postgres.tls.ca.file") {
            _ = try Backends.postgresConfiguration(try configuration([
                "postgres.url": "postgres://quorum:s3cret-pw@localhost/quorum?sslmode=verify-full&sslrootcert=\(files.notPEM)",
                "postgres.tls.ca.file": files.ca]))
        }
        let urlFile = try configurationError(naming: "sslrootcert") {
            _ = try Backends.postgresConfiguration(try configuration([
                "postgres.url": "postgres://quorum:s3cret-pw@localhost/quorum?sslmode=verify-full&sslrootcert=\(files.missing)"]))
        }
        #expect(urlFile.contains(files.missing) && urlFile.contains("does not exist"), "\(urlFile)")
    }

    @Test("kafka.tls.* reach librdkafka: it loads the CA file at client creation (and rejects one that is not a certificate)")
    func kafkaSettingsReachLibrdkafka() throws {
        let files = try Files()
        defer { files.remove() }
        let logger = Logger(label: "test")
        // A valid CA: the client is created (librdkafka is built with TLS and accepted every ssl.* property).
        _ = try KafkaBus(configuration: KafkaConfiguration(brokers: "localhost:1", tls: .init(caFile: files.ca)), logger: logger)
        // Bypassing the start-up check: librdkafka itself reads ssl.ca.location and refuses the file.
        let error = #expect(throws: BusError.self) {
            _ = try KafkaBus(configuration: KafkaConfiguration(brokers: "localhost:1", tls: .init(caFile: files.notPEM)), logger: logger)
        }
        let text = "\(try #require(error))"
        #expect(text.contains("ssl.ca.location"), "\(text)")
        #expect(!text.contains(Files.secretContent), "\(text)")
    }
}
