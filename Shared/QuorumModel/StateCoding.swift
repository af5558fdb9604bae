// A compact binary form for `Codable` values, made for stage checkpoints (a stage's whole core state as bytes):
// every Double keeps its exact bit pattern (NaN payloads and signs included, which JSON and property lists lose), and
// decoding gives back a value equal bit for bit to the one encoded, so a stage restored from a checkpoint goes on
// exactly as the one that wrote it.
//
// Layout: one tagged node per value (tags below). Integers are LEB128 varints (signed ones zigzag-coded), strings
// UTF-8 with their length, doubles their 8 bytes little-endian; a keyed container is its entry count, then key and
// value per entry; an unkeyed one its count, then its items. The format carries no type names: the decoder must ask
// for the type that was encoded (a checkpoint also records its stage's format version for that reason).

/// Encodes `Encodable` values into the binary state form.
public struct StateEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = StateNodeBuilder()
        try value.encode(to: StateEncoding(builder: root, codingPath: []))
        var out: [UInt8] = []
        out.reserveCapacity(256)
        root.finish().write(into: &out)
        return out
    }
}

extension StateEncoder {
    /// Encodes what `body` writes to the encoder: for a value that writes its state itself (e.g. a core whose
    /// configuration is not part of its state).
    public func encode(_ body: (any Encoder) throws -> Void) throws -> [UInt8] {
        let root = StateNodeBuilder()
        try body(StateEncoding(builder: root, codingPath: []))
        var out: [UInt8] = []
        root.finish().write(into: &out)
        return out
    }
}

/// Decodes values written by `StateEncoder`.
public struct StateDecoder {
    /// Handed to every `init(from:)` as `decoder.userInfo`: what a type needs to rebuild itself that the bytes do not
    /// hold (e.g. the feature spec whose nodes a features state fills).
    public var userInfo: [CodingUserInfoKey: Any]

    public init(userInfo: [CodingUserInfoKey: Any] = [:]) { self.userInfo = userInfo }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        var reader = StateByteReader(bytes: bytes)
        let node = try reader.node(depth: 0)
        guard reader.atEnd else { throw StateCodingError("\(bytes.count - reader.position) bytes after the value's end") }
        return try T(from: StateDecoding(node: node, codingPath: [], info: StateDecodingInfo(userInfo)))
    }
}

extension StateDecoder {
    /// Hands `body` a decoder of `bytes`: for restoring state into an existing value built from its configuration.
    public func restore(from bytes: [UInt8], _ body: (any Decoder) throws -> Void) throws {
        var reader = StateByteReader(bytes: bytes)
        let node = try reader.node(depth: 0)
        guard reader.atEnd else { throw StateCodingError("\(bytes.count - reader.position) bytes after the value's end") }
        try body(StateDecoding(node: node, codingPath: [], info: StateDecodingInfo(userInfo)))
    }
}

/// The decoder's `userInfo`, shared by every nested decoder of one `decode` call.
final class StateDecodingInfo {
    let userInfo: [CodingUserInfoKey: Any]
    init(_ userInfo: [CodingUserInfoKey: Any]) { self.userInfo = userInfo }
}

/// Bytes that are not a value of the requested type (a damaged checkpoint, or one written by another format version).
public struct StateCodingError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ what: String, at path: [any CodingKey] = []) {
        let where_ = path.isEmpty ? "" : " at \(path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "."))"
        description = "state bytes unreadable\(where_): \(what)"
    }
}

// MARK: - Nodes

indirect enum StateNode {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(UInt64)
    case string(String)
    case bytes([UInt8])
    case keyed([(String, StateNode)])
    case unkeyed([StateNode])

    enum Tag: UInt8 { case null, falseValue, trueValue, int, uint, double, string, keyed, unkeyed, bytes }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(Tag.null.rawValue)
        case .bool(let b): out.append(b ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let v):
            out.append(Tag.int.rawValue)
            Self.varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)), into: &out)
        case .uint(let v):
            out.append(Tag.uint.rawValue)
            Self.varint(v, into: &out)
        case .double(let bits):
            out.append(Tag.double.rawValue)
            for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(k)))) }
        case .string(let s):
            out.append(Tag.string.rawValue)
            Self.string(s, into: &out)
        case .bytes(let b):
            out.append(Tag.bytes.rawValue)
            Self.varint(UInt64(b.count), into: &out)
            out += b
        case .keyed(let entries):
            out.append(Tag.keyed.rawValue)
            Self.varint(UInt64(entries.count), into: &out)
            for (key, value) in entries {
                Self.string(key, into: &out)
                value.write(into: &out)
            }
        case .unkeyed(let items):
            out.append(Tag.unkeyed.rawValue)
            Self.varint(UInt64(items.count), into: &out)
            for item in items { item.write(into: &out) }
        }
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        varint(UInt64(utf8.count), into: &out)
        out += utf8
    }

    static func tag(_ byte: UInt8) -> Tag? { Tag(rawValue: byte) }

    var kind: String {
        switch self {
        case .null: "nil"
        case .bool: "a Bool"
        case .int: "a signed integer"
        case .uint: "an unsigned integer"
        case .double: "a floating-point number"
        case .string: "a string"
        case .bytes: "bytes"
        case .keyed: "a keyed container"
        case .unkeyed: "an unkeyed container"
        }
    }
}

