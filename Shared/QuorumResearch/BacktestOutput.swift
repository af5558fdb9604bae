#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import QuorumAnalytics
import QuorumExecution
import QuorumMarketData
import QuorumModel

/// The files of a run, `runs/<run-id>/`: report.json, equity.csv, trades.csv, orders.csv and report.html. Every byte
/// derives from the config, the data and the code version — never from the clock or the machine — so two runs of the
/// same inputs write identical files.
public struct BacktestOutput: Sendable {
    public static let fileNames = ["report.json", "equity.csv", "trades.csv", "orders.csv", "report.html"]

    public let result: BacktestResult
    /// The walk-forward around `result` (its out-of-sample backtest), when the run is one.
    public let walkForward: WalkForwardResult?
    /// Identifies the code (`git describe` or a version constant), recorded in report.json.
    public let codeVersion: String
    /// The stress scenarios and historical windows, when the config asks for them.
    public var stress: StressResult?

    public init(result: BacktestResult, codeVersion: String) {
        self.result = result
        self.codeVersion = codeVersion
        walkForward = nil
    }

    /// The files of a walk-forward: the out-of-sample backtest's, with the folds, candidates and overfitting guards.
    public init(walkForward: WalkForwardResult, codeVersion: String) {
        result = walkForward.backtest
        self.walkForward = walkForward
        self.codeVersion = codeVersion
    }

    /// Short digest of the config (without the data file paths, which depend on where the run starts) and the data
    /// digests: the same settings on the same bars get the same id.
    public var runID: String { Self.runID(config: result.config, data: walkForward?.allData ?? result.data) }

    public static func runID(config: BacktestConfig, data: BacktestData) -> String {
        var c = config
        c.data = .files([])
        var text = c.json().rendered()
        for d in data.digests { text += "\(d.symbol.name) \(d.intervalSeconds) \(d.bars) \(d.firstOpen) \(d.lastOpen) \(d.digest)\n" }
        return String(SHA256.hash(data: Array(text.utf8)).hexString.prefix(12))
    }

    // MARK: report.json

    public func reportJSON() -> JSON {
        let r = result.returns
        let t = result.tradeSummary
        let curve = result.curve
        let finalEquity = curve.equity.last ?? result.config.startingEquity
        let seconds = { (ns: Double) -> JSON in .double(ns / 1e9) }
        let headline: [(String, JSON)] = [
            ("run_id", .string(runID)),
            ("code_version", .string(codeVersion)),
            ("sharpe", .double(r.sharpe)),
            ("sortino", .double(r.sortino)),
            ("calmar", .double(r.calmar)),
            ("max_drawdown", .double(r.maxDrawdown)),
            ("max_drawdown_duration_bars", r.maxDrawdownDurationPeriods.map(JSON.int) ?? .null),
            ("max_drawdown_duration_seconds", r.maxDrawdownDurationNanos.map { .int($0 / 1_000_000_000) } ?? .null),
            ("total_return", .double(r.totalReturn)),
            ("cagr", .double(r.cagr)),
            ("annual_volatility", .double(r.annualVolatility)),
            ("var_95", .double(r.valueAtRisk95)),
            ("cvar_95", .double(r.conditionalValueAtRisk95)),
            ("period_win_rate", .double(r.winRate)),
            ("period_profit_factor", .double(r.profitFactor)),
            ("skewness", .double(r.skewness)),
            ("excess_kurtosis", .double(r.excessKurtosis)),
            ("psr", .double(r.probabilisticSharpe)),
            ("dsr", .double(result.deflatedSharpe)),
            ("trials", .int(result.config.trials)),
            ("starting_equity", .number(result.config.startingEquity.description)),
            ("final_equity", .number(finalEquity.description)),
            ("pnl", .number((finalEquity - result.config.startingEquity).description)),
            ("start", .string(curve.times.first.map(TimestampParser.iso) ?? "")),
            ("end", .string(curve.times.last.map(TimestampParser.iso) ?? "")),
            ("interval_seconds", .int(curve.intervalSeconds)),
            ("periods", .int(r.periods)),
            ("periods_per_year", .double(r.periodsPerYear)),
        ]
        let trades: [(String, JSON)] = [
                ("count", .int(t.trades)),
                ("open", .int(result.openTrades.count)),
                ("win_rate", .double(t.winRate)),
                ("profit_factor", .double(t.profitFactor)),
                ("expectancy", .double(t.expectancy)),
                ("return_expectancy", .double(t.returnExpectancy)),
                ("average_holding_seconds", seconds(t.averageHoldingNanos)),
                ("exposure", .double(t.exposure)),
                ("turnover", .double(t.turnover)),
                ("traded_notional", .double(t.tradedNotional)),
                ("fees_paid", .double(t.feesPaid)),
                ("slippage_paid", .double(t.slippagePaid)),
        ]
        let counts: [(String, JSON)] = [
                ("bars", .int(result.data.bars.count)),
                ("decisions", .int(result.decisions)),
                ("orders", .int(result.orders.filter { $0.status != "DENIED" }.count)),
                ("fills", .int(result.fills.count)),
                ("rejected_orders", .int(result.orders.filter { $0.status == "REJECTED" }.count)),
                ("denied_orders", .int(result.orders.filter { $0.status == "DENIED" }.count)),
                ("fees", .number(result.fills.reduce(Fixed.zero) { $0 + $1.fee }.description)),
                ("dead_letters", .int(result.deadLetters)),
                ("skipped_rows", .int(result.data.skippedRows)),
        ]
        let symbols: [JSON] = result.data.digests.map { d in
                    .object([("symbol", .string(d.symbol.name)), ("interval_seconds", .int(d.intervalSeconds)), ("bars", .int(d.bars)),
                             ("first_open", .string(TimestampParser.iso(d.firstOpen))), ("last_open", .string(TimestampParser.iso(d.lastOpen))),
                             ("digest", .string("fnv1a64:" + d.digest))])
        }
        let files: [JSON] = result.data.files.map { f in
            .object([("file", .string(String(f.file.split(separator: "/").last ?? ""))), ("bars", .int(f.bars))])
        }
        let pnl: [(String, JSON)] = result.pnlBySymbol.map { ($0.symbol.name, JSON.number($0.pnl.description)) }
        return .object(headline + walkForwardHeadline() + [
            ("trades", .object(trades)),
            ("monte_carlo", monteCarloJSON()),
            ("pnl_by_symbol", .object(pnl)),
            ("counts", .object(counts)),
            ("data", .object([("symbols", .array(symbols)), ("files", .array(files))])),
            ("config", result.config.json()),
        ] + walkForwardSections() + stressSections())
    }

