import Foundation
import QuorumServiceKit
import Testing

/// `quorum eda` as a user runs it: the built binary. A report exits 0 whatever the data holds; a file that cannot be
/// used exits 1 with an error naming it.
@Suite("quorum eda (no cluster)", .serialized, .timeLimit(.minutes(2)))
struct EDACommandTests {
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) { try await QuorumCommand.run(arguments) }

    /// A folder with `test_usd_30m.csv`: six half-hour bars, a NaN row, a duplicate and a zero-volume bar.
    static func folder() throws -> (folder: String, file: String) {
        let folder = NSTemporaryDirectory() + "quorum-eda-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/test_usd_30m.csv"
        try """
            timestamp,open,high,low,close,volume
            2024-01-01T00:00:00Z,100,101,99,100.5,3
            2024-01-01T00:30:00Z,100.5,102,100,101,2
            2024-01-01T00:30:00Z,100.5,102,100,101,2
            2024-01-01T01:00:00Z,NaN,102,100,101,2
            2024-01-01T01:30:00Z,101,103,100,102,0
            2024-01-01T02:00:00Z,102,103,101,101.5,4
            2024-01-01T02:30:00Z,101.5,102,100.5,101,1

            """.write(toFile: file, atomically: true, encoding: .utf8)
        return (folder, file)
    }

    @Test("problems in the data: exit 0, the summary names them with file:line, --html writes a page with charts")
    func report() async throws {
        let (folder, file) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let page = folder + "/eda.html"
        let result = try await Self.run(["eda", file, "--html", page])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("TEST-USD  30m  2024-01-01T00:00:00Z → 2024-01-01T02:30:00Z  5 bars of 6 expected"), "\(result.output)")
        #expect(result.output.contains("rows: rejected 2, duplicates 1"), "\(result.output)")
        #expect(result.output.contains("\(file):5: nonFinite: open is 'NaN'"), "\(result.output)")
        #expect(result.output.contains("zero volume 1"), "\(result.output)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<h2>TEST-USD</h2>") && html.contains("<svg"))
    }

    @Test("--json: an array of one object per series with the required keys as numbers")
    func json() async throws {
        let (folder, file) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await Self.run(["eda", "--json", file])
        #expect(result.status == 0, "\(result.output)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
        let series = try #require(objects.first)
        #expect(objects.count == 1 && series["symbol"] as? String == "TEST-USD")
        let keys = ["bars", "gaps", "duplicates", "out_of_order", "nan", "zero_volume", "non_positive_price", "outliers", "ohlc_inconsistent"]
        #expect(keys.map { series[$0] as? Int } == [5, 1, 1, 0, 1, 1, 0, 0, 0])
    }

    @Test("a missing file or one that is not a bar file: exit 1 with an error naming it; the usable files are still reported")
    func unusable() async throws {
        let (folder, file) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = folder + "/nope.csv"
        let result = try await Self.run(["eda", missing])
        #expect(result.status == 1)
        #expect(result.output.contains("error: cannot open \(missing): No such file or directory; check the path"), "\(result.output)")
        let notes = folder + "/notes.txt"
        try "shopping list\nmilk\neggs\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let mixed = try await Self.run(["eda", notes, file])
        #expect(mixed.status == 1)
        #expect(mixed.output.contains("error: \(notes):"), "\(mixed.output)")
        #expect(mixed.output.contains("TEST-USD") && mixed.output.contains("1 of 2 file(s) could not be read"), "\(mixed.output)")
    }
}
