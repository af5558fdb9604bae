import Foundation
import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import Synchronization
import Testing

/// `TrainerLogic` over an in-memory `TrainerIO`: what quorum-trainer does with each kind of job, and in which order its
/// effects happen.
@Suite("Trainer logic")
struct TrainerLogicTests {
    /// Memory for the stores and the bus; every call is logged in order.
    final class MemoryIO: TrainerIO {
        struct State {
            var calls: [String] = []
            var recorded: Set<String> = []
            var registered: [TrainerLogic.Registration] = []
            var published: [OutgoingMessage] = []
            var active: String?
        }
        let bars: [Bar]
        let state = Mutex(State())

        init(bars: [Bar]) { self.bars = bars }

        func isRecorded(jobID: String) async throws -> Bool { state.withLock { $0.recorded.contains(jobID) } }
        func bars(symbol: Symbol, intervalSeconds: Int64, throughOpen: Nanos) async throws -> [Bar] {
            state.withLock { $0.calls.append("bars \(symbol.name)") }
            return bars.filter { $0.symbol == symbol && $0.openTime <= throughOpen }
        }
        func register(_ model: TrainerLogic.Registration) async throws {
            state.withLock { $0.calls.append("register \(model.modelID) passed=\(model.passed)"); $0.registered.append(model) }
        }
        func activateIfBetter(modelID: String, metric: String) async throws -> TrainerLogic.Activation {
            state.withLock { s in
                s.calls.append("activate \(modelID)")
                if let active = s.active { return .kept(active: active) }
                s.active = modelID
                return .activated(previous: nil, sequence: 4)
            }
        }
        func publish(_ messages: [OutgoingMessage]) async throws {
            state.withLock { $0.calls.append("publish \(messages.count)"); $0.published += messages }
        }
        func record(_ result: Quorum_V1_TrainingResult, modelID: String?) async throws {
            state.withLock { $0.calls.append("record \(result.jobID) \(result.status)"); $0.recorded.insert(result.jobID) }
        }
    }

    static let bars = Fixtures.bars(symbol: "BTC-USD", count: 700, seed: 11)

    static func job(_ id: String, trial: Bool = false, returnArtifact: Bool = false, trainBars: Int = 400, spec: FeatureSpec = .coreV1,
                    kind: String? = nil) throws -> IncomingMessage {
        let b = bars
        var job = TrainingJobs.make(symbol: "BTC-USD", intervalSeconds: b[0].intervalSeconds, trainFrom: b[0].openTime,
                                    trainTo: b[trainBars].openTime, validateTo: b[650].openTime,
                                    candidates: [.logistic(LogisticHyperparameters())], spec: spec, stamp: EnvelopeStamp(producer: "test"))[0]
        job.jobID = id
        job.trial = trial
        job.returnArtifact = returnArtifact
        if let kind { job.modelKind = kind }
        let out = try OutgoingMessage(topic: TopicNamer.live.name(Topic.trainingJobs), key: id, message: job, eventTimeNs: job.envelope.tsEventNs)
        return IncomingMessage(topic: out.topic, partition: 0, offset: 0, key: out.key, value: out.value, headers: out.headers)
    }

    static let logic = TrainerLogic(specs: FeatureSpec.builtIns, gate: ValidationGate(minimumCount: 10, minimumImprovement: -1),
                                    worker: "trainer-test", namer: .live)

    @Test("an ordinary job: register, activate, publish the result and both model events, record last; a redelivery is skipped")
    func ordinary() async throws {
        let io = MemoryIO(bars: Self.bars)
        let handled = try await Self.logic.handle(try Self.job("j1"), io: io)
        guard case .trained(let modelID?, true, .activated(nil, 4)?, let rows) = handled else { Issue.record("\(handled)"); return }
        #expect(modelID == "model-j1" && rows > 500)
        let s = io.state.withLock { $0 }
        #expect(s.calls == ["bars BTC-USD", "register model-j1 passed=true", "activate model-j1", "publish 3", "record j1 succeeded"])
        let result = try Quorum_V1_TrainingResult(serializedBytes: s.published[0].value)
        #expect(result.status == .succeeded && result.worker == "trainer-test" && result.metrics["log_loss"] != nil && result.artifact.isEmpty)
        let events = try s.published.dropFirst().map { try Quorum_V1_ModelEvent(serializedBytes: $0.value) }
        #expect(events.map(\.kind) == [.registered, .activated])
        #expect(events[1].activationSequence == 4, "the registry's count goes with the event")
        #expect(try TrainedModel(artifact: Array(events[1].artifactBytes)) == s.registered[0].model)
        // Redelivered after it was recorded: nothing happens.
        #expect(try await Self.logic.handle(try Self.job("j1"), io: io) == .skipped)
        #expect(io.state.withLock { $0.calls.count } == 5)
    }

    @Test("a second model that does not beat the active one is registered, not activated: one model event")
    func kept() async throws {
        let io = MemoryIO(bars: Self.bars)
        _ = try await Self.logic.handle(try Self.job("a"), io: io)
        let handled = try await Self.logic.handle(try Self.job("b"), io: io)
        guard case .trained("model-b", true, .kept(active: "model-a")?, _) = handled else { Issue.record("\(handled)"); return }
        #expect(io.state.withLock { $0.published.count } == 3 + 2)
    }

    @Test("a tuning trial registers nothing; with return_artifact its result carries the model")
    func trial() async throws {
        let io = MemoryIO(bars: Self.bars)
        let handled = try await Self.logic.handle(try Self.job("t1", trial: true, returnArtifact: true), io: io)
        guard case .trained(nil, _, nil, _) = handled else { Issue.record("\(handled)"); return }
        let s = io.state.withLock { $0 }
        #expect(s.calls == ["bars BTC-USD", "publish 1", "record t1 succeeded"])
        let result = try Quorum_V1_TrainingResult(serializedBytes: s.published[0].value)
        #expect(try TrainedModel(artifact: Array(result.artifact)).symbol == "BTC-USD")
        _ = try await Self.logic.handle(try Self.job("t2", trial: true), io: io)
        #expect(try Quorum_V1_TrainingResult(serializedBytes: io.state.withLock { $0.published.last!.value }).artifact.isEmpty)
    }

    @Test("a job that cannot train is a failed result and run; a job that can never be trained is a dead letter, with no effect")
    func failures() async throws {
        let io = MemoryIO(bars: Self.bars)
        let handled = try await Self.logic.handle(try Self.job("short", trainBars: 30), io: io)
        guard case .failed(let reason, _) = handled else { Issue.record("\(handled)"); return }
        #expect(reason.contains("tooFewRows"))
        #expect(io.state.withLock { $0.calls } == ["bars BTC-USD", "publish 1", "record short failed"])
        await #expect(throws: RejectedMessage.self) { _ = try await Self.logic.handle(try Self.job("kind", kind: "forest"), io: io) }
        let custom = try FeatureSpec.parse(#"{"name": "custom", "features": [{"kind": "ema", "period": 5}]}"#, file: "custom.json")
        await #expect(throws: RejectedMessage.self) { _ = try await Self.logic.handle(try Self.job("spec", spec: custom), io: io) }
        #expect(io.state.withLock { $0.calls.count } == 3, "no effect for a dead letter")
    }
}
