import Foundation
import QuorumBus
import QuorumFeatures
import QuorumMarketData
import QuorumModel
import QuorumPipeline
import QuorumResearch
import QuorumServiceKit

/// The entry functions of Quorum's libFuzzer targets (fuzz/Package.swift; docs/operations.md, "Fuzzing").
///
/// Each takes arbitrary bytes and drives one input surface the way the running system does. Bad input must end in
/// a clear error (a typed error with a non-empty description) or a dead letter (`RejectedMessage` with a reason);
/// anything else — a trap in the code under test, another error type where a dead letter is due, an accepted value
/// that breaks the surface's own guarantees, a secret in an error — is a finding, and `finding(_:)` traps so that
/// libFuzzer records the input. The unit suite `FuzzCorpusTests` replays the committed corpus (fuzz/corpus/) through
/// these same functions, so `make test` keeps every found input fixed without libFuzzer.
public enum FuzzEntries {
    /// The targets, by name: the executable `Fuzz<Name>` and its corpus folder `fuzz/corpus/<name>/`.
    public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "BarReader": barReader,
        "StageInputs": stageInputs,
        "Config": configuration,
        "HTTP": httpRequest,
    ]
}

/// Stops the fuzzer on a broken guarantee, naming it (libFuzzer writes the input to `crash-<sha1>`).
func finding(_ what: String) -> Never {
    fatalError("fuzz finding: \(what)")
}

/// Reads framed values from a fuzz input: bytes, little-endian lengths, and the rest.
struct FuzzBytes {
    private let bytes: [UInt8]
    private var index: Int

    init(_ bytes: [UInt8], from index: Int = 0) {
        self.bytes = bytes
        self.index = min(index, bytes.count)
    }

    var isAtEnd: Bool { index >= bytes.count }

    mutating func byte() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + max(0, count))
        defer { index = end }
        return Array(bytes[index..<end])
    }

    /// A two-byte little-endian length, then that many bytes (fewer at the end).
    mutating func chunk16() -> [UInt8] {
        let low = Int(byte() ?? 0), high = Int(byte() ?? 0)
        return take(low | high << 8)
    }

    mutating func rest() -> [UInt8] { take(bytes.count - index) }
}

/// A private scratch folder for the files an entry has to write (the bar reader reads paths, as `quorum ingest` does).
enum FuzzScratch {
    static let directory: String = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let path = "\(base)/quorum-fuzz-\(getpid())"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the fuzz scratch folder \(path): \(error); set TMPDIR to a writable folder")
        }
        atexit { _ = try? FileManager.default.removeItem(atPath: FuzzScratch.directory) }  // the folder is this process's own
        return path
    }()

    /// Writes `bytes` to `name` in the scratch folder and returns its path.
    static func write(_ bytes: [UInt8], as name: String) -> String {
        let path = "\(directory)/\(name)"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("cannot write the fuzz input file \(path); is \(directory) writable and is there space?")
        }
        return path
    }
}
