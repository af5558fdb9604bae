import Foundation
import QuorumModel

/// The effective configuration of a service: every registered key with its typed value and where it came from.
///
/// Precedence, lowest first: registered default < configuration file < `QUORUM_*` environment variable <
/// command-line flag. Build it with ``load(registry:arguments:environment:readFile:)`` at start-up (the sources are
/// read through apple/swift-configuration: see ``ConfigurationSources``) or with ``init(registry:values:)`` in tests. Reading a key that is not registered, or with the wrong typed accessor,
/// is a programming error (precondition failure).
///
/// `description` (and ``rendered()``) never shows secrets: keys marked secret print as `***`, and passwords in
/// URLs print as `scheme://user:***@host`.
public struct Configuration: Sendable, CustomStringConvertible {
    /// One resolved key.
    public struct Entry: Sendable, Hashable {
        public var key: ConfigKey
        public var value: ConfigValue
        /// The text the value was parsed from (may be secret; use ``Configuration/displayText(_:)`` to show it).
        public var text: String
        public var source: ConfigSource
    }

    /// The keys this configuration knows.
    public let registry: ConfigRegistry
    private var entries: [String: Entry]

    /// An in-memory configuration: registered defaults overridden by `values` (key name → text), for tests and
    /// for `build(config:)`-style functions. Unknown keys and bad values throw ``ConfigurationError``.
    public init(registry: ConfigRegistry = .standard, values: [String: String] = [:]) throws {
        self.registry = registry
        self.entries = [:]
        try applyDefaults()
        for (name, text) in values.sorted(by: { $0.key < $1.key }) {
            try set(name, text, from: .override)
        }
    }

    private init(emptyWith registry: ConfigRegistry) {
        self.registry = registry
        self.entries = [:]
    }

    private mutating func applyDefaults() throws {
        for key in registry.keys {
            try set(key.name, key.defaultValue, from: .defaultValue)
        }
    }

    // MARK: Loading from file, environment and command line

    /// What the command line asked for besides configuration values.
    public struct LoadResult: Sendable {
        /// The effective configuration.
        public var configuration: Configuration
        /// `--print-config` was given: print ``Configuration/rendered()`` and exit.
        public var printConfig: Bool
        /// `--help` was given: print the key table and exit.
        public var help: Bool
        /// The configuration file that was read, if any.
        public var configFile: String?
    }

    /// The flag naming the configuration file (`--config path` or `--config=path`).
    public static let configFileFlag = "--config"
    /// The environment variable naming the configuration file when `--config` is not given.
    public static let configFileVariable = "QUORUM_CONFIG"
    /// Prints the effective configuration (secrets as `***`) and exits.
    public static let printConfigFlag = "--print-config"
    /// Prints every key and exits.
    public static let helpFlag = "--help"

