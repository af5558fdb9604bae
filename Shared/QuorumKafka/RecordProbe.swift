import CRdKafka
import Foundation
import QuorumBus

/// Point reads of single records, for offset lookups that must not trust the broker blindly.
///
/// Why: the local broker (Tansu, memory storage) answers ListOffsets by timestamp with 0 and reports the
/// high watermark as the last record *batch's* base offset + 1. `KafkaBus` therefore checks the broker's
/// answers with a few point reads and, when they are wrong, finds the offsets itself (binary search over
/// event-time ordered partitions). Against Apache Kafka the checks pass and cost two reads per partition.
///
/// Not thread-safe: one probe per blocking call, on that call's thread.
final class RecordProbe {
    let rk: OpaquePointer
    let timeoutMs: Int32

    init(configuration: KafkaConfiguration) throws {
        var properties = configuration.commonProperties(clientID: configuration.clientID + "-probe")
        // fetch.wait.max.ms as the consumers have it (10 ms by default): the durable local broker (Tansu on s3) answers a
        // fetch that did not finish reading its storage within the wait with no records at all (see KafkaConfiguration).
        properties += [("group.id", "quorum-probe"), ("enable.auto.commit", "false"), ("enable.partition.eof", "true"),
                       ("fetch.wait.max.ms", String(configuration.fetchWaitMaxMs)), ("queued.max.messages.kbytes", "1024"),
                       ("fetch.max.bytes", "1048576")]
        let conf = try makeConf(properties)
        rk = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(rk)
        // A read needs a few fetches: allow several fetch waits beyond the request timeout.
        timeoutMs = Int32(clamping: configuration.requestTimeoutMs + 4 * configuration.fetchWaitMaxMs)
    }

    deinit {
        _ = rd_kafka_assign(rk, nil)
        rd_kafka_destroy(rk)
    }

    struct Record { var offset: Int64; var timestampMs: Int64 }

    /// The first record at or after `offset`, or nil at the end of the partition.
    func first(topic: String, partition: Int32, from offset: Int64) throws -> Record? {
        try scan(topic: topic, partition: partition, from: offset) { _ in false }
    }

