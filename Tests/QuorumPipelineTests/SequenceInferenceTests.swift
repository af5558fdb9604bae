import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import Testing

@Suite("Inference with a sequence model")
struct SequenceInferenceTests {
    @Test("a tcn scores the symbol's last K warm vectors, oldest first, as its trainer built its rows; nothing before K of them; it rebuilds that history")
    func history() throws {
        let bars = Fixtures.bars(symbol: "BTC-USD", count: 600, seed: 5)
        let k = 6
        let served = try Fixtures.model(bars: bars, trainBars: 500,
                                        hyperparameters: .tcn(TCNHyperparameters(sequenceLength: k, channels: 4, layers: 2, epochs: 3)))
        #expect(served.model.sequenceLength == k)
        var stage = InferenceStage(namer: .live, initialModels: [served], hotState: nil)
        #expect(stage.rebuildsState, "the window history is state: rebuilt at start-up")
        #expect(!InferenceStage(namer: .live, initialModels: [try Fixtures.model(bars: bars, trainBars: 500)], hotState: nil).rebuildsState)

        var core = FeaturesCore(spec: .coreV1)
        var warm: [FeatureVector] = []
        var predictions: [Quorum_V1_Prediction] = []
        for bar in bars.suffix(100) {
            for case .publish(let v) in try core.handle(bar) {
                let step = try stage.handle(try SpecMismatchTests.message(v, spec: .coreV1), replaying: false)
                if v.isWarm { warm.append(v) }
                predictions += try step.outputs.map { try Quorum_V1_Prediction(serializedBytes: $0.value) }
            }
        }
        // The first warm vectors of this stream come after the fixture's warm-up, so the first K − 1 give nothing.
        #expect(warm.count > k && predictions.count == warm.count - (k - 1))
        for (i, p) in predictions.enumerated() {
            let window: [Double] = warm[i...(i + k - 1)].flatMap(\.values)
            let expected: Double = try served.model.score(window).probUp
            let latest: FeatureVector = warm[i + k - 1]
            #expect(p.probUp == expected)
            #expect(p.envelope.tsEventNs == latest.barCloseTime)
        }
    }
}

extension SequenceInferenceTests {
    @Test("a checkpoint keeps the tcn's window history: the restored stage scores the next vectors as the one that wrote it")
    func historyInCheckpoint() throws {
        let bars = Fixtures.bars(symbol: "BTC-USD", count: 600, seed: 5)
        let served = try Fixtures.model(bars: bars, trainBars: 500,
                                        hyperparameters: .tcn(TCNHyperparameters(sequenceLength: 6, channels: 4, layers: 2, epochs: 3)))
        var core = FeaturesCore(spec: .coreV1)
        var messages: [IncomingMessage] = []
        for bar in bars.suffix(100) {
            for case .publish(let v) in try core.handle(bar) where v.isWarm { messages.append(try SpecMismatchTests.message(v, spec: .coreV1)) }
        }
        var writer = InferenceStage(namer: .live, initialModels: [served], hotState: nil)
        for m in messages.prefix(40) { _ = try writer.handle(m, replaying: false) }
        var restored = InferenceStage(namer: .live, initialModels: [served], hotState: nil)
        try restored.restoreState(try writer.checkpointState())
        var fresh = InferenceStage(namer: .live, initialModels: [served], hotState: nil)
        /// Id and probability of each prediction (ts_init is wall time).
        func predictions(_ stage: inout InferenceStage) throws -> [String] {
            try messages.dropFirst(40).prefix(3).flatMap { m in
                try stage.handle(m, replaying: false).outputs.map {
                    let p = try Quorum_V1_Prediction(serializedBytes: $0.value)
                    return "\(p.envelope.id) \(p.probUp.bitPattern)"
                }
            }
        }
        let expected = try predictions(&writer)
        #expect(expected.count == 3)
        #expect(try predictions(&restored) == expected)
        #expect(try predictions(&fresh).isEmpty, "without the history the first windows are not there yet")
    }
}

@Suite("Model activation order")
struct ActivationOrderTests {
    @Test("two workers' activation events in the wrong order: inference keeps the later activation (higher count)")
    func staleActivationIgnored() throws {
        let bars = Fixtures.bars(symbol: "BTC-USD", count: 600, seed: 5)
        let trained = try Fixtures.model(bars: bars, trainBars: 500).model
        var core = InferenceCore(models: [])
        let swaps = [("c1", 2), ("c0", 1), ("c2", 3), ("c3", 0)].map { id, sequence in
            core.activate(ServedModel(modelID: id, model: trained, activationSequence: UInt64(sequence)))
        }
        // c0, the earlier activation, arrives last and is ignored; an uncounted one (backtests) always wins.
        #expect(swaps == [true, false, true, true])
        #expect(core.models["BTC-USD"]?.modelID == "c3")
    }
}
