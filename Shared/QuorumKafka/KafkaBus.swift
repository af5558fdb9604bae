import CRdKafka
import Foundation
import Logging
import QuorumBus

/// The cluster's `MessageBus`: Kafka through librdkafka.
///
/// Admin work (topic creation, metadata, offsets) goes through one long-lived producer-type handle;
/// every blocking librdkafka call runs on a thread of its own (see `Blocking`).
public final class KafkaBus: MessageBus, @unchecked Sendable {
    // @unchecked: `admin` is a thread-safe librdkafka handle owned by `AdminHandle`; the rest is immutable.
    public let configuration: KafkaConfiguration
    let logger: Logger
    let admin: AdminHandle
    /// Replication factor for topics this bus creates (-1: the broker's default).
    public let replicationFactor: Int32

    public init(configuration: KafkaConfiguration, replicationFactor: Int32 = -1, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.replicationFactor = replicationFactor
        admin = try AdminHandle(configuration: configuration, logger: logger)
    }

    /// An idempotent producer that replaces itself after a fatal error (see `RenewingProducer`).
    public func makeProducer(clientID: String) throws -> any MessageProducer {
        let configuration = self.configuration
        let base = self.logger
        var logger = base
        logger[metadataKey: "kafka.client_id"] = .string(clientID)
        return try RenewingProducer(logger: logger) {
            try KafkaProducer(configuration: configuration, clientID: clientID, logger: base)
        }
    }

    public func makeConsumer(group: String, topics: [String], clientID: String, startAt: StartPosition) throws -> any MessageConsumer {
        try KafkaConsumer(configuration: configuration, group: group, topics: topics, clientID: clientID, startAt: startAt, logger: logger)
    }

    /// Fails with a clear error when the broker does not answer a metadata request in time.
    public func checkConnection(timeout: Duration? = nil) async throws {
        _ = try await topicPartitionCounts(timeout: timeout)
    }

    /// Partition count of every topic on the broker.
    public func topicPartitionCounts(timeout: Duration? = nil) async throws -> [String: Int32] {
        try await topicMetadata(timeout: timeout).mapValues(\.partitions)
    }

