// Hyperparameter search: a search space over one family's hyperparameters, a Tree-structured Parzen Estimator that
// proposes points (Bergstra, Bardenet, Bengio and Kégl, "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011),
// and successive halving over budgets (Jamieson and Talwalkar 2016; Li et al., "A System for Massively Parallel
// Hyperparameter Tuning" (ASHA), MLSys 2020) run in generations, so that parallel workers give the same trials as one.
// Pure and deterministic: no clock, no I/O; the caller runs the work items and reports their losses.

import Foundation
import QuorumAnalytics

/// The hyperparameters a search varies, and how.
public struct SearchSpace: Sendable, Equatable {
    public enum Dimension: Sendable, Equatable {
        /// A number in [low, high], on a log scale when `log` (then low > 0); rounded when `integer`.
        case range(low: Double, high: Double, log: Bool, integer: Bool)
        /// One of these values.
        case choice([Double])
    }

    public var family: ModelFamily
    public var names: [String]
    public var dimensions: [Dimension]
    /// Hyperparameters held at these values in every trial (the rest take the family's defaults).
    public var fixed: [String: Double]

    public init(family: ModelFamily, names: [String], dimensions: [Dimension], fixed: [String: Double] = [:]) {
        self.family = family
        self.names = names
        self.dimensions = dimensions
        self.fixed = fixed
    }

    /// Checks the space before any job runs: known names (did-you-mean), non-empty ranges and choices, and that the
    /// corner points make valid hyperparameters.
    public func validate() throws(MLError) {
        guard !names.isEmpty, names.count == dimensions.count else {
            throw MLError(.invalidHyperparameter, "the search space is empty: give at least one hyperparameter to vary")
        }
        for (name, dimension) in zip(names, dimensions) {
            switch dimension {
            case .range(let low, let high, let log, _):
                guard low.isFinite, high.isFinite, low < high else {
                    throw MLError(.invalidHyperparameter, "\(name): the range [\(low), \(high)] is empty; give min < max")
                }
                guard !log || low > 0 else { throw MLError(.invalidHyperparameter, "\(name): a log scale needs min > 0, got \(low)") }
            case .choice(let values):
                guard !values.isEmpty, values.allSatisfy(\.isFinite) else {
                    throw MLError(.invalidHyperparameter, "\(name): give at least one finite choice")
                }
            }
        }
        for corner in [0.0, 0.999_999] { _ = try hyperparameters(Array(repeating: corner, count: names.count)) }
    }

    /// The values of a point of the unit cube (one coordinate in [0, 1) per dimension).
    public func values(_ point: [Double]) -> [String: Double] {
        var values = fixed
        for (k, (name, dimension)) in zip(names, dimensions).enumerated() {
            let u = min(max(point[k], 0), 0.999_999_999)
            switch dimension {
            case .range(let low, let high, let log, let integer):
                var x = log ? Foundation.exp(Foundation.log(low) + u * (Foundation.log(high) - Foundation.log(low))) : low + u * (high - low)
                if integer { x = min(max(x.rounded(), low.rounded(.up)), high.rounded(.down)) }
                values[name] = x
            case .choice(let options):
                values[name] = options[Int(u * Double(options.count))]
            }
        }
        return values
    }

    /// The family's hyperparameters at a point; throws for an unknown name or a value the family refuses.
    /// The largest value `name` can take in a trial: its dimension's largest, else its fixed value, else the family's
    /// default (nil for a name the family does not have).
    public func largest(_ name: String) -> Double? {
        if let d = names.firstIndex(of: name) {
            switch dimensions[d] {
            case .range(_, let high, _, _): return high
            case .choice(let values): return values.max()
            }
        }
        return fixed[name] ?? ModelHyperparameters.defaults(family).values[name]
    }

    public func hyperparameters(_ point: [Double]) throws(MLError) -> ModelHyperparameters {
        try ModelHyperparameters(family: family, values: values(point))
    }
}

/// The Tree-structured Parzen Estimator in the unit cube: with fewer than `startup` results it samples uniformly;
/// then it splits the results into the best `gamma` share and the rest, models each coordinate of each group by a
/// Parzen window (Gaussian kernels on the points plus a uniform prior), draws `candidates` points from the good model
/// and proposes the one with the largest good/bad density ratio.
public struct TPESampler: Sendable {
    public var gamma = 0.25
    public var candidates = 24
    public var startup = 8
    public init(startup: Int = 8) { self.startup = startup }

    /// `count` new points, given the results so far (points and losses, lower better), drawing from `rng`. A batch is
    /// proposed from the same results: each point after the first also avoids the earlier ones of the batch (they count
    /// as bad results, the "constant liar" heuristic), so a batch spreads out.
    public func propose(_ results: [(point: [Double], loss: Double)], dimensions: Int, count: Int,
                        rng: inout Xoshiro256StarStar) -> [[Double]] {
        var proposed: [[Double]] = []
        for _ in 0..<count {
            let finite = results.filter { $0.loss.isFinite }
            guard finite.count >= startup else {
                proposed.append((0..<dimensions).map { _ in rng.unit() })
                continue
            }
            let sorted = finite.sorted { $0.loss < $1.loss }
            let goodCount = max(1, Int((Double(sorted.count) * gamma).rounded(.up)))
            let good = sorted.prefix(goodCount).map(\.point)
            let bad = sorted.dropFirst(goodCount).map(\.point) + proposed + results.filter { !$0.loss.isFinite }.map(\.point)
            var best = (score: -Double.infinity, point: [Double]())
            for _ in 0..<candidates {
                let x = (0..<dimensions).map { d in Self.sample(good.map { $0[d] }, &rng) }
                var score = 0.0
                for d in 0..<dimensions {
                    score += log(Self.density(x[d], good.map { $0[d] })) - log(Self.density(x[d], bad.map { $0[d] }))
                }
                if score > best.score { best = (score, x) }
            }
            proposed.append(best.point)
        }
        return proposed
    }

