#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import Synchronization

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Progress on standard error: a bar with rate and ETA on a terminal, a plain line every 10 % otherwise. Wall time is
/// read here only, for the rate and ETA; it never reaches the run's outputs.
struct ProgressLine {
    var total: Int
    /// What the lines count, e.g. "backtest".
    let label: String
    let tty = isatty(STDERR_FILENO) != 0
    let started = ContinuousClock.now
    var lastDraw = ContinuousClock.now
    var lastTenth = 0

    /// No output at all (a timed run measures the stages, not the terminal).
    let quiet: Bool

    init(total: Int, label: String, quiet: Bool = false) {
        self.total = max(1, total)
        self.label = label
        self.quiet = quiet
    }

    mutating func update(_ done: Int) {
        guard !quiet else { return }
        if tty {
            let now = ContinuousClock.now
            guard now - lastDraw >= .milliseconds(100) || done == total else { return }
            lastDraw = now
            let elapsed = (now - started).seconds
            let fraction = Double(done) / Double(total)
            let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
            let rate = elapsed > 0 ? Int((Double(done) / elapsed).rounded()) : 0
            let filled = Int(fraction * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total), \(rate)/s, ETA \(Int(eta.rounded())) s ".utf8))
        } else {
            let tenth = done * 10 / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            let elapsed = (ContinuousClock.now - started).seconds
            let rate = elapsed > 0 ? Int((Double(done) / elapsed).rounded()) : 0
            FileHandle.standardError.write(Data("\(label): \(done)/\(total) (\(tenth * 10)%), \(rate)/s\n".utf8))
        }
    }

    func finish() {
        if tty, !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A `ProgressLine` that callbacks from other tasks update (e.g. the ingestor's progress closure).
final class SharedProgressLine: Sendable {
    private let line: Mutex<ProgressLine>

    init(total: Int, label: String) { line = Mutex(ProgressLine(total: total, label: label)) }

    func update(_ done: Int) { line.withLock { $0.update(done) } }
    func finish() { line.withLock { $0.finish() } }
}
