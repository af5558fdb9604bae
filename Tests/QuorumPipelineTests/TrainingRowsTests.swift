import QuorumFeatures
import QuorumModel
import QuorumPipeline
import Testing

@Suite("Training rows")
struct TrainingRowsTests {
    @Test("training rows are the features stage's warm vectors, bit for bit, also for a cross-asset spec (both symbols' bars, any order)")
    func sameAsServed() throws {
        let spec = try FeatureSpec.parse("""
            {"name": "cross", "features": [{"kind": "rsi"}, {"kind": "log_return", "symbol": "AAA-USD"},
              {"kind": "return_correl", "period": 20, "with": "AAA-USD"}]}
            """, file: "test")
        let leader = Fixtures.bars(symbol: "AAA-USD", count: 400, seed: 1)
        let follower = Fixtures.bars(symbol: "BBB-USD", count: 400, seed: 2)
        // The stage's vectors, the bars interleaved as they might arrive (the follower first at each time).
        var core = FeaturesCore(spec: spec)
        var served: [Nanos: [UInt64]] = [:]
        for bar in zip(follower, leader).flatMap({ [$0, $1] }) {
            for case .publish(let v) in try core.handle(bar) where v.symbol == "BBB-USD" && v.isWarm {
                served[v.barCloseTime] = v.values.map(\.bitPattern)
            }
        }
        let rows = try TrainingRows.rows(bars: leader + follower, symbol: "BBB-USD", spec: spec)
        #expect(rows.count == served.count && rows.count > 350)
        #expect(rows.allSatisfy { served[$0.time] == $0.features.map(\.bitPattern) })
        // Without the leader's bars the cross-asset values are missing: no warm row at all.
        #expect(try TrainingRows.rows(bars: follower, symbol: "BBB-USD", spec: spec).isEmpty)
    }
}
