import DequeModule
import Histogram
import Foundation
import QuorumAlerts
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumProto
import Synchronization

/// Latency samples of one series (nanoseconds): an HdrHistogram (3 significant digits) of everything seen since the
/// monitor started, so a percentile costs a walk over its buckets, never a sort of the samples.
struct LatencySeries: Sendable {
    private var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)

    var total: Int { Int(histogram.totalCount) }

    mutating func add(_ nanoseconds: Int64) {
        _ = histogram.record(UInt64(max(0, nanoseconds)))
    }

    /// The percentiles `ps` (0...1) in milliseconds; zeros while empty.
    func percentiles(_ ps: [Double]) -> [Double] {
        guard histogram.totalCount > 0 else { return ps.map { _ in 0 } }
        return ps.map { Double(histogram.valueAtPercentile($0 * 100)) / 1e6 }
    }
}

/// What the monitor has seen, for `/status`, `/status.json` and the demo summary.
public struct MonitorSnapshot: Sendable, Codable {
    public struct Latency: Sendable, Codable {
        public var count: Int
        public var p50Ms: Double
        public var p99Ms: Double
    }
    /// Messages seen per topic (since the monitor started reading; it starts at the beginning of each topic).
    public var messages: [String: Int]
    /// Per stage (producer): its own processing latency, `ts_init` of a message minus `ts_init` of its cause.
    public var stageLatency: [String: Latency]
    /// Per topic: `ts_init` of a message minus `ts_init` of the bar that started its chain (bar → X latency).
    public var endToEndLatency: [String: Latency]
    /// Consumer lag per group and topic (records not yet committed).
    public var lag: [String: [String: Int64]]
    /// Live accuracy of the served models per symbol over the recent window (predicted direction vs next close).
    public var liveAccuracy: [String: Double]
    public var retrainJobsPublished: Int
    public var lastEventTime: [String: String]
    /// One alert as the status page shows it.
    public struct AlertView: Sendable, Codable, Hashable {
        public var id: String
        public var severity: String
        public var code: String
        public var message: String
        public var time: String
    }
    /// Alerts raised and not resolved, oldest first (nil in snapshots written before alerts existed).
    public var activeAlerts: [AlertView]?
    /// The latest alerts raised or resolved, newest first (at most 50).
    public var recentAlerts: [AlertView]?
}

/// What the dashboard shows beyond `MonitorSnapshot` (MonitorStats.dashboard).
public struct DashboardSnapshot: Sendable {
    /// Risk's kill switch as its last `KILL_SWITCH_ON`/`OFF` alert said.
    public struct KillSwitch: Sendable, Hashable, Codable {
        public var on: Bool
        public var reason: String
        /// Event time of the alert.
        public var time: Nanos
    }
    public struct Readiness: Sendable, Hashable {
        public var ready: Bool
        public var reason: String
        /// Wall time of the probe.
        public var at: Int64
    }
    public struct DeadLetter: Sendable, Hashable, Codable {
        /// Record time (wall, ms since the epoch) of the dead letter.
        public var timestampMs: Int64
        public var reason: String
        public var detail: String
    }
    /// The paper account (nil before the alert rules saw anything, or when they are off).
    public var account: AccountSnapshot?
    /// Equity at each close time of the latest bars (`EquityInputs`, `EquityCurve`); empty unless asked for.
    public var equityTimes: [Nanos]
    public var equity: [Double]
    public var killSwitch: KillSwitch?
    /// The decisions table, newest first.
    public var trail: [TrailRow]
    /// Records seen per producer (envelope `producer`) and per second over the last 30 s.
    public var producerMessages: [String: Int]
    public var producerRates: [String: Double]
    /// The latest readiness probe per service of `monitor.ready.targets`.
    public var readiness: [String: Readiness]
    /// The latest dead letters per data topic (short name), newest first.
    public var deadLetters: [String: [DeadLetter]]
    /// Live calibration and hit rate per symbol.
    public var calibration: [String: LiveCalibration.Table]
}

