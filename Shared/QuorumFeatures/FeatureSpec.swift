import Foundation
import QuorumModel

/// A feature spec that cannot be used: what is wrong and where (the file and the entry's JSON path), with a
/// "did you mean" for a misspelt kind or key.
public struct FeatureSpecError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which features a vector holds, in which order: data, not code.
///
/// A spec is a JSON document (docs/features.md, "Feature specs"):
///
/// ```json
/// {"name": "my-spec", "description": "…", "features": [
///   {"kind": "rsi", "period": 14},
///   {"kind": "bollinger", "period": 20, "outputs": ["pctb", "width"]},
///   {"kind": "ema_ratio", "fast": 12, "slow": 26, "timeframe": "4h"},
///   {"kind": "macd", "names": ["macd", "macd_signal", "macd_hist"]}
/// ]}
/// ```
///
/// Each entry names a `FeatureCatalog` kind and sets some of its parameters (the rest take their defaults);
/// `outputs` picks some of a kind's outputs, `names` renames the columns, `timeframe` computes the feature on
/// higher-timeframe bars built in the stream. Its `version` is a content hash of the resolved entries (kinds, every
/// parameter, outputs, column names, timeframes) and of `FeatureCatalog.revision`; it travels with every vector
/// (`feature_spec_version`) and every model, and a model refuses vectors of another version.
///
/// Built in: `core-v1` (the 13 features Quorum started with, values unchanged), `talib-parity` (the columns of
/// TA-Lib's classic set, for `quorum features compute`), and `rich-v1`, the default: ~50 mostly scale-free
/// features across trend, momentum, volatility, volume, statistics, calendar, microstructure and a 4h timeframe.
public struct FeatureSpec: Sendable, Hashable, CustomStringConvertible {
    /// One resolved entry.
    public struct Entry: Sendable, Hashable {
        public let kind: String
        public let arguments: FeatureArguments
        /// Indexes into the kind's outputs, in column order.
        public let outputs: [Int]
        public let columns: [String]
        /// Seconds of the higher timeframe the feature runs on; nil for the bars' own.
        public let timeframe: Int64?
        /// Computed on this symbol's bars and given to every symbol at the same event time (`"symbol"`).
        public let symbol: Symbol?
        /// A pair kind whose second series is this symbol's (`"with"`).
        public let with: Symbol?

        /// The symbol whose bars this entry reads besides the vector's own, if any.
        public var otherSymbol: Symbol? { symbol ?? with }
    }

    public let name: String
    public let summary: String
    public let entries: [Entry]
    /// Column names in vector order.
    public let names: [String]
    /// The content hash (31 bits, so that it fits the registry's int column): the spec's version.
    public let version: UInt32

    /// The version as 8 hex digits.
    public var versionHex: String { String(Self.label("", version).dropFirst()) }

    /// "rich-v1@1a2b3c4d": name and version, as logs and errors show a spec.
    public var description: String { Self.label(name, version) }

    /// "name@version" for a spec known only by its name and version (a vector's or a model's).
    public static func label(_ name: String, _ version: UInt32) -> String {
        let digits = String(version, radix: 16)
        return "\(name)@" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The other symbols the spec reads (cross-asset entries), sorted.
    public var referencedSymbols: [Symbol] { Set(entries.compactMap(\.otherSymbol)).sorted() }

    public static func == (a: FeatureSpec, b: FeatureSpec) -> Bool { a.version == b.version && a.name == b.name }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(version)
    }

    /// Bars needed until every feature is defined on bars of `intervalSeconds`: the vector of this bar (1-based) is
    /// the first that can be warm (a higher-timeframe feature counts its worst alignment).
    public func warmUpBars(intervalSeconds: Int64) -> Int {
        entries.map { entry in
            let lookback = FeatureCatalog.kind(named: entry.kind)!.lookback(entry.arguments)
            guard let t = entry.timeframe, intervalSeconds > 0 else { return lookback }
            return Int(t / intervalSeconds) * (lookback + 2) - 1
        }.max().map { $0 + 1 } ?? 1
    }

    /// Rejects a spec whose timeframes do not fit bars of `intervalSeconds` (each must be a larger multiple of it).
    public func check(intervalSeconds: Int64) throws(FeatureSpecError) {
        for (i, entry) in entries.enumerated() {
            guard let t = entry.timeframe else { continue }
            guard t > intervalSeconds, t % intervalSeconds == 0 else {
                throw FeatureSpecError("feature spec \(self): features[\(i)] (\(entry.kind)) runs on a \(Durations.text(t * 1_000_000_000)) timeframe, "
                    + "which is not a larger multiple of the bars' \(Durations.text(intervalSeconds * 1_000_000_000)) interval; "
                    + "use a multiple such as \(Durations.text(intervalSeconds * 4_000_000_000)) or remove \"timeframe\"")
            }
        }
    }
}

