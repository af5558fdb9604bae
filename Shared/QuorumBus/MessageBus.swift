/// The bus every Quorum stage talks through. Two implementations share these semantics:
/// `KafkaBus` (QuorumKafka, the cluster) and `InMemoryBus` (unit tests and the single-process backtest).
///
/// Semantics both keep:
/// - a topic has a fixed number of partitions; a message's key picks its partition (Kafka's murmur2
///   partitioner, see `Partitioner`), so one key stays ordered;
/// - consumers with the same group id split the partitions of their topics; each partition has one
///   owner at a time; a join or leave rebalances;
/// - delivery is at-least-once: a consumer marks a message done with `commit(_:)` only after its effects
///   are durable. What is committed survives a restart; what is not is delivered again.
public protocol MessageBus: Sendable {
    /// Creates the topics that do not exist yet (partitions and retention from the spec). Existing topics are kept.
    func createTopics(_ topics: [TopicSpec]) async throws

    /// A producer. Close it when done (flushes what is in flight).
    func makeProducer(clientID: String) throws -> any MessageProducer

    /// A consumer in `group` subscribed to `topics`. `startAt` applies when the group has no committed offset.
    func makeConsumer(group: String, topics: [String], clientID: String, startAt: StartPosition) throws -> any MessageConsumer

    /// For each partition of `topic`, the first offset whose record timestamp is >= `timestampMs`
    /// (the end offset when there is none). Used by replay.
    func offsetsForTimes(topic: String, timestampMs: Int64) async throws -> [Int32: Int64]

    /// Low and high watermark (first offset, next offset to be written) of each partition.
    func watermarks(topic: String) async throws -> [Int32: Watermark]

    /// The watermarks of many topics at once (topic → partition → watermark); a bus may answer them together
    /// cheaper than one topic at a time (the Kafka bus confirms every partition end in one read).
    func watermarks(topics: [String]) async throws -> [String: [Int32: Watermark]]

    /// The committed offsets of a group for `topic` (partitions without a commit are absent).
    func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64]

    /// Sets the committed offsets of a group (the group must have no active members). Used by replay.
    func setCommittedOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws

    /// Deletes a consumer group and its committed offsets (the group must have no active members). A group that does
    /// not exist counts as deleted. Used for the throw-away groups of state rebuilds.
    func deleteConsumerGroup(_ group: String) async throws

    /// The names of the consumer groups the broker knows, sorted.
    func consumerGroups() async throws -> [String]
}

public enum StartPosition: Sendable, Hashable {
    case earliest
    case latest
}

public struct Watermark: Sendable, Hashable {
    public var low: Int64
    public var high: Int64
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

public protocol MessageProducer: Sendable {
    /// Publishes the messages and returns when the broker has acknowledged every one, in the order given.
    /// Throws `BusError` if any was not delivered (the others may have been: publish idempotently).
    func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport]

    /// Waits until everything sent so far is acknowledged.
    func flush(timeout: Duration) async throws

    /// Flushes and releases the producer. Idempotent.
    func close() async
}

extension MessageProducer {
    public func send(_ message: OutgoingMessage) async throws -> DeliveryReport {
        let reports = try await send([message])
        return reports[0]
    }
}

/// A group member. Use it from one task: `next()` → handle → `commit(_:)` → `next()` …
public protocol MessageConsumer: AnyObject, Sendable {
    /// The next message of an assigned partition; waits until one arrives. `nil` once the consumer is closed.
    /// Calling `next()` also ends the previous message's turn (it counts as handled, committed or not).
    func next() async throws -> IncomingMessage?

    /// Marks `message` (and everything before it on its partition) as done. The offset reaches the broker
    /// within the commit interval, before a rebalance takes the partition away, and on close.
    func commit(_ message: IncomingMessage) throws

    /// Sends every marked offset to the broker now and waits for the answer.
    func commitNow() async throws

    /// True when `next()` would return a message without waiting (lets a caller batch what has arrived).
    var hasBufferedMessages: Bool { get }
    /// The partitions this member owns now.
    func assignment() -> Set<TopicPartition>
    /// Since when this member has owned no partition (nil while it owns some). Readable from any task.
    var unassignedSince: ContinuousClock.Instant? { get }

    /// Stops handing out messages: a waiting `next()` and every later one return `nil`. The consumer stays
    /// in its group so the caller can finish the in-flight message, commit, then `close()` (graceful shutdown).
    func interrupt()

    /// Commits marked offsets, leaves the group and releases the consumer. Idempotent.
    func close() async
}

extension MessageConsumer {
    /// Unknown by default: a consumer that does not track it never reports a missing assignment.
    public var unassignedSince: ContinuousClock.Instant? { nil }

    /// The consumer as an AsyncSequence of messages: `for try await m in consumer.messages { … }`.
    public var messages: ConsumerMessages { ConsumerMessages(consumer: self) }
}

public struct ConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = IncomingMessage
    let consumer: any MessageConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: any MessageConsumer
        public mutating func next() async throws -> IncomingMessage? { try await consumer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

/// Errors of the bus. `description` names what failed and what to do; it never contains credentials.
public struct BusError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case brokerUnreachable, deliveryFailed, unknownTopic, invalidConfiguration, timeout, closed, commitFailed, adminFailed
        /// The client can no longer be used and must be replaced by a new one (e.g. an idempotent producer the broker
        /// no longer knows after a restart: "Unknown Producer Id", fencing).
        case fatal
    }
    public var code: Code
    public var message: String
    /// True when retrying the same operation later can succeed (broker down, timeout).
    public var isRetriable: Bool

    public init(_ code: Code, _ message: String, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    public var description: String { "bus error (\(code.rawValue)): \(message)" }
}

extension MessageBus {
    /// One topic at a time.
    public func watermarks(topics: [String]) async throws -> [String: [Int32: Watermark]] {
        var result: [String: [Int32: Watermark]] = [:]
        for topic in Set(topics) { result[topic] = try await watermarks(topic: topic) }
        return result
    }

    /// Records of `topic` that `group` has not committed yet (a partition without a commit counts from its start).
    public func lag(group: String, topic: String, marks: [Int32: Watermark]? = nil) async throws -> Int64 {
        let current: [Int32: Watermark]
        if let marks { current = marks } else { current = try await watermarks(topic: topic) }
        let committed = try await committedOffsets(group: group, topic: topic)
        return current.reduce(Int64(0)) { $0 + max(0, $1.value.high - (committed[$1.key] ?? $1.value.low)) }
    }

    /// Every record of `topic` (all partitions) up to the high watermarks at the call, read with a throw-away
    /// consumer group that never commits. For inspection: digests, summaries, tests.
    public func readAll(topic: String, clientID: String = "quorum-read") async throws -> [IncomingMessage] {
        let marks = try await watermarks(topic: topic)
        var remaining = Set(marks.filter { $0.value.high > $0.value.low }.keys)
        guard !remaining.isEmpty else { return [] }
        let consumer = try makeConsumer(group: "\(clientID)-\(topic)-\(UInt64.random(in: 0...UInt64.max))", topics: [topic],
                                        clientID: clientID, startAt: .earliest)
        var out: [IncomingMessage] = []
        while !remaining.isEmpty, let m = try await consumer.next() {
            out.append(m)
            if m.offset >= (marks[m.partition]?.high ?? 0) - 1 { remaining.remove(m.partition) }
        }
        await consumer.close()
        return out
    }
}
