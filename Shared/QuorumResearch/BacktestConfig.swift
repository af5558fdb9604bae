#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import QuorumExecution
import QuorumFeatures
import QuorumMarketData
import QuorumModel
import QuorumPipeline
import QuorumRisk
import QuorumStrategy

/// A backtest that cannot start or cannot run: what is wrong and where (the config key's JSON path, the file and
/// line), and what to do. `code` says which kind of problem it is.
public struct BacktestError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The config file is not JSON.
        case syntax
        /// A key the config does not know (with a "did you mean").
        case unknownKey
        /// A value of the wrong type or out of range, or a required key missing.
        case invalidValue
        /// Valid, but not available where it runs (the bar archive or the model registry without Postgres).
        case unsupported
        /// A data file cannot be read, or has a malformed row.
        case data
        /// No bars in the range, or a symbol without data.
        case noBars
        /// A model file that does not exist or does not load.
        case model
        /// The outputs cannot be written.
        case output
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// The run configuration of `quorum backtest`: one JSON file, every key documented in docs/backtest.md. Unknown keys
/// are rejected with their JSON path and the closest known key. Each section maps onto the configuration type the
/// services build their stages from (`ConsensusConfig`, `RiskConfig`, `PaperExchangeConfig`, `FeatureSpec`), so a
/// backtest runs the cluster's stages with the cluster's settings.
public struct BacktestConfig: Sendable {
    /// Where the bars come from.
    public enum DataSource: Sendable, Equatable {
        /// OHLCV files in any format `quorum ingest` reads (paths as written in the config; relative ones are taken
        /// from `baseDirectory`).
        case files([String])
        /// The Postgres bar archive of a topic prefix's schema ("" for the live run): what `quorum ingest` and
        /// `quorum-ingest` archived. `quorum backtest` reads it (`archived` of `BacktestData.load`).
        case archive(prefix: String)
    }

    /// A model to serve.
    public enum ModelSource: Sendable, Equatable {
        /// A model artifact file (`LogisticModel.artifact()` bytes) and the id its predictions carry (default: the
        /// file's name without extension).
        case file(path: String, id: String?)
        /// A model of the Postgres model registry of a topic prefix's schema ("" for the live run), by model id; its
        /// artifact is read into `registeredArtifacts` before the run (`quorum backtest` does).
        case registered(id: String, prefix: String)
    }

    /// The artifacts of the `.registered` models by model id, read from the registry by the command that runs the config
    /// (not part of the config file).
    public var registeredArtifacts: [String: [UInt8]] = [:]

    /// A rule strategy and its parameters.
    public enum RuleSpec: Sendable, Equatable {
        case emaCross(name: String, fast: String, slow: String, saturationGap: Double)
        case rsiRevert(name: String, key: String, lower: Double, upper: Double)

        public var strategy: any RuleStrategy {
            switch self {
            case .emaCross(let name, let fast, let slow, let gap):
                EMACrossoverRule(name: name, fastKey: fast, slowKey: slow, saturationGap: gap)
            case .rsiRevert(let name, let key, let lower, let upper):
                RSIMeanReversionRule(name: name, key: key, lower: lower, upper: upper)
            }
        }
    }

    /// How a malformed data row is treated.
    public enum BadRows: String, Sendable {
        /// Stop with the file, line and reason of the first (default).
        case error
        /// Leave the row out (counted in report.json).
        case skip
    }

