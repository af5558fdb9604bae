import Metrics
import QuorumBus
import QuorumExecution
import QuorumModel
import QuorumPipeline
import QuorumRisk
import QuorumServiceKit
import Synchronization

/// The Prometheus metrics of a running `StageHost` (docs/metrics.md): records handled and dead-lettered per input topic,
/// published per output topic, and the batch duration histogram, fed from each batch's `StageBatchReport`.
///
/// The series of every input topic (and every dead-letter reason) exist from the start at 0, so rates and alerts work
/// before the first record; output topics get theirs at the first record published.
final class StageHostMetrics: Sendable {
    private let metrics: QuorumMetrics
    private let stage: String
    private let handled: [String: Metrics.Counter]
    private let deadLetters: [StageBatchReport.DeadLetterKey: Metrics.Counter]
    private let published = Mutex<[String: Metrics.Counter]>([:])
    private let batchDuration: Metrics.Timer

    init(metrics: QuorumMetrics, stage: String, inputs: [String]) {
        self.metrics = metrics
        self.stage = stage
        var handled: [String: Metrics.Counter] = [:]
        var deadLetters: [StageBatchReport.DeadLetterKey: Metrics.Counter] = [:]
        for topic in inputs {
            handled[topic] = metrics.counter(MetricCatalog.stageHandled, stage, topic)
            for reason in DeadLetterReason.allCases {
                deadLetters[.init(topic: topic, reason: reason)] = metrics.counter(MetricCatalog.stageDeadLetters, stage, topic, reason.rawValue)
            }
        }
        self.handled = handled
        self.deadLetters = deadLetters
        batchDuration = metrics.histogram(MetricCatalog.stageBatchDuration, stage)
    }

    /// Adds one committed batch.
    func record(_ report: StageBatchReport) {
        for (topic, count) in report.handled {
            (handled[topic] ?? metrics.counter(MetricCatalog.stageHandled, stage, topic)).increment(by: Int64(count))
        }
        for (key, count) in report.deadLetters {
            (deadLetters[key] ?? metrics.counter(MetricCatalog.stageDeadLetters, stage, key.topic, key.reason.rawValue))
                .increment(by: Int64(count))
        }
        for (topic, count) in report.published { publishedCounter(topic).increment(by: Int64(count)) }
        if let duration = report.duration { batchDuration.recordNanoseconds(duration.nanoseconds) }
    }

    private func publishedCounter(_ topic: String) -> Metrics.Counter {
        published.withLock { cache in
            if let counter = cache[topic] { return counter }
            let counter = metrics.counter(MetricCatalog.stagePublished, stage, topic)
            cache[topic] = counter
            return counter
        }
    }
}

/// quorum-risk's own metrics: approvals, denials by reason (from `RiskStage.counts`) and the kill switch, after each batch.
final class RiskMetrics: Sendable {
    private let approved: Metrics.Counter
    private let denied: [RiskCode: Metrics.Counter]
    private let killSwitch: Metrics.Gauge
    /// The counts already added to the counters.
    private let reported = Mutex(RiskCounts())

    init(metrics: QuorumMetrics) {
        approved = metrics.counter(MetricCatalog.riskApproved)
        var denied: [RiskCode: Metrics.Counter] = [:]
        for code in RiskCode.allCases where code != .exitAllowed {  // exits are never denied
            denied[code] = metrics.counter(MetricCatalog.riskDenied, code.rawValue)
        }
        self.denied = denied
        killSwitch = metrics.gauge(MetricCatalog.riskKillSwitch)
        killSwitch.record(0)
    }

    func update(_ stage: RiskStage) {
        let now = stage.counts
        let before = reported.withLock { last in
            defer { last = now }
            return last
        }
        if now.approved > before.approved { approved.increment(by: Int64(now.approved - before.approved)) }
        for (code, count) in now.denied where count > before.denied[code] ?? 0 {
            denied[code]?.increment(by: Int64(count - (before.denied[code] ?? 0)))
        }
        killSwitch.record(stage.core.killSwitchActive ? 1 : 0)
    }
}

/// quorum-execution's account gauges (equity, cash, PnL, fees, exposure, positions, drawdown) from the paper exchange's
/// ledger after each batch. The drawdown is measured from the highest equity this process has seen.
final class ExecutionMetrics: Sendable {
    private let metrics: QuorumMetrics
    private let equity, cash, realized, unrealized, fees, exposure, openPositions, drawdown: Metrics.Gauge
    private let positions = Mutex<[Symbol: Metrics.Gauge]>([:])
    private let peak = Mutex<Double?>(nil)

