import Foundation

/// How a model's raw probability of "up" becomes the probability it reports: fitted on rows the model did not train
/// on, so that a reported 0.6 comes true about 60 % of the time.
public enum Calibration: Sendable, Codable, Equatable {
    /// The raw probability, unchanged.
    case none
    /// Platt scaling (Platt 1999): p′ = σ(a·logit(p) + b), a and b fitted by maximum likelihood with Platt's smoothed
    /// targets ((N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2)).
    case platt(a: Double, b: Double)
    /// Isotonic regression (pool adjacent violators): a non-decreasing map, linear between the fitted points
    /// (`x` ascending: the pooled blocks' mean raw probabilities, `y` their observed up-rates, clipped to
    /// [`isotonicFloor`, 1 − `isotonicFloor`]) and constant beyond them.
    case isotonic(x: [Double], y: [Double])

    /// Isotonic values are kept this far from 0 and 1, so that one surprise never costs an infinite log loss.
    public static let isotonicFloor = 0.001

    public var name: String {
        switch self {
        case .none: "none"
        case .platt: "platt"
        case .isotonic: "isotonic"
        }
    }

    /// The calibrated probability.
    public func apply(_ p: Double) -> Double {
        switch self {
        case .none:
            return p
        case .platt(let a, let b):
            return sigmoid(a * Self.logit(p) + b)
        case .isotonic(let x, let y):
            guard let first = x.first, let last = x.last else { return p }
            if p <= first { return y[0] }
            if p >= last { return y[y.count - 1] }
            var low = 0, high = x.count - 1
            while high - low > 1 {
                let mid = (low + high) / 2
                if x[mid] <= p { low = mid } else { high = mid }
            }
            let t = x[high] > x[low] ? (p - x[low]) / (x[high] - x[low]) : 0
            return y[low] + t * (y[high] - y[low])
        }
    }

    /// Checks a loaded calibration; nil when sound, else what is wrong.
    func problem() -> String? {
        switch self {
        case .none:
            return nil
        case .platt(let a, let b):
            return a.isFinite && b.isFinite ? nil : "a non-finite Platt coefficient"
        case .isotonic(let x, let y):
            guard x.count == y.count, !x.isEmpty else { return "isotonic points of different lengths" }
            guard zip(x, x.dropFirst()).allSatisfy({ $0 < $1 }), zip(y, y.dropFirst()).allSatisfy({ $0 <= $1 }),
                  (x + y).allSatisfy(\.isFinite), y.allSatisfy({ $0 > 0 && $0 < 1 }) else {
                return "isotonic points not increasing or out of (0, 1)"
            }
            return nil
        }
    }

    static func logit(_ p: Double) -> Double {
        let q = min(max(p, 1e-12), 1 - 1e-12)
        return log(q / (1 - q))
    }

    /// Platt's a and b by Newton's method on the two-parameter logistic loss of logit(p).
    public static func platt(probabilities: [Double], labels: [Int]) -> Calibration {
        let positives = Double(labels.reduce(0, +)), negatives = Double(labels.count) - positives
        let high = (positives + 1) / (positives + 2), low = 1 / (negatives + 2)
        let z = probabilities.map(logit), t = labels.map { $0 == 1 ? high : low }
        // The loss with targets t (cross-entropy), for the line search.
        func loss(_ a: Double, _ b: Double) -> Double {
            var total = 0.0
            for i in z.indices {
                let u = a * z[i] + b
                total += max(u, 0) + log1p(exp(-abs(u))) - t[i] * u
            }
            return total
        }
        var a = 1.0, b = 0.0
        var current = loss(a, b)
        for _ in 0..<100 {
            var g0 = 0.0, g1 = 0.0, h00 = 1e-12, h01 = 0.0, h11 = 1e-12
            for i in z.indices {
                let p = sigmoid(a * z[i] + b), r = p - t[i], w = p * (1 - p)
                g0 += r * z[i]
                g1 += r
                h00 += w * z[i] * z[i]
                h01 += w * z[i]
                h11 += w
            }
            let det = h00 * h11 - h01 * h01
            guard det > 0, det.isFinite else { break }
            let da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det
            // Newton's step, halved until the loss falls (far from the optimum the full step can overshoot).
            var step = 1.0, moved = false
            for _ in 0..<40 {
                let candidate = loss(a - step * da, b - step * db)
                if candidate < current {
                    a -= step * da
                    b -= step * db
                    current = candidate
                    moved = true
                    break
                }
                step /= 2
            }
            if !moved || (abs(step * da) < 1e-10 && abs(step * db) < 1e-10) { break }
        }
        return a.isFinite && b.isFinite ? .platt(a: a, b: b) : .none
    }