    public var data: DataSource = .files([])
    /// Folder that relative paths in the config are taken from (the config file's folder).
    public var baseDirectory = "."
    /// Market of every row, overriding the file name and a symbol column (`--symbol`); nil: as `quorum ingest` infers it.
    public var dataSymbol: Symbol?
    public var timeColumn: String?
    public var timeFormat: String?
    public var timeZone: String?
    public var badRows: BadRows = .error
    /// Symbols to trade; empty: every symbol in the data.
    public var symbols: [Symbol] = []
    /// Bar interval in seconds; nil: from the file names or inferred from the rows.
    public var intervalSeconds: Int64?
    /// Only bars opening in `[from, to)`.
    public var from: Nanos?
    public var to: Nanos?
    public var featureSpec: FeatureSpec = .default
    /// Empty: rules only (consensus decides on the rule strategies alone).
    public var models: [ModelSource] = []
    public var rules: [RuleSpec] = [
        .emaCross(name: "ema_cross", fast: "ema_12", slow: "ema_26", saturationGap: 0.01),
        .rsiRevert(name: "rsi_revert", key: "rsi_14", lower: 30, upper: 70),
    ]
    public var consensus = ConsensusConfig()
    public var risk = RiskConfig()
    /// Fee of a fill that adds liquidity; the paper exchange fills market orders only, so every fill pays taker today.
    public var makerFeeBps: Fixed = 2
    /// Fee of a fill that takes liquidity (every paper fill: market orders at the next bar's open).
    public var takerFeeBps: Fixed = 10
    /// Fixed slippage, basis points of the fill bar's open, against the trader.
    public var slippageBps: Fixed = 5
    /// Volatility-scaled slippage: this fraction of the previous bar's high − low, against the trader.
    public var rangeSlippage: Fixed = .zero
    public var startingEquity: Fixed = 100_000
    /// Configurations tried before this one (the deflated Sharpe ratio's number of trials). Default 1.
    public var trials = 1
    /// Variance of the per-period Sharpe ratios of those trials. Default 0.
    public var trialSharpeVariance = 0.0
    /// Monte Carlo paths of the trade-order shuffle and of the block bootstrap of returns (0: none). Default 1000.
    public var monteCarloPaths = 1_000
    /// Seed of the Monte Carlo draws (the same seed gives the same paths). Default 1.
    public var monteCarloSeed: UInt64 = 1
    /// Bootstrap block length in bars (1: i.i.d.; longer keeps volatility clusters). Default 48.
    public var monteCarloBlockLength = 48
    /// Walk-forward settings (`quorum walk-forward`): a model trained per fold instead of `models`.
    public var walkForward: WalkForwardSettings?
    /// `quorum tune`'s search (`tune` section).
    public var tune: TuneSettings?
    /// Bars an order waits beyond the next before it fills (0: the next bar's open).
    public var fillDelayBars = 0
    /// Stress scenarios run after the backtest (`stress` section or `--stress`); nil: none.
    public var stress: StressSettings?

    public init() {}

    /// The costs every fill pays (execution charges them, risk's buying power counts them).
    public var costs: TradingCosts { TradingCosts(slippageBps: slippageBps, feeBps: takerFeeBps) }

    /// The paper exchange's settings.
    public var exchange: PaperExchangeConfig {
        var exchange = PaperExchangeConfig(startingCash: startingEquity, slippageBps: slippageBps, feeBps: takerFeeBps,
                                           allowShort: risk.allowShort, rangeSlippage: rangeSlippage)
        exchange.fillDelayBars = fillDelayBars
        return exchange
    }

    /// Risk's settings with the run's starting equity and costs.
    public var riskConfig: RiskConfig {
        var r = risk
        r.startingEquity = startingEquity
        r.costs = costs
        // Risk remembers decision and fill ids against redelivery; in one process nothing is delivered twice (and risk's
        // sequencer drops a decision not later than its symbol's last anyway): nothing to remember.
        r.dedupeCapacity = 0
        return r
    }

    /// Consensus settings, rules-only when there is no model (neither given nor trained per fold).
    public var consensusConfig: ConsensusConfig {
        var c = consensus
        c.rulesOnly = models.isEmpty && walkForward == nil
        return c
    }

    /// The reader options for the data files.
    public func readerOptions() throws(BacktestError) -> BarReaderOptions {
        var options = BarReaderOptions(symbol: dataSymbol, intervalSeconds: intervalSeconds, timeColumn: timeColumn)
        if let timeFormat {
            do { options.timeFormat = try TimeFormat(timeFormat) } catch {
                throw BacktestError(.invalidValue, "data.time_format: \(error)")
            }
        }
        if let timeZone {
            guard let zone = FileTimeZone(parsing: timeZone) else {
                throw BacktestError(.invalidValue, "data.timezone '\(timeZone)' is not a zone: use UTC, an offset such as +02:00, or a name such as Europe/Berlin")
            }
            options.timeZone = zone
        }
        return options
    }

    /// `path` as given, or joined to `baseDirectory` when relative.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") || baseDirectory == "." || baseDirectory.isEmpty ? path : baseDirectory + "/" + path
    }
}

// MARK: - Reading

extension BacktestConfig {
    /// Every top-level key, in documentation order.
    public static let topLevelKeys = ["symbols", "data", "interval", "from", "to", "features", "models", "rules", "consensus",
                                      "risk", "fees", "slippage", "fill_delay_bars", "starting_equity", "overfitting", "monte_carlo",
                                      "walk_forward", "stress", "tune"]

