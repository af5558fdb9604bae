/// The type of a configuration value; decides how text from a file, the environment or a flag is parsed.
public enum ConfigValueType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Any text.
    case string
    /// A whole number such as `6000` or `-1`.
    case int
    /// A decimal number such as `0.25`.
    case double
    /// `true`/`false` (also accepted: `1`/`0`, `yes`/`no`, `on`/`off`).
    case bool
    /// A number with a unit: `250ms`, `30s`, `5m`, `1h` (`0` alone is also accepted).
    case duration
    /// An absolute URL with a scheme, such as `redis://127.0.0.1:6379`.
    case url
    /// A comma-separated list such as `a,b,c` (in a JSON file: an array of strings or a comma-separated string).
    case list

    public var description: String { rawValue }

    /// A short human description of what a value of this type looks like, used in error messages.
    public var expectation: String {
        switch self {
        case .string: "text"
        case .int: "a whole number (e.g. 6000)"
        case .double: "a decimal number (e.g. 0.25)"
        case .bool: "true or false"
        case .duration: "a duration with a unit: ms, s, m or h (e.g. 250ms, 30s)"
        case .url: "an absolute URL with a scheme (e.g. redis://127.0.0.1:6379)"
        case .list: "a comma-separated list (e.g. a,b,c)"
        }
    }
}

/// One known configuration key: its name, type, default, documentation and whether it is secret.
///
/// Every key a service reads must be registered (see ``ConfigRegistry``); reading an unregistered key is a
/// programming error, and setting an unknown key from a file, the environment or a flag is a start-up error.
public struct ConfigKey: Sendable, Hashable {
    /// Dotted lower-case name, e.g. `kafka.brokers`.
    public var name: String
    /// How values are parsed and which typed accessor reads it.
    public var type: ConfigValueType
    /// The default value in the same text form as the environment or a flag would give it.
    /// An empty string means "unset" for string, url and list keys (the doc says what happens then).
    public var defaultValue: String
    /// One-line description for docs/configuration.md.
    public var doc: String
    /// When `true` the value is never printed or logged (shown as `***`).
    public var secret: Bool

    public init(_ name: String, _ type: ConfigValueType, default defaultValue: String, doc: String, secret: Bool = false) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
        self.secret = secret
    }

    /// The environment variable that sets this key: `QUORUM_` + upper-cased name with dots as underscores.
    /// `kafka.brokers` ↔ `QUORUM_KAFKA_BROKERS`.
    public var environmentVariable: String {
        ConfigKey.environmentPrefix + name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 }.map(String.init).joined()
    }

    /// Only environment variables with this prefix are read.
    public static let environmentPrefix = "QUORUM_"
}

