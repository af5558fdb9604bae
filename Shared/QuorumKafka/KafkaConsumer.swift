import CRdKafka
import Foundation
import Logging
import QuorumBus
import Synchronization

/// A consumer-group member over librdkafka.
///
/// Threads: one dedicated poll thread calls `rd_kafka_consume_queue` and `rd_kafka_consume_batch_queue` (which
/// also run the rebalance callback); one owner task calls `next()`, `commit(_:)`, `commitNow()` and `close()` (never two tasks at
/// once). Everything they share is a `ConsumerStateMachine` in one Mutex (`state`): the fetched messages, the assigned
/// partitions, the published marks, the owner's waiting continuation, the revoke in progress. This class only feeds it
/// events (`withMachine`) and carries out the actions it returns — resume a continuation, store or commit offsets,
/// destroy messages, wake the poll thread waiting in a revoke — after the lock is released; every librdkafka call is
/// here. The owner takes all fetched messages at once and works through them in `owner` (an `OwnerCursor`) without
/// locking; per message it reads one atomic (`ownerSignal`, the machine's signal counter, bumped by a revoke,
/// `interrupt()` and `close()`). Copied messages go back to the poll thread to be destroyed, so librdkafka's memory is
/// freed off the owner's path.
///
/// Delivery guarantees (the state machine's doc comment has the rules, its unit tests check them):
/// - `commit(_:)` marks an offset in the owner's cursor; marks are published to the state machine when the owner's
///   batch is done, on a revoke, on `commitNow`/`close`, and at least every `publishInterval` (looked at every
///   64 commits). The poll
///   thread stores published marks in librdkafka (`enable.auto.offset.store=false`), which commits stored
///   offsets every `commitIntervalMs` (`enable.auto.commit=true`). Nothing is committed that was not
///   marked, so an offset reaches the broker only after the handler's effects are done.
/// - On revoke the poll thread (1) drops fetched messages of the revoked partitions and bumps the owner's signal,
///   (2) waits until the owner acknowledges it — at its next `commit`/`next`, i.e. after the message in hand — having
///   published its marks and dropped revoked messages from its batch (it need not wait when the owner holds no
///   messages: it is in `next()` past the end of its batch with its marks published), (3) stores and synchronously
///   commits the marks, then (4) gives the partitions up. So no message is handled by two members without a commit in
///   between (unless the owner takes longer than five session timeouts with one message: the wait gives up and says so).
///
/// Call `close()` before dropping the last reference: the poll thread keeps the consumer alive until then.
public final class KafkaConsumer: MessageConsumer, @unchecked Sendable {
    // @unchecked: `rk`/`queue` are set in init and destroyed once by the poll thread when it exits; shared mutable
    // state is in `state` (Mutex); `ownerSignal` is an atomic; `owner` is touched only by the owner task, which the
    // `MessageConsumer` contract makes one task at a time.
    typealias Machine = ConsumerStateMachine<Fetched, CheckedContinuation<Void, Never>, DispatchSemaphore>

    /// A fetched librdkafka message not yet copied into Swift. Copying happens on the owner's thread, so Swift
    /// arrays are allocated and freed on the same thread; the librdkafka message itself is destroyed by the poll
    /// thread (cross-thread frees are slow in glibc's allocator at a million messages a second). It holds no Swift reference (the topic is the
    /// librdkafka topic handle): a shared topic String retained and released by both threads for every
    /// message would bounce its reference count between the cores.
    /// @unchecked: librdkafka messages may be read and destroyed from any thread before `rd_kafka_destroy`.
    struct Fetched: ConsumerRecord, @unchecked Sendable {
        struct RunKey: Equatable {
            let topic: OpaquePointer
            let partition: Int32
        }

        let pointer: UnsafeMutablePointer<rd_kafka_message_t>
        let topic: OpaquePointer  // rd_kafka_topic_t, alive while the message is
        let partition: Int32
        var runKey: RunKey { RunKey(topic: topic, partition: partition) }
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

