import Synchronization

/// A bus that lives in one process, with the same semantics as Kafka where Quorum depends on them:
/// partitions chosen by key (murmur2), consumer groups that split partitions and rebalance when members
/// join or leave, committed offsets per group, start positions, offsets-for-times and watermarks.
///
/// Used by unit tests and by the single-process backtest, so the stage cores run unchanged.
/// Differences from Kafka: commits are immediate; a topic written to before it was created is created
/// with `defaultPartitions`; nothing expires by itself (retention is ignored): `deleteRecords(topic:before:)` removes
/// the head of a partition as retention or Kafka's DeleteRecords would (tests of restarts after retention).
public final class InMemoryBus: MessageBus {
    struct Log {
        var partitions: [[IncomingMessage]]
        /// Per partition, the first offset still kept (the low watermark); records below it are deleted.
        var low: [Int64]

        init(partitions: Int) {
            self.partitions = Array(repeating: [], count: partitions)
            low = Array(repeating: 0, count: partitions)
        }

        func low(_ partition: Int32) -> Int64 { low[Int(partition)] }
    }
    struct Member {
        var topics: [String]
        var startAt: StartPosition
        var assigned: Set<TopicPartition> = []
        /// Next offset to read per assigned partition.
        var positions: [TopicPartition: Int64] = [:]
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var interrupted = false
    }
    struct Group {
        var members: [Int: Member] = [:]
        var committed: [TopicPartition: Int64] = [:]
    }
    struct State {
        var topics: [String: Log] = [:]
        var groups: [String: Group] = [:]
        var nextMemberID = 0
    }

    let state = Mutex(State())
    public let defaultPartitions: Int32

    public init(defaultPartitions: Int32 = 1) {
        self.defaultPartitions = defaultPartitions
    }

    public func createTopics(_ topics: [TopicSpec]) async throws {
        state.withLock { s in
            for t in topics where s.topics[t.name] == nil {
                s.topics[t.name] = Log(partitions: Int(t.partitions))
            }
            for g in s.groups.keys { Self.rebalance(&s, group: g) }
        }
    }

    public func makeProducer(clientID: String) throws -> any MessageProducer { InMemoryProducer(bus: self) }

    public func makeConsumer(group: String, topics: [String], clientID: String, startAt: StartPosition) throws -> any MessageConsumer {
        let id = state.withLock { s in
            let id = s.nextMemberID
            s.nextMemberID += 1
            s.groups[group, default: Group()].members[id] = Member(topics: topics, startAt: startAt)
            Self.rebalance(&s, group: group)
            return id
        }
        return InMemoryConsumer(bus: self, group: group, memberID: id)
    }

    public func offsetsForTimes(topic: String, timestampMs: Int64) async throws -> [Int32: Int64] {
        try state.withLock { s in
            guard let log = s.topics[topic] else { throw BusError(.unknownTopic, "topic '\(topic)' does not exist") }
            var result: [Int32: Int64] = [:]
            for (p, records) in log.partitions.enumerated() {
                let hit = records.dropFirst(Int(log.low[p])).first { ($0.timestampMs ?? Int64.min) >= timestampMs }
                result[Int32(p)] = hit?.offset ?? Int64(records.count)
            }
            return result
        }
    }

    public func watermarks(topic: String) async throws -> [Int32: Watermark] {
        try state.withLock { s in
            guard let log = s.topics[topic] else { throw BusError(.unknownTopic, "topic '\(topic)' does not exist") }
            var result: [Int32: Watermark] = [:]
            for (p, records) in log.partitions.enumerated() { result[Int32(p)] = Watermark(low: log.low[p], high: Int64(records.count)) }
            return result
        }
    }

