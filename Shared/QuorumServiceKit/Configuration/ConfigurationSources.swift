import Foundation
import Synchronization
// apple/swift-configuration. Its module is named `Configuration` like our struct, and it has its own `ConfigKey` and
// `ConfigValue`: those three names are written with a module selector here (`Configuration::ConfigKey`); inside this
// module a bare `Configuration`, `ConfigKey` or `ConfigValue` is always ours.
internal import Configuration

/// The sources of a service's configuration, read through apple/swift-configuration and combined in one
/// `ConfigReader`, highest precedence first: command-line flags, `QUORUM_*` environment variables, the JSON
/// configuration file, the registered defaults.
///
/// What comes from swift-configuration: the `EnvironmentVariablesProvider` (a key's variable is its
/// `QUORUM_`-prefixed upper-cased name, the same rule as ``ConfigKey/environmentVariable``), the JSON parsing and
/// dotted/nested key lookup of `JSONSnapshot`, the `InMemoryProvider`s holding the flags and the defaults, and the
/// `ConfigReader` that asks them in order and reports which one answered (an `AccessReporter`).
///
/// What stays ours, and why:
/// - the flag parser: swift-configuration's `CommandLineArgumentsProvider` names a key `--kafka-brokers` (dashes, not our
///   documented `--kafka.brokers`), splits every value at commas and returns the first part for a text key (a URL or
///   text holding a comma would be cut), ignores stray arguments and a flag missing its value, and cannot list the flags
///   it got; so ``Configuration`` parses the flags (with its errors) and they are handed over in an `InMemoryProvider`;
/// - reading the file's bytes (`readFile`, injectable for tests and fuzzing; swift-configuration's `FileProvider`
///   reads paths itself, asynchronously), and the unknown-key check: a provider cannot list the keys it holds, so the
///   registry checks the environment's `QUORUM_*` variables, the flags and the file's key names (``fileKeyNames(_:path:)``,
///   the same `JSONSerialization` parse as `JSONSnapshot`) itself;
/// - the value types: every key is read as text and parsed by ``ConfigValue/parse(_:as:)`` (`30s`, `on`, URLs, lists),
///   which swift-configuration's typed getters do not know. A JSON number, boolean or array in the file is turned
///   into its text by ``JSONFileProvider``.
struct ConfigurationSources {
    /// The sources, highest precedence first (the order of the reader's providers).
    enum Layer: Int, CaseIterable {
        case commandLine, environment, file, defaults
    }

    /// A flag as the command line gave it: the key's name and the text after it.
    struct Flag {
        var name: String
        var text: String
    }

    let registry: ConfigRegistry
    let filePath: String?
    private let fileProvider: JSONFileProvider?
    private let reader: ConfigReader
    private let answers: AnsweringLayer

