import QuorumModel

/// One line of a text file, without its terminator. A line longer than the splitter's limit keeps only its first
/// `limit` bytes; its full length and digest still identify it (a row that long is rejected, never parsed).
public struct TextLine: Sendable, Hashable {
    /// The line (or its first `limit` bytes), decoded as UTF-8 (invalid sequences become U+FFFD).
    public var text: String
    /// Length of the whole line in bytes.
    public var byteCount: Int
    /// FNV-1a 64 digest of the whole line's bytes, only for a truncated line.
    public var digest: String?

    public var isTruncated: Bool { digest != nil }
}

/// Splits a byte stream, delivered in chunks of any size, into text lines.
///
/// Lines end at `\n`; a trailing `\r` is removed (CRLF files). Memory stays bounded by `limit`: the bytes of a
/// longer line beyond it are only counted and hashed.
public struct LineSplitter: Sendable {
    /// Bytes kept of one line. Default 64 KiB (an OHLCV row is well under 1 KiB).
    public let limit: Int
    private var partial: [UInt8] = []
    private var length = 0
    private var hasher: FNV1a64?

    public init(limit: Int = 65_536) {
        self.limit = max(1, limit)
    }

    /// The complete lines contained in `chunk` together with what was left over from earlier chunks.
    public mutating func feed(_ chunk: some Sequence<UInt8>) -> [TextLine] {
        var lines: [TextLine] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                lines.append(takeLine())
            } else if length < limit {
                partial.append(byte)
                length += 1
            } else {
                if hasher == nil { hasher = FNV1a64(); hasher!.combine(partial) }
                hasher!.combine(byte)
                length += 1
            }
        }
        return lines
    }

    /// The last line when the input did not end with a newline.
    public mutating func finish() -> [TextLine] {
        length == 0 ? [] : [takeLine()]
    }

    /// Bytes of the unfinished line (0 right after a newline).
    public var pendingBytes: Int { length }

    private mutating func takeLine() -> TextLine {
        if hasher == nil, partial.last == UInt8(ascii: "\r") { partial.removeLast(); length -= 1 }
        let line = TextLine(text: String(decoding: partial, as: UTF8.self), byteCount: length, digest: hasher?.hex)
        partial.removeAll(keepingCapacity: partial.count <= 4096)
        length = 0
        hasher = nil
        return line
    }
}

/// A short, printable excerpt of untrusted input for an error message: at most `limit` characters, control and
/// invalid bytes escaped, and the full length said when it was cut. Error messages never echo more than this.
public func excerpt(_ text: some StringProtocol, limit: Int = 40) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            return "\(out)… (\(text.utf8.count) bytes)"
        }
        switch scalar {
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\u{FFFD}": out += "\\u{FFFD}"
        default:
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        count += 1
    }
    return out
}
