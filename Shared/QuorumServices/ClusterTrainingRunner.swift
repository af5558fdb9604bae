import Foundation
import Logging
import QuorumBus
import QuorumPipeline
import QuorumProto
import QuorumStores
import Synchronization

/// Runs training jobs on the cluster's trainer workers (`quorum tune --cluster`): publishes them to `training.jobs`, where
/// the `quorum-trainer` consumer group shares them, and collects their outcomes from `training.results`.
///
/// Crash-safe by construction:
/// - the trainers record every job in `training_runs` after publishing its result, so a job recorded there is done: `run`
///   takes those outcomes from Postgres and publishes only the others (a resumed search publishes nothing it has);
/// - a job published twice (the tuner died after publishing, before seeing the result) is trained once: the trainer
///   skips a job `training_runs` already records;
/// - results are read from the start of `training.results` with a group of this process's own that never commits, and
///   `training_runs` is looked at again whenever no outcome came for `recheckInterval`, so none is missed whatever the
///   timing.
///
/// `run` throws when no job has finished for `stallTimeout` (trainers down, or a job they dead-letter).
public final class ClusterTrainingRunner: TrainingJobRunner {
    let producer: any MessageProducer
    let consumer: any MessageConsumer
    let namer: TopicNamer
    let runs: TrainingRuns
    let stallTimeout: Duration
    let recheckInterval: Duration
    /// The partitions of `training.jobs` in the order jobs are dealt to them (see `run`).
    let dealOrder: [Int32]
    let logger: Logger
    private let received = Received()
    private let reader: Task<Void, Never>