    /// What only the owner task touches (one task at a time, so no lock): the batch it is working through and the
    /// offsets it marked since it last published them. Publishing takes the lock once per batch, per revoke, and at
    /// least every `publishInterval`, instead of once per message.
    struct OwnerCursor {
        var batch: [Fetched] = []
        var index = 0
        /// Copied messages of the batch, destroyed by the poll thread: freeing a librdkafka message frees memory
        /// its broker thread allocated, which in glibc takes that thread's arena lock; on the owner's path that
        /// contention cost more than the copy itself (`make bench-bus`).
        var done: [Fetched] = []
        /// The machine's `ownerSignal` the owner last caught up with.
        var seenSignal = 0
        /// The consumer was interrupted or closed: `next()` returns nil from now on.
        var stopped = false
        var marks: [TopicPartition: Int64] = [:]
        var lastMarked: TopicPartition?
        var lastMarkedOffset: Int64 = 0
        var lastPublish = ContinuousClock.now
        /// Commits since the clock was last read (reading it on every commit costs more than the rest of it).
        var commitsSinceClock = 0
        var names = TopicNames()

        var hasMessages: Bool { index < batch.count }

        /// Marks `next` (the offset after a handled message) for `tp`; consecutive marks of one partition cost no
        /// dictionary write.
        mutating func mark(_ tp: TopicPartition, next: Int64) {
            if let last = lastMarked, last == tp {
                lastMarkedOffset = max(lastMarkedOffset, next)
            } else {
                flushLastMark()
                lastMarked = tp
                lastMarkedOffset = next
            }
        }

        mutating func flushLastMark() {
            if let tp = lastMarked {
                marks[tp] = max(marks[tp] ?? -1, lastMarkedOffset)
                lastMarked = nil
            }
        }

        /// The marks to publish; resets them and the publish clock.
        mutating func takeMarks() -> [TopicPartition: Int64] {
            flushLastMark()
            let taken = marks
            marks.removeAll(keepingCapacity: true)
            lastPublish = .now
            return taken
        }
    }

    let rk: OpaquePointer
    let queue: OpaquePointer
    let context: ClientContext
    let group: String
    let configuration: KafkaConfiguration
    /// Everything the poll thread and the owner share; change it only through `withMachine`.
    let state: Mutex<Machine>
    /// The machine's `ownerSignal`, written under the lock whenever it changes; the owner compares it with
    /// `owner.seenSignal` on every `next()` and `commit`. The one read outside the lock, because it is on the
    /// per-message path: an uncontended `Mutex.withLock` costs about 10 ns here against 0.4 ns for a relaxed atomic load
    /// (measured on the 2-core dev machine), so reading the machine under the lock in `next` and in `commit` would add
    /// about 20 ns to a message that costs 0.4–0.6 µs at `make bench-bus` rates (some 4 %), more when the poll thread
    /// holds the lock to fill the buffer. The value is only a hint: the owner acts on what the machine says under the lock.
    let ownerSignal = Atomic<Int>(0)
    /// Owner-only; see `OwnerCursor`.
    var owner = OwnerCursor()
    let publishInterval: Duration = .milliseconds(100)