/// Where the monitor's measurements go besides its own pages: the service exports them as Prometheus histograms and
/// gauges (QuorumServices). Called on the monitor's stage task, outside `MonitorStats`' lock.
public protocol MonitorObserver: Sendable {
    /// `stage` produced a record `nanoseconds` after the record that caused it.
    func stageLatency(stage: String, nanoseconds: Int64)
    /// A record of `topic` (short name, e.g. "orders.approved") came `nanoseconds` after the bar that started its chain.
    func endToEndLatency(topic: String, nanoseconds: Int64)
    /// The live accuracy of `symbol`'s served model changed (NaN: served, no prediction scored yet).
    func liveAccuracy(symbol: String, accuracy: Double)
}

/// Shared between the monitor's stage (writer) and its HTTP pages and lag poller.
public final class MonitorStats: Sendable {
    struct State: Sendable {
        var messages: [String: Int] = [:]
        var stage: [String: LatencySeries] = [:]
        var endToEnd: [String: LatencySeries] = [:]
        var lag: [String: [String: Int64]] = [:]
        var accuracy: [String: Double] = [:]
        var retrainJobs = 0
        var lastEvent: [String: Int64] = [:]
        var activeAlerts: [RaisedAlert] = []
        var recentAlerts: Deque<RaisedAlert> = []
        // The dashboard's (DashboardFeed.swift); what is built from the whole stream is in `StreamViews`.
        var producerMessages: [String: Int] = [:]
        var trail = DecisionTrail()
        var equityInputs = EquityInputs()
        var account: AccountSnapshot?
        var killSwitch: DashboardSnapshot.KillSwitch?
        var readiness: [String: DashboardSnapshot.Readiness] = [:]
        var deadLetters: [String: Deque<DashboardSnapshot.DeadLetter>] = [:]
        var calibration = LiveCalibration()
        var rateSamples: Deque<(at: Int64, counts: [String: Int])> = []
    }
    let state = Mutex(State())
    /// Also told every latency and accuracy (Prometheus in the cluster).
    let observer: (any MonitorObserver)?

    public init(observer: (any MonitorObserver)? = nil) {
        self.observer = observer
    }

    public func setLag(group: String, topic: String, lag: Int64) {
        state.withLock { $0.lag[group, default: [:]][topic] = lag }
    }

    /// The latest readiness probe of a service (`monitor.ready.targets`).
    public func setReadiness(service: String, ready: Bool, reason: String, at: Int64) {
        state.withLock { $0.readiness[service] = DashboardSnapshot.Readiness(ready: ready, reason: reason, at: at) }
    }

    /// What the dashboard shows, at wall time `now` (nanoseconds): the throughput per producer is measured over the
    /// calls of the last 30 s (the dashboard's live updates call it every second or two).
    /// `withEquity` computes the equity curve (a pass over the kept bars, outside the lock).
    public func dashboard(now: Int64 = wallClockNanos(), trailLimit: Int = 100, ordersOnly: Bool = false, withEquity: Bool = false) -> DashboardSnapshot {
        var snapshot = snapshotForDashboard(now: now, trailLimit: trailLimit, ordersOnly: ordersOnly)
        if withEquity, let (inputs, cash) = state.withLock({ s in s.account.map { (s.equityInputs, $0.startingCash) } }) {
            let curve = inputs.curve(startingCash: cash)
            snapshot.equityTimes = curve.times
            snapshot.equity = curve.equity.map(\.doubleValue)
        }
        return snapshot
    }

    private func snapshotForDashboard(now: Int64, trailLimit: Int, ordersOnly: Bool) -> DashboardSnapshot {
        state.withLock { s in
            if s.rateSamples.last.map({ now - $0.at >= 1_000_000_000 }) ?? true { s.rateSamples.append((now, s.producerMessages)) }
            while let first = s.rateSamples.first, now - first.at > 30_000_000_000, s.rateSamples.count > 2 { s.rateSamples.removeFirst() }
            var rates: [String: Double] = [:]
            if let first = s.rateSamples.first, let last = s.rateSamples.last, last.at > first.at {
                let seconds = Double(last.at - first.at) / 1e9
                for (producer, count) in last.counts { rates[producer] = Double(count - (first.counts[producer] ?? 0)) / seconds }
            }
            return DashboardSnapshot(
                account: s.account, equityTimes: [], equity: [], killSwitch: s.killSwitch,
                trail: s.trail.latest(trailLimit, ordersOnly: ordersOnly), producerMessages: s.producerMessages, producerRates: rates,
                readiness: s.readiness, deadLetters: s.deadLetters.mapValues { Array($0) }, calibration: s.calibration.tables)
        }
    }