    /// Kernel width for n points in [0, 1]: Scott's rule on a uniform spread, at least 0.05.
    static func bandwidth(_ n: Int) -> Double { max(0.05, pow(Double(max(n, 1)), -0.2) * 0.3) }

    /// Parzen density in [0, 1]: a uniform prior (weight 1) plus a Gaussian kernel per point.
    static func density(_ x: Double, _ points: [Double]) -> Double {
        let h = bandwidth(points.count)
        let kernels = points.reduce(0) { $0 + exp(-0.5 * pow((x - $1) / h, 2)) / (h * (2 * Double.pi).squareRoot()) }
        return (1 + kernels) / Double(points.count + 1)
    }

    /// A draw from the density: the prior or a kernel, picked uniformly among the n + 1 components; kept in [0, 1).
    static func sample(_ points: [Double], _ rng: inout Xoshiro256StarStar) -> Double {
        let k = rng.index(below: points.count + 1)
        guard k < points.count else { return rng.unit() }
        let u1 = max(rng.unit(), 1e-300), u2 = rng.unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return min(max(points[k] + bandwidth(points.count) * z, 0), 0.999_999_999)
    }
}

/// Successive halving over budgets in generations. Rung r trains with budget `minBudget·etaʳ` (the last rung the
/// full budget 1). Each generation the scheduler hands out work: first the promotions (a trial finished at rung r
/// whose loss is in the best 1/eta of rung r's results goes up to rung r + 1, once), then new trials at rung 0 from the
/// sampler, up to `generationSize` items or until `trials` trials have started. The caller runs a generation's items
/// (in any order, in parallel) and reports every loss before asking for the next, so the trials do not depend on
/// which worker finished first.
public struct SuccessiveHalving: Sendable {
    public struct Item: Sendable, Equatable {
        public let trial: Int
        public let rung: Int
        public let budget: Double
        public let point: [Double]
    }

    public let trials: Int
    public let eta: Int
    public let rungs: Int
    public let generationSize: Int
    public var sampler: TPESampler
    private var rng: Xoshiro256StarStar
    public private(set) var points: [[Double]] = []
    /// Per trial, its loss at each rung it finished (nil: not run there).
    public private(set) var losses: [[Double?]] = []
    private var promoted: Set<[Int]> = []
    private var pending: [Item] = []
    private let dimensions: Int

    public init(dimensions: Int, trials: Int, eta: Int = 3, rungs: Int = 3, generationSize: Int = 8, seed: UInt64, sampler: TPESampler = TPESampler()) {
        self.dimensions = dimensions
        self.trials = trials
        self.eta = max(2, eta)
        self.rungs = max(1, rungs)
        self.generationSize = max(1, generationSize)
        self.sampler = sampler
        rng = Xoshiro256StarStar(seed: seed, stream: 7)
    }

    public func budget(rung: Int) -> Double { pow(Double(eta), Double(rung - (rungs - 1))) }

    /// The results the sampler learns from: each trial's loss at its highest rung, ranked across rungs by rung first
    /// (a trial that went further is better than one that did not).
    private var observations: [(point: [Double], loss: Double)] {
        points.indices.compactMap { t in
            guard let r = losses[t].lastIndex(where: { $0 != nil }), let loss = losses[t][r] else { return nil }
            return (points[t], loss.isFinite ? loss - Double(r) * 1000 : .infinity)
        }
    }

    /// The next generation's work; empty when the search is done. Precondition: every item of the previous
    /// generation has been reported.
    public mutating func nextGeneration() -> [Item] {
        precondition(pending.isEmpty, "report every item of a generation before asking for the next")
        var items: [Item] = []
        for rung in stride(from: rungs - 2, through: 0, by: -1) {
            let done = losses.indices.compactMap { t in losses[t][rung].map { (t, $0) } }
            let keep = done.count / eta
            guard keep > 0 else { continue }
            let best = done.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(keep)
            for (t, loss) in best where loss.isFinite && !promoted.contains([t, rung]) && items.count < generationSize {
                promoted.insert([t, rung])
                items.append(Item(trial: t, rung: rung + 1, budget: budget(rung: rung + 1), point: points[t]))
            }
        }
        let fresh = min(generationSize - items.count, trials - points.count)
        if fresh > 0 {
            for point in sampler.propose(observations, dimensions: dimensions, count: fresh, rng: &rng) {
                points.append(point)
                losses.append(Array(repeating: nil, count: rungs))
                items.append(Item(trial: points.count - 1, rung: 0, budget: budget(rung: 0), point: point))
            }
        }
        pending = items
        return items
    }

    /// Reports an item's loss (lower better; +∞ for a failure).
    public mutating func report(_ item: Item, loss: Double) {
        precondition(pending.contains(item), "trial \(item.trial) rung \(item.rung) was not handed out")
        losses[item.trial][item.rung] = loss.isNaN ? .infinity : loss
        pending.removeAll { $0 == item }
    }

    /// The best trial at the highest rung any trial reached: its index and loss.
    public var best: (trial: Int, rung: Int, loss: Double)? {
        for rung in stride(from: rungs - 1, through: 0, by: -1) {
            let done = losses.indices.compactMap { t in losses[t][rung].map { (t, $0) } }.filter { $0.1.isFinite }
            if let b = done.min(by: { ($0.1, $0.0) < ($1.1, $1.0) }) { return (b.0, rung, b.1) }
        }
        return nil
    }
}
