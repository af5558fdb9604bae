/// The kind of a Prometheus metric family.
public enum MetricKind: String, Sendable, Hashable {
    case counter, gauge, histogram
}

/// One metric family a Quorum service exports: name, kind, label names, HELP text and, for histograms, the bucket
/// bounds (in the metric's unit, seconds for latencies).
public struct MetricDefinition: Sendable, Hashable {
    public let name: String
    public let kind: MetricKind
    public let labels: [String]
    public let help: String
    public let buckets: [Double]
    /// Which executables export it (for the documentation table).
    public let exportedBy: String

    init(_ stage: String, _ thing: String, _ unit: String, _ kind: MetricKind, labels: [String] = [], buckets: [Double] = [],
         by exportedBy: String, _ help: String) {
        name = QuorumMetrics.name(stage: stage, thing: thing, unit: unit)
        self.kind = kind
        self.labels = labels
        self.help = help
        self.buckets = buckets
        self.exportedBy = exportedBy
    }

    /// For unit-less names outside the `quorum_<stage>_<thing>_<unit>` pattern: `quorum_build_info` (Prometheus' info
    /// convention), the 0/1 state gauges `quorum_service_up`/`_ready`, and a count of things (`_count` is a histogram's).
    init(name: String, _ kind: MetricKind, labels: [String], by exportedBy: String, _ help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        buckets = []
        self.exportedBy = exportedBy
    }
}

/// Every metric family the services export, in one file (as the topic registry names every topic): the metrics factory
/// takes HELP text and histogram buckets from here, docs/metrics.md's table lists exactly these (a test compares them),
/// and the Grafana dashboards and Prometheus rules may name only what the running services export (a cluster test).
///
/// Conventions (Prometheus): `quorum_<stage>_<thing>_<unit>`, base units (seconds, ratios 0–1), `_total` for counters,
/// money in the account's quote currency (`_usd`: the demo trades X-USD pairs). Label values come from closed sets
/// (stage groups, topics, reasons, statuses, symbols traded), never from message contents.
public enum MetricCatalog {
    /// Latency buckets in seconds: 1 ms to 2 minutes.
    public static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    // MARK: Every service

    public static let serviceUp = MetricDefinition(name: "quorum_service_up", .gauge, labels: ["service"], by: "every service",
                                                   "1 while the service process runs, 0 while it shuts down.")
    public static let serviceReady = MetricDefinition(name: "quorum_service_ready", .gauge, labels: ["service"], by: "every service",
                                                      "1 when every readiness check of the service passes (/health/ready answers 200), else 0.")
    public static let buildInfo = MetricDefinition(name: "quorum_build_info", .gauge, labels: ["service", "version"], by: "every service",
                                                   "Always 1; the labels name the service and its build version.")

    // MARK: Stage host (features, inference, consensus, risk, execution, monitor)

    public static let stageHandled = MetricDefinition(
        "stage", "messages_handled", "total", .counter, labels: ["stage", "topic"], by: "stages",
        "Input records the stage handled, by consumer group (stage) and input topic (dead letters included).")
    public static let stagePublished = MetricDefinition(
        "stage", "messages_published", "total", .counter, labels: ["stage", "topic"], by: "stages",
        "Output records the stage published and the broker acknowledged, by output topic (dead letters included).")
    public static let stageDeadLetters = MetricDefinition(
        "stage", "dead_letters", "total", .counter, labels: ["stage", "topic", "reason"], by: "stages",
        "Input records sent to the dead-letter topic, by input topic and reason (undecodable, invalid).")
    public static let stageBatchDuration = MetricDefinition(
        "stage", "batch_duration", "seconds", .histogram, labels: ["stage"], buckets: latencyBuckets, by: "stages",
        "Wall time from the first record of a batch being handled to its effects persisted, outputs acknowledged and offsets committed.")

    // MARK: Ingest and trainer

    public static let ingestBars = MetricDefinition("ingest", "bars", "total", .counter, by: "quorum-ingest",
                                                    "Valid bars of inbox files archived and published to md.bars.")
    public static let ingestRejectedRows = MetricDefinition("ingest", "rejected_rows", "total", .counter, by: "quorum-ingest",
                                                            "Rows of inbox files rejected (sent to md.bars.dlq with their reason).")
    public static let ingestFailedFiles = MetricDefinition("ingest", "failed_files", "total", .counter, by: "quorum-ingest",
                                                           "Inbox files that could not be used at all (moved to failed/ with a note).")
    public static let trainerJobs = MetricDefinition("trainer", "jobs", "total", .counter, labels: ["outcome"], by: "quorum-trainer",
                                                     "Training jobs finished, by outcome (trained, rejected, failed).")

    // MARK: Risk

    public static let riskApproved = MetricDefinition("risk", "orders_approved", "total", .counter, by: "quorum-risk",
                                                      "Orders risk approved and published to orders.approved (live, not while rebuilding).")
    public static let riskDenied = MetricDefinition("risk", "orders_denied", "total", .counter, labels: ["reason"], by: "quorum-risk",
                                                    "Orders risk denied, by reason code (KILL_SWITCH, PORTFOLIO_HEAT, BUYING_POWER, ...).")
    public static let riskKillSwitch = MetricDefinition("risk", "kill_switch", "active", .gauge, by: "quorum-risk",
                                                        "1 while the manual or daily-loss kill switch is on (only exits are approved), else 0.")

    // MARK: Execution

