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