    /// What the pages show that is built from the whole stream rather than the latest records: the counts per topic and
    /// producer, the live accuracy and calibration, the equity curve's fills and bars, the kill switch, the latest dead
    /// letters and alerts, the retraining jobs published. The monitor's checkpoint holds it, so a restarted monitor
    /// (which re-reads only what follows its checkpoint) shows what it showed before. Latencies, lag, rates, readiness
    /// and the decision trail start again with each process.
    struct StreamViews: Codable {
        var messages: [String: Int]
        var producerMessages: [String: Int]
        var accuracy: [String: Double]
        var lastEvent: [String: Int64]
        var retrainJobs: Int
        var recentAlerts: [RaisedAlert]
        var equityInputs: EquityInputs
        var calibration: LiveCalibration
        var killSwitch: DashboardSnapshot.KillSwitch?
        var deadLetters: [String: [DashboardSnapshot.DeadLetter]]
    }

    var streamViews: StreamViews {
        get {
            state.withLock { s in
                StreamViews(messages: s.messages, producerMessages: s.producerMessages, accuracy: s.accuracy, lastEvent: s.lastEvent,
                            retrainJobs: s.retrainJobs, recentAlerts: Array(s.recentAlerts), equityInputs: s.equityInputs,
                            calibration: s.calibration, killSwitch: s.killSwitch, deadLetters: s.deadLetters.mapValues { Array($0) })
            }
        }
        set {
            state.withLock { s in
                s.messages = newValue.messages
                s.producerMessages = newValue.producerMessages
                s.accuracy = newValue.accuracy
                s.lastEvent = newValue.lastEvent
                s.retrainJobs = newValue.retrainJobs
                s.recentAlerts = Deque(newValue.recentAlerts)
                s.equityInputs = newValue.equityInputs
                s.calibration = newValue.calibration
                s.killSwitch = newValue.killSwitch
                s.deadLetters = newValue.deadLetters.mapValues { Deque($0) }
            }
            for (symbol, accuracy) in newValue.accuracy { observer?.liveAccuracy(symbol: symbol, accuracy: accuracy) }
        }
    }

    /// Records what the alert rules changed (the dashboard's alert tables).
    func alertsChanged(_ changes: [AlertChange], active: [RaisedAlert]) {
        guard !changes.isEmpty else { return }
        state.withLock { s in
            s.activeAlerts = active
            for change in changes {
                s.recentAlerts.prepend(change.alert)
                if s.recentAlerts.count > 50 { s.recentAlerts.removeLast() }
            }
        }
    }

