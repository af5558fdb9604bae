import Foundation
import QuorumModel
import QuorumRisk
import Testing

@Suite("CompactID")
struct CompactIDTests {
    @Test("a hashed id made from its number or from its text is one id, with one text; other texts stay as they are")
    func forms() {
        let made = CompactID(prefix: "d", hash: 0x0123_4567_89ab_cdef)
        #expect(made.text == "d-0123456789abcdef")
        #expect(CompactID("d-0123456789abcdef") == made)
        #expect(CompactID("d-0123456789abcdef").hashValue == made.hashValue)
        #expect(CompactID(prefix: "q", hash: 0).text == "q-0000000000000000")
        #expect(CompactID(prefix: "d", hash: .max).text == "d-ffffffffffffffff")
        // Not the hashed form: upper-case hex, a wrong length, no letter prefix, another separator. Kept as text, and
        // different from any hashed id.
        for text in ["d-0123456789ABCDEF", "d-0123456789abcde", "d-0123456789abcdef0", "1-0123456789abcdef", "d_0123456789abcdef",
                     "D-0123456789abcdef", "", "decision-7"] {
            let id = CompactID(text)
            #expect(id.text == text)
            #expect(id != made, "\(text)")
        }
        #expect(CompactID("d-0123456789abcdeg") != CompactID("d-0123456789abcdef"))
    }

    @Test("random hashes: text and back give the same id; a set holds each text once whichever form made it")
    func roundTrips() {
        var rng = SplitMix64(seed: 9)
        var set: Set<CompactID> = []
        for _ in 0..<5_000 {
            let hash = rng.next()
            let id = CompactID(prefix: "d", hash: hash)
            #expect(CompactID(id.text) == id)
            #expect(id.text == "d-" + String(repeating: "0", count: 16 - String(hash, radix: 16).count) + String(hash, radix: 16))
            set.insert(id)
            set.insert(CompactID(id.text))
        }
        #expect(set.count == 5_000)
    }

    @Test("coded as its text: a RiskDecision's JSON is what it was with a string id, and decodes back")
    func coding() throws {
        let decision = RiskDecision(id: "d-00000000000000ff", symbol: "BTC-USD", time: 7, target: .long, referencePrice: 10, atr: nil)
        let json = String(decoding: try JSONEncoder().encode(decision), as: UTF8.self)
        #expect(json.contains("\"id\":\"d-00000000000000ff\""), "\(json)")
        #expect(!json.contains("key"))
        #expect(try JSONDecoder().decode(RiskDecision.self, from: Data(json.utf8)) == decision)
        let plain = RiskDecision(id: "manual-1", symbol: "BTC-USD", time: 7, target: nil, referencePrice: 10, atr: nil)
        #expect(try JSONDecoder().decode(RiskDecision.self, from: try JSONEncoder().encode(plain)).id == "manual-1")
        // State coding (checkpoints) too.
        let state = try StateEncoder().encode(decision)
        #expect(try StateDecoder().decode(RiskDecision.self, from: state) == decision)
    }
}
