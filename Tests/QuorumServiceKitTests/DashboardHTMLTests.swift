import QuorumServices
import Testing

@Suite("Dashboard HTML")
struct DashboardHTMLTests {
    @Test("today's PnL starts from the curve's last point at or before the latest UTC midnight")
    func dayStart() {
        let hour: Int64 = 3_600 * 1_000_000_000
        let midnight: Int64 = 18_000 * 24 * hour  // a UTC midnight
        let times = [midnight - 2 * hour, midnight - hour, midnight, midnight + hour, midnight + 5 * hour]
        #expect(DashboardHTML.dayStartEquity(times: times, equity: [1, 2, 3, 4, 5]) == 3)
        #expect(DashboardHTML.dayStartEquity(times: Array(times.prefix(2)) + [midnight + hour], equity: [1, 2, 4]) == 2)
        #expect(DashboardHTML.dayStartEquity(times: [midnight + hour], equity: [4]) == nil)
        #expect(DashboardHTML.dayStartEquity(times: [], equity: []) == nil)
    }

    @Test("drawdown from the peak of the equity curve, also when the rules' peak (bars ahead of fills) is lower")
    func drawdown() {
        #expect(abs(DashboardHTML.drawdownFromPeak(equity: 114_720, rulesPeak: 114_720, curve: [100_000, 137_600, 120_000, 114_720]) - (114_720 / 137_600 - 1)) < 1e-12)
        #expect(DashboardHTML.drawdownFromPeak(equity: 110, rulesPeak: 100, curve: []) == 0)
        #expect(abs(DashboardHTML.drawdownFromPeak(equity: 90, rulesPeak: 100, curve: []) + 0.1) < 1e-12)
        #expect(DashboardHTML.drawdownFromPeak(equity: 0, rulesPeak: 0, curve: []) == 0)
    }
}