    public init(configuration: KafkaConfiguration, group: String, topics: [String], clientID: String,
                startAt: StartPosition, logger: Logger) throws {
        try configuration.validate()
        guard !topics.isEmpty else { throw BusError(.invalidConfiguration, "a consumer needs at least one topic") }
        self.configuration = configuration
        self.group = group
        state = Mutex(Machine(highWater: 20_000, now: .now))
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

    /// Feeds the state machine one event under the lock; the caller carries out the returned action after it.
    private func withMachine<Result: Sendable>(_ event: (inout Machine) -> Result) -> Result {
        state.withLock { machine in
            let result = event(&machine)
            // Store only when it changed: a store invalidates the owner's cached copy even when the value is the same.
            if ownerSignal.load(ordering: .relaxed) != machine.ownerSignal {
                ownerSignal.store(machine.ownerSignal, ordering: .relaxed)
            }
            return result
        }
    }

    // MARK: owner API

    public func next() async throws -> IncomingMessage? {
        while true {
            if ownerSignal.load(ordering: .relaxed) != owner.seenSignal { catchUp() }
            if owner.stopped {
                let marks = owner.takeMarks()
                if let fatal = withMachine({ $0.ownerStopped(marks: marks) }) { throw fatal }
                return nil
            }
            if owner.index < owner.batch.count {
                let fetched = owner.batch[owner.index]
                owner.index += 1
                owner.done.append(fetched)
                return Self.copy(fetched.pointer, topic: owner.names.name(fetched.topic))
            }
            // Batch done: publish marks, hand back the copied messages and take everything fetched since, in one lock.
            let marks = owner.takeMarks()
            let done = owner.done
            owner.done.removeAll(keepingCapacity: true)
            switch withMachine({ $0.ownerNeedsMessages(marks: marks, done: done) }) {
            case .batch(let taken):
                owner.batch = taken
                owner.index = 0
            case .end: return nil
            case .fail(let e): throw e
            case .wait:
                try Task.checkCancellation()
                let seen = owner.seenSignal
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        withMachine { $0.ownerWait(c, seenSignal: seen, cancelled: Task.isCancelled) }?.resume()
                    }
                } onCancel: {
                    self.withMachine { $0.ownerCancelled() }?.resume()
                }
            }
        }
    }

    /// The machine's signal changed (a revoke, `interrupt()`, `close()`): publish marks, drop messages of partitions
    /// no longer assigned from the batch in hand, and acknowledge, so a waiting revoke can commit and hand them over.
    private func catchUp() {
        let marks = owner.takeMarks()
        let rest = Array(owner.batch[owner.index...])
        let action = withMachine { machine in
            machine.ownerCatchUp(marks: marks, rest: rest) { $0.topicPartition(&self.owner.names) }
        }
        owner.batch = action.kept
        owner.index = 0
        owner.seenSignal = action.signal
        if action.stopped { owner.stopped = true }
        for f in action.destroy { f.destroy() }
        action.resumeRevoke?.signal()
    }

    /// Publishes the owner's marks to the state machine (the poll thread stores them for auto-commit).
    private func publishMarks() {
        owner.flushLastMark()
        guard !owner.marks.isEmpty else { return }
        let marks = owner.takeMarks()
        withMachine { $0.ownerPublished(marks) }
    }

    public func commit(_ message: IncomingMessage) throws {
        owner.mark(message.topicPartition, next: message.offset + 1)
        if ownerSignal.load(ordering: .relaxed) != owner.seenSignal {
            catchUp()
        } else {
            owner.commitsSinceClock += 1
            if owner.commitsSinceClock >= 64 {
                owner.commitsSinceClock = 0
                if ContinuousClock.now - owner.lastPublish >= publishInterval { publishMarks() }
            }
        }
    }

    public func commitNow() async throws {
        let published = owner.takeMarks()
        let marks = withMachine { $0.commitNow(marks: published) }
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
        if owner.hasMessages { return true }
        return state.withLock { $0.hasBufferedMessages }
    }

    public func assignment() -> Set<TopicPartition> { state.withLock { $0.assigned } }

    public var unassignedSince: ContinuousClock.Instant? { state.withLock { $0.unassignedSince } }

    public func interrupt() {
        withMachine { $0.interrupt() }?.resume()
    }

