import DequeModule
import Foundation
import QuorumBus
import QuorumFeatures
import QuorumModel
import QuorumProto
import Synchronization

/// Latency samples of one series: the most recent `capacity` values (nanoseconds), percentiles on demand.
struct Reservoir: Sendable {
    private var values: [Int64] = []
    private var next = 0
    let capacity: Int
    private(set) var total = 0

    init(capacity: Int = 100_000) { self.capacity = capacity }

    mutating func add(_ v: Int64) {
        total += 1
        if values.count < capacity { values.append(v) } else {
            values[next] = v
            next = (next + 1) % capacity
        }
    }

    func percentiles(_ ps: [Double]) -> [Double] {
        guard !values.isEmpty else { return ps.map { _ in 0 } }
        let sorted = values.sorted()
        return ps.map { p in
            let rank = Int((p * Double(sorted.count - 1)).rounded())
            return Double(sorted[min(max(rank, 0), sorted.count - 1)]) / 1e6
        }
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
}

/// Shared between the monitor's stage (writer) and its HTTP pages and lag poller.
public final class MonitorStats: Sendable {
    struct State: Sendable {
        var messages: [String: Int] = [:]
        var stage: [String: Reservoir] = [:]
        var endToEnd: [String: Reservoir] = [:]
        var lag: [String: [String: Int64]] = [:]
        var accuracy: [String: Double] = [:]
        var retrainJobs = 0
        var lastEvent: [String: Int64] = [:]
    }
    let state = Mutex(State())

    public init() {}

    public func setLag(group: String, topic: String, lag: Int64) {
        state.withLock { $0.lag[group, default: [:]][topic] = lag }
    }