    func stressSections() -> [(String, JSON)] {
        guard let stress else { return [] }
        func number(_ x: Double?) -> JSON { x.flatMap { $0.isFinite ? JSON.double($0) : nil } ?? .null }
        return [("stress", .object([
            ("scenarios", .array(stress.scenarios.map { s in
                .object([("name", .string(s.name)), ("description", .string(s.description)), ("total_return", number(s.totalReturn)),
                         ("sharpe", number(s.sharpe)), ("max_drawdown", number(s.maxDrawdown)), ("trades", .int(s.trades)),
                         ("final_equity", .number(s.finalEquity.description))])
            })),
            ("windows", .array(stress.windows.map { w in
                .object([("name", .string(w.name)), ("from", .string(TimestampParser.iso(w.from))), ("to", .string(TimestampParser.iso(w.to))),
                         ("samples", .int(w.samples)), ("total_return", number(w.totalReturn)), ("sharpe", number(w.sharpe)),
                         ("max_drawdown", number(w.maxDrawdown))])
            })),
        ]))]
    }

    func monteCarloJSON() -> JSON {
        func band(_ b: PercentileBand) -> JSON {
            .object([("p5", .double(b.p5)), ("p25", .double(b.p25)), ("p50", .double(b.p50)), ("p75", .double(b.p75)), ("p95", .double(b.p95))])
        }
        func summary(_ m: MonteCarloResult?) -> JSON {
            guard let m else { return .null }
            return .object([("final_return", band(m.finalReturn)), ("max_drawdown", band(m.maxDrawdown)), ("sharpe", band(m.sharpe)),
                            ("probability_of_loss", .double(m.probabilityOfLoss))])
        }
        let c = result.config
        return .object([("paths", .int(c.monteCarloPaths)), ("seed", .int(c.monteCarloSeed)), ("block_length", .int(c.monteCarloBlockLength)),
                        ("trade_shuffle", summary(result.tradeShuffle)), ("bootstrap", summary(result.bootstrap))])
    }

    // MARK: CSV files

    /// timestamp, equity, per-period return, then the position of each symbol.
    public func equityCSV() -> String {
        let curve = result.curve
        var out = "timestamp,equity,return" + curve.symbols.map { ",position_\($0.name)" }.joined() + "\n"
        out.reserveCapacity(curve.equity.count * 64)
        for i in curve.equity.indices {
            let r = i == 0 || curve.equity[i - 1].isZero ? 0 : curve.equity[i].doubleValue / curve.equity[i - 1].doubleValue - 1
            out += TimestampParser.iso(curve.times[i]) + "," + curve.equity[i].description + "," + "\(r)"
            for p in curve.positions(at: i) { out += "," + p.description }
            out += "\n"
        }
        return out
    }

