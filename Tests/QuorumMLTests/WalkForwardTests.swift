import QuorumML
import QuorumModel
import Testing

@Suite("Walk-forward folds")
struct WalkForwardTests {
    static let day: Nanos = 86_400_000_000_000
    static let hour: Nanos = 3_600_000_000_000

    @Test("rolling windows: equal training length, back-to-back test windows, only whole test windows")
    func rolling() throws {
        let plan = WalkForwardPlan(window: .rolling, trainLength: 10 * Self.day, testLength: 5 * Self.day)
        let folds = try plan.folds(from: 0, to: 27 * Self.day)
        #expect(folds.map(\.testFrom) == [10, 15, 20].map { $0 * Self.day })
        #expect(folds.map(\.trainFrom) == [0, 5, 10].map { $0 * Self.day })
        #expect(folds.allSatisfy { $0.trainTo == $0.testFrom && $0.testTo - $0.testFrom == 5 * Self.day })
    }

    @Test("expanding windows start at the first time; a custom step overlaps test windows")
    func expanding() throws {
        let plan = WalkForwardPlan(window: .expanding, trainLength: 10 * Self.day, testLength: 5 * Self.day, step: 2 * Self.day)
        let folds = try plan.folds(from: Self.day, to: 20 * Self.day)
        #expect(folds.map(\.trainFrom) == Array(repeating: Self.day, count: folds.count))
        #expect(folds.map(\.testFrom) == [11, 13, 15].map { $0 * Self.day })
    }

    @Test("purging drops exactly the training rows whose label horizon reaches the test window")
    func purgeBoundary() throws {
        let plan = WalkForwardPlan(trainLength: 10 * Self.day, testLength: 5 * Self.day, labelHorizon: 3 * Self.hour)
        let fold = try #require(try plan.folds(from: 0, to: 15 * Self.day).first)
        let testFrom = fold.testFrom
        #expect(fold.trains(on: testFrom - 3 * Self.hour - 1))
        #expect(!fold.trains(on: testFrom - 3 * Self.hour))        // its label is the close at the test window's start
        #expect(!fold.trains(on: testFrom - Self.hour))
        #expect(!fold.trains(on: testFrom))
        #expect(!fold.trains(on: -1))
        #expect(fold.lastTrainingTime == testFrom - 3 * Self.hour - 1)
        #expect(fold.tests(testFrom) && fold.tests(fold.testTo - 1) && !fold.tests(fold.testTo))
    }

    @Test("the embargo removes rows right after an earlier test window from later folds' training")
    func embargoBoundary() throws {
        let plan = WalkForwardPlan(window: .expanding, trainLength: 10 * Self.day, testLength: 5 * Self.day, embargo: Self.day)
        let folds = try plan.folds(from: 0, to: 25 * Self.day)
        #expect(folds.count == 3)
        #expect(folds[0].embargoed.isEmpty)
        let first = folds[0]
        #expect(folds[1].embargoed == [first.testTo..<(first.testTo + Self.day)])
        #expect(!folds[2].trains(on: first.testTo))
        #expect(!folds[2].trains(on: first.testTo + Self.day - 1))
        #expect(folds[2].trains(on: first.testTo + Self.day))
        #expect(folds[2].trains(on: first.testFrom))   // the earlier test window itself is the past now
    }

    @Test("a range too short for one fold, and a non-positive length, are errors that say why")
    func problems() {
        #expect(throws: WalkForwardPlan.Problem.self) {
            _ = try WalkForwardPlan(trainLength: 10 * Self.day, testLength: 5 * Self.day).folds(from: 0, to: 14 * Self.day)
        }
        do {
            _ = try WalkForwardPlan(trainLength: 10 * Self.day, testLength: 5 * Self.day).folds(from: 0, to: 14 * Self.day)
        } catch {
            #expect(error.description.contains("14 days") && error.description.contains("10 days"))
        }
        #expect(throws: WalkForwardPlan.Problem.self) {
            _ = try WalkForwardPlan(trainLength: 0, testLength: 5 * Self.day).folds(from: 0, to: 40 * Self.day)
        }
    }
}
