import CRdKafka
import Foundation
import Logging
import QuorumBus
import Synchronization

/// A consumer-group member over librdkafka.
///
/// Threads: one dedicated poll thread calls `rd_kafka_consume_queue` and `rd_kafka_consume_batch_queue` (which
/// also run the rebalance callback); one owner task calls `next()`, `commit(_:)`, `commitNow()` and `close()` (never two tasks at
/// once). They meet in `state` (a Mutex): the fetched messages, the owner's waiting continuation, the
/// published marks. The owner takes all fetched messages at once and works through them in `owner`
/// without locking; per message it only reads two atomics (revoke generation, stop flag). Copied messages go
/// back to the poll thread to be destroyed, so librdkafka's memory is freed off the owner's path.
///
/// Delivery guarantees:
/// - `commit(_:)` marks an offset in the owner's state; marks are published to `state` when the owner's
///   batch is done, on a revoke, on `commitNow`/`close`, and at least every `publishInterval` (looked at every
///   64 commits). The poll
///   thread stores published marks in librdkafka (`enable.auto.offset.store=false`), which commits stored
///   offsets every `commitIntervalMs` (`enable.auto.commit=true`). Nothing is committed that was not
///   marked, so an offset reaches the broker only after the handler's effects are done.
/// - On revoke the poll thread (1) drops fetched messages of the revoked partitions and bumps the revoke
///   generation, (2) waits until the owner acknowledges it — at its next `commit`/`next`, i.e. after the
///   message in hand — having published its marks and dropped revoked messages from its batch (or is idle
///   in `next()`), (3) stores and synchronously commits the marks, then (4) gives the partitions up. So
///   no message is handled by two members without a commit in between.
///
/// Call `close()` before dropping the last reference: the poll thread keeps the consumer alive until then.
public final class KafkaConsumer: MessageConsumer, @unchecked Sendable {
    // @unchecked: `rk`/`queue` are set in init and destroyed once by the poll thread when it exits;
    // shared mutable state is in `state` (Mutex) or atomics; `owner` is touched only by the owner task.
    struct State {
        /// Fetched messages not yet taken by the owner.
        var buffer: [Fetched] = []
        /// Messages the owner has copied, handed back to the poll thread to be destroyed (see `OwnerState.done`).
        var consumed: [Fetched] = []
        var waiter: CheckedContinuation<Void, Never>?
        var assigned: Set<TopicPartition> = []
        /// Since when `assigned` has been empty (nil while partitions are assigned).
        var unassignedSince: ContinuousClock.Instant? = .now
        /// Offsets published by the owner (next offset to read) not yet stored in librdkafka.
        var pendingMarks: [TopicPartition: Int64] = [:]
        /// Everything published in the current assignment (for `commitNow` and revoke).
        var marks: [TopicPartition: Int64] = [:]
        /// The owner waits in `next()` with nothing in hand and its marks published.
        var ownerIdle = false
        /// The last revoke generation the owner has caught up with (see `rebalance`).
        var ackGeneration = 0
        var interrupted = false
        var closed = false
        var fatal: BusError?
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var pollThreadExited = false

        var buffered: Int { buffer.count }
    }

