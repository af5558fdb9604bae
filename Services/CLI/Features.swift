import ArgumentParser
import Foundation
import QuorumFeatures
import QuorumModel
import QuorumResearch

/// `quorum features`: the feature catalog and specs, and the features of bar files as a table.
struct Features: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the feature catalog, print a built-in spec, compute a spec's features over bar files, or report how much each says out of sample.",
        subcommands: [List.self, Spec.self, Compute.self, Report.self])

    /// `quorum features list [--spec SPEC]`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every feature of the catalog with its parameters, outputs and lookback; with --spec, the spec's columns.")
        @Option(help: "A built-in spec (rich-v1, core-v1, talib-parity) or a spec file: list its columns instead.")
        var spec: String?

        func run() throws {
            if let spec {
                let s = try FeatureSpec.load(spec)
                print("\(s): \(s.names.count) features, warm from bar \(s.warmUpBars(intervalSeconds: 1800)) on 30m bars")
                if !s.summary.isEmpty { print(s.summary) }
                for entry in s.entries {
                    let kind = FeatureCatalog.kind(named: entry.kind)!
                    let parameters = kind.parameters.map { "\($0.name)=\(entry.arguments.values[$0.name]!)" }.joined(separator: " ")
                    let timeframe = entry.timeframe.map { " on \(Durations.text($0 * 1_000_000_000)) bars" } ?? ""
                    print("  \(entry.columns.joined(separator: ", "))  ← \(entry.kind) \(parameters)\(timeframe), lookback \(kind.lookback(entry.arguments))")
                }
                return
            }
            for group in FeatureKind.Group.allCases {
                print("\(group.rawValue):")
                for kind in FeatureCatalog.kinds where kind.group == group {
                    let defaults = kind.defaultArguments
                    let outputs = kind.outputs == [""] ? "" : "  outputs: \(kind.outputs.joined(separator: ", "))"
                    print("  \(kind.name) — \(kind.summary)")
                    print("      " + (kind.parameters.isEmpty ? "no parameters" : kind.parameters.map(\.summary).joined(separator: ", "))
                          + ";  lookback \(kind.lookback(defaults)) with the defaults\(outputs)")
                }
            }
            print("Built-in specs: \(FeatureSpec.builtIns.map(\.description).joined(separator: ", ")) (default \(FeatureSpec.default.name))")
        }
    }

    /// `quorum features spec NAME`
    struct Spec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a built-in spec's JSON document (to copy into a file and edit).")
        @Argument(help: "rich-v1, core-v1 or talib-parity.") var name: String

        func run() throws {
            guard let text = FeatureSpec.document(ofBuiltIn: name) else {
                throw ValidationError("\(name) is not a built-in spec (\(FeatureSpec.builtIns.map(\.name).joined(separator: ", ")))")
            }
            print(text)
        }
    }

    /// `quorum features compute IN… --spec SPEC --out OUT.csv`
    struct Compute: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute a spec's features over bar files (any format `quorum ingest` reads) and write one CSV table.",
            discussion: """
                The same streaming code as the features stage, in batch. Columns: symbol (when the files hold several), \
                timestamp (bar open, UTC), open, high, low, close, volume, then the spec's features as of each bar's close; \
                warm-up cells are empty. docs/features.md lists every feature.
                """)
        @Argument(help: "Bar files (.csv, .tsv, .txt, optionally .gz).") var files: [String]
        @Option(help: "A built-in spec (rich-v1, core-v1, talib-parity) or a spec file.") var spec: String = FeatureSpec.default.name
        @Option(help: "Output CSV file ('-' for standard output).") var out: String?
        @Option(help: "The symbol, when the file names do not say it.") var symbol: String?
        @Flag(help: "Leave malformed rows out (counted) instead of stopping at the first.") var skipBadRows = false
        @Flag(help: "Write nothing: time the features stage's core over the bars in memory (best of 3 passes), in batch and one bar at a time, and print bars/s and ns/bar (make bench-features).")
        var timing = false

        func run() throws {
            let featureSpec = try FeatureSpec.load(spec)
            var config = BacktestConfig()
            config.data = .files(files)
            if let symbol { config.dataSymbol = .init(symbol) }
            if skipBadRows { config.badRows = .skip }
            let data = try BacktestData.load(config)
            if timing { return try time(data, featureSpec) }
            guard let out else { throw ValidationError("give --out FILE (or --out - for standard output)") }
            let sink: FileHandle
            if out == "-" { sink = .standardOutput } else {
                guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
                    throw ValidationError("cannot create \(out)")
                }
                sink = handle
            }
            var buffer = ""
            var progress = ProgressLine(total: data.bars.count, label: "features", quiet: out == "-")
            try FeatureTable.compute(data, spec: featureSpec, write: { line in
                buffer += line
                if buffer.utf8.count >= 1 << 20 { try sink.write(contentsOf: Data(buffer.utf8)); buffer = "" }
            }, progress: { progress.update($0) })
            try sink.write(contentsOf: Data(buffer.utf8))
            if out != "-" { try sink.close() }
            progress.finish()
            if out != "-" {
                let skipped = data.skippedRows > 0 ? ", \(data.skippedRows) malformed rows left out" : ""
                let message = "wrote \(out): \(data.bars.count) rows × \(featureSpec.names.count) features (\(featureSpec))\(skipped)\n"
                FileHandle.standardError.write(Data(message.utf8))
            }
        }

        /// The streaming cost, best of 3 passes each way, through the features stage's core (one engine per symbol):
        ///   - `batch`: `FeaturesCore.update(_:into:)` on 4,096 bars at a time (each node takes blocks of bars: the
        ///     path of `quorum features compute` and training rows);
        ///   - `per-bar`: one bar at a time into one reused row (the live stage's path), or, for a cross-asset spec,
        ///     `handle` (a vector per bar; such a spec has no batch path).
        func time(_ data: BacktestData, _ spec: FeatureSpec) throws {
            let bars = data.bars.map(\.bar)
            let columns = spec.names.count
            func best(_ pass: () throws -> Double) rethrows -> (Duration, Double) {
                var best = Duration.seconds(1_000_000), checksum = 0.0
                for _ in 0..<3 {
                    let started = ContinuousClock.now
                    checksum = try pass()
                    best = min(best, ContinuousClock.now - started)
                }
                return (best, checksum)
            }
            func report(_ path: String, _ timing: (Duration, Double)) {
                let seconds = timing.0.seconds, n = Double(bars.count)
                print(String(format: "timing: %@ %@ %d bars, %.3f s, %.1f ns/bar (checksum %.3g), %.0f bars/s", spec.description, path,
                             bars.count, seconds, seconds / n * 1e9, timing.1, n / seconds))
            }
            if spec.referencedSymbols.isEmpty {
                let chunk = 4096
                var rows = [Double](repeating: 0, count: chunk * columns)
                report("batch", try best {
                    var core = FeaturesCore(spec: spec), checksum = 0.0
                    try rows.withUnsafeMutableBufferPointer { out in
                        for start in stride(from: 0, to: bars.count, by: chunk) {
                            let warm = try core.update(bars[start..<min(start + chunk, bars.count)], into: out.baseAddress!)
                            for (k, w) in warm.enumerated() where w == true { checksum += out[k * columns] }
                        }
                    }
                    return checksum
                })
                report("per-bar", try best {
                    var core = FeaturesCore(spec: spec), checksum = 0.0
                    try rows.withUnsafeMutableBufferPointer { out in
                        for bar in bars where try core.update(bar, into: out.baseAddress!) == true { checksum += out[0] }
                    }
                    return checksum
                })
            } else {
                report("per-bar", try best {
                    var core = FeaturesCore(spec: spec), checksum = 0.0
                    for bar in bars {
                        for case .publish(let vector) in try core.handle(bar) where vector.isWarm { checksum += vector.values[0] }
                    }
                    return checksum
                })
            }
        }
    }

    /// `quorum features report --config FILE`
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every feature of the config's spec per walk-forward fold (IC, stability, mutual information, permutation importance); find near-duplicates; write a report and a pruned spec.",
            discussion: """
                Runs the training half of `quorum walk-forward` (the config needs a walk_forward section), then scores each \
                feature on each fold's test window. Writes <out>/features-<id>/report.json, report.html and \
                pruned-spec.json (the spec without the near-duplicates, usable as features.spec). docs/features.md, \
                "Feature selection".
                """)
        @OptionGroup var options: ResearchOptions
        @Option(help: "Features with |Pearson ρ| at or above this are one cluster; each cluster keeps its best |mean IC|.")
        var maxCorrelation: Double = 0.95
        @Option(help: "Seed of the permutation-importance shuffles.") var seed: UInt64 = 1
        @Option(help: "Also write the pruned spec to this file.") var emitSpec: String?

        func run() async throws {
            let (settings, bars) = try await options.load()
            var training = ProgressLine(total: 1, label: "features report: training jobs")
            let report = try await FeatureReport.run(config: settings, data: bars, maxCorrelation: maxCorrelation, seed: seed) { step in
                if case .training(let done, let total) = step {
                    training.total = total
                    training.update(done)
                    if done == total { training.finish() }
                }
            }
            let output = FeatureReportOutput(report: report, config: settings, data: bars)
            let folder = try output.write(to: options.out)
            for line in output.summary() { print(line) }
            print("  wrote \(folder)/{\(FeatureReportOutput.fileNames.joined(separator: ","))}")
            if let emitSpec {
                try report.prunedSpec().write(toFile: emitSpec, atomically: true, encoding: .utf8)
                print("  wrote the pruned spec to \(emitSpec)")
            }
        }
    }
}
