import Foundation
import Testing
@testable import QuorumServiceKit

/// Loads with an in-memory file (path "/etc/quorum/test.json") so tests need no disk.
private func load(
    file: String? = nil,
    environment: [String: String] = [:],
    arguments: [String] = [],
    registry: ConfigRegistry = .standard
) throws -> Configuration.LoadResult {
    var arguments = arguments
    if file != nil { arguments = ["--config", "/etc/quorum/test.json"] + arguments }
    return try Configuration.load(registry: registry, arguments: arguments, environment: environment) { path in
        guard path == "/etc/quorum/test.json", let file else { throw CocoaError(.fileNoSuchFile) }
        return Data(file.utf8)
    }
}

/// The error a throwing expression raised, as a ConfigurationError.
private func configurationError(_ body: () throws -> Void) -> ConfigurationError? {
    do {
        try body()
        return nil
    } catch {
        return error as? ConfigurationError
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults of the common keys")
    func defaults() throws {
        let config = try load().configuration
        #expect(config.list("kafka.brokers") == ["127.0.0.1:9092"])
        #expect(config.string("http.host") == "127.0.0.1")
        #expect(config.int("http.port") == 0)
        #expect(config.string("log.level") == "info")
        #expect(config.int("kafka.session.timeout.ms") == 6000)
        #expect(config.string("topic.prefix") == "")
        #expect(config.string("redis.url") == "redis://127.0.0.1:6379")
        #expect(config.string("postgres.url") == "postgres://quorum@127.0.0.1:5432/quorum")
        #expect(config.duration("shutdown.timeout") == .seconds(30))
        #expect(config.source(of: "kafka.brokers") == .defaultValue)
    }

    @Test("precedence: default < file < environment < command line")
    func precedence() throws {
        let file = """
            {"log.level": "debug", "topic.prefix": "from-file.", "kafka": {"brokers": "file:1"}, "http": {"port": 1}}
            """
        let result = try load(
            file: file,
            environment: ["QUORUM_TOPIC_PREFIX": "from-env.", "QUORUM_HTTP_PORT": "2", "PATH": "/bin", "HOME": "/root"],
            arguments: ["--http.port", "3"])
        let config = result.configuration
        // Only the default.
        #expect(config.string("http.host") == "127.0.0.1")
        #expect(config.source(of: "http.host") == .defaultValue)
        // File over default.
        #expect(config.string("log.level") == "debug")
        #expect(config.list("kafka.brokers") == ["file:1"])
        #expect(config.source(of: "log.level") == .file(path: "/etc/quorum/test.json"))
        // Environment over file.
        #expect(config.string("topic.prefix") == "from-env.")
        #expect(config.source(of: "topic.prefix") == .environment(variable: "QUORUM_TOPIC_PREFIX"))
        // Command line over environment and file.
        #expect(config.int("http.port") == 3)
        #expect(config.source(of: "http.port") == .commandLine(flag: "--http.port"))
        #expect(result.configFile == "/etc/quorum/test.json")
    }

    @Test("both flag forms, list and bare bool flag")
    func flagForms() throws {
        var registry = ConfigRegistry.standard
        registry.register(ConfigKey("replay.enabled", .bool, default: "false", doc: "Replay mode."))
        let config = try load(
            arguments: ["--kafka.brokers=127.0.0.1:1,127.0.0.1:2", "--redis.url", "redis://10.0.0.1:7000", "--replay.enabled"],
            registry: registry
        ).configuration
        #expect(config.list("kafka.brokers") == ["127.0.0.1:1", "127.0.0.1:2"])
        #expect(config.string("redis.url") == "redis://10.0.0.1:7000")
        #expect(config.url("redis.url")?.port == 7000)
        #expect(config.bool("replay.enabled"))
    }

    @Test("a real file named by QUORUM_CONFIG, nested keys and a JSON array list")
    func realFileFromEnvironment() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-config-\(UUID()).json").path
        try Data(#"{"kafka": {"brokers": ["h1:9092", "h2:9092"], "linger.ms": 20}, "shutdown": {"timeout": "250ms"}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try Configuration.load(registry: .standard, arguments: [], environment: ["QUORUM_CONFIG": path])
            .configuration
        #expect(config.list("kafka.brokers") == ["h1:9092", "h2:9092"])
        #expect(config.int("kafka.linger.ms") == 20)
        #expect(config.duration("shutdown.timeout") == .milliseconds(250))
        #expect(config.source(of: "kafka.linger.ms") == .file(path: path))
    }

    @Test("a missing file is an error naming the path")
    func missingFile() {
        let error = configurationError {
            _ = try Configuration.load(registry: .standard, arguments: ["--config=/nonexistent/quorum.json"], environment: [:])
        }
        #expect(error?.description.contains("/nonexistent/quorum.json") == true)
    }

    /// Found by FuzzConfig (fuzz/corpus/Config/crash-config-path-url-password): a URL passed as the configuration
    /// file's path (`--config $QUORUM_POSTGRES_URL` by mistake) was shown with its password.
    @Test("a configuration file path that is a URL with a password is shown without the password")
    func configPathPasswordRedacted() throws {
        for arguments in [["--config", "postgres://quorum:s3cretPassw0rd@db:5432/quorum"],
                          ["--config=redis://:hunter2hunter2@127.0.0.1:6379"]] {
            let error = try #require(configurationError {
                _ = try Configuration.load(registry: .standard, arguments: arguments, environment: [:]) { _ in Data("[".utf8) }
            })
            #expect(!error.description.contains("s3cretPassw0rd") && !error.description.contains("hunter2hunter2"), "\(error)")
            #expect(error.description.contains("not valid JSON"))
            #expect(error.description.contains("127.0.0.1:6379") || error.description.contains("db:5432/quorum"))
        }
        let fromVariable = try #require(configurationError {
            _ = try Configuration.load(registry: .standard, arguments: [],
                                       environment: ["QUORUM_CONFIG": "postgres://u:s3cretPassw0rd@db/q"]) { _ in throw CocoaError(.fileNoSuchFile) }
        })
        #expect(!fromVariable.description.contains("s3cretPassw0rd"))
        #expect(fromVariable.description.contains("cannot be read"))
    }

    /// Found by FuzzConfig (fuzz/corpus/Config/crash-flag-url-password): a URL typed as a flag name was shown whole
    /// in the unknown-key error (key and flag).
    @Test("a URL with a password typed as a flag is an unknown key shown without the password")
    func flagPasswordRedacted() throws {
        for arguments in [["--postgres://quorum:s3cretPassw0rd@db:5432/quorum"], ["--redis://:s3cretPassw0rd@r:6379=x"],
                          ["--kafka.brokers", "b:9092", "--postgres://quorum:s3cretPassw0rd@db/q", "x"]] {
            let error = try #require(configurationError {
                _ = try Configuration.load(registry: .standard, arguments: arguments, environment: [:])
            })
            guard case .unknownKey = error.kind else { Issue.record("\(error)"); continue }
            #expect(!error.description.contains("s3cretPassw0rd"), "\(error)")
            #expect(error.description.contains("unknown configuration key"))
        }
    }

    /// Found by FuzzConfig (fuzz/corpus/Config/crash-print-config-file-path): the source column of --print-config showed
    /// a URL given as the configuration file's path with its password.
    @Test("--print-config shows a configuration file path that is a URL without its password")
    func printConfigSourceRedacted() throws {
        let result = try Configuration.load(registry: .standard,
                                            arguments: ["--config", "postgres://quorum:s3cretPassw0rd@db/q"], environment: [:]) { _ in
            Data(#"{"http.port": 18181}"#.utf8)
        }
        let table = result.configuration.rendered()
        #expect(table.contains("file postgres://quorum:***@db/q"), "\(table)")
        #expect(!table.contains("s3cretPassw0rd"))
        #expect(result.configuration.int("http.port") == 18181)
    }

    @Test("a file that is not a JSON object is an error")
    func notJSON() {
        let error = configurationError { _ = try load(file: "kafka.brokers = x") }
        #expect(error?.description.contains("not valid JSON") == true)
        #expect(error?.description.contains("/etc/quorum/test.json") == true)
    }

    @Test("unknown key in the file names key, file and closest key")
    func unknownKeyInFile() throws {
        let error = try #require(configurationError { _ = try load(file: #"{"kafka": {"broker": "x"}}"#) })
        let text = error.description
        #expect(text.contains("'kafka.broker'"))
        #expect(text.contains("file /etc/quorum/test.json"))
        #expect(text.contains("did you mean 'kafka.brokers'?"))
        #expect(text.contains("docs/configuration.md"))
    }

    @Test("unknown QUORUM_ environment variable names variable and closest key")
    func unknownKeyInEnvironment() throws {
        let error = try #require(configurationError { _ = try load(environment: ["QUORUM_KAFKA_BROKER": "x"]) })
        let text = error.description
        #expect(text.contains("environment variable QUORUM_KAFKA_BROKER"))
        #expect(text.contains("'kafka.broker'"))
        #expect(text.contains("did you mean 'kafka.brokers' (QUORUM_KAFKA_BROKERS)?"))
        #expect(text.contains("docs/configuration.md"))
    }

    @Test("unknown flag names flag and closest key, in both flag forms")
    func unknownKeyOnCommandLine() throws {
        for arguments in [["--kafka.brokres=x"], ["--kafka.brokres", "x"]] {
            let error = try #require(configurationError { _ = try load(arguments: arguments) })
            let text = error.description
            #expect(text.contains("'kafka.brokres'"))
            #expect(text.contains("command-line flag --kafka.brokres"))
            #expect(text.contains("did you mean 'kafka.brokers'?"))
            #expect(text.contains("docs/configuration.md"))
        }
    }

    @Test("a name unlike any key gets no suggestion but still points to the docs")
    func noSuggestion() throws {
        let error = try #require(configurationError { _ = try load(arguments: ["--zzzzzzzzzzzzzzzz=1"]) })
        #expect(!error.description.contains("did you mean"))
        #expect(error.description.contains("docs/configuration.md"))
    }

    @Test("a bad typed value names key, source and expected type")
    func badValues() throws {
        let fromFlag = try #require(configurationError { _ = try load(arguments: ["--http.port=abc"]) })
        #expect(fromFlag.description.contains("'http.port'"))
        #expect(fromFlag.description.contains("command-line flag --http.port"))
        #expect(fromFlag.description.contains("expected int"))
        #expect(fromFlag.description.contains("'abc'"))

        let fromEnv = try #require(configurationError { _ = try load(environment: ["QUORUM_SHUTDOWN_TIMEOUT": "soon"]) })
        #expect(fromEnv.description.contains("'shutdown.timeout'"))
        #expect(fromEnv.description.contains("environment variable QUORUM_SHUTDOWN_TIMEOUT"))
        #expect(fromEnv.description.contains("expected duration"))

        let fromFile = try #require(configurationError { _ = try load(file: #"{"kafka.session.timeout.ms": 1.5}"#) })
        #expect(fromFile.description.contains("'kafka.session.timeout.ms'"))
        #expect(fromFile.description.contains("file /etc/quorum/test.json"))
        #expect(fromFile.description.contains("expected int"))
    }

    @Test("a bad value of a secret key is not echoed")
    func badSecretValue() throws {
        let error = try #require(configurationError { _ = try load(arguments: ["--postgres.url=hunter2-not-a-url"]) })
        #expect(error.description.contains("'postgres.url'"))
        #expect(error.description.contains("expected url"))
        #expect(!error.description.contains("hunter2"))
    }

    @Test("a flag without a value, and a stray argument, are errors")
    func malformedCommandLine() {
        let missing = configurationError { _ = try load(arguments: ["--http.port"]) }
        #expect(missing == ConfigurationError(.missingValue(flag: "--http.port")))
        let stray = configurationError { _ = try load(arguments: ["serve"]) }
        #expect(stray == ConfigurationError(.unexpectedArgument("serve")))
    }

    @Test("--print-config and --help are recognised, not treated as keys")
    func actionFlags() throws {
        let result = try load(arguments: ["--print-config", "--help"])
        #expect(result.printConfig)
        #expect(result.help)
    }

    @Test("typed values and durations")
    func typedValues() throws {
        var registry = ConfigRegistry.standard
        registry.register([
            ConfigKey("risk.max.leverage", .double, default: "2.5", doc: "Leverage cap."),
            ConfigKey("risk.symbols", .list, default: "BTC-USD, ETH-USD,", doc: "Symbols."),
            ConfigKey("risk.window", .duration, default: "1.5s", doc: "Window."),
        ])
        registry.overrideDefault("http.port", "8086")
        let config = try Configuration(registry: registry, values: ["risk.window": "2m", "log.level": "debug"])
        #expect(config.double("risk.max.leverage") == 2.5)
        #expect(config.double("http.port") == 8086)
        #expect(config.list("risk.symbols") == ["BTC-USD", "ETH-USD"])
        #expect(config.duration("risk.window") == .seconds(120))
        #expect(config.source(of: "risk.window") == .override)
        #expect(config.string("log.level") == "debug")
        #expect(ConfigValue.parseDuration("250ms") == .success(.milliseconds(250)))
        #expect(ConfigValue.parseDuration("1h") == .success(.seconds(3600)))
        #expect(ConfigValue.parseDuration("0") == .success(.zero))
        #expect((try? ConfigValue.parseDuration("30").get()) == nil)
        #expect((try? ConfigValue.parseDuration("-1s").get()) == nil)
    }

    @Test("environment variable names")
    func environmentNames() {
        #expect(CommonKeys.kafkaBrokers.environmentVariable == "QUORUM_KAFKA_BROKERS")
        #expect(CommonKeys.kafkaSessionTimeoutMs.environmentVariable == "QUORUM_KAFKA_SESSION_TIMEOUT_MS")
    }

    @Test("--print-config rendering shows sources and hides secrets")
    func printConfigRedacts() throws {
        var registry = ConfigRegistry.standard
        registry.register([
            ConfigKey("exchange.url", .url, default: "", doc: "Exchange REST endpoint."),
            ConfigKey("exchange.api.key", .string, default: "", doc: "Exchange API key.", secret: true),
        ])
        let config = try load(
            environment: [
                "QUORUM_POSTGRES_URL": "postgres://quorum:s3cretpw@127.0.0.1:5432/quorum",
                "QUORUM_EXCHANGE_API_KEY": "abc123key",
            ],
            arguments: ["--exchange.url=https://bot:hunter2@api.example.com/v1"],
            registry: registry
        ).configuration
        let rendered = config.rendered()
        #expect(!rendered.contains("s3cretpw"))
        #expect(!rendered.contains("hunter2"))
        #expect(!rendered.contains("abc123key"))
        #expect(rendered.contains("https://bot:***@api.example.com/v1"))
        #expect(rendered.contains("environment variable QUORUM_POSTGRES_URL"))
        #expect(rendered.contains("command-line flag --exchange.url"))
        let postgresLine = try #require(rendered.split(separator: "\n").first { $0.hasPrefix("postgres.url ") })
        #expect(postgresLine.contains("\"***\""))
        #expect(config.description == rendered)
        // The value itself is still available to the code that needs it.
        #expect(config.string("exchange.api.key") == "abc123key")
    }

    @Test("derived service instance and Kafka client id")
    func derivedNames() throws {
        let config = try Configuration(values: ["service.name": "quorum-risk", "service.instance": "a1"])
        #expect(config.kafkaClientID == "quorum-risk-a1")
        let derived = try Configuration(values: ["service.name": "quorum-risk"])
        #expect(derived.serviceInstance.hasSuffix("-\(ProcessInfo.processInfo.processIdentifier)"))
    }

    @Test("reading an unregistered key is a programming error")
    func unregisteredKeyTraps() async {
        await #expect(processExitsWith: .failure) {
            let config = try! Configuration()
            _ = config.int("no.such.key")
        }
    }

    @Test("reading a key with the wrong accessor is a programming error")
    func wrongAccessorTraps() async {
        await #expect(processExitsWith: .failure) {
            let config = try! Configuration()
            _ = config.int("kafka.brokers")
        }
    }

    @Test("ServiceRunner.run exits 2 on a configuration error")
    func runnerExitsOnBadConfig() async {
        await #expect(processExitsWith: .exitCode(2)) {
            try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test", "--kafka.brokres=x"], environment: [:]) { _ in [] }
        }
    }
}