    /// Call from the owner task (it publishes the owner's last marks before leaving the group).
    public func close() async {
        let marks = owner.takeMarks()
        for f in owner.done { f.destroy() }
        owner.done = []
        for f in owner.batch[owner.index...] { f.destroy() }
        owner.batch = []
        owner.index = 0
        owner.stopped = true
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let action = withMachine { $0.close(marks: marks, waiter: c) }
            action.resumeRevoke?.signal()
            for w in action.resume { w.resume() }
        }
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
        var names = TopicNames()
        loop: while true {
            let tick = withMachine { $0.pollTick(takingConsumed: &consumed) }
            storeOffsets(tick.store)
            for f in consumed { f.destroy() }
            consumed.removeAll(keepingCapacity: true)
            switch tick.next {
            case .shutDown: break loop
            case .failed:
                usleep(10_000)
                continue
            case .backOff:
                usleep(1000)
                continue
            case .fetch: break
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
            // Keeps only messages of partitions still assigned (a revoke may have run inside the batch call).
            let action = withMachine { machine in
                machine.fetched(fetched) { $0.topicPartition(&names) }
            }
            for f in action.destroy { f.destroy() }
            action.resume?.resume()
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
            // The poll loop stops fetching but keeps running until `close()`: the owner may still hold messages,
            // and every message must be destroyed before the handle is.
            withMachine { $0.fatalError(fatal) }?.resume()
            return
        }
        context.logger.warning("kafka consume error", metadata: ["kafka.error": .string(reason)])
    }

    /// Stores offsets in librdkafka's offset store (committed by auto-commit, or by the synchronous commit of a revoke).
    private func storeOffsets(_ marks: [TopicPartition: Int64]) {
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
            withMachine { $0.partitionsAssigned(changed, now: .now) }
            context.logger.info("partitions assigned", metadata: ["kafka.partitions": .string(changed.map(\.description).sorted().joined(separator: ","))])
            _ = rd_kafka_assign(rk, partitions)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = Set(changed)
            // 1. Stop handing out messages of the revoked partitions, and tell the owner (its signal changes).
            var names = TopicNames()
            let ownerCaughtUp = DispatchSemaphore(value: 0)
            let start = withMachine { machine in
                machine.revokeStarted(revoked, now: .now, waiter: ownerCaughtUp) { $0.topicPartition(&names) }
            }
            switch start {
            case .proceed(let destroy):
                for f in destroy { f.destroy() }
            case .waitForOwner(let destroy):
                for f in destroy { f.destroy() }
                // 2. Wait until the owner has finished the message in hand and published its marks.
                if ownerCaughtUp.wait(timeout: .now() + .milliseconds(configuration.sessionTimeoutMs * 5)) == .timedOut {
                    withMachine { $0.revokeWaitTimedOut() }
                    context.logger.warning("the message in hand did not finish before the revoke; it may be handled again by the next owner")
                }
            }
            // 3. Store and commit what was marked, synchronously, before the partitions change hands.
            storeOffsets(withMachine { $0.revokeCommitting(revoked) })
            let commitErr = rd_kafka_commit(rk, nil, 0)
            if commitErr != RD_KAFKA_RESP_ERR_NO_ERROR && commitErr != RD_KAFKA_RESP_ERR__NO_OFFSET {
                context.logger.warning("commit on revoke failed", metadata: ["kafka.error": .string(rdErrorText(commitErr))])
            }
            // 4. Give them up.
            withMachine { $0.revokeFinished(revoked) }
            context.logger.info("partitions revoked", metadata: ["kafka.partitions": .string(changed.map(\.description).sorted().joined(separator: ","))])
            _ = rd_kafka_assign(rk, nil)
        default:
            context.logger.warning("rebalance error", metadata: ["kafka.error": .string(rdErrorText(err))])
            withMachine { $0.rebalanceFailed(now: .now) }
            _ = rd_kafka_assign(rk, nil)
        }
    }

    /// Leaves the group (its final revoke commits marked offsets) and destroys the handles. Poll thread only.
    private func shutDown() {
        let stopping = withMachine { $0.pollThreadStopping() }
        storeOffsets(stopping.store)
        for f in stopping.destroy { f.destroy() }
        let err = rd_kafka_consumer_close(rk)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("consumer close reported an error", metadata: ["kafka.error": .string(rdErrorText(err))])
        }
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(rk)
        for w in withMachine({ $0.pollThreadExited(now: .now) }) { w.resume() }
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
