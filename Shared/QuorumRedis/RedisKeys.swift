/// The one place that builds Redis key names. Every key starts with the namespace `prefix`.
///
/// | state (DESIGN.md §4) | key | Redis type |
/// |---|---|---|
/// | latest feature vector of a symbol | `<prefix>features:latest:<symbol>` | string (bytes) |
/// | active model of a symbol | `<prefix>model:active:<symbol>` | string (model id) |
/// | exposure of every symbol | `<prefix>risk:exposure` | hash symbol → decimal string |
/// | kill switch | `<prefix>risk:kill-switch` | hash `on` → `1`/`0`, `reason` → text |
/// | execution's live book | `<prefix>execution:book` | hash `starting_cash`, `cash`, `position:<symbol>` → decimal |
/// | consensus source weights | `<prefix>consensus:source-weights` | hash source → double as text |
/// | market regime of a symbol | `<prefix>consensus:regime:<symbol>` | string (label) |
public struct RedisKeys: Sendable, Hashable {
    /// Namespace in front of every key, e.g. `"quorum:"` or `"replay-7:quorum:"`.
    public let prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    public func latestFeatures(symbol: String) -> String { prefix + "features:latest:" + symbol }
    public func activeModel(symbol: String) -> String { prefix + "model:active:" + symbol }
    public var exposure: String { prefix + "risk:exposure" }
    public var killSwitch: String { prefix + "risk:kill-switch" }
    public var executionBook: String { prefix + "execution:book" }
    public var sourceWeights: String { prefix + "consensus:source-weights" }
    public func regime(symbol: String) -> String { prefix + "consensus:regime:" + symbol }

    /// A `SCAN MATCH` pattern for every key under the prefix (glob characters in the prefix are escaped).
    public var allKeysPattern: String {
        var pattern = ""
        for character in prefix {
            if "*?[]\\".contains(character) { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern + "*"
    }
}