    public static let executionOrders = MetricDefinition(
        "execution", "orders", "total", .counter, labels: ["status"], by: "quorum-execution",
        "Order states recorded in the ledger, by status (NEW, ACCEPTED, FILLED, CANCELLED, REJECTED); an order passes through several.")
    public static let executionFills = MetricDefinition("execution", "fills", "total", .counter, labels: ["side"], by: "quorum-execution",
                                                        "Fills recorded in the ledger, by side (buy, sell).")
    public static let executionEquity = MetricDefinition("execution", "equity", "usd", .gauge, by: "quorum-execution",
                                                         "Paper account equity: cash plus positions at the latest bar close.")
    public static let executionCash = MetricDefinition("execution", "cash", "usd", .gauge, by: "quorum-execution", "Paper account cash.")
    public static let executionRealizedPnL = MetricDefinition("execution", "realized_pnl", "usd", .gauge, by: "quorum-execution",
                                                              "Realized profit and loss of closed position parts (before fees).")
    public static let executionUnrealizedPnL = MetricDefinition("execution", "unrealized_pnl", "usd", .gauge, by: "quorum-execution",
                                                                "Unrealized profit and loss of open positions at the latest bar close.")
    public static let executionFees = MetricDefinition("execution", "fees", "usd", .gauge, by: "quorum-execution", "Fees paid so far.")
    public static let executionExposure = MetricDefinition("execution", "exposure", "usd", .gauge, by: "quorum-execution",
                                                           "Gross exposure: the sum of |position| × latest close over every symbol.")
    public static let executionOpenPositions = MetricDefinition(name: "quorum_execution_open_positions", .gauge, labels: [], by: "quorum-execution",
                                                                "Symbols with a non-zero position.")
    public static let executionPosition = MetricDefinition("execution", "position", "quantity", .gauge, labels: ["symbol"], by: "quorum-execution",
                                                           "Position per symbol in base-currency units (negative = short); symbols ever traded.")
    public static let executionDrawdown = MetricDefinition("execution", "drawdown", "ratio", .gauge, by: "quorum-execution",
                                                           "1 − equity / highest equity seen since the process started (0 at a new high).")

    // MARK: Monitor

    public static let monitorLag = MetricDefinition("monitor", "consumer_lag", "records", .gauge, labels: ["group", "topic"], by: "quorum-monitor",
                                                    "Records of the topic not yet committed by the consumer group, every monitor.lag.interval.")
    public static let monitorStageLatency = MetricDefinition(
        "monitor", "stage_latency", "seconds", .histogram, labels: ["stage"], buckets: latencyBuckets, by: "quorum-monitor",
        "Per producing stage: ts_init of a record minus ts_init of the record that caused it.")
    public static let monitorEndToEndLatency = MetricDefinition(
        "monitor", "end_to_end_latency", "seconds", .histogram, labels: ["topic"], buckets: latencyBuckets, by: "quorum-monitor",
        "Per topic: ts_init of a record minus ts_init of the bar that started its chain (topic=\"orders.approved\" is bar → order).")
    public static let monitorLiveAccuracy = MetricDefinition(
        "monitor", "model_live_accuracy", "ratio", .gauge, labels: ["symbol"], by: "quorum-monitor",
        "Live accuracy of the served model per symbol over the recent window (predicted direction vs the next close); NaN until a prediction is scored.")

    public static let monitorAlertsRaised = MetricDefinition(
        "monitor", "alerts_raised", "total", .counter, labels: ["rule"], by: "quorum-monitor",
        "Alerts the monitor's rules raised and stored for the first time, by rule (kill_switch, drawdown, consumer_lag, ...).")
    public static let monitorAlertsResolved = MetricDefinition(
        "monitor", "alerts_resolved", "total", .counter, labels: ["rule"], by: "quorum-monitor",
        "Alerts the monitor's rules resolved (their condition ended), by rule.")
    public static let monitorAlertDeliveries = MetricDefinition(
        "monitor", "alert_deliveries", "total", .counter, labels: ["destination", "outcome"], by: "quorum-monitor",
        "Alert notices per webhook destination and outcome (queued, duplicate, dropped, delivered, retried, rejected, failed).")
    public static let monitorAdminRefused = MetricDefinition(
        "monitor", "admin_refused", "total", .counter, labels: ["action", "why"], by: "quorum-monitor",
        "Refused dashboard operator actions (kill-switch, activate, rollback) by why: missing or wrong admin token, or actions disabled (no token configured).")

    /// Every definition, in documentation order.
    public static let all: [MetricDefinition] = [
        serviceUp, serviceReady, buildInfo,
        stageHandled, stagePublished, stageDeadLetters, stageBatchDuration,
        ingestBars, ingestRejectedRows, ingestFailedFiles, trainerJobs,
        riskApproved, riskDenied, riskKillSwitch,
        executionOrders, executionFills, executionEquity, executionCash, executionRealizedPnL, executionUnrealizedPnL, executionFees,
        executionExposure, executionOpenPositions, executionPosition, executionDrawdown,
        monitorLag, monitorStageLatency, monitorEndToEndLatency, monitorLiveAccuracy,
        monitorAlertsRaised, monitorAlertsResolved, monitorAlertDeliveries, monitorAdminRefused,
    ]

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The definition of a metric name, if it is catalogued.
    public static func definition(named name: String) -> MetricDefinition? { byName[name] }

    /// The Markdown table of docs/metrics.md: name, type, labels, exported by, meaning.
    public static func markdownTable() -> String {
        var lines = ["| name | type | labels | exported by | meaning |", "|---|---|---|---|---|"]
        for d in all {
            let labels = d.labels.isEmpty ? "" : d.labels.map { "`\($0)`" }.joined(separator: ", ")
            lines.append("| `\(d.name)` | \(d.kind.rawValue) | \(labels) | \(d.exportedBy) | \(d.help.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        return lines.joined(separator: "\n")
    }
}
