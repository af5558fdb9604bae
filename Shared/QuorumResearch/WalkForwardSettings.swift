import QuorumML
import QuorumModel
import QuorumPipeline

/// The `walk_forward` section of a run configuration (docs/backtest.md, "Walk-forward"): how `quorum walk-forward`
/// cuts the data into folds, which hyperparameter candidates each fold trains, and how many run at once.
public struct WalkForwardSettings: Sendable, Equatable {
    public var window: WalkForwardPlan.Window = .rolling
    /// Length of each fold's training window (training and validation rows together).
    public var trainLength: Nanos
    /// Length of each fold's test window.
    public var testLength: Nanos
    /// Distance between consecutive test windows' starts; nil: the test length (back-to-back test windows).
    public var step: Nanos?
    /// Training rows within this distance after an earlier fold's test window are left out of a fold's training.
    public var embargo: Nanos = 0
    /// The last part of each training window that validates the candidates (gate and selection), e.g. 0.25.
    public var validationFraction = 0.25
    /// The candidates (a model family and its hyperparameters) every fold trains; the fold trades the one with the best
    /// validation log-loss gain that passes the validation gate.
    public var candidates: [ModelHyperparameters] = TrainingJobs.defaultCandidates
    /// Training jobs run at once; 0: one per core.
    public var workers = 0

    public init(trainLength: Nanos, testLength: Nanos) {
        self.trainLength = trainLength
        self.testLength = testLength
    }

    /// The keys of the section, in documentation order.
    static let keys = ["window", "train", "test", "step", "embargo", "validation_fraction", "candidates", "workers"]
    /// A candidate's keys: `family` (default logistic), then its family's hyperparameters (`ModelHyperparameters.values`).
    static let candidateKeys = ["family"] + Array(Set(ModelFamily.allCases.flatMap { ModelHyperparameters.defaults($0).values.keys })).sorted()

    static func parse(_ s: Section) throws(BacktestError) -> WalkForwardSettings {
        guard let train = try s.duration("train") else { throw s.invalid("train", "is required: the training window's length, e.g. \"60d\"") }
        guard let test = try s.duration("test") else { throw s.invalid("test", "is required: the test window's length, e.g. \"30d\"") }
        var w = WalkForwardSettings(trainLength: train, testLength: test)
        if let window = try s.string("window") {
            guard let value = WalkForwardPlan.Window(rawValue: window) else {
                throw s.invalid("window", "is \"\(window)\"; use \"rolling\" or \"expanding\"")
            }
            w.window = value
        }
        w.step = try s.duration("step")
        w.embargo = try s.duration("embargo", allowZero: true) ?? 0
        if let fraction = try s.double("validation_fraction", above: 0) {
            guard fraction < 1 else { throw s.invalid("validation_fraction", "is \(fraction); must be below 1 (e.g. 0.25)") }
            w.validationFraction = fraction
        }
        if let list = try s.sections("candidates", keys: candidateKeys) {
            guard !list.isEmpty else { throw s.invalid("candidates", "is empty; give at least one candidate (e.g. [{\"l2\": 0.1}])") }
            w.candidates = try list.map { c throws(BacktestError) in
                let name = try c.string("family") ?? ModelFamily.logistic.rawValue
                guard let family = ModelFamily(rawValue: name) else {
                    throw c.invalid("family", "is \"\(name)\"; use one of \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                // The family's own keys only, each a number (`balanced` also true or false).
                try c.only(["family"] + ModelHyperparameters.defaults(family).values.keys.sorted())
                var values: [String: Double] = [:]
                for (key, _) in c.pairs where key != "family" {
                    if key == "balanced", let b = try? c.bool(key) { values[key] = b ? 1 : 0 } else { values[key] = try c.double(key) }
                }
                do throws(MLError) {
                    return try ModelHyperparameters(family: family, values: values)
                } catch {
                    throw BacktestError(.invalidValue, "\(c.file): \(c.path): \(error.message)")
                }
            }
        }
        w.workers = try s.whole("workers", atLeast: 0) ?? 0
        return w
    }

    func json() -> JSON {
        func duration(_ ns: Nanos) -> JSON { .string(Durations.text(ns)) }
        return .object([
            ("window", .string(window.rawValue)), ("train", duration(trainLength)), ("test", duration(testLength)),
            ("step", duration(step ?? testLength)), ("embargo", duration(embargo)),
            ("validation_fraction", .double(validationFraction)),
            ("candidates", .array(candidates.map { h in
                .object([("family", .string(h.family.rawValue))] + h.values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })
            })),
            ("workers", .int(workers)),
        ])
    }
}

extension Section {
    /// A duration (`Durations`); zero only when `allowZero`.
    func duration(_ key: String, allowZero: Bool = false) throws(BacktestError) -> Nanos? {
        guard let text = try string(key) else { return nil }
        guard let ns = Durations.parse(text), ns > 0 || (allowZero && ns == 0) else {
            throw invalid(key, "\"\(text)\" is not a duration: use a number and a unit, e.g. \"30m\", \"12h\", \"90d\" or \"2w\"")
        }
        return ns
    }

    /// A whole number (JSON number without a fraction).
    func whole(_ key: String, atLeast minimum: Double) throws(BacktestError) -> Int? {
        guard let d = try double(key, atLeast: minimum) else { return nil }
        guard d == d.rounded(), d <= 1e9 else { throw invalid(key, "must be a whole number") }
        return Int(d)
    }
}