    /// Reads the configuration at start-up.
    ///
    /// The flags are parsed here; swift-configuration's providers hold the flags, the environment, the file and the
    /// defaults, and its `ConfigReader` picks each key's value (``ConfigurationSources``). The registry checks every
    /// key each source sets first, so an unknown key or a bad value in any source stops the load.
    ///
    /// - Parameters:
    ///   - registry: the known keys.
    ///   - arguments: command-line arguments WITHOUT the executable name (`CommandLine.arguments.dropFirst()`).
    ///   - environment: the process environment; only `QUORUM_*` variables are read.
    ///   - readFile: reads the configuration file (injectable for tests).
    /// - Throws: ``ConfigurationError`` naming the key, its source and what to do.
    public static func load(
        registry: ConfigRegistry,
        arguments: [String],
        environment: [String: String],
        readFile: (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    ) throws -> LoadResult {
        let commandLine = try parseCommandLine(arguments, registry: registry)
        var configuration = Configuration(emptyWith: registry)

        // The file's content (read here through `readFile`) and the names of the keys it sets.
        let configFile = commandLine.configFile ?? environment[configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        var file: (path: String, data: Data)?
        var fileKeyNames: [String] = []
        if let path = configFile {
            let data: Data
            do {
                data = try readFile(path)
            } catch {
                throw ConfigurationError(.unreadableFile(path: path, reason: "it cannot be read (\(error.localizedDescription))"))
            }
            fileKeyNames = try ConfigurationSources.fileKeyNames(data, path: path)
            file = (path, data)
        }
        let sources = try ConfigurationSources(
            registry: registry, flags: commandLine.values.map { ConfigurationSources.Flag(name: $0.1, text: $0.2) },
            environment: environment, file: file)

        // 1. The registry checks every key each source sets, lowest precedence first: an unknown key stops the load
        //    (with the closest known key), and so does a value that does not parse, even where a higher source
        //    overrides it. swift-configuration's providers cannot list their keys, so the sources are listed here.
        if let path = configFile {
            for name in fileKeyNames {
                let key = try registry.known(name, from: .file(path: path))
                if let text = try sources.fileText(of: key) {
                    _ = try Entry(key, text, from: .file(path: path))
                }
            }
        }
        // Sorted so the first error is deterministic.
        for (variable, text) in environment.sorted(by: { $0.key < $1.key })
        where variable.hasPrefix(ConfigKey.environmentPrefix) && variable != configFileVariable {
            guard let key = registry.key(forEnvironmentVariable: variable) else {
                let guessedKey = variable.dropFirst(ConfigKey.environmentPrefix.count).lowercased()
                    .replacingOccurrences(of: "_", with: ".")
                let suggestion = NameSuggestion.closest(to: variable, among: registry.keys.map(\.environmentVariable))
                    .flatMap { registry.key(forEnvironmentVariable: $0) }
                    .map { "'\($0.name)' (\($0.environmentVariable))" }
                throw ConfigurationError(.unknownKey(
                    key: guessedKey, source: .environment(variable: variable), suggestion: suggestion))
            }
            _ = try Entry(key, text, from: .environment(variable: variable))
        }
        for (flag, name, text) in commandLine.values {
            _ = try Entry(registry.known(name, from: .commandLine(flag: flag)), text, from: .commandLine(flag: flag))
        }

        // 2. Every key's effective value and its source: swift-configuration's ConfigReader asks the flags, the
        //    environment, the file and the defaults in turn.
        for key in registry.keys {
            let (text, source) = try sources.resolve(key)
            configuration.entries[key.name] = try Entry(key, text, from: source)
        }

        return LoadResult(configuration: configuration, printConfig: commandLine.printConfig,
                          help: commandLine.help, configFile: configFile)
    }

    private struct ParsedCommandLine {
        var configFile: String?
        var printConfig = false
        var help = false
        /// (flag as written, key name, value text), in order.
        var values: [(String, String, String)] = []
    }

    private static func parseCommandLine(_ arguments: [String], registry: ConfigRegistry) throws -> ParsedCommandLine {
        var parsed = ParsedCommandLine()
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError(.unexpectedArgument(argument))
            }
            let body = argument.dropFirst(2)
            let name: String
            var value: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
            }
            let flag = "--" + name
            switch flag {
            case printConfigFlag:
                parsed.printConfig = true
                continue
            case helpFlag:
                parsed.help = true
                continue
            default:
                break
            }
            let nextIsValue = index < arguments.endIndex && !arguments[index].hasPrefix("--")
            if value == nil {
                if nextIsValue {
                    value = arguments[index]
                    index += 1
                } else if registry.key(named: name)?.type == .bool {
                    value = "true"  // `--some.flag` alone switches a bool key on.
                } else if flag != configFileFlag && registry.key(named: name) == nil {
                    value = ""  // reported as an unknown key below, which is the more useful message
                }
            }
            guard let value else { throw ConfigurationError(.missingValue(flag: flag)) }
            if flag == configFileFlag {
                parsed.configFile = value
            } else {
                parsed.values.append((flag, name, value))
            }
        }
        return parsed
    }

    private mutating func set(_ name: String, _ text: String, from source: ConfigSource) throws {
        entries[name] = try Entry(registry.known(name, from: source), text, from: source)
    }

    // MARK: Typed accessors

    /// The resolved entry for a registered key (value, text and source).
    public func entry(_ name: String) -> Entry {
        guard let entry = entries[name] else {
            preconditionFailure("configuration key '\(name)' is not registered; register it in the service's ConfigRegistry")
        }
        return entry
    }

    /// Where the value of `name` came from.
    public func source(of name: String) -> ConfigSource { entry(name).source }

    /// A `string` or `url` key's value.
    public func string(_ name: String) -> String {
        switch entry(name).value {
        case .string(let value), .url(let value): return value
        default: wrongAccessor(name, "string")
        }
    }

    /// An `int` key's value.
    public func int(_ name: String) -> Int {
        guard case .int(let value) = entry(name).value else { wrongAccessor(name, "int") }
        return value
    }

    /// A `double` (or `int`) key's value.
    public func double(_ name: String) -> Double {
        switch entry(name).value {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: wrongAccessor(name, "double")
        }
    }

    /// A `bool` key's value.
    public func bool(_ name: String) -> Bool {
        guard case .bool(let value) = entry(name).value else { wrongAccessor(name, "bool") }
        return value
    }

    /// A `duration` key's value.
    public func duration(_ name: String) -> Duration {
        guard case .duration(let value) = entry(name).value else { wrongAccessor(name, "duration") }
        return value
    }

    /// A `url` key's value, or `nil` when it is empty.
    public func url(_ name: String) -> URL? {
        guard case .url(let value) = entry(name).value else { wrongAccessor(name, "url") }
        return value.isEmpty ? nil : URL(string: value)
    }

    /// A `list` key's value.
    public func list(_ name: String) -> [String] {
        guard case .list(let value) = entry(name).value else { wrongAccessor(name, "list") }
        return value
    }

    private func wrongAccessor(_ name: String, _ accessor: String) -> Never {
        preconditionFailure("configuration key '\(name)' has type \(entry(name).key.type); it cannot be read with .\(accessor)()")
    }

    // MARK: Printing (secrets redacted)

    /// The value of `name` as it may be shown: `***` for secret keys, URL passwords replaced by `***`.
    public func displayText(_ name: String) -> String {
        let entry = entry(name)
        if entry.key.secret { return entry.text.isEmpty ? "" : "***" }
        return Redaction.redactURLPasswords(in: entry.text)
    }

    /// Every key with its effective value and source, one per line, secrets as `***` (`--print-config`).
    public func rendered() -> String {
        let rows = registry.keys.map { key in (key.name, displayText(key.name), entry(key.name).source.description) }
        let nameWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = min(60, max(5, rows.map { $0.1.count + 2 }.max() ?? 0))
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count + 1)) }
        var lines = [pad("key", nameWidth) + pad("value", valueWidth) + "source"]
        for (name, value, source) in rows {
            lines.append(pad(name, nameWidth) + pad("\"" + value + "\"", valueWidth) + source)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var description: String { rendered() }
}