    /// - Parameters:
    ///   - partitions: the partition count of `training.jobs` (`MessageBus.topicPartitionCounts`).
    ///   - runIDPrefix: the run ids of the jobs this runner will be given start with it (e.g. `tune-<search>`): the results
    ///     of other runs on the topic are skipped as they are read, so their models' artifacts are not held in memory.
    public init(bus: any MessageBus, namer: TopicNamer, runs: TrainingRuns, partitions: Int32, runIDPrefix: String, clientID: String = "quorum-tune",
                stallTimeout: Duration = .seconds(600), recheckInterval: Duration = .seconds(2),
                logger: Logger = Logger(label: "quorum.tune")) throws {
        producer = try bus.makeProducer(clientID: clientID)
        // A group of its own, never committed: every run of the tuner reads the results from the start.
        let group = namer.group("quorum-tune-\(UInt64.random(in: 0...UInt64.max))")
        let consumer = try bus.makeConsumer(group: group, topics: [namer.name(Topic.trainingResults)], clientID: clientID,
                                            startAt: .earliest)
        self.consumer = consumer
        self.namer = namer
        self.runs = runs
        self.stallTimeout = stallTimeout
        self.recheckInterval = recheckInterval
        let count = max(1, partitions)
        let half = (count + 1) / 2
        dealOrder = (0..<half).flatMap { i in half + i < count ? [i, half + i] : [i] }
        self.logger = logger
        let received = self.received
        reader = Task {
            while true {
                let message: IncomingMessage?
                do { message = try await consumer.next() } catch {
                    logger.warning("reading training.results failed; the outcomes come from training_runs meanwhile",
                                   metadata: ["error": .string("\(error)")])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                guard let message else { return }
                do {
                    let result = try message.decode(Quorum_V1_TrainingResult.self)
                    guard result.runID.hasPrefix(runIDPrefix) else { continue }
                    received.outcomes.withLock { $0[result.jobID] = Self.outcome(result) }
                } catch {
                    // Another producer's broken record; the job it answers (if one of ours) is found in training_runs.
                    logger.warning("skipped a training.results record that does not decode",
                                   metadata: ["offset": .stringConvertible(message.offset), "error": .string("\(error)")])
                }
            }
        }
    }

    /// Stops reading results and releases the clients.
    public func close() async {
        consumer.interrupt()
        await reader.value
        await consumer.close()
        await producer.close()
    }

    public func run(_ jobs: [Quorum_V1_TrainingJob], progress: (@Sendable (Int, Int) -> Void)?) async throws -> [String: TrainingJobOutcome] {
        let wanted = Set(jobs.map(\.jobID))
        // A job that asked for its model's artifact is done only with it: `training_runs` does not keep artifacts, so
        // such a job's outcome comes from its `training.results` record (read from the start, it arrives).
        let needsArtifact = Set(jobs.filter(\.returnArtifact).map(\.jobID))
        var outcomes: [String: TrainingJobOutcome] = [:]
        var recorded: Set<String> = []
        for runID in Set(jobs.map(\.runID)) {
            for record in try await runs.runs(runID: runID) where wanted.contains(record.jobID) {
                recorded.insert(record.jobID)
                if !needsArtifact.contains(record.jobID) || record.status == .failed { outcomes[record.jobID] = Self.outcome(record) }
            }
        }
        // Dealt round-robin over the partitions by the job's place in `jobs` (the same place when a resumed search asks
        // again, so a job published twice lands on the same partition and is handled once): the trainers of the group
        // each own a share of the partitions, and the jobs' key hash would share them out unevenly (81 to 63 measured).
        // The deal alternates between the lower and the upper half of the partitions, the shares the range assignor
        // gives two members, so a generation that does not divide evenly still splits within one job.
        let missing = jobs.enumerated().filter { outcomes[$0.element.jobID] == nil && !recorded.contains($0.element.jobID) }
        if !missing.isEmpty {
            // Stamped now: the jobs are made in event time (the same bytes in every search), but the trainer's latency
            // (result minus job, `quorum summary`) counts from when they were handed out.
            let now = wallClockNanos()
            _ = try await producer.send(missing.map { index, job in
                var job = job
                job.envelope.tsInitNs = now
                var message = try OutgoingMessage(topic: namer.name(Topic.trainingJobs), key: job.jobID, message: job,
                                                  eventTimeNs: job.envelope.tsEventNs)
                message.partition = dealOrder[index % dealOrder.count]
                return message
            })
        }
        var lastProgress = ContinuousClock.now
        var lastCheck = ContinuousClock.now
        progress?(outcomes.count, jobs.count)
        while outcomes.count < wanted.count {
            let before = outcomes.count
            received.outcomes.withLock { seen in
                for id in wanted where outcomes[id] == nil { if let o = seen[id] { outcomes[id] = o } }
            }
            // Postgres only when the topic has brought nothing for a while: while results flow, no re-read of the runs.
            if outcomes.count < wanted.count, ContinuousClock.now - max(lastCheck, lastProgress) >= recheckInterval {
                lastCheck = .now
                for runID in Set(jobs.map(\.runID)) {
                    for record in try await runs.runs(runID: runID) where wanted.contains(record.jobID) && outcomes[record.jobID] == nil
                        && (!needsArtifact.contains(record.jobID) || record.status == .failed) {
                        outcomes[record.jobID] = Self.outcome(record)
                    }
                }
            }
            if outcomes.count > before {
                lastProgress = .now
                progress?(outcomes.count, jobs.count)
            } else if ContinuousClock.now - lastProgress > stallTimeout {
                throw ClusterTrainingError(description: "\(wanted.count - outcomes.count) of \(jobs.count) training jobs have no outcome after "
                    + "\(stallTimeout) without progress: are the trainers running (scripts/cluster status), and do they know the jobs' "
                    + "feature spec (their features.spec)? Jobs they cannot take go to \(namer.name(Topic.trainingJobs))\(Topic.deadLetterSuffix).")
            }
            if outcomes.count < wanted.count { try await Task.sleep(for: .milliseconds(50)) }
        }
        return outcomes
    }

    /// The outcomes read from `training.results` so far, by job id (shared with the reading task).
    private final class Received: Sendable {
        let outcomes = Mutex<[String: TrainingJobOutcome]>([:])
    }

    static func outcome(_ result: Quorum_V1_TrainingResult) -> TrainingJobOutcome {
        let status: TrainingJobOutcome.Status = switch result.status {
        case .succeeded: .succeeded
        case .rejected: .rejected
        default: .failed
        }
        return TrainingJobOutcome(status: status, metrics: result.metrics, error: result.error.isEmpty ? nil : result.error,
                                  durationMs: Int64(clamping: result.durationMs), artifact: result.artifact.isEmpty ? nil : Array(result.artifact))
    }

    static func outcome(_ record: TrainingRunRecord) -> TrainingJobOutcome {
        let status: TrainingJobOutcome.Status = switch record.status {
        case .succeeded: .succeeded
        case .rejected: .rejected
        case .failed: .failed
        }
        return TrainingJobOutcome(status: status, metrics: record.metrics, error: record.error, durationMs: record.durationMs ?? 0)
    }
}

/// The cluster did not answer training jobs (see `ClusterTrainingRunner`).
public struct ClusterTrainingError: Error, CustomStringConvertible {
    public var description: String
}