struct StateByteReader {
    let bytes: [UInt8]
    private(set) var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw StateCodingError("ends early, at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw StateCodingError("an integer longer than 64 bits at byte \(position)") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    mutating func count() throws -> Int {
        let n = try varint()
        guard n <= UInt64(bytes.count - position) else { throw StateCodingError("a length of \(n) beyond the data's end at byte \(position)") }
        return Int(n)
    }

    mutating func string() throws -> String {
        let n = try count()
        defer { position += n }
        return String(decoding: bytes[position..<position + n], as: UTF8.self)
    }

    mutating func node(depth: Int) throws -> StateNode {
        guard depth < 512 else { throw StateCodingError("nested deeper than 512 levels") }
        let at = position
        guard let tag = StateNode.tag(try byte()) else { throw StateCodingError("unknown tag \(bytes[at]) at byte \(at)") }
        switch tag {
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .int:
            let z = try varint()
            return .int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
        case .uint: return .uint(try varint())
        case .double:
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(try byte()) << (8 * UInt64(k)) }
            return .double(bits)
        case .string: return .string(try string())
        case .bytes:
            let n = try count()
            defer { position += n }
            return .bytes(Array(bytes[position..<position + n]))
        case .keyed:
            let n = try count()
            var entries: [(String, StateNode)] = []
            entries.reserveCapacity(n)
            for _ in 0..<n { entries.append((try string(), try node(depth: depth + 1))) }
            return .keyed(entries)
        case .unkeyed:
            let n = try count()
            var items: [StateNode] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try node(depth: depth + 1)) }
            return .unkeyed(items)
        }
    }
}

// MARK: - Encoding

/// Where one encoded value goes: a plain value, or a container filled in later (containers are handed out before
/// their contents are encoded, so they are references).
final class StateNodeBuilder {
    enum Content {
        case empty
        case value(StateNode)
        case keyed(StateKeyedStore)
        case unkeyed(StateUnkeyedStore)
    }
    var content = Content.empty

    func finish() -> StateNode {
        switch content {
        case .empty: .keyed([])
        case .value(let node): node
        case .keyed(let store): .keyed(store.entries.map { ($0.0, $0.1.finish()) })
        case .unkeyed(let store): .unkeyed(store.items.map { $0.finish() })
        }
    }
}

final class StateKeyedStore { var entries: [(String, StateNodeBuilder)] = [] }
final class StateUnkeyedStore { var items: [StateNodeBuilder] = [] }

