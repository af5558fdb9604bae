@testable import QuorumResearch
import Testing

/// The points a chart keeps of a long series (the dashboard's equity and drawdown, report.html's charts).
@Suite("Chart sampling")
struct ChartSamplingTests {
    @Test("a long series keeps about `limit` points, its first and last, and every peak and trough")
    func keepsExtremes() {
        // 100,000 points of a slow wave with one spike up and one down between regular sample positions.
        var values = (0..<100_000).map { Double($0 % 1000) }
        values[12_345] = 5_000
        values[67_891] = -5_000
        let kept = ReportHTML.sample(values, limit: 1200)
        #expect(kept.count <= 1202 && kept.count >= 1000)
        #expect(kept.first == 0 && kept.last == values.last)
        #expect(kept.max() == 5_000 && kept.min() == -5_000)
        // The order of the series is kept: the spike up comes before the spike down.
        #expect(kept.firstIndex(of: 5_000)! < kept.firstIndex(of: -5_000)!)
        #expect(ReportHTML.sample([1, 2, 3], limit: 1200) == [1, 2, 3])
    }
}