    /// Parses a config file's text. `file` names it in errors; `baseDirectory` is where relative paths start.
    public static func parse(_ text: String, file: String = "config", baseDirectory: String = ".") throws(BacktestError) -> BacktestConfig {
        let json: JSON
        do { json = try JSON.parse(text) } catch {
            throw BacktestError(.syntax, "\(file): not valid JSON: \(error)")
        }
        var config = BacktestConfig()
        config.baseDirectory = baseDirectory
        let root = try Section(json, path: "", file: file, keys: topLevelKeys)

        if let list = try root.strings("symbols") { config.symbols = list.map { Symbol($0) } }
        if let data = try root.section("data", keys: ["files", "archive", "symbol", "time_column", "time_format", "timezone", "bad_rows"]) {
            let files = try data.strings("files")
            let archive = try data.section("archive", keys: ["topic_prefix"])
            switch (files, archive) {
            case (let files?, nil): config.data = .files(files)
            case (nil, let archive?): config.data = .archive(prefix: try archive.string("topic_prefix") ?? "")
            case (nil, nil): break
            case (.some, .some): throw data.invalid("files", "give either data.files or data.archive, not both")
            }
            config.dataSymbol = try data.string("symbol").map { Symbol($0) }
            config.timeColumn = try data.string("time_column")
            config.timeFormat = try data.string("time_format")
            config.timeZone = try data.string("timezone")
            if let policy = try data.string("bad_rows") {
                guard let p = BadRows(rawValue: policy) else { throw data.invalid("bad_rows", "is \"\(policy)\"; use \"error\" or \"skip\"") }
                config.badRows = p
            }
        }
        if let interval = try root.string("interval") {
            guard let seconds = Int64(interval) ?? FileNameInfo.interval(ofToken: interval), seconds > 0 else {
                throw root.invalid("interval", "\"\(interval)\" is not an interval: use 1m, 30m, 1h, 4h, 1d or a number of seconds")
            }
            config.intervalSeconds = seconds
        }
        config.from = try root.time("from")
        config.to = try root.time("to")
        if let from = config.from, let to = config.to, from >= to {
            throw root.invalid("to", "must be after from (\(TimestampParser.iso(from)))")
        }
        if let features = try root.section("features", keys: ["spec", "version"]), let name = try features.string("spec") {
            let path = FeatureSpec.builtIn(named: name) != nil ? name : config.resolve(name)
            do {
                config.featureSpec = try FeatureSpec.load(path) { file in
                    guard let bytes = Backtest.readWholeFile(file) else { throw BacktestError(.data, "it does not exist or cannot be read") }
                    return String(decoding: bytes, as: UTF8.self)
                }
            } catch {
                throw features.invalid("spec", "\"\(name)\": \(error)")
            }
            // A resolved config (runs/<id>/report.json) records the spec's version: the spec must not have changed since.
            if let version = try features.string("version"), version != config.featureSpec.versionHex {
                throw features.invalid("version", "is \(version), but \(name) is now \(config.featureSpec): the spec changed since this "
                    + "config was written; remove features.version to run with the current spec")
            }
        }
        if let models = try root.sections("models", keys: ["file", "id", "registered_id", "topic_prefix"]) {
            config.models = try models.map { m throws(BacktestError) in
                switch (try m.string("file"), try m.string("registered_id")) {
                case (let file?, nil):
                    try m.only(["file", "id"])
                    return .file(path: file, id: try m.string("id"))
                case (nil, let id?):
                    try m.only(["registered_id", "topic_prefix"])
                    return .registered(id: id, prefix: try m.string("topic_prefix") ?? "")
                default: throw m.invalid("file", "give a model artifact \"file\" or a \"registered_id\" (exactly one)")
                }
            }
        }
        if let rules = try root.sections("rules", keys: ["type", "name", "fast", "slow", "saturation_gap", "key", "lower", "upper"]) {
            config.rules = try rules.map { r throws(BacktestError) in
                let type = try r.string("type") ?? ""
                switch type {
                case "ema_cross":
                    try r.only(["type", "name", "fast", "slow", "saturation_gap"])
                    return .emaCross(name: try r.string("name") ?? "ema_cross", fast: try r.string("fast") ?? "ema_12",
                                     slow: try r.string("slow") ?? "ema_26", saturationGap: try r.double("saturation_gap", above: 0) ?? 0.01)
                case "rsi_revert":
                    try r.only(["type", "name", "key", "lower", "upper"])
                    let lower = try r.double("lower", atLeast: 0) ?? 30
                    let upper = try r.double("upper", atLeast: 0) ?? 70
                    guard lower < upper, upper <= 100 else { throw r.invalid("upper", "needs 0 ≤ lower < upper ≤ 100") }
                    return .rsiRevert(name: try r.string("name") ?? "rsi_revert", key: try r.string("key") ?? "rsi_14", lower: lower, upper: upper)
                default:
                    let hint = NameSuggestion.closest(to: type, among: ["ema_cross", "rsi_revert"]).map { "; did you mean \"\($0)\"?" } ?? ""
                    throw r.invalid("type", "is \"\(type)\"; known rule types: ema_cross, rsi_revert\(hint)")
                }
            }
        }
        if let c = try root.section("consensus", keys: ["threshold", "conflict_confidence", "long_only", "weights", "default_weight"]) {
            var consensus = config.consensus
            consensus.threshold = try c.double("threshold", atLeast: 0) ?? consensus.threshold
            consensus.conflictConfidence = try c.double("conflict_confidence", atLeast: 0) ?? consensus.conflictConfidence
            consensus.longOnly = try c.bool("long_only") ?? consensus.longOnly
            consensus.defaultWeight = try c.double("default_weight", atLeast: 0) ?? consensus.defaultWeight
            if let weights = try c.numberMap("weights") { consensus.weights = weights.mapValues(\.double) }
            config.consensus = consensus
        }
        if let r = try root.section("risk", keys: ["risk_per_trade", "max_portfolio_heat", "max_position_notional",
                                                  "max_position_notional_by_symbol", "stop_atr_multiple", "fallback_stop_fraction",
                                                  "volatility_target", "daily_loss_limit", "lot_size", "allow_short", "price_allowance_bps"]) {
            var risk = config.risk
            risk.riskPerTrade = try r.fixed("risk_per_trade") ?? risk.riskPerTrade
            risk.maxPortfolioHeat = try r.fixed("max_portfolio_heat") ?? risk.maxPortfolioHeat
            risk.maxPositionNotional = try r.fixed("max_position_notional") ?? risk.maxPositionNotional
            if let bySymbol = try r.numberMap("max_position_notional_by_symbol") {
                risk.maxPositionNotionalBySymbol = Dictionary(uniqueKeysWithValues: bySymbol.map { (Symbol($0.key), $0.value.fixed) })
            }
            risk.stopATRMultiple = try r.double("stop_atr_multiple", above: 0) ?? risk.stopATRMultiple
            risk.fallbackStopFraction = try r.fixed("fallback_stop_fraction") ?? risk.fallbackStopFraction
            risk.volatilityTarget = try r.double("volatility_target", above: 0) ?? risk.volatilityTarget
            risk.dailyLossLimit = try r.fixed("daily_loss_limit") ?? risk.dailyLossLimit
            if let lot = try r.fixed("lot_size") {
                guard lot > .zero else { throw r.invalid("lot_size", "must be positive") }
                risk.lotSize = lot
            }
            risk.allowShort = try r.bool("allow_short") ?? risk.allowShort
            risk.priceAllowanceBps = try r.fixed("price_allowance_bps") ?? risk.priceAllowanceBps
            config.risk = risk
            if root["consensus"]?["long_only"] == nil { config.consensus.longOnly = !risk.allowShort }
        }
        if let f = try root.section("fees", keys: ["maker_bps", "taker_bps"]) {
            config.makerFeeBps = try f.fixed("maker_bps") ?? config.makerFeeBps
            config.takerFeeBps = try f.fixed("taker_bps") ?? config.takerFeeBps
        }
        if let s = try root.section("slippage", keys: ["fixed_bps", "range_fraction"]) {
            config.slippageBps = try s.fixed("fixed_bps") ?? config.slippageBps
            config.rangeSlippage = try s.fixed("range_fraction") ?? config.rangeSlippage
        }
        config.fillDelayBars = try root.whole("fill_delay_bars", atLeast: 0) ?? 0
        if let section = try root.section("stress", keys: StressSettings.keys) {
            config.stress = try StressSettings.parse(section)
        }
        if let equity = try root.fixed("starting_equity") {
            guard equity > .zero else { throw root.invalid("starting_equity", "must be positive") }
            config.startingEquity = equity
        }
        if let o = try root.section("overfitting", keys: ["trials", "trial_sharpe_variance"]) {
            config.trials = try o.whole("trials", atLeast: 1) ?? config.trials
            config.trialSharpeVariance = try o.double("trial_sharpe_variance", atLeast: 0) ?? config.trialSharpeVariance
        }
        if let m = try root.section("monte_carlo", keys: ["paths", "seed", "block_length"]) {
            config.monteCarloPaths = try m.whole("paths", atLeast: 0) ?? config.monteCarloPaths
            config.monteCarloSeed = try m.whole("seed", atLeast: 0).map { UInt64($0) } ?? config.monteCarloSeed
            config.monteCarloBlockLength = try m.whole("block_length", atLeast: 1) ?? config.monteCarloBlockLength
        }
        if let t = try root.section("tune", keys: TuneSettings.keys) { config.tune = try TuneSettings.parse(t) }
        if let w = try root.section("walk_forward", keys: WalkForwardSettings.keys) {
            config.walkForward = try WalkForwardSettings.parse(w)
            if !config.models.isEmpty {
                throw root.invalid("walk_forward", "trains a model per fold, so models must be empty; remove models (or remove "
                                   + "walk_forward to backtest the given models with `quorum backtest`)")
            }
        }
        // A rule reading a feature the spec does not compute would never vote: say so now.
        for (i, rule) in config.rules.enumerated() {
            let keys: [(String, String)] = switch rule {
            case .emaCross(_, let fast, let slow, _): [("fast", fast), ("slow", slow)]
            case .rsiRevert(_, let key, _, _): [("key", key)]
            }
            for (option, column) in keys where !config.featureSpec.names.contains(column) {
                let hint = NameSuggestion.closest(to: column, among: config.featureSpec.names).map { " Did you mean \"\($0)\"?" } ?? ""
                throw BacktestError(.invalidValue, "\(file): rules[\(i)].\(option) \"\(column)\" is not a feature of \(config.featureSpec) "
                    + "(`quorum features list --spec \(config.featureSpec.name)` lists them).\(hint)")
            }
        }
        return config
    }

