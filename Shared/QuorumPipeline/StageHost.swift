import DequeModule
import Logging
import QuorumBus
import Synchronization

/// What a stage did with the messages it was given.
public struct StageStep: Sendable {
    /// Records to publish (after `persist`).
    public var outputs: [OutgoingMessage]
    /// Input messages whose handling is complete. Usually the message just handled; a stage that holds
    /// messages back (risk orders its inputs by event time) reports them when it releases them.
    public var completed: [MessagePosition]

    public init(outputs: [OutgoingMessage] = [], completed: [MessagePosition] = []) {
        self.outputs = outputs
        self.completed = completed
    }

    public static func done(_ message: IncomingMessage, _ outputs: [OutgoingMessage] = []) -> StageStep {
        StageStep(outputs: outputs, completed: [MessagePosition(message)])
    }

    public mutating func append(_ other: StageStep) {
        outputs += other.outputs
        completed += other.completed
    }
}

/// Where a consumed record sits: enough to commit it.
public struct MessagePosition: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(_ m: IncomingMessage) {
        topic = m.topic
        partition = m.partition
        offset = m.offset
    }

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

/// The logic of one stage as its host drives it: a stage core plus the mapping from and to wire messages.
///
/// The host calls `handle` for each input message in delivery order, `persist` before publishing the
/// outputs of a batch, and commits an input's offset only after both (at-least-once; handlers must be
/// idempotent, which the cores are: ids are derived from inputs).
public protocol StageLogic: Sendable {
    /// Consumer group, also used in logs (e.g. "quorum-features").
    var group: String { get }
    /// Full topic names consumed.
    var inputs: [String] { get }
    /// Whether the stage's state must be rebuilt from its inputs at start-up (see `StageHost.rebuild`).
    var rebuildsState: Bool { get }
    /// While true the host wakes the stage every `tickInterval` even without input (for wall-clock timeouts).
    var wantsTicks: Bool { get }

    /// Handles one message. `replaying` is true while state is rebuilt: outputs are then discarded and
    /// effects must not be repeated (they were made durable before the message was committed).
    /// Throw `RejectedMessage` for a message that can never be processed: it goes to the dead-letter topic.
    /// Any other error fails the host's run: nothing of the batch in hand is committed, so the restarted stage
    /// rebuilds its state and handles the message again (never swallow an error to keep going).
    mutating func handle(_ message: IncomingMessage, replaying: Bool) throws -> StageStep
    /// Called when `wantsTicks` is true and no message came for a while, and after a rebuild. An error fails the
    /// run like one from `handle`.
    mutating func tick() throws -> StageStep
    /// Makes the effects of everything handled since the last call durable (Postgres, Redis).
    mutating func persist() async throws

    /// The version of `checkpointState`'s form, 0 for a stage that keeps no checkpoint. Bump it whenever the state's
    /// shape changes: a checkpoint of another version is not used (the stage then restores from its inputs).
    var stateFormat: Int { get }
    /// The stage's whole state as bytes, for a checkpoint (`StageCheckpoint`); called between batches, after `persist`.
    func checkpointState() throws -> [UInt8]
    /// Replaces the state with a checkpoint's, before any input is handled.
    mutating func restoreState(_ bytes: [UInt8]) throws
}

extension StageLogic {
    public var wantsTicks: Bool { false }
    public mutating func tick() -> StageStep { StageStep() }
    public mutating func persist() async throws {}
    public var stateFormat: Int { 0 }
    public func checkpointState() throws -> [UInt8] { [] }
    public mutating func restoreState(_ bytes: [UInt8]) throws {}
}

/// Where a `StageHost` is in its life and what keeps it from making progress, readable from any task: the service's
/// readiness check turns true only once the stage's state is restored, it handles live input and nothing blocks it.
public final class StageProgress: Sendable {
    public enum Phase: Sendable, Equatable {
        /// `run` has not started the rebuild or the live consumer yet.
        case starting
        /// Restoring state (from its checkpoint and) from the inputs: `done` of `of` records.
        case rebuilding(done: Int, of: Int64)
        /// Handling live input.
        case running
        /// `run` returned.
        case stopped
    }

    /// What keeps a running stage from making progress (see `StageHost`).
    public enum Problem: String, Sendable, Hashable, CaseIterable, Comparable {
        /// Making a batch's effects durable keeps failing (Postgres or Redis away).
        case persisting
        /// Publishing a batch keeps failing (broker away, topics missing).
        case publishing
        /// The consumer owns no partition (topics lost by a broker restart, the group not rejoined yet).
        case unassigned

