import CRdKafka
import Foundation
import Logging
import QuorumBus
import Synchronization

/// One `send` call's messages, waiting for their delivery reports.
///
/// Each message gets a slot; its address is the per-message opaque librdkafka hands back in the
/// delivery callback, so the callback finds its slot and the batch without any lookup.
final class DeliveryBatch: @unchecked Sendable {
    // @unchecked: `slots` entries are written only by the delivery callback (the producer's poll thread)
    // before `remaining` reaches zero under `state`'s lock, and read only after that.
    struct Slot {
        var batch: Unmanaged<DeliveryBatch>
        var partition: Int32 = -1
        var offset: Int64 = -1
        var error: rd_kafka_resp_err_t = RD_KAFKA_RESP_ERR_NO_ERROR
    }
    struct State {
        var remaining: Int
        var continuation: CheckedContinuation<Void, Never>?
    }

    let count: Int
    let slots: UnsafeMutablePointer<Slot>
    let state: Mutex<State>

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        state = Mutex(State(remaining: count))
        let me = Unmanaged.passUnretained(self)
        slots.initialize(repeating: Slot(batch: me), count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// Marks `n` slots finished; resumes the waiter when all are.
    func finish(_ n: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.remaining -= n
            guard s.remaining == 0 else { return nil }
            defer { s.continuation = nil }
            return s.continuation
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { c in
            let done = state.withLock { s -> Bool in
                if s.remaining == 0 { return true }
                s.continuation = c
                return false
            }
            if done { c.resume() }
        }
    }
}

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all`).
///
/// A dedicated thread serves librdkafka's delivery reports (`rd_kafka_poll`); `send` enqueues without
/// blocking (on a full local queue it waits asynchronously) and returns when every message is acknowledged.
public final class KafkaProducer: RenewableProducer, @unchecked Sendable {
    // @unchecked: `rk` is set once in init and destroyed once, by `close()` (or deinit) after every send and flush that
    // used it has ended and the poll thread stopped (`ProducerLifecycle`); librdkafka handles are thread-safe. Mutable
    // state lives in `state` (a Mutex).
    let rk: OpaquePointer
    let context: ClientContext
    let configuration: KafkaConfiguration
    private struct State {
        var topics: [String: OpaquePointer] = [:]
        /// Who uses the handles, and when they may be destroyed. The closer waits on a continuation (true: it destroys).
        var lifecycle = ProducerLifecycle<CheckedContinuation<Bool, Never>>()
    }
    private let state = Mutex(State())
    private let poller = PollThreadControl()

    public init(configuration: KafkaConfiguration, clientID: String, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        var log = logger
        log[metadataKey: "kafka.client_id"] = .string(clientID)
        context = ClientContext(logger: log)
        var properties = configuration.commonProperties(clientID: clientID)
        properties += [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", String(configuration.lingerMs)),
            ("message.timeout.ms", String(configuration.messageTimeoutMs)),
            ("partitioner", "murmur2_random"),
            ("queue.buffering.max.messages", "500000"),
            ("queue.buffering.max.kbytes", "1048576"),
            ("batch.num.messages", "10000"),
            ("compression.type", "none"),
        ]
        let conf = try makeConf(properties)
        installCommonCallbacks(conf, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let slot = opaque.assumingMemoryBound(to: DeliveryBatch.Slot.self)
            slot.pointee.partition = message.pointee.partition
            slot.pointee.offset = message.pointee.offset
            slot.pointee.error = message.pointee.err
            slot.pointee.batch.takeUnretainedValue().finish(1)
        }
        rk = try makeClient(type: RD_KAFKA_PRODUCER, conf: conf)
        startPollThread()
    }

    private func startPollThread() {
        let client = RdClient(pointer: rk)
        let thread = Thread { [poller] in
            while !poller.shouldStop { rd_kafka_poll(client.pointer, 50) }
            poller.markStopped()
        }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    deinit {
        // close() is the normal path; this frees the handle if the owner forgot to call it. No send or flush can be in
        // progress: each holds a reference to the producer.
        if state.withLock({ $0.lifecycle.takeForDeinit() }) {
            poller.requestStop()
            poller.waitUntilStopped()
            destroyHandles(flushMs: 0)
        }
    }

    /// The topic handle for `name`. Call only inside a use (`beginUse`/`endUse`): the handle lives until the producer is destroyed.
    private func topicHandle(_ name: String) -> OpaquePointer? {
        state.withLock { s in
            if let h = s.topics[name] { return h }
            guard s.lifecycle.handlesAlive, let h = rd_kafka_topic_new(rk, name, nil) else { return nil }
            s.topics[name] = h
            return h
        }
    }

    public func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        if messages.isEmpty { return [] }
        // From here until the last delivery report this send uses the handles: close() waits for it (see ProducerLifecycle).
        guard state.withLock({ $0.lifecycle.beginUse() }) else { throw BusError(.closed, "send on a closed producer") }
        defer { endUse() }
        let batch = DeliveryBatch(count: messages.count)
        var produced = 0
        var failure: (any Error)?
        var topicCache: (String, OpaquePointer)?
        produceLoop: for (i, m) in messages.enumerated() {
            let rkt: OpaquePointer
            if let cached = topicCache, cached.0 == m.topic {
                rkt = cached.1
            } else if let h = topicHandle(m.topic) {
                rkt = h
                topicCache = (m.topic, h)
            } else {
                failure = BusError(.deliveryFailed, "librdkafka could not make a handle for topic '\(m.topic)'")
                break
            }
            while true {
                let err = produce(m, rkt: rkt, opaque: batch.slots + i)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR { produced += 1; break }
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    // The local queue is full: wait for deliveries to drain it (the poll thread serves them).
                    do { try await Task.sleep(for: .milliseconds(1)) } catch { failure = error; break produceLoop }
                    continue
                }
                failure = BusError(.deliveryFailed, "could not enqueue a message for topic '\(m.topic)': \(rdErrorText(err))")
                break produceLoop
            }
        }
        if produced < messages.count { batch.finish(messages.count - produced) }
        await batch.wait()
        if let failure { throw fatalOr(failure) }
        var reports: [DeliveryReport] = []
        reports.reserveCapacity(messages.count)
        for i in 0..<messages.count {
            let slot = batch.slots[i]
            if slot.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = rdErrorText(slot.error)
                let retriable = slot.error == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || slot.error == RD_KAFKA_RESP_ERR__TRANSPORT
                let hint = retriable ? " (is the broker at \(configuration.brokers) running? check kafka.brokers)" : ""
                throw fatalOr(BusError(.deliveryFailed, "message \(i) to topic '\(messages[i].topic)' was not delivered: \(text)\(hint)",
                                       isRetriable: retriable))
            }
            reports.append(DeliveryReport(topic: messages[i].topic, partition: slot.partition, offset: slot.offset))
        }
        return reports
    }

    /// librdkafka's fatal error of this producer, or nil. After one, the producer delivers nothing any more (an idempotent
    /// producer whose id the broker no longer knows, e.g. after a restart that lost its state: "Unknown Producer Id"); it
    /// must be replaced (`RenewingProducer` does).
    public var fatalError: String? {
        // The handle is destroyed once closed; a closed producer reports no fatal error.
        state.withLock { s -> String? in
            guard s.lifecycle.handlesAlive else { return nil }
            var errbuf = [CChar](repeating: 0, count: 512)
            let err = rd_kafka_fatal_error(rk, &errbuf, errbuf.count)
            return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : "\(rdErrorText(err)): \(text(of: errbuf))"
        }
    }

    /// Messages in librdkafka's queues whose delivery report has not been served yet (`rd_kafka_outq_len`); 0 once the
    /// handles are destroyed. At 500,000 (`queue.buffering.max.messages`) a send waits for room.
    var queuedMessages: Int {
        state.withLock { s in s.lifecycle.handlesAlive ? Int(rd_kafka_outq_len(rk)) : 0 }
    }

    /// Why this producer should be replaced before the next send, or nil: a fatal error, or every broker was reported down
    /// since it was made. A broker that restarts without its state (the local broker) no longer knows this idempotent
    /// producer's id, and librdkafka learns of topics the restart lost and that were re-created only at its next metadata
    /// refresh (minutes): a fresh producer has neither problem.
    public var renewalReason: String? {
        if let fatal = fatalError { return "fatal error: \(fatal)" }
        return context.allBrokersDownSeen ? "every broker was reported down (a restart loses the producer's state)" : nil
    }

    /// A delivery `error`, or a `.fatal` error saying why when the producer hit a fatal error (then the real cause).
    /// Cancellation stays cancellation.
    private func fatalOr(_ error: any Error) -> any Error {
        guard error is BusError, let fatal = fatalError else { return error }
        return BusError(.fatal, "the producer can no longer deliver (\(fatal)); it must be re-created", isRetriable: true)
    }

    /// Enqueues one message (copied by librdkafka). Returns librdkafka's error code.
    private func produce(_ m: OutgoingMessage, rkt: OpaquePointer, opaque: UnsafeMutablePointer<DeliveryBatch.Slot>) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !m.headers.isEmpty {
            headers = rd_kafka_headers_new(m.headers.count)
            for h in m.headers {
                h.value.withUnsafeBytes { v in _ = rd_kafka_header_add(headers, h.name, -1, v.baseAddress, v.count) }
            }
        }
        let err = m.key.withUnsafeBytes { key in
            m.value.withUnsafeBytes { value -> rd_kafka_resp_err_t in
                var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 8)
                var n = 0
                vus[n].vtype = RD_KAFKA_VTYPE_RKT; vus[n].u.rkt = rkt; n += 1
                vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[n].u.i = RD_KAFKA_MSG_F_COPY; n += 1
                vus[n].vtype = RD_KAFKA_VTYPE_KEY
                vus[n].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress); vus[n].u.mem.size = key.count; n += 1
                vus[n].vtype = RD_KAFKA_VTYPE_VALUE
                vus[n].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); vus[n].u.mem.size = value.count; n += 1
                vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[n].u.ptr = UnsafeMutableRawPointer(opaque); n += 1
                if let ts = m.timestampMs { vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP; vus[n].u.i64 = ts; n += 1 }
                if let p = m.partition { vus[n].vtype = RD_KAFKA_VTYPE_PARTITION; vus[n].u.i32 = p; n += 1 }
                if let headers { vus[n].vtype = RD_KAFKA_VTYPE_HEADERS; vus[n].u.headers = headers; n += 1 }
                guard let error = rd_kafka_produceva(rk, vus, n) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                let code = rd_kafka_error_code(error)
                rd_kafka_error_destroy(error)
                return code
            }
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    public func flush(timeout: Duration) async throws {
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let client = RdClient(pointer: rk)
        guard state.withLock({ $0.lifecycle.beginUse() }) else { return }
        defer { endUse() }
        let err = try await Blocking.run("kafka-flush") { rd_kafka_flush(client.pointer, ms) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw BusError(.timeout, "producer flush did not finish within \(timeout): \(rdErrorText(err)) (is the broker at \(configuration.brokers) up?)",
                           isRetriable: true)
        }
    }

    /// Ends one send or flush admitted by `beginUse`; resumes a `close()` that waited for it.
    private func endUse() {
        if case .resumeCloser(let closer) = state.withLock({ $0.lifecycle.endUse() }) { closer.resume(returning: true) }
    }

    /// Refuses new sends, waits until the sends and flushes in progress have ended (a send ends with its last delivery
    /// report, at most `message.timeout.ms` after its last enqueue; the poll thread keeps serving reports meanwhile),
    /// then stops the poll thread and destroys the handles. A second call returns at once.
    public func close() async {
        let first = await withCheckedContinuation { (closer: CheckedContinuation<Bool, Never>) in
            switch state.withLock({ $0.lifecycle.close(waiter: closer) }) {
            case .alreadyClosing(let closer): closer.resume(returning: false)
            case .destroyNow(let closer): closer.resume(returning: true)
            case .waitForUsers: break  // the last send or flush resumes it (endUse)
            }
        }
        guard first else { return }
        state.withLock { $0.lifecycle.markDestroyed() }
        poller.requestStop()
        let flushMs = Int32(configuration.messageTimeoutMs)
        // Harmless: only Blocking.run's own cancellation can throw here, and no send is left to wait for a report.
        _ = try? await Blocking.run("kafka-producer-close") { [self] in
            poller.waitUntilStopped()
            destroyHandles(flushMs: flushMs)
        }
    }

    /// Flushes, then destroys topic handles and the client. Called exactly once.
    private func destroyHandles(flushMs: Int32) {
        if flushMs > 0 { _ = rd_kafka_flush(rk, flushMs) }
        // Nothing should be queued (every send ended before close went on); purge anyway so that no delivery callback
        // can come after the handles are gone.
        _ = rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        _ = rd_kafka_poll(rk, 0)
        let topics = state.withLock { s -> [OpaquePointer] in
            defer { s.topics = [:] }
            return Array(s.topics.values)
        }
        for t in topics { rd_kafka_topic_destroy(t) }
        rd_kafka_destroy(rk)
    }
}