// MARK: - Reading a spec

extension FeatureSpec {
    static let entryKeys = ["kind", "outputs", "names", "timeframe", "symbol", "with"]

    /// Parses a spec document; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(FeatureSpecError) -> FeatureSpec {
        let json: JSON
        do { json = try JSON.parse(text) } catch { throw FeatureSpecError("\(file): not JSON: \(error)") }
        guard case .object(let top) = json else { throw FeatureSpecError("\(file): a feature spec is a JSON object ({\"name\": …, \"features\": […]})") }
        try unknownKeys(top, allowed: ["name", "description", "features"], path: "", file: file)
        guard case .string(let name)? = top.first(where: { $0.0 == "name" })?.1, !name.isEmpty else {
            throw FeatureSpecError("\(file): \"name\" is required: a string such as \"my-spec\"")
        }
        var summary = ""
        if let d = top.first(where: { $0.0 == "description" })?.1 {
            guard case .string(let s) = d else { throw FeatureSpecError("\(file): \"description\" must be a string") }
            summary = s
        }
        guard case .array(let items)? = top.first(where: { $0.0 == "features" })?.1, !items.isEmpty else {
            throw FeatureSpecError("\(file): \"features\" is required: a non-empty list of {\"kind\": …} entries")
        }
        var entries: [Entry] = []
        for (i, item) in items.enumerated() { entries.append(try entry(item, path: "features[\(i)]", file: file)) }
        var seen: [String: String] = [:]
        for (i, entry) in entries.enumerated() {
            for column in entry.columns {
                if let first = seen[column] {
                    throw FeatureSpecError("\(file): features[\(i)] (\(entry.kind)) makes a column \"\(column)\" that \(first) already makes; "
                        + "give one of them \"names\"")
                }
                seen[column] = "features[\(i)]"
            }
        }
        return FeatureSpec(name: name, summary: summary, entries: entries)
    }

    init(name: String, summary: String, entries: [Entry]) {
        self.name = name
        self.summary = summary
        self.entries = entries
        names = entries.flatMap(\.columns)
        version = Self.contentHash(entries)
    }

    /// FNV-1a 64 of the canonical text of the resolved entries and the catalog revision, folded to 31 bits.
    static func contentHash(_ entries: [Entry]) -> UInt32 {
        var text = "quorum-features/\(FeatureCatalog.revision)\n"
        for entry in entries {
            let kind = FeatureCatalog.kind(named: entry.kind)!
            text += entry.kind
            for p in kind.parameters { text += ";\(p.name)=\(entry.arguments.values[p.name]!)" }
            text += ";outputs=" + entry.outputs.map { kind.outputs[$0] }.joined(separator: ",")
            text += ";columns=" + entry.columns.joined(separator: ",")
            if let t = entry.timeframe { text += ";timeframe=\(t)" }
            if let other = entry.symbol { text += ";symbol=\(other.name)" }
            if let other = entry.with { text += ";with=\(other.name)" }
            text += "\n"
        }
        let h = FNV1a64.hash(Array(text.utf8))
        return UInt32(truncatingIfNeeded: (h >> 32) ^ h) & 0x7fff_ffff
    }

    static func unknownKeys(_ pairs: [(String, JSON)], allowed: [String], path: String, file: String) throws(FeatureSpecError) {
        for (key, _) in pairs where !allowed.contains(key) {
            let at = path.isEmpty ? key : "\(path).\(key)"
            let hint = NameSuggestion.closest(to: key, among: allowed).map { " Did you mean \"\($0)\"?" } ?? ""
            throw FeatureSpecError("\(file): unknown key \"\(at)\".\(hint) (known here: \(allowed.joined(separator: ", ")))")
        }
    }

    static func entry(_ json: JSON, path: String, file: String) throws(FeatureSpecError) -> Entry {
        guard case .object(let pairs) = json else { throw FeatureSpecError("\(file): \(path) must be an object ({\"kind\": …})") }
        guard case .string(let kindName)? = pairs.first(where: { $0.0 == "kind" })?.1 else {
            throw FeatureSpecError("\(file): \(path).kind is required: one of `quorum features list`")
        }
        guard let kind = FeatureCatalog.kind(named: kindName) else {
            let hint = NameSuggestion.closest(to: kindName, among: FeatureCatalog.kinds.map(\.name)).map { " Did you mean \"\($0)\"?" } ?? ""
            throw FeatureSpecError("\(file): \(path).kind \"\(kindName)\" is not a feature.\(hint) (`quorum features list` shows them all)")
        }
        let where_ = "\(file): \(path) (\(kindName))"
        try unknownKeys(pairs, allowed: entryKeys + kind.parameters.map(\.name), path: path, file: file)
        func symbolKey(_ key: String) throws(FeatureSpecError) -> Symbol? {
            guard let given = pairs.first(where: { $0.0 == key })?.1 else { return nil }
            guard case .string(let name) = given, !name.isEmpty else { throw FeatureSpecError("\(where_): \(key) must be a symbol such as \"BTC-USD\"") }
            return Symbol(name)
        }
        let symbol = try symbolKey("symbol"), with = try symbolKey("with")
        if with != nil && !kind.isPair {
            let pairs = FeatureCatalog.kinds.filter(\.isPair).map(\.name).joined(separator: ", ")
            throw FeatureSpecError("\(where_): \"with\" pairs this symbol's series with another's, which only two-series kinds do (\(pairs)); "
                + "use \"symbol\" to compute \(kindName) on another symbol's bars")
        }
        if symbol != nil && with != nil { throw FeatureSpecError("\(where_): give \"symbol\" or \"with\", not both") }
        var values: [String: FeatureValue] = [:]
        for p in kind.parameters {
            guard let given = pairs.first(where: { $0.0 == p.name })?.1 else {
                // Cross-asset pairs compare the two symbols' closes unless told otherwise.
                values[p.name] = with != nil && (p.name == "x" || p.name == "y") ? .text(PriceSource.close.rawValue) : p.defaultValue
                continue
            }
            values[p.name] = try value(given, of: p, at: "\(where_): \(p.name)")
        }
        let arguments = FeatureArguments(values: values, crossAsset: with != nil)
        if let problem = kind.check(arguments) { throw FeatureSpecError("\(where_): \(problem)") }

        var outputs = kind.defaultOutputs.map { kind.outputs.firstIndex(of: $0)! }
        if let given = pairs.first(where: { $0.0 == "outputs" })?.1 {
            let picked = try strings(given, at: "\(where_): outputs")
            guard !picked.isEmpty else { throw FeatureSpecError("\(where_): outputs must name at least one of \(kind.outputs)") }
            outputs = []
            for o in picked {
                guard let index = kind.outputs.firstIndex(of: o), !o.isEmpty else {
                    let hint = NameSuggestion.closest(to: o, among: kind.outputs).map { " Did you mean \"\($0)\"?" } ?? ""
                    throw FeatureSpecError("\(where_): \"\(o)\" is not an output of \(kindName).\(hint) (its outputs: \(kind.outputs.joined(separator: ", ")))")
                }
                outputs.append(index)
            }
        }
        var timeframe: Int64?
        if let given = pairs.first(where: { $0.0 == "timeframe" })?.1 {
            guard case .string(let text) = given, let ns = Durations.parse(text), ns > 0 else {
                throw FeatureSpecError("\(where_): timeframe must be a duration such as \"4h\", \"1d\" or \"15m\"")
            }
            timeframe = ns / 1_000_000_000
            if with != nil { throw FeatureSpecError("\(where_): \"timeframe\" and \"with\" cannot be combined (yet); use one of them") }
        }
        let suffix = (timeframe.map { "_" + Durations.text($0 * 1_000_000_000) } ?? "") + ((symbol ?? with).map { "_" + slug($0) } ?? "")
        var columns = outputs.map { index in
            kind.column(output: kind.outputs[index], arguments: arguments) + suffix
        }
        if let given = pairs.first(where: { $0.0 == "names" })?.1 {
            let names = try strings(given, at: "\(where_): names")
            guard names.count == outputs.count, names.allSatisfy({ !$0.isEmpty }) else {
                throw FeatureSpecError("\(where_): names must give \(outputs.count) non-empty column name(s), one per output "
                    + "(\(outputs.map { kind.outputs[$0] }.joined(separator: ", ")))")
            }
            columns = names
        }
        return Entry(kind: kindName, arguments: arguments, outputs: outputs, columns: columns, timeframe: timeframe, symbol: symbol, with: with)
    }

    /// A symbol as a column-name suffix: "BTC-USD" → "btc_usd".
    static func slug(_ symbol: Symbol) -> String {
        String(symbol.name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func value(_ json: JSON, of p: FeatureParameter, at place: String) throws(FeatureSpecError) -> FeatureValue {
        switch p.domain {
        case .int(let min):
            guard case .number(let text) = json, let i = Int(text) else { throw FeatureSpecError("\(place) must be a whole number") }
            guard i >= min else { throw FeatureSpecError("\(place) is \(i); it must be at least \(min)") }
            return .int(i)
        case .double(let above, let atLeast):
            guard case .number(let text) = json, let d = Double(text), d.isFinite else { throw FeatureSpecError("\(place) must be a number") }
            if let above, d <= above { throw FeatureSpecError("\(place) is \(text); it must be above \(FeatureValue.double(above))") }
            if let atLeast, d < atLeast { throw FeatureSpecError("\(place) is \(text); it must be at least \(FeatureValue.double(atLeast))") }
            return .double(d)
        case .choice(let names):
            guard case .string(let text) = json else { throw FeatureSpecError("\(place) must be one of \(names.joined(separator: ", "))") }
            guard names.contains(text) else {
                let hint = NameSuggestion.closest(to: text, among: names).map { " Did you mean \"\($0)\"?" } ?? ""
                throw FeatureSpecError("\(place) \"\(text)\" is not one of \(names.joined(separator: ", ")).\(hint)")
            }
            return .text(text)
        }
    }

    static func strings(_ json: JSON, at place: String) throws(FeatureSpecError) -> [String] {
        guard case .array(let items) = json else { throw FeatureSpecError("\(place) must be a list of strings") }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw FeatureSpecError("\(place) must be a list of strings") }
            out.append(s)
        }
        return out
    }
}