    public func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] {
        state.withLock { s in
            var result: [Int32: Int64] = [:]
            for (tp, offset) in s.groups[group]?.committed ?? [:] where tp.topic == topic { result[tp.partition] = offset }
            return result
        }
    }

    public func setCommittedOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws {
        try state.withLock { s in
            if let g = s.groups[group], g.members.values.contains(where: { !$0.closed }) {
                throw BusError(.invalidConfiguration, "group '\(group)' has active members; stop them before resetting its offsets")
            }
            for (p, o) in offsets { s.groups[group, default: Group()].committed[TopicPartition(topic: topic, partition: p)] = o }
        }
    }

    public func deleteConsumerGroup(_ group: String) async throws {
        try state.withLock { s in
            if let g = s.groups[group], g.members.values.contains(where: { !$0.closed }) {
                throw BusError(.adminFailed, "group '\(group)' has active members; stop them before deleting it")
            }
            s.groups[group] = nil
        }
    }

    public func consumerGroups() async throws -> [String] {
        state.withLock { $0.groups.keys.sorted() }
    }

    /// Deletes the records of `topic` below `before[partition]` (what retention or Kafka's DeleteRecords does): the low
    /// watermark moves up, and a consumer positioned below it goes on from it.
    public func deleteRecords(topic: String, before: [Int32: Int64]) async throws {
        try state.withLock { s in
            guard var log = s.topics[topic] else { throw BusError(.unknownTopic, "topic '\(topic)' does not exist") }
            for (p, offset) in before {
                guard log.partitions.indices.contains(Int(p)) else { throw BusError(.unknownTopic, "topic '\(topic)' has no partition \(p)") }
                log.low[Int(p)] = max(log.low[Int(p)], min(offset, Int64(log.partitions[Int(p)].count)))
            }
            s.topics[topic] = log
        }
    }

    // MARK: internals (called with the lock held)

    fileprivate func append(_ messages: [OutgoingMessage]) -> [DeliveryReport] {
        let (reports, wake) = state.withLock { s -> ([DeliveryReport], [CheckedContinuation<Void, Never>]) in
            var reports: [DeliveryReport] = []
            reports.reserveCapacity(messages.count)
            var created = false
            for m in messages {
                if s.topics[m.topic] == nil {
                    s.topics[m.topic] = Log(partitions: Int(defaultPartitions))
                    created = true
                }
                let count = Int32(s.topics[m.topic]!.partitions.count)
                let p = m.partition.map { precondition((0..<count).contains($0), "partition \($0) of \(m.topic), which has \(count)"); return $0 }
                    ?? Partitioner.partition(forKey: m.key, partitions: count)
                let offset = Int64(s.topics[m.topic]!.partitions[Int(p)].count)
                s.topics[m.topic]!.partitions[Int(p)].append(IncomingMessage(
                    topic: m.topic, partition: p, offset: offset, key: m.key, value: m.value, headers: m.headers,
                    timestampMs: m.timestampMs))
                reports.append(DeliveryReport(topic: m.topic, partition: p, offset: offset))
            }
            if created { for g in s.groups.keys { Self.rebalance(&s, group: g) } }
            return (reports, Self.takeWaiters(&s))
        }
        for w in wake { w.resume() }
        return reports
    }

    static func takeWaiters(_ s: inout State) -> [CheckedContinuation<Void, Never>] {
        var wake: [CheckedContinuation<Void, Never>] = []
        for g in s.groups.keys {
            for id in s.groups[g]!.members.keys {
                if let w = s.groups[g]!.members[id]!.waiter {
                    wake.append(w)
                    s.groups[g]!.members[id]!.waiter = nil
                }
            }
        }
        return wake
    }

    /// Round-robin assignment of the sorted partitions over the sorted live members (like Kafka's roundrobin).
    static func rebalance(_ s: inout State, group: String) {
        guard var g = s.groups[group] else { return }
        let live = g.members.keys.filter { !g.members[$0]!.closed }.sorted()
        var all: Set<TopicPartition> = []
        for id in live {
            for t in g.members[id]!.topics {
                guard let log = s.topics[t] else { continue }
                for p in 0..<log.partitions.count { all.insert(TopicPartition(topic: t, partition: Int32(p))) }
            }
        }
        var next: [Int: Set<TopicPartition>] = [:]
        var cursor = 0
        for tp in all.sorted() {
            // Only members subscribed to the topic may own its partitions.
            let candidates = live.filter { g.members[$0]!.topics.contains(tp.topic) }
            guard !candidates.isEmpty else { continue }
            next[candidates[cursor % candidates.count], default: []].insert(tp)
            cursor += 1
        }
        for id in g.members.keys {
            let newSet = next[id] ?? []
            var m = g.members[id]!
            var positions: [TopicPartition: Int64] = [:]
            for tp in newSet {
                if m.assigned.contains(tp), let kept = m.positions[tp] {
                    positions[tp] = kept
                } else if let c = g.committed[tp] {
                    positions[tp] = c
                } else {
                    let count = Int64(s.topics[tp.topic]?.partitions[Int(tp.partition)].count ?? 0)
                    positions[tp] = m.startAt == .earliest ? (s.topics[tp.topic]?.low(tp.partition) ?? 0) : count
                }
            }
            m.assigned = newSet
            m.positions = positions
            g.members[id] = m
        }
        s.groups[group] = g
    }
}