    /// The whole configuration with every default filled in (report.json's `config`; part of the run id).
    public func json() -> JSON {
        func fixed(_ f: Fixed) -> JSON { .number(f.description) }
        let dataJSON: JSON
        switch data {
        case .files(let files):
            dataJSON = .object([("files", .array(files.map { .string($0) })), ("symbol", dataSymbol.map { .string($0.name) } ?? .null),
                                ("time_column", timeColumn.map(JSON.string) ?? .null), ("time_format", timeFormat.map(JSON.string) ?? .null),
                                ("timezone", timeZone.map(JSON.string) ?? .null), ("bad_rows", .string(badRows.rawValue))])
        case .archive(let prefix):
            dataJSON = .object([("archive", .object([("topic_prefix", .string(prefix))]))])
        }
        let modelsJSON: [JSON] = models.map {
            switch $0 {
            case .file(let path, let id): .object([("file", .string(path)), ("id", id.map(JSON.string) ?? .null)])
            case .registered(let id, let prefix): .object([("registered_id", .string(id)), ("topic_prefix", .string(prefix))])
            }
        }
        let rulesJSON: [JSON] = rules.map {
            switch $0 {
            case .emaCross(let name, let fast, let slow, let gap):
                .object([("type", "ema_cross"), ("name", .string(name)), ("fast", .string(fast)), ("slow", .string(slow)),
                         ("saturation_gap", .double(gap))])
            case .rsiRevert(let name, let key, let lower, let upper):
                .object([("type", "rsi_revert"), ("name", .string(name)), ("key", .string(key)), ("lower", .double(lower)),
                         ("upper", .double(upper))])
            }
        }
        let c = consensusConfig
        let r = risk
        let consensusJSON: JSON = .object([
            ("threshold", .double(c.threshold)), ("conflict_confidence", .double(c.conflictConfidence)),
            ("long_only", .bool(c.longOnly)), ("default_weight", .double(c.defaultWeight)),
            ("weights", .object(c.weights.sorted { $0.key < $1.key }.map { ($0.key, JSON.double($0.value)) }))])
        let riskJSON: JSON = .object([
            ("risk_per_trade", fixed(r.riskPerTrade)), ("max_portfolio_heat", fixed(r.maxPortfolioHeat)),
            ("max_position_notional", fixed(r.maxPositionNotional)),
            ("max_position_notional_by_symbol", .object(r.maxPositionNotionalBySymbol.sorted { $0.key < $1.key }
                .map { ($0.key.name, fixed($0.value)) })),
            ("stop_atr_multiple", .double(r.stopATRMultiple)), ("fallback_stop_fraction", fixed(r.fallbackStopFraction)),
            ("volatility_target", r.volatilityTarget.map(JSON.double) ?? .null),
            ("daily_loss_limit", fixed(r.dailyLossLimit)), ("lot_size", fixed(r.lotSize)),
            ("allow_short", .bool(r.allowShort)), ("price_allowance_bps", fixed(r.priceAllowanceBps))])
        var pairs: [(String, JSON)] = [
            ("symbols", .array(symbols.map { .string($0.name) })),
            ("data", dataJSON),
            ("interval", intervalSeconds.map { .string("\($0)s") } ?? .null),
            ("from", from.map { .string(TimestampParser.iso($0)) } ?? .null),
            ("to", to.map { .string(TimestampParser.iso($0)) } ?? .null),
            ("features", .object([("spec", .string(featureSpec.name)), ("version", .string(featureSpec.versionHex))])),
            ("models", .array(modelsJSON)),
            ("rules", .array(rulesJSON)),
            ("consensus", consensusJSON),
            ("risk", riskJSON),
            ("fees", .object([("maker_bps", fixed(makerFeeBps)), ("taker_bps", fixed(takerFeeBps))])),
            ("slippage", .object([("fixed_bps", fixed(slippageBps)), ("range_fraction", fixed(rangeSlippage))])),
            ("starting_equity", fixed(startingEquity)),
            ("overfitting", .object([("trials", .int(trials)), ("trial_sharpe_variance", .double(trialSharpeVariance))])),
            ("monte_carlo", .object([("paths", .int(monteCarloPaths)), ("seed", .int(monteCarloSeed)),
                                     ("block_length", .int(monteCarloBlockLength))])),
        ]
        // Only a walk-forward's config has the key, so a plain backtest's run id does not depend on it.
        if let walkForward { pairs.append(("walk_forward", walkForward.json())) }
        if fillDelayBars != 0 { pairs.append(("fill_delay_bars", .int(fillDelayBars))) }
        if let stress { pairs.append(("stress", stress.json())) }
        return .object(pairs)
    }
}

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

