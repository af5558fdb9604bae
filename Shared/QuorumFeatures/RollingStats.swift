/// Mean and variance of the last `capacity` values, O(1) per update.
///
/// Keeps exactly the window (a ring of at most `capacity` values; nothing grows beyond it) and updates the
/// mean and the sum of squared deviations (M2) with Welford's add/replace formulas, which avoid the
/// catastrophic cancellation of `Σx² − (Σx)²/n` on large, close values such as prices. To stop rounding
/// drift from accumulating over millions of updates, M2 and the mean are recomputed exactly (two passes over
/// the window) once every `capacity` replacements: amortised O(1).
public struct RollingStats: Sendable, Codable {
    public let capacity: Int
    private var window: [Double] = []
    private var oldest = 0
    private var mean = 0.0
    private var m2 = 0.0
    private var replacementsSinceRecompute = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "RollingStats capacity must be at least 1")
        self.capacity = capacity
        window.reserveCapacity(capacity)
    }

    /// Values currently held (≤ `capacity`).
    public var count: Int { window.count }
    public var isFull: Bool { window.count == capacity }
    /// Mean of the held values (0 when empty).
    public var average: Double { mean }
    /// Σ(x − mean)² / n.
    public var populationVariance: Double { window.isEmpty ? 0 : max(0, m2) / Double(window.count) }
    /// Σ(x − mean)² / (n − 1); 0 for fewer than two values.
    public var sampleVariance: Double { window.count < 2 ? 0 : max(0, m2) / Double(window.count - 1) }

    /// √(sample variance) once the window is full, else nil (the volatility of a window of log returns).
    public var fullSampleDeviation: Double? { isFull ? sampleVariance.squareRoot() : nil }

    /// Adds `x`, dropping the oldest value when the window is full.
    public mutating func push(_ x: Double) {
        if window.count < capacity {
            window.append(x)
            let delta = x - mean
            mean += delta / Double(window.count)
            m2 += delta * (x - mean)
            return
        }
        let old = window[oldest]
        window[oldest] = x
        oldest = oldest + 1 == capacity ? 0 : oldest + 1
        let oldMean = mean
        mean += (x - old) / Double(capacity)
        m2 += (x - old) * (x - mean + old - oldMean)
        replacementsSinceRecompute += 1
        if replacementsSinceRecompute >= capacity { recompute() }
    }

    private mutating func recompute() {
        replacementsSinceRecompute = 0
        var sum = 0.0
        for v in window { sum += v }
        mean = sum / Double(window.count)
        var squares = 0.0
        for v in window { squares += (v - mean) * (v - mean) }
        m2 = squares
    }
}
