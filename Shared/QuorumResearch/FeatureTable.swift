import QuorumFeatures
import QuorumMarketData
import QuorumModel

/// `quorum features compute`: a feature spec over bar files, as one CSV table, computed by the same streaming
/// `FeaturesCore` as the features stage (one engine per symbol, bars in event-time order).
///
/// Columns: `symbol` (only when the files hold more than one), `timestamp` (the bar's open time, ISO 8601 UTC, as
/// the input files key their rows), `open`, `high`, `low`, `close`, `volume` (exact decimals), then one column per
/// feature of the spec, its value as of the bar's close (shortest text that reads back to the same Double; empty
/// while the feature warms up or where it is undefined).
public enum FeatureTable {
    /// The header line (without a newline).
    public static func header(spec: FeatureSpec, withSymbol: Bool) -> String {
        ((withSymbol ? ["symbol"] : []) + ["timestamp", "open", "high", "low", "close", "volume"] + spec.names).joined(separator: ",")
    }

    /// One row per bar, in the data's order; `write` takes each line (with its newline), `progress` the bars done.
    /// Throws when the spec does not fit the bars' interval.
    public static func compute(_ data: BacktestData, spec: FeatureSpec, write: (String) throws -> Void,
                               progress: (Int) -> Void = { _ in }) throws {
        try data.check(spec)
        let withSymbol = data.symbols.count > 1
        try write(header(spec: spec, withSymbol: withSymbol) + "\n")
        var core = FeaturesCore(spec: spec)
        var line = ""
        for (i, record) in data.bars.enumerated() {
            let bar = record.bar
            for action in try core.handle(bar) {
                guard case .publish(let vector) = action else { continue }
                line.removeAll(keepingCapacity: true)
                if withSymbol { line += bar.symbol.name + "," }
                line += TimestampParser.iso(bar.openTime)
                for price in [bar.open, bar.high, bar.low, bar.close, bar.volume] { line += "," + price.description }
                for v in vector.values {
                    line += ","
                    if !v.isNaN { line += v.description }
                }
                line += "\n"
                try write(line)
            }
            if i % 4096 == 0 { progress(i) }
        }
        progress(data.bars.count)
    }
}
