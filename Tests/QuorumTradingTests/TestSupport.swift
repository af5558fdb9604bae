import QuorumModel

/// SplitMix64: a tiny seeded generator so property tests are reproducible (seed printed on failure).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Exact decimal from a literal string; traps on a typo so tests fail loudly.
func fx(_ text: String) -> Fixed {
    guard let value = Fixed(text) else { preconditionFailure("bad Fixed literal \(text)") }
    return value
}

let minute: Nanos = 60_000_000_000
let day: Nanos = 86_400_000_000_000
/// 2024-01-01T00:00:00Z.
let t0: Nanos = 1_704_067_200_000_000_000
