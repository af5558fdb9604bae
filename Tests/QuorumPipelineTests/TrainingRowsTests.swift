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

    @Test("quorum train's windows: validation ends at the last bar's close (or until), training before it, cut at the first bar")
    func latestWindow() {
        let day: Nanos = 86_400_000_000_000, hour: Nanos = 3_600_000_000_000
        let first: Nanos = 1_600_000_000 * 1_000_000_000, last = first + 300 * day
        let w = TrainingWindow.latest(firstOpen: first, lastOpen: last, intervalSeconds: 3600, until: nil, train: 240 * day, validation: 40 * day)
        #expect(w == TrainingWindow(trainFrom: last + hour - 280 * day, trainTo: last + hour - 40 * day, validateTo: last + hour))
        let until = TrainingWindow.latest(firstOpen: first, lastOpen: last, intervalSeconds: 3600, until: first + 200 * day,
                                          train: 240 * day, validation: 40 * day)
        #expect(until == TrainingWindow(trainFrom: first, trainTo: first + 160 * day, validateTo: first + 200 * day))
        #expect(TrainingWindow.latest(firstOpen: first, lastOpen: first + 10 * day, intervalSeconds: 3600, until: nil, train: 240 * day,
                                      validation: 40 * day) == nil)
    }
}
