import QuorumML
import QuorumModel
import Testing

/// `RetrainCore`, the monitor's retraining decisions: which bar starts a run, on what windows, and why.
@Suite("Retrain core")
struct RetrainCoreTests {
    static let interval: Int64 = 1800
    static let step = interval * 1_000_000_000
    static let start: Nanos = 1_700_000_000 * 1_000_000_000
    static let symbol: Symbol = "BTC-USD"

    /// Feeds bars one interval apart (bar `i` opens at `start + i × step`), optionally with a prediction at each close.
    struct Feed {
        var core: RetrainCore
        var index = 0

        /// The close time of bar `i`.
        static func close(_ i: Int) -> Nanos { start + Nanos(i + 1) * step }

        mutating func bar(_ price: Int, skip: Int = 0) -> RetrainCore.Scored {
            index += skip
            defer { index += 1 }
            return core.bar(symbol: symbol, openTime: start + Nanos(index) * step, closeTime: Self.close(index), close: Fixed(price),
                            intervalSeconds: interval)
        }

        /// A prediction made at the close of the last bar fed.
        mutating func predict(up: Bool) { core.prediction(symbol: symbol, time: Self.close(index - 1), up: up) }
    }

    @Test("the schedule fires only for a served symbol, once window + validation have closed, then every `every`")
    func schedule() throws {
        var feed = Feed(core: RetrainCore(policy: RetrainPolicy(every: 5 * Self.step, window: 10 * Self.step, validation: 5 * Self.step,
                                                                minimumAccuracy: 0)))
        var fired: [Int: RetrainCore.Retrain] = [:]
        for i in 0..<40 {
            if let run = feed.bar(100).retrain { fired[i] = run }
            // Served from bar 20 on: its model was trained then.
            if i >= 20 { feed.predict(up: true) }
        }
        #expect(fired.keys.sorted() == [25, 30, 35])
        let run = try #require(fired[25])
        #expect(run.symbol == Self.symbol && run.intervalSeconds == Self.interval && run.reason == .schedule)
        #expect([run.trainFrom, run.trainTo, run.validateTo] == [Feed.close(10), Feed.close(20), Feed.close(25)])

        // Served from the first bar: the first run waits for window + validation of history (15 bars after the first close).
        feed = Feed(core: RetrainCore(policy: RetrainPolicy(every: 5 * Self.step, window: 10 * Self.step, validation: 5 * Self.step,
                                                            minimumAccuracy: 0)))
        var times: [Int] = []
        for i in 0..<26 {
            if feed.bar(100).retrain != nil { times.append(i) }
            feed.predict(up: true)
        }
        #expect(times == [15, 20, 25])
    }

    @Test("live accuracy below the minimum starts a run, at most once per cooldown; a run starts a fresh window")
    func accuracyTrigger() {
        let policy = RetrainPolicy(every: 0, window: 2 * Self.step, validation: Self.step, minimumAccuracy: 0.5, accuracyWindow: 4,
                                   cooldown: 10 * Self.step)
        var feed = Feed(core: policy.core)
        var fired: [Int: RetrainCore.Retrain] = [:]
        var accuracy: [Double?] = []
        for i in 0..<31 {
            // Falling prices, always predicted up: every scored prediction misses.
            let scored = feed.bar(1_000 - i)
            accuracy.append(scored.accuracy)
            if let run = scored.retrain { fired[i] = run }
            feed.predict(up: true)
        }
        // Served at bar 0's close; 4 misses by bar 4, but the cooldown from then holds the run to bar 10.
        #expect(fired.keys.sorted() == [10, 20, 30])
        #expect(fired[10]?.reason == .accuracy(0, minimum: 0.5))
        #expect(fired[10]?.reason.description == "live accuracy 0.000 < 0.5")
        #expect(accuracy[0] == nil && accuracy[10] == 0, "the run's bar reports the accuracy that started it")
        #expect(fired[20]?.trainFrom == Feed.close(17) && fired[20]?.validateTo == Feed.close(20))

        // A short cooldown: after a run the window is empty again, so the next run waits for 4 new misses.
        var again = Feed(core: RetrainPolicy(every: 0, window: 2 * Self.step, validation: Self.step, minimumAccuracy: 0.5,
                                             accuracyWindow: 4, cooldown: 2 * Self.step).core)
        var times: [Int] = []
        for i in 0..<13 {
            if again.bar(1_000 - i).retrain != nil { times.append(i) }
            again.predict(up: true)
        }
        #expect(times == [4, 8, 12])

        // Not enough scored predictions yet: no run, however bad.
        var short = Feed(core: RetrainPolicy(every: 0, window: Self.step, validation: Self.step, minimumAccuracy: 0.5, accuracyWindow: 50,
                                             cooldown: 0).core)
        for i in 0..<40 {
            #expect(short.bar(1_000 - i).retrain == nil)
            short.predict(up: true)
        }
    }

    @Test("accuracy is over the last accuracyWindow scored predictions")
    func accuracyWindow() {
        var feed = Feed(core: RetrainPolicy(minimumAccuracy: 0, accuracyWindow: 4).core)
        var accuracy: [Double?] = [feed.bar(100).accuracy]
        // Prices go 100 → 101 → 102 …; predictions down, down, then up: miss, miss, hit, hit, hit, hit.
        for (i, up) in [false, false, true, true, true, true].enumerated() {
            feed.predict(up: up)
            accuracy.append(feed.bar(101 + i).accuracy)
        }
        #expect(accuracy == [nil, 0, 0, 1.0 / 3, 0.5, 0.75, 1])
    }

    @Test("a prediction is scored only by the bar that opens at its time")
    func unmatched() {
        var feed = Feed(core: RetrainPolicy(minimumAccuracy: 0).core)
        // Before any bar: there is no previous close to compare with.
        feed.core.prediction(symbol: Self.symbol, time: Self.start, up: true)
        #expect(feed.bar(100).accuracy == nil)
        feed.predict(up: true)
        #expect(feed.bar(101, skip: 1).accuracy == nil, "a bar is missing: the next one opens later than the prediction")
        feed.predict(up: true)
        #expect(feed.bar(102).accuracy == 1)
        // Another symbol's bar does not score it.
        feed.predict(up: false)
        #expect(feed.core.bar(symbol: "ETH-USD", openTime: Feed.close(feed.index - 1), closeTime: Feed.close(feed.index), close: Fixed(1),
                              intervalSeconds: Self.interval).accuracy == nil)
        #expect(feed.bar(103).accuracy == 0.5)
    }

    @Test("a prediction read after the bar that scores it is scored as well (in the cluster the bars run ahead of the predictions)")
    func predictionsAfterTheirBars() {
        var feed = Feed(core: RetrainPolicy(minimumAccuracy: 0).core)
        for price in [100, 101, 99, 105] { _ = feed.bar(price) }  // bars 0–3: up, down, up
        // Made at the closes of bars 0, 1 and 2, all "up": scored by bars 1, 2 and 3: hit, miss, hit.
        for i in 0..<3 { feed.core.prediction(symbol: Self.symbol, time: Feed.close(i), up: true) }
        #expect(feed.bar(106).accuracy == 2.0 / 3)
        // The same arriving in event order gives the same.
        var ordered = Feed(core: RetrainPolicy(minimumAccuracy: 0).core)
        _ = ordered.bar(100)
        var last: Double?
        for price in [101, 99, 105] {
            ordered.predict(up: true)
            last = ordered.bar(price).accuracy
        }
        #expect(last == 2.0 / 3)
    }
}

extension RetrainPolicy {
    var core: RetrainCore { RetrainCore(policy: self) }
}