    /// Per topic on the broker: its partition count and how many of those partitions have a leader.
    public func topicMetadata(timeout: Duration? = nil) async throws -> [String: (partitions: Int32, withLeader: Int32)] {
        let ms = timeout.map { Int32($0.components.seconds * 1000) } ?? Int32(configuration.requestTimeoutMs)
        let client = admin.client
        let context = admin.context
        let brokers = configuration.brokers
        let tls = configuration.tls != nil
        return try await Blocking.run("kafka-metadata") {
            var md: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.pointer, 1, nil, &md, ms)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let md else {
                // Why the connection failed (refused, TLS handshake, wrong protocol) is only in librdkafka's log and error
                // callbacks: that text says what to fix.
                let last = (context.lastConnectionFailure ?? context.lastError).map { "; last client error: \($0)" } ?? ""
                let hint = tls
                    ? "check kafka.brokers, kafka.tls.ca.file (the CA that signed the broker's certificate) and that the broker's host names are in its certificate"
                    : "check kafka.brokers / QUORUM_KAFKA_BROKERS and that the broker is running (a broker that accepts only TLS needs kafka.tls.enabled=true)"
                throw BusError(.brokerUnreachable,
                               "cannot reach the Kafka broker at \(brokers) within \(ms) ms (\(rdErrorText(err))\(last)); \(hint)",
                               isRetriable: true)
            }
            defer { rd_kafka_metadata_destroy(md) }
            var result: [String: (partitions: Int32, withLeader: Int32)] = [:]
            for i in 0..<Int(md.pointee.topic_cnt) {
                let t = md.pointee.topics[i]
                guard t.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let led = (0..<Int(t.partition_cnt)).filter { t.partitions[$0].err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partitions[$0].leader >= 0 }
                result[String(cString: t.topic)] = (t.partition_cnt, Int32(led.count))
            }
            return result
        }
    }

    /// Waits until the broker's metadata lists every topic of `topics` with all its partitions, each with a leader, so a
    /// producer made now finds every partition at its first metadata request (a new topic's partitions can appear later
    /// than the topic itself). Throws a timeout error naming the topics still incomplete.
    public func awaitTopicMetadata(_ topics: [TopicSpec], timeout: Duration = .seconds(30)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let now = try await topicMetadata()
            let incomplete = topics.filter { spec in
                guard let t = now[spec.name] else { return true }
                return t.partitions < spec.partitions || t.withLeader < t.partitions
            }
            if incomplete.isEmpty { return }
            guard clock.now < deadline else {
                let shown = incomplete.map { "\($0.name) (\(now[$0.name].map { "\($0.withLeader)/\($0.partitions) led" } ?? "missing"))" }
                throw BusError(.timeout, "topic metadata incomplete after \(timeout): \(shown.joined(separator: ", "))", isRetriable: true)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func createTopics(_ topics: [TopicSpec]) async throws {
        guard !topics.isEmpty else { return }
        let existing = try await topicPartitionCounts()
        let missing = topics.filter { existing[$0.name] == nil }
        guard !missing.isEmpty else { return }
        let client = admin.client
        let replication = replicationFactor
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        let created: [String] = try await Blocking.run("kafka-create-topics") {
            var errbuf = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
            for spec in missing {
                guard let nt = rd_kafka_NewTopic_new(spec.name, spec.partitions, replication, &errbuf, errbuf.count) else {
                    throw BusError(.adminFailed, "invalid topic spec \(spec.name): \(text(of: errbuf))")
                }
                newTopics.append(nt)
                _ = rd_kafka_NewTopic_set_config(nt, "retention.ms", String(spec.retentionMs))
            }
            let options = rd_kafka_AdminOptions_new(client.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errbuf, errbuf.count)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errbuf, errbuf.count)
            return try adminRequest(client, timeoutMs: timeoutMs, what: "creating topics", start: { queue in
                newTopics.withUnsafeMutableBufferPointer { buf in
                    rd_kafka_CreateTopics(client.pointer, buf.baseAddress, buf.count, options, queue)
                }
            }) { event in
            let result = rd_kafka_event_CreateTopics_result(event)
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
            var names: [String] = []
            for i in 0..<count {
                let r = results[i]
                let name = String(cString: rd_kafka_topic_result_name(r))
                let err = rd_kafka_topic_result_error(r)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    names.append(name)
                } else {
                    let msg = rd_kafka_topic_result_error_string(r).map { String(cString: $0) } ?? rdErrorText(err)
                    throw BusError(.adminFailed, "creating topic '\(name)' failed: \(msg)")
                }
            }
            return names
            }
        }
        logger.info("topics created", metadata: ["kafka.topics": .string(created.sorted().joined(separator: ","))])
        // Wait (up to 5 s) until the broker's metadata lists them with every partition, so producers and consumers see
        // every partition; `awaitTopicMetadata` waits longer and fails when they do not appear.
        for _ in 0..<50 {
            let now = try await topicPartitionCounts()
            if missing.allSatisfy({ (now[$0.name] ?? 0) >= $0.partitions }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func deleteTopics(_ names: [String]) async throws {
        guard !names.isEmpty else { return }
        let client = admin.client
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        try await Blocking.run("kafka-delete-topics") {
            var handles: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { for h in handles { rd_kafka_DeleteTopic_destroy(h) } }
            try adminRequest(client, timeoutMs: timeoutMs, what: "deleting topics", start: { queue in
                handles.withUnsafeMutableBufferPointer { buf in
                    rd_kafka_DeleteTopics(client.pointer, buf.baseAddress, buf.count, nil, queue)
                }
            }) { _ in }
        }
    }

    private func partitionCount(_ topic: String) async throws -> Int32 {
        guard let n = try await topicPartitionCounts()[topic] else {
            throw BusError(.unknownTopic, "topic '\(topic)' does not exist on the broker at \(configuration.brokers)")
        }
        return n
    }

    public func offsetsForTimes(topic: String, timestampMs: Int64) async throws -> [Int32: Int64] {
        let n = try await partitionCount(topic)
        let marks = try await watermarks(topic: topic)
        let client = admin.client
        let conf = configuration
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        return try await Blocking.run("kafka-offsets-for-times") {
            let list = PartitionList(capacity: Int(n))
            for p in 0..<n { list.add(topic, p, offset: timestampMs) }
            let err = rd_kafka_offsets_for_times(client.pointer, list.pointer, timeoutMs)
            var brokerAnswer: [Int32: Int64] = [:]
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                for e in list.elements where e.error == RD_KAFKA_RESP_ERR_NO_ERROR { brokerAnswer[e.tp.partition] = e.offset }
            }
            // Verify the broker's answer with point reads; search ourselves where it is wrong (see RecordProbe).
            let probe = try RecordProbe(configuration: conf)
            var result: [Int32: Int64] = [:]
            for p in 0..<n {
                let w = marks[p] ?? Watermark(low: 0, high: 0)
                let hint = brokerAnswer[p].map { $0 < 0 ? w.high : $0 }
                result[p] = try probe.offset(forTime: timestampMs, topic: topic, partition: p, low: w.low, end: w.high, hint: hint)
            }
            return result
        }
    }

    public func watermarks(topic: String) async throws -> [Int32: Watermark] {
        try await watermarks(topics: [topic])[topic] ?? [:]
    }

    /// The watermarks of every partition of `topics` (topic → partition → watermark). The partition ends are
    /// confirmed by reading all partitions at once (see `RecordProbe.endOffsets`), so this costs one fetch wait however
    /// many topics it covers: the monitor's lag poll asks for every input topic in one call.
    public func watermarks(topics: [String]) async throws -> [String: [Int32: Watermark]] {
        var partitionCounts: [(String, Int32)] = []
        for topic in Set(topics).sorted() { partitionCounts.append((topic, try await partitionCount(topic))) }
        let counts = partitionCounts
        let client = admin.client
        let conf = configuration
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        return try await Blocking.run("kafka-watermarks") {
            var reported: [RecordProbe.ReportedEnd] = []
            for (topic, n) in counts {
                for p in 0..<n {
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let err = rd_kafka_query_watermark_offsets(client.pointer, topic, p, &low, &high, timeoutMs)
                    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw BusError(.adminFailed, "watermarks of \(topic)[\(p)] failed: \(rdErrorText(err))", isRetriable: true)
                    }
                    reported.append(RecordProbe.ReportedEnd(topic: topic, partition: p, reportedHigh: high, low: low))
                }
            }
            // Some brokers (Tansu) report the last batch's base offset + 1: confirm the ends by reading.
            let ends = try RecordProbe(configuration: conf).endOffsets(reported)
            var result: [String: [Int32: Watermark]] = [:]
            for r in reported {
                let end = ends[TopicPartition(topic: r.topic, partition: r.partition)] ?? max(r.reportedHigh, r.low)
                result[r.topic, default: [:]][r.partition] = Watermark(low: r.low, high: end)
            }
            return result
        }
    }

    public func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] {
        let n = try await partitionCount(topic)
        let conf = configuration
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        return try await Blocking.run("kafka-committed") {
            let rk = try Self.groupHandle(conf, group: group)
            defer { rd_kafka_destroy(rk) }
            let list = PartitionList(capacity: Int(n))
            for p in 0..<n { list.add(topic, p) }
            let err = rd_kafka_committed(rk, list.pointer, timeoutMs)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw BusError(.adminFailed, "reading committed offsets of group '\(group)' failed: \(rdErrorText(err))", isRetriable: true)
            }
            var result: [Int32: Int64] = [:]
            for e in list.elements where e.offset >= 0 { result[e.tp.partition] = e.offset }
            return result
        }
    }

    public func setCommittedOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let conf = configuration
        try await Blocking.run("kafka-set-offsets") {
            let rk = try Self.groupHandle(conf, group: group)
            defer { rd_kafka_destroy(rk) }
            let list = PartitionList(capacity: offsets.count)
            for (p, o) in offsets { list.add(topic, p, offset: o) }
            let err = rd_kafka_commit(rk, list.pointer, 0)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw BusError(.adminFailed,
                               "setting offsets of group '\(group)' failed: \(rdErrorText(err)) (stop the group's consumers first)",
                               isRetriable: true)
            }
        }
    }

    public func deleteConsumerGroup(_ group: String) async throws {
        let client = admin.client
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        try await Blocking.run("kafka-delete-group") {
            var handles: [OpaquePointer?] = [rd_kafka_DeleteGroup_new(group)]
            defer { for h in handles { rd_kafka_DeleteGroup_destroy(h) } }
            try adminRequest(client, timeoutMs: timeoutMs, what: "deleting consumer group '\(group)'", start: { queue in
                handles.withUnsafeMutableBufferPointer { buf in
                    rd_kafka_DeleteGroups(client.pointer, buf.baseAddress, buf.count, nil, queue)
                }
            }) { event in
                var count = 0
                guard let results = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(event), &count) else { return }
                for i in 0..<count {
                    guard let error = rd_kafka_group_result_error(results[i]) else { continue }
                    let code = rd_kafka_error_code(error)
                    if code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND { continue }  // already gone
                    throw BusError(.adminFailed, "deleting consumer group '\(group)' failed: \(String(cString: rd_kafka_error_string(error)))",
                                   isRetriable: code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
                }
            }
        }
    }

    public func consumerGroups() async throws -> [String] {
        let client = admin.client
        let timeoutMs = Int32(configuration.requestTimeoutMs)
        return try await Blocking.run("kafka-list-groups") {
            try adminRequest(client, timeoutMs: timeoutMs, what: "listing consumer groups", start: { queue in
                rd_kafka_ListConsumerGroups(client.pointer, nil, queue)
            }) { event in
                let result = rd_kafka_event_ListConsumerGroups_result(event)
                var errorCount = 0
                if let errors = rd_kafka_ListConsumerGroups_result_errors(result, &errorCount), errorCount > 0, let first = errors[0] {
                    throw BusError(.adminFailed, "listing consumer groups failed: \(String(cString: rd_kafka_error_string(first)))",
                                   isRetriable: true)
                }
                var count = 0
                guard let listings = rd_kafka_ListConsumerGroups_result_valid(result, &count) else { return [] }
                return (0..<count).map { String(cString: rd_kafka_ConsumerGroupListing_group_id(listings[$0])) }.sorted()
            }
        }
    }

    /// A consumer handle in `group` that never subscribes (for reading/writing committed offsets).
    static func groupHandle(_ conf: KafkaConfiguration, group: String) throws -> OpaquePointer {
        var properties = conf.commonProperties(clientID: "quorum-admin")
        properties += [("group.id", group), ("enable.auto.commit", "false")]
        let c = try makeConf(properties)
        return try makeClient(type: RD_KAFKA_CONSUMER, conf: c)
    }
}

