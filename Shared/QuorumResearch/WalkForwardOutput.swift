import QuorumAnalytics
import QuorumMarketData
import QuorumML
import QuorumModel

/// The walk-forward parts of a run's files: report.json's model metrics, `folds`, `candidates` and `overfitting`;
/// report.html's fold table; the terminal's fold lines. Empty for a plain backtest.
extension BacktestOutput {
    /// "rules only", "2 model(s)" or "walk-forward: 6 folds × 2 candidates".
    var modelsText: String {
        if let wf = walkForward { return "walk-forward: \(wf.folds.count) folds × \(wf.settings.candidates.count) candidates" }
        return result.config.models.isEmpty ? "rules only" : "\(result.config.models.count) model(s)"
    }

    static func metricsJSON(_ m: ClassificationMetrics?) -> [(String, JSON)] {
        guard let m else { return [("auc", .null), ("accuracy", .null), ("brier", .null), ("log_loss", .null), ("scored", .int(0))] }
        return [("auc", m.auc.map(JSON.double) ?? .null), ("accuracy", .double(m.accuracy)), ("brier", .double(m.brier)),
                ("log_loss", .double(m.logLoss)), ("scored", .int(m.count))]
    }

    /// Top-level keys: the served models over every test window, and PBO.
    func walkForwardHeadline() -> [(String, JSON)] {
        guard let wf = walkForward else { return [] }
        return Self.metricsJSON(wf.modelMetrics) + [
            ("ece", wf.reliability.map { .double($0.ece) } ?? .null),
            ("reliability", wf.reliability.map { r in
                .array(r.bins.map { b in
                    .object([("from", .double(b.from)), ("to", .double(b.to)), ("count", .int(b.count)),
                             ("predicted", b.count > 0 ? .double(b.predicted) : .null), ("observed", b.count > 0 ? .double(b.observed) : .null)])
                })
            } ?? .null),
            ("pbo", wf.overfitting.map { .double($0.probabilityOfOverfitting) } ?? .null),
        ]
    }

    func walkForwardSections() -> [(String, JSON)] {
        guard let wf = walkForward else { return [] }
        let folds: [JSON] = wf.folds.map { f in
            let r = f.returns
            let models: [JSON] = f.models.map { m in
                .object([("symbol", .string(m.symbol.name)), ("candidate", m.candidate.map(JSON.int) ?? .null),
                         ("trained_in_fold", .bool(m.trainedInFold)), ("validation_log_loss_gain", m.validationGain.map(JSON.double) ?? .null),
                         ("converged", m.converged.map(JSON.bool) ?? .null)])
            }
            return .object([
                ("fold", .int(f.index)), ("train_from", .string(TimestampParser.iso(f.trainFrom))),
                ("validation_from", .string(TimestampParser.iso(f.trainTo))), ("validation_to", .string(TimestampParser.iso(f.validateTo))),
                ("test_from", .string(TimestampParser.iso(f.testFrom))), ("test_to", .string(TimestampParser.iso(f.testTo))),
            ] + Self.metricsJSON(f.test) + [
                ("sharpe", r.map { .double($0.sharpe) } ?? .null), ("total_return", r.map { .double($0.totalReturn) } ?? .null),
                ("max_drawdown", r.map { .double($0.maxDrawdown) } ?? .null), ("trades", .int(f.trades)), ("models", .array(models)),
            ])
        }
        let candidates: [JSON] = wf.candidates.map { c in
            .object([("candidate", .int(c.candidate)), ("family", .string(c.hyperparameters.family.rawValue)),
                     ("hyperparameters", .object(c.hyperparameters.values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })),
                     ("sharpe", .double(c.sharpe)),
                     ("total_return", .double(c.totalReturn)), ("max_drawdown", .double(c.maxDrawdown)), ("trades", .int(c.trades))])
        }
        let o = wf.overfitting
        return [
            ("folds", .array(folds)),
            ("walk_forward", .object([
                ("jobs", .int(wf.jobs)), ("jobs_passed_gate", .int(wf.trained)), ("jobs_rejected_by_gate", .int(wf.rejected)),
                ("jobs_failed", .int(wf.failed)), ("candidates", .array(candidates)),
                ("overfitting", o.map { o in
                    .object([("pbo", .double(o.probabilityOfOverfitting)), ("combinations", .int(o.combinations)),
                             ("probability_of_out_of_sample_loss", .double(o.probabilityOfOutOfSampleLoss))])
                } ?? .null),
            ])),
        ]
    }

    /// Writes the artifact of each model trained in a fold to `<folder>/models/<symbol>-f<fold>.model` (loadable by
    /// `quorum backtest` as a `models[].file`); returns the files written.
    @discardableResult
    public func writeModels(to folder: String) throws(BacktestError) -> [String] {
        guard let wf = walkForward else { return [] }
        var written: [String] = []
        for fold in wf.folds {
            for m in fold.models where m.trainedInFold {
                guard let model = m.model else { continue }
                if written.isEmpty { try Self.makeDirectories(folder + "/models") }
                let path = "\(folder)/models/\(m.symbol.name)-f\(fold.index).model"
                try Self.writeFile(path, model.artifact())
                written.append(path)
            }
        }
        return written
    }

    func walkForwardSummary() -> [String] {
        guard let wf = walkForward else { return [] }
        let n = ReportHTML.number
        var lines = ["  walk-forward: \(wf.folds.count) fold\(wf.folds.count == 1 ? "" : "s"), \(wf.jobs) jobs (\(wf.trained) passed the gate, \(wf.rejected) rejected, "
                     + "\(wf.failed) failed)  AUC \(wf.modelMetrics?.auc.map { n($0, 3) } ?? "n/a")  "
                     + "PBO \(wf.overfitting.map { n($0.probabilityOfOverfitting, 3) } ?? "n/a (one candidate)")"]
        lines.append("  fold  test window                         AUC    accuracy  Sharpe   return    max DD   trades")
        for f in wf.folds {
            let window = "\(TimestampParser.iso(f.testFrom).prefix(10)) → \(TimestampParser.iso(f.testTo).prefix(10))"
            lines.append("  " + [pad("\(f.index)", 4), pad(window, 34), pad(f.test?.auc.map { n($0, 3) } ?? "n/a", 6),
                                 pad(f.test.map { n($0.accuracy, 3) } ?? "n/a", 9), pad(f.returns.map { n($0.sharpe, 2) } ?? "n/a", 7),
                                 pad(f.returns.map { ReportHTML.percent($0.totalReturn) } ?? "n/a", 9),
                                 pad(f.returns.map { ReportHTML.percent($0.maxDrawdown) } ?? "n/a", 8), "\(f.trades)"].joined(separator: " "))
        }
        return lines
    }

    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
}

