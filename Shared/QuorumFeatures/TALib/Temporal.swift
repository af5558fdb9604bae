// Temporal features: cyclical calendar encodings and bars since the last large move.

import Foundation

extension TA {
    /// Hour of day and day of week as points on circles, so that 23:30 is close to 00:00 and Sunday to Monday.
    public struct CalendarValue: Sendable, Hashable {
        public var hourSin: Double
        public var hourCos: Double
        public var weekdaySin: Double
        public var weekdayCos: Double
    }

    /// Cyclical calendar encoding of the bar's close time in UTC (`Candle.closeTime`, required): with f the fraction
    /// of the UTC day elapsed (seconds since 00:00 / 86,400) and d the weekday (Monday 0 … Sunday 6),
    /// hour = (sin 2πf, cos 2πf) and weekday = (sin 2πd/7, cos 2πd/7). Lookback 0.
    public struct CalendarEncoding: StreamingIndicator {
        public init() {}
        public var lookback: Int { 0 }

        public mutating func update(_ bar: TA.Candle) -> CalendarValue? {
            guard let time = bar.closeTime else { preconditionFailure("CalendarEncoding needs bars with a closeTime") }
            let day = time.floorDivided(by: 86_400)
            let secondOfDay = time - day * 86_400
            let weekday = (day + 3) - 7 * (day + 3).floorDivided(by: 7)  // 1970-01-01 was a Thursday (3)
            let hour = 2 * Double.pi * Double(secondOfDay) / 86_400
            let week = 2 * Double.pi * Double(weekday) / 7
            return CalendarValue(hourSin: sin(hour), hourCos: cos(hour), weekdaySin: sin(week), weekdayCos: cos(week))
        }
    }

    /// Bars since the last N-sigma move of a series (fed returns, e.g. `LogReturn`'s): bar t is a move when
    /// |xₜ − m| > N·s, with m and s the mean and sample standard deviation of the n values before it (s > 0). The
    /// value is 0 on a move, then counts up by one per bar; before the first move it counts as if bar n − 1 had been
    /// one (1 on bar n, the first bar that can be tested). Lookback n.
    public struct BarsSinceMove: SeriesIndicator {
        public typealias Output = Double

        public let period: Int
        public let sigmas: Double
        private var history: RollingStats
        private var count = 0.0

        public init(period: Int = 100, sigmas: Double = 3) {
            precondition(period >= 2, "BarsSinceMove period must be at least 2")
            precondition(sigmas > 0, "BarsSinceMove sigmas must be positive")
            self.period = period
            self.sigmas = sigmas
            history = RollingStats(capacity: period)
        }

        public var lookback: Int { period }

        public mutating func update(_ value: Double) -> Double? {
            defer { history.push(value) }
            guard history.isFull else { return nil }
            let s = history.sampleVariance.squareRoot()
            let isMove = s > 0 && abs(value - history.average) > sigmas * s
            count = isMove ? 0 : count + 1
            return count
        }
    }
}
