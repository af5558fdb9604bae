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
        func row(_ bar: Bar, _ values: UnsafeBufferPointer<Double>) throws {
            line.removeAll(keepingCapacity: true)
            if withSymbol { line += bar.symbol.name + "," }
            line += TimestampParser.iso(bar.openTime)
            for price in [bar.open, bar.high, bar.low, bar.close, bar.volume] { line += "," + price.description }
            for v in values {
                line += ","
                if !v.isNaN { line += v.description }
            }
            line += "\n"
            try write(line)
        }
        if spec.referencedSymbols.isEmpty {
            // The batch path: chunks of bars, each symbol's a block at a time through its engine.
            let chunk = 4096, columns = spec.names.count
            var values = [Double](repeating: .nan, count: chunk * columns)
            for start in stride(from: 0, to: data.bars.count, by: chunk) {
                let bars = data.bars[start..<min(start + chunk, data.bars.count)].map(\.bar)
                try values.withUnsafeMutableBufferPointer { out in
                    for (k, written) in try core.update(bars[...], into: out.baseAddress!).enumerated() where written != nil {
                        try row(bars[k], UnsafeBufferPointer(rebasing: out[k * columns..<(k + 1) * columns]))
                    }
                }
                progress(start)
            }
        } else {
            // A cross-asset spec: a bar's vector may come out with a later bar of another symbol (it waits for the
            // symbols it references), so each row takes its bar from the ones waiting, by symbol and close time.
            var waiting: [Symbol: [Bar]] = [:]
            for (i, record) in data.bars.enumerated() {
                waiting[record.bar.symbol, default: []].append(record.bar)
                for case .publish(let vector) in try core.handle(record.bar) {
                    // Redeliveries (not newer than the symbol's last bar) never come out: passed over.
                    while let first = waiting[vector.symbol]?.first, first.closeTime < vector.barCloseTime { waiting[vector.symbol]!.removeFirst() }
                    let bar = waiting[vector.symbol]!.removeFirst()
                    try vector.values.withUnsafeBufferPointer { try row(bar, $0) }
                }
                if i % 4096 == 0 { progress(i) }
            }
        }
        progress(data.bars.count)
    }
}
