import Foundation
import QuorumModel

/// The effective configuration of a service: every registered key with its typed value and where it came from.
///
/// Precedence, lowest first: registered default < configuration file < `QUORUM_*` environment variable <
/// command-line flag. Build it with ``load(registry:arguments:environment:readFile:)`` at start-up or with
/// ``init(registry:values:)`` in tests. Reading a key that is not registered, or with the wrong typed accessor,
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
        try configuration.applyDefaults()

        // 1. File.
        let configFile = commandLine.configFile ?? environment[configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let path = configFile {
            let data: Data
            do {
                data = try readFile(path)
            } catch {
                throw ConfigurationError(.unreadableFile(path: path, reason: "it cannot be read (\(error.localizedDescription))"))
            }
            for (name, text) in try parseFile(data, path: path) {
                try configuration.set(name, text, from: .file(path: path))
            }
        }

        // 2. Environment (sorted so the first error is deterministic).
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
            try configuration.set(key.name, text, from: .environment(variable: variable))
        }

        // 3. Command line.
        for (flag, name, text) in commandLine.values {
            try configuration.set(name, text, from: .commandLine(flag: flag))
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

    /// A JSON object whose keys are dotted names (`"kafka.brokers"`) or nested objects (`{"kafka": {"brokers": …}}`).
    /// Values: strings, numbers, booleans, or arrays of those (for lists). `null` leaves the key unset.
    private static func parseFile(_ data: Data, path: String) throws -> [(String, String)] {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigurationError(.unreadableFile(path: path, reason: "it is not valid JSON"))
        }
        guard case .object = root else {
            throw ConfigurationError(.unreadableFile(path: path, reason: "the top level is not a JSON object"))
        }
        var result: [(String, String)] = []
        func flatten(_ value: JSONValue, name: String) throws {
            switch value {
            case .object(let members):
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    try flatten(member, name: name.isEmpty ? key : name + "." + key)
                }
            case .scalar(let text):
                result.append((name, text))
            case .array(let items):
                var texts: [String] = []
                for item in items {
                    guard case .scalar(let text) = item else {
                        throw ConfigurationError(.unreadableFile(
                            path: path, reason: "'\(name)' is an array holding an array or object; lists hold plain values"))
                    }
                    texts.append(text)
                }
                result.append((name, texts.joined(separator: ",")))
            case .null:
                break
            }
        }
        try flatten(root, name: "")
        return result
    }

    private mutating func set(_ name: String, _ text: String, from source: ConfigSource) throws {
        guard let key = registry.key(named: name) else {
            let suggestion = NameSuggestion.closest(to: name, among: registry.keys.map(\.name)).map { "'\($0)'" }
            throw ConfigurationError(.unknownKey(key: name, source: source, suggestion: suggestion))
        }
        switch ConfigValue.parse(text, as: key.type) {
        case .success(let value):
            entries[name] = Entry(key: key, value: value, text: text, source: source)
        case .failure(let problem):
            let shown = key.secret ? nil : Redaction.redactURLPasswords(in: text)
            throw ConfigurationError(.badValue(
                key: name, source: source, expected: key.type, reason: problem.description, shownValue: shown))
        }
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

/// The subset of JSON a configuration file uses; scalars are kept as text so they parse like env/flag values.
private enum JSONValue: Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case scalar(String)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {  // harmless: probes each JSON type in turn; the last throws
            self = .scalar(value ? "true" : "false")
        } else if let value = try? container.decode(Int.self) {
            self = .scalar(String(value))
        } else if let value = try? container.decode(Double.self) {
            self = .scalar(String(value))
        } else if let value = try? container.decode(String.self) {
            self = .scalar(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
