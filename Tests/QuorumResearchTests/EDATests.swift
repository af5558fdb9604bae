import Foundation
import QuorumMarketData
import QuorumModel
import QuorumPipeline
@testable import QuorumResearch
import Testing

/// `quorum eda`'s analysis (`DataQuality`) on files with known defects, hand-computed statistics, correlations of
/// constructed series, its JSON and HTML, and the vendored data.
@Suite("EDA (DataQuality)")
struct EDATests {
    static let t0: Nanos = 1_704_067_200 * 1_000_000_000   // 2024-01-01T00:00:00Z
    static let step: Nanos = 1_800 * 1_000_000_000

    static func iso(_ k: Int) -> String { TimestampParser.iso(t0 + Nanos(k) * step) }

    /// Writes `files` (name → text) into a fresh folder and analyses them as `quorum eda` does.
    static func analyse(_ files: [(String, String)], settings: DataQuality.Settings = .init()) throws -> (DataQualityReport, [String]) {
        let folder = try Support.folder()
        var paths: [String] = []
        for (name, text) in files {
            let path = folder + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let contents = try paths.map { try DataQuality.read($0) }
        try FileManager.default.removeItem(atPath: folder)
        return (DataQuality.analyse(contents, settings: settings), paths)
    }

    /// 120 half-hour bars of TEST-USD with one defect of each kind; `lines[k]` is the file line of bar k's row.
    ///   - bars 20, 21, 22 are absent (a gap of 3);
    ///   - bar 30's row appears twice (a duplicate);
    ///   - bars 40 and 41 come in the order 41, 40 (one row out of order);
    ///   - bar 50 has a NaN open, bar 70 a negative low, bar 80 high < low (rejected rows, each leaving a gap of 1);
    ///   - bar 60 has zero volume and open = high = low = close;
    ///   - bar 90 closes at 1000 among closes near 100 (a spike: the returns into and out of it are outliers).
    static func defects() -> (text: String, lines: [Int: Int], duplicateLine: Int) {
        func close(_ k: Int) -> Double { k == 90 ? 1000 : ((100 + 2 * sin(Double(k) * 1.3)) * 100).rounded() / 100 }
        func row(_ k: Int) -> String {
            let (o, c) = (k == 0 ? 100 : close(k - 1), close(k))
            let time = iso(k)
            switch k {
            case 50: return "\(time),NaN,\(max(o, c) + 0.5),\(min(o, c) - 0.5),\(c),10"
            case 60: return "\(time),\(o),\(o),\(o),\(o),0"
            case 70: return "\(time),\(o),\(max(o, c) + 0.5),-1,\(c),10"
            case 80: return "\(time),\(o),\(min(o, c) - 1),\(max(o, c) + 1),\(c),10"
            default: return "\(time),\(o),\(max(o, c) + 0.5),\(min(o, c) - 0.5),\(c),\(10 + k % 5)"
            }
        }
        var rows = ["timestamp,open,high,low,close,volume"]
        var lines: [Int: Int] = [:]
        var duplicateLine = 0
        for k in 0..<120 where !(20...22).contains(k) && k != 41 {
            if k == 40 {   // 41 before 40
                rows.append(row(41))
                lines[41] = rows.count
            }
            rows.append(row(k))
            lines[k] = rows.count
            if k == 30 {
                rows.append(row(30))
                duplicateLine = rows.count
            }
        }
        return (rows.joined(separator: "\n") + "\n", lines, duplicateLine)
    }

    @Test("every defect is counted exactly, listed with file:line, and the gaps say which missing times hold rejected rows")
    func defectCounts() throws {
        let fixture = Self.defects()
        let (report, paths) = try Self.analyse([("test_usd_30m.csv", fixture.text)])
        let s = try #require(report.series.first)
        #expect(report.series.count == 1 && report.unattributed == nil)
        #expect(s.symbol == "TEST-USD" && s.intervalSeconds == 1800)
        #expect(s.bars == 120 - 3 - 3, "3 missing, 3 rejected (NaN, negative price, high < low)")
        #expect(s.firstOpen == Self.t0 && s.lastOpen == Self.t0 + 119 * Self.step && s.expectedBars == 120)

        // Gaps: the 3 missing bars, and one where each rejected row was.
        #expect(s.gaps.map(\.missingBars) == [3, 1, 1, 1])
        #expect(s.gaps.map(\.rejectedRows) == [0, 1, 1, 1])
        #expect(s.missingBars == 6 && s.longestGap?.missingBars == 3)
        let first = try #require(s.gaps.first)
        #expect(first.after.time == Self.t0 + 19 * Self.step && first.before.time == Self.t0 + 23 * Self.step)
        #expect(first.before.file == paths[0] && first.before.line == fixture.lines[23])

        #expect(s.duplicates == 1)
        #expect(s.duplicatePlaces == [BarPlace(time: Self.t0 + 30 * Self.step, file: paths[0], line: fixture.duplicateLine)])
        #expect(s.outOfOrder == 1)
        #expect(s.nan == 1 && s.nonPositivePrice == 1 && s.negativeVolume == 0)
        #expect(s.ohlcInconsistent == 1 && s.highBelowLow == 1 && s.openCloseOutsideRange == 0)
        #expect(s.rejectedRows == 4)
        #expect(s.rejected == [.nonFinite: 1, .nonPositivePrice: 1, .highBelowLow: 1, .duplicateTimestamp: 1])
        #expect(s.rejections.map(\.line) == [fixture.duplicateLine, fixture.lines[50]!, fixture.lines[70]!, fixture.lines[80]!])
        #expect(s.rejections.allSatisfy { $0.file == paths[0] })
        #expect(s.zeroVolume == [BarPlace(time: Self.t0 + 60 * Self.step, file: paths[0], line: fixture.lines[60]!)])
        #expect(s.flatBars == 1)

        // The spike: the return into bar 90 and the one out of it, nothing else.
        let spike = s.outliers.sorted { $0.bar.line < $1.bar.line }
        #expect(spike.map(\.bar.line) == [fixture.lines[90]!, fixture.lines[91]!])
        #expect(spike[0].z > 10 && spike[1].z < -10)
        #expect(abs(spike[0].logReturn - log(1000 / 100.0)) < 0.05)
        #expect(abs(s.outliers[0].z) >= abs(s.outliers[1].z), "the largest first")
        // Returns only between bars one interval apart: 114 bars, 4 gaps.
        #expect(s.returns.count == 114 - 1 - 4)
        #expect(s.outliersTested)
    }

    @Test("the terminal summary names each count and lists the first items with file:line, then how many more")
    func summary() throws {
        let fixture = Self.defects()
        let (report, paths) = try Self.analyse([("test_usd_30m.csv", fixture.text)])
        let text = report.summary(listLimit: 2).joined(separator: "\n")
        #expect(text.contains("gaps: 4 (6 missing bars; longest 3 after 2024-01-01T09:30:00Z; 3 of the missing times hold rejected rows)"), "\(text)")
        #expect(text.contains("rows: rejected 4, duplicates 1, out of time order 1"), "\(text)")
        #expect(text.contains("NaN/inf 1, price ≤ 0 1, negative volume 0, OHLC inconsistent 1 (high < low 1"), "\(text)")
        #expect(text.contains("zero volume 1, flat bars 1"), "\(text)")
        #expect(text.contains("outliers: 2 log returns with |robust z| > 10.0"), "\(text)")
        #expect(text.contains("\(paths[0]):\(fixture.duplicateLine): duplicateTimestamp"), "\(text)")
        #expect(text.contains("\(paths[0]):\(fixture.lines[50]!): nonFinite"), "\(text)")
        #expect(text.contains("… and 2 more"), "4 rejected rows, 2 shown: \(text)")
        #expect(!report.summary(listLimit: nil).joined().contains("… and"), "every item without a limit")
    }

    @Test("return statistics of a tiny series equal hand-computed values (mean, std, skew, excess kurtosis, autocorrelation, robust scale)")
    func statistics() throws {
        // Closes 100, 200, 100, 200, 400: log returns a, −a, a, a with a = ln 2.
        let closes = [100, 200, 100, 200, 400]
        let text = "timestamp,open,high,low,close,volume\n" + closes.enumerated().map { k, c in
            "\(Self.iso(k)),\(c),\(c),\(c),\(c),1"
        }.joined(separator: "\n")
        let (report, _) = try Self.analyse([("tiny_usd_30m.csv", text)], settings: .init(lags: 3))
        let r = try #require(report.series.first).returns
        let a = log(2.0)
        func near(_ x: Double, _ y: Double) -> Bool { abs(x - y) < 1e-12 }
        #expect(r.count == 4)
        #expect(near(r.mean, a / 2))
        // Deviations a/2, −3a/2, a/2, a/2: Σd² = 3a², so the sample std is a.
        #expect(near(r.standardDeviation, a))
        // m₂ = 3a²/4, m₃ = −3a³/4: g1 = −2/√3 and G1 = √12/2 · g1 = −2. Σd⁴ = 21a⁴/4: G2 = 30 · (21/4)/9 − 13.5 = 4.
        #expect(near(r.skewness, -2))
        #expect(near(r.excessKurtosis, 4))
        #expect(near(r.min, -a) && near(r.max, a))
        // Lag 1: pairs (a, −a), (−a, a), (a, a): r = −1/2. Lag 2: (a, a), (−a, a): one side constant. Lag 3: one pair.
        #expect(near(r.autocorrelation[0], -0.5))
        #expect(r.autocorrelation[1].isNaN && r.autocorrelation[2].isNaN)
        // Median a, MAD 0: the scale falls back to 1.2533 × mean |r − median| = 1.2533 × a/2.
        #expect(near(r.median, a) && r.medianAbsoluteDeviation == 0)
        let s = try #require(report.series.first)
        #expect(near(s.zScale, 1.2533 * a / 2))
        #expect(near(s.maxAbsZ, 2 * a / (1.2533 * a / 2)))
        #expect(!s.outliersTested && s.outliers.isEmpty, "4 returns are too few to call one unusual")
        let strict = try Self.analyse([("tiny_usd_30m.csv", text)], settings: .init(outlierZ: 3, minimumReturnsForOutliers: 4)).0
        #expect(strict.series.first?.outliers.map(\.z).map { near($0, -2 * a / (1.2533 * a / 2)) } == [true], "−a at z −3.19")
    }

    /// Closes 2^e with e wandering in −3…3: every close and its inverse 64/close are exact decimals.
    static func powers(_ symbol: String, count: Int, invert: Bool = false) -> (String, String) {
        var e = 0
        var rows = ["timestamp,open,high,low,close,volume"]
        for k in 0..<count {
            e = max(-3, min(3, e + [1, -1, 1, 1, -1, -1, 0, 1, -1][k % 9] * (k % 4 == 3 ? -1 : 1)))
            let c = invert ? 64 / pow(2, Double(e)) : pow(2, Double(e))
            rows.append("\(Self.iso(k)),\(c),\(c),\(c),\(c),1")
        }
        return ("\(symbol)_usd_30m.csv", rows.joined(separator: "\n"))
    }

    @Test("correlation of returns: a series with itself and a copy is 1, with its negation −1; only common bars count")
    func correlation() throws {
        let (report, _) = try Self.analyse([Self.powers("a", count: 80), Self.powers("b", count: 80, invert: true), Self.powers("c", count: 60)])
        let c = report.correlation
        #expect(c.labels == ["A-USD", "B-USD", "C-USD"])
        for i in 0..<3 { #expect(abs(c.values[i][i] - 1) < 1e-12) }
        #expect(abs(c.values[0][1] + 1) < 1e-12, "log(64/x) returns are the negated log(x) returns")
        #expect(abs(c.values[0][2] - 1) < 1e-12)
        #expect(c.values[0][1] == c.values[1][0])
        #expect(c.pairs[0][1] == 79 && c.pairs[0][2] == 59, "pairs over the common returns only")
        let a = try #require(report.series.first)
        #expect(a.correlations.map(\.label) == ["B-USD", "C-USD"] && a.correlations.map(\.pairs) == [79, 59])
    }

    @Test("files of one symbol are one series: bars merged in time order, a repeat across files is a duplicate, the gap between them is seen")
    func filesMerge() throws {
        let rows = (0..<10).map { k in "\(Self.iso(k)),100,101,99,100.5,1" }
        let header = "timestamp,open,high,low,close,volume\n"
        let january = header + rows[0...4].joined(separator: "\n")
        let february = header + (rows[4...5] + rows[8...9]).joined(separator: "\n")
        let (report, paths) = try Self.analyse([("BTCUSDT-30m-2024-01.csv", january), ("BTCUSDT-30m-2024-02.csv", february)])
        let s = try #require(report.series.first)
        #expect(report.series.count == 1 && s.files == paths)
        #expect(s.bars == 8)
        #expect(s.duplicates == 1)
        #expect(s.repeats == [SeriesQuality.Repeat(bar: BarPlace(time: Self.t0 + 4 * Self.step, file: paths[1], line: 2),
                                                   first: BarPlace(time: Self.t0 + 4 * Self.step, file: paths[0], line: 6))])
        #expect(s.gaps.map(\.missingBars) == [2])
        #expect(s.gaps.first?.before == BarPlace(time: Self.t0 + 8 * Self.step, file: paths[1], line: 4))
    }

    @Test("rows of a long-format file whose market cannot be told are reported on their own, with file:line")
    func unattributed() throws {
        let text = """
            timestamp,symbol,open,high,low,close,volume
            \(Self.iso(0)),BTC-USD,100,101,99,100,1
            \(Self.iso(1)),,100,101,99,100,1
            \(Self.iso(1)),BTC-USD,100,101,99,100,1
            \(Self.iso(2)),BTC-USD,100,101,99,100,1
            """
        let (report, paths) = try Self.analyse([("long.csv", text)])
        #expect(report.series.map(\.bars) == [3])
        let orphans = try #require(report.unattributed)
        #expect(orphans.rejections.map(\.line) == [3] && orphans.rejected == [.missingField: 1] && orphans.files == paths)
        #expect(report.summary().joined(separator: "\n").contains("\(paths[0]):3: missingField"))
        #expect(report.allSeries.count == 2)
    }

    @Test("JSON: one object per series with the required keys, counts and statistics as numbers, lists capped with a count of the rest")
    func json() throws {
        let fixture = Self.defects()
        let (report, _) = try Self.analyse([("test_usd_30m.csv", fixture.text), Self.powers("a", count: 80)])
        let data = Data(report.json(listLimit: 1).rendered().utf8)
        let objects = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(objects.count == 2)
        let required = ["symbol", "bars", "gaps", "duplicates", "out_of_order", "nan", "zero_volume", "non_positive_price", "outliers",
                        "ohlc_inconsistent"]
        for object in objects {
            for key in required { #expect(object[key] != nil, "\(key)") }
            for key in required.dropFirst() { #expect(object[key] is NSNumber, "\(key) is a number") }
        }
        let test = try #require(objects.first { $0["symbol"] as? String == "TEST-USD" })
        let counts = required.dropFirst().map { test[$0] as? Int }
        #expect(counts == [114, 4, 1, 1, 1, 1, 1, 2, 1])
        #expect((test["gap_list"] as? [Any])?.count == 1 && test["gap_list_more"] as? Int == 3)
        #expect((test["rejected"] as? [String: Int]) == ["nonFinite": 1, "nonPositivePrice": 1, "highBelowLow": 1, "duplicateTimestamp": 1])
        let returns = try #require(test["returns"] as? [String: Any])
        #expect(returns["std"] is NSNumber && (returns["autocorrelation"] as? [Any])?.count == 5)
        #expect((test["correlation"] as? [String: Any])?.keys.sorted() == ["A-USD"])
    }

    @Test("HTML: self-contained (no script, nothing fetched), a section with charts per series, the correlation table")
    func html() throws {
        let (report, _) = try Self.analyse([("test_usd_30m.csv", Self.defects().text), Self.powers("a", count: 80)])
        let html = report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(!html.contains("<script") && !html.contains("http") && !html.contains("<link") && !html.contains("<img"))
        #expect(html.contains("name=\"viewport\""))
        for label in ["TEST-USD", "A-USD"] { #expect(html.contains("<h2>\(label)</h2>"), "\(label)") }
        let sections = html.components(separatedBy: "<section").dropFirst()
        #expect(sections.count == 2)
        for section in sections { #expect(section.components(separatedBy: "<svg").count - 1 >= 4, "timeline, close, histogram, autocorrelation") }
        #expect(html.contains("Correlation of log returns"))
        #expect(html.contains("duplicateTimestamp"))
        #expect(html == report.html(), "deterministic")
    }
}

/// `quorum eda` on every export layout `quorum ingest` reads (Tests/Samples/exports).
@Suite("EDA on the export samples")
struct EDAExportTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/exports").path

    @Test("each layout gives a report with ingest's bars, plus the rows only ingest's price outlier rule rejects")
    func everyLayout() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.samples).filter { !$0.hasSuffix(".md") }.sorted()
        #expect(names.count >= 12)
        for name in names {
            let path = Self.samples + "/" + name
            let ingest = try IngestReader.readFile(path)
            let report = DataQuality.analyse([try DataQuality.read(path)])
            #expect(report.series.count == ingest.series.count, "\(name)")
            for series in ingest.series {
                let s = try #require(report.series.first { $0.symbol == series.symbol.name }, "\(name) \(series.symbol)")
                #expect(s.bars == series.rows.count + (series.rejected[.outlier] ?? 0), "\(name) \(series.symbol)")
                #expect(s.intervalSeconds == series.intervalSeconds && s.outOfOrder == series.reordered, "\(name)")
                #expect(s.rejectedRows == series.rejectedCount - (series.rejected[.outlier] ?? 0), "\(name)")
            }
            #expect(report.html().contains("<svg"), "\(name)")
        }
    }
}

