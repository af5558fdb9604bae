import Foundation
import Testing
@testable import QuorumServiceKit

/// Common keys plus one of each type they lack, and a key named so that a typo of it is easy to recognise.
private let sourcesRegistry: ConfigRegistry = {
    var registry = ConfigRegistry.standard
    registry.register([
        ConfigKey("risk.max.position", .double, default: "1000", doc: "A double key."),
        ConfigKey("risk.symbols", .list, default: "BTC-USD", doc: "A list key."),
        ConfigKey("risk.enabled", .bool, default: "false", doc: "A bool key."),
        ConfigKey("exchange.api.key", .string, default: "", doc: "A secret key.", secret: true),
        ConfigKey("exchange.url", .url, default: "", doc: "A URL key that is not secret."),
    ])
    return registry
}()

private let filePath = "/etc/quorum/sources.json"

/// Loads with `file` (if any) as the content of `filePath`, given by `--config`.
private func load(file: String? = nil, environment: [String: String] = [:], arguments: [String] = [])
    throws -> Configuration
{
    try Configuration.load(registry: sourcesRegistry, arguments: (file == nil ? [] : ["--config", filePath]) + arguments,
                           environment: environment) { path in
        guard path == filePath, let file else { throw CocoaError(.fileNoSuchFile) }
        return Data(file.utf8)
    }.configuration
}

private func loadError(file: String? = nil, environment: [String: String] = [:], arguments: [String] = [])
    -> ConfigurationError?
{
    do {
        _ = try load(file: file, environment: environment, arguments: arguments)
        return nil
    } catch {
        return error as? ConfigurationError
    }
}

/// `Configuration.load` reads its sources through swift-configuration (`ConfigurationSources`): these cover what the
/// sources' providers and the registry's checks of each source do together.
@Suite("Configuration sources (swift-configuration)")
struct ConfigurationSourcesTests {
    @Test("one key per precedence level, and a key set by all three sources goes to the flag")
    func precedenceOverAllFourSources() throws {
        let file = """
            {"risk": {"max.position": 250, "symbols": ["F1", "F2"], "enabled": false}, "log.level": "debug",
             "topic.prefix": "file."}
            """
        let environment = ["QUORUM_RISK_SYMBOLS": "E1,E2", "QUORUM_RISK_ENABLED": "no", "QUORUM_TOPIC_PREFIX": "env."]
        let config = try load(file: file, environment: environment,
                              arguments: ["--risk.symbols=G1, G2", "--risk.enabled"])
        // Default only.
        #expect(config.string("http.host") == "127.0.0.1")
        #expect(config.source(of: "http.host") == .defaultValue)
        // File over default.
        #expect(config.double("risk.max.position") == 250)
        #expect(config.source(of: "risk.max.position") == .file(path: filePath))
        #expect(config.string("log.level") == "debug")
        // Environment over file.
        #expect(config.string("topic.prefix") == "env.")
        #expect(config.source(of: "topic.prefix") == .environment(variable: "QUORUM_TOPIC_PREFIX"))
        // Flags over environment over file, for a list and for a bare bool flag.
        #expect(config.list("risk.symbols") == ["G1", "G2"])
        #expect(config.source(of: "risk.symbols") == .commandLine(flag: "--risk.symbols"))
        #expect(config.bool("risk.enabled"))
        #expect(config.source(of: "risk.enabled") == .commandLine(flag: "--risk.enabled"))
    }

    @Test("without a flag the environment wins, without both the file, and a repeated flag's last value counts")
    func precedenceStepByStep() throws {
        let file = #"{"risk.symbols": "F1"}"#
        #expect(try load(file: file).list("risk.symbols") == ["F1"])
        #expect(try load(file: file, environment: ["QUORUM_RISK_SYMBOLS": "E1"]).list("risk.symbols") == ["E1"])
        let repeated = try load(file: file, environment: ["QUORUM_RISK_SYMBOLS": "E1"],
                                arguments: ["--risk.symbols", "G1", "--risk.symbols=G2"])
        #expect(repeated.list("risk.symbols") == ["G2"])
    }

    @Test("a file's numbers, booleans, arrays, empty arrays and nulls read like the same values given as flags")
    func fileValueKinds() throws {
        let file = """
            {"http.port": 8081, "kafka": {"linger.ms": "20", "tls": {"enabled": true}}, "risk.max.position": 0.25,
             "kafka.brokers": ["a:9092", "b:9092"], "service.instance": 42, "shutdown.timeout": 0,
             "risk.symbols": [], "redis.tls.ca.file": null, "risk.enabled": 0}
            """
        let config = try load(file: file)
        #expect(config.int("http.port") == 8081)
        #expect(config.int("kafka.linger.ms") == 20)
        #expect(config.bool("kafka.tls.enabled"))
        #expect(config.double("risk.max.position") == 0.25)
        #expect(config.list("kafka.brokers") == ["a:9092", "b:9092"])
        #expect(config.string("service.instance") == "42")
        #expect(config.duration("shutdown.timeout") == .zero)
        #expect(config.list("risk.symbols") == [])
        #expect(config.source(of: "risk.symbols") == .file(path: filePath))
        #expect(!config.bool("risk.enabled"))
        // null leaves the key at its default.
        #expect(config.source(of: "redis.tls.ca.file") == .defaultValue)
    }

