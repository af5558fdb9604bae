/// How the two classes are weighted in the training loss.
public enum ClassWeighting: String, Sendable, Codable, Equatable {
    /// Every row counts once.
    case none
    /// Each class contributes equally: a row of class c gets weight n / (2 · n_c) (weights still sum to n).
    case balanced
}

/// Hyperparameters of the logistic-regression trainer.
///
/// | field | meaning | default | valid |
/// |---|---|---|---|
/// | `l2` | L2 penalty λ on the weights (not the bias): loss + λ/2 · ‖w‖² | 0.1 | finite, ≥ 0 |
/// | `learningRate` | first step tried along each Newton direction (1: the full step; smaller damps it) | 1 | (0, 1] |
/// | `maxIterations` | Newton iteration budget | 100 | 1 … 1,000,000 |
/// | `tolerance` | stop when every gradient component has magnitude ≤ this | 1e-6 | finite, ≥ 0 |
/// | `classWeighting` | `.none` or `.balanced` | `.none` | — |
/// | `calibrate` | hold the latest 20 % of the training rows out of the fit and calibrate on them (`Calibration.choose`) | false | — |
public struct LogisticHyperparameters: Sendable, Codable, Equatable {
    public var l2: Double
    public var learningRate: Double
    public var maxIterations: Int
    public var tolerance: Double
    public var classWeighting: ClassWeighting
    public var calibrate: Bool

    private enum CodingKeys: String, CodingKey { case l2, learningRate, maxIterations, tolerance, classWeighting, calibrate }

    /// Artifacts from before `calibrate` existed load (false); it is written only when true, so an uncalibrated
    /// model's artifact bytes are what they were.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        l2 = try c.decode(Double.self, forKey: .l2)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        maxIterations = try c.decode(Int.self, forKey: .maxIterations)
        tolerance = try c.decode(Double.self, forKey: .tolerance)
        classWeighting = try c.decode(ClassWeighting.self, forKey: .classWeighting)
        calibrate = try c.decodeIfPresent(Bool.self, forKey: .calibrate) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(l2, forKey: .l2)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(maxIterations, forKey: .maxIterations)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(classWeighting, forKey: .classWeighting)
        if calibrate { try c.encode(calibrate, forKey: .calibrate) }
    }

    public init(l2: Double = 0.1, learningRate: Double = 1, maxIterations: Int = 100,
                tolerance: Double = 1e-6, classWeighting: ClassWeighting = .none, calibrate: Bool = false) {
        self.calibrate = calibrate
        self.l2 = l2
        self.learningRate = learningRate
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.classWeighting = classWeighting
    }

    /// Throws `MLError.invalidHyperparameter` naming the first bad field, its value and the valid range.
    public func validate() throws(MLError) {
        guard l2.isFinite, l2 >= 0 else {
            throw MLError(.invalidHyperparameter, "l2 = \(l2) is invalid: use a finite value ≥ 0 (e.g. 0.1)")
        }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else {
            throw MLError(.invalidHyperparameter,
                          "learningRate = \(learningRate) is invalid: use a value in (0, 1] (1: full Newton steps)")
        }
        guard (1...1_000_000).contains(maxIterations) else {
            throw MLError(.invalidHyperparameter,
                          "maxIterations = \(maxIterations) is invalid: use 1 … 1,000,000 (e.g. 100)")
        }
        guard tolerance.isFinite, tolerance >= 0 else {
            throw MLError(.invalidHyperparameter, "tolerance = \(tolerance) is invalid: use a finite value ≥ 0 (e.g. 1e-6)")
        }
    }
}
