import Foundation
import QuorumProto
import SwiftProtobuf
import Testing

@Suite("quorum.v1 messages on the wire")
struct RoundTripTests {
    struct Sample: Sendable, CustomTestStringConvertible {
        let name: String
        let message: any Message
        var testDescription: String { name }
    }

    static let samples = Samples.all.map { Sample(name: $0.name, message: $0.message) }

    @Test("binary round trip keeps every field", arguments: samples)
    func binaryRoundTrip(_ sample: Sample) throws {
        let message = sample.message
        #expect(!message.isEqualTo(message: type(of: message).init()), "the sample must not be empty")
        let bytes: [UInt8] = try message.serializedBytes()
        let decoded = try type(of: message).init(serializedBytes: bytes)
        #expect(decoded.isEqualTo(message: message))
        #expect(decoded.unknownFields.data.isEmpty)
    }

    @Test("JSON round trip keeps every field (readable from any language)", arguments: samples)
    func jsonRoundTrip(_ sample: Sample) throws {
        let message = sample.message
        let json = try message.jsonString()
        let decoded = try type(of: message).init(jsonString: json)
        #expect(decoded.isEqualTo(message: message))
    }

    @Test("every field of every .proto message is set in its sample, and every message has a sample")
    func samplesCoverSchemas() throws {
        let schemas = try ProtoSchemas.load()
        let sampled = Dictionary(uniqueKeysWithValues: Self.samples.map { ($0.name, $0.message) })
        let expectedNames = Set(schemas.keys.map { "Quorum_V1_" + $0 })
        #expect(Set(sampled.keys) == expectedNames)

        for (protoName, fields) in schemas {
            let swiftName = "Quorum_V1_" + protoName
            guard let message = sampled[swiftName] else { continue }
            // JSON output omits fields that hold their default value, so its keys are the set fields.
            let json = try message.jsonUTF8Data()
            let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
            let setFields = Set(object.keys)
            for field in fields where field.oneof == nil {
                #expect(setFields.contains(field.jsonName), "\(swiftName).\(field.jsonName) is not set in the sample")
            }
            for oneof in Set(fields.compactMap(\.oneof)) {
                let members = fields.filter { $0.oneof == oneof }.map(\.jsonName)
                #expect(members.filter(setFields.contains).count == 1, "\(swiftName): set one member of oneof \(oneof)")
            }
        }
    }

    @Test("a reader keeps unknown fields from a newer schema and writes them back")
    func unknownFieldsAreTolerated() throws {
        let bar = Samples.bar
        var bytes: [UInt8] = try bar.serializedBytes()
        // Field 1000 (varint 7) and field 1001 (length-delimited "new"), as a newer writer might add.
        let extra: [UInt8] = [0xC0, 0x3E, 0x07, 0xCA, 0x3E, 0x03, 0x6E, 0x65, 0x77]
        bytes += extra
        let decoded = try Quorum_V1_Bar(serializedBytes: bytes)
        #expect(decoded.symbol == bar.symbol)
        #expect(decoded.close == bar.close)
        #expect(decoded.source == bar.source)
        #expect([UInt8](decoded.unknownFields.data) == extra)
        // Forwarding the message (e.g. to a dead-letter topic) must not lose what this reader did not understand.
        let forwarded: [UInt8] = try decoded.serializedBytes()
        #expect(forwarded == bytes)
    }

    @Test("an enum value unknown to this reader decodes as UNRECOGNIZED, not as an error")
    func unknownEnumValue() throws {
        // Signal field 4 (direction) = 99, a value from a future schema.
        let decoded = try Quorum_V1_Signal(serializedBytes: [0x20, 0x63] as [UInt8])
        #expect(decoded.direction == .UNRECOGNIZED(99))
        let again: [UInt8] = try decoded.serializedBytes()
        #expect(again == [0x20, 0x63])
    }

    @Test("truncated bytes are rejected")
    func truncatedInput() throws {
        let bytes: [UInt8] = try Samples.executionReport.serializedBytes()
        #expect(throws: BinaryDecodingError.self) {
            _ = try Quorum_V1_ExecutionReport(serializedBytes: Array(bytes.dropLast(3)))
        }
    }

    @Test("envelope convenience init starts a chain when no correlation id is given")
    func envelopeInit() {
        let first = Quorum_V1_Envelope(id: "a", tsEventNs: 1, tsInitNs: 2, producer: "p")
        #expect(first.correlationID == "a")
        #expect(first.causationID == "")
        #expect(first.schemaVersion == Quorum_V1_Envelope.currentSchemaVersion)
        #expect(first.schemaVersion == 1)
        let next = Quorum_V1_Envelope(
            id: "b", correlationID: first.correlationID, causationID: first.id, tsEventNs: 1, tsInitNs: 3,
            producer: "q")
        #expect(next.correlationID == "a")
        #expect(next.causationID == "a")
        #expect(next.tsEventNs == 1 && next.tsInitNs == 3 && next.producer == "q")
    }
}
