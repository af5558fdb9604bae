import Foundation
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

@Suite("Metric catalog")
struct MetricCatalogTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("every catalogued name follows Prometheus conventions: quorum_ prefix, _total counters, base units, HELP, snake-case labels")
    func conventions() {
        #expect(Set(MetricCatalog.all.map(\.name)).count == MetricCatalog.all.count, "a name is catalogued twice")
        for d in MetricCatalog.all {
            #expect(d.name.hasPrefix("quorum_"), "\(d.name)")
            #expect(!d.help.isEmpty, "\(d.name) has no HELP text")
            switch d.kind {
            case .counter: #expect(d.name.hasSuffix("_total"), "counter \(d.name) must end in _total")
            case .histogram:
                #expect(d.name.hasSuffix("_seconds"), "histogram \(d.name) must be in seconds")
                #expect(!d.buckets.isEmpty && d.buckets == d.buckets.sorted(), "\(d.name) buckets")
            case .gauge:
                #expect(!d.name.hasSuffix("_total") && !d.name.hasSuffix("_count") && !d.name.hasSuffix("_milliseconds"), "\(d.name)")
            }
            for label in d.labels { #expect(label.allSatisfy { $0.isLowercase || $0 == "_" }, "\(d.name) label \(label)") }
        }
    }

    @Test("catalogued families get their HELP text and TYPE, through the typed and the string API alike; histograms their buckets")
    func helpAndType() {
        let metrics = QuorumMetrics(service: "quorum-test")
        metrics.counter(MetricCatalog.riskDenied, "BUYING_POWER").increment(by: 2)
        metrics.counter(MetricCatalog.riskDenied.name, dimensions: [("reason", "KILL_SWITCH")]).increment()
        metrics.histogram(MetricCatalog.stageBatchDuration, "quorum-test").recordNanoseconds(3_000_000)
        metrics.gauge(MetricCatalog.executionEquity).record(1234.5)
        let text = metrics.render()
        #expect(text.contains("# HELP quorum_risk_orders_denied_total \(MetricCatalog.riskDenied.help)"))
        #expect(text.contains("# TYPE quorum_risk_orders_denied_total counter"))
        #expect(text.contains(#"quorum_risk_orders_denied_total{reason="BUYING_POWER"} 2"#))
        #expect(text.contains(#"quorum_risk_orders_denied_total{reason="KILL_SWITCH"} 1"#))
        #expect(text.contains("# TYPE quorum_stage_batch_duration_seconds histogram"))
        #expect(text.contains(#"quorum_stage_batch_duration_seconds_bucket{stage="quorum-test",le="0.0025"} 0"#))
        #expect(text.contains(#"quorum_stage_batch_duration_seconds_bucket{stage="quorum-test",le="0.005"} 1"#))
        #expect(text.contains("# HELP quorum_execution_equity_usd "))
        #expect(text.contains("quorum_execution_equity_usd 1234.5"))
        for standard in ["quorum_service_up", "quorum_service_ready", "quorum_build_info"] {
            #expect(text.contains("# HELP \(standard) "), "\(standard) has no HELP")
        }
    }

    @Test("docs/metrics.md holds the catalog's table, exactly")
    func documented() throws {
        let doc = try String(contentsOfFile: "\(Self.repository)/docs/metrics.md", encoding: .utf8)
        #expect(doc.contains(MetricCatalog.markdownTable()),
                "docs/metrics.md's table of service metrics differs from MetricCatalog; it should read:\n\(MetricCatalog.markdownTable())")
    }
}
