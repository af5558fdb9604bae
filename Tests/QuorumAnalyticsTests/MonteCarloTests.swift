import Foundation
import Testing
@testable import QuorumAnalytics

struct PRNGFixture: Decodable {
    struct Bounded: Decodable {
        var bounds: [String]
        var values: [String]
    }

    struct MonteCarloCase: Decodable {
        struct Result: Decodable {
            struct Point: Decodable {
                var step: Int
                var band: [Double]
            }

            var finalReturns: [Double]
            var maxDrawdowns: [Double]
            var sharpes: [Double]
            var finalReturnBand: [Double]
            var maxDrawdownBand: [Double]
            var sharpeBand: [Double]
            var probabilityOfLoss: Double
            var fan: [Point]

            enum CodingKeys: String, CodingKey {
                case sharpes, fan
                case finalReturns = "final_returns", maxDrawdowns = "max_drawdowns"
                case finalReturnBand = "final_return_band", maxDrawdownBand = "max_drawdown_band", sharpeBand = "sharpe_band"
                case probabilityOfLoss = "probability_of_loss"
            }
        }

        var returns: [Double]?
        var pnl: [Double]?
        var startingEquity: Double?
        var blockLength: Int?
        var paths: Int
        var seed: UInt64
        var periodsPerYear: Double
        var fanPoints: Int
        var expected: Result

        enum CodingKeys: String, CodingKey {
            case returns, pnl, paths, seed, expected
            case startingEquity = "starting_equity", blockLength = "block_length"
            case periodsPerYear = "periods_per_year", fanPoints = "fan_points"
        }
    }

    struct MonteCarloCases: Decodable {
        var bootstrap: MonteCarloCase
        var shuffle: MonteCarloCase
    }

    var splitmix: String
    var stream0: [String]
    var stream1: [String]
    var bounded: Bounded
    var units: [Double]
    var shuffle: [Int]
    var blockBootstrap: [Int]
    var monteCarlo: MonteCarloCases

    enum CodingKeys: String, CodingKey {
        case splitmix = "splitmix64_seed0_first"
        case stream0 = "xoshiro_seed42_stream0", stream1 = "xoshiro_seed42_stream1"
        case bounded = "bounded_seed7_stream3", units = "unit_seed7_stream4"
        case shuffle = "shuffle10_seed2024_stream5", blockBootstrap = "block_bootstrap_n10_len3_seed2024_stream6"
        case monteCarlo = "monte_carlo"
    }
}

@Suite("Seeded generators: the documented algorithms, equal to an independent Python port")
struct RandomTests {
    @Test("SplitMix64's published first output, and xoshiro256** streams as the Python port draws them")
    func rawOutputs() throws {
        let f = try Fixtures.load("prng.json", as: PRNGFixture.self)
        var splitmix = SplitMix64(state: 0)
        #expect(splitmix.next() == 0xE220_A839_7B1D_CDAF)
        #expect(UInt64(f.splitmix) == 0xE220_A839_7B1D_CDAF)
        var s0 = Xoshiro256StarStar(seed: 42, stream: 0)
        #expect(f.stream0.map { UInt64($0)! } == (0..<f.stream0.count).map { _ in s0.next() })
        var s1 = Xoshiro256StarStar(seed: 42, stream: 1)
        #expect(f.stream1.map { UInt64($0)! } == (0..<f.stream1.count).map { _ in s1.next() })
    }

    @Test("bounded integers, unit doubles, a shuffle and a block bootstrap equal the Python port")
    func derivedDraws() throws {
        let f = try Fixtures.load("prng.json", as: PRNGFixture.self)
        var g = Xoshiro256StarStar(seed: 7, stream: 3)
        #expect(f.bounded.bounds.map { g.bounded(UInt64($0)!) } == f.bounded.values.map { UInt64($0)! })
        var u = Xoshiro256StarStar(seed: 7, stream: 4)
        #expect((0..<3).map { _ in u.unit() } == f.units)
        var s = Xoshiro256StarStar(seed: 2024, stream: 5)
        var values = Array(0..<10)
        MonteCarlo.shuffle(&values, using: &s)
        #expect(values == f.shuffle)
        var b = Xoshiro256StarStar(seed: 2024, stream: 6)
        #expect(MonteCarlo.blockBootstrapIndices(count: 10, blockLength: 3, using: &b) == f.blockBootstrap)
    }

