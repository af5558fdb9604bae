import Foundation
import QuorumModel

/// Walk-forward folds by event time: each fold trains on its past and is tested on the window that follows.
///
/// - `rolling`: every training window has the same length and moves by `step`; `expanding`: training starts at
///   the first time and grows.
/// - Purging: a training row whose label reaches into the test window (its time + `labelHorizon` is at or after the
///   test window's start) would teach the model what happens in the test window; it is dropped (López de Prado,
///   *Advances in Financial Machine Learning*, ch. 7).
/// - Embargo: rows in `[testTo, testTo + embargo)` follow a test window so closely that serial correlation carries
///   test information; they are dropped from the training of every fold whose test window they follow. In forward
///   folds training lies before the test, so the embargo only removes rows when a fold's training window reaches past
///   an earlier fold's test window — it is kept general so that any fold layout is safe.
///
/// Times are bar close times (nanoseconds); windows are half-open `[from, to)`.
public struct WalkForwardPlan: Sendable, Hashable, Codable {
    public enum Window: String, Sendable, Hashable, Codable {
        case rolling, expanding
    }

    public var window: Window
    public var trainLength: Nanos
    public var testLength: Nanos
    /// Distance between consecutive test windows' starts (default: `testLength`, back-to-back test windows).
    public var step: Nanos
    /// How far a label looks ahead (label horizon × bar interval).
    public var labelHorizon: Nanos
    public var embargo: Nanos

    public init(window: Window = .rolling, trainLength: Nanos, testLength: Nanos, step: Nanos? = nil, labelHorizon: Nanos = 0,
                embargo: Nanos = 0) {
        self.window = window
        self.trainLength = trainLength
        self.testLength = testLength
        self.step = step ?? testLength
        self.labelHorizon = labelHorizon
        self.embargo = embargo
    }

    /// A plan that cannot make folds, and why.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// The folds over `[from, to)`: the first test window starts `trainLength` after `from`; folds follow every
    /// `step` while a whole test window fits before `to`.
    public func folds(from: Nanos, to: Nanos) throws(Problem) -> [WalkForwardFold] {
        guard trainLength > 0, testLength > 0, step > 0 else {
            throw Problem(description: "train length, test length and step must be positive (got \(trainLength), \(testLength), \(step) ns)")
        }
        guard labelHorizon >= 0, embargo >= 0 else { throw Problem(description: "label horizon and embargo cannot be negative") }
        var folds: [WalkForwardFold] = []
        var testFrom = from + trainLength
        while testFrom + testLength <= to {
            let trainFrom = window == .rolling ? testFrom - trainLength : from
            folds.append(WalkForwardFold(index: folds.count, trainFrom: trainFrom, trainTo: testFrom, testFrom: testFrom,
                                         testTo: testFrom + testLength))
            testFrom += step
        }
        guard !folds.isEmpty else {
            throw Problem(description: "no fold fits: \(TimeRangeText.days(to - from)) of data, but one fold needs "
                          + "\(TimeRangeText.days(trainLength)) of training and \(TimeRangeText.days(testLength)) of test")
        }
        return folds.map { fold in
            var f = fold
            f.embargoed = folds.filter { $0.testTo <= f.trainTo && $0.index != f.index }
                .map { $0.testTo..<($0.testTo + embargo) }.filter { !$0.isEmpty }
            f.labelHorizon = labelHorizon
            return f
        }
    }
}

/// One fold of a `WalkForwardPlan`.
public struct WalkForwardFold: Sendable, Hashable, Codable {
    public var index: Int
    public var trainFrom: Nanos
    public var trainTo: Nanos
    public var testFrom: Nanos
    public var testTo: Nanos
    /// Ranges after earlier test windows whose rows are embargoed from this fold's training.
    public var embargoed: [Range<Nanos>] = []
    public var labelHorizon: Nanos = 0

    public init(index: Int, trainFrom: Nanos, trainTo: Nanos, testFrom: Nanos, testTo: Nanos, embargoed: [Range<Nanos>] = [],
                labelHorizon: Nanos = 0) {
        self.index = index
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.testFrom = testFrom
        self.testTo = testTo
        self.embargoed = embargoed
        self.labelHorizon = labelHorizon
    }

    /// Whether a row at `time` (bar close) may train this fold's model: inside the training window, its label not
    /// reaching into the test window (purge), and not embargoed.
    public func trains(on time: Nanos) -> Bool {
        guard time >= trainFrom, time < trainTo else { return false }
        if time + labelHorizon >= testFrom { return false }   // its label uses a price of the test window
        return !embargoed.contains { $0.contains(time) }
    }

    /// Whether a row at `time` belongs to the test window.
    public func tests(_ time: Nanos) -> Bool { time >= testFrom && time < testTo }

    /// The last time a training row may have (purge applied): rows before it keep their labels out of the test.
    public var lastTrainingTime: Nanos { min(trainTo, testFrom - labelHorizon) - 1 }
}

/// Durations in days for messages.
enum TimeRangeText {
    static func days(_ nanos: Nanos) -> String {
        let days = Double(nanos) / 86_400e9
        return days == days.rounded() ? "\(Int(days)) days" : String(format: "%.2f days", days)
    }
}
