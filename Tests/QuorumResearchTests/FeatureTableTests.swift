import Foundation
import QuorumFeatures
import QuorumMarketData
import QuorumModel
import QuorumPipeline
import QuorumResearch
import Testing

/// `quorum features compute`'s table: one row per bar, its own bar's prices beside its own vector.
@Suite("FeatureTable")
struct FeatureTableTests {
    /// Two months of BTC and ETH, interleaved in event-time order, ETH's bar first at each time (so that a spec
    /// reading BTC makes it wait for BTC's bar).
    static func data() throws -> BacktestData {
        let btc = try Support.bars("btc_usd_30m.csv.gz", from: "2019-01-01", to: "2019-03-01")
        let eth = try Support.bars("eth_usd_30m.csv.gz", from: "2019-01-01", to: "2019-03-01")
        let bars = (btc + eth).sorted { ($0.closeTime, $1.symbol) < ($1.closeTime, $0.symbol) }
        return BacktestData(bars: bars.enumerated().map { ArchivedBarRecord(bar: $1, id: $1.wireID, file: "t.csv", line: $0 + 2) })
    }

    /// The table's rows keyed by symbol and timestamp: close and feature cells.
    static func table(_ data: BacktestData, _ spec: FeatureSpec) throws -> [String: (close: String, cells: [String])] {
        var lines: [String] = []
        try FeatureTable.compute(data, spec: spec, write: { lines.append($0) })
        #expect(lines[0] == FeatureTable.header(spec: spec, withSymbol: true) + "\n")
        var rows: [String: (close: String, cells: [String])] = [:]
        for line in lines.dropFirst() {
            let cells = line.dropLast().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(cells.count == 7 + spec.names.count)
            rows[cells[0] + " " + cells[1]] = (cells[5], Array(cells[7...]))
        }
        #expect(rows.count == data.bars.count, "one row per bar")
        return rows
    }

    /// What the table should hold: the stage's vectors (one bar at a time through `handle`), by symbol and timestamp.
    static func expected(_ data: BacktestData, _ spec: FeatureSpec) throws -> [String: (close: String, cells: [String])] {
        var core = FeaturesCore(spec: spec)
        let opens = Dictionary(data.bars.map { ("\($0.bar.symbol) \($0.bar.closeTime)", $0.bar) }, uniquingKeysWith: { a, _ in a })
        var rows: [String: (close: String, cells: [String])] = [:]
        for record in data.bars {
            for case .publish(let v) in try core.handle(record.bar) {
                let bar = opens["\(v.symbol) \(v.barCloseTime)"]!
                rows["\(v.symbol.name) \(TimestampParser.iso(bar.openTime))"] = (v.close.description, v.values.map { $0.isNaN ? "" : $0.description })
            }
        }
        return rows
    }

    @Test("each row holds its own bar's vector: the batch path for a plain spec, and for a cross-asset spec, whose vectors come out late")
    func rowsMatchTheirBars() throws {
        let data = try Self.data()
        let cross = try FeatureSpec.parse("""
            {"name": "x", "features": [{"kind": "rsi", "period": 14}, {"kind": "roc", "period": 4, "symbol": "BTC-USD"},
             {"kind": "correl", "period": 20, "with": "BTC-USD"}]}
            """, file: "x.json")
        for spec in [FeatureSpec.talibParity, .richV1, cross] {
            let table = try Self.table(data, spec), want = try Self.expected(data, spec)
            #expect(table.count == want.count, "\(spec)")
            let wrong = want.keys.filter { table[$0]?.close != want[$0]!.close || table[$0]?.cells != want[$0]!.cells }
            #expect(wrong.isEmpty, "\(spec): \(wrong.count) rows differ, e.g. \(wrong.sorted().prefix(3))")
        }
    }
}
