import CZlib
import Foundation
import QuorumFeatures

/// Reads the repository's own files (relative to this file): the TA-Lib fixtures written by
/// scripts/gen-indicator-fixtures and the slice of data/market they were computed from.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The whole content of a gzip file.
    static func gunzip(_ relativePath: String) throws -> Data {
        let path = root.appendingPathComponent(relativePath).path
        guard let gz = gzopen(path, "rb") else { throw FixtureError("cannot open \(relativePath)") }
        defer { gzclose(gz) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw FixtureError("cannot read \(relativePath)") }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<Int(n)])
        }
        return data
    }

    /// The first `count` bars of a data/market CSV (timestamp,open,high,low,close,volume).
    static func candles(_ relativePath: String, count: Int) throws -> [TA.Candle] {
        let text = String(decoding: try gunzip(relativePath), as: UTF8.self)
        var candles: [TA.Candle] = []
        for line in text.split(separator: "\n").dropFirst().prefix(count) {
            let f = line.split(separator: ",").dropFirst().map { Double($0)! }
            candles.append(TA.Candle(open: f[0], high: f[1], low: f[2], close: f[3], volume: f[4]))
        }
        guard candles.count == count else { throw FixtureError("\(relativePath) has fewer than \(count) bars") }
        return candles
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One fixture file: TA-Lib's outputs (null during warm-up) at `indices` of the first `bars` bars of `source` (a
/// data/market file), or of its own `input` bars (open, high, low, close, volume) when `source` is "synthetic".
struct IndicatorFixture: Decodable {
    struct Version: Decodable {
        var python: String
        var c: String
    }

    var taLib: Version
    var source: String
    var bars: Int
    var indices: [Int]
    var series: [String: [Double?]]
    var input: [[Double]]?

    enum CodingKeys: String, CodingKey {
        case taLib = "ta_lib", source, bars, indices, series, input
    }

    static let files = ["btc_usd_30m", "eth_usd_30m", "synthetic"]
    /// Other parameters on the first 600 BTC bars (`ParityCase.grid`).
    static let grid = "grid"

    static func load(_ name: String) throws -> (IndicatorFixture, [TA.Candle]) {
        let fixture = try JSONDecoder().decode(IndicatorFixture.self,
                                               from: Repository.gunzip("Tests/Fixtures/indicators/\(name).json.gz"))
        if let input = fixture.input {
            return (fixture, input.map { TA.Candle(open: $0[0], high: $0[1], low: $0[2], close: $0[3], volume: $0[4]) })
        }
        return (fixture, try Repository.candles(fixture.source, count: fixture.bars))
    }
}

/// Feeds every bar to a fresh indicator: per bar its outputs (nil during warm-up).
func run<I: StreamingIndicator>(_ indicator: I, _ bars: [TA.Candle], _ outputs: (I.Output) -> [Double]) -> [[Double]?] {
    var indicator = indicator
    return bars.map { indicator.update($0).map(outputs) }
}

/// Feeds (x, y) pairs taken from each bar to a fresh pair indicator.
func runPair<I: PairIndicator>(_ indicator: I, _ bars: [TA.Candle], _ x: (TA.Candle) -> Double,
                               _ y: (TA.Candle) -> Double) -> [[Double]?] where I.Output == Double {
    var indicator = indicator
    return bars.map { indicator.update(x($0), y($0)).map { [$0] } }
}
