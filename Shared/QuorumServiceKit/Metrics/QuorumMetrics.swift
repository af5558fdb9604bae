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
/// `quorum_risk_orders_denied_total`, `quorum_features_compute_seconds`.
public final class QuorumMetrics: Sendable {
    /// The Prometheus registry that `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory writing into ``registry``.
    public let factory: PrometheusMetricsFactory
    /// The service name put on the standard gauges.
    public let service: String

    private let up: Prometheus.Gauge
    private let ready: Prometheus.Gauge

    /// A fresh registry with the standard metrics: `quorum_service_up` = 1, `quorum_service_ready` = 0,
    /// `quorum_build_info{service,version}` = 1.
    public init(service: String, version: String = QuorumMetrics.buildVersion) {
        self.service = service
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        up = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "quorum", subsystem: "service", metricName: "up", unitName: "",
                                             helpText: "1 while the service process runs."),
            labels: [("service", service)])
        ready = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "quorum", subsystem: "service", metricName: "ready", unitName: "",
                                             helpText: "1 when every dependency check passes, else 0."),
            labels: [("service", service)])
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "quorum", subsystem: "build", metricName: "info", unitName: "",
                                             helpText: "Always 1; the labels describe the build."),
            labels: [("service", service), ("version", version)]
        ).set(to: 1)
        up.set(to: 1)
        ready.set(to: 0)
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

