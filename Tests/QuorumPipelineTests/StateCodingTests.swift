import DequeModule
import QuorumModel
import QuorumPipeline
import Testing

@Suite("State coding (checkpoints)")
struct StateCodingTests {
    struct Inner: Codable, Equatable {
        var name: String
        var weights: [Double]
        var when: Nanos?
    }

    struct Outer: Codable, Equatable {
        var price: Fixed
        var bySymbol: [Symbol: Inner]
        var byName: [String: Int]
        var recent: Deque<Int64>
        var bytes: [UInt8]
        var none: [Double]
        var flag: Bool
        var small: Int8
        var big: UInt64
    }

    static let sample = Outer(
        price: Fixed("123.45678901")!, bySymbol: ["BTC-USD": Inner(name: "b", weights: [0.1, -2, .infinity], when: 7), "ETH-USD": Inner(name: "é", weights: [], when: nil)],
        byName: ["a": -1, "b": Int.max], recent: [1, -5, Int64.min], bytes: [0, 255, 7], none: [], flag: true, small: -128, big: .max)

    @Test("values round-trip equal, empty arrays and byte arrays included")
    func roundTrip() throws {
        let bytes = try StateEncoder().encode(Self.sample)
        #expect(try StateDecoder().decode(Outer.self, from: bytes) == Self.sample)
    }

    @Test("doubles keep their exact bits: NaN payloads and signs, negative zero")
    func exactDoubles() throws {
        let values = [Double.nan, -Double.nan, Double(bitPattern: 0x7ff8_0000_0000_0001), -0.0, .leastNonzeroMagnitude, 0.1 + 0.2]
        let back = try StateDecoder().decode([Double].self, from: try StateEncoder().encode(values))
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("damaged bytes give an error naming where, never a crash or a wrong value")
    func damaged() throws {
        let bytes = try StateEncoder().encode(Self.sample)
        for cut in stride(from: 0, to: bytes.count, by: 3) {
            #expect(throws: StateCodingError.self) { try StateDecoder().decode(Outer.self, from: Array(bytes.prefix(cut))) }
        }
        #expect(throws: StateCodingError.self) { try StateDecoder().decode(Outer.self, from: bytes + [0]) }
        let wrongType = try StateEncoder().encode(Inner(name: "x", weights: [1], when: nil))
        #expect(throws: StateCodingError.self) { try StateDecoder().decode(Outer.self, from: wrongType) }
        #expect(throws: StateCodingError.self) { try StateDecoder().decode(Int8.self, from: try StateEncoder().encode(300)) }
    }
}
