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

    /// data/market holds 30-minute bars stamped with their open time.
    static let barSeconds: Int64 = 1800

    /// The first `count` bars of a data/market CSV (timestamp,open,high,low,close,volume); `closeTime` is the
    /// timestamp plus `barSeconds`.
    static func candles(_ relativePath: String, count: Int) throws -> [TA.Candle] {
        let text = String(decoding: try gunzip(relativePath), as: UTF8.self)
        var candles: [TA.Candle] = []
        for line in text.split(separator: "\n").dropFirst().prefix(count) {
            let fields = line.split(separator: ",")
            let f = fields.dropFirst().map { Double($0)! }
            guard let opened = unixSeconds(fields[0]) else { throw FixtureError("bad timestamp \(fields[0]) in \(relativePath)") }
            candles.append(TA.Candle(open: f[0], high: f[1], low: f[2], close: f[3], volume: f[4],
                                     closeTime: opened + barSeconds))
        }
        guard candles.count == count else { throw FixtureError("\(relativePath) has fewer than \(count) bars") }
        return candles
    }
}

/// Seconds since 1970 of an ISO-8601 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ` (days from the civil date, Howard
/// Hinnant's algorithm).
func unixSeconds(_ text: Substring) -> Int64? {
    let digits = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int64($0) }
    guard digits.count == 6 else { return nil }
    let (month, day) = (digits[1], digits[2])
    let year = month <= 2 ? digits[0] - 1 : digits[0]
    let era = (year >= 0 ? year : year - 399) / 400
    let yearOfEra = year - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    let days = era * 146_097 + dayOfEra - 719_468
    return days * 86_400 + digits[3] * 3600 + digits[4] * 60 + digits[5]
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One fixture file: TA-Lib's outputs (null during warm-up) at `indices` of the first `bars` bars of `source` (a
/// data/market file), or of its own `input` bars (open, high, low, close, volume; close times in `closeTimes`) when
/// `source` is "synthetic". `<file>.reference` files hold the values of scripts/reference_features.py instead of
/// TA-Lib's (`reference` instead of `taLib`).
struct IndicatorFixture: Decodable {
    struct Version: Decodable {
        var python: String
        var c: String
    }

    struct Reference: Decodable {
        var numpy: String
        var script: String
    }

    var taLib: Version?
    var reference: Reference?
    var source: String
    var bars: Int
    var indices: [Int]
    var series: [String: [Double?]]
    var input: [[Double]]?
    var closeTimes: [Int64]?

    enum CodingKeys: String, CodingKey {
        case taLib = "ta_lib", reference, source, bars, indices, series, input, closeTimes = "close_times"
    }

    static let files = ["btc_usd_30m", "eth_usd_30m", "synthetic"]
    /// The reference fixtures of the indicators TA-Lib lacks, on the same bars.
    static let referenceFiles = files.map { $0 + ".reference" }
    /// Other parameters on the first 600 BTC bars (`ParityCase.grid`).
    static let grid = "grid"

    static func load(_ name: String) throws -> (IndicatorFixture, [TA.Candle]) {
        let fixture = try JSONDecoder().decode(IndicatorFixture.self,
                                               from: Repository.gunzip("Tests/Fixtures/indicators/\(name).json.gz"))
        if let input = fixture.input {
            let times = fixture.closeTimes ?? []
            return (fixture, input.indices.map { i in
                let f = input[i]
                return TA.Candle(open: f[0], high: f[1], low: f[2], close: f[3], volume: f[4],
                                 closeTime: i < times.count ? times[i] : nil)
            })
        }
        return (fixture, try Repository.candles(fixture.source, count: fixture.bars))
    }
}

/// Feeds every bar to a fresh indicator: per bar its outputs (nil during warm-up).
func run<I: StreamingIndicator>(_ indicator: I, _ bars: [TA.Candle], keepLast: Int, _ outputs: (I.Output) -> [Double]) -> [[Double]?] {
    var indicator = indicator
    let keepFrom = bars.count - min(keepLast, bars.count)
    var kept: [[Double]?] = []
    kept.reserveCapacity(bars.count - keepFrom)
    for (i, bar) in bars.enumerated() {
        let value = indicator.update(bar)
        if i >= keepFrom { kept.append(value.map(outputs)) }
    }
    return kept
}

/// Feeds (x, y) pairs taken from each bar to a fresh pair indicator.
func runPair<I: PairIndicator>(_ indicator: I, _ bars: [TA.Candle], keepLast: Int, _ x: (TA.Candle) -> Double,
                               _ y: (TA.Candle) -> Double) -> [[Double]?] where I.Output == Double {
    var indicator = indicator
    let keepFrom = bars.count - min(keepLast, bars.count)
    var kept: [[Double]?] = []
    kept.reserveCapacity(bars.count - keepFrom)
    for (i, bar) in bars.enumerated() {
        let value = indicator.update(x(bar), y(bar))
        if i >= keepFrom { kept.append(value.map { [$0] }) }
    }
    return kept
}
