import SwiftProtobuf

/// A protobuf message kept in a stage checkpoint (`StateEncoder`): its serialized bytes. Stages keep the envelopes
/// of what they hold back, so that what they publish later names the same causes.
public struct StateWire<M: SwiftProtobuf.Message & Sendable>: Sendable, Codable {
    public var message: M

    public init(_ message: M) { self.message = message }

    public init(from decoder: any Swift.Decoder) throws {
        message = try M(serializedBytes: try decoder.singleValueContainer().decode([UInt8].self))
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(try message.serializedBytes() as [UInt8])
    }
}