/// Runs one admin request: `start` sends it to a fresh queue; its result event (checked for a request-level
/// error) is handed to `read` and destroyed afterwards. Blocking: call from a `Blocking.run` thread.
func adminRequest<T>(_ client: RdClient, timeoutMs: Int32, what: String, start: (OpaquePointer?) -> Void,
                     read: (OpaquePointer) throws -> T) throws -> T {
    let queue = rd_kafka_queue_new(client.pointer)
    defer { rd_kafka_queue_destroy(queue) }
    start(queue)
    guard let event = rd_kafka_queue_poll(queue, timeoutMs + 2000) else {
        throw BusError(.timeout, "\(what) timed out after \(timeoutMs) ms", isRetriable: true)
    }
    defer { rd_kafka_event_destroy(event) }
    if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
        throw BusError(.adminFailed, "\(what) failed: \(String(cString: rd_kafka_event_error_string(event)))", isRetriable: true)
    }
    return try read(event)
}

/// Owns the admin client handle; destroys it exactly once.
final class AdminHandle: @unchecked Sendable {
    // @unchecked: immutable after init; librdkafka handles are thread-safe.
    let client: RdClient
    let context: ClientContext

    init(configuration: KafkaConfiguration, logger: Logger) throws {
        context = ClientContext(logger: logger)
        let conf = try makeConf(configuration.commonProperties(clientID: configuration.clientID + "-admin"))
        installCommonCallbacks(conf, context: context)
        client = RdClient(pointer: try makeClient(type: RD_KAFKA_PRODUCER, conf: conf))
    }

    deinit { rd_kafka_destroy(client.pointer) }
}
