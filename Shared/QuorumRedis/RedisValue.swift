/// One reply from Redis (RESP2).
public enum RedisValue: Sendable, Hashable {
    /// A bulk string: arbitrary bytes (binary safe).
    case bytes([UInt8])
    /// An integer reply.
    case integer(Int64)
    /// An array reply (e.g. `HGETALL`, `EXEC`, `SCAN`).
    case array([RedisValue])
    /// The nil reply (missing key, aborted transaction).
    case null
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    /// An error reply such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case error(String)

    /// The bytes of a bulk string, or `nil` for any other reply.
    public var bytes: [UInt8]? {
        if case .bytes(let value) = self { return value }
        return nil
    }

    /// A bulk string or status decoded as UTF-8, or `nil` for any other reply.
    public var string: String? {
        switch self {
        case .bytes(let value): String(decoding: value, as: UTF8.self)
        case .status(let value): value
        default: nil
        }
    }

    /// The integer of an integer reply, or `nil`.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array reply, or `nil`.
    public var array: [RedisValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Whether this is the nil reply.
    public var isNull: Bool { self == .null }
}

extension RedisValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .bytes(let value): "bytes(\(value.count))"
        case .integer(let value): "integer(\(value))"
        case .array(let values): "array[\(values.map(\.description).joined(separator: ", "))]"
        case .null: "null"
        case .status(let value): "status(\(value))"
        case .error(let value): "error(\(value))"
        }
    }
}
