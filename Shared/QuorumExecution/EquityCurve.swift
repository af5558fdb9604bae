import QuorumModel

/// An account's equity over event time, marked to market: what every report of the project computes its return
/// metrics from (the demo summary, backtests, the dashboard).
///
/// Fills are applied in time order to a `Ledger` from `startingCash`; after all bars of one close time (every symbol
/// closing then) the equity is sampled once, at the latest close of each symbol. So there is one point per event
/// time whatever the number of symbols, and the period of the returns is the bars' interval (the smallest, when
/// symbols trade on several): `periodsPerYear` annualises with it, 24/7.
public struct EquityCurve: Sendable {
    /// Close time of each sample; the first sample (before any bar) is at the first bar's open time.
    public private(set) var times: [Nanos] = []
    public private(set) var equity: [Fixed] = []
    /// The ledger after every fill.
    public private(set) var ledger: Ledger
    /// Last close of each symbol.
    public private(set) var marks: [Symbol: Fixed] = [:]
    /// The sampling period in seconds (0 when there are no bars).
    public private(set) var intervalSeconds: Int64 = 0
    /// The symbols of the bars, sorted: the columns of `positionRows`.
    public private(set) var symbols: [Symbol] = []
    /// Each sample's position (signed quantity) per symbol, `symbols.count` values per `equity` point, row after row
    /// (one array for the whole curve rather than one per sample); `positions(at:)` reads one row.
    public private(set) var positionRows: [Fixed] = []

    /// Sample `index`'s position per symbol, in `symbols` order.
    public func positions(at index: Int) -> ArraySlice<Fixed> {
        positionRows[index * symbols.count..<(index + 1) * symbols.count]
    }

    /// - Parameters:
    ///   - fills: every fill of the account (any order; applied by time, then fill id).
    ///   - bars: the bars of the traded symbols over the period to measure (any order): an array, or a lazy view of the
    ///     bars inside other records (`BarsOfRecords`: a backtest's million bars are then not copied out).
    ///   - startingCash: cash before the first fill.
    ///
    /// Inlinable so that the caller's collection type is specialised: read through an unspecialised generic, each bar
    /// costs several times what the sampling does.
    @inlinable
    public init<Bars: RandomAccessCollection>(fills: [Fill], bars: Bars, startingCash: Fixed) where Bars.Element == Bar {
        var sampler = Sampler(fills: fills, startingCash: startingCash)
        // A backtest's bars come in order already: checking is one pass, sorting a million bars is not.
        if zip(bars, bars.dropFirst()).contains(where: { Sampler.inOrder($1, $0) }) {
            sampler.run(bars.sorted(by: Sampler.inOrder))
        } else {
            sampler.run(bars)
        }
        self.init(sampler)
    }

    @usableFromInline
    init(_ sampler: Sampler) {
        (times, equity, ledger, marks) = (sampler.times, sampler.equity, sampler.ledger, sampler.marks)
        (intervalSeconds, symbols, positionRows) = (sampler.intervalSeconds, sampler.symbols, sampler.positionRows)
    }

    /// Applies the fills and samples the equity over bars in `(close time, symbol)` order: the curve's computation,
    /// internal to the module but inlinable (see `init(fills:bars:startingCash:)`).
    @usableFromInline
    struct Sampler {
        @usableFromInline var times: [Nanos] = []
        @usableFromInline var equity: [Fixed] = []
        @usableFromInline var ledger: Ledger
        @usableFromInline var marks: [Symbol: Fixed] = [:]
        @usableFromInline var intervalSeconds: Int64 = 0
        @usableFromInline var symbols: [Symbol] = []
        @usableFromInline var positionRows: [Fixed] = []
        @usableFromInline let fills: [Fill]
        @usableFromInline let startingCash: Fixed

        @inlinable
        init(fills: [Fill], startingCash: Fixed) {
            ledger = Ledger(startingCash: startingCash)
            self.fills = fills.sorted { ($0.time, $0.fillID) < ($1.time, $1.fillID) }
            self.startingCash = startingCash
        }

