import Logging
import QuorumBus
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumRisk
import Synchronization
import Testing

/// An `InMemoryBus` whose producers fail their first `failures` sends, like a broker that is away for a moment.
final class FlakyBus: MessageBus {
    let inner = InMemoryBus()
    let failuresLeft: Mutex<Int>
    let sendCalls = Atomic<Int>(0)

    init(failures: Int) { failuresLeft = Mutex(failures) }

    struct BrokerAway: Error, CustomStringConvertible {
        var description: String { "broker away (test)" }
    }

    final class Producer: MessageProducer {
        let bus: FlakyBus
        let inner: any MessageProducer
        init(bus: FlakyBus, inner: any MessageProducer) {
            self.bus = bus
            self.inner = inner
        }
        func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
            bus.sendCalls.add(1, ordering: .relaxed)
            let fail = bus.failuresLeft.withLock { left -> Bool in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
            if fail { throw BrokerAway() }
            return try await inner.send(messages)
        }
        func flush(timeout: Duration) async throws { try await inner.flush(timeout: timeout) }
        func close() async { await inner.close() }
    }

    func createTopics(_ topics: [TopicSpec]) async throws { try await inner.createTopics(topics) }
    func makeProducer(clientID: String) throws -> any MessageProducer {
        Producer(bus: self, inner: try inner.makeProducer(clientID: clientID))
    }
    func makeConsumer(group: String, topics: [String], clientID: String, startAt: StartPosition) throws -> any MessageConsumer {
        try inner.makeConsumer(group: group, topics: topics, clientID: clientID, startAt: startAt)
    }
    func offsetsForTimes(topic: String, timestampMs: Int64) async throws -> [Int32: Int64] {
        try await inner.offsetsForTimes(topic: topic, timestampMs: timestampMs)
    }
    func watermarks(topic: String) async throws -> [Int32: Watermark] { try await inner.watermarks(topic: topic) }
    func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] {
        try await inner.committedOffsets(group: group, topic: topic)
    }
    func setCommittedOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws {
        try await inner.setCommittedOffsets(group: group, topic: topic, offsets: offsets)
    }
    func deleteConsumerGroup(_ group: String) async throws { try await inner.deleteConsumerGroup(group) }
    func consumerGroups() async throws -> [String] { try await inner.consumerGroups() }
}

/// A denial sink that fails its first `failures` calls (Postgres away), then records.
final class FlakyDenialSink: DenialRecordSink {
    let failuresLeft: Mutex<Int>
    let recorded = Mutex<[OrderDenial]>([])
    init(failures: Int) { failuresLeft = Mutex(failures) }

    struct PostgresAway: Error {}

    func record(_ denials: [OrderDenial]) async throws {
        let fail = failuresLeft.withLock { left -> Bool in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { throw PostgresAway() }
        recorded.withLock { $0 += denials }
    }
}

/// Runs `host` until it has handled `count` messages, then stops it (the batch in hand is finished, published and
/// committed) and returns `run`'s outcome.
func runUntilHandled<L: StageLogic>(_ host: StageHost<L>, count: Int) async throws {
    let task = Task { try await host.run() }
    for _ in 0..<1000 where host.handledTotal.load(ordering: .relaxed) < count {
        try await Task.sleep(for: .milliseconds(10))
    }
    host.stop()
    try await task.value
}

@Suite("Risk stage: nothing on the order path is dropped silently")
struct RiskStageTests {
    static let symbol = "BTC-USD"
    static let time: Nanos = 1_600_000_000 * 1_000_000_000

    static func decision(_ id: String, action: Quorum_V1_Decision.Action, target: Int, at time: Nanos = time) throws -> OutgoingMessage {
        var d = Quorum_V1_Decision()
        d.envelope = Quorum_V1_Envelope(id: id, correlationID: id, causationID: "", tsEventNs: time, tsInitNs: time, producer: "test")
        d.symbol = symbol
        d.action = action
        d.targetPosition = Fixed(target).wire
        d.referencePrice = Fixed(20_000).wire
        d.atr = 200
        return try OutgoingMessage(topic: TopicNamer.live.name(Topic.decisions), key: symbol, message: d, eventTimeNs: time)
    }

