// The TA-Lib-compatible indicator library: one namespace (`TA`), one bar type, one protocol.
//
// Every indicator is a value type fed one bar (or one value) at a time. `update` costs O(1) or amortised O(1)
// (CCI's mean deviation is O(period)), returns nil while the indicator warms up and a value from the bar whose
// 0-based index equals `lookback` on, exactly where TA-Lib's batch function writes its first value (TA-Lib's
// defaults: unstable period 0, default compatibility). Seeding and special cases follow TA-Lib's definitions;
// each doc comment states its definition, TA-Lib name and lookback. docs/features.md lists them all.

/// Namespace of the TA-Lib-compatible streaming indicators (`TA.SMA`, `TA.MACD`, …).
public enum TA {
    /// One bar's prices and volume as Doubles, and optionally its close time.
    public struct Candle: Sendable, Hashable, Codable {
        public var open: Double
        public var high: Double
        public var low: Double
        public var close: Double
        public var volume: Double
        /// The bar's close time in Unix seconds (UTC), i.e. the end of its interval. Only the calendar features
        /// (`TA.SessionVWAP`, `TA.CalendarEncoding`) read it and require it; price indicators ignore it.
        public var closeTime: Int64?

        public init(open: Double, high: Double, low: Double, close: Double, volume: Double, closeTime: Int64? = nil) {
            self.open = open
            self.high = high
            self.low = low
            self.close = close
            self.volume = volume
            self.closeTime = closeTime
        }
    }

    /// TA-Lib's `TA_IS_ZERO`: |v| < 10⁻⁸.
    @inline(__always) static func isZero(_ v: Double) -> Bool { v > -0.000_000_01 && v < 0.000_000_01 }
    /// TA-Lib's `TA_IS_ZERO_OR_NEG`: v < 10⁻⁸.
    @inline(__always) static func isZeroOrNegative(_ v: Double) -> Bool { v < 0.000_000_01 }
    /// Typical price (h + l + c) / 3 (CCI, MFI, VWAP, WaveTrend).
    @inline(__always) static func typicalPrice(_ bar: TA.Candle) -> Double { (bar.high + bar.low + bar.close) / 3 }
}

/// A streaming indicator: one bar in, its value out (nil during the warm-up of `lookback` bars).
public protocol StreamingIndicator: Sendable, Codable {
    associatedtype Output: Sendable
    /// Bars consumed before the first value: TA-Lib's `TA_<NAME>_Lookback` for the same parameters.
    var lookback: Int { get }
    mutating func update(_ bar: TA.Candle) -> Output?
}

/// An indicator of one series (TA-Lib's `inReal`); fed a bar it reads the close.
public protocol SeriesIndicator: StreamingIndicator {
    mutating func update(_ value: Double) -> Output?
}

extension SeriesIndicator {
    public mutating func update(_ bar: TA.Candle) -> Output? { update(bar.close) }
}

/// An indicator of two aligned series (TA-Lib's `inReal0`, `inReal1`), e.g. two symbols' closes at one event time.
public protocol PairIndicator: Sendable, Codable {
    associatedtype Output: Sendable
    var lookback: Int { get }
    mutating func update(_ x: Double, _ y: Double) -> Output?
}

extension TA {
    /// Two values of one bar, e.g. the previous bar's x and y of a two-series indicator.
    struct Point: Sendable, Codable {
        var x: Double
        var y: Double
    }

    /// The last `capacity` values, newest first by age (age 0 = newest). Fixed storage, O(1) per push.
    struct Ring: Sendable, Codable {
        let capacity: Int
        private var storage: [Double]
        private var next = 0
        private(set) var count = 0

        init(capacity: Int) {
            precondition(capacity >= 1, "a window holds at least one value")
            self.capacity = capacity
            storage = Array(repeating: 0, count: capacity)
        }

        var isFull: Bool { count == capacity }

        /// Adds `x`; returns the value it pushed out when the ring was full.
        @discardableResult
        mutating func push(_ x: Double) -> Double? {
            let evicted: Double? = isFull ? storage[next] : nil
            storage[next] = x
            next = next + 1 == capacity ? 0 : next + 1
            if !isFull { count += 1 }
            return evicted
        }

        /// The value pushed `age` pushes ago (0 = the newest); `age < count`.
        subscript(age age: Int) -> Double {
            var i = next - 1 - age
            if i < 0 { i += capacity }
            return storage[i]
        }

        /// Σx over the held values, in storage order (no index arithmetic per value, unlike `forEach`).
        func total() -> Double {
            storage.withUnsafeBufferPointer { values in
                var total = 0.0
                for i in 0..<count { total += values[i] }
                return total
            }
        }

        /// The highest (or lowest) held value, by a branch-free scan of the storage.
        func extreme(highest: Bool) -> Double {
            storage.withUnsafeBufferPointer { values in
                var best = values[0]
                if highest {
                    for i in 1..<count { best = values[i] > best ? values[i] : best }
                } else {
                    for i in 1..<count { best = values[i] < best ? values[i] : best }
                }
                return best
            }
        }

        /// Σ|x − center| over the held values (in storage order, the same for every caller: CCI's mean deviation).
        func absoluteDeviation(from center: Double) -> Double {
            storage.withUnsafeBufferPointer { values in
                // Four running sums, so that the additions do not wait on each other.
                var a = 0.0, b = 0.0, c = 0.0, d = 0.0
                var i = 0
                while i &+ 4 <= count {
                    a += abs(values[i] - center)
                    b += abs(values[i &+ 1] - center)
                    c += abs(values[i &+ 2] - center)
                    d += abs(values[i &+ 3] - center)
                    i &+= 4
                }
                while i < count {
                    a += abs(values[i] - center)
                    i &+= 1
                }
                return (a + b) + (c + d)
            }
        }