    @Test("bounded draws stay in range and cover it; unit draws lie in [0, 1)")
    func ranges() {
        var g = Xoshiro256StarStar(seed: 1)
        var seen = Set<UInt64>()
        for _ in 0..<2_000 {
            let v = g.bounded(7)
            #expect(v < 7)
            seen.insert(v)
            let u = g.unit()
            #expect(u >= 0 && u < 1)
        }
        #expect(seen.count == 7)
    }
}

@Suite("Monte Carlo: trade-order shuffle and block bootstrap")
struct MonteCarloTests {
    func checkAgainstFixture(_ result: MonteCarloResult, _ expected: PRNGFixture.MonteCarloCase.Result, _ name: String) {
        expectAgrees(result.finalReturns, expected.finalReturns, "\(name) final returns")
        expectAgrees(result.maxDrawdowns, expected.maxDrawdowns, "\(name) max drawdowns")
        expectAgrees(result.sharpes, expected.sharpes, "\(name) Sharpe ratios")
        expectAgrees(result.finalReturn.values, expected.finalReturnBand, "\(name) final return band")
        expectAgrees(result.maxDrawdown.values, expected.maxDrawdownBand, "\(name) max drawdown band")
        expectAgrees(result.sharpe.values, expected.sharpeBand, "\(name) Sharpe band")
        #expect(result.probabilityOfLoss == expected.probabilityOfLoss)
        #expect(result.fan.map(\.step) == expected.fan.map(\.step))
        for (point, e) in zip(result.fan, expected.fan) {
            expectAgrees(point.equity.values, e.band, "\(name) fan at step \(point.step)")
        }
    }

    @Test("block bootstrap: per-path metrics (empyrical), percentiles (numpy) and fan equal the Python port")
    func bootstrapFixture() throws {
        let c = try Fixtures.load("prng.json", as: PRNGFixture.self).monteCarlo.bootstrap
        let result = MonteCarlo.bootstrapReturns(try #require(c.returns), blockLength: try #require(c.blockLength), paths: c.paths,
                                                 seed: c.seed, periodsPerYear: c.periodsPerYear, fanPoints: c.fanPoints)
        #expect(result.paths == c.paths && result.seed == c.seed)
        checkAgainstFixture(result, c.expected, "bootstrap")
    }

    @Test("trade shuffle: per-path metrics, percentiles and fan equal the Python port")
    func shuffleFixture() throws {
        let c = try Fixtures.load("prng.json", as: PRNGFixture.self).monteCarlo.shuffle
        let result = MonteCarlo.shuffleTrades(pnl: try #require(c.pnl), startingEquity: try #require(c.startingEquity),
                                              paths: c.paths, seed: c.seed, periodsPerYear: c.periodsPerYear, fanPoints: c.fanPoints)
        checkAgainstFixture(result, c.expected, "shuffle")
    }

    let returns: [Double] = {
        var rng = Xoshiro256StarStar(seed: 99)
        return (0..<365).map { _ in 0.0008 + 0.03 * (rng.unit() - 0.5) }
    }()

    @Test("the same seed gives identical results, another seed different ones (default 1,000 paths)")
    func determinism() {
        let a = MonteCarlo.bootstrapReturns(returns, blockLength: 5, seed: 7, periodsPerYear: 365)
        let b = MonteCarlo.bootstrapReturns(returns, blockLength: 5, seed: 7, periodsPerYear: 365)
        let c = MonteCarlo.bootstrapReturns(returns, blockLength: 5, seed: 8, periodsPerYear: 365)
        #expect(a.paths == MonteCarlo.defaultPaths)
        #expect(a == b)
        #expect(a.finalReturns != c.finalReturns)
        #expect(a.finalReturn != c.finalReturn)
        let pnl = returns.map { $0 * 1_000 }
        let s1 = MonteCarlo.shuffleTrades(pnl: pnl, startingEquity: 10_000, paths: 200, seed: 1)
        let s2 = MonteCarlo.shuffleTrades(pnl: pnl, startingEquity: 10_000, paths: 200, seed: 1)
        let s3 = MonteCarlo.shuffleTrades(pnl: pnl, startingEquity: 10_000, paths: 200, seed: 2)
        #expect(s1 == s2)
        #expect(s1.maxDrawdowns != s3.maxDrawdowns)
    }

