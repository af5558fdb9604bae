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
    /// The hyperparameter candidates every fold trains; the fold trades the one with the best validation log-loss gain
    /// that passes the validation gate.
    public var candidates: [LogisticHyperparameters] = TrainingJobs.defaultCandidates
    /// Training jobs run at once; 0: one per core.
    public var workers = 0

    public init(trainLength: Nanos, testLength: Nanos) {
        self.trainLength = trainLength
        self.testLength = testLength
    }

    /// The keys of the section, in documentation order.
    static let keys = ["window", "train", "test", "step", "embargo", "validation_fraction", "candidates", "workers"]
    static let candidateKeys = ["l2", "learning_rate", "max_iterations", "tolerance", "balanced"]

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
                let defaults = LogisticHyperparameters()
                var h = LogisticHyperparameters(
                    l2: try c.double("l2", atLeast: 0) ?? defaults.l2,
                    learningRate: try c.double("learning_rate", above: 0) ?? defaults.learningRate,
                    maxIterations: try c.whole("max_iterations", atLeast: 1) ?? defaults.maxIterations,
                    tolerance: try c.double("tolerance", atLeast: 0) ?? defaults.tolerance)
                if try c.bool("balanced") == true { h.classWeighting = .balanced }
                do { try h.validate() } catch { throw c.invalid("l2", "makes an invalid candidate: \(error)") }
                return h
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
                .object([("l2", .double(h.l2)), ("learning_rate", .double(h.learningRate)), ("max_iterations", .int(h.maxIterations)),
                         ("tolerance", .double(h.tolerance)), ("balanced", .bool(h.classWeighting == .balanced))])
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
