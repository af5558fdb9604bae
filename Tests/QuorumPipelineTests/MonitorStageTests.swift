import QuorumBus
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import Synchronization
import Testing

/// `MonitorStage` on wire messages: the retraining jobs it publishes for bars and predictions, and what it shows.
@Suite("Monitor stage")
struct MonitorStageTests {
    static let step = Fixtures.interval * 1_000_000_000
    /// A job the stage published, the message it came in, and the index of the bar that started it.
    typealias Published = (bar: Int, job: Quorum_V1_TrainingJob, message: OutgoingMessage)

    static func incoming(_ out: OutgoingMessage, offset: Int64) -> IncomingMessage {
        IncomingMessage(topic: out.topic, partition: 0, offset: offset, key: out.key, value: out.value, headers: out.headers)
    }

    /// Two symbols' bars in event-time order; AAA-USD is served from bar 100 on (a prediction at each close after it:
    /// up, except every third), BBB-USD never.
    static func run(_ stage: inout MonitorStage) throws -> [Published] {
        let namer = TopicNamer.live
        let stamp = EnvelopeStamp(producer: "test")
        let aaa = Fixtures.bars(symbol: "AAA-USD", count: 700, seed: 3)
        let bbb = Fixtures.bars(symbol: "BBB-USD", count: 700, seed: 4)
        var jobs: [Published] = []
        var offset: Int64 = 0
        for i in 0..<aaa.count {
            for bar in [aaa[i], bbb[i]] {
                let wire = bar.wire(stamp: stamp)
                let step = try stage.handle(incoming(try OutgoingMessage(topic: namer.name(Topic.bars), key: wire.symbol, message: wire,
                                                                         eventTimeNs: bar.closeTime), offset: offset), replaying: false)
                offset += 1
                for message in step.outputs { jobs.append((i, try Quorum_V1_TrainingJob(serializedBytes: message.value), message)) }
            }
            guard i >= 100 else { continue }
            var p = Quorum_V1_Prediction()
            p.envelope = stamp.envelope(id: "p-\(i)", tsEvent: aaa[i].closeTime, cause: nil)
            p.symbol = "AAA-USD"
            p.probUp = i % 3 == 0 ? 0.3 : 0.7
            _ = try stage.handle(incoming(try OutgoingMessage(topic: namer.name(Topic.predictions), key: p.symbol, message: p,
                                                              eventTimeNs: aaa[i].closeTime), offset: offset), replaying: false)
            offset += 1
        }
        return jobs
    }

    /// Each job as `bar symbol candidate trainBars validationBars`, the windows counted in bars back from the close of the
    /// bar that started it; `nil` when its topic, key, event time or feature spec is not what the monitor publishes.
    static func summary(_ jobs: [Published]) -> [String?] {
        jobs.map { j in
            let close = Fixtures.start + Int64(j.bar + 1) * step
            guard j.message.topic == TopicNamer.live.name(Topic.trainingJobs), j.message.key == Array(j.job.jobID.utf8),
                  j.job.envelope.tsEventNs == close, j.message.timestampMs == close / 1_000_000, j.job.validationRange.toNs == close,
                  j.job.featureSpec == FeatureSpec.default.name else { return nil }
            return "\(j.bar) \(j.job.symbol) c\(j.job.candidateIndex) \((j.job.trainRange.toNs - j.job.trainRange.fromNs) / step) "
                + "\((close - j.job.trainRange.toNs) / step)"
        }
    }

    /// The runs each policy starts, as the monitor published them before `RetrainCore` was taken out of it: two jobs
    /// (one per default candidate) per run, all for AAA-USD.
    static func expected(bars: [Int]) -> [String?] {
        bars.flatMap { bar in ["\(bar) AAA-USD c0 150 50", "\(bar) AAA-USD c1 150 50"] }
    }

    @Test("on schedule: every `every` from when the symbol was first served, once window + validation have closed")
    func schedule() throws {
        let stats = MonitorStats()
        var stage = MonitorStage(namer: .live, stats: stats, policy: RetrainPolicy(every: 250 * Self.step, window: 150 * Self.step,
                                                                                   validation: 50 * Self.step, minimumAccuracy: 0))
        #expect(Self.summary(try Self.run(&stage)) == Self.expected(bars: [350, 600]))
        let snapshot = stats.snapshot()
        #expect(snapshot.retrainJobsPublished == 4)
        #expect(snapshot.liveAccuracy == ["AAA-USD": 4.0 / 9], "over the 99 predictions scored since the last run")
    }

    @Test("on live accuracy: below the minimum over the last accuracyWindow predictions, at most once per cooldown")
    func accuracy() throws {
        let stats = MonitorStats()
        var stage = MonitorStage(namer: .live, stats: stats, policy: RetrainPolicy(window: 150 * Self.step, validation: 50 * Self.step,
                                                                                   minimumAccuracy: 0.5, accuracyWindow: 40,
                                                                                   cooldown: 60 * Self.step))
        #expect(Self.summary(try Self.run(&stage)) == Self.expected(bars: [204, 415, 479, 548, 654]))
        let snapshot = stats.snapshot()
        #expect(snapshot.retrainJobsPublished == 10)
        #expect(snapshot.liveAccuracy == ["AAA-USD": 0.375])
    }

    /// Keeps what the monitor tells its observer.
    final class RecordingObserver: MonitorObserver {
        let accuracies = Mutex<[(String, Double)]>([])
        func stageLatency(stage: String, nanoseconds: Int64) {}
        func endToEndLatency(topic: String, nanoseconds: Int64) {}
        func liveAccuracy(symbol: String, accuracy: Double) { accuracies.withLock { $0.append((symbol, accuracy)) } }
    }

    @Test("the observer learns each served symbol's live accuracy: NaN from its first prediction, then every scored value")
    func observer() throws {
        let observer = RecordingObserver()
        let stats = MonitorStats(observer: observer)
        var stage = MonitorStage(namer: .live, stats: stats, policy: RetrainPolicy(every: 250 * Self.step, window: 150 * Self.step,
                                                                                   validation: 50 * Self.step, minimumAccuracy: 0))
        _ = try Self.run(&stage)
        let seen = observer.accuracies.withLock { $0 }
        #expect(seen.allSatisfy { $0.0 == "AAA-USD" }, "BBB-USD is never served")
        #expect(seen.first?.1.isNaN == true)
        #expect(seen.dropFirst().allSatisfy { !$0.1.isNaN } && seen.count > 500)
        #expect(seen.last?.1 == stats.snapshot().liveAccuracy["AAA-USD"])
    }
}
