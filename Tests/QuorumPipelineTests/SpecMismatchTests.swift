import QuorumBus
import QuorumFeatures
import QuorumModel
import QuorumPipeline
import QuorumProto
import Testing

@Suite("Feature spec mismatches")
struct SpecMismatchTests {
    static func message(_ vector: FeatureVector, spec: FeatureSpec) throws -> IncomingMessage {
        let wire = vector.wire(spec: spec, intervalSeconds: 1800, stamp: EnvelopeStamp(producer: "test"), cause: Quorum_V1_Envelope())
        let out = try OutgoingMessage(topic: TopicNamer.live.name(Topic.features), key: wire.symbol, message: wire, eventTimeNs: vector.barCloseTime)
        return IncomingMessage(topic: out.topic, partition: 0, offset: 0, key: out.key, value: out.value, headers: out.headers)
    }

    static func warmVector(spec: FeatureSpec) throws -> FeatureVector {
        var core = FeaturesCore(spec: spec)
        var last: FeatureVector?
        for bar in Fixtures.bars(symbol: "BTC-USD", count: 300, seed: 3) {
            for case .publish(let v) in try core.handle(bar) { last = v }
        }
        let vector = try #require(last)
        try #require(vector.isWarm)
        return vector
    }

    @Test("inference rejects a vector of another spec than its model's, naming both; a vector of the model's spec is scored")
    func inference() throws {
        let bars = Fixtures.bars(symbol: "BTC-USD", count: 600, seed: 3)
        let model = try Fixtures.model(bars: bars, trainBars: 500)   // trained on core-v1
        var stage = InferenceStage(namer: .live, initialModels: [model], hotState: nil)
        let rich = try Self.warmVector(spec: .richV1)
        do {
            _ = try stage.handle(try Self.message(rich, spec: .richV1), replaying: false)
            Issue.record("expected a rejection")
        } catch let error as RejectedMessage {
            #expect(error.description.contains("rich-v1@\(FeatureSpec.richV1.versionHex)") && error.description.contains(FeatureSpec.coreV1.versionHex),
                    "\(error)")
        }
        let core = try Self.warmVector(spec: .coreV1)
        let step = try stage.handle(try Self.message(core, spec: .coreV1), replaying: false)
        #expect(step.outputs.count == 1)
    }

    @Test("consensus rejects a vector of another spec than the one it is configured with")
    func consensus() throws {
        var stage = ConsensusStage(namer: .live, spec: .richV1)
        let core = try Self.warmVector(spec: .coreV1)
        #expect(throws: RejectedMessage.self) { _ = try stage.handle(try Self.message(core, spec: .coreV1), replaying: false) }
    }
}
