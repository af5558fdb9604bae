import Foundation

/// A small reader of proto/quorum/v1/*.proto that lists the fields of every message, so tests can check
/// that their samples cover the whole schema (it understands the subset of proto3 used there:
/// one declaration per line, nested messages, enums and oneofs).
enum ProtoSchemas {
    struct Field: Equatable {
        /// protobuf JSON name (lowerCamelCase of the field name).
        let jsonName: String
        /// Name of the oneof the field belongs to, if any.
        let oneof: String?
    }

    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The folder with the .proto files, found from this source file's location.
    static var protoFolder: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("proto/quorum/v1")
    }

    /// Fields by message path ("Bar", "Bar.SourceLocation", ...).
    static func load() throws -> [String: [Field]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: protoFolder.path)
            .filter { $0.hasSuffix(".proto") }
        guard !files.isEmpty else {
            throw ReadError(description: "no .proto files in \(protoFolder.path)")
        }
        var messages: [String: [Field]] = [:]
        for file in files {
            let text = try String(contentsOf: protoFolder.appendingPathComponent(file), encoding: .utf8)
            try read(text, file: file, into: &messages)
        }
        return messages
    }

    private enum Scope {
        case message(String)
        case oneof(String)
        case other
    }

    private static func read(_ text: String, file: String, into messages: inout [String: [Field]]) throws {
        var scopes: [Scope] = []
        let field = #/^(?:optional |repeated )?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+;$/#
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine.split(separator: "/", maxSplits: 1).first ?? "")
                .trimmingCharacters(in: .whitespaces)
            let words = line.split(separator: " ")
            let path = scopes.compactMap { scope -> String? in
                if case .message(let name) = scope { return name } else { return nil }
            }.joined(separator: ".")
            if line.isEmpty { continue }
            if line == "}" {
                guard scopes.popLast() != nil else {
                    throw ReadError(description: "\(file):\(number + 1): unbalanced }")
                }
            } else if line.hasSuffix("{"), words.count == 3 {
                switch words[0] {
                case "message":
                    let name = String(words[1])
                    scopes.append(.message(name))
                    messages[path.isEmpty ? name : path + "." + name, default: []] += []
                case "oneof": scopes.append(.oneof(String(words[1])))
                default: scopes.append(.other)
                }
            } else if let match = line.wholeMatch(of: field), let scope = scopes.last {
                switch scope {
                case .message:
                    messages[path, default: []].append(Field(jsonName: camel(String(match.1)), oneof: nil))
                case .oneof(let oneof):
                    messages[path, default: []].append(Field(jsonName: camel(String(match.1)), oneof: oneof))
                case .other:
                    break
                }
            }
        }
        if !scopes.isEmpty {
            throw ReadError(description: "\(file): \(scopes.count) unclosed scopes")
        }
    }

    /// protobuf's JSON name: drop underscores, capitalise the letter after each.
    static func camel(_ name: String) -> String {
        var result = ""
        var upper = false
        for character in name {
            if character == "_" {
                upper = true
            } else {
                result += upper ? character.uppercased() : String(character)
                upper = false
            }
        }
        return result
    }
}