    static func control(_ id: String, kind: Quorum_V1_ControlCommand.Kind) throws -> OutgoingMessage {
        var c = Quorum_V1_ControlCommand()
        c.envelope = Quorum_V1_Envelope(id: id, correlationID: id, causationID: "", tsEventNs: time, tsInitNs: time, producer: "test")
        c.kind = kind
        c.actor = "test"
        return try OutgoingMessage(topic: TopicNamer.live.name(Topic.control), key: "quorum-risk", message: c, eventTimeNs: time)
    }

    static func publish(_ bus: InMemoryBus, _ messages: [OutgoingMessage]) async throws {
        try await bus.createTopics(TopicNamer.live.specsWithNames())
        _ = try await bus.makeProducer(clientID: "test").send(messages)
    }

    static func risk(denials: (any DenialRecordSink)? = nil) -> RiskStage {
        RiskStage(namer: .live, idleTimeout: .seconds(3600), expectedSymbols: [Symbol(symbol)], hotState: nil, denialSink: denials)
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test("a publish that fails is retried: the approval is published and only then is its decision committed")
    func failedPublishKeepsTheApproval() async throws {
        let bus = FlakyBus(failures: 3)
        try await Self.publish(bus.inner, [try Self.decision("d-1", action: .buy, target: 1)])
        let host = StageHost(logic: Self.risk(), bus: bus, logger: Self.logger)
        try await runUntilHandled(host, count: 1)

        #expect(bus.sendCalls.load(ordering: .relaxed) >= 4)
        let approved = try await bus.inner.readAll(topic: TopicNamer.live.name(Topic.ordersApproved))
        #expect(approved.count == 1)
        let committed = try await bus.inner.committedOffsets(group: host.state.group, topic: TopicNamer.live.name(Topic.decisions))
        #expect(committed.values.reduce(0, +) == 1)
    }

    @Test("a denial whose audit record fails is retried: recorded, published and committed, never skipped")
    func failedDenialSinkKeepsTheDenial() async throws {
        let bus = InMemoryBus()
        // A short entry on a spot account is denied (shorting disabled).
        try await Self.publish(bus, [try Self.decision("d-short", action: .sell, target: -1)])
        let sink = FlakyDenialSink(failures: 2)
        let host = StageHost(logic: Self.risk(denials: sink), bus: bus, logger: Self.logger)
        try await runUntilHandled(host, count: 1)

        #expect(sink.recorded.withLock { $0.map(\.reason) } == [.shortingDisabled])
        let denied = try await bus.readAll(topic: TopicNamer.live.name(Topic.ordersDenied))
        #expect(denied.count == 1)
        let committed = try await bus.committedOffsets(group: host.state.group, topic: TopicNamer.live.name(Topic.decisions))
        #expect(committed.values.reduce(0, +) == 1)
    }

    @Test("a control command of unknown kind (99) goes to control.dlq with the reason; the next command still applies")
    func unknownControlKindIsDeadLettered() async throws {
        let bus = InMemoryBus()
        try await Self.publish(bus, [try Self.control("c-99", kind: .UNRECOGNIZED(99)), try Self.control("c-on", kind: .killSwitchOn)])
        let host = StageHost(logic: Self.risk(), bus: bus, logger: Self.logger)
        try await runUntilHandled(host, count: 2)

        let letters = try await bus.readAll(topic: TopicNamer.live.deadLetterName(Topic.control))
        try #require(letters.count == 1)
        #expect(letters[0].header(DeadLetterHeader.reason)?.text == DeadLetterReason.invalid.rawValue)
        #expect(letters[0].header(DeadLetterHeader.detail)?.text.contains("unknown kind 99") == true)
        #expect(host.state.core.manualKill)
        let committed = try await bus.committedOffsets(group: host.state.group, topic: TopicNamer.live.name(Topic.control))
        #expect(committed.values.reduce(0, +) == 2)
    }

    @Test("each batch report counts records handled per topic, dead letters by reason and outputs per topic; risk counts its verdicts")
    func batchReportsAndRiskCounts() async throws {
        let bus = InMemoryBus()
        let later = Self.time + 1_800 * 1_000_000_000
        // A short entry on a spot account (denied: shorting disabled), then a buy (approved), and a control command of
        // unknown kind (dead-lettered as invalid).
        try await Self.publish(bus, [try Self.decision("d-short", action: .sell, target: -1),
                                     try Self.decision("d-buy", action: .buy, target: 1, at: later),
                                     try Self.control("c-99", kind: .UNRECOGNIZED(99))])
        let host = StageHost(logic: Self.risk(), bus: bus, logger: Self.logger)
        let reports = Mutex<[StageBatchReport]>([])
        host.onBatchReport = { report, _ in reports.withLock { $0.append(report) } }
        try await runUntilHandled(host, count: 3)

        let all = reports.withLock { $0 }
        func sum(_ part: (StageBatchReport) -> [String: Int], _ topic: String) -> Int { all.reduce(0) { $0 + (part($1)[topic] ?? 0) } }
        let live = TopicNamer.live
        #expect(sum(\.handled, live.name(Topic.decisions)) == 2)
        #expect(sum(\.handled, live.name(Topic.control)) == 1)
        let invalid = StageBatchReport.DeadLetterKey(topic: live.name(Topic.control), reason: .invalid)
        #expect(all.reduce(0) { $0 + ($1.deadLetters[invalid] ?? 0) } == 1)
        #expect(all.reduce(0) { $0 + $1.deadLetters.count } == 1)
        #expect(sum(\.published, live.name(Topic.ordersApproved)) == 1)
        #expect(sum(\.published, live.name(Topic.ordersDenied)) == 1)
        #expect(sum(\.published, live.deadLetterName(Topic.control)) == 1)
        #expect(all.contains { $0.duration != nil })
        #expect(host.state.counts.approved == 1)
        #expect(host.state.counts.denied == [.shortingDisabled: 1])
    }

    @Test("an execution report with an unknown status is rejected (dead-lettered), not taken as 'not final yet'")
    func unknownReportStatusIsRejected() throws {
        var report = Quorum_V1_ExecutionReport()
        report.envelope = Quorum_V1_Envelope(id: "r-1", correlationID: "r-1", causationID: "", tsEventNs: Self.time,
                                             tsInitNs: Self.time, producer: "test")
        report.clientOrderID = "q-1"
        report.status = .UNRECOGNIZED(42)
        let out = try OutgoingMessage(topic: TopicNamer.live.name(Topic.executionReports), key: "q-1", message: report, eventTimeNs: Self.time)
        let message = IncomingMessage(topic: out.topic, partition: 0, offset: 0, key: out.key, value: out.value, headers: out.headers)
        var risk = Self.risk()
        #expect(throws: RejectedMessage.self) { _ = try risk.handle(message, replaying: false) }
    }
}

/// A stage that throws a plain error (not `RejectedMessage`) for one message: the host's contract for an output it
/// cannot make (e.g. risk failing to encode an approval).
struct ThrowingLogic: StageLogic {
    struct EncodeFailed: Error {}
    let group = "test-throwing"
    let inputs: [String]
    let failOn: Int64?
    var rebuildsState: Bool { false }

