/// SplitMix64 (Steele, Lea & Flood 2014, as published by Vigna): a 64-bit generator used here only to seed
/// `Xoshiro256StarStar`. Each call adds 0x9E3779B97F4A7C15 to the state and mixes it; the first output for state 0
/// is 0xE220A8397B1DCDAF.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The current state (the next output is a function of state + 0x9E3779B97F4A7C15).
    public var state: UInt64

    /// A generator starting from `state`.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018): the seeded generator of every Monte Carlo path. Deterministic for a
/// seed on every machine and Swift version, because it is written here (never `SystemRandomNumberGenerator`, and
/// never the standard library's `shuffled(using:)`/`random(in:using:)`, whose algorithms may change).
///
/// Seeding: a `stream` number gives independent generators for one seed (one per Monte Carlo path, so that paths can
/// run in any order or in parallel and give the same results). The four state words are the first four outputs of
/// `SplitMix64(state: seed ^ SplitMix64(state: stream).next())`.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The generator of `stream` for `seed`; see the type's comment.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var streamMixer = SplitMix64(state: stream)
        var seeder = SplitMix64(state: seed ^ streamMixer.next())
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    /// The next 64 random bits: rotl(s1 × 5, 7) × 9, then the xoshiro256 state transition.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-and-shift with rejection: unbiased, and the same draws on
    /// every platform). Precondition: bound > 0.
    public mutating func bounded(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "the bound must be positive")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// A uniform index in 0..<count. Precondition: count > 0.
    public mutating func index(below count: Int) -> Int {
        Int(bounded(UInt64(count)))
    }

    /// A uniform Double in [0, 1): the top 53 bits × 2⁻⁵³.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
