import CRdKafka
import Foundation

/// The raw ceiling: the tightest librdkafka loops, with the same client settings as the bus
/// (idempotent producer, acks=all, murmur2) but no Swift abstraction on top.
enum RawLoop {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func conf(_ pairs: [(String, String)]) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var err = [CChar](repeating: 0, count: 512)
        for (k, v) in pairs where rd_kafka_conf_set(conf, k, v, &err, err.count) != RD_KAFKA_CONF_OK {
            throw Failure(description: "conf \(k)=\(v) rejected")
        }
        return conf
    }

    static func produce(brokers: String, topic: String, count: Int, payload: [UInt8]) throws -> Measurement {
        let c = try conf([("bootstrap.servers", brokers), ("enable.idempotence", "true"), ("acks", "all"),
                          ("linger.ms", "5"), ("partitioner", "murmur2_random"), ("queue.buffering.max.messages", "500000"),
                          ("queue.buffering.max.kbytes", "1048576"), ("batch.num.messages", "10000")])
        var err = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, &err, err.count) else { throw Failure(description: "rd_kafka_new failed") }
        defer { rd_kafka_destroy(rk) }
        let rkt = rd_kafka_topic_new(rk, topic, nil)
        defer { rd_kafka_topic_destroy(rkt) }
        let keys = (0..<64).map { Array("key-\($0)".utf8) }
        let start = ContinuousClock.now
        var payload = payload
        for i in 0..<count {
            var key = keys[i % keys.count]
            while true {
                let r = payload.withUnsafeMutableBytes { p in
                    key.withUnsafeMutableBytes { k in
                        rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, p.baseAddress, p.count, k.baseAddress, k.count, nil)
                    }
                }
                if r == 0 { break }
                rd_kafka_poll(rk, 1)  // queue full: serve delivery reports
            }
            if i % 1000 == 0 { rd_kafka_poll(rk, 0) }
        }
        while rd_kafka_outq_len(rk) > 0 { rd_kafka_poll(rk, 10) }
        return Measurement(count: count, elapsed: ContinuousClock.now - start)
    }

    static func consume(brokers: String, topic: String, partitions: Int32, count: Int, fetchWaitMs: Int) throws -> Measurement {
        let c = try conf([("bootstrap.servers", brokers), ("group.id", "raw-\(topic)"), ("enable.auto.commit", "false"),
                          ("fetch.wait.max.ms", String(fetchWaitMs)), ("queued.min.messages", "100000"), ("enable.partition.eof", "false")])
        var err = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, &err, err.count) else { throw Failure(description: "rd_kafka_new failed") }
        defer { rd_kafka_destroy(rk) }
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(partitions)
        for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p)!.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING) }
        rd_kafka_assign(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        let queue = rd_kafka_queue_get_consumer(rk)
        defer { rd_kafka_queue_destroy(queue); rd_kafka_consumer_close(rk) }
        let batch = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: 1000)
        defer { batch.deallocate() }
        var got = 0
        var bytes = 0
        var start: ContinuousClock.Instant?
        while got < count {
            let n = rd_kafka_consume_batch_queue(queue, 1000, batch, 1000)
            if n > 0 && start == nil { start = .now }
            for i in 0..<max(n, 0) {
                if let m = batch[i] {
                    if m.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { got += 1; bytes &+= m.pointee.len }
                    rd_kafka_message_destroy(m)
                }
            }
        }
        return Measurement(count: got, elapsed: ContinuousClock.now - start!)
    }
}
