/// An id that stands for its text, kept as a number when the text has the form the pipeline makes for hashed ids: a
/// lowercase letter, "-", then the 16 lowercase hex digits of a 64-bit hash (a decision's "d-3f…"). Such an id costs no
/// string until `text` is read, and hashing or comparing it costs what an integer's does: a backtest makes a million
/// decision ids and risk remembers each in its dedupe set. Any other text is kept as it is.
///
/// Equal texts give equal ids (the hashed form is recognised whichever way the id was made), so an id can stand for its
/// text in sets and dictionaries. It is coded as its text.
public struct CompactID: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    private enum Storage: Sendable, Hashable {
        /// `prefix` (an ASCII lowercase letter), "-", then `value` as 16 lowercase hex digits.
        case hashed(prefix: UInt8, value: UInt64)
        case text(String)
    }

    private let storage: Storage

    /// The id of `prefix` + "-" + the 16 hex digits of `hash`, e.g. `CompactID(prefix: "d", hash: h)` for "d-…".
    public init(prefix: Unicode.Scalar, hash: UInt64) {
        precondition(prefix.value >= 0x61 && prefix.value <= 0x7a, "a CompactID prefix is one lowercase letter")
        storage = .hashed(prefix: UInt8(prefix.value), value: hash)
    }

    /// The id of any text.
    public init(_ text: String) {
        var text = text
        storage = text.withUTF8 { Self.hashed($0) } ?? .text(text)
    }

    public init(stringLiteral value: String) { self.init(value) }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// The text of the id (made here for a hashed one).
    public var text: String {
        switch storage {
        case .text(let text):
            return text
        case .hashed(let prefix, let value):
            return String(unsafeUninitializedCapacity: 18) { buffer in
                buffer[0] = prefix
                buffer[1] = UInt8(ascii: "-")
                for i in 0..<16 {
                    let digit = UInt8(truncatingIfNeeded: (value >> UInt64(60 - 4 * i)) & 0xf)
                    buffer[2 + i] = digit < 10 ? 48 + digit : 87 + digit
                }
                return 18
            }
        }
    }

    public var description: String { text }

    /// The hashed form of `bytes`, or nil when they are not "<letter>-<16 lowercase hex digits>".
    private static func hashed(_ bytes: UnsafeBufferPointer<UInt8>) -> Storage? {
        guard bytes.count == 18, bytes[0] >= 0x61, bytes[0] <= 0x7a, bytes[1] == UInt8(ascii: "-") else { return nil }
        var value: UInt64 = 0
        for i in 2..<18 {
            let c = bytes[i]
            let digit: UInt8
            switch c {
            case 0x30...0x39: digit = c - 0x30
            case 0x61...0x66: digit = c - 0x57
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return .hashed(prefix: bytes[0], value: value)
    }
}
