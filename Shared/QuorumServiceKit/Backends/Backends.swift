import Logging
import QuorumBus
import QuorumKafka
import QuorumPostgres
import QuorumRedis
import QuorumTLS
import ServiceLifecycle

/// Which servers a service talks to.
public struct BackendNeeds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let kafka = BackendNeeds(rawValue: 1)
    public static let redis = BackendNeeds(rawValue: 2)
    public static let postgres = BackendNeeds(rawValue: 4)
    public static let all: BackendNeeds = [.kafka, .redis, .postgres]
}

/// The connections of one service process, built from the configuration, each with its readiness check.
///
/// `connect` checks each server once at start-up and fails with one clear line (no secrets) when one does
/// not answer, so the process exits non-zero and its supervisor restarts it. After start-up,
/// `/health/ready` reports each server through the checks registered here.
public struct Backends: Sendable {
    /// Topic names for this run (applies `topic.prefix`).
    public let namer: TopicNamer
    public let bus: KafkaBus?
    public let redis: RedisClient?
    public let postgres: PostgresStore?
    /// Services to run before the stage's own (the Postgres connection pool); put them first in the list.
    public let services: [any Service]

    /// The Kafka settings, with TLS when `kafka.tls.enabled` (its files checked here, naming the key that names them).
    public static func kafkaConfiguration(_ config: Configuration) throws -> KafkaConfiguration {
        KafkaConfiguration(
            brokers: config.list(CommonKeys.kafkaBrokers.name).joined(separator: ","),
            clientID: config.kafkaClientID,
            sessionTimeoutMs: config.int(CommonKeys.kafkaSessionTimeoutMs.name),
            lingerMs: config.int(CommonKeys.kafkaLingerMs.name),
            commitIntervalMs: config.int(CommonKeys.kafkaCommitIntervalMs.name),
            requestTimeoutMs: config.int(CommonKeys.kafkaRequestTimeoutMs.name),
            messageTimeoutMs: config.int(CommonKeys.kafkaMessageTimeoutMs.name),
            fetchWaitMaxMs: config.int(CommonKeys.kafkaFetchWaitMaxMs.name),
            tls: try kafkaTLS(config))
    }

    static func kafkaTLS(_ config: Configuration) throws -> KafkaConfiguration.TLS? {
        let enabled = CommonKeys.kafkaTLSEnabled.name
        let files: [(key: ConfigKey, content: PEMContent)] = [
            (CommonKeys.kafkaTLSCAFile, .caCertificates), (CommonKeys.kafkaTLSCertFile, .certificate),
            (CommonKeys.kafkaTLSKeyFile, .privateKey),
        ]
        guard config.bool(enabled) else {
            if let set = files.first(where: { !config.string($0.key.name).isEmpty }) {
                throw ConfigurationError(.conflict(
                    keys: [set.key.name, enabled],
                    reason: "\(set.key.name) is set but \(enabled) is false, so the brokers would be reached without TLS;"
                        + " set \(enabled)=true, or remove \(set.key.name)"))
            }
            return nil
        }
        let paths = try files.map { try checkedFile(config, $0.key, holds: $0.content) }
        if (paths[1] == nil) != (paths[2] == nil) {
            throw ConfigurationError(.conflict(
                keys: [CommonKeys.kafkaTLSCertFile.name, CommonKeys.kafkaTLSKeyFile.name],
                reason: "a client certificate needs its key: set both (mutual TLS) or neither"))
        }
        return KafkaConfiguration.TLS(caFile: paths[0], certificateFile: paths[1], keyFile: paths[2])
    }

    /// The Redis settings; a `rediss://` URL gets TLS trusting `redis.tls.ca.file` (checked here) or the system's store.
    public static func redisConfiguration(_ config: Configuration, namer: TopicNamer) throws -> RedisConfiguration {
        var redis = try RedisConfiguration(url: config.string(CommonKeys.redisURL.name),
                                           keyPrefix: RedisConfiguration.keyPrefix(forTopicPrefix: namer.prefix),
                                           commandTimeout: config.duration(CommonKeys.redisCommandTimeout.name))
        let caFile = try checkedFile(config, CommonKeys.redisTLSCAFile, holds: .caCertificates)
        if caFile != nil && redis.tls == nil {
            throw ConfigurationError(.conflict(
                keys: [CommonKeys.redisTLSCAFile.name, CommonKeys.redisURL.name],
                reason: "\(CommonKeys.redisTLSCAFile.name) is set but \(CommonKeys.redisURL.name) is not a rediss:// URL, so"
                    + " Redis would be reached without TLS; write rediss://host:port, or remove \(CommonKeys.redisTLSCAFile.name)"))
        }
        redis.tls?.caFile = caFile
        return redis
    }