    /// Closed round trips: entry/exit time and price, side, size, fees, slippage, PnL (gross and net), holding time.
    public func tradesCSV() -> String {
        var out = "symbol,side,entry_time,exit_time,entry_price,exit_price,size,fees,slippage,gross_pnl,pnl,holding_seconds,fills\n"
        for t in result.trades {
            let exit = t.exitTime ?? t.entryTime
            out += [t.symbol.name, t.side.rawValue, TimestampParser.iso(t.entryTime), TimestampParser.iso(exit), t.entryPrice.description,
                    t.exitPrice.description, t.size.description, t.fees.description, t.slippage.description, t.grossPnL.description,
                    t.pnl.description, String((exit - t.entryTime) / 1_000_000_000), String(t.fills)].joined(separator: ",") + "\n"
        }
        return out
    }

    /// Every order with its final status (FILLED, REJECTED, …, or DENIED by risk), fill and reason.
    public func ordersCSV() -> String {
        var out = "client_order_id,decision_id,symbol,side,quantity,decision_time,status,fill_time,fill_price,fee,slippage,reason\n"
        for o in result.orders {
            out += [o.clientOrderID, o.decisionID, o.symbol.name, o.side.map { $0 == .buy ? "buy" : "sell" } ?? "", o.quantity.description,
                    TimestampParser.iso(o.time), o.status, o.fill.map { TimestampParser.iso($0.time) } ?? "",
                    o.fill?.price.description ?? "", o.fill?.fee.description ?? "", o.fill == nil ? "" : o.slippage.description,
                    Self.csvField(o.reason ?? "")].joined(separator: ",") + "\n"
        }
        return out
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        var out = "\""
        for c in s { out += c == "\"" ? "\"\"" : String(c) }
        return out + "\""
    }

    // MARK: Writing

    /// The contents of every output file, by name.
    public func files() -> [(name: String, contents: String)] {
        [("report.json", reportJSON().rendered()), ("equity.csv", equityCSV()), ("trades.csv", tradesCSV()),
         ("orders.csv", ordersCSV()), ("report.html", ReportHTML(output: self).render())]
    }

    /// Writes the files into `<outDirectory>/<run-id>/` (created as needed; existing files are replaced) and returns
    /// that folder.
    @discardableResult
    public func write(to outDirectory: String) throws(BacktestError) -> String {
        let folder = (outDirectory.hasSuffix("/") ? String(outDirectory.dropLast()) : outDirectory) + "/" + runID
        try Self.makeDirectories(folder)
        for (name, contents) in files() { try Self.writeFile(folder + "/" + name, contents) }
        return folder
    }

    static func makeDirectories(_ path: String) throws(BacktestError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw BacktestError(.output, "cannot create the folder \(prefix): \(String(cString: strerror(errno)))")
            }
            prefix += "/"
        }
    }

    static func writeFile(_ path: String, _ contents: String) throws(BacktestError) {
        try writeFile(path, Array(contents.utf8))
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws(BacktestError) {
        guard let f = fopen(path, "wb") else {
            throw BacktestError(.output, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0 else {
            throw BacktestError(.output, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension BacktestOutput {
    /// The headline figures for the terminal.
    public func summary() -> [String] {
        let r = result.returns
        let t = result.tradeSummary
        let n = ReportHTML.number
        let p = ReportHTML.percent
        return [
            "run \(runID): \(result.data.bars.count) bars of \(result.data.symbols.map(\.name).joined(separator: ", ")), "
                + "\(modelsText)",
            "  final equity \(result.curve.equity.last?.description ?? "-")  total return \(p(r.totalReturn))  CAGR \(p(r.cagr))",
            "  Sharpe \(n(r.sharpe, 3))  Sortino \(n(r.sortino, 3))  Calmar \(n(r.calmar, 3))  max drawdown \(p(r.maxDrawdown))",
            "  PSR \(n(r.probabilisticSharpe, 3))  DSR \(n(result.deflatedSharpe, 3)) (trials \(result.config.trials))",
            "  trades \(t.trades) (open \(result.openTrades.count))  win rate \(p(t.winRate))  profit factor \(n(t.profitFactor, 2))  "
                + "fees \(n(t.feesPaid, 2))  decisions \(result.decisions)",
        ] + walkForwardSummary() + stressSummary()
    }

    func stressSummary() -> [String] {
        guard let stress else { return [] }
        let n = ReportHTML.number
        let p = ReportHTML.percent
        var lines = ["  stress (scenario: total return, Sharpe, max drawdown, trades):"]
        for s in stress.scenarios {
            lines.append("    \(s.name): \(p(s.totalReturn)), \(n(s.sharpe, 2)), \(p(s.maxDrawdown)), \(s.trades)")
        }
        for w in stress.windows {
            lines.append("    window \(w.name): " + (w.totalReturn.map { "\(p($0)), Sharpe \(w.sharpe.map { n($0, 2) } ?? "n/a"), max drawdown \(p(w.maxDrawdown ?? 0))" }
                                                    ?? "not in the data"))
        }
        return lines
    }
}
