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
}
