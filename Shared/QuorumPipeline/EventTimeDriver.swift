import DequeModule
import QuorumBus
import QuorumModel
import QuorumProto

/// Runs the cluster's stage logics in one task, in event-time order, with no bus hops, no sleeps and no clock: the
/// driver of backtests (DESIGN.md §3, §9). The same `StageLogic`s as the services see the same messages, so a backtest
/// makes the decisions the cluster makes.
///
/// - Bars go in grouped by close time (then symbol), and everything a group causes — features, predictions,
///   decisions, orders, execution reports — is handled before the next group: a FIFO of published records, each
///   delivered to every stage that consumes its topic (in the order the stages were given).
/// - A record a stage rejects (`RejectedMessage`) goes to its topic's dead-letter twin, as in the cluster.
/// - `finish()` tells risk the input has ended (`RiskStage.endOfInput`), so decisions it still holds for other symbols
///   are released without any wall-clock timeout.
/// - Envelopes are stamped with `ts_init` = event time (`EnvelopeStamp.stampsEventTime`): the same input gives the
///   same bytes on every run.
///
/// Records of the topics in `keep` are kept (`records(_:)`), in publication order with offsets per topic.
public struct EventTimeDriver: Sendable {
    public private(set) var stages: [any StageLogic]
    private let routes: [String: [Int]]
    private let keep: Set<String>
    private var offsets: [String: Int64] = [:]
    private var kept: [String: [IncomingMessage]] = [:]
    /// Records handled per topic (each delivery to each consuming stage counts once per record).
    public private(set) var published: [String: Int] = [:]
    private let namer: TopicNamer
    private let stamp = EnvelopeStamp(producer: "quorum-backtest")

    /// - Parameters:
    ///   - stages: the stage logics, e.g. features, inference, consensus, risk (made with no idle timeout), execution.
    ///   - keep: full topic names whose records to keep for inspection (digests, reports); dead-letter topics of
    ///     kept topics are kept too.
    public init(stages: [any StageLogic], namer: TopicNamer, keep: Set<String> = []) {
        self.stages = stages
        self.namer = namer
        var routes: [String: [Int]] = [:]
        for (index, stage) in stages.enumerated() {
            for topic in stage.inputs { routes[topic, default: []].append(index) }
        }
        self.routes = routes
        self.keep = keep.union(keep.map { $0 + Topic.deadLetterSuffix })
    }

    /// The kept records of a topic (full name), in publication order.
    public func records(_ topic: String) -> [IncomingMessage] { kept[topic] ?? [] }

    /// Records published at an event time, ahead of the bars that close then (e.g. a walk-forward fold's model
    /// activation at the fold's start).
    public struct Scheduled: Sendable {
        public var time: Nanos
        public var messages: [OutgoingMessage]

        public init(time: Nanos, messages: [OutgoingMessage]) {
            self.time = time
            self.messages = messages
        }
    }

    /// Runs the bars through the stages, then `finish()`. Each `scheduled` entry (in time order) is published, with what
    /// it causes, before the first bars closing at or after its time. `progress` is called after each close time with
    /// the bars done so far.
    public mutating func run(_ bars: [ArchivedBarRecord], scheduled: [Scheduled] = [], progress: ((Int) -> Void)? = nil) async throws {
        try await EnvelopeStamp.$stampsEventTime.withValue(true) {
            var index = 0
            var nextScheduled = 0
            var groups = 0
            while index < bars.count {
                let close = bars[index].bar.closeTime
                while nextScheduled < scheduled.count, scheduled[nextScheduled].time <= close {
                    try await publish(scheduled[nextScheduled].messages)
                    nextScheduled += 1
                }
                var group: [OutgoingMessage] = []
                while index < bars.count, bars[index].bar.closeTime == close {
                    let r = bars[index]
                    let wire = r.bar.wire(stamp: stamp, file: r.file, line: UInt64(r.line))
                    group.append(try OutgoingMessage(topic: namer.name(Topic.bars), key: wire.symbol, message: wire,
                                                     eventTimeNs: r.bar.closeTime))
                    index += 1
                }
                try await publish(group)
                progress?(index)
                // A long run shares the cooperative thread pool with the process's other tasks (servers' clients,
                // other tests): give them a turn now and then. This changes no output.
                groups += 1
                if groups % 256 == 0 { await Task.yield() }
            }
            try await finish()
        }
    }

    /// Delivers the records and everything they cause, until nothing is left to handle.
    public mutating func publish(_ messages: [OutgoingMessage]) async throws {
        var queue = Deque(messages)
        while let message = queue.popFirst() {
            let offset = offsets[message.topic, default: 0]
            offsets[message.topic] = offset + 1
            published[message.topic, default: 0] += 1
            let incoming = IncomingMessage(topic: message.topic, partition: 0, offset: offset, key: message.key,
                                           value: message.value, headers: message.headers, timestampMs: message.timestampMs)
            if keep.contains(message.topic) { kept[message.topic, default: []].append(incoming) }
            for index in routes[message.topic] ?? [] {
                let step: StageStep
                do {
                    step = try stages[index].handle(incoming, replaying: false)
                } catch let rejection as RejectedMessage {
                    queue.append(incoming.deadLetter(rejection, group: stages[index].group))
                    continue
                }
                try await stages[index].persist()
                queue.append(contentsOf: step.outputs)
            }
        }
    }

    /// The input has ended: risk releases what it still holds (see `RiskStage.endOfInput`), and what that causes runs.
    public mutating func finish() async throws {
        try await EnvelopeStamp.$stampsEventTime.withValue(true) {
            for index in stages.indices {
                guard var risk = stages[index] as? RiskStage else { continue }
                let step = try risk.endOfInput()
                stages[index] = risk
                try await stages[index].persist()
                try await publish(step.outputs)
            }
        }
    }

    /// The first stage of a type (e.g. `stage(RiskStage.self)` for its final state).
    public func stage<S: StageLogic>(_ type: S.Type) -> S? {
        stages.lazy.compactMap { $0 as? S }.first
    }
}