    /// The isotonic fit by pool adjacent violators over the rows sorted by raw probability (ties pooled first).
    public static func isotonic(probabilities: [Double], labels: [Int]) -> Calibration {
        let order = probabilities.indices.sorted { (probabilities[$0], $0) < (probabilities[$1], $1) }
        // Blocks of (sum of p, sum of y, count), merged while a block's rate is not above the previous one's.
        var sumP: [Double] = [], sumY: [Double] = [], count: [Double] = []
        for i in order {
            let p = probabilities[i], y = Double(labels[i])
            if let last = sumP.indices.last, sumP[last] / count[last] == p {
                sumP[last] += p
                sumY[last] += y
                count[last] += 1
            } else {
                sumP.append(p)
                sumY.append(y)
                count.append(1)
            }
            while sumP.count > 1 {
                let k = sumP.count - 1
                guard sumY[k] / count[k] <= sumY[k - 1] / count[k - 1] else { break }
                sumP[k - 1] += sumP[k]
                sumY[k - 1] += sumY[k]
                count[k - 1] += count[k]
                sumP.removeLast()
                sumY.removeLast()
                count.removeLast()
            }
        }
        guard !sumP.isEmpty else { return .none }
        var x: [Double] = [], y: [Double] = []
        for k in sumP.indices {
            let px = sumP[k] / count[k], py = min(max(sumY[k] / count[k], isotonicFloor), 1 - isotonicFloor)
            // Clipping can make neighbouring values equal; x stays strictly increasing (pooled blocks' means are).
            if let last = x.last, px <= last { continue }
            x.append(px)
            y.append(max(py, y.last ?? 0))
        }
        return .isotonic(x: x, y: y)
    }

    /// Mean log loss of calibrated probabilities.
    static func logLoss(_ c: Calibration, _ probabilities: [Double], _ labels: [Int]) -> Double {
        zip(probabilities, labels).reduce(0) { $0 + ClassificationMetrics.logLoss(probability: c.apply($1.0), label: $1.1) }
            / Double(max(labels.count, 1))
    }

    /// Chooses a calibration on held-out rows (in time order): Platt and isotonic are fitted on the first half and
    /// scored with "none" on the second; the best by log loss is refitted on all the rows. Too few rows (fewer than
    /// 100, or one class in a half) keep `none`. Returns the choice and each candidate's log loss on the second half.
    public static func choose(probabilities: [Double], labels: [Int]) -> (calibration: Calibration, logLoss: [String: Double]) {
        let half = labels.count / 2
        let fitP = Array(probabilities[..<half]), fitY = Array(labels[..<half])
        let testP = Array(probabilities[half...]), testY = Array(labels[half...])
        guard labels.count >= 100, Set(fitY).count == 2, Set(testY).count == 2 else { return (.none, [:]) }
        let candidates: [Calibration] = [.none, platt(probabilities: fitP, labels: fitY), isotonic(probabilities: fitP, labels: fitY)]
        var losses: [String: Double] = [:]
        var best = (calibration: Calibration.none, loss: Double.infinity)
        for c in candidates {
            let loss = logLoss(c, testP, testY)
            losses[c.name] = loss
            if loss < best.loss { best = (c, loss) }
        }
        switch best.calibration {
        case .none: return (.none, losses)
        case .platt: return (platt(probabilities: probabilities, labels: labels), losses)
        case .isotonic: return (isotonic(probabilities: probabilities, labels: labels), losses)
        }
    }
}

/// How well probabilities match outcomes: rows in `bins` equal-width bins of the predicted probability.
public struct Reliability: Sendable, Codable, Equatable {
    public struct Bin: Sendable, Codable, Equatable {
        /// [from, to) of the predicted probability (the last bin includes 1).
        public let from: Double
        public let to: Double
        public let count: Int
        /// Mean predicted probability and observed up-rate of the bin's rows (NaN when empty).
        public let predicted: Double
        public let observed: Double
    }

    public let bins: [Bin]
    /// Expected calibration error: Σ (count / n)·|observed − predicted| over the bins.
    public let ece: Double

    public init(probabilities: [Double], labels: [Int], bins count: Int = 10) {
        var n = [Int](repeating: 0, count: count), sumP = [Double](repeating: 0, count: count), sumY = [Double](repeating: 0, count: count)
        for (p, y) in zip(probabilities, labels) {
            let k = min(max(Int(p * Double(count)), 0), count - 1)
            n[k] += 1
            sumP[k] += p
            sumY[k] += Double(y)
        }
        let total = Double(max(probabilities.count, 1))
        bins = (0..<count).map { k in
            Bin(from: Double(k) / Double(count), to: Double(k + 1) / Double(count), count: n[k],
                predicted: n[k] > 0 ? sumP[k] / Double(n[k]) : .nan, observed: n[k] > 0 ? sumY[k] / Double(n[k]) : .nan)
        }
        ece = bins.reduce(0) { $0 + ($1.count > 0 ? Double($1.count) / total * abs($1.observed - $1.predicted) : 0) }
    }
}