    /// Reads from `offset` onward, calling `keepGoing` for each record, until it returns false (that record
    /// is returned) or the partition ends (the last record read is returned, nil if none).
    func scan(topic: String, partition: Int32, from offset: Int64, _ keepGoing: (Record) -> Bool) throws -> Record? {
        let list = PartitionList(capacity: 1)
        list.add(topic, partition, offset: offset)
        guard rd_kafka_assign(rk, list.pointer) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw BusError(.adminFailed, "could not read \(topic)[\(partition)] at offset \(offset)")
        }
        defer { _ = rd_kafka_assign(rk, nil) }
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var last: Record?
        while Date() < deadline {
            guard let m = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(m) }
            if m.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return last }
            if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR { continue }
            guard m.pointee.partition == partition, m.pointee.offset >= offset else { continue }
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let record = Record(offset: m.pointee.offset, timestampMs: rd_kafka_message_timestamp(m, &type))
            last = record
            if !keepGoing(record) { return record }
        }
        throw BusError(.timeout, "reading \(topic)[\(partition)] from offset \(offset) timed out", isRetriable: true)
    }

    /// One partition whose end ``endOffsets(_:)`` confirms: the broker's reported watermarks.
    struct ReportedEnd: Hashable {
        var topic: String
        var partition: Int32
        var reportedHigh: Int64
        var low: Int64
    }

    /// The true end offsets (next offset to be written) of many partitions, given the broker's reported high
    /// watermarks, keyed by (topic, partition).
    ///
    /// Usually the broker is right: nothing at `reportedHigh`. Otherwise each partition is read on to its end. All
    /// partitions are read at once, so the partition-end confirmations share one fetch wait: on an idle partition a
    /// fetch waits out `fetch.wait.max.ms` before the end is known, which is 5 s against the durable local broker
    /// (see `KafkaConfiguration`), and one wait per partition made a round of the monitor's lag poll take minutes.
    func endOffsets(_ partitions: [ReportedEnd]) throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        var open: [TopicPartition: ReportedEnd] = [:]
        for p in partitions { open[TopicPartition(topic: p.topic, partition: p.partition)] = p }
        guard !open.isEmpty else { return result }
        let list = PartitionList(capacity: open.count)
        for (tp, p) in open { list.add(tp.topic, tp.partition, offset: max(p.low, p.reportedHigh > 0 ? p.reportedHigh - 1 : 0)) }
        guard rd_kafka_assign(rk, list.pointer) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw BusError(.adminFailed, "could not read the ends of \(open.count) partitions")
        }
        defer { _ = rd_kafka_assign(rk, nil) }
        var last: [TopicPartition: Int64] = [:]
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while !open.isEmpty && Date() < deadline {
            guard let m = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(m) }
            guard let rkt = m.pointee.rkt else { continue }
            let tp = TopicPartition(topic: String(cString: rd_kafka_topic_name(rkt)), partition: m.pointee.partition)
            guard let p = open[tp] else { continue }
            if m.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                result[tp] = max(last[tp].map { $0 + 1 } ?? p.low, p.reportedHigh, p.low)
                open[tp] = nil
                // Leave it out of the next fetches: the durable local broker reads the storage of every partition a
                // fetch names, so a fetch that kept naming the finished ones could run out of its wait before it reached
                // the others.
                let done = PartitionList(capacity: 1)
                done.add(tp.topic, tp.partition)
                _ = rd_kafka_pause_partitions(rk, done.pointer)
            } else if m.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                last[tp] = max(last[tp] ?? -1, m.pointee.offset)
            }
        }
        if open.isEmpty { return result }
        // A partition still being written may not reach its end before the deadline (its producer keeps ahead of this
        // read, as on a busy machine). Records read past the reported end are enough: the broker's reported high is the
        // base offset of the last batch when asked + 1, and that batch came whole in the first fetch, so the read went
        // past the end it had then. Such a partition's end is the last offset read + 1 (a later end, as if asked later).
        for (tp, p) in open {
            guard let read = last[tp] else { continue }  // reading started at reportedHigh − 1: read + 1 ≥ reportedHigh
            result[tp] = max(read + 1, p.low)
            open[tp] = nil
        }
        guard let unfinished = open.keys.min() else { return result }
        if partitions.count > 1 {
            // What one fetch for them all could not reach in time, one partition at a time (each with its own deadline).
            _ = rd_kafka_assign(rk, nil)
            for (_, p) in open.sorted(by: { $0.key < $1.key }) {
                result.merge(try endOffsets([p])) { a, _ in a }
            }
            return result
        }
        throw BusError(.timeout, "reading to the end of \(unfinished.topic)[\(unfinished.partition)] timed out", isRetriable: true)
    }

    /// The first offset in [low, end) whose record timestamp is >= `timestampMs` (end if none), assuming
    /// timestamps do not decrease along the partition (Quorum publishes in event-time order).
    func offset(forTime timestampMs: Int64, topic: String, partition: Int32, low: Int64, end: Int64, hint: Int64?) throws -> Int64 {
        if low >= end { return end }
        func atOrAfter(_ o: Int64) throws -> Record? { try first(topic: topic, partition: partition, from: o) }
        // Check the broker's answer first: right when the record there is late enough and the one before is not.
        if let hint, hint >= low, hint <= end {
            let here = hint < end ? try atOrAfter(hint) : nil
            let hereOK = hint == end || (here.map { $0.timestampMs >= timestampMs } ?? true)
            let beforeOK = try hint == low || (atOrAfter(hint - 1).map { $0.offset >= hint || $0.timestampMs < timestampMs } ?? true)
            if hereOK && beforeOK { return hint < end ? (here?.offset ?? end) : end }
        }
        var lo = low, hi = end
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if let r = try atOrAfter(mid), r.timestampMs < timestampMs {
                lo = r.offset + 1
            } else {
                hi = mid
            }
        }
        return try atOrAfter(lo)?.offset ?? end
    }
}