/// `quorum eda` on the vendored data: it completes with sane numbers.
@Suite("EDA on the vendored data")
struct EDAVendoredTests {
    @Test("BTC, ETH and LTC 30-minute bars: > 30,000 bars each, few gaps, plausible returns and correlations")
    func vendored() throws {
        let names = ["btc_usd_30m.csv.gz", "eth_usd_30m.csv.gz", "ltc_usd_30m.csv.gz"]
        let report = DataQuality.analyse(try names.map { try DataQuality.read(Support.market + "/" + $0) })
        #expect(report.series.map(\.label) == ["BTC-USD", "ETH-USD", "LTC-USD"])
        for s in report.series {
            #expect(s.bars > 30_000, "\(s.label)")
            #expect(s.intervalSeconds == 1800)
            #expect(s.coverage > 0.95 && s.coverage <= 1, "\(s.label) \(s.coverage)")
            #expect(s.returns.count > 30_000 && s.returns.count < s.bars)
            #expect(abs(s.returns.mean) < 1e-3, "\(s.label)")
            #expect(s.returns.standardDeviation > 0.002 && s.returns.standardDeviation < 0.03, "\(s.label)")
            #expect(s.returns.excessKurtosis > 0, "crypto returns have fat tails")
            #expect(s.returns.autocorrelation.allSatisfy { abs($0) < 0.2 })
            // Fast moves of the volatile months stand out against two years' median and MAD, but stay under 1 %.
            #expect(s.outliers.count < s.returns.count / 100 && s.maxAbsZ > 10, "\(s.label): \(s.outliers.count)")
        }
        for i in 0..<3 {
            for j in 0..<3 where i != j {
                #expect(report.correlation.values[i][j] > 0.4 && report.correlation.values[i][j] < 1, "\(i) \(j)")
                #expect(report.correlation.pairs[i][j] > 30_000)
            }
        }
        #expect(report.html().contains("<svg"))
    }
}