    static func view(_ a: RaisedAlert) -> MonitorSnapshot.AlertView {
        MonitorSnapshot.AlertView(id: a.id, severity: a.severity.rawValue, code: a.code, message: a.message,
                                  time: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(a.time) / 1e9)))
    }

    public func snapshot() -> MonitorSnapshot {
        state.withLock { s in
            func latency(_ r: LatencySeries) -> MonitorSnapshot.Latency {
                let p = r.percentiles([0.5, 0.99])
                return MonitorSnapshot.Latency(count: r.total, p50Ms: p[0], p99Ms: p[1])
            }
            return MonitorSnapshot(
                messages: s.messages, stageLatency: s.stage.mapValues(latency), endToEndLatency: s.endToEnd.mapValues(latency),
                lag: s.lag, liveAccuracy: s.accuracy, retrainJobsPublished: s.retrainJobs,
                lastEventTime: s.lastEvent.mapValues { ns in
                    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
                },
                activeAlerts: s.activeAlerts.map(Self.view), recentAlerts: s.recentAlerts.map(Self.view))
        }
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Harmless: a read-only status page (no order, fill or state); with non-finite numbers as text it cannot fail.
        return (try? encoder.encode(snapshot())).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A small self-refreshing HTML page.
    public func html() -> String {
        let s = snapshot()
        func rows(_ d: [String: MonitorSnapshot.Latency]) -> String {
            d.sorted { $0.key < $1.key }.map {
                "<tr><td>\($0.key)</td><td>\($0.value.count)</td><td>\(String(format: "%.2f", $0.value.p50Ms))</td><td>\(String(format: "%.2f", $0.value.p99Ms))</td></tr>"
            }.joined()
        }
        let counts = s.messages.sorted { $0.key < $1.key }.map { "<tr><td>\($0.key)</td><td>\($0.value)</td><td>\(s.lastEventTime[$0.key] ?? "")</td></tr>" }.joined()
        let lags = s.lag.sorted { $0.key < $1.key }.flatMap { g in g.value.sorted { $0.key < $1.key }.map { "<tr><td>\(g.key)</td><td>\($0.key)</td><td>\($0.value)</td></tr>" } }.joined()
        func alertRows(_ list: [MonitorSnapshot.AlertView]?) -> String {
            (list ?? []).map { "<tr><td>\(escape($0.time))</td><td>\(escape($0.severity))</td><td>\(escape($0.code))</td><td style=\"text-align:left\">\(escape($0.message))</td></tr>" }.joined()
        }
        let acc = s.liveAccuracy.sorted { $0.key < $1.key }.map { "<tr><td>\($0.key)</td><td>\(String(format: "%.3f", $0.value))</td></tr>" }.joined()
        return """
        <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Quorum status</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}</style>
        </head><body><h1>Quorum cluster status</h1>
        <h2>Active alerts</h2><table><tr><th>since</th><th>severity</th><th>rule</th><th>message</th></tr>\(alertRows(s.activeAlerts))</table>
        <h2>Recent alerts</h2><table><tr><th>time</th><th>severity</th><th>code</th><th>message</th></tr>\(alertRows(s.recentAlerts))</table>
        <h2>Topics</h2><table><tr><th>topic</th><th>messages</th><th>last event time</th></tr>\(counts)</table>
        <h2>Stage latency (ts_init − cause ts_init, ms)</h2><table><tr><th>stage</th><th>n</th><th>p50</th><th>p99</th></tr>\(rows(s.stageLatency))</table>
        <h2>Bar → message latency (ms)</h2><table><tr><th>topic</th><th>n</th><th>p50</th><th>p99</th></tr>\(rows(s.endToEndLatency))</table>
        <h2>Consumer lag</h2><table><tr><th>group</th><th>topic</th><th>lag</th></tr>\(lags)</table>
        <h2>Live model accuracy</h2><table><tr><th>symbol</th><th>accuracy</th></tr>\(acc)</table>
        <p>Retraining jobs published: \(s.retrainJobsPublished). JSON: <a href="/status.json">/status.json</a>, metrics: <a href="/metrics">/metrics</a></p>
        </body></html>
        """
    }
}

/// Text made safe for HTML (alert messages quote service answers and reasons).
func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