        public static func < (a: Problem, b: Problem) -> Bool { a.rawValue < b.rawValue }
    }

    private struct State {
        var phase = Phase.starting
        var problems: [Problem: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var phase: Phase { state.withLock { $0.phase } }

    /// The current problems with their reasons.
    public var problems: [Problem: String] { state.withLock { $0.problems } }

    func set(_ phase: Phase) { state.withLock { $0.phase = phase } }

    /// Records (`reason` non-nil) or clears a problem. Returns whether that changed anything.
    @discardableResult
    func report(_ problem: Problem, _ reason: String?) -> Bool {
        state.withLock { s in
            let had = s.problems[problem] != nil
            s.problems[problem] = reason
            return had != (reason != nil)
        }
    }

    /// Returns while the stage handles live input and nothing blocks it; otherwise throws saying what is going on.
    public func checkRunning() throws {
        let s = state.withLock { $0 }
        switch s.phase {
        case .running:
            guard s.problems.isEmpty else {
                throw StageNotReady(description: s.problems.sorted { $0.key < $1.key }.map(\.value).joined(separator: "; "))
            }
        case .starting: throw StageNotReady(description: "starting")
        case .rebuilding(let done, let total): throw StageNotReady(description: "rebuilding state from its inputs: \(done) of \(total) records")
        case .stopped: throw StageNotReady(description: "stopped")
        }
    }
}

/// Why a stage is not ready (shown in `/health/ready`).
public struct StageNotReady: Error, CustomStringConvertible {
    public var description: String
}

/// Settings of a `StageHost`.
public struct StageHostOptions: Sendable {
    /// Largest number of outputs published in one batch.
    public var maxBatch: Int = 5_000
    /// Longest a handled message waits for its batch to be published.
    public var maxDelay: Duration = .milliseconds(20)
    /// Wake-up period while the stage wants ticks.
    public var tickInterval: Duration = .milliseconds(200)
    /// Client id of the consumers and producer.
    public var clientID: String = "quorum"
    /// Where a group without committed offsets starts.
    public var startAt: StartPosition = .earliest
    /// Failed attempts in a row to persist or publish a batch after which the stage reports `persisting`/`publishing`
    /// (it keeps retrying).
    public var retryLimit: Int = 5
    /// How long the consumer may own no partition before the stage reports `unassigned`.
    public var unassignedTimeout: Duration = .seconds(30)
    /// How often the host wakes without input to look at its consumer's assignment.
    public var watchInterval: Duration = .seconds(1)
    /// How long the consumer may own no partition before the host replaces it by a new member of the group (again after
    /// the same time while it still owns none). Above the broker's assignment delay (about half the session timeout).
    public var rejoinAfter: Duration = .seconds(10)
    /// Where the stage keeps its checkpoints; nil: none (the stage rebuilds from its inputs at every start).
    public var checkpoints: (any CheckpointStore)?
    /// How often (at most) a checkpoint is written, between batches; one is also written when the stage stops.
    public var checkpointInterval: Duration = .seconds(30)

