import Metrics
import Prometheus
import Synchronization

/// The service's metrics: a Prometheus registry, a swift-metrics factory writing into it, and the standard gauges
/// every service exports (`quorum_service_up`, `quorum_service_ready`, `quorum_build_info`).
///
/// One instance per process is bootstrapped globally with ``bootstrap(service:version:)`` so that libraries using
/// the swift-metrics API (`Counter(label:)`) report into it. Tests create their own instance with
/// ``init(service:version:)`` and use ``counter(_:dimensions:)`` etc., which write to this instance's registry
/// without touching the global `MetricsSystem`.
///
/// Names follow `quorum_<stage>_<thing>_<unit>` (see ``name(stage:thing:unit:)``), e.g.
/// `quorum_risk_orders_denied_total`; every family is declared in ``MetricCatalog`` (HELP text, labels, buckets) and
/// created through ``counter(_:_:)``, ``gauge(_:_:)`` and ``histogram(_:_:)``.
public final class QuorumMetrics: Sendable {
    /// The Prometheus registry that `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory writing into ``registry`` with the HELP text and buckets of ``MetricCatalog``.
    public let factory: CatalogMetricsFactory
    /// The service name put on the standard gauges.
    public let service: String

    private let up: Prometheus.Gauge
    private let ready: Prometheus.Gauge

    /// A fresh registry with the standard metrics: `quorum_service_up` = 1, `quorum_service_ready` = 0,
    /// `quorum_build_info{service,version}` = 1.
    public init(service: String, version: String = QuorumMetrics.buildVersion) {
        self.service = service
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        factory = CatalogMetricsFactory(registry: registry)
        let gauge = { (d: MetricDefinition, labels: [(String, String)]) -> Prometheus.Gauge in
            registry.makeGauge(descriptor: QuorumMetrics.descriptor(d.name, help: d.help), labels: labels)
        }
        up = gauge(MetricCatalog.serviceUp, [("service", service)])
        ready = gauge(MetricCatalog.serviceReady, [("service", service)])
        gauge(MetricCatalog.buildInfo, [("service", service), ("version", version)]).set(to: 1)
        up.set(to: 1)
        ready.set(to: 0)
    }

    /// A descriptor naming the whole family in `metricName` (catalogued names are complete already).
    static func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// The default version label of `quorum_build_info` (executables pass their own).
    public static let buildVersion = "dev"

    /// Sets `quorum_service_ready`.
    public func setReady(_ isReady: Bool) { ready.set(to: isReady ? 1 : 0) }

    /// Sets `quorum_service_up` (0 while shutting down).
    public func setUp(_ isUp: Bool) { up.set(to: isUp ? 1 : 0) }

    /// The Prometheus text exposition of every metric in ``registry``.
    public func render() -> String { registry.emitToString() }

    // MARK: swift-metrics handles bound to this instance (work with or without the global bootstrap)

    /// A swift-metrics counter writing into this instance's registry.
    public func counter(_ name: String, dimensions: [(String, String)] = []) -> Metrics.Counter {
        Metrics.Counter(label: name, dimensions: dimensions, factory: factory)
    }

    /// A swift-metrics gauge writing into this instance's registry.
    public func gauge(_ name: String, dimensions: [(String, String)] = []) -> Metrics.Gauge {
        Metrics.Gauge(label: name, dimensions: dimensions, factory: factory)
    }

    /// A swift-metrics timer (a Prometheus duration histogram) writing into this instance's registry.
    public func timer(_ name: String, dimensions: [(String, String)] = []) -> Metrics.Timer {
        Metrics.Timer(label: name, dimensions: dimensions, factory: factory)
    }

    /// A swift-metrics recorder (a Prometheus value histogram) writing into this instance's registry.
    public func recorder(_ name: String, dimensions: [(String, String)] = []) -> Metrics.Recorder {
        Metrics.Recorder(label: name, dimensions: dimensions, aggregate: true, factory: factory)
    }

    // MARK: Catalogued metrics (the way services create theirs)

    /// The counter `definition` with these label values (in the order of `definition.labels`).
    public func counter(_ definition: MetricDefinition, _ values: String...) -> Metrics.Counter {
        counter(definition.name, dimensions: labels(definition, .counter, values))
    }

    /// The gauge `definition` with these label values.
    public func gauge(_ definition: MetricDefinition, _ values: String...) -> Metrics.Gauge {
        gauge(definition.name, dimensions: labels(definition, .gauge, values))
    }

    /// The histogram `definition` (seconds) with these label values; record durations with `recordNanoseconds`.
    public func histogram(_ definition: MetricDefinition, _ values: String...) -> Metrics.Timer {
        timer(definition.name, dimensions: labels(definition, .histogram, values))
    }

    private func labels(_ d: MetricDefinition, _ kind: MetricKind, _ values: [String]) -> [(String, String)] {
        precondition(d.kind == kind, "metric \(d.name) is a \(d.kind.rawValue), not a \(kind.rawValue)")
        precondition(values.count == d.labels.count, "metric \(d.name) takes the labels \(d.labels), given \(values.count) values")
        return Array(zip(d.labels, values))
    }

    /// Builds a metric name `quorum_<stage>_<thing>_<unit>`: `name(stage: "risk", thing: "orders_denied",
    /// unit: "total")` → `quorum_risk_orders_denied_total`. Parts must be lower-case snake case.
    public static func name(stage: String, thing: String, unit: String) -> String {
        for part in [stage, thing, unit] {
            precondition(!part.isEmpty && part.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" },
                         "metric name part '\(part)' must be lower-case snake case")
        }
        return "quorum_\(stage)_\(thing)_\(unit)"
    }

    // MARK: Process-wide bootstrap

    private static let global = Mutex<QuorumMetrics?>(nil)

    /// Bootstraps `MetricsSystem` once per process with this kit's Prometheus factory and returns the instance.
    /// Later calls return the first instance (whatever `service` they pass), so tests may call it freely.
    public static func bootstrap(service: String, version: String = QuorumMetrics.buildVersion) -> QuorumMetrics {
        global.withLock { current in
            if let current { return current }
            let metrics = QuorumMetrics(service: service, version: version)
            MetricsSystem.bootstrap(metrics.factory)
            current = metrics
            return metrics
        }
    }

    /// The globally bootstrapped instance, if ``bootstrap(service:version:)`` ran.
    public static var bootstrapped: QuorumMetrics? { global.withLock { $0 } }
}


/// A swift-metrics factory over a Prometheus registry that gives each family the HELP text and histogram buckets of its
/// ``MetricCatalog`` entry (swift-prometheus' own factory registers every family without HELP). Names not in the catalog
/// are registered without HELP, so a metric of a library still works; the cluster test lists them.
public struct CatalogMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    /// Does the destroying (unregistering) exactly as swift-prometheus does.
    private let prometheus: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        prometheus = PrometheusMetricsFactory(registry: registry)
    }

    /// The family `label` with its catalogued HELP text (none for a name outside the catalog).
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        QuorumMetrics.descriptor(label, help: MetricCatalog.definition(named: label)?.help ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = MetricCatalog.definition(named: label)?.buckets ?? MetricCatalog.latencyBuckets
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let seconds = MetricCatalog.definition(named: label)?.buckets ?? MetricCatalog.latencyBuckets
        let buckets = seconds.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) { prometheus.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { prometheus.destroyFloatingPointCounter(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { prometheus.destroyRecorder(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { prometheus.destroyTimer(handler) }
}
