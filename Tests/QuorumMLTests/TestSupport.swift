import Foundation
@testable import QuorumML
import QuorumModel

/// A tiny seeded generator (SplitMix64) so every "random" test input is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func unit() -> Double { Double.random(in: -1..<1, using: &self) }
    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Double {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

let minute: Nanos = 60_000_000_000

/// Price rows with `width` Gaussian features, one per minute starting at t = 0.
/// When `separable`, the next move is up exactly when `features · direction > 0` (with features at `scales`);
/// otherwise the moves are independent coin flips with P(up) = `upProbability`.
func syntheticRows(count: Int, width: Int, seed: UInt64, separable: Bool,
                   upProbability: Double = 0.5) -> [PriceFeatureRow] {
    var rng = SplitMix64(seed: seed)
    let direction = (0..<width).map { j in j % 2 == 0 ? 1.0 : -0.5 }
    var rows: [PriceFeatureRow] = []
    var close = 100.0
    var pendingUp: Bool? = nil
    for i in 0..<count {
        // The move decided by the previous row's features happens now.
        if let up = pendingUp { close *= up ? 1.001 : 0.999 }
        let features = (0..<width).map { j in rng.gaussian() * Double(j + 1) + Double(j) }
        let up: Bool
        if separable {
            let centred = features.enumerated().map { j, x in (x - Double(j)) / Double(j + 1) }
            var s = 0.0
            for j in 0..<width { s += centred[j] * direction[j] }
            up = s > 0
        } else {
            up = Double.random(in: 0..<1, using: &rng) < upProbability
        }
        pendingUp = up
        rows.append((time: Nanos(i) * minute, features: features, close: close))
    }
    return rows
}