/// `quorum-monitor`: reads every data topic (read-only), keeps counters and latencies in `MonitorStats`, and
/// publishes retraining jobs for symbols that are being served (predictions seen) on an event-time schedule or
/// when the model's live accuracy decays: when is decided by its core, `RetrainCore` (QuorumML), fed the bars and
/// predictions. Initial models come from an explicit `quorum train`.
///
/// Alerts: its alert rules, `AlertRulesCore` (QuorumAlerts), are fed the bars, fills (execution reports), risk's kill
/// switch alerts, live accuracy, dead letters (it reads every `.dlq` topic too) and the lag and readiness samples its
/// pollers leave in `AlertObservations`; what they raise or resolve is published on `alerts` (source `quorum-monitor`,
/// the alert id as envelope id) and handed to the `AlertRecordSink` in `persist` (Postgres, then webhook delivery),
/// before the batch's offsets are committed. The stage restores its state at start-up (its checkpoint, then its inputs
/// after it), so the account's equity and the raised alerts are what they were (outputs of the restore are not published
/// again).
public struct MonitorStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-monitor"
    public static let inputTopics: [TopicSpec] = Topic.allWithDeadLetters
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { rules != nil }
    public var wantsTicks: Bool { rules != nil }
    let stats: MonitorStats
    /// The feature spec the retraining jobs name (`features.spec`).
    let featureSpec: FeatureSpec
    let barsTopic: String
    let predictionsTopic: String
    /// What the dashboard's decisions table follows (consensus's decisions, risk's verdicts).
    let signalsTopic: String
    let decisionsTopic: String
    let approvedTopic: String
    let deniedTopic: String
    let jobsTopic: String
    let shortNames: [String: String]
    let stamp = EnvelopeStamp(producer: "quorum-monitor")
    /// ts_init by message id, for the latency of the messages they cause (bounded FIFO).
    private var tsInit: [String: Int64] = [:]
    private var order: Deque<String> = []
    private let remember = 400_000

    /// When to retrain which symbol, and on what.
    private var retrain: RetrainCore
    /// Symbols whose predictions the monitor has seen.
    private var predicted: Set<String> = []
    /// The alert rules (nil: the monitor raises no alerts).
    public private(set) var rules: AlertRulesCore?
    let alertSink: (any AlertRecordSink)?
    let observations: AlertObservations?
    let alertsTopic: String
    let reportsTopic: String
    /// Full name of each dead-letter topic → its data topic's short name (`md.bars`).
    let deadLetterTopics: [String: String]
    /// Alerts raised or resolved since the last `persist`.
    private var pendingAlerts: [RaisedAlert] = []
    private var replayingNow = false

    /// - Parameters:
    ///   - rules: the alert rules with their thresholds; nil raises no alerts (and the stage does not rebuild its state).
    ///   - alertSink: where raised alerts are made durable and delivered.
    ///   - observations: lag and readiness samples of the pollers.
    public init(namer: TopicNamer, stats: MonitorStats, policy: RetrainPolicy = RetrainPolicy(), featureSpec: FeatureSpec = .default,
                rules: AlertRulesCore? = nil, alertSink: (any AlertRecordSink)? = nil, observations: AlertObservations? = nil,
                group: String = defaultGroup) {
        self.group = namer.group(group)
        self.rules = rules
        self.alertSink = alertSink
        self.observations = observations
        alertsTopic = namer.name(Topic.alerts)
        reportsTopic = namer.name(Topic.executionReports)
        deadLetterTopics = Dictionary(uniqueKeysWithValues: Topic.all.map {
            (namer.deadLetterName($0), String($0.name.dropFirst("quorum.v1.".count)))
        })
        self.stats = stats
        self.featureSpec = featureSpec
        retrain = RetrainCore(policy: policy)
        inputs = Self.inputTopics.map(namer.name)
        barsTopic = namer.name(Topic.bars)
        predictionsTopic = namer.name(Topic.predictions)
        signalsTopic = namer.name(Topic.signals)
        decisionsTopic = namer.name(Topic.decisions)
        approvedTopic = namer.name(Topic.ordersApproved)
        deniedTopic = namer.name(Topic.ordersDenied)
        jobsTopic = namer.name(Topic.trainingJobs)
        var names: [String: String] = [:]
        for spec in Topic.all { names[namer.name(spec)] = spec.shortName }
        shortNames = names
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        replayingNow = replaying
        var step = StageStep()
        if !replaying { step.outputs += try drainObservations() }
        if let topic = deadLetterTopics[message.topic] {
            let letter = DashboardSnapshot.DeadLetter(timestampMs: message.timestampMs ?? wallClockNanos() / 1_000_000,
                                                      reason: message.header(DeadLetterHeader.reason)?.text ?? "",
                                                      detail: String((message.header(DeadLetterHeader.detail)?.text ?? "").prefix(300)))
            stats.state.withLock { s in
                s.messages[topic + ".dlq", default: 0] += 1
                s.deadLetters[topic, default: []].prepend(letter)
                if s.deadLetters[topic]!.count > 5 { s.deadLetters[topic]!.removeLast() }
            }
            // Counted on arrival (wall time), so not while rebuilding: a restart forgets the window's letters, and a
            // letter delivered again keeps its id (partition and offset).
            if !replaying {
                step.outputs += try feed(.deadLetter(topic: topic, partition: message.partition, offset: message.offset), now: wallClockNanos(),
                                         cause: nil)
            }
            step.append(.done(message))
            return step
        }
        // Read-only: a record the monitor cannot read is counted, never dead-lettered (the topic's owner does that).
        do {
            step.append(try observe(message))
        } catch {
            stats.state.withLock { $0.messages["unreadable"] = ($0.messages["unreadable"] ?? 0) + 1 }
            step.append(.done(message))
        }
        return step
    }

    /// Feeds the pollers' samples and resolves what time alone ends (quiet dead-letter topics).
    ///
    /// A tick is never part of a rebuild's input, so it counts as live: an idle cluster still gets its lag and readiness
    /// alerts after a monitor restart. (The host drops the outputs of the one tick that ends a rebuild; alerts raised
    /// there are still stored and delivered by the next `persist`, only their `alerts` record is missing.)
    public mutating func tick() throws -> StageStep {
        replayingNow = false
        guard var core = rules else { return StageStep() }
        var outputs = try drainObservations()
        let changes = core.tick(now: wallClockNanos())
        rules = core
        outputs += try publish(changes, cause: nil)
        return StageStep(outputs: outputs)
    }

    /// Makes the alerts raised since the last call durable (and hands them on for delivery).
    public mutating func persist() async throws {
        guard !pendingAlerts.isEmpty else { return }
        if let alertSink { try await alertSink.record(pendingAlerts) }
        pendingAlerts = []
    }

    private mutating func drainObservations() throws -> [OutgoingMessage] {
        guard rules != nil, let observations else { return [] }
        var outputs: [OutgoingMessage] = []
        for o in observations.drain() { outputs += try feed(o.event, now: o.now, cause: nil) }
        return outputs
    }

    /// Feeds one event to the alert rules; returns the alert records of what changed.
    private mutating func feed(_ event: AlertEvent, now: Nanos = 0, cause: Quorum_V1_Envelope?) throws -> [OutgoingMessage] {
        guard var core = rules else { return [] }
        let changes = core.handle(event, now: now)
        rules = core
        return try publish(changes, cause: cause)
    }

    /// The `alerts` records of `changes`, queued for `persist` too (nothing new while rebuilding: it was done before).
    private mutating func publish(_ changes: [AlertChange], cause: Quorum_V1_Envelope?) throws -> [OutgoingMessage] {
        guard !changes.isEmpty else { return [] }
        stats.alertsChanged(changes, active: rules?.activeAlerts ?? [])
        guard !replayingNow else { return [] }
        return try changes.map { change in
            let alert = change.alert
            pendingAlerts.append(alert)
            return try OutgoingMessage(topic: alertsTopic, key: stamp.producer, message: alert.wire(stamp: stamp, cause: cause),
                                       eventTimeNs: alert.time)
        }
    }

    /// The checkpoint holds the retraining schedule and live accuracy per symbol (`RetrainCore.Memory`), what the alert
    /// rules have seen (`AlertRulesCore.Memory`: the account, the raised alerts) and what the pages show that is built
    /// from the whole stream (`MonitorStats.StreamViews`: the equity curve's inputs, calibration, counts); latencies,
    /// lag and the decision trail start again with each process. Format 2 added the stream views.
    public var stateFormat: Int { 2 }

    struct State: Codable {
        var retrain: RetrainCore.Memory
        var rules: AlertRulesCore.Memory?
        var views: MonitorStats.StreamViews
    }

    public func checkpointState() throws -> [UInt8] {
        try Self.encodeState(State(retrain: retrain.memory, rules: rules?.memory, views: stats.streamViews))
    }

    public mutating func restoreState(_ bytes: [UInt8]) throws {
        let state = try Self.decodeState(State.self, bytes)
        retrain.memory = state.retrain
        if let memory = state.rules { rules?.memory = memory }
        stats.streamViews = state.views
        let account = rules?.account, active = rules?.activeAlerts ?? []
        stats.state.withLock { s in
            s.account = account
            s.activeAlerts = active
        }
        // The accuracy series exist from a symbol's first prediction (see observe): the restored ones exist already.
        predicted.formUnion(state.views.accuracy.keys)
    }

    private mutating func observe(_ message: IncomingMessage) throws -> StageStep {
        // Every quorum.v1 message starts with its envelope (field 1): read only that, whatever the type.
        let envelope = try Quorum_V1_EnvelopeHeader(serializedBytes: message.value).envelope
        let topic = shortNames[message.topic] ?? message.topic
        let now = envelope.tsInitNs
        let causeInit = tsInit[envelope.causationID]
        let rootInit = tsInit[envelope.correlationID]
        remember(envelope.id, now)
        let stageLatency = envelope.producer.isEmpty ? nil : causeInit.map { max(0, now - $0) }
        let endToEnd = envelope.correlationID == envelope.id ? nil : rootInit.map { max(0, now - $0) }
        stats.state.withLock { s in
            s.messages[topic, default: 0] += 1
            if !envelope.producer.isEmpty { s.producerMessages[envelope.producer, default: 0] += 1 }
            s.lastEvent[topic] = envelope.tsEventNs
            if let stageLatency { s.stage[envelope.producer, default: LatencySeries()].add(stageLatency) }
            if let endToEnd { s.endToEnd[topic, default: LatencySeries()].add(endToEnd) }
        }
        if let observer = stats.observer {
            if let stageLatency { observer.stageLatency(stage: envelope.producer, nanoseconds: stageLatency) }
            if let endToEnd { observer.endToEndLatency(topic: topic, nanoseconds: endToEnd) }
        }
        var outputs: [OutgoingMessage] = []
        if message.topic == barsTopic {
            outputs = try onBar(try message.decode(Quorum_V1_Bar.self), cause: envelope)
        } else if message.topic == predictionsTopic {
            let p = try message.decode(Quorum_V1_Prediction.self)
            retrain.prediction(symbol: Symbol(p.symbol), time: p.envelope.tsEventNs, up: p.probUp > 0.5)
            // A served symbol's accuracy series exists from its first prediction: NaN until a prediction is scored.
            if predicted.insert(p.symbol).inserted { stats.observer?.liveAccuracy(symbol: p.symbol, accuracy: .nan) }
            if !p.shadow {
                stats.state.withLock { $0.calibration.prediction(symbol: p.symbol, barOpenTime: p.barOpenTimeNs, probabilityUp: p.probUp) }
            }
        } else if message.topic == signalsTopic {
            let signal = try message.decode(Quorum_V1_Signal.self)
            let source = TrailRow.Source(name: signal.source, direction: Self.direction(signal.direction), confidence: signal.confidence, weight: 0)
            stats.state.withLock { $0.trail.source(correlationID: envelope.correlationID, source) }
        } else if message.topic == decisionsTopic {
            let row = Self.trailRow(try message.decode(Quorum_V1_Decision.self))
            stats.state.withLock { $0.trail.decision(row) }
        } else if message.topic == approvedTopic {
            let a = try message.decode(Quorum_V1_OrderApproved.self)
            stats.state.withLock {
                $0.trail.verdict(correlationID: envelope.correlationID, approved: true, detail: "quantity \(a.approvedQuantity)", order: Self.orderText(a.intent))
            }
        } else if message.topic == deniedTopic {
            let d = try message.decode(Quorum_V1_OrderDenied.self)
            let code = String(describing: d.reasonCode)
            stats.state.withLock {
                $0.trail.verdict(correlationID: envelope.correlationID, approved: false, detail: "\(code): \(d.reason)", order: Self.orderText(d.intent))
            }
        } else if message.topic == reportsTopic {
            let report = try message.decode(Quorum_V1_ExecutionReport.self)
            stats.state.withLock { $0.trail.report(correlationID: envelope.correlationID, text: Self.reportText(report)) }
            if rules != nil, let fill = try report.fill() {
                outputs = try feed(.fill(fill), cause: envelope)
                let account = rules?.account
                stats.state.withLock {
                    $0.account = account
                    $0.equityInputs.fill(fill)
                }
            }
        } else if message.topic == alertsTopic {
            // Risk's kill switch (the monitor's own alerts on this topic are skipped).
            let alert = try message.decode(Quorum_V1_Alert.self)
            if envelope.producer != stamp.producer, alert.code == "KILL_SWITCH_ON" || alert.code == "KILL_SWITCH_OFF" {
                let on = alert.code == "KILL_SWITCH_ON"
                stats.state.withLock { $0.killSwitch = DashboardSnapshot.KillSwitch(on: on, reason: alert.message, time: envelope.tsEventNs) }
                if rules != nil {
                    outputs = try feed(.killSwitch(on: on, reason: alert.message, time: envelope.tsEventNs), cause: envelope)
                }
            }
        }
        return .done(message, outputs)
    }

    private mutating func remember(_ id: String, _ ts: Int64) {
        guard tsInit[id] == nil else { return }
        tsInit[id] = ts
        order.append(id)
        if order.count > remember, let oldest = order.popFirst() { tsInit[oldest] = nil }
    }

    private mutating func onBar(_ wire: Quorum_V1_Bar, cause: Quorum_V1_Envelope) throws -> [OutgoingMessage] {
        let bar = try Bar(wire: wire)
        let scored = retrain.bar(symbol: bar.symbol, openTime: bar.openTime, closeTime: bar.closeTime, close: bar.close,
                                 intervalSeconds: bar.intervalSeconds)
        var alerts = try feed(.bar(bar), cause: cause)
        let account = rules?.account
        stats.state.withLock { s in
            s.calibration.bar(symbol: bar.symbol.name, openTime: bar.openTime, close: bar.close, intervalSeconds: bar.intervalSeconds)
            s.equityInputs.bar(bar)
            if let account { s.account = account }
        }
        if let accuracy = scored.accuracy {
            stats.state.withLock { $0.accuracy[bar.symbol.name] = accuracy }
            stats.observer?.liveAccuracy(symbol: bar.symbol.name, accuracy: accuracy)
            alerts += try feed(.accuracy(symbol: bar.symbol, accuracy: accuracy, samples: scored.samples, time: bar.closeTime), cause: cause)
        }
        guard let run = scored.retrain else { return alerts }
        let jobs = TrainingJobs.make(symbol: run.symbol, intervalSeconds: run.intervalSeconds, trainFrom: run.trainFrom,
                                     trainTo: run.trainTo, validateTo: run.validateTo, spec: featureSpec, stamp: stamp)
        let outputs = try jobs.map { try OutgoingMessage(topic: jobsTopic, key: $0.jobID, message: $0, eventTimeNs: run.validateTo) }
        stats.state.withLock { $0.retrainJobs += jobs.count }
        return alerts + outputs
    }
}