extension ReportHTML {
    /// The fold table, the candidates traded alone and the overfitting guards.
    func walkForwardHTML() -> String {
        guard let wf = output.walkForward else { return "" }
        let n = Self.number, p = Self.percent
        var html = "<h2>Walk-forward folds</h2>\n<table><tr><th>Fold</th><th>Train</th><th>Validate</th><th>Test</th><th>Models</th>"
            + "<th>AUC</th><th>Accuracy</th><th>Brier</th><th>Log loss</th><th>Sharpe</th><th>Return</th><th>Max DD</th><th>Trades</th></tr>\n"
        func day(_ t: Nanos) -> String { String(TimestampParser.iso(t).prefix(10)) }
        for f in wf.folds {
            let models = f.models.map { m in
                "\(m.symbol.name): " + (m.candidate.map { "c\($0)" + (m.trainedInFold ? "" : " (kept)") } ?? "none")
            }.joined(separator: ", ")
            var cells: [String] = ["\(f.index)", "\(day(f.trainFrom)) → \(day(f.trainTo))", "→ \(day(f.validateTo))",
                                   "\(day(f.testFrom)) → \(day(f.testTo))", models]
            if let t = f.test {
                cells += [t.auc.map { n($0, 3) } ?? "n/a", n(t.accuracy, 3), n(t.brier, 4), n(t.logLoss, 4)]
            } else {
                cells += ["n/a", "n/a", "n/a", "n/a"]
            }
            if let r = f.returns {
                cells += [n(r.sharpe, 2), p(r.totalReturn), p(r.maxDrawdown)]
            } else {
                cells += ["n/a", "n/a", "n/a"]
            }
            cells.append("\(f.trades)")
            html += "<tr>" + cells.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n"
        }
        html += "</table>\n"
        html += "<p>\(wf.jobs) training jobs: \(wf.trained) passed the validation gate, \(wf.rejected) were rejected, \(wf.failed) failed. "
            + "Over every test window the served models scored AUC \(wf.modelMetrics?.auc.map { n($0, 3) } ?? "n/a"), "
            + "accuracy \(wf.modelMetrics.map { n($0.accuracy, 3) } ?? "n/a"), "
            + "expected calibration error \(wf.reliability.map { n($0.ece, 4) } ?? "n/a").</p>\n"
        if let r = wf.reliability {
            html += "<h2>Reliability</h2>\n<p>The served models' test-window predictions in ten bins: how often the price went up against "
                + "how likely they said it was.</p>\n<table><tr><th>Predicted P(up)</th><th>Rows</th><th>Mean predicted</th><th>Observed up-rate</th></tr>\n"
            for b in r.bins where b.count > 0 {
                html += "<tr><td>\(n(b.from, 1))–\(n(b.to, 1))</td><td>\(b.count)</td><td>\(n(b.predicted, 3))</td><td>\(n(b.observed, 3))</td></tr>\n"
            }
            html += "</table>\n"
        }
        if !wf.candidates.isEmpty {
            html += "<h2>Candidates traded alone</h2>\n<table><tr><th>Candidate</th><th>Model</th><th>Sharpe</th><th>Return</th><th>Max DD</th><th>Trades</th></tr>\n"
            for c in wf.candidates {
                html += "<tr><td>c\(c.candidate)</td><td>\(c.hyperparameters.summary)</td><td>\(n(c.sharpe, 2))</td><td>\(p(c.totalReturn))</td>"
                    + "<td>\(p(c.maxDrawdown))</td><td>\(c.trades)</td></tr>\n"
            }
            html += "</table>\n"
        }
        if let o = wf.overfitting {
            html += "<p>Probability of backtest overfitting (CSCV, \(o.combinations) combinations): \(n(o.probabilityOfOverfitting, 3)); "
                + "probability that the in-sample winner loses out of sample: \(n(o.probabilityOfOutOfSampleLoss, 3)).</p>\n"
        }
        return html
    }
}
