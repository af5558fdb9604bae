import QuorumFeatures
import QuorumMarketData
import QuorumModel
import QuorumPipeline

/// `quorum backtest --check-lookahead`: does anything a bar's vector holds depend on bars that closed after it?
///
/// Computes every feature (and, with models, every prediction) over all the data, then again over the data truncated
/// at `cutoffs` close times spread evenly over it, and compares each value computed from the truncated data with the
/// same value from all of it, at every bar up to the cutoff, bit for bit. Streaming features cannot see the future by
/// construction; the check guards what could break that: a feature kind computed in batch, a higher-timeframe bar
/// used before it closed, a cross-asset join that reads a later bar of the other symbol, a model fed the wrong row
/// (like Freqtrade's lookahead-analysis, but on every feature and every prediction, not only the signals).
public enum LookAheadCheck {
    /// Values of one bar: its symbol and close time.
    public struct Key: Hashable, Sendable {
        public var symbol: Symbol
        public var time: Nanos
        public init(symbol: Symbol, time: Nanos) {
            self.symbol = symbol
            self.time = time
        }
    }

    public struct Difference: Sendable, CustomStringConvertible {
        public var symbol: Symbol
        public var time: Nanos
        public var column: String
        /// The value from all the data, and from the data truncated at `cutoff`.
        public var full: Double
        public var truncated: Double
        public var cutoff: Nanos

        public var description: String {
            "\(column) of \(symbol) at \(TimestampParser.iso(time)): \(full) with all the data, \(truncated) with the data cut at "
                + TimestampParser.iso(cutoff)
        }
    }

    public struct Result: Sendable {
        public var cutoffs: [Nanos]
        /// Values compared (bars × columns, over every cutoff).
        public var compared: Int
        public var differences: [Difference]
        /// Columns with at least one difference, in column order.
        public var leakingColumns: [String]
    }

    /// Runs the check with `compute`, which maps bars (event-time order) to each bar's values, one per `columns`.
    public static func run(_ data: BacktestData, columns: [String], cutoffs count: Int = 20,
                           compute: ([ArchivedBarRecord]) throws -> [Key: [Double]]) rethrows -> Result {
        let full = try compute(data.bars)
        let times = Array(Set(data.bars.map(\.bar.closeTime))).sorted()
        let steps = max(1, min(count, times.count))
        // Evenly spaced cutoffs, the last one before the end (cutting at the end truncates nothing).
        let cutoffs = Set((1...steps).map { times[max(0, min(times.count - 2, times.count * $0 / (steps + 1)))] }).sorted()
        var compared = 0
        var differences: [Difference] = []
        var leaking = Set<Int>()
        for cutoff in cutoffs {
            let truncated = try compute(data.bars.filter { $0.bar.closeTime <= cutoff })
            for (key, values) in truncated.sorted(by: { ($0.key.time, $0.key.symbol) < ($1.key.time, $1.key.symbol) }) {
                guard let reference = full[key] else { continue }
                for (c, (a, b)) in zip(reference, values).enumerated() {
                    compared += 1
                    guard a.bitPattern != b.bitPattern else { continue }
                    leaking.insert(c)
                    if differences.count < 1000 {
                        differences.append(Difference(symbol: key.symbol, time: key.time, column: columns[c], full: a, truncated: b, cutoff: cutoff))
                    }
                }
            }
        }
        return Result(cutoffs: cutoffs, compared: compared, differences: differences,
                      leakingColumns: leaking.sorted().map { columns[$0] })
    }

    /// The pipeline's own values: every feature of `spec` and, for a symbol with a model, its probability up.
    public static func pipelineValues(_ bars: [ArchivedBarRecord], spec: FeatureSpec, models: [ServedModel]) throws -> [Key: [Double]] {
        var core = FeaturesCore(spec: spec)
        let bySymbol = Dictionary(models.map { ($0.model.symbol, $0.model) }, uniquingKeysWith: { a, _ in a })
        var out: [Key: [Double]] = [:]
        for record in bars {
            for case .publish(let v) in try core.handle(record.bar) {
                var values = v.values
                if !bySymbol.isEmpty {
                    let p = v.isWarm ? try bySymbol[v.symbol].map { try $0.probabilityUp(v.values) } : nil
                    values.append(p ?? .nan)
                }
                out[Key(symbol: v.symbol, time: v.barCloseTime)] = values
            }
        }
        return out
    }
}
