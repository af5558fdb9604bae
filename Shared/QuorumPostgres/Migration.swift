import Crypto
import QuorumModel

/// One versioned schema change. The list of all of them is ``Migration/all`` (in `Migrations.swift`).
public struct Migration: Sendable, Hashable {
    /// Position in the sequence: 1, 2, 3, ... Applied in ascending order, each exactly once per database.
    public let version: Int
    /// A short snake_case name, stored beside the version for people reading `schema_migrations`.
    public let name: String
    /// The SQL to run; may hold several statements separated by `;`.
    public let sql: String

    /// Creates a migration.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Lowercase hex SHA-256 of ``sql`` (UTF-8), stored in `schema_migrations.checksum`.
    public var checksum: String { SHA256.hash(data: Array(sql.utf8)).hexString }

    /// ``sql`` split into single statements (the extended query protocol runs one statement at a time).
    /// Splits at `;` outside quotes ('...', "...", $tag$...$tag$) and comments; drops empty parts.
    ///
    /// PostgresNIO (1.33.2) has no simple-query protocol that would take the whole text: its `simpleQuery` is a
    /// prepared statement too, and several statements fail with "cannot insert multiple commands into a prepared
    /// statement" (vapor/postgres-nio issue 499; seen here when migrations ran through it).
    public var statements: [String] { SQLSplitter.split(self.sql) }
}

/// Splits SQL text into statements at top-level semicolons.
enum SQLSplitter {
    static func split(_ sql: String) -> [String] {
        let chars = Array(sql)
        var statements: [String] = []
        var start = 0
        var hasContent = false  // anything but whitespace and comments since `start`
        var i = 0

        func finish(at end: Int) {
            if hasContent {
                let text = String(chars[start..<end]).trimmingWhitespace()
                if !text.isEmpty { statements.append(text) }
            }
            start = end + 1
            hasContent = false
        }

        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "-" where next == "-":
                // Line comment up to the end of the line.
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            case "/" where next == "*":
                // Block comment; Postgres allows nesting.
                var depth = 1
                i += 2
                while i < chars.count, depth > 0 {
                    if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "*" { depth += 1; i += 2 }
                    else if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "/" { depth -= 1; i += 2 }
                    else { i += 1 }
                }
                continue
            case "'", "\"":
                // Quoted literal or identifier; a doubled quote is an escaped quote.
                hasContent = true
                let backslashEscapes = c == "'" && i > 0 && (chars[i - 1] == "E" || chars[i - 1] == "e")
                i += 1
                while i < chars.count {
                    if backslashEscapes, chars[i] == "\\" { i += 2; continue }
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
                continue
            case "$":
                // Dollar quoting: $$...$$ or $tag$...$tag$ (a tag is letters, digits, underscores).
                hasContent = true
                var j = i + 1
                while j < chars.count, chars[j] == "_" || chars[j].isLetter || (chars[j].isNumber && j > i + 1) { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = Array(chars[i...j])
                    var k = j + 1
                    while k < chars.count {
                        if chars[k] == "$", k + tag.count <= chars.count, Array(chars[k..<(k + tag.count)]) == tag { break }
                        k += 1
                    }
                    i = min(k + tag.count, chars.count)
                } else {
                    i += 1  // a positional parameter like $1
                }
                continue
            case ";":
                finish(at: i)
            default:
                if !c.isWhitespace { hasContent = true }
            }
            i += 1
        }
        finish(at: chars.count)
        return statements
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
