import QuorumMarketData
import QuorumModel
import QuorumPipeline
import Synchronization
import Testing

/// `InboxLogic` over an in-memory `InboxIO`: which files quorum-ingest takes, what becomes of each, and in which order
/// its effects happen.
@Suite("Inbox logic")
struct InboxLogicTests {
    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }
    struct Down: Error, CustomStringConvertible {
        var description: String { "broker down" }
    }

    /// Memory for the folder and the ingestor; every call and event is logged in order.
    final class MemoryIO: InboxIO {
        struct State {
            var calls: [String] = []
            /// The files in the inbox (nil text: a file that cannot be read).
            var inbox: [String: (entry: InboxWatcher.Entry, text: String?)] = [:]
            var moved: [String: (folder: InboxLogic.Folder, note: String?)] = [:]
            var ingested: [IngestInput] = []
            var now: Int64 = 1_000_000_000_000
            var listingFails = false
            var ingestFails = 0
            var unmovable: Set<String> = []
        }
        let state = Mutex(State())

        func drop(_ name: String, text: String?, modified: Int64 = 0) {
            state.withLock { $0.inbox[name] = (InboxWatcher.Entry(name: name, size: Int64(text?.utf8.count ?? 3), modified: modified), text) }
        }
        var calls: [String] { state.withLock { $0.calls } }

        func list() throws -> [InboxWatcher.Entry] {
            try state.withLock { s in
                if s.listingFails { throw Unusable(description: "permission denied") }
                return s.inbox.values.map(\.entry)
            }
        }
        func now() -> Int64 { state.withLock { $0.now } }
        func read(_ name: String) throws -> BarFileContents {
            let text = state.withLock { $0.calls.append("read \(name)"); return $0.inbox[name]?.text }
            guard let text else { throw Unusable(description: "\(name): no data rows") }
            return try BarFileReader.read(text: text, fileName: name)
        }
        func ingest(_ input: IngestInput) async throws -> IngestReport {
            try state.withLock { s in
                s.calls.append("ingest \(input.files.map(\.file).joined(separator: ",")) bars=\(input.bars.count)")
                if s.ingestFails > 0 {
                    s.ingestFails -= 1
                    throw Down()
                }
                s.ingested.append(input)
                var report = IngestReport()
                report.bars = input.bars.count
                return report
            }
        }
        func move(_ name: String, to folder: InboxLogic.Folder, note: String?) throws {
            try state.withLock { s in
                s.calls.append("move \(name) \(folder)")
                if s.unmovable.contains(name) { throw Unusable(description: "read-only") }
                s.inbox[name] = nil
                s.moved[name] = (folder, note)
            }
        }
        func report(_ event: InboxLogic.Event) {
            let line = switch event {
            case .unlisted(let error): "unlisted: \(error)"
            case .unusable(let file, let error): "unusable \(file): \(error)"
            case .ingested(let files, let report): "ingested \(files.joined(separator: ",")): \(report.bars) bars"
            case .interrupted(let files, let error): "interrupted \(files.joined(separator: ",")): \(error)"
            case .unmoved(let file, let folder, let error): "unmoved \(file) to \(folder): \(error)"
            }
            state.withLock { $0.calls.append(line) }
        }
    }

    static let second: Int64 = 1_000_000_000

    static func csv(rows: Int, price: Int = 2) -> String {
        "timestamp,open,high,low,close,volume\n" + (0..<rows).map { "\(1_704_067_200 + $0 * 1800),1,\(price),1,\(price),1\n" }.joined()
    }

    /// Scans until the files seen unchanged twice are taken (the watcher's first sight of a file never takes it).
    static func scanTwice(_ logic: inout InboxLogic, _ io: MemoryIO) async {
        await logic.scan(io: io)
        await logic.scan(io: io)
    }

    @Test("a file still being written, or written too recently, is not taken; once quiet it is")
    func quiet() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 5 * Self.second)
        let t = io.now()
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 10), modified: t)
        await logic.scan(io: io)
        io.state.withLock { $0.now = t + 2 * Self.second }
        await logic.scan(io: io)
        #expect(io.calls.isEmpty, "unchanged but modified 2 s ago")
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 20), modified: t + 3 * Self.second)
        io.state.withLock { $0.now = t + 9 * Self.second }
        await logic.scan(io: io)
        #expect(io.calls.isEmpty, "it grew since the last scan")
        await logic.scan(io: io)
        #expect(io.calls == ["read aaa_usd_30m.csv", "ingest aaa_usd_30m.csv bars=20", "ingested aaa_usd_30m.csv: 20 bars",
                             "move aaa_usd_30m.csv done"])
    }

    @Test("a good file is ingested, then moved to done/; nothing is left for the next scan")
    func good() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 40))
        io.drop("notes.md", text: "not data")
        await Self.scanTwice(&logic, io)
        #expect(io.calls == ["read aaa_usd_30m.csv", "ingest aaa_usd_30m.csv bars=40", "ingested aaa_usd_30m.csv: 40 bars",
                             "move aaa_usd_30m.csv done"])
        #expect(io.state.withLock { $0.moved["aaa_usd_30m.csv"]?.folder == .done && $0.moved["aaa_usd_30m.csv"]?.note == nil })
        await Self.scanTwice(&logic, io)
        #expect(io.calls.count == 4)
    }

    @Test("an unusable file moves to failed/ with its error as the note, at once; the others are still ingested")
    func unusable() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 40))
        io.drop("bbb_usd_30m.csv", text: nil)
        io.drop("ccc_usd_30m.csv", text: Self.csv(rows: 10))
        await Self.scanTwice(&logic, io)
        #expect(io.calls == [
            "read aaa_usd_30m.csv", "read bbb_usd_30m.csv", "unusable bbb_usd_30m.csv: bbb_usd_30m.csv: no data rows",
            "move bbb_usd_30m.csv failed", "read ccc_usd_30m.csv", "ingest aaa_usd_30m.csv,ccc_usd_30m.csv bars=50",
            "ingested aaa_usd_30m.csv,ccc_usd_30m.csv: 50 bars", "move aaa_usd_30m.csv done", "move ccc_usd_30m.csv done",
        ])
        let failed = io.state.withLock { $0.moved["bbb_usd_30m.csv"] }
        #expect(failed?.folder == .failed && failed?.note == "bbb_usd_30m.csv: no data rows\n")
    }

    @Test("only unusable files: nothing is ingested")
    func onlyUnusable() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("bbb_usd_30m.csv", text: nil)
        await Self.scanTwice(&logic, io)
        #expect(io.calls == ["read bbb_usd_30m.csv", "unusable bbb_usd_30m.csv: bbb_usd_30m.csv: no data rows", "move bbb_usd_30m.csv failed"])
    }

    @Test("when the ingest throws nothing moves; the next scan takes the files again and moves them when it succeeds")
    func interrupted() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 40))
        io.state.withLock { $0.ingestFails = 1 }
        await Self.scanTwice(&logic, io)
        #expect(io.calls == ["read aaa_usd_30m.csv", "ingest aaa_usd_30m.csv bars=40", "interrupted aaa_usd_30m.csv: broker down"])
        #expect(io.state.withLock { $0.moved.isEmpty && $0.inbox.count == 1 })
        await logic.scan(io: io)
        #expect(io.calls.dropFirst(3) == ["read aaa_usd_30m.csv", "ingest aaa_usd_30m.csv bars=40", "ingested aaa_usd_30m.csv: 40 bars",
                                          "move aaa_usd_30m.csv done"])
    }

    @Test("the files found together are ingested in one call, their bars merged into event-time order")
    func merged() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("bbb_usd_30m.csv", text: Self.csv(rows: 3, price: 5))
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 3))
        await Self.scanTwice(&logic, io)
        let ingested = io.state.withLock { $0.ingested }
        #expect(ingested.count == 1)
        #expect(ingested.first?.files.map(\.file) == ["aaa_usd_30m.csv", "bbb_usd_30m.csv"])
        #expect(ingested.first?.bars.map(\.bar.symbol.name) == ["AAA-USD", "BBB-USD", "AAA-USD", "BBB-USD", "AAA-USD", "BBB-USD"])
    }

    @Test("a file that cannot be moved stays and is ingested again at the next scan; a listing that fails is retried")
    func retried() async {
        let io = MemoryIO()
        var logic = InboxLogic(quietNanos: 0)
        io.drop("aaa_usd_30m.csv", text: Self.csv(rows: 4))
        io.state.withLock { $0.unmovable = ["aaa_usd_30m.csv"] }
        await Self.scanTwice(&logic, io)
        #expect(io.calls.suffix(2) == ["move aaa_usd_30m.csv done", "unmoved aaa_usd_30m.csv to done: read-only"])
        io.state.withLock { $0.unmovable = []; $0.listingFails = true }
        await logic.scan(io: io)
        #expect(io.calls.last == "unlisted: permission denied")
        io.state.withLock { $0.listingFails = false }
        await logic.scan(io: io)
        #expect(io.calls.suffix(4) == ["read aaa_usd_30m.csv", "ingest aaa_usd_30m.csv bars=4", "ingested aaa_usd_30m.csv: 4 bars",
                                       "move aaa_usd_30m.csv done"])
    }
}
