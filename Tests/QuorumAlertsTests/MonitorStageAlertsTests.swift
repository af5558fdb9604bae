import QuorumAlerts
import QuorumBus
import QuorumModel
import QuorumPipeline
import QuorumProto
import Synchronization
import Testing

/// Keeps what the stage persists.
final class MemoryAlertSink: AlertRecordSink {
    let stored = Mutex<[RaisedAlert]>([])
    func record(_ alerts: [RaisedAlert]) async throws { stored.withLock { $0 += alerts } }
}

/// The monitor stage's alert path without servers: risk's kill switch in, the monitor's alert out (and persisted);
/// nothing published or persisted while rebuilding; its own alerts on `alerts` are not read back as input.
@Suite("MonitorStageAlertsTests")
struct MonitorStageAlertsTests {
    static func killSwitch(on: Bool, time: Int64, producer: String = "quorum-risk", offset: Int64) throws -> IncomingMessage {
        var a = Quorum_V1_Alert()
        a.envelope = Quorum_V1_Envelope(id: "ks-\(time)-\(on)", tsEventNs: time, tsInitNs: time, producer: producer)
        a.source = producer
        a.code = on ? "KILL_SWITCH_ON" : "KILL_SWITCH_OFF"
        a.message = "daily loss"
        return IncomingMessage(topic: TopicNamer.live.name(Topic.alerts), partition: 0, offset: offset, key: [], value: try a.serializedBytes())
    }

    @Test("risk's KILL_SWITCH_ON becomes one monitor alert on alerts and in the sink; a rebuild replays it silently")
    func killSwitchAlert() async throws {
        let sink = MemoryAlertSink()
        var stage = MonitorStage(namer: .live, stats: MonitorStats(), rules: AlertRulesCore(thresholds: AlertThresholds()), alertSink: sink)
        #expect(stage.rebuildsState)
        let replayed = try stage.handle(try Self.killSwitch(on: true, time: 5, offset: 0), replaying: true)
        #expect(replayed.outputs.isEmpty)
        try await stage.persist()
        #expect(sink.stored.withLock { $0 }.isEmpty, "raised before the restart: already stored")
        #expect(stage.rules?.activeAlerts.map(\.id) == ["kill_switch:risk:5"])

        var fresh = MonitorStage(namer: .live, stats: MonitorStats(), rules: AlertRulesCore(thresholds: AlertThresholds()), alertSink: sink)
        let step = try fresh.handle(try Self.killSwitch(on: true, time: 5, offset: 0), replaying: false)
        #expect(step.outputs.count == 1)
        let wire = try Quorum_V1_Alert(serializedBytes: try #require(step.outputs.first).value)
        #expect(wire.envelope.id == "kill_switch:risk:5")
        #expect(wire.source == "quorum-monitor")
        #expect(wire.code == "kill_switch")
        #expect(wire.severity == .critical)
        #expect(step.outputs.first?.topic == TopicNamer.live.name(Topic.alerts))
        try await fresh.persist()
        #expect(sink.stored.withLock { $0 }.map(\.id) == ["kill_switch:risk:5"])
        // Its own record read back from `alerts` is no input.
        let own = IncomingMessage(topic: TopicNamer.live.name(Topic.alerts), partition: 0, offset: 1, key: [], value: try wire.serializedBytes())
        #expect(try fresh.handle(own, replaying: false).outputs.isEmpty)
        let off = try fresh.handle(try Self.killSwitch(on: false, time: 9, offset: 2), replaying: false)
        #expect(try off.outputs.map { try Quorum_V1_Alert(serializedBytes: $0.value).code } == ["kill_switch_resolved"])
    }
}

extension MonitorStageAlertsTests {
    @Test("a checkpoint keeps the raised alerts: the restored monitor does not raise an active one again and resolves it")
    func alertsInCheckpoint() async throws {
        let sink = MemoryAlertSink()
        var writer = MonitorStage(namer: .live, stats: MonitorStats(), rules: AlertRulesCore(thresholds: AlertThresholds()), alertSink: sink)
        _ = try writer.handle(try Self.killSwitch(on: true, time: 5, offset: 0), replaying: false)
        try await writer.persist()
        var restored = MonitorStage(namer: .live, stats: MonitorStats(), rules: AlertRulesCore(thresholds: AlertThresholds(drawdown: 0.5)),
                                    alertSink: sink)
        try restored.restoreState(try writer.checkpointState())
        #expect(restored.rules?.activeAlerts.map(\.id) == ["kill_switch:risk:5"])
        #expect(restored.rules?.thresholds.drawdown == 0.5, "the thresholds come from the configuration, not the checkpoint")
        #expect(try restored.handle(try Self.killSwitch(on: true, time: 5, offset: 0), replaying: false).outputs.isEmpty)
        let off = try restored.handle(try Self.killSwitch(on: false, time: 9, offset: 1), replaying: false)
        #expect(try off.outputs.map { try Quorum_V1_Alert(serializedBytes: $0.value).code } == ["kill_switch_resolved"])
    }
}

/// A restarted monitor reads only what follows its checkpoint, so what its pages show from the whole stream travels in
/// the checkpoint (MonitorStats.StreamViews).
@Suite("Monitor pages after a restart")
struct MonitorRestartViewsTests {
    static let stamp = EnvelopeStamp(producer: "quorum-test")