    public func snapshot() -> MonitorSnapshot {
        state.withLock { s in
            func latency(_ r: Reservoir) -> MonitorSnapshot.Latency {
                let p = r.percentiles([0.5, 0.99])
                return MonitorSnapshot.Latency(count: r.total, p50Ms: p[0], p99Ms: p[1])
            }
            return MonitorSnapshot(
                messages: s.messages, stageLatency: s.stage.mapValues(latency), endToEndLatency: s.endToEnd.mapValues(latency),
                lag: s.lag, liveAccuracy: s.accuracy, retrainJobsPublished: s.retrainJobs,
                lastEventTime: s.lastEvent.mapValues { ns in
                    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
                })
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
        let acc = s.liveAccuracy.sorted { $0.key < $1.key }.map { "<tr><td>\($0.key)</td><td>\(String(format: "%.3f", $0.value))</td></tr>" }.joined()
        return """
        <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Quorum status</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}</style>
        </head><body><h1>Quorum cluster status</h1>
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

/// Settings of the monitor's retraining triggers (event time).
public struct RetrainPolicy: Sendable {
    /// Publish a retraining run per symbol every this much event time (0 = never on schedule).
    public var every: Int64
    /// Training window length before the validation window (event time).
    public var window: Int64
    /// Validation window length (event time), the most recent part.
    public var validation: Int64
    /// Live-accuracy trigger: retrain when the accuracy over the last `accuracyWindow` predictions is below this.
    public var minimumAccuracy: Double
    public var accuracyWindow: Int
    /// At least this much event time between two runs of a symbol.
    public var cooldown: Int64
    /// The feature spec the retraining jobs name (`features.spec`).
    public var featureSpec: FeatureSpec = .default

    public init(every: Int64 = 0, window: Int64 = 120 * 86_400 * 1_000_000_000, validation: Int64 = 20 * 86_400 * 1_000_000_000,
                minimumAccuracy: Double = 0.47, accuracyWindow: Int = 500, cooldown: Int64 = 7 * 86_400 * 1_000_000_000) {
        self.every = every
        self.window = window
        self.validation = validation
        self.minimumAccuracy = minimumAccuracy
        self.accuracyWindow = accuracyWindow
        self.cooldown = cooldown
    }
}

/// `quorum-monitor`: reads every data topic (read-only), keeps counters and latencies in `MonitorStats`, and
/// publishes retraining jobs for symbols that are being served (predictions seen) on an event-time schedule or
/// when the model's live accuracy decays. Initial models come from an explicit `quorum train`.
public struct MonitorStage: StageLogic, StageInputs {
    public static let defaultGroup = "quorum-monitor"
    public static let inputTopics: [TopicSpec] = Topic.all
    public let group: String
    public let inputs: [String]
    public var rebuildsState: Bool { false }
    let stats: MonitorStats
    let policy: RetrainPolicy
    let barsTopic: String
    let predictionsTopic: String
    let jobsTopic: String
    let shortNames: [String: String]
    let stamp = EnvelopeStamp(producer: "quorum-monitor")
    /// ts_init by message id, for the latency of the messages they cause (bounded FIFO).
    private var tsInit: [String: Int64] = [:]
    private var order: Deque<String> = []
    private let remember = 400_000

    private struct SymbolState: Sendable {
        var firstClose: Nanos?
        var lastClose: Fixed?
        var lastJob: Nanos?
        var pending: (time: Nanos, up: Bool)?
        var outcomes: [Bool] = []
        var outcomeNext = 0
        var interval: Int64 = 0
        /// A prediction was seen: the symbol has an active model, so it is retrained (initial training is explicit).
        var served = false
    }
    private var symbols: [Symbol: SymbolState] = [:]

    public init(namer: TopicNamer, stats: MonitorStats, policy: RetrainPolicy = RetrainPolicy(), group: String = defaultGroup) {
        self.group = namer.group(group)
        self.stats = stats
        self.policy = policy
        inputs = Self.inputTopics.map(namer.name)
        barsTopic = namer.name(Topic.bars)
        predictionsTopic = namer.name(Topic.predictions)
        jobsTopic = namer.name(Topic.trainingJobs)
        var names: [String: String] = [:]
        for spec in Topic.all { names[namer.name(spec)] = String(spec.name.dropFirst("quorum.v1.".count)) }
        shortNames = names
    }

    public mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        // Read-only: a record the monitor cannot read is counted, never dead-lettered (the topic's owner does that).
        do {
            return try observe(message)
        } catch {
            stats.state.withLock { $0.messages["unreadable"] = ($0.messages["unreadable"] ?? 0) + 1 }
            return .done(message)
        }
    }

    private mutating func observe(_ message: IncomingMessage) throws -> StageStep {
        // Every quorum.v1 message starts with its envelope (field 1): read only that, whatever the type.
        let envelope = try Quorum_V1_EnvelopeHeader(serializedBytes: message.value).envelope
        let topic = shortNames[message.topic] ?? message.topic
        let now = envelope.tsInitNs
        let causeInit = tsInit[envelope.causationID]
        let rootInit = tsInit[envelope.correlationID]
        remember(envelope.id, now)
        stats.state.withLock { s in
            s.messages[topic, default: 0] += 1
            s.lastEvent[topic] = envelope.tsEventNs
            if let causeInit, !envelope.producer.isEmpty {
                s.stage[envelope.producer, default: Reservoir()].add(max(0, now - causeInit))
            }
            if let rootInit, envelope.correlationID != envelope.id {
                s.endToEnd[topic, default: Reservoir()].add(max(0, now - rootInit))
            }
        }
        var outputs: [OutgoingMessage] = []
        if message.topic == barsTopic {
            outputs = try onBar(try message.decode(Quorum_V1_Bar.self))
        } else if message.topic == predictionsTopic {
            let p = try message.decode(Quorum_V1_Prediction.self)
            var st = symbols[Symbol(p.symbol)] ?? SymbolState()
            st.pending = (p.envelope.tsEventNs, p.probUp > 0.5)
            if !st.served {
                // The schedule starts when the symbol is first served: its model was just trained.
                st.served = true
                st.lastJob = st.lastJob ?? p.envelope.tsEventNs
            }
            symbols[Symbol(p.symbol)] = st
        }
        return .done(message, outputs)
    }

    private mutating func remember(_ id: String, _ ts: Int64) {
        guard tsInit[id] == nil else { return }
        tsInit[id] = ts
        order.append(id)
        if order.count > remember, let oldest = order.popFirst() { tsInit[oldest] = nil }
    }

    private mutating func onBar(_ wire: Quorum_V1_Bar) throws -> [OutgoingMessage] {
        let bar = try Bar(wire: wire)
        var st = symbols[bar.symbol] ?? SymbolState()
        st.interval = bar.intervalSeconds
        if st.firstClose == nil { st.firstClose = bar.closeTime }
        // Live accuracy: the prediction made at the previous close said up/down for this close.
        if let pending = st.pending, let lastClose = st.lastClose, pending.time == bar.openTime {
            let hit = pending.up == (bar.close > lastClose)
            if st.outcomes.count < policy.accuracyWindow { st.outcomes.append(hit) } else {
                st.outcomes[st.outcomeNext] = hit
                st.outcomeNext = (st.outcomeNext + 1) % policy.accuracyWindow
            }
            st.pending = nil
        }
        st.lastClose = bar.close
        let accuracy = st.outcomes.isEmpty ? nil : Double(st.outcomes.filter { $0 }.count) / Double(st.outcomes.count)
        if let accuracy { stats.state.withLock { $0.accuracy[bar.symbol.name] = accuracy } }

        var reason: String?
        let t = bar.closeTime
        let enoughHistory = st.served && t - (st.firstClose ?? t) >= policy.window + policy.validation
        if enoughHistory, policy.every > 0, t - (st.lastJob ?? Int64.min / 2) >= policy.every {
            reason = "schedule"
        } else if enoughHistory, let accuracy, st.outcomes.count >= policy.accuracyWindow, accuracy < policy.minimumAccuracy,
                  t - (st.lastJob ?? Int64.min / 2) >= policy.cooldown {
            reason = "live accuracy \(String(format: "%.3f", accuracy)) < \(policy.minimumAccuracy)"
        }
        var outputs: [OutgoingMessage] = []
        if reason != nil {
            st.lastJob = t
            st.outcomes = []
            st.outcomeNext = 0
            let jobs = TrainingJobs.make(symbol: bar.symbol, intervalSeconds: bar.intervalSeconds,
                                         trainFrom: t - policy.window - policy.validation, trainTo: t - policy.validation,
                                         validateTo: t, spec: policy.featureSpec, stamp: stamp)
            for job in jobs {
                outputs.append(try OutgoingMessage(topic: jobsTopic, key: job.jobID, message: job, eventTimeNs: t))
            }
            stats.state.withLock { $0.retrainJobs += jobs.count }
        }
        symbols[bar.symbol] = st
        return outputs
    }
}
