import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import QuorumResearch
import QuorumServiceKit

/// `quorum backtest`: parses the options, runs `Backtest` (QuorumResearch) and prints; everything it computes lives
/// in the library.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run the pipeline's stages (features → inference → consensus → risk → paper execution) over bar files in one process; write runs/<run-id>/.",
        discussion: """
            No servers: the same stage logic as the cluster, driven in event-time order without sleeps or the clock, so \
            two runs of the same config and data write byte-identical files: report.json, equity.csv, trades.csv, \
            orders.csv, report.html. The config is one JSON file (docs/backtest.md; examples/backtest.json).
            """)

    @Option(help: "The run configuration (JSON; see docs/backtest.md).") var config: String
    @Option(parsing: .upToNextOption, help: "Bar files (any format `quorum ingest` reads); replace the config's data source.")
    var data: [String] = []
    @Option(help: "Market of every row, and the one symbol traded (default: from the files, as `quorum ingest` infers it).")
    var symbol: String?
    @Option(help: "Only bars opening at or after this time (2019-01-01 or ISO-8601); overrides the config.") var from: String?
    @Option(help: "Only bars opening before this time; overrides the config.") var to: String?
    @Option(help: "Folder that receives runs/<run-id>/ (the run's folder is <out>/<run-id>).") var out: String = "runs"

    func run() async throws {
        var settings = try BacktestConfig.load(path: config)
        try settings.override(data: data, symbol: symbol, from: from, to: to)
        let bars = try BacktestData.load(settings)
        let backtest = try Backtest(config: settings)
        var progress = ProgressLine(total: bars.bars.count)
        let result = try await backtest.run(bars) { done in progress.update(done) }
        progress.finish()
        let output = BacktestOutput(result: result, codeVersion: QuorumMetrics.buildVersion)
        let folder = try output.write(to: out)
        for line in output.summary() { print(line) }
        print("  wrote \(folder)/{\(BacktestOutput.fileNames.joined(separator: ","))}")
    }
}

/// Progress on standard error: a bar with ETA on a terminal, a plain line every 10 % otherwise. Wall time is read
/// here only, for the ETA; it never reaches the run's outputs.
struct ProgressLine {
    let total: Int
    let tty = isatty(STDERR_FILENO) != 0
    let started = ContinuousClock.now
    var lastDraw = ContinuousClock.now
    var lastTenth = 0

    init(total: Int) { self.total = max(1, total) }

    mutating func update(_ done: Int) {
        if tty {
            let now = ContinuousClock.now
            guard now - lastDraw >= .milliseconds(100) || done == total else { return }
            lastDraw = now
            let elapsed = Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18
            let fraction = Double(done) / Double(total)
            let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
            let filled = Int(fraction * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(Int(fraction * 100))% \(done)/\(total) bars, ETA \(Int(eta.rounded())) s ".utf8))
        } else {
            let tenth = done * 10 / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            FileHandle.standardError.write(Data("backtest: \(done)/\(total) bars (\(tenth * 10)%)\n".utf8))
        }
    }

    func finish() {
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