// MARK: - Writing a spec

extension FeatureSpec {
    /// The spec as a JSON document that parses back to the same entries, every parameter spelt out; with `keeping`,
    /// only those columns (an entry with none of them left out). `name` and `description` replace the spec's.
    public func document(keeping: Set<String>? = nil, name: String? = nil, description: String? = nil) -> String {
        var items: [JSON] = []
        for entry in entries {
            let kind = FeatureCatalog.kind(named: entry.kind)!
            let kept = zip(entry.outputs, entry.columns).filter { keeping?.contains($0.1) ?? true }
            guard !kept.isEmpty else { continue }
            var pairs: [(String, JSON)] = [("kind", .string(entry.kind))]
            for p in kind.parameters {
                switch entry.arguments.values[p.name]! {
                case .int(let i): pairs.append((p.name, .int(i)))
                case .double(let d): pairs.append((p.name, .number(String(d))))
                case .text(let t): pairs.append((p.name, .string(t)))
                }
            }
            if kind.outputs != [""] { pairs.append(("outputs", .array(kept.map { .string(kind.outputs[$0.0]) }))) }
            pairs.append(("names", .array(kept.map { .string($0.1) })))
            if let t = entry.timeframe { pairs.append(("timeframe", .string(Durations.text(t * 1_000_000_000)))) }
            if let other = entry.symbol { pairs.append(("symbol", .string(other.name))) }
            if let other = entry.with { pairs.append(("with", .string(other.name))) }
            items.append(.object(pairs))
        }
        return JSON.object([("name", .string(name ?? self.name)), ("description", .string(description ?? summary)),
                            ("features", .array(items))]).rendered()
    }
}