/// The keys common to every Quorum service.
///
/// Services add their own keys through ``ConfigRegistry/register(_:)`` (or the `extraKeys:` of ``ServiceRunner``)
/// and may change a common key's default with ``ConfigRegistry/overrideDefault(_:_:)``.
public enum CommonKeys {
    public static let serviceName = ConfigKey(
        "service.name", .string, default: "quorum",
        doc: "Service name, used in logs, metrics and the Kafka client id. Each executable sets its own default.")
    public static let serviceInstance = ConfigKey(
        "service.instance", .string, default: "",
        doc: "Instance id of this process; empty means `<hostname>-<pid>`.")
    public static let httpHost = ConfigKey(
        "http.host", .string, default: "127.0.0.1",
        doc: "Address the health/metrics HTTP server binds to.")
    public static let httpPort = ConfigKey(
        "http.port", .int, default: "0",
        doc: "Port of the health/metrics HTTP server; 0 picks a free port (logged at start).")
    public static let logLevel = ConfigKey(
        "log.level", .string, default: "info",
        doc: "Lowest log level written: trace, debug, info, notice, warning, error or critical.")
    public static let logFormat = ConfigKey(
        "log.format", .string, default: "json",
        doc: "Log line format on stderr: json (one object per line) or text.")
    public static let kafkaBrokers = ConfigKey(
        "kafka.brokers", .list, default: "127.0.0.1:9092",
        doc: "Kafka bootstrap servers, comma-separated host:port.")
    public static let kafkaClientID = ConfigKey(
        "kafka.client.id", .string, default: "",
        doc: "Kafka client id; empty means `<service.name>-<service.instance>`.")
    public static let kafkaSessionTimeoutMs = ConfigKey(
        "kafka.session.timeout.ms", .int, default: "6000",
        doc: "Consumer group session timeout in milliseconds (the broker assigns partitions after about half of it).")
    public static let kafkaLingerMs = ConfigKey(
        "kafka.linger.ms", .int, default: "5",
        doc: "Producer linger in milliseconds (batching delay).")
    public static let kafkaCommitIntervalMs = ConfigKey(
        "kafka.commit.interval.ms", .int, default: "1000",
        doc: "How often offsets marked done (after a message's effects are durable) are committed, in milliseconds.")
    public static let kafkaRequestTimeoutMs = ConfigKey(
        "kafka.request.timeout.ms", .int, default: "10000",
        doc: "Limit for admin and metadata requests and the start-up broker check, in milliseconds.")
    public static let kafkaMessageTimeoutMs = ConfigKey(
        "kafka.message.timeout.ms", .int, default: "30000",
        doc: "A published message that is not acknowledged within this many milliseconds fails (retriable).")
    public static let kafkaFetchWaitMaxMs = ConfigKey(
        "kafka.fetch.wait.max.ms", .int, default: "10",
        doc: "Longest a consumer fetch waits at the broker for new data, in milliseconds; the local broker answers a waiting fetch only when the wait ends, so a message published to an idle partition can wait this long at the broker (the consumer hands it over as soon as it arrives; a hop also costs the producer's `kafka.linger.ms` and the handler). Also the delay before a partition is fetched again after the consumer's local queue was full (librdkafka `fetch.queue.backoff.ms`, whose 1000 ms default stalled a busy consumer for ~0.85 s at a time).")
    public static let kafkaTopicsCheckInterval = ConfigKey(
        "kafka.topics.check.interval", .duration, default: "5s",
        doc: "How often a service that creates topics looks whether the run's topics are all on the broker and re-creates missing ones from the topic registry (a restart of the local broker loses them); its readiness check `topics` fails meanwhile.")
    public static let kafkaTLSEnabled = ConfigKey(
        "kafka.tls.enabled", .bool, default: "false",
        doc: "Connect to the brokers over TLS (librdkafka `security.protocol=ssl`): the broker's certificate must chain to a CA in `kafka.tls.ca.file` (or the system's trust store) and name the broker's host (`ssl.endpoint.identification.algorithm=https`; the host of `kafka.brokers`, then each broker's advertised host). The `kafka.tls.*` files are checked at start-up.")
    public static let kafkaTLSCAFile = ConfigKey(
        "kafka.tls.ca.file", .string, default: "",
        doc: "PEM file of the CA certificate(s) that signed the brokers' certificates (librdkafka `ssl.ca.location`); empty uses the system's trust store. Needs `kafka.tls.enabled`.")
    public static let kafkaTLSCertFile = ConfigKey(
        "kafka.tls.cert.file", .string, default: "",
        doc: "PEM client certificate for brokers that require one (mutual TLS, `ssl.certificate.location`); set together with `kafka.tls.key.file`. Needs `kafka.tls.enabled`.")
    public static let kafkaTLSKeyFile = ConfigKey(
        "kafka.tls.key.file", .string, default: "",
        doc: "Unencrypted PEM private key of `kafka.tls.cert.file` (`ssl.key.location`); only its path is ever shown. Needs `kafka.tls.enabled`.")
    public static let stagePublishRetryLimit = ConfigKey(
        "stage.publish.retry.limit", .int, default: "5",
        doc: "Stages: after this many failed attempts in a row to persist or publish a batch, readiness check `stage` fails with the last error (the stage keeps retrying, every 5 s at most, and is ready again once an attempt succeeds).")
    public static let stageUnassignedTimeout = ConfigKey(
        "stage.unassigned.timeout", .duration, default: "30s",
        doc: "Stages: when the stage's consumer has owned no partition for this long, readiness check `stage` fails saying so. Meanwhile the stage replaces a consumer that lost its partitions and owns none for 10 s by a new member of the group (once; a new member waiting for its first assignment is left alone) (librdkafka itself would notice re-created topics only at its 5-minute metadata refresh). Keep it above half of `kafka.session.timeout.ms`, and run no more members of a group than its topics have partitions.")
    public static let stageCheckpointInterval = ConfigKey(
        "stage.checkpoint.interval", .duration, default: "30s",
        doc: "Stateful stages (features, inference, consensus, risk, execution, monitor): how often, at most, the stage writes a checkpoint of its state with the input offsets it covers (Postgres `stage_checkpoints`, one row per group; also when it stops). A restarted stage restores it and re-reads only the records after it, so restarts do not depend on the topics' retention. `0s` disables checkpoints (the stage then rebuilds from its inputs' beginning).")
    public static let topicPrefix = ConfigKey(
        "topic.prefix", .string, default: "",
        doc: "Prefix put before every topic name (e.g. `replay-42`) so that a replay runs beside live traffic; its Redis keys and Postgres schema (`replay_42`) are separate too.")
    public static let redisURL = ConfigKey(
        "redis.url", .url, default: "redis://127.0.0.1:6379",
        doc: "Redis server URL (hot, reconstructible state); may contain a password. `rediss://host:port` connects over TLS: the server's certificate must chain to a CA in `redis.tls.ca.file` (or the system's trust store) and name the host.", secret: true)
    public static let redisTLSCAFile = ConfigKey(
        "redis.tls.ca.file", .string, default: "",
        doc: "PEM file of the CA certificate(s) that signed the Redis server's certificate, for a `rediss://` URL; empty uses the system's trust store. Checked at start-up.")
    public static let redisCommandTimeout = ConfigKey(
        "redis.command.timeout", .duration, default: "5s",
        doc: "Limit for one Redis command or pipeline, including a wait for a reconnect.")
    public static let postgresURL = ConfigKey(
        "postgres.url", .url, default: "postgres://quorum@127.0.0.1:5432/quorum",
        doc: "Postgres connection URL (durable records); may contain a password. `?sslmode=` as in libpq: `disable`, `prefer` (the default), `require`, `verify-ca` (TLS; the certificate must chain to a trusted CA) or `verify-full` (also the host must be named in the certificate; `prefer` and `require` check as much when TLS is used); `&sslrootcert=/path/ca.pem` names the CA file like `postgres.tls.ca.file`.", secret: true)
    public static let postgresTLSCAFile = ConfigKey(
        "postgres.tls.ca.file", .string, default: "",
        doc: "PEM file of the CA certificate(s) that signed the Postgres server's certificate (libpq's `sslrootcert`; the URL may give it instead, not both differently); empty uses the system's trust store. Checked at start-up.")
    public static let postgresPoolSize = ConfigKey(
        "postgres.pool.size", .int, default: "10",
        doc: "Largest number of Postgres connections of one process.")
    public static let postgresConnectTimeout = ConfigKey(
        "postgres.connect.timeout", .duration, default: "5s",
        doc: "Limit for opening one Postgres connection.")
    public static let shutdownTimeout = ConfigKey(
        "shutdown.timeout", .duration, default: "30s",
        doc: "How long graceful shutdown may take before the process exits non-zero.")
    public static let readinessCheckInterval = ConfigKey(
        "readiness.check.interval", .duration, default: "5s",
        doc: "How long a readiness result is cached before dependency checks run again.")

