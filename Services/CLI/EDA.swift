import ArgumentParser
import Foundation
import QuorumMarketData
import QuorumPipeline
import QuorumResearch

/// `quorum eda`: parses the options, reads the files, runs `DataQuality.analyse` (QuorumResearch) and prints; everything
/// it computes and renders lives in the library.
struct EDA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eda",
        abstract: "Look at bar files before modelling them: per series time range, gaps, duplicates, bad rows by kind with file:line, zero volume, outlying returns, return statistics, and the correlation between series.",
        discussion: """
            Reads any file `quorum ingest` reads (the same reader, without its price outlier rule, so spikes stay in and \
            are scored). A series is a symbol at one interval, over every file that holds it. Prints one block per series \
            and the correlation table (or, with --json, a JSON array of one object per series); --html writes a \
            self-contained page with charts. Exit status 0 whatever the data holds (it is a report); 1 when a file cannot \
            be used at all (missing, unreadable, empty, unknown layout). docs/eda.md lists every check and JSON key.
            """)

    @Argument(help: "Bar files (.csv, .tsv, .txt, optionally .gz).") var files: [String]
    @Option(help: "Also write the report as one self-contained HTML page (inline CSS and SVG charts) to this file.") var html: String?
    @Flag(help: "Print a JSON array of one object per series instead of the summary.") var json = false
    @Option(name: .customLong("outlier-z"), help: "A log return whose robust z-score, (r − median) / (1.4826 · MAD), exceeds this in absolute value is an outlier.")
    var outlierZ: Double = 10
    @Option(help: "Autocorrelation of log returns at lags 1…N.") var lags: Int = 5
    @Option(help: "Items of each list shown (gaps, rejected rows, duplicates, zero-volume bars, outliers); 0 shows them all.")
    var list: Int = 10
    @OptionGroup var layout: BarFileOptions

    /// Inputs smaller than this (bytes as stored) are read without a progress line.
    static let progressThreshold = 16 << 20

    func validate() throws {
        guard outlierZ > 0 else { throw ValidationError("--outlier-z must be positive, not \(outlierZ)") }
        guard (1...500).contains(lags) else { throw ValidationError("--lags must be between 1 and 500, not \(lags)") }
        guard list >= 0 else { throw ValidationError("--list must be 0 (all) or positive, not \(list)") }
    }

    func run() throws {
        let options = try layout.readerOptions()
        let sizes = files.map { path in
            ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0   // a missing file fails below
        }
        let total = sizes.reduce(0, +)
        var progress = ProgressLine(total: total, label: "eda: reading \(files.count) file(s), bytes", quiet: total < Self.progressThreshold)
        var contents: [BarFileContents] = []
        var failures = 0
        var done = 0
        for (path, size) in zip(files, sizes) {
            do {
                contents.append(try DataQuality.read(path, options: options) { progress.update(done + $0) })
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
            done += size
        }
        progress.finish()
        if !contents.isEmpty {
            let report = DataQuality.analyse(contents, settings: DataQuality.Settings(outlierZ: outlierZ, lags: lags))
            let limit = list == 0 ? nil : list
            if json {
                print(report.json(listLimit: limit).rendered(), terminator: "")
            } else {
                for line in report.summary(listLimit: limit) { print(line) }
            }
            if let html {
                do {
                    try report.html(listLimit: limit).write(toFile: html, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write \(html): \(error.localizedDescription)")
                }
                FileHandle.standardError.write(Data("wrote \(html)\n".utf8))
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("\(failures) of \(files.count) file(s) could not be read (see the errors above)\n".utf8))
            throw ExitCode(1)
        }
    }
}
