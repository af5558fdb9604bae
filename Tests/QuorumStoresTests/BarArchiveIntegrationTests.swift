import Foundation
import QuorumModel
import QuorumPostgres
import QuorumStores
import Testing

/// The bar archive against the real Postgres (`make test`); each test in a database of its own.
@Suite("BarArchiveIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct BarArchiveIntegrationTests {
    static let minute: Int64 = 60
    static let t0: Nanos = 1_700_000_000_000_000_000

    static func bar(_ symbol: Symbol, _ index: Int64, interval: Int64 = minute, close: Fixed? = nil) -> ArchivedBar {
        let open = Fixed(units: 100_000_000_00 + index)  // 100.00000000 + index units: exact
        let bar = Bar(symbol: symbol, openTime: t0 + index * interval * 1_000_000_000, intervalSeconds: interval,
                      open: open, high: open + Fixed.of("0.5"), low: open - Fixed.of("0.25"), close: close ?? open + Fixed(units: 1),
                      volume: Fixed(units: 123_456_789 * (index + 1)))
        return ArchivedBar(bar: bar, barID: "\(symbol)-\(interval)-\(index)", sourceFile: "data/\(symbol).csv", sourceLine: index + 2)
    }

    @Test func insertingTwiceInsertsNothingTheSecondTime() async throws {
        try await StoresTestDatabase.with { store async throws in
            let archive = BarArchive(store: store)
            let bars = (0..<5).map { Self.bar("BTC-USD", $0) }
            #expect(try await archive.symbols().isEmpty)
            #expect(try await archive.insert(bars) == 5)
            #expect(try await archive.insert(bars) == 0)
            // A different version of an archived bar is skipped too: the first one stored wins.
            #expect(try await archive.insert([Self.bar("BTC-USD", 2, close: Fixed.of("1"))]) == 0)
            #expect(try await archive.count(symbol: "BTC-USD") == 5)
            #expect(try await archive.count() == 5)
            let stored = try await archive.bars(symbol: "BTC-USD", intervalSeconds: Self.minute, fromOpenNs: .min, toOpenNs: .max)
            #expect(stored == bars.map(\.bar))
            #expect(try await archive.insert([]) == 0)
            _ = try await archive.insert([Self.bar("AAA-USD", 0)])
            #expect(try await archive.symbols() == ["AAA-USD", "BTC-USD"])
        }
    }

    @Test func rangeQueriesAreInclusiveAndOrderedByOpenTime() async throws {
        try await StoresTestDatabase.with { store async throws in
            let archive = BarArchive(store: store)
            // Stored out of order, mixed with another symbol and another interval.
            let bars = [7, 3, 9, 0, 5, 1, 8, 2, 6, 4].map { Self.bar("ETH-USD", Int64($0)) }
            #expect(try await archive.insert(bars + [Self.bar("BTC-USD", 4), Self.bar("ETH-USD", 4, interval: 300)]) == 12)

            let from = Self.t0 + 2 * Self.minute * 1_000_000_000
            let to = Self.t0 + 6 * Self.minute * 1_000_000_000
            let window = try await archive.bars(symbol: "ETH-USD", intervalSeconds: Self.minute, fromOpenNs: from, toOpenNs: to)
            #expect(window.map(\.openTime) == (2...6).map { Self.t0 + Int64($0) * Self.minute * 1_000_000_000 })
            #expect(window == (2...6).map { Self.bar("ETH-USD", Int64($0)).bar })
            #expect(try await archive.bars(symbol: "ETH-USD", intervalSeconds: Self.minute, fromOpenNs: to, toOpenNs: from).isEmpty)

            let range = try #require(try await archive.range(symbol: "ETH-USD", intervalSeconds: Self.minute))
            #expect(range.first == Self.t0)
            #expect(range.last == Self.t0 + 9 * Self.minute * 1_000_000_000)
            let all = try #require(try await archive.range(symbol: "ETH-USD"))
            #expect(all.last == Self.t0 + 4 * 300 * 1_000_000_000)
            #expect(try await archive.range(symbol: "NOPE-USD") == nil)
            #expect(try await archive.count(symbol: "ETH-USD") == 11)
            #expect(try await archive.count(symbol: "NOPE-USD") == 0)
        }
    }

    @Test func largeInsertsAreChunkedInOneTransaction() async throws {
        try await StoresTestDatabase.with { store async throws in
            let archive = BarArchive(store: store)
            let bars = (0..<2500).map { Self.bar("SOL-USD", $0) }
            #expect(try await archive.insert(bars) == 2500)
            // Overlapping redelivery: only the new tail is inserted.
            let more = (2400..<2650).map { Self.bar("SOL-USD", $0) }
            #expect(try await archive.insert(more) == 150)
            #expect(try await archive.count(symbol: "SOL-USD") == 2650)
            // Duplicates inside one call are inserted once.
            #expect(try await archive.insert([Self.bar("ADA-USD", 1), Self.bar("ADA-USD", 1)]) == 1)

            // One bad row (interval 0 breaks a CHECK) rolls back every chunk of the call.
            var bad = (3000..<4200).map { Self.bar("SOL-USD", $0) }
            bad[1100].bar.intervalSeconds = 0
            let error = await #expect(throws: PostgresStoreError.self) { try await archive.insert(bad) }
            #expect(error?.sqlState == "23514")
            #expect(try await archive.count(symbol: "SOL-USD") == 2650)
        }
    }
}