// MARK: - Built-in specs and lookup

extension FeatureSpec {
    /// The 13 features Quorum started with (values unchanged since they were hard-coded).
    public static let coreV1 = builtIn(BuiltInSpecs.coreV1)
    /// TA-Lib's classic set under the column names `quorum features compute` promises.
    public static let talibParity = builtIn(BuiltInSpecs.talibParity)
    /// The default spec of the cluster, the demo and `quorum backtest`.
    public static let richV1 = builtIn(BuiltInSpecs.richV1)

    /// Every built-in spec.
    public static let builtIns: [FeatureSpec] = [coreV1, talibParity, richV1]

    /// The spec the cluster and `quorum backtest` use when none is configured.
    public static let `default` = richV1

    private static func builtIn(_ text: String) -> FeatureSpec {
        do { return try parse(text, file: "built-in spec") } catch { preconditionFailure("\(error)") }
    }

    /// The built-in spec of that name, nil otherwise.
    public static func builtIn(named name: String) -> FeatureSpec? { builtIns.first { $0.name == name } }

    /// The JSON document of a built-in spec (what `quorum features spec NAME` prints, to copy and edit).
    public static func document(ofBuiltIn name: String) -> String? {
        switch name {
        case coreV1.name: BuiltInSpecs.coreV1
        case talibParity.name: BuiltInSpecs.talibParity
        case richV1.name: BuiltInSpecs.richV1
        default: nil
        }
    }

    /// A built-in spec by name, or a spec file by path (anything with a "/" or ending in ".json").
    public static func load(_ nameOrPath: String,
                            readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }) throws(FeatureSpecError) -> FeatureSpec {
        if let spec = builtIn(named: nameOrPath) { return spec }
        guard nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") else {
            let hint = NameSuggestion.closest(to: nameOrPath, among: builtIns.map(\.name)).map { " Did you mean \"\($0)\"?" } ?? ""
            throw FeatureSpecError("\"\(nameOrPath)\" is not a built-in feature spec (\(builtIns.map(\.name).joined(separator: ", "))) "
                + "nor a spec file (a path with a \"/\" or ending in .json).\(hint)")
        }
        let text: String
        do { text = try readFile(nameOrPath) } catch { throw FeatureSpecError("feature spec file \(nameOrPath) cannot be read: \(error)") }
        return try parse(text, file: nameOrPath)
    }
}