        @inlinable
        static func inOrder(_ a: Bar, _ b: Bar) -> Bool { (a.closeTime, a.symbol) < (b.closeTime, b.symbol) }

        /// `bars` in `(close time, symbol)` order.
        @inlinable
        mutating func run<Bars: RandomAccessCollection>(_ bars: Bars) where Bars.Element == Bar {
            var seen: [Symbol] = []
            var samples = 0
            var lastClose: Nanos?
            intervalSeconds = bars.first?.intervalSeconds ?? 0
            for bar in bars {
                intervalSeconds = min(intervalSeconds, bar.intervalSeconds)
                if seen.last != bar.symbol, !seen.contains(bar.symbol) { seen.append(bar.symbol) }
                if bar.closeTime != lastClose {
                    samples += 1
                    lastClose = bar.closeTime
                }
            }
            symbols = seen.sorted()
            let columns = symbols.count
            let bySymbol = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
            // One sample per close time, and the first one before any bar.
            times.reserveCapacity(samples + 1)
            equity.reserveCapacity(samples + 1)
            positionRows.reserveCapacity((samples + 1) * columns)
            // The sample's inputs per column: the position after the fills so far, and the last close. Equity is
            // `Ledger.equity(marks:)` computed from them: cash + each open position at its mark (its average price before
            // its first close; positions of symbols without bars at their average price, `others`).
            var quantity = [Fixed](repeating: .zero, count: columns)
            var average = [Fixed](repeating: .zero, count: columns)
            var mark = [Fixed?](repeating: nil, count: columns)
            var others: [Symbol: Ledger.Position] = [:]
            var ledger = self.ledger
            func apply(_ fill: Fill) {
                guard ledger.apply(fill) else { return }
                let p = ledger.position(fill.symbol)
                if let c = bySymbol[fill.symbol] {
                    quantity[c] = p.quantity
                    average[c] = p.averagePrice
                } else {
                    others[fill.symbol] = p
                }
            }
            var next = 0
            if let first = bars.first {
                times.append(first.openTime)
                equity.append(startingCash)
                positionRows.append(contentsOf: quantity)
            }
            var index = bars.startIndex
            var column = 0
            while index < bars.endIndex {
                let close = bars[index].closeTime
                while index < bars.endIndex, bars[index].closeTime == close {
                    let bar = bars[index]
                    // A fill at a bar's open (the paper exchange fills at the next bar's open) counts in that bar.
                    while next < fills.count, fills[next].time <= bar.openTime {
                        apply(fills[next])
                        next += 1
                    }
                    if symbols[column] != bar.symbol {
                        column = columns <= 16 ? symbols.firstIndex(of: bar.symbol)! : bySymbol[bar.symbol]!
                    }
                    mark[column] = bar.close
                    index = bars.index(after: index)
                }
                var total = ledger.cash
                for c in 0..<columns where !quantity[c].isZero { total += quantity[c] * (mark[c] ?? average[c]) }
                for p in others.values where !p.quantity.isZero { total += p.quantity * p.averagePrice }
                times.append(close)
                equity.append(total)
                positionRows.append(contentsOf: quantity)
            }
            while next < fills.count {
                apply(fills[next])
                next += 1
            }
            self.ledger = ledger
            for (c, symbol) in symbols.enumerated() { marks[symbol] = mark[c] }
        }
    }

    /// Simple returns between consecutive samples.
    public var returns: [Double] {
        zip(equity, equity.dropFirst()).map { previous, current in
            previous.isZero ? 0 : current.doubleValue / previous.doubleValue - 1
        }
    }

    /// Periods per year of the samples (crypto markets never close); 0 without bars.
    public var periodsPerYear: Double {
        intervalSeconds > 0 ? PerformanceStats.barsPerYear(intervalSeconds: intervalSeconds) : 0
    }
}
