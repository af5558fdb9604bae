import Foundation
import Testing
@testable import QuorumAnalytics

struct PBOFixture: Decodable {
    struct Case: Decodable {
        struct Result: Decodable {
            var pbo: Double
            var logits: [Double]
            var inSample: [Double]
            var outOfSample: [Double]
            var selected: [Int]
            var probabilityOfOOSLoss: Double

            enum CodingKeys: String, CodingKey {
                case pbo, logits, selected
                case inSample = "in_sample", outOfSample = "out_of_sample"
                case probabilityOfOOSLoss = "probability_of_oos_loss"
            }
        }

        var name: String
        var blocks: Int
        var returns: [[Double]]
        var expected: Result
    }

    var cases: [Case]
}

@Suite("Probability of backtest overfitting by CSCV")
struct BacktestOverfittingTests {
    func check(_ result: CSCVResult, _ expected: PBOFixture.Case.Result, _ name: String) {
        #expect(result.probabilityOfOverfitting == expected.pbo, "\(name): PBO")
        #expect(result.probabilityOfOutOfSampleLoss == expected.probabilityOfOOSLoss, "\(name): P(OOS loss)")
        #expect(result.selected == expected.selected, "\(name): in-sample winners")
        expectAgrees(result.logits, expected.logits, "\(name) logits")
        expectAgrees(result.inSample, expected.inSample, "\(name) in-sample Sharpe")
        expectAgrees(result.outOfSample, expected.outOfSample, "\(name) out-of-sample Sharpe")
    }

    @Test("block moments and the generic path both equal an independent brute-force CSCV (noise: PBO high; skill: PBO 0)")
    func againstBruteForce() throws {
        let fixture = try Fixtures.load("pbo.json", as: PBOFixture.self)
        #expect(fixture.cases.map(\.name) == ["noise", "one_skilled"])
        for c in fixture.cases {
            check(BacktestOverfitting.cscv(returns: c.returns, blocks: c.blocks), c.expected, c.name)
            let generic = BacktestOverfitting.cscv(returns: c.returns, blocks: c.blocks) {
                Statistics.mean($0) / Statistics.standardDeviation($0, ddof: 1)
            }
            check(generic, c.expected, c.name + " (generic)")
        }
        let noise = try #require(fixture.cases.first)
        #expect(noise.expected.logits.count == 70) // C(8, 4)
        #expect(fixture.cases[1].expected.pbo == 0 && fixture.cases[1].expected.selected.allSatisfy { $0 == 2 })
    }

    @Test("two candidates that swap places between the halves: the in-sample winner always loses out of sample, PBO 1")
    func alwaysOverfit() {
        let up = [0.01, 0.02, 0.01, 0.03], down = [-0.01, -0.02, -0.01, -0.03]
        let result = BacktestOverfitting.cscv(returns: [up + down, down + up], blocks: 2)
        #expect(result.combinations == 2)
        #expect(result.selected == [0, 1])
        #expect(result.probabilityOfOverfitting == 1)
        #expect(result.probabilityOfOutOfSampleLoss == 1)
        // the winner ranks 1 of 2 out of sample: ω = 1/3, λ = ln(1/2)
        expectAgrees(result.logits, [log(0.5), log(0.5)], "logits")
    }

    @Test("a candidate better than the others in every block is always selected and always ranks first: PBO 0")
    func neverOverfit() {
        var rng = Xoshiro256StarStar(seed: 3)
        let noise = (0..<3).map { _ in (0..<64).map { _ in rng.unit() - 0.5 } }
        let best = noise[0].map { $0 + 10 } // same shape, far higher mean: best Sharpe in every subset
        let result = BacktestOverfitting.cscv(returns: noise + [best], blocks: 6)
        #expect(result.combinations == 20)
        #expect(result.selected.allSatisfy { $0 == 3 })
        #expect(result.probabilityOfOverfitting == 0)
        expectAgrees(result.logits, [Double](repeating: log(0.8 / 0.2), count: 20), "logits")
    }

    @Test("combinations are lexicographic; C(16, 8) = 12,870")
    func combinations() {
        #expect(BacktestOverfitting.combinations(of: 4, choose: 2) == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
        #expect(BacktestOverfitting.combinations(of: 16, choose: 8).count == 12_870)
        #expect(BacktestOverfitting.combinations(of: 3, choose: 0) == [[]])
    }

    @Test("blocks are contiguous; the first (periods mod S) are one longer")
    func blocks() {
        #expect(BacktestOverfitting.blockBounds(periods: 10, blocks: 4) == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect(BacktestOverfitting.blockBounds(periods: 8, blocks: 4) == [0..<2, 2..<4, 4..<6, 6..<8])
    }

    @Test("ranks: ties share the average rank; NaN ranks below every number")
    func ranks() {
        #expect(BacktestOverfitting.averageRank(of: 1, in: [3, 1, 2]) == 1)
        #expect(BacktestOverfitting.averageRank(of: 0, in: [2, 1, 2, 5]) == 2.5)
        #expect(BacktestOverfitting.averageRank(of: 2, in: [0, .nan, -7]) == 2)
        #expect(BacktestOverfitting.averageRank(of: 1, in: [0, .nan, -7]) == 1)
    }

    @Test("S = 16 over 20 candidates stays fast enough for a report (12,870 combinations)")
    func sixteenBlocks() {
        var rng = Xoshiro256StarStar(seed: 11)
        let returns = (0..<20).map { _ in (0..<1_600).map { _ in rng.unit() - 0.5 } }
        let result = BacktestOverfitting.cscv(returns: returns, blocks: 16)
        #expect(result.combinations == 12_870)
        #expect(result.probabilityOfOverfitting > 0 && result.probabilityOfOverfitting < 1)
    }
}
