import QuorumBus
import QuorumProto
import Testing

@Suite("ProtoMessages")
struct ProtoMessagesTests {
    @Test("a protobuf message goes out with its type header and event-time timestamp and decodes back")
    func roundTrip() throws {
        var bar = Quorum_V1_Bar()
        bar.symbol = "BTC-USD"
        bar.envelope.id = "bar-1"
        let out = try OutgoingMessage(topic: "t", key: "BTC-USD", message: bar, eventTimeNs: 1_500_000_000_123_456_789)
        #expect(out.timestampMs == 1_500_000_000_123)
        #expect(out.headers.first { $0.name == QuorumHeader.type }?.text == "quorum.v1.Bar")
        let incoming = IncomingMessage(topic: "t", partition: 0, offset: 0, key: out.key, value: out.value, headers: out.headers)
        #expect(try incoming.decode(Quorum_V1_Bar.self) == bar)
    }

    @Test("garbage bytes or the wrong type are rejected as undecodable (dead-letter material)")
    func rejects() throws {
        let garbage = IncomingMessage(topic: "t", partition: 0, offset: 3, key: [], value: [0xFF, 0xFF, 0xFF])
        #expect(throws: RejectedMessage.self) { try garbage.decode(Quorum_V1_Bar.self) }
        let wrong = IncomingMessage(topic: "t", partition: 0, offset: 4, key: [], value: [],
                                    headers: [MessageHeader(QuorumHeader.type, "quorum.v1.Decision")])
        do {
            _ = try wrong.decode(Quorum_V1_Bar.self)
            Issue.record("expected a rejection")
        } catch let r as RejectedMessage {
            #expect(r.reason == .undecodable)
            #expect(r.detail.contains("quorum.v1.Decision"))
        }
    }
}