        /// Calls `body` with every held value, oldest first.
        func forEach(_ body: (Double) -> Void) {
            for age in stride(from: count - 1, through: 0, by: -1) { body(self[age: age]) }
        }
    }

    /// Sum of the last `capacity` values, O(1) per push. The running sum adds the new and subtracts the evicted
    /// value (TA-Lib's `periodTotal`); it is recomputed exactly from the window once every `capacity`
    /// replacements (amortised O(1)) so rounding cannot drift over millions of bars.
    struct RollingSum: Sendable, Codable {
        private(set) var window: Ring
        private(set) var sum = 0.0
        private var replacements = 0

        init(capacity: Int) { window = Ring(capacity: capacity) }

        var isFull: Bool { window.isFull }
        var capacity: Int { window.capacity }
        var mean: Double { sum / Double(window.count) }

        mutating func push(_ x: Double) {
            guard let old = window.push(x) else {
                sum += x
                return
            }
            sum += x - old
            replacements += 1
            if replacements >= window.capacity {
                replacements = 0
                sum = window.total()
            }
        }
    }

    /// Highest or lowest of the last `window` values and its bar index, amortised O(1): a monotonic deque of
    /// (index, value) candidates. On ties the newest bar wins, as in TA-Lib's scans (`>=` / `<=`).
    struct RollingExtreme: Sendable, Codable {
        let window: Int
        let highest: Bool
        /// The monotone deque in a ring of `window` slots (it never holds more): the candidates for the extreme,
        /// oldest first, from slot `front` on, `count` of them.
        private var indices: [Int]
        private var values: [Double]
        private var front = 0
        private var count = 0
        private(set) var index = -1

        init(window: Int, highest: Bool) {
            precondition(window >= 1, "a window holds at least one value")
            self.window = window
            self.highest = highest
            indices = Array(repeating: 0, count: window)
            values = Array(repeating: 0, count: window)
        }

        /// Adds the next value; returns the extreme of the last `window` values and the index of its bar
        /// (indices count pushes from 0).
        mutating func push(_ x: Double) -> (value: Double, index: Int) {
            index += 1
            // The oldest candidate leaves when it falls out of the window…
            if count > 0 && indices[front] <= index - window {
                front = front + 1 == window ? 0 : front + 1
                count -= 1
            }
            // …and the newest ones when x dominates them (ties go to the newer, as TA-Lib's scan does).
            while count > 0 {
                var last = front + count - 1
                if last >= window { last -= window }
                guard highest ? values[last] <= x : values[last] >= x else { break }
                count -= 1
            }
            var slot = front + count
            if slot >= window { slot -= window }
            values[slot] = x
            indices[slot] = index
            count += 1
            return (values[front], indices[front])
        }
    }

    /// Highest high and lowest low of the last n bars, once n bars have been seen (stochastics, WILLR, Donchian,
    /// Ichimoku). A window of up to `scanLimit` bars keeps the last n highs and lows and scans them on every bar:
    /// branch-free, which beats the deques' data-dependent branches for few bars. A longer one keeps two
    /// `RollingExtreme`s (amortised O(1)).
    struct HighLowWindow: Sendable, Codable {
        let period: Int
        static let scanLimit = 16
        /// Short windows: the last n highs and lows.
        private var highs: Ring?
        private var lows: Ring?
        /// Long windows: the two deques.
        private var highest: RollingExtreme?
        private var lowest: RollingExtreme?

        init(period: Int) {
            precondition(period >= 1, "a high-low window spans at least one bar")
            self.period = period
            if period > Self.scanLimit {
                highest = RollingExtreme(window: period, highest: true)
                lowest = RollingExtreme(window: period, highest: false)
            } else {
                highs = Ring(capacity: period)
                lows = Ring(capacity: period)
            }
        }

        mutating func update(high: Double, low: Double) -> (high: Double, low: Double)? {
            guard period <= Self.scanLimit else {
                let h = highest!.push(high), l = lowest!.push(low)
                return highest!.index >= period - 1 ? (h.value, l.value) : nil
            }
            highs!.push(high)
            lows!.push(low)
            return highs!.isFull ? (highs!.extreme(highest: true), lows!.extreme(highest: false)) : nil
        }

        /// (highest high + lowest low) / 2 of the bar's window (Ichimoku's lines).
        mutating func midpoint(_ bar: TA.Candle) -> Double? {
            update(high: bar.high, low: bar.low).map { ($0.high + $0.low) / 2 }
        }
    }

    /// The last `capacity` values with their plain sum Σx and time-weighted sum Σt·x (t = 0 for the oldest …
    /// n − 1 for the newest), O(1) per push: the weighted sum drops the window's other values once (each moves
    /// one step older) and adds (n − 1)·x. Both sums are recomputed exactly once every `capacity` replacements.
    struct WeightedWindow: Sendable, Codable {
        private var window: Ring
        private(set) var sum = 0.0
        private(set) var weighted = 0.0
        private var replacements = 0

        init(capacity: Int) { window = Ring(capacity: capacity) }

        var isFull: Bool { window.isFull }

        mutating func push(_ x: Double) {
            guard let old = window.push(x) else {
                weighted += Double(window.count - 1) * x
                sum += x
                return
            }
            weighted += Double(window.capacity - 1) * x - (sum - old)
            sum += x - old
            replacements += 1
            if replacements >= window.capacity {
                replacements = 0
                var s = 0.0, w = 0.0, t = 0.0
                window.forEach {
                    s += $0
                    w += t * $0
                    t += 1
                }
                sum = s
                weighted = w
            }
        }
    }
}
