import Foundation
import QuorumFeatures
import QuorumModel
import QuorumResearch
import QuorumServiceKit

extension FuzzEntries {
    /// The configuration surfaces of `FuzzConfig`, in selector order.
    public static let configSurfaces = ["service", "backtest", "featurespec"]

    /// The registry the service surface loads with: every common key plus one of each type the common keys lack,
    /// a secret string among them.
    static let fuzzRegistry: ConfigRegistry = {
        var registry = ConfigRegistry.standard
        registry.register([
            ConfigKey("fuzz.ratio", .double, default: "0.5", doc: "A double key (fuzzing only)."),
            ConfigKey("fuzz.flag", .bool, default: "false", doc: "A bool key (fuzzing only)."),
            ConfigKey("fuzz.token", .string, default: "", doc: "A secret string key (fuzzing only).", secret: true),
        ])
        return registry
    }()

    /// `FuzzConfig`: the configuration loaders.
    ///
    /// Input: one selector byte (`configSurfaces[selector % 3]`), then
    /// - service: fields separated by NUL bytes; the first is the JSON configuration file's content (read when a
    ///   `--config` flag or `QUORUM_CONFIG` names any path), each further field a `QUORUM_*=value` variable or a
    ///   command-line argument (`Configuration.load`: flags, environment, file, typed values, unknown keys). A bad
    ///   one must throw a `ConfigurationError` that never shows a secret key's value or a URL password; a good one
    ///   must read back every key with its typed accessor, and `--print-config`'s table must not show secrets either.
    /// - backtest: a `quorum backtest` / `walk-forward` / `tune` config file (`BacktestConfig.parse`).
    /// - featurespec: a feature spec file (`FeatureSpec.parse`); a spec that parses must build its features engine
    ///   and take bars (`FeaturesCore`), as the features stage does with `features.spec`.
    @Sendable public static func configuration(_ bytes: [UInt8]) {
        var input = FuzzBytes(bytes)
        guard let selector = input.byte() else { return }
        let body = input.rest()
        switch Int(selector) % configSurfaces.count {
        case 0: serviceConfiguration(body)
        case 1:
            do {
                _ = try BacktestConfig.parse(String(decoding: body, as: UTF8.self), file: "fuzz.json",
                                             baseDirectory: FuzzScratch.directory)
            } catch {
                if error.description.isEmpty { finding("BacktestError \(error.code) without a description") }
            }
        default: featureSpec(body)
        }
    }

    static func serviceConfiguration(_ body: [UInt8]) {
        let fields = body.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let file = fields.first ?? ""
        var arguments: [String] = []
        var environment: [String: String] = [:]
        for field in fields.dropFirst() {
            if field.hasPrefix(ConfigKey.environmentPrefix), let equals = field.firstIndex(of: "=") {
                environment[String(field[..<equals])] = String(field[field.index(after: equals)...])
            } else {
                arguments.append(field)
            }
        }
        let secrets = secretValues(arguments: arguments, environment: environment, wholeInput: String(decoding: body, as: UTF8.self))
        do {
            let result = try Configuration.load(registry: fuzzRegistry, arguments: arguments, environment: environment,
                                                readFile: { _ in Data(file.utf8) })
            let configuration = result.configuration
            for key in fuzzRegistry.keys {
                switch key.type {
                case .string: _ = configuration.string(key.name)
                case .int: _ = configuration.int(key.name)
                case .double: _ = configuration.double(key.name)
                case .bool: _ = configuration.bool(key.name)
                case .duration: _ = configuration.duration(key.name)
                case .url: _ = configuration.url(key.name)
                case .list: _ = configuration.list(key.name)
                }
            }
            let table = configuration.rendered()
            for secret in secrets where table.contains(secret) {
                finding("--print-config shows a secret (\(secret.count) characters) set by the input")
            }
        } catch let error as ConfigurationError {
            let text = error.description
            if text.isEmpty { finding("ConfigurationError \(error.kind) without a description") }
            for secret in secrets where text.contains(secret) {
                finding("a configuration error shows a secret (\(secret.count) characters) set by the input: \(error.kind)")
            }
        } catch {
            finding("Configuration.load threw \(type(of: error)) instead of a ConfigurationError: \(error)")
        }
    }

    /// The values the input gives secret keys (flags and variables), and the passwords of URLs among them, that are
    /// long enough and occur once in the input (so that finding one in a message can only be that secret shown).
    static func secretValues(arguments: [String], environment: [String: String], wholeInput: String) -> [String] {
        var values: [String] = []
        for key in fuzzRegistry.keys where key.secret {
            let flag = "--" + key.name
            for (index, argument) in arguments.enumerated() {
                if argument.hasPrefix(flag + "=") {
                    values.append(String(argument.dropFirst(flag.count + 1)))
                } else if argument == flag, index + 1 < arguments.count {
                    values.append(arguments[index + 1])
                }
            }
            if let value = environment[key.environmentVariable] { values.append(value) }
        }
        // URL passwords anywhere in the arguments and variables (any key's value redacts them).
        for text in arguments + Array(environment.values) {
            guard let scheme = text.range(of: "://") else { continue }
            // A URL's authority ends at '/', '?', '#' or a blank (text with a blank in it is no URL).
            let authority = text[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" && !$0.isWhitespace }
            guard let at = authority.lastIndex(of: "@") else { continue }
            let userInfo = authority[..<at]
            if let colon = userInfo.firstIndex(of: ":") { values.append(String(userInfo[userInfo.index(after: colon)...])) }
        }
        return values.filter { $0.count >= 8 && wholeInput.components(separatedBy: $0).count == 2 }
    }

    static func featureSpec(_ body: [UInt8]) {
        let spec: FeatureSpec
        do {
            spec = try FeatureSpec.parse(String(decoding: body, as: UTF8.self), file: "fuzz-spec.json")
        } catch {
            if error.description.isEmpty { finding("FeatureSpecError without a description") }
            return
        }
        var core = FeaturesCore(spec: spec)
        var price = 100
        for step in 0..<8 {
            price += step % 3 == 0 ? -2 : 3
            let bar = Bar(symbol: "BTC-USD", openTime: Int64(step) * 1_800_000_000_000, intervalSeconds: 1800,
                          open: Fixed(price), high: Fixed(price + 2), low: Fixed(price - 2), close: Fixed(price + 1),
                          volume: Fixed(10 + step))
            do {
                _ = try core.handle(bar)
            } catch {
                if error.description.isEmpty { finding("FeatureSpecError without a description from FeaturesCore") }
                return
            }
        }
    }
}