    public init() {}
}

/// Runs a `StageLogic` on a `MessageBus`: restore, then consume → handle → persist → publish → commit, in batches.
///
/// - Checkpoints: with a `CheckpointStore` (`StageHostOptions.checkpoints`) and a logic that keeps one
///   (`stateFormat` > 0), the host writes the logic's state with the input positions it covers every
///   `checkpointInterval`, between batches (after the batch's effects were persisted, its outputs published and its
///   completed offsets marked), and when it stops. A crash between two checkpoints loses nothing: the records after
///   the last one are replayed (below). Postgres keeps the cluster's checkpoints, one row per group.
/// - Restore: a restarted stage (kill -9 included) first restores its newest checkpoint, then reads its inputs from
///   the checkpoint's positions (from the beginning without one, when `rebuildsState`) up to the group's committed
///   offsets, with a throw-away consumer group that never commits, and feeds them with `replaying: true`. The
///   stage's state is then what it was when those offsets were committed; outputs of that part are not published
///   again. Everything after the committed offsets is delivered again and handled normally (outputs have
///   deterministic ids, so a record published twice is recognised downstream), except records the checkpoint
///   already covers (a checkpoint can be newer than the last commit): they are not handled twice. Records the
///   restore needs that retention deleted stop the stage with `StateGap` when a checkpoint was restored (its state
///   would be wrong), and are reported in the log without one (a first start on old topics).
/// - Batching: messages that have already arrived are handled together; their effects are persisted, then
///   their outputs published (waiting for the broker's acknowledgement), then their offsets committed.
/// - Commits are contiguous per partition: an offset is committed only when it and every earlier offset of
///   its partition are complete, so a message a stage holds back is never skipped by a restart.
/// - Errors: `RejectedMessage` → dead-letter topic; any other error from persist/publish is retried with
///   backoff (a server is down), never skipped; any other error from `handle`/`tick` ends `run` with that error
///   before the batch is committed (the service exits non-zero and its restart handles the batch again).
/// - Progress (`StageProgress`, the readiness check): after `retryLimit` failed attempts in a row to persist or publish,
///   the stage reports `persisting`/`publishing` with the last error until an attempt succeeds; when its consumer has
///   owned no partition for `unassignedTimeout` (looked at every `watchInterval`), it reports `unassigned` until it owns
///   some again. A publisher that hit a fatal error is replaced by the bus (`RenewingProducer`), so the retry goes out
///   on a fresh one. A stop requested while a batch keeps failing (`retryLimit` failures) ends `run` without committing
///   that batch (it is handled again after the restart).
public final class StageHost<Logic: StageLogic>: @unchecked Sendable {
    // @unchecked: the host is used from one task at a time (`run`), and `stop` only touches the consumer,
    // which is Sendable and made for being interrupted from another task.
    private var logic: Logic
    private let bus: any MessageBus
    private let options: StageHostOptions
    private let logger: Logger
    private var producer: (any MessageProducer)?
    private let consumerBox = ConsumerBox()
    private var tracks: [TopicPartition: PartitionTrack] = [:]
    /// Since when the stage's consumers (across rejoins) have owned no partition; nil while they own some.
    private var unassignedSpell: ContinuousClock.Instant?
    /// Messages handled so far, readable from any task (progress, quiescence checks).
    public let handledTotal = Atomic<Int>(0)
    /// Counters for metrics and tests.
    public private(set) var handledCount = 0
    public private(set) var publishedCount = 0
    public private(set) var rebuiltCount = 0
    public private(set) var deadLetterCount = 0
    /// Checkpoints written by this host (tests, logs).
    public private(set) var checkpointCount = 0
    /// Per input partition, the first offset not handled into the state yet (the checkpoint's positions).
    private var handledNext: [TopicPartition: Int64] = [:]
    /// What the restored checkpoint covers beyond the committed offsets: records below `next` are in the state and are
    /// not handled again when delivered; of those, `pending` ones complete later (the stage releases them).
    private var coveredByCheckpoint: [TopicPartition: (next: Int64, pending: Set<Int64>)] = [:]
    /// The restored checkpoint's held-back records not completed since (whether delivered again yet or not).
    private var restoredPending: [TopicPartition: Set<Int64>] = [:]
    private var checkpointSequence: Int64 = 0
    private var lastCheckpoint: ContinuousClock.Instant?
    /// Called after each committed batch with what it did and the logic as it now is (metrics; runs on the host's task).
    public var onBatchReport: (@Sendable (StageBatchReport, Logic) -> Void)?
    private var batchReport = StageBatchReport()
    /// Starting, rebuilding, running or stopped (readiness).
    public let progress: StageProgress