    init(metrics: QuorumMetrics) {
        self.metrics = metrics
        equity = metrics.gauge(MetricCatalog.executionEquity)
        cash = metrics.gauge(MetricCatalog.executionCash)
        realized = metrics.gauge(MetricCatalog.executionRealizedPnL)
        unrealized = metrics.gauge(MetricCatalog.executionUnrealizedPnL)
        fees = metrics.gauge(MetricCatalog.executionFees)
        exposure = metrics.gauge(MetricCatalog.executionExposure)
        openPositions = metrics.gauge(MetricCatalog.executionOpenPositions)
        drawdown = metrics.gauge(MetricCatalog.executionDrawdown)
    }

    func update(_ stage: ExecutionStage) {
        let exchange = stage.exchange
        let ledger = exchange.ledger
        let marks = exchange.marks
        let value = exchange.equity.doubleValue
        equity.record(value)
        cash.record(ledger.cash.doubleValue)
        realized.record(ledger.realizedPnL.doubleValue)
        unrealized.record(ledger.unrealizedPnL(marks: marks).doubleValue)
        fees.record(ledger.fees.doubleValue)
        var gross = 0.0
        var open = 0
        for (symbol, position) in ledger.positions {
            let quantity = position.quantity.doubleValue
            if quantity != 0 { open += 1 }
            gross += abs(quantity) * (marks[symbol] ?? position.averagePrice).doubleValue
            positionGauge(symbol).record(quantity)
        }
        exposure.record(gross)
        openPositions.record(Double(open))
        let high = peak.withLock { p -> Double in
            p = max(p ?? value, value)
            return p!
        }
        drawdown.record(high > 0 ? 1 - value / high : 0)
    }

    private func positionGauge(_ symbol: Symbol) -> Metrics.Gauge {
        positions.withLock { cache in
            if let gauge = cache[symbol] { return gauge }
            let gauge = metrics.gauge(MetricCatalog.executionPosition, symbol.name)
            cache[symbol] = gauge
            return gauge
        }
    }
}

/// Counts the orders and fills execution records, after the ledger has them: wraps the record sink.
struct MeteredExecutionSink: ExecutionRecordSink {
    let inner: any ExecutionRecordSink
    let orders: [OrderStatus: Metrics.Counter]
    let fills: [Side: Metrics.Counter]

    init(_ inner: any ExecutionRecordSink, metrics: QuorumMetrics) {
        self.inner = inner
        orders = Dictionary(uniqueKeysWithValues: OrderStatus.allCases.map { ($0, metrics.counter(MetricCatalog.executionOrders, $0.rawValue)) })
        fills = Dictionary(uniqueKeysWithValues: [Side.buy, .sell].map { ($0, metrics.counter(MetricCatalog.executionFills, $0.rawValue)) })
    }

    func apply(orders rows: [OrderRow], fills batch: [Fill]) async throws {
        try await inner.apply(orders: rows, fills: batch)
        for row in rows { orders[row.status]?.increment() }
        for fill in batch { fills[fill.side]?.increment() }
    }
}

/// The monitor's latencies and live accuracy as Prometheus histograms and gauges. The pipeline stages' latency series
/// and bar → order / decision / report exist from the start (empty), others appear with their first record.
final class PrometheusMonitorObserver: MonitorObserver {
    private let metrics: QuorumMetrics
    private let stages = Mutex<[String: Metrics.Timer]>([:])
    private let endToEnd = Mutex<[String: Metrics.Timer]>([:])
    private let accuracy = Mutex<[String: Metrics.Gauge]>([:])

    init(metrics: QuorumMetrics, stages: [String], topics: [String]) {
        self.metrics = metrics
        for stage in stages { _ = series(self.stages, MetricCatalog.monitorStageLatency, stage) }
        for topic in topics { _ = series(endToEnd, MetricCatalog.monitorEndToEndLatency, topic) }
    }

    func stageLatency(stage: String, nanoseconds: Int64) {
        series(stages, MetricCatalog.monitorStageLatency, stage).recordNanoseconds(nanoseconds)
    }

    func endToEndLatency(topic: String, nanoseconds: Int64) {
        series(endToEnd, MetricCatalog.monitorEndToEndLatency, topic).recordNanoseconds(nanoseconds)
    }

    /// NaN (served, nothing scored yet) only creates the series: it never hides a value measured before.
    func liveAccuracy(symbol: String, accuracy value: Double) {
        let (gauge, isNew) = accuracy.withLock { cache in
            if let gauge = cache[symbol] { return (gauge, false) }
            let gauge = metrics.gauge(MetricCatalog.monitorLiveAccuracy, symbol)
            cache[symbol] = gauge
            return (gauge, true)
        }
        if isNew || !value.isNaN { gauge.record(value) }
    }

    private func series(_ cache: borrowing Mutex<[String: Metrics.Timer]>, _ definition: MetricDefinition, _ label: String) -> Metrics.Timer {
        cache.withLock { cache in
            if let timer = cache[label] { return timer }
            let timer = metrics.histogram(definition, label)
            cache[label] = timer
            return timer
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