extension Configuration {
    /// `service.name`.
    public var serviceName: String { string(CommonKeys.serviceName.name) }

    /// `service.instance`, or `<hostname>-<pid>` when it is empty.
    public var serviceInstance: String {
        let configured = string(CommonKeys.serviceInstance.name)
        if !configured.isEmpty { return configured }
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// `kafka.client.id`, or `<service.name>-<service.instance>` when it is empty.
    public var kafkaClientID: String {
        let configured = string(CommonKeys.kafkaClientID.name)
        return configured.isEmpty ? "\(serviceName)-\(serviceInstance)" : configured
    }
}

extension Configuration.Entry {
    /// `text` parsed as `key`'s type; a value that does not parse throws ``ConfigurationError`` naming key and source
    /// (and the value, unless the key is secret; URL passwords never).
    init(_ key: ConfigKey, _ text: String, from source: ConfigSource) throws(ConfigurationError) {
        switch ConfigValue.parse(text, as: key.type) {
        case .success(let value):
            self.init(key: key, value: value, text: text, source: source)
        case .failure(let problem):
            let shown = key.secret ? nil : Redaction.redactURLPasswords(in: text)
            throw ConfigurationError(.badValue(
                key: key.name, source: source, expected: key.type, reason: problem.description, shownValue: shown))
        }
    }
}

extension ConfigRegistry {
    /// The registered key `name`, or an unknown-key error naming `source` and the closest registered name.
    func known(_ name: String, from source: ConfigSource) throws(ConfigurationError) -> ConfigKey {
        guard let key = key(named: name) else {
            let suggestion = NameSuggestion.closest(to: name, among: keys.map(\.name)).map { "'\($0)'" }
            throw ConfigurationError(.unknownKey(key: name, source: source, suggestion: suggestion))
        }
        return key
    }
}