    /// Every common key, in documentation order.
    public static let all: [ConfigKey] = [
        serviceName, serviceInstance, httpHost, httpPort, logLevel, logFormat,
        kafkaBrokers, kafkaClientID, kafkaSessionTimeoutMs, kafkaLingerMs, kafkaCommitIntervalMs,
        kafkaRequestTimeoutMs, kafkaMessageTimeoutMs, kafkaFetchWaitMaxMs, kafkaTopicsCheckInterval,
        kafkaTLSEnabled, kafkaTLSCAFile, kafkaTLSCertFile, kafkaTLSKeyFile, topicPrefix,
        redisURL, redisTLSCAFile, redisCommandTimeout, postgresURL, postgresTLSCAFile, postgresPoolSize, postgresConnectTimeout,
        shutdownTimeout, readinessCheckInterval, stagePublishRetryLimit, stageUnassignedTimeout, stageCheckpointInterval,
    ]
}

/// The set of known configuration keys, in registration order.
///
/// Value type: copy ``standard`` and register a service's own keys on the copy.
/// ```swift
/// var registry = ConfigRegistry.standard
/// registry.register(ConfigKey("risk.max.position", .double, default: "1000", doc: "Largest position per symbol."))
/// registry.overrideDefault("http.port", "8086")
/// ```
public struct ConfigRegistry: Sendable {
    /// Registered keys in registration order.
    public private(set) var keys: [ConfigKey] = []
    private var indexByName: [String: Int] = [:]

    /// An empty registry (tests); services start from ``standard``.
    public init() {}

    /// A registry holding `keys`, in order.
    public init(_ keys: [ConfigKey]) {
        for key in keys { register(key) }
    }

    /// The keys common to every service (``CommonKeys/all``).
    public static var standard: ConfigRegistry { ConfigRegistry(CommonKeys.all) }

    /// Adds a key. A duplicate name, a name that is not dotted lower-case, two keys sharing an environment
    /// variable, or a default that does not parse as the key's type is a programming error.
    public mutating func register(_ key: ConfigKey) {
        precondition(ConfigRegistry.isValidName(key.name),
                     "config key '\(key.name)' must be lower-case letters, digits, '_' and '.'-separated parts")
        precondition(indexByName[key.name] == nil, "config key '\(key.name)' is registered twice")
        precondition(!keys.contains { $0.environmentVariable == key.environmentVariable },
                     "config key '\(key.name)' shares its environment variable \(key.environmentVariable) with another key")
        if case .failure(let problem) = ConfigValue.parse(key.defaultValue, as: key.type) {
            preconditionFailure("default of config key '\(key.name)' is not \(key.type.expectation): \(problem)")
        }
        indexByName[key.name] = keys.count
        keys.append(key)
    }

    /// Adds several keys in order.
    public mutating func register(_ keys: [ConfigKey]) {
        for key in keys { register(key) }
    }

    /// Changes the default of an already registered key (e.g. a service's own `http.port`).
    public mutating func overrideDefault(_ name: String, _ value: String) {
        guard let index = indexByName[name] else {
            preconditionFailure("cannot override the default of unregistered config key '\(name)'")
        }
        if case .failure(let problem) = ConfigValue.parse(value, as: keys[index].type) {
            preconditionFailure("new default of config key '\(name)' is not \(keys[index].type.expectation): \(problem)")
        }
        keys[index].defaultValue = value
    }

    /// The key with this name, if registered.
    public func key(named name: String) -> ConfigKey? {
        indexByName[name].map { keys[$0] }
    }

    /// The key set by this environment variable, if any.
    public func key(forEnvironmentVariable variable: String) -> ConfigKey? {
        keys.first { $0.environmentVariable == variable }
    }

    static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
        }
    }
}