    /// - Parameters:
    ///   - flags: the flags of registered keys, in command-line order (a later one wins, as in the reader).
    ///   - environment: the process environment (only registered keys' `QUORUM_*` variables are ever looked up).
    ///   - file: the configuration file's path and content, already checked by ``fileKeyNames(_:path:)``.
    init(registry: ConfigRegistry, flags: [Flag], environment: [String: String], file: (path: String, data: Data)?)
        throws(ConfigurationError)
    {
        self.registry = registry
        self.filePath = file?.path
        var flagValues: [AbsoluteConfigKey: Configuration::ConfigValue] = [:]
        for flag in flags {
            guard let key = registry.key(named: flag.name) else { continue }
            flagValues[Self.absoluteKey(key.name)] = Configuration::ConfigValue(.string(flag.text), isSecret: key.secret)
        }
        let secretVariables = Set(registry.keys.filter(\.secret).map(\.environmentVariable))
        if let file {
            let secretNames = Set(registry.keys.filter(\.secret).map(\.name))
            do {
                fileProvider = JSONFileProvider(json: try JSONSnapshot(
                    data: file.data.bytes, providerName: "JSON file",
                    parsingOptions: .init(secretsSpecifier: .specific(secretNames))))
            } catch {
                // fileKeyNames(_:path:) reports what it finds first, with our wording; this is what is left.
                throw ConfigurationError(.unreadableFile(path: file.path, reason: "swift-configuration cannot read it (\(error))"))
            }
        } else {
            fileProvider = nil
        }
        var defaults: [AbsoluteConfigKey: Configuration::ConfigValue] = [:]
        for key in registry.keys {
            defaults[Self.absoluteKey(key.name)] = Configuration::ConfigValue(.string(key.defaultValue), isSecret: key.secret)
        }
        answers = AnsweringLayer()
        // Without a file an empty provider keeps the file's place, so a provider's index is always its Layer.
        let providers: [any ConfigProvider] = [
            InMemoryProvider(name: "command line", values: flagValues),
            // `quorum` + `kafka.brokers` → QUORUM_KAFKA_BROKERS: the provider upper-cases the key's parts and joins them
            // with `_`, which is ConfigKey.environmentVariable's rule for our lower-case dotted names.
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secretVariables))
                .prefixKeys(with: "quorum"),
            fileProvider.map { $0 as any ConfigProvider } ?? InMemoryProvider(name: "no file", values: [:]),
            InMemoryProvider(name: "defaults", values: defaults),
        ]
        reader = ConfigReader(providers: providers, accessReporter: answers)
    }

    /// The effective text of a registered key and where it came from: the first source that sets it, in the order of
    /// ``Layer``, as the `ConfigReader` finds it.
    func resolve(_ key: ConfigKey) throws(ConfigurationError) -> (text: String, source: ConfigSource) {
        let text: String
        do {
            // URL keys are marked secret too: swift-configuration's access log (CONFIG_ACCESS_LOG_FILE) would show a
            // password inside a URL.
            text = try reader.requiredString(forKey: Configuration::ConfigKey(key.name),
                                             isSecret: key.secret || key.type == .url)
        } catch {
            let source = answers.layer(of: Self.absoluteKey(key.name)).map { self.source(of: key, in: $0) } ?? .defaultValue
            throw ConfigurationError(.badValue(key: key.name, source: source, expected: key.type,
                                               reason: "it cannot be read as text (\(error))", shownValue: nil))
        }
        guard let layer = answers.layer(of: Self.absoluteKey(key.name)) else {
            preconditionFailure("swift-configuration's ConfigReader did not report the lookup of '\(key.name)'")
        }
        return (text, source(of: key, in: layer))
    }

    /// The text the configuration file gives a registered key, if it sets it.
    func fileText(of key: ConfigKey) throws(ConfigurationError) -> String? {
        guard let fileProvider else { return nil }
        do {
            guard let value = try fileProvider.value(forKey: Self.absoluteKey(key.name), type: .string).value,
                  case .string(let text) = value.content
            else { return nil }
            return text
        } catch {
            throw ConfigurationError(.badValue(key: key.name, source: .file(path: filePath ?? ""), expected: key.type,
                                               reason: "it cannot be read as text (\(error))", shownValue: nil))
        }
    }

    private func source(of key: ConfigKey, in layer: Layer) -> ConfigSource {
        switch layer {
        case .commandLine: .commandLine(flag: "--" + key.name)
        case .environment: .environment(variable: key.environmentVariable)
        case .file: .file(path: filePath ?? "")
        case .defaults: .defaultValue
        }
    }

    /// `kafka.brokers` → the key `["kafka", "brokers"]`, which the JSON file holds as `"kafka.brokers"` or nested
    /// objects, and the environment as `QUORUM_KAFKA_BROKERS` (below the `quorum` prefix).
    static func absoluteKey(_ name: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(Configuration::ConfigKey(name))
    }

    /// The dotted names of every value in a configuration file (nested objects joined with dots; `null` sets nothing),
    /// for the registry's unknown-key check, with the errors of a file that is not a JSON object of plain values.
    ///
    /// Uses `JSONSerialization`, as swift-configuration's `JSONSnapshot` does, so both see the same keys.
    static func fileKeyNames(_ data: Data, path: String) throws(ConfigurationError) -> [String] {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ConfigurationError(.unreadableFile(path: path, reason: "it is not valid JSON"))
        }
        guard let object = root as? [String: Any] else {
            throw ConfigurationError(.unreadableFile(path: path, reason: "the top level is not a JSON object"))
        }
        var names: [String] = []
        func walk(_ object: [String: Any], prefix: String) throws(ConfigurationError) {
            for (member, value) in object.sorted(by: { $0.key < $1.key }) {
                let name = prefix.isEmpty ? member : prefix + "." + member
                switch value {
                case let nested as [String: Any]:
                    try walk(nested, prefix: name)
                case is NSNull:
                    break
                case let items as [Any]:
                    if items.contains(where: { $0 is [Any] || $0 is [String: Any] }) {
                        throw ConfigurationError(.unreadableFile(
                            path: path, reason: "'\(name)' is an array holding an array or object; lists hold plain values"))
                    }
                    if items.contains(where: { $0 is NSNull }) {
                        throw ConfigurationError(.unreadableFile(
                            path: path, reason: "'\(name)' is an array holding null; lists hold plain values"))
                    }
                    let strings = items.filter { $0 is String }.count
                    if strings != 0 && strings != items.count {
                        throw ConfigurationError(.unreadableFile(
                            path: path, reason: "'\(name)' is an array mixing strings with numbers or booleans; a list holds one kind"))
                    }
                    names.append(name)
                default:
                    names.append(name)
                }
            }
        }
        try walk(object, prefix: "")
        return names
    }
}