struct StateEncoding: Encoder {
    let builder: StateNodeBuilder
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let store: StateKeyedStore
        if case .keyed(let existing) = builder.content { store = existing } else {
            store = StateKeyedStore()
            builder.content = .keyed(store)
        }
        return KeyedEncodingContainer(StateKeyedEncoding<Key>(store: store, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let store: StateUnkeyedStore
        if case .unkeyed(let existing) = builder.content { store = existing } else {
            store = StateUnkeyedStore()
            builder.content = .unkeyed(store)
        }
        return StateUnkeyedEncoding(store: store, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { StateSingleEncoding(builder: builder, codingPath: codingPath) }
}

/// The node of a value: primitives directly, anything else through its own `encode(to:)`.
func stateNode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> StateNodeBuilder {
    let b = StateNodeBuilder()
    // By static type (a dynamic cast would also take e.g. an empty [Double] for [UInt8]).
    let t: Any.Type = T.self
    switch ObjectIdentifier(t) {
    case ObjectIdentifier(Double.self): b.content = .value(.double((value as! Double).bitPattern))
    case ObjectIdentifier(Int.self): b.content = .value(.int(Int64(value as! Int)))
    case ObjectIdentifier(Int64.self): b.content = .value(.int(value as! Int64))
    case ObjectIdentifier(UInt64.self): b.content = .value(.uint(value as! UInt64))
    case ObjectIdentifier(String.self): b.content = .value(.string(value as! String))
    case ObjectIdentifier(Bool.self): b.content = .value(.bool(value as! Bool))
    case ObjectIdentifier([UInt8].self): b.content = .value(.bytes(value as! [UInt8]))
    default: try value.encode(to: StateEncoding(builder: b, codingPath: codingPath))
    }
    return b
}

struct StateKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let store: StateKeyedStore
    let codingPath: [any CodingKey]

    func encodeNil(forKey key: Key) throws { put(key, .null) }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        store.entries.append((key.stringValue, try stateNode(value, codingPath: codingPath + [key])))
    }

    private func put(_ key: Key, _ node: StateNode) {
        let b = StateNodeBuilder()
        b.content = .value(node)
        store.entries.append((key.stringValue, b))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let b = StateNodeBuilder()
        store.entries.append((key.stringValue, b))
        return StateEncoding(builder: b, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let b = StateNodeBuilder()
        store.entries.append((key.stringValue, b))
        return StateEncoding(builder: b, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
    func superEncoder(forKey key: Key) -> any Encoder {
        let b = StateNodeBuilder()
        store.entries.append((key.stringValue, b))
        return StateEncoding(builder: b, codingPath: codingPath + [key])
    }
}

struct StateUnkeyedEncoding: UnkeyedEncodingContainer {
    let store: StateUnkeyedStore
    let codingPath: [any CodingKey]
    var count: Int { store.items.count }

    func encodeNil() throws {
        let b = StateNodeBuilder()
        b.content = .value(.null)
        store.items.append(b)
    }

    func encode<T: Encodable>(_ value: T) throws { store.items.append(try stateNode(value, codingPath: codingPath)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let b = StateNodeBuilder()
        store.items.append(b)
        return StateEncoding(builder: b, codingPath: codingPath).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let b = StateNodeBuilder()
        store.items.append(b)
        return StateEncoding(builder: b, codingPath: codingPath).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        let b = StateNodeBuilder()
        store.items.append(b)
        return StateEncoding(builder: b, codingPath: codingPath)
    }
}

struct StateSingleEncoding: SingleValueEncodingContainer {
    let builder: StateNodeBuilder
    let codingPath: [any CodingKey]

    func encodeNil() throws { builder.content = .value(.null) }
    func encode(_ value: Bool) throws { builder.content = .value(.bool(value)) }
    func encode(_ value: String) throws { builder.content = .value(.string(value)) }
    func encode(_ value: Double) throws { builder.content = .value(.double(value.bitPattern)) }
    func encode(_ value: Float) throws { builder.content = .value(.uint(UInt64(value.bitPattern))) }
    func encode(_ value: Int) throws { builder.content = .value(.int(Int64(value))) }
    func encode(_ value: Int8) throws { builder.content = .value(.int(Int64(value))) }
    func encode(_ value: Int16) throws { builder.content = .value(.int(Int64(value))) }
    func encode(_ value: Int32) throws { builder.content = .value(.int(Int64(value))) }
    func encode(_ value: Int64) throws { builder.content = .value(.int(value)) }
    func encode(_ value: UInt) throws { builder.content = .value(.uint(UInt64(value))) }
    func encode(_ value: UInt8) throws { builder.content = .value(.uint(UInt64(value))) }
    func encode(_ value: UInt16) throws { builder.content = .value(.uint(UInt64(value))) }
    func encode(_ value: UInt32) throws { builder.content = .value(.uint(UInt64(value))) }
    func encode(_ value: UInt64) throws { builder.content = .value(.uint(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        let child = try stateNode(value, codingPath: codingPath)
        builder.content = child.content
    }
}

// MARK: - Decoding

struct StateDecoding: Decoder {
    let node: StateNode
    let codingPath: [any CodingKey]
    let info: StateDecodingInfo
    var userInfo: [CodingUserInfoKey: Any] { info.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .keyed(let entries) = node else { throw StateCodingError("expected a keyed container, found \(node.kind)", at: codingPath) }
        var byKey: [String: StateNode] = [:]
        byKey.reserveCapacity(entries.count)
        for (k, v) in entries { byKey[k] = v }
        return KeyedDecodingContainer(StateKeyedDecoding<Key>(entries: byKey, order: entries.map(\.0), codingPath: codingPath, info: info))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .unkeyed(let items) = node else { throw StateCodingError("expected an unkeyed container, found \(node.kind)", at: codingPath) }
        return StateUnkeyedDecoding(items: items, codingPath: codingPath, info: info)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { StateSingleDecoding(node: node, codingPath: codingPath, info: info) }
}

/// Decodes `T` from `node`: primitives directly, anything else through its own `init(from:)`.
func stateValue<T: Decodable>(_ type: T.Type, _ node: StateNode, codingPath: [any CodingKey], info: StateDecodingInfo) throws -> T {
    let single = StateSingleDecoding(node: node, codingPath: codingPath, info: info)
    // By exact type, as `stateNode` encodes.
    let t: Any.Type = type
    switch ObjectIdentifier(t) {
    case ObjectIdentifier(Double.self): return try single.decode(Double.self) as! T
    case ObjectIdentifier(Int.self): return try single.decode(Int.self) as! T
    case ObjectIdentifier(Int64.self): return try single.decode(Int64.self) as! T
    case ObjectIdentifier(UInt64.self): return try single.decode(UInt64.self) as! T
    case ObjectIdentifier(String.self): return try single.decode(String.self) as! T
    case ObjectIdentifier(Bool.self): return try single.decode(Bool.self) as! T
    case ObjectIdentifier([UInt8].self):
        guard case .bytes(let b) = node else { throw StateCodingError("expected bytes, found \(node.kind)", at: codingPath) }
        return b as! T
    default: return try T(from: StateDecoding(node: node, codingPath: codingPath, info: info))
    }
}

struct StateKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let entries: [String: StateNode]
    let order: [String]
    let codingPath: [any CodingKey]
    let info: StateDecodingInfo

    var allKeys: [Key] { order.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

    private func node(_ key: Key) throws -> StateNode {
        guard let n = entries[key.stringValue] else { throw StateCodingError("no value for key '\(key.stringValue)'", at: codingPath) }
        return n
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try node(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try stateValue(type, try node(key), codingPath: codingPath + [key], info: info)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try StateDecoding(node: try node(key), codingPath: codingPath + [key], info: info).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try StateDecoding(node: try node(key), codingPath: codingPath + [key], info: info).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try superDecoder(forKey: Key(stringValue: "super")!) }
    func superDecoder(forKey key: Key) throws -> any Decoder { StateDecoding(node: try node(key), codingPath: codingPath + [key], info: info) }
}

struct StateUnkeyedDecoding: UnkeyedDecodingContainer {
    let items: [StateNode]
    let codingPath: [any CodingKey]
    let info: StateDecodingInfo
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> StateNode {
        guard !isAtEnd else { throw StateCodingError("fewer than \(currentIndex + 1) items", at: codingPath) }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw StateCodingError("fewer than \(currentIndex + 1) items", at: codingPath) }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try stateValue(type, try next(), codingPath: codingPath, info: info) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try StateDecoding(node: try next(), codingPath: codingPath, info: info).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try StateDecoding(node: try next(), codingPath: codingPath, info: info).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { StateDecoding(node: try next(), codingPath: codingPath, info: info) }
}

struct StateSingleDecoding: SingleValueDecodingContainer {
    let node: StateNode
    let codingPath: [any CodingKey]
    let info: StateDecodingInfo

    private func mismatch(_ expected: String) -> StateCodingError {
        StateCodingError("expected \(expected), found \(node.kind)", at: codingPath)
    }

    private func signed<T: FixedWidthInteger & SignedInteger>(_ type: T.Type) throws -> T {
        guard case .int(let v) = node else { throw mismatch("a signed integer") }
        guard let exact = T(exactly: v) else { throw StateCodingError("\(v) does not fit \(T.self)", at: codingPath) }
        return exact
    }

    private func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) throws -> T {
        guard case .uint(let v) = node else { throw mismatch("an unsigned integer") }
        guard let exact = T(exactly: v) else { throw StateCodingError("\(v) does not fit \(T.self)", at: codingPath) }
        return exact
    }

    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let v) = node else { throw mismatch("a Bool") }
        return v
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let v) = node else { throw mismatch("a string") }
        return v
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .double(let bits) = node else { throw mismatch("a floating-point number") }
        return Double(bitPattern: bits)
    }

    func decode(_ type: Float.Type) throws -> Float {
        guard case .uint(let bits) = node, let b32 = UInt32(exactly: bits) else { throw mismatch("a Float") }
        return Float(bitPattern: b32)
    }

    func decode(_ type: Int.Type) throws -> Int { try signed(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try signed(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try signed(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try signed(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try signed(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try unsigned(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unsigned(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unsigned(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unsigned(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unsigned(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try stateValue(type, node, codingPath: codingPath, info: info) }
}
