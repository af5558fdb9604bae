import QuorumModel

/// Compares what the running stages hold in memory with the durable ledger (Postgres fills), for the ledger check of
/// `quorum summary`.
///
/// The ledger in Postgres is written before anything is published, so it is the record; the stages' in-memory state is
/// rebuilt from their input topics after a restart. When those inputs were lost (a restart of the in-memory local broker)
/// or a message never reached a stage, the two part ways silently: execution would trade from positions the ledger does
/// not have. This check makes that visible.
public enum LiveStateCheck {
    /// Execution's in-memory book as it stored it in the hot state.
    public struct Book: Sendable, Hashable {
        public var startingCash: Fixed
        public var cash: Fixed
        public var positions: [Symbol: Fixed]

        public init(startingCash: Fixed, cash: Fixed, positions: [Symbol: Fixed]) {
            self.startingCash = startingCash
            self.cash = cash
            self.positions = positions
        }
    }

    /// One line per difference (empty: the stages agree with the ledger).
    /// - Parameters:
    ///   - fills: every fill of the Postgres ledger.
    ///   - book: execution's stored book, or nil when it stored none (then only risk is compared).
    ///   - openOrders: the signed quantity of the ledger's orders that are not final yet (accepted, not filled), per symbol.
    ///   - exposures: risk's exposure per symbol as it stored it: position plus approved orders not final, counting the
    ///     execution reports it received (so it equals the ledger's position plus open orders).
    public static func differences(fills: [Fill], openOrders: [Symbol: Fixed] = [:], book: Book?, exposures: [Symbol: Fixed]) -> [String] {
        var ledger = Ledger(startingCash: book?.startingCash ?? .zero)
        for fill in fills { ledger.apply(fill) }
        let recorded = ledger.positions.mapValues(\.quantity)
        var lines: [String] = []
        if let book {
            for symbol in Set(recorded.keys).union(book.positions.keys).sorted(by: { $0.name < $1.name }) {
                let live = book.positions[symbol] ?? .zero
                let durable = recorded[symbol] ?? .zero
                if live != durable {
                    lines.append("execution's live position of \(symbol) is \(live), the ledger's is \(durable)")
                }
            }
            if book.cash != ledger.cash {
                lines.append("execution's live cash is \(book.cash), the ledger's fills give \(ledger.cash)")
            }
        }
        for symbol in Set(recorded.keys).union(exposures.keys).union(openOrders.keys).sorted(by: { $0.name < $1.name }) {
            let live = exposures[symbol] ?? .zero
            let position = recorded[symbol] ?? .zero
            let open = openOrders[symbol] ?? .zero
            if live != position + open {
                let ledger = open.isZero ? "the ledger's position is \(position)" : "the ledger's position and open orders make \(position + open)"
                lines.append("risk's exposure of \(symbol) is \(live), \(ledger)")
            }
        }
        return lines
    }
}