extension MonitorStage {
    /// A decision as the first part of its row in the dashboard's decisions table.
    static func direction(_ x: Quorum_V1_Signal.Direction) -> String {
        switch x {
        case .long: "long"
        case .short: "short"
        case .flat: "flat"
        default: "?"
        }
    }

    /// A decision's part of its row (its contributions, when it carries them; else the row's sources come from `signals`).
    static func trailRow(_ d: Quorum_V1_Decision) -> TrailRow {
        let action: String = switch d.action {
        case .buy: "buy"
        case .sell: "sell"
        case .hold: "hold"
        default: "?"
        }
        let correlation = d.envelope.correlationID.isEmpty ? d.envelope.id : d.envelope.correlationID
        return TrailRow(correlationID: correlation, symbol: d.symbol, barTime: d.barOpenTimeNs,
                        sources: d.contributions.map { TrailRow.Source(name: $0.source, direction: direction($0.direction),
                                                                        confidence: $0.confidence, weight: $0.weight) },
                        action: action, confidence: d.confidence, reasons: d.reasons)
    }

    static func orderText(_ intent: Quorum_V1_OrderIntent) -> String {
        "\(intent.clientOrderID) \(intent.side == .buy ? "buy" : "sell") \(intent.quantity)"
    }

    static func reportText(_ r: Quorum_V1_ExecutionReport) -> String {
        let status = String(describing: r.status)
        if r.hasFillQuantity, r.fillQuantity.units != 0 {
            return "\(status) \(r.fillQuantity) @ \(r.fillPrice) fee \(r.fee)"
        }
        return r.reason.isEmpty ? status : "\(status): \(r.reason)"
    }
}

extension RaisedAlert {
    /// The wire record (`quorum.v1.Alert`): the alert id is the envelope id; rule and subject are labels too.
    func wire(stamp: EnvelopeStamp, cause: Quorum_V1_Envelope?) -> Quorum_V1_Alert {
        var a = Quorum_V1_Alert()
        a.envelope = stamp.envelope(id: id, tsEvent: time, cause: cause)
        switch severity {
        case .info: a.severity = .info
        case .warning: a.severity = .warning
        case .critical: a.severity = .critical
        }
        a.source = stamp.producer
        a.code = code
        a.message = message
        a.labels = labels.merging(["rule": rule.rawValue, "subject": subject]) { $1 }
        return a
    }
}
