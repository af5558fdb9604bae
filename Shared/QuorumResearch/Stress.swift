import Foundation
import QuorumAnalytics
import QuorumMarketData
import QuorumModel
import QuorumPipeline

/// The `stress` section of a backtest config (or `quorum backtest --stress`): the backtest again under harsher
/// costs and markets, and the base run's figures in named historical windows.
public struct StressSettings: Sendable, Equatable {
    /// Fees × this (maker and taker). Default 2.
    public var feeFactor: Fixed = 2
    /// Slippage × this (fixed and range-scaled). Default 3.
    public var slippageFactor: Fixed = 3
    /// Fills this many bars later than the next bar's open. Default 1.
    public var fillDelayBars = 1
    /// Every bar's moves from the previous close × this, in log terms: x′ = c′₋₁ · (x / c₋₁)^k for its open, high,
    /// low and close (the order of the prices is kept). Default 2.
    public var volatilityFactor = 2.0
    /// Named windows [from, to) of event time whose figures the report shows (the base run, sliced).
    public var windows: [(name: String, from: Nanos, to: Nanos)] = StressSettings.historicalWindows

    public init() {}

    public static func == (a: StressSettings, b: StressSettings) -> Bool {
        a.feeFactor == b.feeFactor && a.slippageFactor == b.slippageFactor && a.fillDelayBars == b.fillDelayBars
            && a.volatilityFactor == b.volatilityFactor
            && a.windows.map { "\($0.name) \($0.from) \($0.to)" } == b.windows.map { "\($0.name) \($0.from) \($0.to)" }
    }

    /// Crypto market episodes (UTC); a window outside the data is reported as such.
    public static let historicalWindows: [(name: String, from: Nanos, to: Nanos)] = [
        ("2018-01 crash", "2018-01-06", "2018-02-07"), ("2018-11 capitulation", "2018-11-14", "2018-12-16"),
        ("2019-04 rally", "2019-04-01", "2019-06-27"), ("2020-03 covid crash", "2020-03-08", "2020-03-14"),
        ("2021-05 crash", "2021-05-12", "2021-05-24"), ("2022-05 luna", "2022-05-07", "2022-05-14"),
        ("2022-11 ftx", "2022-11-06", "2022-11-12"),
    ].map { ($0.0, TimestampParser.parse($0.1)!, TimestampParser.parse($0.2)!) }

    static let keys = ["fee_factor", "slippage_factor", "fill_delay_bars", "volatility_factor", "windows"]

    static func parse(_ s: Section) throws(BacktestError) -> StressSettings {
        var settings = StressSettings()
        settings.feeFactor = try s.fixed("fee_factor") ?? settings.feeFactor
        settings.slippageFactor = try s.fixed("slippage_factor") ?? settings.slippageFactor
        settings.fillDelayBars = try s.whole("fill_delay_bars", atLeast: 0) ?? settings.fillDelayBars
        settings.volatilityFactor = try s.double("volatility_factor", above: 0) ?? settings.volatilityFactor
        if let windows = s.value("windows") {
            guard case .object(let pairs) = windows else {
                throw s.invalid("windows", "must be an object of named ranges ({\"2018-01 crash\": [\"2018-01-06\", \"2018-02-07\"]})")
            }
            settings.windows = []
            for (name, range) in pairs {
                guard case .array(let ends) = range, ends.count == 2, case .string(let a) = ends[0], case .string(let b) = ends[1],
                      let from = TimestampParser.parse(a), let to = TimestampParser.parse(b), from < to else {
                    throw s.invalid("windows.\(name)", "must be [from, to]: two times, from before to (e.g. [\"2018-01-06\", \"2018-02-07\"])")
                }
                settings.windows.append((name, from, to))
            }
        }
        return settings
    }

    func json() -> JSON {
        .object([
            ("fee_factor", .number(feeFactor.description)), ("slippage_factor", .number(slippageFactor.description)),
            ("fill_delay_bars", .int(fillDelayBars)), ("volatility_factor", .double(volatilityFactor)),
            ("windows", .object(windows.map { ($0.name, .array([.string(TimestampParser.iso($0.from)), .string(TimestampParser.iso($0.to))])) })),
        ])
    }
}

/// What `Stress.run` finds.
public struct StressResult: Sendable {
    public struct Scenario: Sendable {
        public let name: String
        public let description: String
        public let totalReturn: Double
        public let sharpe: Double
        public let maxDrawdown: Double
        public let trades: Int
        public let finalEquity: Fixed
    }