final class InMemoryProducer: MessageProducer {
    let bus: InMemoryBus
    init(bus: InMemoryBus) { self.bus = bus }
    func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] { bus.append(messages) }
    func flush(timeout: Duration) async throws {}
    func close() async {}
}

final class InMemoryConsumer: MessageConsumer {
    let bus: InMemoryBus
    let group: String
    let memberID: Int

    init(bus: InMemoryBus, group: String, memberID: Int) {
        self.bus = bus
        self.group = group
        self.memberID = memberID
    }

    private enum Poll {
        case message(IncomingMessage)
        case closed
        case wait
    }

    func next() async throws -> IncomingMessage? {
        while true {
            try Task.checkCancellation()
            let result: Poll = bus.state.withLock { s in
                guard let m = s.groups[group]?.members[memberID], !m.closed, !m.interrupted else { return .closed }
                // Oldest first across partitions, by timestamp then partition, for a stable order.
                var best: IncomingMessage?
                for tp in m.assigned.sorted() {
                    guard let log = s.topics[tp.topic], let kept = m.positions[tp] else { continue }
                    let records = log.partitions[Int(tp.partition)]
                    let pos = max(kept, log.low(tp.partition))  // what retention deleted is skipped
                    guard pos < Int64(records.count) else { continue }
                    let candidate = records[Int(pos)]
                    if best == nil || (candidate.timestampMs ?? 0) < (best!.timestampMs ?? 0) { best = candidate }
                }
                guard let found = best else { return .wait }
                s.groups[group]!.members[memberID]!.positions[found.topicPartition] = found.offset + 1
                return .message(found)
            }
            switch result {
            case .message(let m): return m
            case .closed: return nil
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = bus.state.withLock { s -> Bool in
                            guard let m = s.groups[group]?.members[memberID], !m.closed, !m.interrupted, !Task.isCancelled else { return true }
                            // Re-check under the lock: a message may have arrived since the scan.
                            for tp in m.assigned {
                                if let pos = m.positions[tp], let records = s.topics[tp.topic]?.partitions[Int(tp.partition)],
                                   pos < Int64(records.count) { return true }
                            }
                            s.groups[group]!.members[memberID]!.waiter = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    self.wake()
                }
            }
        }
    }

    var hasBufferedMessages: Bool {
        bus.state.withLock { s in
            guard let m = s.groups[group]?.members[memberID], !m.closed, !m.interrupted else { return false }
            return m.assigned.contains { tp in
                guard let pos = m.positions[tp], let records = s.topics[tp.topic]?.partitions[Int(tp.partition)] else { return false }
                return pos < Int64(records.count)
            }
        }
    }

    func interrupt() {
        bus.state.withLock { $0.groups[group]?.members[memberID]?.interrupted = true }
        wake()
    }

    private func wake() {
        let w = bus.state.withLock { s -> CheckedContinuation<Void, Never>? in
            let w = s.groups[group]?.members[memberID]?.waiter
            s.groups[group]?.members[memberID]?.waiter = nil
            return w
        }
        w?.resume()
    }

    func commit(_ message: IncomingMessage) throws {
        try bus.state.withLock { s in
            guard let m = s.groups[group]?.members[memberID], !m.closed else {
                throw BusError(.closed, "commit on a closed consumer of group '\(group)'")
            }
            let tp = message.topicPartition
            guard m.assigned.contains(tp) else { return }  // partition moved away: the new owner re-reads it
            let current = s.groups[group]!.committed[tp] ?? -1
            if message.offset + 1 > current { s.groups[group]!.committed[tp] = message.offset + 1 }
        }
    }

    func commitNow() async throws {}

    func assignment() -> Set<TopicPartition> {
        bus.state.withLock { $0.groups[group]?.members[memberID]?.assigned ?? [] }
    }

    func close() async {
        let wake = bus.state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.groups[group]?.members[memberID] != nil else { return [] }
            s.groups[group]!.members[memberID]!.closed = true
            s.groups[group]!.members[memberID]!.assigned = []
            let own = s.groups[group]!.members[memberID]!.waiter
            s.groups[group]!.members[memberID] = nil
            InMemoryBus.rebalance(&s, group: group)
            return (own.map { [$0] } ?? []) + InMemoryBus.takeWaiters(&s)
        }
        for w in wake { w.resume() }
    }
}
