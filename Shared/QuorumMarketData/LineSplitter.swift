/// Splits a byte stream, delivered in chunks of any size, into text lines.
///
/// Lines end at `\n`; a trailing `\r` is removed (CRLF files). Bytes are decoded as UTF-8 (invalid
/// sequences become U+FFFD and then fail to parse as a field, so the row is rejected, not lost).
/// Only the unfinished last line is kept between chunks, so memory stays bounded by the longest line.
public struct LineSplitter: Sendable {
    private var partial: [UInt8] = []

    public init() {}

    /// The complete lines contained in `chunk` together with what was left over from earlier chunks.
    public mutating func feed(_ chunk: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                lines.append(takeLine())
            } else {
                partial.append(byte)
            }
        }
        return lines
    }

    /// The last line when the input did not end with a newline.
    public mutating func finish() -> [String] {
        partial.isEmpty ? [] : [takeLine()]
    }

    private mutating func takeLine() -> String {
        if partial.last == UInt8(ascii: "\r") { partial.removeLast() }
        let line = String(decoding: partial, as: UTF8.self)
        partial.removeAll(keepingCapacity: true)
        return line
    }
}