/// One object of the config: its JSON path (for errors) and the keys it allows. Unknown keys are rejected when the
/// section is opened, with the closest allowed key.
struct Section {
    let pairs: [(String, JSON)]
    let path: String
    let file: String

    init(_ json: JSON, path: String, file: String, keys: [String]) throws(BacktestError) {
        guard case .object(let pairs) = json else {
            throw BacktestError(.invalidValue, "\(file): \(path.isEmpty ? "the document" : path) must be an object ({…})")
        }
        self.pairs = pairs
        self.path = path
        self.file = file
        try only(keys)
    }

    subscript(key: String) -> JSON? { pairs.first { $0.0 == key }?.1 }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Rejects keys outside `keys`.
    func only(_ keys: [String]) throws(BacktestError) {
        for (key, _) in pairs where !keys.contains(key) {
            let hint = NameSuggestion.closest(to: key, among: keys).map { " did you mean \"\(name($0))\"?" } ?? ""
            throw BacktestError(.unknownKey, "\(file): unknown key \"\(name(key))\".\(hint) (known here: \(keys.joined(separator: ", ")))")
        }
    }

    func invalid(_ key: String, _ problem: String) -> BacktestError {
        BacktestError(.invalidValue, "\(file): \(name(key)) \(problem)")
    }