    @Test("an unknown key in each source names that source and the closest key, even when the others are valid",
          arguments: ["file", "environment", "flag"])
    func unknownKeyInEachSource(_ source: String) throws {
        let valid = (file: #"{"risk.max.position": 5}"#, environment: ["QUORUM_RISK_MAX_POSITION": "6"],
                     arguments: ["--risk.max.position=7"])
        let error: ConfigurationError?
        let from: String
        switch source {
        case "file":
            error = loadError(file: #"{"risk": {"max.position": 5, "max.positon": 5}}"#, environment: valid.environment,
                              arguments: valid.arguments)
            from = "from file \(filePath)"
        case "environment":
            error = loadError(file: valid.file, environment: valid.environment.merging(["QUORUM_RISK_MAX_POSITON": "6"]) { $1 },
                              arguments: valid.arguments)
            from = "from environment variable QUORUM_RISK_MAX_POSITON"
        default:
            error = loadError(file: valid.file, environment: valid.environment,
                              arguments: valid.arguments + ["--risk.max.positon", "7"])
            from = "from command-line flag --risk.max.positon"
        }
        let text = try #require(error).description
        guard case .unknownKey = try #require(error).kind else {
            Issue.record("not an unknown-key error: \(text)")
            return
        }
        #expect(text.contains("'risk.max.positon' \(from)"), "\(text)")
        #expect(text.contains("did you mean 'risk.max.position'"), "\(text)")
        #expect(text.contains("docs/configuration.md"))
    }

    @Test("a bad value stops the load even where a higher source overrides it, naming the source it came from")
    func shadowedBadValues() throws {
        let fromFile = try #require(loadError(file: #"{"http": {"port": "eighty"}}"#, arguments: ["--http.port", "3"]))
        #expect(fromFile.description.contains("'http.port' from file \(filePath) has a bad value 'eighty'"), "\(fromFile)")
        let fromEnvironment = try #require(loadError(environment: ["QUORUM_HTTP_PORT": "eighty"], arguments: ["--http.port=3"]))
        #expect(fromEnvironment.description.contains("from environment variable QUORUM_HTTP_PORT"), "\(fromEnvironment)")
        let fromFlag = try #require(loadError(arguments: ["--http.port=eighty", "--http.port=3"]))
        #expect(fromFlag.description.contains("from command-line flag --http.port"), "\(fromFlag)")
        #expect(fromFlag.description.contains("expected int"))
    }

    @Test("a file value of the wrong JSON kind is a bad value naming key and file")
    func fileKindMismatch() throws {
        let error = try #require(loadError(file: #"{"risk": {"enabled": "maybe"}}"#))
        #expect(error.description.contains("'risk.enabled' from file \(filePath) has a bad value 'maybe'"), "\(error)")
        #expect(error.description.contains("expected bool"))
        let double = try #require(loadError(file: #"{"http.port": 1.5}"#))
        #expect(double.description.contains("'http.port' from file \(filePath) has a bad value '1.5'"), "\(double)")
    }

    @Test("arrays a list cannot hold are an unreadable file naming the key")
    func badArrays() throws {
        let cases = [
            (#"{"kafka.brokers": ["a:9092", 9093]}"#, "'kafka.brokers' is an array mixing strings with numbers or booleans"),
            (#"{"kafka": {"brokers": [null]}}"#, "'kafka.brokers' is an array holding null"),
            (#"{"kafka.brokers": [["a:9092"]]}"#, "'kafka.brokers' is an array holding an array or object"),
            (#"{"kafka.brokers": [{"host": "a"}]}"#, "'kafka.brokers' is an array holding an array or object"),
        ]
        for (file, reason) in cases {
            let error = try #require(loadError(file: file))
            guard case .unreadableFile(let path, _) = error.kind else {
                Issue.record("\(file): \(error)")
                continue
            }
            #expect(path == filePath)
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test("a secret key's value and a URL's password are marked secret for swift-configuration's access log")
    func accessLogShowsNoSecrets() async {
        // CONFIG_ACCESS_LOG_FILE makes swift-configuration's ConfigReader log every lookup to a file; it is read from the
        // process environment, so the check runs in a child process. The child exits 3 when the log is missing or
        // empty (the check would prove nothing) and 4 when a secret is in it.
        await #expect(processExitsWith: .exitCode(0)) {
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-access-\(UUID()).log").path
            setenv("CONFIG_ACCESS_LOG_FILE", log, 1)
            _ = try Configuration.load(
                registry: sourcesRegistry,
                arguments: ["--config", filePath, "--exchange.url=https://bot:s3cretFlagPassw0rd@api.example.com/v1"],
                environment: ["QUORUM_EXCHANGE_API_KEY": "s3cretApiKeyValue", "QUORUM_RISK_SYMBOLS": "VISIBLE1"]) { _ in
                Data(#"{"redis.url": "redis://:s3cretFilePassw0rd@r:6379", "exchange": {"api.key": "s3cretFromFile"}}"#.utf8)
            }
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: log)
            guard text.contains("risk.symbols"), text.contains("VISIBLE1") else { exit(3) }
            for secret in ["s3cretFlagPassw0rd", "s3cretApiKeyValue", "s3cretFilePassw0rd", "s3cretFromFile"]
            where text.contains(secret) {
                exit(4)
            }
            exit(0)
        }
    }
}