    public struct Window: Sendable {
        public let name: String
        public let from: Nanos
        public let to: Nanos
        /// nil when the data has fewer than two equity samples in the window.
        public let totalReturn: Double?
        public let sharpe: Double?
        public let maxDrawdown: Double?
        public let samples: Int
    }

    /// The base run first, then each scenario.
    public let scenarios: [Scenario]
    public let windows: [Window]
}

public enum Stress {
    /// Runs each scenario as a backtest of its own (no Monte Carlo), and slices the base run into the windows.
    public static func run(config: BacktestConfig, data: BacktestData, base: BacktestResult,
                           progress: ((String) -> Void)? = nil) async throws -> StressResult {
        let settings = config.stress ?? StressSettings()
        var quiet = config
        quiet.monteCarloPaths = 0
        quiet.stress = nil
        var runs: [(String, String, BacktestConfig, BacktestData)] = []
        var fees = quiet
        fees.takerFeeBps = quiet.takerFeeBps * settings.feeFactor
        fees.makerFeeBps = quiet.makerFeeBps * settings.feeFactor
        runs.append(("fees ×\(settings.feeFactor)", "maker and taker fees × \(settings.feeFactor)", fees, data))
        var slippage = quiet
        slippage.slippageBps = quiet.slippageBps * settings.slippageFactor
        slippage.rangeSlippage = quiet.rangeSlippage * settings.slippageFactor
        runs.append(("slippage ×\(settings.slippageFactor)", "fixed and range-scaled slippage × \(settings.slippageFactor)", slippage, data))
        var late = quiet
        late.fillDelayBars = quiet.fillDelayBars + settings.fillDelayBars
        runs.append(("fills +\(settings.fillDelayBars) bar", "every order fills \(settings.fillDelayBars) bar(s) later", late, data))
        runs.append(("volatility ×\(String(format: "%g", settings.volatilityFactor))",
                     "every bar's moves from the previous close × \(String(format: "%g", settings.volatilityFactor)) (log terms)", quiet,
                     shocked(data, factor: settings.volatilityFactor)))

        var scenarios = [scenario("base", "the backtest as configured", base)]
        for (name, description, scenarioConfig, scenarioData) in runs {
            progress?(name)
            let result = try await Backtest(config: scenarioConfig).run(scenarioData)
            scenarios.append(scenario(name, description, result))
        }
        return StressResult(scenarios: scenarios, windows: settings.windows.map { window(base, $0) })
    }

    static func scenario(_ name: String, _ description: String, _ r: BacktestResult) -> StressResult.Scenario {
        .init(name: name, description: description, totalReturn: r.returns.totalReturn, sharpe: r.returns.sharpe,
              maxDrawdown: r.returns.maxDrawdown, trades: r.tradeSummary.trades, finalEquity: r.finalEquity)
    }

    /// The base run's equity samples in [from, to]: return, Sharpe (annualised as the run's) and drawdown within.
    static func window(_ base: BacktestResult, _ w: (name: String, from: Nanos, to: Nanos)) -> StressResult.Window {
        let curve = base.curve
        let equity = zip(curve.times, curve.equity).filter { $0.0 >= w.from && $0.0 <= w.to }.map { $0.1.doubleValue }
        guard equity.count >= 2 else {
            return .init(name: w.name, from: w.from, to: w.to, totalReturn: nil, sharpe: nil, maxDrawdown: nil, samples: equity.count)
        }
        let returns = ReturnMetrics.returns(equity: equity)
        let sharpe = ReturnMetrics.sharpeRatio(returns, periodsPerYear: curve.periodsPerYear)
        return .init(name: w.name, from: w.from, to: w.to, totalReturn: equity.last! / equity.first! - 1,
                     sharpe: sharpe.isFinite ? sharpe : nil, maxDrawdown: ReturnMetrics.maxDrawdown(returns), samples: equity.count)
    }

    /// The bars with every move from the previous close scaled by `factor` in log terms; each symbol's first bar as is.
    static func shocked(_ data: BacktestData, factor: Double) -> BacktestData {
        var previous: [Symbol: (original: Double, shocked: Double)] = [:]
        let bars = data.bars.map { record -> ArchivedBarRecord in
            var r = record
            let b = record.bar
            if let p = previous[b.symbol] {
                func move(_ x: Fixed) -> Fixed { Fixed(approximating: p.shocked * pow(x.doubleValue / p.original, factor)) }
                r.bar.open = move(b.open)
                r.bar.high = move(b.high)
                r.bar.low = move(b.low)
                r.bar.close = move(b.close)
            }
            previous[b.symbol] = (b.close.doubleValue, r.bar.close.doubleValue)
            return r
        }
        return BacktestData(bars: bars, files: data.files, skippedRows: data.skippedRows)
    }
}