    @Test("shuffling additive trade PnL keeps the final return on every path; drawdowns vary")
    func shuffleKeepsFinalReturn() {
        let pnl = returns.map { $0 * 1_000 }
        let result = MonteCarlo.shuffleTrades(pnl: pnl, startingEquity: 10_000, paths: 300, seed: 42, periodsPerYear: 365)
        let expected = pnl.reduce(0, +) / 10_000
        #expect(result.finalReturns.allSatisfy { abs($0 - expected) <= 1e-12 })
        #expect(Set(result.maxDrawdowns).count > 100)
        #expect(result.probabilityOfLoss == (expected < 0 ? 1 : 0))
        #expect(result.fan.first!.equity.values.allSatisfy { $0 == 10_000 })
        #expect(result.fan.last!.equity.values.allSatisfy { abs($0 - 10_000 * (1 + expected)) <= 1e-8 })
    }

    @Test("bootstrap sanity: ordered bands, fan from 1 to 1 + final return, drawdowns ≤ 0, no loss on gains only")
    func bootstrapSanity() {
        let result = MonteCarlo.bootstrapReturns(returns, blockLength: 10, paths: 400, seed: 3, periodsPerYear: 365, fanPoints: 11)
        #expect(result.fan.map(\.step) == [0, 37, 73, 110, 146, 183, 219, 256, 292, 329, 365])
        for band in [result.finalReturn, result.maxDrawdown, result.sharpe] + result.fan.map(\.equity) {
            #expect(band.p5 <= band.p25 && band.p25 <= band.p50 && band.p50 <= band.p75 && band.p75 <= band.p95)
        }
        #expect(result.fan[0].equity.values.allSatisfy { $0 == 1 })
        expectAgrees(result.fan.last!.equity.values, result.finalReturn.values.map { $0 + 1 }, "last fan point")
        #expect(result.maxDrawdowns.allSatisfy { $0 <= 0 })
        #expect(result.probabilityOfLoss > 0 && result.probabilityOfLoss < 1)
        let gains = MonteCarlo.bootstrapReturns(returns.map { abs($0) + 0.001 }, paths: 50, seed: 3, periodsPerYear: 365)
        #expect(gains.probabilityOfLoss == 0 && gains.maxDrawdowns.allSatisfy { $0 == 0 })
    }

    @Test("a block as long as the series with one return repeated gives that one path everywhere")
    func degenerate() {
        let flat = [Double](repeating: 0.01, count: 20)
        let result = MonteCarlo.bootstrapReturns(flat, blockLength: 20, paths: 30, seed: 9, periodsPerYear: 365)
        #expect(Set(result.finalReturns).count == 1)
        #expect(agrees(result.finalReturn.p50, pow(1.01, 20) - 1))
        #expect(result.sharpe.p50 == .infinity) // zero dispersion, positive mean (empyrical)
    }

    @Test("a trade path that loses all its equity has a NaN Sharpe, left out of the band")
    func ruin() {
        // equity goes below 0 only when both −600 come before +300 (a third of the orders)
        let result = MonteCarlo.shuffleTrades(pnl: [-600, -600, 300, 50], startingEquity: 1_000, paths: 40, seed: 4)
        let ruined = result.sharpes.indices.filter { result.sharpes[$0].isNaN }
        #expect(!ruined.isEmpty && ruined.count < 40)
        #expect(ruined.allSatisfy { result.maxDrawdowns[$0] < -1 })
        #expect(result.finalReturns.allSatisfy { agrees($0, -0.85) })
        #expect(result.probabilityOfLoss == 1)
        #expect(result.sharpe.values.allSatisfy { $0.isFinite })
    }

    @Test("fan steps: every step when there are few, else evenly spaced with both ends")
    func fanSteps() {
        #expect(MonteCarlo.fanSteps(count: 3, points: 10) == [0, 1, 2, 3])
        #expect(MonteCarlo.fanSteps(count: 10, points: 4) == [0, 3, 7, 10])
        #expect(MonteCarlo.fanSteps(count: 1_000, points: 101).count == 101)
        #expect(MonteCarlo.fanSteps(count: 1_000, points: 101).last == 1_000)
    }
}