    /// 60 half-hour bars of AAA-USD with a prediction after each close, a buy filled at bar 10 and a sell at bar 40,
    /// one dead letter; every record as the monitor reads it, in this order.
    static func stream() throws -> [IncomingMessage] {
        var outs: [OutgoingMessage] = []
        let interval: Int64 = 1800
        for i in 0..<60 {
            let open = Int64(1_700_000_000 + i * 1800) * 1_000_000_000
            let close = Fixed(100 + (i * 7) % 11)
            let bar = Bar(symbol: "AAA-USD", openTime: open, intervalSeconds: interval, open: close, high: close + 1, low: close - 1,
                          close: close, volume: 10)
            outs.append(try OutgoingMessage(topic: TopicNamer.live.name(Topic.bars), key: "AAA-USD", message: bar.wire(stamp: stamp),
                                            eventTimeNs: bar.closeTime))
            var p = Quorum_V1_Prediction()
            p.envelope = stamp.envelope(id: "p-\(i)", tsEvent: bar.closeTime, cause: nil)
            p.symbol = "AAA-USD"
            p.probUp = i % 3 == 0 ? 0.3 : 0.65
            p.barOpenTimeNs = open
            outs.append(try OutgoingMessage(topic: TopicNamer.live.name(Topic.predictions), key: "AAA-USD", message: p, eventTimeNs: bar.closeTime))
            if i == 10 || i == 40 {
                var r = Quorum_V1_ExecutionReport()
                r.envelope = stamp.envelope(id: "r-\(i)", tsEvent: open, cause: nil)
                r.clientOrderID = "o-\(i)"
                r.fillID = "o-\(i)-f1"
                r.symbol = "AAA-USD"
                r.side = i == 10 ? .buy : .sell
                r.status = .filled
                r.fillQuantity = Fixed(5).wire
                r.fillPrice = close.wire
                r.fee = Fixed(units: 1_000_000).wire
                outs.append(try OutgoingMessage(topic: TopicNamer.live.name(Topic.executionReports), key: "o-\(i)", message: r, eventTimeNs: open))
            }
        }
        return outs.enumerated().map { i, out in
            IncomingMessage(topic: out.topic, partition: 0, offset: Int64(i), key: out.key, value: out.value, headers: out.headers)
        }
    }

    static func monitor(_ stats: MonitorStats) -> MonitorStage {
        MonitorStage(namer: .live, stats: stats, rules: AlertRulesCore(thresholds: AlertThresholds()), alertSink: MemoryAlertSink())
    }

    @Test("counts, live accuracy, calibration, account and equity curve survive a restart from the checkpoint; the rest follows live")
    func pagesSurviveRestart() async throws {
        let records = try Self.stream()
        let cut = records.count * 2 / 3
        let uninterrupted = MonitorStats()
        var whole = Self.monitor(uninterrupted)
        for r in records { _ = try whole.handle(r, replaying: false) }

        let before = MonitorStats()
        var first = Self.monitor(before)
        for r in records[..<cut] { _ = try first.handle(r, replaying: false) }
        let after = MonitorStats()
        var second = Self.monitor(after)
        try second.restoreState(try first.checkpointState())
        for r in records[cut...] { _ = try second.handle(r, replaying: false) }

        let expected = uninterrupted.dashboard(now: 1, withEquity: true), got = after.dashboard(now: 1, withEquity: true)
        #expect(!expected.equity.isEmpty && expected.account != nil)
        #expect(got.equity == expected.equity && got.equityTimes == expected.equityTimes)
        #expect(got.account == expected.account)
        #expect(got.calibration == expected.calibration && (expected.calibration["AAA-USD"]?.scored ?? 0) > 50)
        #expect(got.producerMessages == expected.producerMessages)
        let expectedStatus = uninterrupted.snapshot(), gotStatus = after.snapshot()
        #expect(gotStatus.messages == expectedStatus.messages)
        #expect(gotStatus.liveAccuracy == expectedStatus.liveAccuracy && expectedStatus.liveAccuracy["AAA-USD"] != nil)
    }
}