    /// The value of `key`, nil when absent or null.
    func value(_ key: String) -> JSON? {
        guard let v = self[key], v != .null else { return nil }
        return v
    }

    func string(_ key: String) throws(BacktestError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw invalid(key, "must be a string") }
        return s
    }

    func bool(_ key: String) throws(BacktestError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw invalid(key, "must be true or false") }
        return b
    }

    func double(_ key: String, atLeast minimum: Double? = nil, above floor: Double? = nil) throws(BacktestError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let text) = v, let d = Double(text) else { throw invalid(key, "must be a number") }
        if let minimum, d < minimum { throw invalid(key, "is \(text); must be at least \(minimum)") }
        if let floor, d <= floor { throw invalid(key, "is \(text); must be above \(floor)") }
        return d
    }

    /// An exact decimal, written as a JSON number or a string ("0.01"), at most 8 decimals, not negative.
    func fixed(_ key: String) throws(BacktestError) -> Fixed? {
        guard let v = value(key) else { return nil }
        let text: String
        switch v {
        case .number(let t), .string(let t): text = t
        default: throw invalid(key, "must be a decimal number (e.g. 0.01 or \"0.01\")")
        }
        guard let f = Fixed(text) else { throw invalid(key, "\"\(text)\" is not an exact decimal with at most 8 decimals") }
        guard f >= .zero else { throw invalid(key, "is \(text); must not be negative") }
        return f
    }

    func time(_ key: String) throws(BacktestError) -> Nanos? {
        guard let text = try string(key) else { return nil }
        guard let ns = TimestampParser.parse(text) else {
            throw invalid(key, "\"\(text)\" is not a time: use 2019-01-01, 2019-01-01T12:00:00Z or epoch seconds")
        }
        return ns
    }

    func strings(_ key: String) throws(BacktestError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw invalid(key, "must be a list of strings ([\"…\"])") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else { throw invalid("\(key)[\(i)]", "must be a string") }
            out.append(s)
        }
        return out
    }

    /// An object of numbers (weights by source, limits by symbol).
    func numberMap(_ key: String) throws(BacktestError) -> [String: (double: Double, fixed: Fixed)]? {
        guard let v = value(key) else { return nil }
        guard case .object(let pairs) = v else { throw invalid(key, "must be an object of numbers ({\"name\": 1.0})") }
        var out: [String: (double: Double, fixed: Fixed)] = [:]
        for (name, value) in pairs {
            guard case .number(let text) = value, let d = Double(text), d >= 0, let f = Fixed(text) else {
                throw invalid("\(key).\(name)", "must be a non-negative number with at most 8 decimals")
            }
            out[name] = (d, f)
        }
        return out
    }

    func section(_ key: String, keys: [String]) throws(BacktestError) -> Section? {
        guard let v = value(key) else { return nil }
        return try Section(v, path: name(key), file: file, keys: keys)
    }

    /// A list of objects; each allows `keys` (a section may narrow them further with `only`).
    func sections(_ key: String, keys: [String]) throws(BacktestError) -> [Section]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw invalid(key, "must be a list ([{…}, …])") }
        var out: [Section] = []
        for (i, item) in items.enumerated() { out.append(try Section(item, path: "\(name(key))[\(i)]", file: file, keys: keys)) }
        return out
    }
}

