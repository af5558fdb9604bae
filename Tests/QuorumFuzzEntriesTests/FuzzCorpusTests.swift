import Foundation
import QuorumFuzzEntries
import Testing

/// The committed fuzz corpus (fuzz/corpus/<target>/) through the libFuzzer targets' own entry functions, without
/// libFuzzer: every seed and every input that once crashed a target keeps passing in `make test`.
@Suite("FuzzCorpusTests")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let corpus = root.appendingPathComponent("fuzz/corpus")

    static func files(of target: String) throws -> [URL] {
        let folder = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("every committed corpus file of every target goes through its entry function", arguments: FuzzEntries.targets.keys.sorted())
    func replay(target: String) throws {
        let entry = try #require(FuzzEntries.targets[target])
        let files = try Self.files(of: target)
        #expect(files.count >= 4, "fuzz/corpus/\(target) should hold seeds; it has \(files.count) files")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            #expect(bytes.count <= 64 * 1024, "\(file.lastPathComponent): corpus files stay small")
            entry(bytes)
        }
    }

    /// Regenerate with `QUORUM_FUZZ_WRITE_SEEDS=1 swift test --filter FuzzCorpusTests` after a wire or stage change.
    @Test("the committed StageInputs seeds are the records the stages make from data/market (current wire format)")
    func stageSeedsAreCurrent() throws {
        let seeds = try FuzzEntries.stageSeeds(barFile: Self.root.appendingPathComponent("data/market/btc_usd_30m.csv.gz").path)
        #expect(Set(seeds.keys.map { $0.split(separator: "-").first.map(String.init) ?? "" }) == Set(FuzzEntries.stageNames))
        let folder = Self.corpus.appendingPathComponent("StageInputs")
        for (name, bytes) in seeds.sorted(by: { $0.key < $1.key }) {
            let file = folder.appendingPathComponent("seed-\(name)")
            if ProcessInfo.processInfo.environment["QUORUM_FUZZ_WRITE_SEEDS"] == "1" {
                try Data(bytes).write(to: file)
            }
            let committed = try? [UInt8](Data(contentsOf: file))
            #expect(committed == bytes, "\(file.path) is missing or stale; regenerate with QUORUM_FUZZ_WRITE_SEEDS=1")
        }
    }
}
