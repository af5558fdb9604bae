import QuorumBus
import QuorumFeatures
import QuorumModel
import QuorumPipeline
import QuorumProto

extension FuzzEntries {
    /// The stage logics whose `handle` takes bus records, in selector order; "trainer" is the trainer's job decoding
    /// (`TrainerLogic.handle`'s first steps: the `TrainingJob` and its mapping to a `TrainingJobSpec`, without training).
    public static let stageNames = ["features", "inference", "consensus", "risk", "execution", "monitor", "trainer"]

    /// `FuzzStageInputs`: records on a stage's input topics, handled by a fresh stage logic as its `StageHost` does
    /// (the protobuf decoders of QuorumProto, the mapping to domain values in Mapping.swift, the stage's own checks).
    ///
    /// Input: one selector byte (the stage: `stageNames[selector % 7]`), then up to 32 records, each
    /// `[topic byte][flags byte][key length byte][value length, 2 bytes LE][key][value]`; the topic byte picks one
    /// of the stage's inputs, flag bit 0 handles it as `replaying`, bit 1 adds a wrong `quorum.type` header.
    /// After the records, one `tick()`. Every record must be handled or rejected with a `RejectedMessage` that has a
    /// reason (a dead letter); any other error would fail the stage's run on that record forever (a poison message),
    /// so it is a finding, as is a trap.
    @Sendable public static func stageInputs(_ bytes: [UInt8]) {
        var input = FuzzBytes(bytes)
        guard let selector = input.byte() else { return }
        switch Int(selector) % stageNames.count {
        case 0:
            var stage = FeaturesStage(namer: .live, hotState: nil)
            drive(&stage, &input)
        case 1:
            var stage = InferenceStage(namer: .live, initialModels: [], hotState: nil)
            drive(&stage, &input)
        case 2:
            var stage = ConsensusStage(namer: .live)
            drive(&stage, &input)
        case 3:
            var stage = RiskStage(namer: .live, idleTimeout: .seconds(3600), expectedSymbols: ["BTC-USD", "ETH-USD"],
                                  hotState: nil, denialSink: nil)
            drive(&stage, &input)
        case 4:
            var stage = ExecutionStage(namer: .live, records: nil)
            drive(&stage, &input)
        case 5:
            var stage = MonitorStage(namer: .live, stats: MonitorStats())
            drive(&stage, &input)
        default:
            trainingJobs(&input)
        }
    }

    /// One framed record of a `FuzzStageInputs` input (see `stageInputs`).
    public struct StageRecord: Sendable, Hashable {
        public var topic: UInt8
        public var replaying: Bool
        public var wrongTypeHeader: Bool
        public var key: [UInt8]
        public var value: [UInt8]

        public init(topic: UInt8, replaying: Bool = false, wrongTypeHeader: Bool = false, key: [UInt8], value: [UInt8]) {
            self.topic = topic
            self.replaying = replaying
            self.wrongTypeHeader = wrongTypeHeader
            self.key = key
            self.value = value
        }

        /// The record's bytes in the input format (seed corpus files are written with it).
        public var framed: [UInt8] {
            let flags: UInt8 = (replaying ? 1 : 0) | (wrongTypeHeader ? 2 : 0)
            let valueCount = min(value.count, 0xFFFF)
            return [topic, flags, UInt8(min(key.count, 255)), UInt8(valueCount & 0xFF), UInt8(valueCount >> 8)]
                + key.prefix(255) + value.prefix(valueCount)
        }
    }

    /// A `FuzzStageInputs` input: the stage's selector byte, then the records.
    public static func stageInput(stage: String, _ records: [StageRecord]) -> [UInt8] {
        guard let index = stageNames.firstIndex(of: stage) else {
            preconditionFailure("unknown stage '\(stage)'; one of \(stageNames.joined(separator: ", "))")
        }
        return [UInt8(index)] + records.flatMap(\.framed)
    }

    /// The trainer's consume path up to training: decode the job, map it to a `TrainingJobSpec` (known feature spec,
    /// ranges, model family, hyperparameters). A job it cannot train must be a `RejectedMessage`/`RejectedMessageError`
    /// (the worker turns the latter into the former: a dead letter with the reason).
    static func trainingJobs(_ input: inout FuzzBytes) {
        var offset: Int64 = 0
        while !input.isAtEnd, offset < 32 {
            _ = input.byte()
            let flags = input.byte() ?? 0
            let key = input.take(Int(input.byte() ?? 0))
            let value = input.chunk16()
            var headers: [MessageHeader] = []
            if flags & 2 != 0 { headers.append(MessageHeader(QuorumHeader.type, "quorum.v1.NotThisType")) }
            let message = IncomingMessage(topic: TopicNamer.live.name(Topic.trainingJobs), partition: 0, offset: offset,
                                          key: key, value: value, headers: headers)
            do {
                let job = try message.decode(Quorum_V1_TrainingJob.self)
                _ = try job.spec(known: FeatureSpec.builtIns)
            } catch let rejected as RejectedMessage {
                if rejected.detail.isEmpty { finding("quorum-trainer: a dead letter without a reason") }
            } catch let rejected as RejectedMessageError {
                if rejected.description.isEmpty { finding("quorum-trainer: a rejected job without a reason") }
            } catch {
                finding("quorum-trainer failed on a training.jobs record of \(value.count) bytes with \(type(of: error)): \(error)")
            }
            offset += 1
        }
    }

    static func drive<Stage: StageLogic>(_ stage: inout Stage, _ input: inout FuzzBytes) {
        var offset: Int64 = 0
        while !input.isAtEnd, offset < 32 {
            let topicByte = input.byte() ?? 0
            let flags = input.byte() ?? 0
            let key = input.take(Int(input.byte() ?? 0))
            let value = input.chunk16()
            let topic = stage.inputs[Int(topicByte) % stage.inputs.count]
            var headers: [MessageHeader] = []
            if flags & 2 != 0 { headers.append(MessageHeader(QuorumHeader.type, "quorum.v1.NotThisType")) }
            let message = IncomingMessage(topic: topic, partition: 0, offset: offset, key: key, value: value,
                                          headers: headers, timestampMs: nil)
            do {
                _ = try stage.handle(message, replaying: flags & 1 != 0)
            } catch let rejected as RejectedMessage {
                if rejected.detail.isEmpty { finding("\(stage.group): a dead letter from \(topic) without a reason") }
            } catch {
                finding("\(stage.group) failed on a \(topic) record of \(value.count) bytes with \(type(of: error)): "
                        + "\(error). A record it can never use must be a RejectedMessage (dead letter with a reason); "
                        + "another error fails the stage's run on the same record at every restart")
            }
            offset += 1
        }
        do {
            _ = try stage.tick()
        } catch {
            finding("\(stage.group).tick() failed after fuzzed records with \(type(of: error)): \(error)")
        }
    }
}
