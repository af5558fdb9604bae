import QuorumModel

/// One input row for dataset building: the feature vector known at event time `time` and the close price at `time`.
public typealias PriceFeatureRow = (time: Nanos, features: [Double], close: Double)

/// One labelled example.
public struct LabeledRow: Sendable, Equatable {
    /// Event time of the features (when a prediction would be made).
    public let time: Nanos
    /// Event time of the future close that decides the label (when the outcome becomes known).
    public let labelTime: Nanos
    public let features: [Double]
    /// 1 when the close `horizon` rows later is strictly higher than the close at `time`, else 0.
    public let label: Int
}

/// Time-ordered labelled examples for next-move classification.
public struct LabeledDataset: Sendable, Equatable {
    public let rows: [LabeledRow]
    /// Number of features per row.
    public let width: Int
    /// Rows dropped because no close `horizon` rows ahead exists (the last `horizon` rows).
    public let droppedWithoutFuture: Int
    /// Rows dropped because a feature, their close or their future close was NaN or infinite.
    public let droppedNonFinite: Int

    public init(rows: [LabeledRow], width: Int, droppedWithoutFuture: Int = 0, droppedNonFinite: Int = 0) {
        self.rows = rows
        self.width = width
        self.droppedWithoutFuture = droppedWithoutFuture
        self.droppedNonFinite = droppedNonFinite
    }

    /// Labels each row with whether the close `horizon` rows later is higher (1) or not (0, including unchanged).
    ///
    /// `rows` must be in strictly increasing `time` order and all feature vectors must have the same width.
    /// The future close is looked up by position (`horizon` rows later), so a gap in the bars makes the horizon
    /// longer in time; `labelTime` records when the outcome was actually known. A row whose features are non-finite
    /// is dropped, but its close still labels earlier rows.
    public static func make(rows input: [PriceFeatureRow], horizon: Int = 1) throws(MLError) -> LabeledDataset {
        guard horizon >= 1 else {
            throw MLError(.invalidHyperparameter, "horizon = \(horizon) is invalid: use 1 or more rows")
        }
        guard let first = input.first else {
            throw MLError(.tooFewRows, "no rows to label")
        }
        let width = first.features.count
        for i in input.indices {
            guard input[i].features.count == width else {
                throw MLError(.widthMismatch, "row \(i) (time \(input[i].time)) has \(input[i].features.count) "
                              + "features, row 0 has \(width); all rows must come from one feature spec")
            }
            if i > 0 && input[i].time <= input[i - 1].time {
                throw MLError(.unorderedRows, "row \(i) has time \(input[i].time), not after row \(i - 1) "
                              + "(\(input[i - 1].time)); sort rows by event time and remove duplicates")
            }
        }
        var labeled: [LabeledRow] = []
        labeled.reserveCapacity(input.count)
        var withoutFuture = 0
        var nonFinite = 0
        for i in input.indices {
            guard i + horizon < input.count else {
                withoutFuture += 1
                continue
            }
            let now = input[i]
            let future = input[i + horizon]
            guard now.features.allSatisfy(\.isFinite), now.close.isFinite, future.close.isFinite else {
                nonFinite += 1
                continue
            }
            labeled.append(LabeledRow(time: now.time, labelTime: future.time, features: now.features,
                                      label: future.close > now.close ? 1 : 0))
        }
        return LabeledDataset(rows: labeled, width: width, droppedWithoutFuture: withoutFuture,
                              droppedNonFinite: nonFinite)
    }

    /// Splits by event time for one walk-forward fold, without shuffling and without leakage:
    ///
    /// - training:   trainFrom ≤ time < trainTo   and labelTime ≤ trainTo
    /// - validation: trainTo ≤ time < validateTo  and labelTime ≤ validateTo
    ///
    /// Every validation row is strictly after every training row, and a training row whose outcome is only known
    /// after `trainTo` is purged (its label would peek into the validation period). Requires
    /// trainFrom < trainTo < validateTo.
    public func walkForward(trainFrom: Nanos, trainTo: Nanos,
                            validateTo: Nanos) throws(MLError) -> (train: LabeledDataset, validation: LabeledDataset) {
        guard trainFrom < trainTo, trainTo < validateTo else {
            throw MLError(.invalidRange, "walk-forward needs trainFrom < trainTo < validateTo, got "
                          + "\(trainFrom), \(trainTo), \(validateTo)")
        }
        let train = rows.filter { $0.time >= trainFrom && $0.time < trainTo && $0.labelTime <= trainTo }
        let validation = rows.filter { $0.time >= trainTo && $0.time < validateTo && $0.labelTime <= validateTo }
        return (LabeledDataset(rows: train, width: width), LabeledDataset(rows: validation, width: width))
    }

    /// Feature vectors in row order.
    public var features: [[Double]] { rows.map(\.features) }
    /// Labels in row order.
    public var labels: [Int] { rows.map(\.label) }
}
