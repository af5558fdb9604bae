/// A JSON document as Quorum reads and writes it (backtest configs and reports, feature specs, log lines): objects keep their key order (so a report reads in a chosen
/// order and renders the same bytes on every run), numbers keep their literal text (so `0.01` becomes the exact
/// decimal `Fixed("0.01")`, never a binary fraction).
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. `0.01`, `-3`, `1e-9`.
    case number(String)
    case string(String)
    case array([JSON])
    /// Keys in document order; a key appears once.
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// A number from a Double: the shortest text that reads back as the same Double; NaN and ±∞ (which JSON cannot
    /// hold) become null.
    public static func double(_ value: Double) -> JSON {
        guard value.isFinite else { return .null }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number("\(value)")
    }

    public static func int<I: BinaryInteger>(_ value: I) -> JSON { .number(String(value)) }

    /// The value of `key` in an object (nil for a missing key or a non-object).
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// Rendered with two-space indentation and a final newline; the same value always gives the same bytes.
    public func rendered() -> String {
        var out = ""
        render(into: &out, indent: "")
        out += "\n"
        return out
    }

    private func render(into out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let text): out += text
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            // Arrays of scalars stay on one line (lists of symbols, files, numbers).
            if items.allSatisfy({ if case .array = $0 { return false }; if case .object = $0 { return false }; return true }) {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    item.render(into: &out, indent: indent)
                }
                out += "]"
                return
            }
            let inner = indent + "  "
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.render(into: &out, indent: inner)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let pairs):
            guard !pairs.isEmpty else { out += "{}"; return }
            let inner = indent + "  "
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += inner
                JSON.quote(key, into: &out)
                out += ": "
                value.render(into: &out, indent: inner)
                out += i + 1 < pairs.count ? ",\n" : "\n"
            }
            out += indent + "}"
        }
    }

    /// `s` as a JSON string literal (quotes, escapes).
    public static func quote(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }

    /// `s` as a JSON string literal (quotes, escapes), appended to `out`.
    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// A JSON text that does not parse: where (line and column, 1-based) and what.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSON {
    /// Parses a complete JSON text (RFC 8259). A key repeated in one object is an error (it would silently override).
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSON {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at >= parser.bytes.count else { throw parser.error("unexpected text after the end of the document") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        func error(_ message: String) -> JSONSyntaxError {
            var line = 1
            var column = 1
            for b in bytes[0..<min(at, bytes.count)] {
                if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
            }
            return JSONSyntaxError(line: line, column: column, message: message)
        }

        var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { at += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSON) throws(JSONSyntaxError) -> JSON {
            let l = Array(literal.utf8)
            guard at + l.count <= bytes.count, Array(bytes[at..<at + l.count]) == l else {
                throw error("expected a value (an object, array, string, number, true, false or null)")
            }
            at += l.count
            return value
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> JSON {
            guard depth < 200 else { throw error("nested too deeply") }
            guard let b = peek else { throw error("unexpected end of the document; expected a value") }
            switch b {
            case UInt8(ascii: "{"):
                at += 1
                var pairs: [(String, JSON)] = []
                skipSpace()
                if peek == UInt8(ascii: "}") { at += 1; return .object(pairs) }
                while true {
                    skipSpace()
                    guard peek == UInt8(ascii: "\"") else { throw error("expected a key in double quotes") }
                    let keyStart = at
                    let key = try string()
                    if pairs.contains(where: { $0.0 == key }) {
                        at = keyStart
                        throw error("key \"\(key)\" appears twice in one object")
                    }
                    skipSpace()
                    guard peek == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
                    at += 1
                    skipSpace()
                    pairs.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if peek == UInt8(ascii: ",") { at += 1; continue }
                    if peek == UInt8(ascii: "}") { at += 1; return .object(pairs) }
                    throw error("expected ',' or '}' in an object")
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [JSON] = []
                skipSpace()
                if peek == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if peek == UInt8(ascii: ",") { at += 1; continue }
                    if peek == UInt8(ascii: "]") { at += 1; return .array(items) }
                    throw error("expected ',' or ']' in an array")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("expected a value (an object, array, string, number, true, false or null)")
            }
        }

        mutating func number() throws(JSONSyntaxError) -> JSON {
            let start = at
            func digits(_ p: inout Parser) -> Int {
                var n = 0
                while let b = p.peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { p.at += 1; n += 1 }
                return n
            }
            if peek == UInt8(ascii: "-") { at += 1 }
            let intStart = at
            guard digits(&self) > 0 else { throw error("a number needs digits") }
            if bytes[intStart] == UInt8(ascii: "0"), at - intStart > 1 { at = intStart; throw error("a number cannot start with 0") }
            if peek == UInt8(ascii: ".") {
                at += 1
                guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                at += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
                guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
            }
            return .number(String(decoding: bytes[start..<at], as: UTF8.self))
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            at += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("a string is not closed") }
                at += 1
                switch b {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = peek else { throw error("a string is not closed") }
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code), peek == UInt8(ascii: "\\"), at + 1 < bytes.count, bytes[at + 1] == UInt8(ascii: "u") {
                            at += 2
                            let low = try hex4()
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                    default: at -= 1; throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))' in a string")
                    }
                case 0..<0x20: at -= 1; throw error("a control character inside a string (write it as an escape)")
                default: out.append(b)
                }
            }
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            guard at + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
                throw error("\\u needs four hex digits")
            }
            at += 4
            return v
        }
    }
}
