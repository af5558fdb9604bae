/// One Kafka-style record header: a name and raw bytes.
public struct MessageHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]

    public init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) {
        self.init(name, Array(value.utf8))
    }

    /// The value as UTF-8 text (headers written by Quorum are text).
    public var text: String { String(decoding: value, as: UTF8.self) }
}

/// A record to publish. `key` chooses the partition (same key → same partition → ordered), unless `partition` is set.
public struct OutgoingMessage: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [MessageHeader]
    /// Record timestamp in milliseconds since the epoch. Quorum sets it to the event time (`ts_event`) so
    /// that offsets-for-times (replay) works on event time. `nil` lets the client use the wall clock.
    public var timestampMs: Int64?
    /// An explicit partition instead of the key's, in `0 ..< the topic's partition count` (the broker refuses others). For
    /// work spread evenly over a consumer group (`quorum tune --cluster` deals its jobs round-robin); a publisher that
    /// sets it must choose the same partition for the same record every time, or a record published twice could be
    /// handled twice at once by two members.
    public var partition: Int32?

    public init(topic: String, key: [UInt8], value: [UInt8], headers: [MessageHeader] = [], timestampMs: Int64? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public init(topic: String, key: String, value: [UInt8], headers: [MessageHeader] = [], timestampMs: Int64? = nil) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers, timestampMs: timestampMs)
    }
}

/// A consumed record with its position.
public struct IncomingMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [MessageHeader]
    public var timestampMs: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8], value: [UInt8],
                headers: [MessageHeader] = [], timestampMs: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public var keyString: String { String(decoding: key, as: UTF8.self) }

    /// The first header with this name.
    public func header(_ name: String) -> MessageHeader? { headers.first { $0.name == name } }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

/// Where the broker stored a published record.
public struct DeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}