    /// The Postgres settings; a run with a topic prefix works in its own schema (see `PostgresConfiguration.schema`).
    /// `postgres.tls.ca.file` (checked here) sets the CA file unless the URL's `sslrootcert` does.
    public static func postgresConfiguration(_ config: Configuration) throws -> PostgresConfiguration {
        var c = try PostgresConfiguration(url: config.string(CommonKeys.postgresURL.name),
                                          maximumConnections: config.int(CommonKeys.postgresPoolSize.name),
                                          connectTimeout: config.duration(CommonKeys.postgresConnectTimeout.name))
        c.schema = PostgresConfiguration.schema(forTopicPrefix: config.string(CommonKeys.topicPrefix.name))
        let keyFile = try checkedFile(config, CommonKeys.postgresTLSCAFile, holds: .caCertificates)
        if let keyFile, let urlFile = c.caFile, urlFile != keyFile {
            throw ConfigurationError(.conflict(
                keys: [CommonKeys.postgresTLSCAFile.name, CommonKeys.postgresURL.name],
                reason: "\(CommonKeys.postgresTLSCAFile.name) (\(keyFile)) and sslrootcert= in \(CommonKeys.postgresURL.name)"
                    + " (\(urlFile)) name different CA files; keep one"))
        }
        if let urlFile = c.caFile, keyFile == nil {
            do throws(PEMFileError) {
                try PEMFile.check(urlFile, holds: .caCertificates)
            } catch {
                throw ConfigurationError(.badFile(key: CommonKeys.postgresURL.name + " (sslrootcert)",
                                                  source: config.source(of: CommonKeys.postgresURL.name),
                                                  reason: error.reason, remedy: error.remedy))
            }
        }
        if keyFile ?? c.caFile != nil, c.tls == .disable {
            throw ConfigurationError(.conflict(
                keys: [CommonKeys.postgresTLSCAFile.name, CommonKeys.postgresURL.name],
                reason: "a CA file is set but \(CommonKeys.postgresURL.name) has sslmode=disable, so Postgres would be reached"
                    + " without TLS; use sslmode=verify-full, or remove the CA file"))
        }
        c.caFile = keyFile ?? c.caFile
        return c
    }

    /// The path a file key names, checked to be a readable PEM file of `content`; `nil` when the key is empty.
    static func checkedFile(_ config: Configuration, _ key: ConfigKey, holds content: PEMContent) throws -> String? {
        let path = config.string(key.name)
        guard !path.isEmpty else { return nil }
        do throws(PEMFileError) {
            try PEMFile.check(path, holds: content)
        } catch {
            throw ConfigurationError(.badFile(key: key.name, source: config.source(of: key.name),
                                              reason: error.reason, remedy: error.remedy))
        }
        return path
    }

    /// Connects what `needs` asks for: checks each server, creates the topics (with dead-letter twins) and
    /// applies the Postgres migrations, and registers a readiness check per server. With `createTopics`, a `TopicGuard`
    /// (in `services`) keeps re-creating topics the broker lost, with its readiness check `topics`.
    public static func connect(_ context: QuorumContext, needs: BackendNeeds, createTopics: Bool = true,
                               migrate: Bool = true) async throws -> Backends {
        let config = context.config
        let logger = context.logger
        let namer = try TopicNamer(prefix: config.string(CommonKeys.topicPrefix.name))
        var bus: KafkaBus?
        var redis: RedisClient?
        var postgres: PostgresStore?
        var services: [any Service] = []

        if needs.contains(.kafka) {
            let kafka = try KafkaBus(configuration: kafkaConfiguration(config), logger: logger)
            try await kafka.checkConnection()
            await context.health.register(ClosureCheck("kafka") { try await kafka.checkConnection(timeout: .seconds(2)) })
            if createTopics {
                try await kafka.createTopics(namer.specsWithNames())
                let guardian = TopicGuard(bus: kafka, specs: namer.specsWithNames(),
                                          interval: config.duration(CommonKeys.kafkaTopicsCheckInterval.name), logger: logger)
                await context.health.register(guardian.check)
                services.append(guardian)
            }
            bus = kafka
        }
        if needs.contains(.redis) {
            let client = RedisClient(configuration: try redisConfiguration(config, namer: namer), logger: logger)
            try await client.ping()
            await context.health.register(ClosureCheck("redis") { try await client.ping() })
            redis = client
        }
        if needs.contains(.postgres) {
            let store = PostgresStore(configuration: try postgresConfiguration(config), logger: logger)
            if migrate { try await store.migrate() } else { try await store.checkConnection() }
            await context.health.register(ClosureCheck("postgres") { try await store.ping() })
            services.append(PostgresPoolService(store: store))
            postgres = store
        }
        logger.info("backends connected", metadata: [
            "topic.prefix": .string(namer.prefix),
            "backends": .string([bus.map { _ in "kafka" }, redis.map { _ in "redis" }, postgres.map { _ in "postgres" }]
                .compactMap { $0 }.joined(separator: ",")),
        ])
        return Backends(namer: namer, bus: bus, redis: redis, postgres: postgres, services: services)
    }
}

/// Runs the Postgres connection pool for the life of the process (ends on graceful shutdown).
struct PostgresPoolService: Service {
    let store: PostgresStore
    func run() async throws {
        await cancelWhenGracefulShutdown { await store.run() }
    }
}

/// Runs a `ConsumerLoop` as a service. On graceful shutdown it stops taking messages, lets the in-flight
/// message finish, commits, closes the consumer and flushes the producer, then returns.
public struct ConsumerLoopService: Service {
    public let loop: ConsumerLoop
    public let producer: (any MessageProducer)?
    let handler: @Sendable (IncomingMessage) async throws -> Void

    public init(loop: ConsumerLoop, producer: (any MessageProducer)? = nil,
                handler: @escaping @Sendable (IncomingMessage) async throws -> Void) {
        self.loop = loop
        self.producer = producer
        self.handler = handler
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await loop.run(handler)
        } onGracefulShutdown: {
            loop.stop()
        }
        await loop.consumer.close()
        try? await producer?.flush(timeout: .seconds(10))  // harmless: the loop awaited every send's ack before committing
    }
}
