@testable import QuorumPipeline
import Testing

@Suite("Monitor latency series (HdrHistogram)")
struct LatencySeriesTests {
    @Test("percentiles of 1…1000 ms within the histogram's 3 significant digits; empty gives zeros; negatives count as 0")
    func percentiles() {
        var series = LatencySeries()
        #expect(series.percentiles([0.5, 0.99]) == [0, 0] && series.total == 0)
        for ms in (1...1_000).shuffled() { series.add(Int64(ms) * 1_000_000) }
        let p = series.percentiles([0.5, 0.99, 1])
        #expect(series.total == 1_000)
        #expect(abs(p[0] - 500) <= 0.5, "p50 \(p[0])")
        #expect(abs(p[1] - 990) <= 1, "p99 \(p[1])")
        #expect(abs(p[2] - 1_000) <= 1, "max \(p[2])")
        series.add(-5)
        #expect(series.total == 1_001 && series.percentiles([0])[0] == 0)
    }
}