    func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep {
        if message.offset == failOn { throw EncodeFailed() }
        return .done(message)
    }
}

@Suite("Stage host: an error of the stage fails the batch")
struct StageHostFailureTests {
    @Test("an error thrown by handle ends run with it and commits nothing of that message; a restart handles it again")
    func handleErrorFailsTheBatch() async throws {
        let bus = InMemoryBus()
        let topic = "test.throwing.input"
        try await bus.createTopics([TopicSpec(name: topic, key: .symbol, valueType: "bytes", partitions: 1, retentionMs: -1, summary: "test")])
        _ = try await bus.makeProducer(clientID: "test").send(
            (0..<3).map { OutgoingMessage(topic: topic, key: "k", value: [UInt8($0)]) })

        let failing = StageHost(logic: ThrowingLogic(inputs: [topic], failOn: 1), bus: bus, logger: RiskStageTests.logger)
        await #expect(throws: ThrowingLogic.EncodeFailed.self) { try await failing.run() }
        let committed = try await bus.committedOffsets(group: "test-throwing", topic: topic)[0] ?? 0
        #expect(committed <= 1, "the failed message (offset 1) must stay uncommitted: committed up to \(committed)")

        let restarted = StageHost(logic: ThrowingLogic(inputs: [topic], failOn: nil), bus: bus, logger: RiskStageTests.logger)
        try await runUntilHandled(restarted, count: 3 - Int(committed))
        let after = try await bus.committedOffsets(group: "test-throwing", topic: topic)
        #expect(after == [0: 3])
    }
}
