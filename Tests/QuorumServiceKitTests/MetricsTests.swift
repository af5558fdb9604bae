import Testing
import QuorumServiceKit

@Suite("Metrics")
struct MetricsTests {
    @Test("metric names follow quorum_<stage>_<thing>_<unit>")
    func names() {
        #expect(QuorumMetrics.name(stage: "risk", thing: "orders_denied", unit: "total") == "quorum_risk_orders_denied_total")
    }

    @Test("standard metrics and a counter appear in the Prometheus text")
    func standardMetrics() {
        let metrics = QuorumMetrics(service: "quorum-test", version: "1.2.3")
        let counter = metrics.counter(QuorumMetrics.name(stage: "test", thing: "events", unit: "total"), dimensions: [("topic", "t1")])
        counter.increment(by: 3)
        metrics.setReady(true)
        let text = metrics.render()
        #expect(text.contains(#"quorum_service_up{service="quorum-test"} 1"#))
        #expect(text.contains(#"quorum_service_ready{service="quorum-test"} 1"#))
        #expect(text.contains(#"quorum_build_info{service="quorum-test",version="1.2.3"} 1"#))
        #expect(text.contains(#"quorum_test_events_total{topic="t1"} 3"#))
    }

    @Test("two instances do not share values")
    func separateRegistries() {
        let first = QuorumMetrics(service: "a")
        let second = QuorumMetrics(service: "b")
        first.counter("quorum_test_only_first_total").increment()
        #expect(first.render().contains("quorum_test_only_first_total 1"))
        #expect(!second.render().contains("quorum_test_only_first_total"))
    }
}