extension BacktestConfig {
    /// Reads and parses a config file; relative paths in it are taken from the file's folder.
    public static func load(path: String) throws(BacktestError) -> BacktestConfig {
        guard let bytes = Backtest.readWholeFile(path) else {
            throw BacktestError(.invalidValue, "config file \(path) does not exist or cannot be read")
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return try parse(String(decoding: bytes, as: UTF8.self), file: path, baseDirectory: folder.isEmpty ? "/" : folder)
    }

    /// The command line's overrides: `data` files replace the config's data source (paths as given, taken from the
    /// current folder), `symbol` is the market of every row and the one symbol traded, `from`/`to` replace the range.
    public mutating func override(data: [String], symbol: String?, from: String?, to: String?) throws(BacktestError) {
        if !data.isEmpty {
            self.data = .files(data.map { $0.hasPrefix("/") || baseDirectory == "." ? $0 : Self.currentDirectory() + "/" + $0 })
        }
        if let symbol {
            dataSymbol = Symbol(symbol)
            symbols = [Symbol(symbol)]
        }
        func time(_ text: String?, _ option: String) throws(BacktestError) -> Nanos? {
            guard let text else { return nil }
            guard let ns = TimestampParser.parse(text) else {
                throw BacktestError(.invalidValue, "\(option) '\(text)' is not a time: use 2019-01-01, 2019-01-01T12:00:00Z or epoch seconds")
            }
            return ns
        }
        if let f = try time(from, "--from") { self.from = f }
        if let t = try time(to, "--to") { self.to = t }
        if let f = self.from, let t = self.to, f >= t {
            throw BacktestError(.invalidValue, "the range is empty: to (\(TimestampParser.iso(t))) must be after from (\(TimestampParser.iso(f)))")
        }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