    /// A fetched librdkafka message not yet copied into Swift. Copying happens on the owner's thread, so Swift
    /// arrays are allocated and freed on the same thread; the librdkafka message itself is destroyed by the poll
    /// thread (cross-thread frees are slow in glibc's allocator at a million messages a second). It holds no Swift reference (the topic is the
    /// librdkafka topic handle): a shared topic String retained and released by both threads for every
    /// message would bounce its reference count between the cores.
    /// @unchecked: librdkafka messages may be read and destroyed from any thread before `rd_kafka_destroy`.
    struct Fetched: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<rd_kafka_message_t>
        let topic: OpaquePointer  // rd_kafka_topic_t, alive while the message is
        let partition: Int32
        func destroy() { rd_kafka_message_destroy(pointer) }
        func topicPartition(_ names: inout TopicNames) -> TopicPartition {
            TopicPartition(topic: names.name(topic), partition: partition)
        }
    }

    /// Topic names by librdkafka topic handle; one per thread (poll thread, owner), never shared.
    struct TopicNames {
        private var last: OpaquePointer?
        private var lastName = ""
        private var names: [OpaquePointer: String] = [:]

        mutating func name(_ rkt: OpaquePointer) -> String {
            if rkt == last { return lastName }
            let name: String
            if let known = names[rkt] {
                name = known
            } else {
                name = String(cString: rd_kafka_topic_name(rkt))
                names[rkt] = name
            }
            last = rkt
            lastName = name
            return name
        }
    }

    /// State only the owner task touches (one task at a time, so no lock): the batch it is working through
    /// and the offsets it marked since it last published them. Publishing takes the lock once per batch,
    /// per revoke, and at least every `publishInterval`, instead of once per message.
    struct OwnerState {
        var batch: [Fetched] = []
        var index = 0
        /// Copied messages of the batch, destroyed by the poll thread: freeing a librdkafka message frees memory
        /// its broker thread allocated, which in glibc takes that thread's arena lock; on the owner's path that
        /// contention cost more than the copy itself (`make bench-bus`).
        var done: [Fetched] = []
        var generation = 0
        var marks: [TopicPartition: Int64] = [:]
        var lastMarked: TopicPartition?
        var lastMarkedOffset: Int64 = 0
        var lastPublish = ContinuousClock.now
        /// Commits since the clock was last read (reading it on every commit costs more than the rest of it).
        var commitsSinceClock = 0
        var names = TopicNames()
    }

    let rk: OpaquePointer
    let queue: OpaquePointer
    let context: ClientContext
    let group: String
    let configuration: KafkaConfiguration
    let state = Mutex(State())
    /// Owner-only; see `OwnerState`.
    nonisolated(unsafe) var owner = OwnerState()
    /// Poll-thread-only (the poll loop and the rebalance callback, which librdkafka runs inside the poll call).
    nonisolated(unsafe) var pollNames = TopicNames()
    /// Bumped by each revoke; the owner compares it with its own copy on every message (one atomic load).
    let revokeGeneration = Atomic<Int>(0)
    /// Set by `interrupt()`/`close()`, read by the owner on every message.
    let stopRequested = Atomic<Bool>(false)
    let publishInterval: Duration = .milliseconds(100)
    private let poller = PollThreadControl()
    /// Signalled when the owner acknowledges a revoke generation.
    private let ownerCaughtUp = NSCondition()
    /// The poll thread stops fetching while this many messages wait in the buffer.
    let highWater = 20_000

    public init(configuration: KafkaConfiguration, group: String, topics: [String], clientID: String,
                startAt: StartPosition, logger: Logger) throws {
        try configuration.validate()
        guard !topics.isEmpty else { throw BusError(.invalidConfiguration, "a consumer needs at least one topic") }
        self.configuration = configuration
        self.group = group
        var log = logger
        log[metadataKey: "kafka.group"] = .string(group)
        log[metadataKey: "kafka.client_id"] = .string(clientID)
        context = ClientContext(logger: log)
        var properties = configuration.commonProperties(clientID: clientID)
        properties += [
            ("group.id", group),
            ("enable.auto.commit", "true"),
            ("enable.auto.offset.store", "false"),
            ("auto.commit.interval.ms", String(configuration.commitIntervalMs)),
            ("auto.offset.reset", startAt == .earliest ? "earliest" : "latest"),
            ("session.timeout.ms", String(configuration.sessionTimeoutMs)),
            ("heartbeat.interval.ms", String(max(100, configuration.sessionTimeoutMs / 6))),
            ("partition.assignment.strategy", "range,roundrobin"),
            ("enable.partition.eof", "false"),
            ("fetch.wait.max.ms", String(configuration.fetchWaitMaxMs)),
            ("fetch.queue.backoff.ms", String(configuration.fetchWaitMaxMs)),  // see KafkaConfiguration
            ("queued.min.messages", "100000"),
        ]
        let conf = try makeConf(properties)
        installCommonCallbacks(conf, context: context)
        rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
            guard let rk, let owner = ClientContext.from(opaque)?.consumer else { return }
            owner.rebalance(rk: rk, err: err, partitions: partitions)
        }
        let rk = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        self.rk = rk
        rd_kafka_poll_set_consumer(rk)
        queue = rd_kafka_queue_get_consumer(rk)
        context.consumer = self  // weak; read by the rebalance callback

        let list = PartitionList(capacity: topics.count)
        for t in topics { list.add(t, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(rk)
            throw BusError(.invalidConfiguration, "could not subscribe to \(topics): \(rdErrorText(err))")
        }
        startPollThread()
    }

    deinit {
        // The poll thread holds `self` strongly until it exits, so deinit runs after it has destroyed the handles.
    }

    // MARK: owner API

    public func next() async throws -> IncomingMessage? {
        while true {
            if stopRequested.load(ordering: .relaxed) {
                publishMarks()
                if let fatal = state.withLock({ $0.fatal }) { throw fatal }
                return nil
            }
            if revokeGeneration.load(ordering: .acquiring) != owner.generation {
                catchUpWithRevoke()
                continue
            }
            if owner.index < owner.batch.count {
                let fetched = owner.batch[owner.index]
                owner.index += 1
                owner.done.append(fetched)
                return Self.copy(fetched.pointer, topic: owner.names.name(fetched.topic))
            }
            // Batch done: publish marks and take everything fetched since, in one lock.
            flushLastMark()
            let marks = owner.marks
            owner.marks.removeAll(keepingCapacity: true)
            owner.lastPublish = .now
            enum Refill { case batch([Fetched]), wait, end, fail(BusError) }
            let done = owner.done
            owner.done.removeAll(keepingCapacity: true)
            let refill: Refill = state.withLock { s in
                Self.merge(marks, into: &s)
                s.consumed.append(contentsOf: done)
                if let fatal = s.fatal { return .fail(fatal) }
                if s.closed || s.interrupted { return .end }
                if s.buffer.isEmpty { return .wait }
                let taken = s.buffer
                s.buffer = []
                s.buffer.reserveCapacity(taken.count)
                return .batch(taken)
            }
            switch refill {
            case .batch(let taken):
                owner.batch = taken
                owner.index = 0
            case .end: return nil
            case .fail(let e): throw e
            case .wait:
                try Task.checkCancellation()
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { s -> Bool in
                            if !s.buffer.isEmpty || s.closed || s.interrupted || s.fatal != nil || Task.isCancelled { return true }
                            if revokeGeneration.load(ordering: .acquiring) != owner.generation { return true }
                            s.waiter = c
                            s.ownerIdle = true  // marks are published and nothing is in hand
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    self.wakeOwner()
                }
                state.withLock { $0.ownerIdle = false }
            }
        }
    }

    /// The owner saw a new revoke generation: publish marks, drop messages of partitions no longer
    /// assigned from the batch in hand, and acknowledge so the revoke can commit and hand them over.
    private func catchUpWithRevoke() {
        flushLastMark()
        let marks = owner.marks
        owner.marks.removeAll(keepingCapacity: true)
        owner.lastPublish = .now
        let generation = revokeGeneration.load(ordering: .acquiring)
        let assigned = state.withLock { s -> Set<TopicPartition> in
            Self.merge(marks, into: &s)
            s.ackGeneration = max(s.ackGeneration, generation)
            return s.assigned
        }
        var kept: [Fetched] = []
        for f in owner.batch[owner.index...] {
            if assigned.contains(f.topicPartition(&owner.names)) { kept.append(f) } else { f.destroy() }
        }
        owner.batch = kept
        owner.index = 0
        owner.generation = generation
        ownerCaughtUp.lock()
        ownerCaughtUp.broadcast()
        ownerCaughtUp.unlock()
    }

    /// Records published marks (with the lock held).
    private static func merge(_ marks: [TopicPartition: Int64], into s: inout State) {
        for (tp, offset) in marks where s.assigned.contains(tp) && offset > (s.marks[tp] ?? -1) {
            s.marks[tp] = offset
            s.pendingMarks[tp] = offset
        }
    }

    private func flushLastMark() {
        if let tp = owner.lastMarked {
            owner.marks[tp] = max(owner.marks[tp] ?? -1, owner.lastMarkedOffset)
            owner.lastMarked = nil
        }
    }

    /// Publishes the owner's marks to the shared state (the poll thread stores them for auto-commit).
    private func publishMarks() {
        flushLastMark()
        guard !owner.marks.isEmpty else { return }
        let marks = owner.marks
        owner.marks.removeAll(keepingCapacity: true)
        owner.lastPublish = .now
        state.withLock { Self.merge(marks, into: &$0) }
    }

    func wakeOwner() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    public func commit(_ message: IncomingMessage) throws {
        let tp = message.topicPartition
        let next = message.offset + 1
        if let last = owner.lastMarked, last == tp {
            owner.lastMarkedOffset = max(owner.lastMarkedOffset, next)
        } else {
            flushLastMark()
            owner.lastMarked = tp
            owner.lastMarkedOffset = next
        }
        if revokeGeneration.load(ordering: .acquiring) != owner.generation {
            catchUpWithRevoke()
        } else {
            owner.commitsSinceClock += 1
            if owner.commitsSinceClock >= 64 {
                owner.commitsSinceClock = 0
                if ContinuousClock.now - owner.lastPublish >= publishInterval { publishMarks() }
            }
        }
    }

    public func commitNow() async throws {
        publishMarks()
        let marks = state.withLock { s -> [TopicPartition: Int64] in
            s.pendingMarks = [:]
            return s.marks
        }
        guard !marks.isEmpty else { return }
        let client = RdClient(pointer: rk)
        let group = self.group
        try await Blocking.run("kafka-commit") {
            let list = PartitionList(capacity: marks.count)
            for (tp, offset) in marks { list.add(tp.topic, tp.partition, offset: offset) }
            let err = rd_kafka_commit(client.pointer, list.pointer, 0)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
                throw BusError(.commitFailed, "committing offsets of group '\(group)' failed: \(rdErrorText(err))", isRetriable: true)
            }
        }
    }

    /// Owner only (like `next()`): messages in hand or fetched and waiting.
    public var hasBufferedMessages: Bool {
        if owner.index < owner.batch.count { return true }
        return state.withLock { !$0.buffer.isEmpty }
    }

    public func assignment() -> Set<TopicPartition> { state.withLock { $0.assigned } }

    public var unassignedSince: ContinuousClock.Instant? { state.withLock { $0.unassignedSince } }

    public func interrupt() {
        state.withLock { $0.interrupted = true }
        stopRequested.store(true, ordering: .relaxed)
        wakeOwner()
    }

    /// Call from the owner task (it publishes the owner's last marks before leaving the group).
    public func close() async {
        publishMarks()
        for f in owner.done { f.destroy() }
        owner.done = []
        for f in owner.batch[owner.index...] { f.destroy() }
        owner.batch = []
        owner.index = 0
        stopRequested.store(true, ordering: .relaxed)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                s.closed = true
                if s.pollThreadExited { return true }
                s.closeWaiters.append(c)
                return false
            }
            if done { c.resume() }
            poller.requestStop()
        }
        wakeOwner()
    }

    // MARK: poll thread

    private func startPollThread() {
        let thread = Thread { [self] in pollLoop() }
        thread.name = "kafka-consumer-poll"
        thread.start()
    }

    private func pollLoop() {
        let capacity = 1000
        let batch = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { batch.deallocate() }
        var fetched: [Fetched] = []
        fetched.reserveCapacity(capacity)
        var consumed: [Fetched] = []
        while !poller.shouldStop {
            storePendingMarks()
            let failed = state.withLock { s -> Bool in
                swap(&s.consumed, &consumed)
                return s.fatal != nil
            }
            for f in consumed { f.destroy() }
            consumed.removeAll(keepingCapacity: true)
            if failed {
                usleep(10_000)
                continue
            }
            if state.withLock({ $0.buffered }) >= highWater {
                usleep(1000)
                continue
            }
            // Wait (up to 100 ms) for one message and return it at once; then take what else is already queued
            // without waiting. A lone message is handed over as soon as it arrives, a backlog still in batches.
            // (`rd_kafka_consume_batch_queue` with a timeout waits for a full batch or the whole timeout: 100 ms a hop.)
            guard let first = rd_kafka_consume_queue(queue, 100) else { continue }
            batch[0] = first
            let more = rd_kafka_consume_batch_queue(queue, 0, batch + 1, capacity - 1)
            let n = 1 + max(0, more)
            fetched.removeAll(keepingCapacity: true)
            for i in 0..<n {
                guard let m = batch[i] else { continue }
                if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    handleConsumeError(m)
                    rd_kafka_message_destroy(m)
                    continue
                }
                fetched.append(Fetched(pointer: m, topic: m.pointee.rkt!, partition: m.pointee.partition))
            }
            guard !fetched.isEmpty else { continue }
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                // Keep only messages of partitions still assigned (a revoke may have run inside the batch call).
                // Messages come in runs of one partition: look each run up once.
                var run: (topic: OpaquePointer, partition: Int32, assigned: Bool)?
                for m in fetched {
                    if run == nil || run!.topic != m.topic || run!.partition != m.partition {
                        run = (m.topic, m.partition, s.assigned.contains(m.topicPartition(&pollNames)))
                    }
                    if run!.assigned { s.buffer.append(m) } else { m.destroy() }
                }
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
        shutDown()
    }

    private func handleConsumeError(_ m: UnsafeMutablePointer<rd_kafka_message_t>) {
        let err = m.pointee.err
        let reason = m.pointee.payload.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? rdErrorText(err)
        var errbuf = [CChar](repeating: 0, count: 512)
        if rd_kafka_fatal_error(rk, &errbuf, errbuf.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let fatal = BusError(.brokerUnreachable, "fatal consumer error in group '\(group)': \(text(of: errbuf))")
            context.logger.critical("fatal kafka consumer error", metadata: ["kafka.error": .string(fatal.message)])
            state.withLock { $0.fatal = fatal }
            // The poll loop stops fetching but keeps running until `close()`: the owner may still hold messages,
            // and every message must be destroyed before the handle is.
            wakeOwner()
            return
        }
        context.logger.warning("kafka consume error", metadata: ["kafka.error": .string(reason)])
    }

    /// Moves offsets marked since the last call into librdkafka's offset store (committed by auto-commit).
    private func storePendingMarks() {
        let marks = state.withLock { s -> [TopicPartition: Int64] in
            defer { s.pendingMarks = [:] }
            return s.pendingMarks
        }
        guard !marks.isEmpty else { return }
        let list = PartitionList(capacity: marks.count)
        for (tp, offset) in marks { list.add(tp.topic, tp.partition, offset: offset) }
        let err = rd_kafka_offsets_store(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.debug("offset store skipped partitions", metadata: ["kafka.error": .string(rdErrorText(err))])
        }
    }

    /// Runs on the poll thread inside librdkafka's rebalance callback.
    fileprivate func rebalance(rk: OpaquePointer, err: rd_kafka_resp_err_t,
                               partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let changed = PartitionList.describe(partitions)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            state.withLock { s in
                s.assigned.formUnion(changed)
                if !s.assigned.isEmpty { s.unassignedSince = nil } else if s.unassignedSince == nil { s.unassignedSince = .now }
            }
            context.logger.info("partitions assigned", metadata: ["kafka.partitions": .string(changed.map(\.description).sorted().joined(separator: ","))])
            _ = rd_kafka_assign(rk, partitions)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = Set(changed)
            // 1. Stop handing out messages of the revoked partitions, and tell the owner (new generation).
            let generation = revokeGeneration.add(1, ordering: .sequentiallyConsistent).newValue
            state.withLock { s in
                s.assigned.subtract(revoked)
                if s.assigned.isEmpty, s.unassignedSince == nil { s.unassignedSince = .now }
                s.buffer.removeAll { f in
                    guard revoked.contains(f.topicPartition(&pollNames)) else { return false }
                    f.destroy()
                    return true
                }
            }
            // 2. Wait until the owner has finished the message in hand and published its marks.
            waitForOwner(generation: generation, timeout: .seconds(Double(configuration.sessionTimeoutMs) / 1000 * 5))
            // 3. Store and commit what was marked, synchronously, before the partitions change hands.
            state.withLock { s in
                for tp in revoked { if let o = s.marks[tp] { s.pendingMarks[tp] = o } }
            }
            storePendingMarks()
            let commitErr = rd_kafka_commit(rk, nil, 0)
            if commitErr != RD_KAFKA_RESP_ERR_NO_ERROR && commitErr != RD_KAFKA_RESP_ERR__NO_OFFSET {
                context.logger.warning("commit on revoke failed", metadata: ["kafka.error": .string(rdErrorText(commitErr))])
            }
            state.withLock { s in
                for tp in revoked { s.marks[tp] = nil; s.pendingMarks[tp] = nil }
            }
            context.logger.info("partitions revoked", metadata: ["kafka.partitions": .string(changed.map(\.description).sorted().joined(separator: ","))])
            _ = rd_kafka_assign(rk, nil)
        default:
            context.logger.warning("rebalance error", metadata: ["kafka.error": .string(rdErrorText(err))])
            state.withLock { s in
                s.assigned = []
                if s.unassignedSince == nil { s.unassignedSince = .now }
            }
            _ = rd_kafka_assign(rk, nil)
        }
    }

    /// Blocks the poll thread until the owner acknowledged `generation` (at its next `commit`/`next`) or
    /// is idle in `next()` with its marks published.
    private func waitForOwner(generation: Int, timeout: Duration) {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        ownerCaughtUp.lock()
        defer { ownerCaughtUp.unlock() }
        while !state.withLock({ $0.ackGeneration >= generation || $0.ownerIdle || $0.closed }) {
            if Date() >= deadline {
                context.logger.warning("the message in hand did not finish before the revoke; it may be handled again by the next owner")
                return
            }
            _ = ownerCaughtUp.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
        }
    }

    /// Leaves the group (final revoke commits marked offsets) and destroys the handles. Poll thread only.
    private func shutDown() {
        storePendingMarks()
        state.withLock { s in
            for f in s.buffer { f.destroy() }
            s.buffer = []
            for f in s.consumed { f.destroy() }
            s.consumed = []
        }
        let err = rd_kafka_consumer_close(rk)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("consumer close reported an error", metadata: ["kafka.error": .string(rdErrorText(err))])
        }
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(rk)
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.pollThreadExited = true
            s.closed = true
            s.assigned = []
            defer { s.closeWaiters = [] }
            return s.closeWaiters
        }
        for w in waiters { w.resume() }
        wakeOwner()
        poller.markStopped()
    }

    static func copy(_ m: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> IncomingMessage {
        let msg = m.pointee
        let key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) } ?? []
        let value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        var headers: [MessageHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var idx = 0
            var name: UnsafePointer<CChar>?
            var val: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, idx, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = val.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(MessageHeader(name.map { String(cString: $0) } ?? "", bytes))
                idx += 1
            }
        }
        var tsType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &tsType)
        return IncomingMessage(topic: topic, partition: msg.partition, offset: msg.offset, key: key, value: value,
                               headers: headers, timestampMs: tsType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts)
    }
}
