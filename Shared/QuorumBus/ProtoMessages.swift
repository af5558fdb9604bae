import SwiftProtobuf

/// Header names Quorum sets on every record it publishes.
public enum QuorumHeader {
    /// Fully qualified protobuf type of the value, e.g. "quorum.v1.Bar".
    public static let type = "quorum.type"
}

extension OutgoingMessage {
    /// A record whose value is a protobuf message, with its type in a header and the event time as the
    /// record timestamp (so offsets-for-times works on event time).
    public init<M: SwiftProtobuf.Message>(topic: String, key: String, message: M, eventTimeNs: Int64) throws {
        self.init(topic: topic, key: Array(key.utf8), value: try message.serializedBytes(),
                  headers: [MessageHeader(QuorumHeader.type, M.protoMessageName)],
                  timestampMs: eventTimeNs / 1_000_000)
    }
}

extension IncomingMessage {
    /// Decodes the value as `M`. A record that is not an `M` (wrong type header, or bytes that do not parse)
    /// throws `RejectedMessage(.undecodable)`, which `ConsumerLoop` routes to the dead-letter topic.
    public func decode<M: SwiftProtobuf.Message>(_ type: M.Type) throws -> M {
        if let declared = header(QuorumHeader.type)?.text, declared != M.protoMessageName {
            throw RejectedMessage(.undecodable, "expected \(M.protoMessageName), record says \(declared)")
        }
        do {
            return try M(serializedBytes: value)
        } catch {
            throw RejectedMessage(.undecodable, "not a valid \(M.protoMessageName) (\(value.count) bytes): \(error)")
        }
    }
}
