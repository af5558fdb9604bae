import Foundation

/// Renders docs/configuration.md from the key registry, so the page cannot drift from the code.
///
/// A unit test compares the committed page with ``markdown(registry:)``; `scripts/gen-config-doc` rewrites it.
public enum ConfigurationDoc {
    /// The whole docs/configuration.md page: how configuration is read, then ONE table of every key.
    public static func markdown(registry: ConfigRegistry = .standard) -> String {
        """
        # Configuration

        <!-- Generated from ConfigurationDoc.markdown() in Shared/QuorumServiceKit; do not edit by hand.
             Regenerate with: scripts/gen-config-doc -->

        Every Quorum service reads the same keys (below) plus its own. A value is taken from the first of these
        that sets it (highest precedence first):

        1. a command-line flag: `--kafka.brokers=127.0.0.1:9092` or `--kafka.brokers 127.0.0.1:9092`
           (a bool key alone, `--some.flag`, means `true`);
        2. an environment variable: `QUORUM_` + the key upper-cased with dots as underscores
           (`QUORUM_KAFKA_BROKERS` sets `kafka.brokers`); only `QUORUM_*` variables are read;
        3. the configuration file given by `--config path` (or `QUORUM_CONFIG=path`);
        4. the key's default.

        The configuration file is a JSON object. Keys may be dotted or nested, and both may be mixed:

        ```json
        { "kafka.brokers": "127.0.0.1:9092", "log": { "level": "debug" }, "http": { "port": 8081 } }
        ```

        Values are strings, numbers or booleans (a boolean reads as `1`/`0`, which a `bool` key takes as
        `true`/`false`); a `list` may also be a JSON array of strings or of numbers; `null` leaves the key at its
        default.

        Value types: `string` (text), `int` (whole number), `double` (decimal), `bool` (`true`/`false`, also
        `1`/`0`, `yes`/`no`, `on`/`off`), `duration` (number with unit `ms`, `s`, `m` or `h`, e.g. `250ms`, `30s`),
        `url` (`scheme://host…`), `list` (comma-separated).

        An unknown key — in the file, a `QUORUM_*` variable or a flag — stops the service with an error naming the
        key, where it came from and the closest known key. A value of the wrong type stops it with an error naming
        the key, its source and the expected type, also when a source of higher precedence sets the key as well.

        The environment and the file are read with [swift-configuration](https://github.com/apple/swift-configuration)
        (its environment-variable provider and JSON parsing), and one of its `ConfigReader`s takes each key from the
        first source above that sets it. Quorum parses the flags itself (swift-configuration's command-line provider
        spells keys `--kafka-brokers` and splits values at commas) and checks every key each source sets against its
        key registry, which also makes this page (`ConfigurationSources` in `Shared/QuorumServiceKit`).

        `--print-config` prints every effective value with its source and exits; secrets (keys marked secret,
        passwords inside URLs) print as `***`. `--help` prints the table below.

        Services add their own keys (documented in the same table once registered) and may change a default
        (each service sets `service.name`, and may set its own `http.port`).

        \(table(registry))
        """
    }

    /// The table of every key: name, type, default, environment variable, description.
    public static func table(_ registry: ConfigRegistry) -> String {
        var lines = [
            "| Key | Type | Default | Environment variable | Description |",
            "|---|---|---|---|---|",
        ]
        for key in registry.keys {
            let shownDefault = key.defaultValue.isEmpty ? "(empty)" : "`\(cell(Redaction.redactURLPasswords(in: key.defaultValue)))`"
            let description = cell(key.doc) + (key.secret ? " **Secret**: never printed or logged." : "")
            lines.append("| `\(key.name)` | \(key.type) | \(shownDefault) | `\(key.environmentVariable)` | \(description) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
