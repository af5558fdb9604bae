/// One drawdown of an equity curve: from a peak, through the trough, to the recovery (the first point back at or
/// above the peak) or to the end of the curve when it has not recovered.
public struct DrawdownPeriod: Sendable, Hashable {
    /// Index of the peak (the last point at the running maximum before the fall).
    public var peakIndex: Int
    /// Index of the lowest point relative to the peak.
    public var troughIndex: Int
    /// Index of the first point back at or above the peak; nil while it has not recovered.
    public var recoveryIndex: Int?
    /// (trough − peak) / peak: a fraction < 0.
    public var depth: Double
    /// Index where the duration ends: the recovery, else the last point of the curve.
    public var endIndex: Int

    /// Points from the peak to the end: `endIndex − peakIndex` (≥ 1).
    public var durationPeriods: Int { endIndex - peakIndex }

    /// Creates a period; `Drawdown.periods(equity:)` finds them.
    public init(peakIndex: Int, troughIndex: Int, recoveryIndex: Int?, depth: Double, endIndex: Int) {
        self.peakIndex = peakIndex
        self.troughIndex = troughIndex
        self.recoveryIndex = recoveryIndex
        self.depth = depth
        self.endIndex = endIndex
    }
}

/// Drawdowns of an equity curve and their durations, with backtesting.py's definition of the duration
/// (`compute_drawdown_duration_peaks`): the time from the peak to the recovery (the first point whose equity is back
/// at the running maximum), or to the last point when the curve ends below its peak.
///
/// One difference, on purpose: backtesting.py skips a drawdown that starts at the very last point (its duration
/// would be one period); this library counts it, so a curve that ends one period into its only drawdown reports 1,
/// not "no drawdown".
public enum Drawdown {
    /// The drawdown series of returns: (eᵢ − peakᵢ)/peakᵢ for each return, on the equity curve that starts at 1
    /// (empyrical `drawdown_series`; values ≤ 0, one per return).
    public static func series(returns: [Double]) -> [Double] {
        var wealth = 1.0, peak = 1.0
        return returns.map { r in
            wealth *= 1 + r
            peak = max(peak, wealth)
            return (wealth - peak) / peak
        }
    }

    /// Every drawdown of an equity curve, oldest first. A point equal to the running maximum ends a drawdown.
    /// Empty when the curve never falls below a previous peak.
    public static func periods(equity: [Double]) -> [DrawdownPeriod] {
        guard var peak = equity.first else { return [] }
        var result: [DrawdownPeriod] = []
        var peakIndex = 0
        var open: DrawdownPeriod?
        for i in equity.indices.dropFirst() {
            let e = equity[i]
            if e >= peak {
                if var d = open {
                    d.recoveryIndex = i
                    d.endIndex = i
                    result.append(d)
                    open = nil
                }
                peak = e
                peakIndex = i
            } else {
                let depth = (e - peak) / peak
                if var d = open {
                    if depth < d.depth {
                        d.depth = depth
                        d.troughIndex = i
                    }
                    d.endIndex = i
                    open = d
                } else {
                    open = DrawdownPeriod(peakIndex: peakIndex, troughIndex: i, recoveryIndex: nil, depth: depth, endIndex: i)
                }
            }
        }
        if let d = open { result.append(d) }
        return result
    }

    /// The longest drawdown in periods (points from peak to recovery or to the last point), nil without a drawdown
    /// (backtesting.py's `Max. Drawdown Duration` counted in bars).
    public static func maxDurationPeriods(equity: [Double]) -> Int? {
        periods(equity: equity).map(\.durationPeriods).max()
    }

    /// The longest drawdown of the equity curve implied by `returns` (starting at 1 before the first return), in
    /// periods; nil without a drawdown.
    public static func maxDurationPeriods(returns: [Double]) -> Int? {
        maxDurationPeriods(equity: ReturnMetrics.equityCurve(returns: returns))
    }

    /// The longest drawdown in time: timestamps[end] − timestamps[peak] in the timestamps' unit (nanoseconds in
    /// Quorum), the maximum over all drawdowns (backtesting.py's `Max. Drawdown Duration`, not ceiled to the bar);
    /// nil without a drawdown. With irregular timestamps the longest in time need not be the longest in periods.
    /// Precondition: one timestamp per equity point, ascending.
    public static func maxDuration(equity: [Double], timestamps: [Int64]) -> Int64? {
        precondition(equity.count == timestamps.count, "one timestamp per equity point: \(timestamps.count) for \(equity.count)")
        return periods(equity: equity).map { timestamps[$0.endIndex] - timestamps[$0.peakIndex] }.max()
    }
}
