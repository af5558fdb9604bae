import Foundation
import QuorumAnalytics
@testable import QuorumML
import Testing

@Suite("Hyperparameter search")
struct TuningTests {
    @Test("a search space maps the unit cube to values: log scales, whole numbers, choices; bad spaces are refused before anything runs")
    func space() throws {
        let space = SearchSpace(family: .gbdt, names: ["learning_rate", "max_leaves", "row_subsample"],
                                dimensions: [.range(low: 0.01, high: 1, log: true, integer: false), .range(low: 4, high: 64, log: false, integer: true),
                                             .choice([0.5, 0.8, 1])], fixed: ["rounds": 50])
        try space.validate()
        let v = space.values([0.5, 0.5, 0.5])
        #expect(abs(v["learning_rate"]! - 0.1) < 1e-12 && v["max_leaves"] == 34 && v["row_subsample"] == 0.8 && v["rounds"] == 50)
        guard case .gbdt(let corner) = try space.hyperparameters([0, 0.999, 0.999]) else { Issue.record("not gbdt"); return }
        #expect(abs(corner.learningRate - 0.01) < 1e-15 && corner.maxLeaves == 64 && corner.rowSubsample == 1 && corner.rounds == 50)
        func error(_ s: SearchSpace) -> String {
            do { try s.validate(); return "valid" } catch { return error.message }
        }
        #expect(error(SearchSpace(family: .gbdt, names: [], dimensions: [])).contains("the search space is empty"))
        #expect(error(SearchSpace(family: .gbdt, names: ["l2"], dimensions: [.range(low: 1, high: 1, log: false, integer: false)])).contains("empty"))
        #expect(error(SearchSpace(family: .gbdt, names: ["l2"], dimensions: [.range(low: 0, high: 1, log: true, integer: false)])).contains("min > 0"))
        #expect(error(SearchSpace(family: .gbdt, names: ["max_leafs"], dimensions: [.choice([8])])).contains("did you mean \"max_leaves\""))
    }

    /// Sequential search of a smooth bowl with a minimum at (0.3, 0.7): the best loss after `n` trials.
    static func search(_ sampler: TPESampler, n: Int, seed: UInt64) -> Double {
        var rng = Xoshiro256StarStar(seed: seed)
        var results: [(point: [Double], loss: Double)] = []
        for _ in 0..<n {
            let x = sampler.propose(results, dimensions: 2, count: 1, rng: &rng)[0]
            results.append((x, pow(x[0] - 0.3, 2) + pow(x[1] - 0.7, 2)))
        }
        return results.map(\.loss).min()!
    }

    @Test("TPE finds a bowl's minimum closer than uniform sampling with the same number of trials")
    func tpeBeatsRandom() {
        var tpe = 0.0, random = 0.0
        for seed in 1...10 as ClosedRange<UInt64> {
            tpe += log(Self.search(TPESampler(startup: 8), n: 60, seed: seed))
            random += log(Self.search(TPESampler(startup: 1_000), n: 60, seed: seed))
        }
        #expect(tpe < random - 10, "mean log best loss: TPE \(tpe / 10), uniform \(random / 10)")
    }

    @Test("successive halving: rungs of budget 1/9, 1/3, 1; a trial goes up when in the best third so far, so the final best third always has; the same trials whatever order a generation reports in")
    func halving() {
        func run(reversed: Bool) -> (SuccessiveHalving, [SuccessiveHalving.Item]) {
            var search = SuccessiveHalving(dimensions: 2, trials: 27, eta: 3, rungs: 3, generationSize: 9, seed: 5)
            var all: [SuccessiveHalving.Item] = []
            while true {
                let items = search.nextGeneration()
                if items.isEmpty { break }
                all += items
                for item in reversed ? items.reversed() : items {
                    // Loss falls with the budget; the bowl decides the order within a rung.
                    search.report(item, loss: pow(item.point[0] - 0.3, 2) + pow(item.point[1] - 0.7, 2) + 1 / item.budget)
                }
            }
            return (search, all)
        }
        let (search, items) = run(reversed: false)
        #expect(search.points.count == 27)
        #expect(search.budget(rung: 0) == 1.0 / 9 && search.budget(rung: 2) == 1)
        let up = items.filter { $0.rung == 1 }.count, top = items.filter { $0.rung == 2 }.count
        #expect((9...12).contains(up) && (3...5).contains(top), "\(up) to rung 1, \(top) to rung 2")
        // Rung 0's final best third all went up (early promotions may add a few that later fell behind).
        let rung0 = search.losses.indices.map { ($0, search.losses[$0][0]!) }.sorted { $0.1 < $1.1 }
        #expect(Set(rung0.prefix(9).map(\.0)).isSubset(of: Set(items.filter { $0.rung == 1 }.map(\.trial))))
        #expect(search.best?.rung == 2)
        let (again, itemsAgain) = run(reversed: true)
        #expect(itemsAgain == items && again.points == search.points)
    }
}