/// Remembers which provider answered each lookup of the `ConfigReader` (it reports every lookup, synchronously, with
/// one result per provider asked, stopping at the first that has the key), as a ``ConfigurationSources/Layer``.
private final class AnsweringLayer: AccessReporter, Sendable {
    private let answered = Mutex<[AbsoluteConfigKey: ConfigurationSources.Layer]>([:])

    func report(_ event: AccessEvent) {
        guard let layer = ConfigurationSources.Layer(rawValue: event.providerResults.count - 1) else { return }
        answered.withLock { $0[event.metadata.key] = layer }
    }

    func layer(of key: AbsoluteConfigKey) -> ConfigurationSources.Layer? {
        answered.withLock { $0[key] }
    }
}

/// swift-configuration's `JSONSnapshot` as a provider whose text lookups (`.string`, the only type the loader asks for)
/// also answer for numbers, booleans and arrays, with their text: the loader parses every value itself, and a file's
/// `"http.port": 8081` or `"kafka.brokers": ["a:9092", "b:9092"]` must read like `--http.port 8081` and
/// `--kafka.brokers a:9092,b:9092`. Other types are looked up unchanged.
///
/// JSON `true`/`false` read as `1`/`0` (`JSONSerialization` gives Foundation numbers for them, which `JSONSnapshot`
/// cannot tell from 1 and 0); they parse as `bool` all the same.
struct JSONFileProvider: ConfigProvider, ConfigSnapshot {
    let json: JSONSnapshot

    var providerName: String { json.providerName }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        guard type == .string else { return try json.value(forKey: key, type: type) }
        // Each probe throws when the value is of another kind; the first that answers gives the text.
        for probe: ConfigType in [.string, .int, .double, .stringArray, .intArray, .doubleArray] {
            guard let result = try? json.value(forKey: key, type: probe) else { continue }
            guard let value = result.value else { return result }
            return LookupResult(encodedKey: result.encodedKey,
                                value: Configuration::ConfigValue(.string(Self.text(of: value.content)), isSecret: value.isSecret))
        }
        return try json.value(forKey: key, type: .string)
    }

    private static func text(of content: ConfigContent) -> String {
        switch content {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .stringArray(let items): items.joined(separator: ",")
        case .intArray(let items): items.map { String($0) }.joined(separator: ",")
        case .doubleArray(let items): items.map { String($0) }.joined(separator: ",")
        case .boolArray(let items): items.map { String($0) }.joined(separator: ",")
        case .bytes, .byteChunkArray: ""
        }
    }

    nonisolated(nonsending) func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        try value(forKey: key, type: type)
    }

    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey,
        type: ConfigType,
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>)
            async throws -> Return
    ) async throws -> Return {
        try await watchValueFromValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { self }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>)
            async throws -> Return
    ) async throws -> Return {
        try await watchSnapshotFromSnapshot(updatesHandler: updatesHandler)
    }
}
