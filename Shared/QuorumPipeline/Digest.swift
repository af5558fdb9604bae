import Crypto
import QuorumBus
import QuorumModel
import QuorumProto
import SwiftProtobuf

/// Digests of a topic's records for comparing two runs (replay determinism).
///
/// Two runs are equal when they published the same records with the same ids and contents. The only fields
/// excluded are the ones that are wall-clock stamps by design: `ts_init` of each envelope (when the record was
/// created). Records are ordered by id, so partition interleaving does not matter.
public enum RecordDigest {
    /// The topics whose digests say two runs traded alike: decisions, approved and denied orders, execution reports.
    public static let ledgerTopics = [Topic.decisions, Topic.ordersApproved, Topic.ordersDenied, Topic.executionReports]

    /// The line `quorum replay --digest` and `quorum backtest --digests` print for a topic: `digest <topic>: <result>`.
    public static func line(_ spec: TopicSpec, _ result: Result) -> String {
        "digest \(spec.name.split(separator: ".", maxSplits: 2).last.map(String.init) ?? spec.name): \(result)"
    }

    public struct Result: Sendable, Hashable, CustomStringConvertible {
        public var count: Int
        public var sha256: String
        public var description: String { "\(count) records, sha256 \(sha256)" }

        public init(count: Int, sha256: String) {
            self.count = count
            self.sha256 = sha256
        }
    }

    /// The record's value with every `ts_init` set to 0, re-encoded deterministically.
    public static func canonical(valueType: String, value: [UInt8]) throws -> (id: String, bytes: [UInt8]) {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        switch valueType {
        case Quorum_V1_Decision.protoMessageName:
            var m = try Quorum_V1_Decision(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_OrderApproved.protoMessageName:
            var m = try Quorum_V1_OrderApproved(serializedBytes: value)
            m.envelope.tsInitNs = 0
            m.intent.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_OrderDenied.protoMessageName:
            var m = try Quorum_V1_OrderDenied(serializedBytes: value)
            m.envelope.tsInitNs = 0
            m.intent.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_ExecutionReport.protoMessageName:
            var m = try Quorum_V1_ExecutionReport(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_Prediction.protoMessageName:
            var m = try Quorum_V1_Prediction(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_Signal.protoMessageName:
            var m = try Quorum_V1_Signal(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_FeatureVector.protoMessageName:
            var m = try Quorum_V1_FeatureVector(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        case Quorum_V1_Bar.protoMessageName:
            var m = try Quorum_V1_Bar(serializedBytes: value)
            m.envelope.tsInitNs = 0
            return (m.envelope.id, try m.serializedBytes(options: options))
        default:
            throw RejectedMessage(.invalid, "no canonical form for \(valueType)")
        }
    }

    /// Digest of a set of records of one topic type. A record delivered twice with identical content counts once;
    /// two different contents under one id both count (and change the digest).
    public static func digest(valueType: String, values: [[UInt8]]) throws -> Result {
        var byID: [String: Set<[UInt8]>] = [:]
        for value in values {
            let (id, bytes) = try canonical(valueType: valueType, value: value)
            byID[id, default: []].insert(bytes)
        }
        var all: [UInt8] = []
        var count = 0
        for id in byID.keys.sorted() {
            for bytes in byID[id]!.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                all += Array(id.utf8)
                all.append(0)
                all += bytes
                count += 1
            }
        }
        return Result(count: count, sha256: SHA256.hash(data: all).hexString)
    }
}
