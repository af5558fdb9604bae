// The catalog: every feature a spec can name, with its parameters (types, defaults, bounds), its outputs, how its
// columns are named by default and how to build it. `quorum features list` prints it; docs/features.md explains
// each entry. A spec entry names a kind and sets some parameters; `FeatureSpec` resolves the rest to the defaults.

/// A parameter value in a spec: whole numbers, decimals and names (MA types, price sources).
public enum FeatureValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case text(String)

    /// The value as written in column names and in the spec's hash: `14`, `2`, `2.5`, `ema`.
    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .double(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .text(let t): t
        }
    }
}

/// One parameter a kind takes.
public struct FeatureParameter: Sendable {
    public enum Domain: Sendable {
        /// A whole number ≥ `min`.
        case int(min: Int)
        /// A number > `above` (or ≥ `atLeast`).
        case double(above: Double?, atLeast: Double?)
        /// One of these names.
        case choice([String])
    }

    public let name: String
    public let domain: Domain
    public let defaultValue: FeatureValue
    /// Part of the default column name (periods are; multipliers and MA types are not).
    public let inName: Bool

    static func int(_ name: String, _ value: Int, min: Int = 1, inName: Bool = true) -> FeatureParameter {
        FeatureParameter(name: name, domain: .int(min: min), defaultValue: .int(value), inName: inName)
    }

    static func double(_ name: String, _ value: Double, above: Double? = 0, atLeast: Double? = nil, inName: Bool = false) -> FeatureParameter {
        FeatureParameter(name: name, domain: .double(above: above, atLeast: atLeast), defaultValue: .double(value), inName: inName)
    }

    static func maType(_ name: String = "ma") -> FeatureParameter {
        FeatureParameter(name: name, domain: .choice(MATypeName.all), defaultValue: .text("sma"), inName: false)
    }

    static func source(_ name: String = "source", _ value: PriceSource = .close) -> FeatureParameter {
        FeatureParameter(name: name, domain: .choice(PriceSource.allCases.map(\.rawValue)), defaultValue: .text(value.rawValue), inName: false)
    }

    /// "period ≥ 2 (default 14)" for `quorum features list`.
    public var summary: String {
        switch domain {
        case .int(let min): "\(name)=\(defaultValue) (≥ \(min))"
        case .double(let above, let atLeast):
            "\(name)=\(defaultValue)" + (atLeast.map { " (≥ \(FeatureValue.double($0)))" } ?? above.map { " (> \(FeatureValue.double($0)))" } ?? "")
        case .choice(let names): "\(name)=\(defaultValue) (\(names.joined(separator: "|")))"
        }
    }
}

/// TA-Lib's MA types by the names a spec uses.
enum MATypeName {
    static let byName: [(String, TA.MAType)] = [
        ("sma", .sma), ("ema", .ema), ("wma", .wma), ("dema", .dema), ("tema", .tema), ("trima", .trima), ("kama", .kama), ("t3", .t3),
    ]
    static let all = byName.map(\.0)
}

/// A kind's parameters with every value resolved (the spec's, else the default), in the kind's order.
public struct FeatureArguments: Sendable, Hashable {
    public let values: [String: FeatureValue]
    /// A pair kind's second series comes from another symbol's bar at the same event time (`"with"`).
    public let crossAsset: Bool

    public init(values: [String: FeatureValue], crossAsset: Bool = false) {
        self.values = values
        self.crossAsset = crossAsset
    }

    func int(_ name: String) -> Int {
        if case .int(let i) = values[name] { return i }
        preconditionFailure("feature parameter \(name) is not a whole number")
    }

    func double(_ name: String) -> Double {
        switch values[name] {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: preconditionFailure("feature parameter \(name) is not a number")
        }
    }

    func text(_ name: String) -> String {
        if case .text(let t) = values[name] { return t }
        preconditionFailure("feature parameter \(name) is not a name")
    }

    func maType(_ name: String = "ma") -> TA.MAType {
        let t = text(name)
        return MATypeName.byName.first { $0.0 == t }!.1
    }

    func source(_ name: String = "source") -> PriceSource { PriceSource(rawValue: text(name))! }
}

/// One feature a spec can name (`"kind": "rsi"`).
public struct FeatureKind: Sendable {
    public enum Group: String, Sendable, CaseIterable {
        case trend, momentum, volatility, volume, statistics, temporal, microstructure, price
    }

    public let name: String
    public let group: Group
    /// One line: what it is and its reference (TA-Lib function, paper or platform).
    public let summary: String
    public let parameters: [FeatureParameter]
    /// Output keys in the order the node writes them; a spec's `"outputs"` picks some of them.
    public let outputs: [String]
    /// The outputs a spec gets when it does not say (all of them unless stated).
    public let defaultOutputs: [String]
    /// Takes two series (x, y); with `"with": SYMBOL` in a spec, y comes from that symbol's bars.
    public let isPair: Bool
    /// Cross-parameter rules beyond each parameter's own bounds; returns the problem.
    let check: @Sendable (FeatureArguments) -> String?
    let make: @Sendable (FeatureArguments) -> any FeatureNode

    init(_ name: String, _ group: Group, _ summary: String, parameters: [FeatureParameter] = [], outputs: [String] = [],
         defaultOutputs: [String]? = nil, isPair: Bool = false,
         check: @escaping @Sendable (FeatureArguments) -> String? = { _ in nil },
         make: @escaping @Sendable (FeatureArguments) -> any FeatureNode) {
        self.name = name
        self.group = group
        self.summary = summary
        self.parameters = parameters
        self.outputs = outputs.isEmpty ? [""] : outputs
        self.defaultOutputs = defaultOutputs ?? self.outputs
        self.isPair = isPair
        self.check = check
        self.make = make
    }

    /// The default column name of one output: the kind, the output key (for kinds with several), then the values
    /// of the parameters that name it, joined by "_": `rsi_14`, `bbands_upper_20`, `macd_signal_12_26_9`.
    func column(output: String, arguments: FeatureArguments) -> String {
        var parts = [name]
        if !output.isEmpty { parts.append(output) }
        for p in parameters where p.inName { parts.append(arguments.values[p.name]!.description) }
        return parts.joined(separator: "_")
    }

    /// Every parameter at its default.
    public var defaultArguments: FeatureArguments {
        FeatureArguments(values: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.defaultValue) }))
    }

    /// Bars before the first value with these arguments (builds one node to ask it).
    public func lookback(_ arguments: FeatureArguments) -> Int { make(arguments).lookback }
}

/// All kinds, by name. `FeatureCatalog.revision` changes whenever any kind's computation changes, so that the
/// content hash of every spec (its version) changes with it.
public enum FeatureCatalog {
    /// Part of every spec's hash: bump it when a kind's values change for the same parameters.
    public static let revision = 1

    public static let kinds: [FeatureKind] = trend + momentum + volatility + volume + statistics + temporal + microstructure + price

    private static let byName: [String: FeatureKind] = Dictionary(uniqueKeysWithValues: kinds.map { ($0.name, $0) })

    public static func kind(named name: String) -> FeatureKind? { byName[name] }
}
