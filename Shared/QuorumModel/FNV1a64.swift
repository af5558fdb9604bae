/// The FNV-1a 64-bit hash (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the project's one stable,
/// non-cryptographic content hash. Feed bytes with `combine` (streaming) or hash a whole buffer at once.
public struct FNV1a64: Sendable, Hashable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func combine(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01b3
    }

    public mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    /// `value` as 16 lower-case hex digits (zero-padded).
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        var h = FNV1a64()
        h.combine(bytes)
        return h.value
    }

    /// `hash(bytes)` as 16 lower-case hex digits (zero-padded).
    public static func hex(of bytes: [UInt8]) -> String {
        var h = FNV1a64()
        h.combine(bytes)
        return h.hex
    }
}