    public init(logic: Logic, bus: any MessageBus, options: StageHostOptions = StageHostOptions(), logger: Logger,
                progress: StageProgress = StageProgress()) {
        self.logic = logic
        self.bus = bus
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    /// The logic's current state (for tests and in-process runs, after `run` returned).
    public var state: Logic { logic }

    /// Stops `run`: the in-flight batch is finished, published and committed, then `run` returns.
    public func stop() { consumerBox.interrupt() }

    /// True when the stage keeps checkpoints in a store.
    private var checkpointing: Bool { options.checkpoints != nil && logic.stateFormat > 0 }

    public func run() async throws {
        defer { progress.set(.stopped) }
        if logic.rebuildsState || checkpointing { try await rebuild() }
        if consumerBox.isStopped { return }
        let producer = try bus.makeProducer(clientID: options.clientID)
        self.producer = producer
        defer { self.producer = nil }
        var consumer = try makeLiveConsumer()
        progress.set(.running)
        do {
            // The effects of the rebuild (e.g. execution's book in the hot state) and of the first tick, at once.
            var step = try logic.tick()
            try await flush(&step, consumer: consumer)
            try await consume(&consumer, pending: &step)
            try await flush(&step, consumer: consumer)
            try await consumer.commitNow()
            try await checkpoint(force: true)
        } catch is StopWhileRetrying {
            logger.warning("stopped while a batch could not be persisted or published; it is handled again after the restart",
                           metadata: ["group": .string(logic.group)])
            await consumer.close()
            await producer.close()
            return
        } catch {
            await consumer.close()
            await producer.close()
            throw error
        }
        await consumer.close()
        try? await producer.flush(timeout: .seconds(10))  // harmless: `send` awaited every output's ack before its commit
        await producer.close()
    }

    // MARK: Live

    /// A consumer of the stage's group on its inputs, interruptible by `stop()`.
    private func makeLiveConsumer() throws -> any MessageConsumer {
        let consumer = try bus.makeConsumer(group: logic.group, topics: logic.inputs, clientID: options.clientID, startAt: options.startAt)
        consumerBox.set(consumer)
        return consumer
    }

    private func consume(_ consumer: inout any MessageConsumer, pending step: inout StageStep) async throws {
        var batchStart: ContinuousClock.Instant?
        var lastRejoin = ContinuousClock.now
        // Only a consumer that owned partitions and lost them is replaced, once: a new member waiting for its first
        // assignment (e.g. while the group still holds a killed member until its session times out) is left alone, since
        // replacing it again and again restarts the rebalance every time and it never completes.
        var ownedPartitions = false
        while true {
            let message: IncomingMessage?
            let wait = logic.wantsTicks ? min(options.tickInterval, options.watchInterval) : options.watchInterval
            switch try await Self.next(consumer, timeout: wait) {
            case .message(let m): message = m
            case .timeout:
                watchAssignment(consumer)
                if consumer.unassignedSince == nil { ownedPartitions = true }
                if ownedPartitions, let since = consumer.unassignedSince, ContinuousClock.now - since >= options.rejoinAfter,
                   ContinuousClock.now - lastRejoin >= options.rejoinAfter, !consumerBox.isStopped {
                    try await rejoin(&consumer, pending: &step, unassignedFor: ContinuousClock.now - since)
                    lastRejoin = .now
                    ownedPartitions = false
                }
                if logic.wantsTicks {
                    step.append(try logic.tick())
                    if !step.outputs.isEmpty || !step.completed.isEmpty { try await flush(&step, consumer: consumer) }
                    batchStart = nil
                }
                continue
            }
            guard let message else { return }
            ownedPartitions = true
            handledCount += 1
            handledTotal.add(1, ordering: .relaxed)
            batchReport.handled(message.topic)
            tracks[message.topicPartition, default: PartitionTrack()].received(message.offset)
            handledNext[message.topicPartition] = max(handledNext[message.topicPartition] ?? 0, message.offset + 1)
            do {
                if let covered = coveredByCheckpoint[message.topicPartition], message.offset < covered.next {
                    // In the restored state already: not handled twice; a held-back one completes when the stage releases it.
                    if !covered.pending.contains(message.offset) { step.append(.done(message)) }
                } else {
                    step.append(try logic.handle(message, replaying: false))
                }
            } catch let rejection as RejectedMessage {
                deadLetterCount += 1
                batchReport.deadLettered(message.topic, rejection.reason)
                logger.warning("message sent to the dead-letter topic", metadata: [
                    "topic": .string(message.topic), "partition": .stringConvertible(message.partition),
                    "offset": .stringConvertible(message.offset), "reason": .string(rejection.description),
                ])
                step.append(.done(message, [message.deadLetter(rejection, group: logic.group)]))
            }
            if batchStart == nil { batchStart = .now }
            if !consumer.hasBufferedMessages || step.outputs.count >= options.maxBatch
                || ContinuousClock.now - batchStart! >= options.maxDelay {
                try await flush(&step, consumer: consumer)
                watchAssignment(consumer)
                batchStart = nil
            }
        }
    }

    /// Replaces a consumer that lost its partitions and has owned none for `rejoinAfter` by a new member of the group. librdkafka rejoins
    /// when a subscribed topic's metadata changes, but looks at it only every `topic.metadata.refresh.interval.ms`
    /// (5 minutes; kept for throughput): a group whose topics a broker restart lost, assigned nothing while they were
    /// gone, would stay without partitions that long after they are re-created. A new consumer reads fresh metadata.
    private func rejoin(_ consumer: inout any MessageConsumer, pending step: inout StageStep, unassignedFor: Duration) async throws {
        logger.warning("no partitions assigned; rejoining the group with a new consumer", metadata: [
            "group": .string(logic.group), "unassigned.for": .string("\(unassignedFor.components.seconds) s"),
        ])
        try await flush(&step, consumer: consumer)
        await consumer.close()
        consumer = try makeLiveConsumer()
    }

    /// Reports (or clears) `unassigned`: the stage's consumers have owned no partition for `unassignedTimeout` (counted
    /// across rejoins).
    private func watchAssignment(_ consumer: any MessageConsumer) {
        if let since = consumer.unassignedSince {
            unassignedSpell = min(unassignedSpell ?? since, since)
        } else {
            unassignedSpell = nil
        }
        if let since = unassignedSpell, ContinuousClock.now - since >= options.unassignedTimeout {
            let seconds = (ContinuousClock.now - since).components.seconds
            let reason = "its consumer has owned no partition for \(seconds) s (topics missing or lost by a broker restart, or the group not "
                + "rejoined yet; a consumer that lost its partitions is replaced once after \(options.rejoinAfter.components.seconds) s)"
            if progress.report(.unassigned, reason) {
                logger.warning("stage not ready: no partitions assigned", metadata: ["group": .string(logic.group), "reason": .string(reason)])
            }
        } else if progress.report(.unassigned, nil) {
            logger.info("stage owns partitions again", metadata: ["group": .string(logic.group)])
        }
    }

    /// persist → publish → commit contiguous offsets.
    private func flush(_ step: inout StageStep, consumer: any MessageConsumer) async throws {
        try await retrying(.persisting, "persist") { try await self.logic.persist() }
        if !step.outputs.isEmpty, let producer {
            let outputs = step.outputs
            _ = try await retrying(.publishing, "publish") { try await producer.send(outputs) }
            publishedCount += outputs.count
            batchReport.published(outputs)
        }
        for position in step.completed {
            // A record restored as held back may complete before it is delivered again: its track starts here.
            tracks[position.topicPartition, default: PartitionTrack()].completed(position.offset)
            restoredPending[position.topicPartition]?.remove(position.offset)
        }
        for (tp, var track) in tracks {
            if let offset = track.advance() {
                try consumer.commit(IncomingMessage(topic: tp.topic, partition: tp.partition, offset: offset, key: [], value: []))
            }
            tracks[tp] = track
        }
        step = StageStep()
        batchReport.finish()
        onBatchReport?(batchReport, logic)
        batchReport = StageBatchReport()
        try await checkpoint(force: false)
    }

    /// Writes a checkpoint when the stage keeps them and `checkpointInterval` has passed (or `force`). Called between
    /// batches, so the state matches `handledNext` and every output produced so far is published. A failure to save is
    /// logged, not thrown: nothing is lost (the restore replays from the previous checkpoint), and the next attempt
    /// comes after another interval.
    private func checkpoint(force: Bool) async throws {
        guard let store = options.checkpoints, logic.stateFormat > 0 else { return }
        if !force, let last = lastCheckpoint, ContinuousClock.now - last < options.checkpointInterval { return }
        lastCheckpoint = .now
        let positions = handledNext.sorted { $0.key < $1.key }.map { tp, next in
            StageCheckpoint.Position(topic: tp.topic, partition: tp.partition, next: next,
                                     pending: Set(tracks[tp]?.pending ?? []).union(restoredPending[tp] ?? []).sorted())
        }
        let state = try logic.checkpointState()  // an error here is a bug of the logic's state: fails the run like handle's
        checkpointSequence += 1
        let checkpoint = StageCheckpoint(group: logic.group, format: logic.stateFormat, sequence: checkpointSequence,
                                         positions: positions, state: state)
        do {
            try await store.save(checkpoint)
            checkpointCount += 1
            logger.debug("checkpoint written", metadata: ["group": .string(logic.group), "bytes": .stringConvertible(state.count),
                                                          "sequence": .stringConvertible(checkpointSequence)])
        } catch {
            logger.warning("checkpoint not written; the next attempt follows after the checkpoint interval", metadata: [
                "group": .string(logic.group), "error": .string(String(describing: error)),
            ])
        }
    }

    /// Runs `body` until it succeeds, with backoff (100 ms doubling to 5 s). After `retryLimit` failures in a row the
    /// stage reports `problem` (with the last error) until an attempt succeeds. Throws `StopWhileRetrying` when a stop
    /// was requested and the batch has failed `retryLimit` times: the batch is then left uncommitted.
    private func retrying<T>(_ problem: StageProgress.Problem, _ what: String, _ body: () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(100)
        var failures = 0
        while true {
            do {
                let value = try await body()
                if failures > 0, progress.report(problem, nil) {
                    logger.info("\(what) works again", metadata: ["group": .string(logic.group), "failures": .stringConvertible(failures)])
                }
                return value
            } catch let error as RejectedMessage {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failures += 1
                logger.error("\(what) failed; retrying", metadata: ["error": .string(String(describing: error)),
                                                                    "retry.in": .string("\(delay)")])
                if failures >= options.retryLimit {
                    let reason = "\(what) failed \(failures) times in a row (retrying every \(min(delay * 2, .seconds(5)))): \(error)"
                    if progress.report(problem, reason) {  // the reason is updated every time; logged when it starts
                        logger.warning("stage not ready: \(what) keeps failing", metadata: ["group": .string(logic.group), "reason": .string(reason)])
                    }
                }
                // A stop lets a briefly failing batch finish (graceful shutdown publishes and commits it); one that keeps
                // failing is given up uncommitted, so shutdown does not hang on a server that is away.
                if consumerBox.isStopped, failures >= options.retryLimit { throw StopWhileRetrying() }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    enum Next: Sendable {
        case message(IncomingMessage?)
        case timeout
    }

    /// `consumer.next()` with a time limit. A message that arrives while the wait is being cancelled is returned,
    /// never dropped.
    static func next(_ consumer: any MessageConsumer, timeout: Duration) async throws -> Next {
        if consumer.hasBufferedMessages { return .message(try await consumer.next()) }
        return try await withThrowingTaskGroup(of: Next?.self) { group in
            group.addTask {
                do { return .message(try await consumer.next()) } catch is CancellationError { return nil }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)  // harmless: cancelled only when a message came first
                return .timeout
            }
            var result: Next?
            for try await outcome in group {
                switch outcome {
                case .message?:
                    result = outcome
                    group.cancelAll()
                case .timeout?:
                    if result == nil { result = .timeout }
                    group.cancelAll()
                case nil:
                    break
                }
            }
            return result ?? .timeout
        }
    }

    // MARK: Restore

    /// Restores the stage's state: its newest checkpoint (when it keeps them), then the inputs from the checkpoint's
    /// positions — from the beginning without one — up to the group's committed offsets, fed with `replaying: true`.
    /// A stage that does not `rebuildsState` and has no checkpoint starts empty at its committed offsets.
    public func rebuild() async throws {
        var from: [TopicPartition: Int64] = [:]
        let restored = try await restoreCheckpoint()
        if let restored {
            let lost = try await partitionsRecreated(since: restored)
            for p in restored.positions where !lost.contains(p.topicPartition) {
                from[p.topicPartition] = p.next
                handledNext[p.topicPartition] = p.next
                coveredByCheckpoint[p.topicPartition] = (p.next, Set(p.pending))
                if !p.pending.isEmpty { restoredPending[p.topicPartition] = Set(p.pending) }
            }
            checkpointSequence = restored.sequence
        } else if !logic.rebuildsState {
            _ = try logic.tick()
            return
        }
        // What to replay: each partition from where the state stands up to its committed offset (a fresh group has none).
        var targets: [TopicPartition: Int64] = [:]
        var lows: [TopicPartition: Int64] = [:]
        for topic in logic.inputs {
            let committed = try await bus.committedOffsets(group: logic.group, topic: topic)
            let marks = committed.isEmpty ? [:] : try await bus.watermarks(topic: topic)
            for (partition, offset) in committed {
                let tp = TopicPartition(topic: topic, partition: partition)
                guard offset > (from[tp] ?? 0) else { continue }
                targets[tp] = offset
                lows[tp] = marks[partition]?.low ?? 0
            }
        }
        try checkForGaps(targets: targets, from: from, lows: lows, restored: restored != nil)
        if targets.isEmpty {
            _ = try logic.tick()
            return
        }
        let started = ContinuousClock.now
        let total = targets.reduce(Int64(0)) { $0 + $1.value - max(from[$1.key] ?? 0, lows[$1.key] ?? 0) }
        logger.info("rebuilding state from inputs", metadata: [
            "group": .string(logic.group), "records": .stringConvertible(total),
            "from.checkpoint": .stringConvertible(restored?.sequence ?? 0),
        ])
        progress.set(.rebuilding(done: 0, of: total))
        let rebuildGroup = "\(logic.group).rebuild.\(wallClockNanos())"
        // The throw-away group starts where the checkpoint stands (committed offsets set before it has a member).
        for topic in logic.inputs {
            let start = from.filter { $0.key.topic == topic && targets[$0.key] != nil }
            if !start.isEmpty {
                try await bus.setCommittedOffsets(group: rebuildGroup, topic: topic,
                                                  offsets: Dictionary(uniqueKeysWithValues: start.map { ($0.key.partition, $0.value) }))
            }
        }
        let consumer = try bus.makeConsumer(group: rebuildGroup, topics: logic.inputs, clientID: options.clientID + "-rebuild",
                                            startAt: .earliest)
        consumerBox.set(consumer)
        // A partition is done once its record before the target was fed, or when the first record seen is already at or
        // past the target (retention deleted the ones before).
        var remaining = Set(targets.filter { $0.value > (lows[$0.key] ?? 0) }.keys)
        var lastLog = ContinuousClock.now
        while !remaining.isEmpty, let m = try await consumer.next() {
            if rebuiltCount % 1024 == 0 { progress.set(.rebuilding(done: rebuiltCount, of: total)) }
            guard let target = targets[m.topicPartition] else { continue }
            if m.offset < target, m.offset >= (from[m.topicPartition] ?? 0) {
                do {
                    _ = try logic.handle(m, replaying: true)
                } catch is RejectedMessage {
                    // It went to the dead-letter topic the first time.
                }
                rebuiltCount += 1
                handledNext[m.topicPartition] = max(handledNext[m.topicPartition] ?? 0, m.offset + 1)
            }
            if m.offset >= target - 1 { remaining.remove(m.topicPartition) }
            if ContinuousClock.now - lastLog > .seconds(5) {
                lastLog = .now
                logger.info("rebuilding", metadata: ["group": .string(logic.group), "done": .stringConvertible(rebuiltCount),
                                                     "of": .stringConvertible(total)])
            }
        }
        await consumer.close()
        await deleteRebuildGroup(rebuildGroup)
        _ = try logic.tick()
        logger.info("state rebuilt", metadata: [
            "group": .string(logic.group), "records": .stringConvertible(rebuiltCount),
            "elapsed": .string("\(ContinuousClock.now - started)"),
        ])
    }

    /// Input partitions whose end offset is below where the checkpoint stands: the broker lost the topic since (a memory
    /// broker's restart) and re-created it, so its offsets start again. The state still holds what was read before; none
    /// of the new records is taken as covered by the checkpoint (the stage goes on from its committed offsets), and the
    /// log says so.
    private func partitionsRecreated(since checkpoint: StageCheckpoint) async throws -> Set<TopicPartition> {
        var lost: Set<TopicPartition> = []
        for topic in Set(checkpoint.positions.map(\.topic)) {
            let marks = try await bus.watermarks(topic: topic)
            for p in checkpoint.positions where p.topic == topic && (marks[p.partition]?.high ?? 0) < p.next {
                lost.insert(p.topicPartition)
            }
        }
        if !lost.isEmpty {
            logger.warning("input partitions end below the checkpoint: the broker lost and re-created them; their new records are all handled", metadata: [
                "group": .string(logic.group), "partitions": .string(lost.sorted().map(\.description).joined(separator: ",")),
            ])
        }
        return lost
    }

    /// Restores the newest checkpoint of the stage's group into the logic; nil when the stage keeps none, there is
    /// none, or it is of another state format (then the stage restores from its inputs, and says so).
    private func restoreCheckpoint() async throws -> StageCheckpoint? {
        guard let store = options.checkpoints, logic.stateFormat > 0 else { return nil }
        guard let checkpoint = try await store.latest(group: logic.group) else {
            logger.info("no checkpoint yet; restoring from the inputs", metadata: ["group": .string(logic.group)])
            return nil
        }
        guard checkpoint.format == logic.stateFormat else {
            logger.warning("checkpoint of another state format ignored; restoring from the inputs", metadata: [
                "group": .string(logic.group), "checkpoint.format": .stringConvertible(checkpoint.format),
                "stage.format": .stringConvertible(logic.stateFormat),
            ])
            return nil
        }
        do {
            try logic.restoreState(checkpoint.state)
        } catch let mismatch as CheckpointMismatch {
            logger.warning("checkpoint does not fit the stage's configuration; restoring from the inputs", metadata: [
                "group": .string(logic.group), "reason": .string(mismatch.description),
            ])
            return nil
        }
        logger.info("checkpoint restored", metadata: [
            "group": .string(logic.group), "sequence": .stringConvertible(checkpoint.sequence),
            "bytes": .stringConvertible(checkpoint.state.count),
            "positions": .string(checkpoint.positions.map { "\($0.topic)[\($0.partition)]@\($0.next)" }.joined(separator: ",")),
        ])
        return checkpoint
    }

    /// Records the restore needs that retention deleted: after a restored checkpoint the state would be wrong, so the
    /// stage stops (`StateGap`); without one (a first start on old topics) the state is built from what is left, as
    /// the log says.
    private func checkForGaps(targets: [TopicPartition: Int64], from: [TopicPartition: Int64], lows: [TopicPartition: Int64],
                              restored: Bool) throws {
        let gaps = targets.keys.sorted().filter { (lows[$0] ?? 0) > (from[$0] ?? 0) }
        guard !gaps.isEmpty else { return }
        let list = gaps.map { "\($0) needs offsets from \(from[$0] ?? 0), the earliest kept is \(lows[$0] ?? 0)" }.joined(separator: "; ")
        if restored {
            throw StateGap(description: "\(logic.group): records after its checkpoint were deleted before it restored them (\(list)); "
                + "the checkpoint is older than the topics' retention. Reset the group's state (quorum replay) or restore the records")
        }
        logger.error("state rebuilt without records that retention deleted (no checkpoint covers them)", metadata: [
            "group": .string(logic.group), "gaps": .string(list),
        ])
    }
}

extension StageHost {
    /// The rebuild's throw-away group never commits, but the broker keeps it after its consumer left: delete it, so
    /// restarts do not pile up groups. A failure only leaves an empty group behind (nothing of the stage's input
    /// or state depends on it), so it is logged, not thrown.
    private func deleteRebuildGroup(_ group: String) async {
        do {
            try await bus.deleteConsumerGroup(group)
            logger.info("rebuild consumer group deleted", metadata: ["group": .string(group)])
        } catch {
            logger.warning("the rebuild's consumer group was not deleted; it is empty and can be deleted by hand", metadata: [
                "group": .string(group), "error": .string(String(describing: error)),
            ])
        }
    }
}

/// A stop was requested while a batch kept failing to persist or publish (`StageHost.run` ends without committing it).
struct StopWhileRetrying: Error {}

/// Received and completed offsets of one partition; `advance` gives the last offset of the completed prefix.
struct PartitionTrack: Sendable {
    private var inFlight: Deque<Int64> = []
    private var done: Set<Int64> = []

    mutating func received(_ offset: Int64) { inFlight.append(offset) }

    mutating func completed(_ offset: Int64) { done.insert(offset) }

    /// Received offsets not completed yet.
    var pending: [Int64] { inFlight.filter { !done.contains($0) } }

    /// Pops the completed prefix; returns its last offset (nil when nothing new is complete).
    mutating func advance() -> Int64? {
        var last: Int64?
        while let first = inFlight.first, done.remove(first) != nil {
            last = inFlight.removeFirst()
        }
        return last
    }
}

/// The consumer in use, so `stop()` can interrupt it from another task.
final class ConsumerBox: Sendable {
    private struct State {
        var consumer: (any MessageConsumer)?
        var stopped = false
    }
    private let state = Mutex(State())

    var isStopped: Bool { state.withLock { $0.stopped } }

    func set(_ c: any MessageConsumer) {
        let stopNow = state.withLock { s -> Bool in
            s.consumer = c
            return s.stopped
        }
        if stopNow { c.interrupt() }
    }

    func interrupt() {
        let c = state.withLock { s -> (any MessageConsumer)? in
            s.stopped = true
            return s.consumer
        }
        c?.interrupt()
    }
}

/// A stage's consumer group and input topics, declared once on its type: the stage subscribes to them, and the
/// cluster-wide group → topics table (`ServiceGroups.inputs`: lag, replay resets) is derived from them.
public protocol StageInputs: Sendable {
    static var defaultGroup: String { get }
    static var inputTopics: [TopicSpec] { get }
}
