import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// A bar as archived: the bar plus where it came from.
public struct ArchivedBar: Sendable, Hashable {
    public var bar: Bar
    /// The ingest's deterministic id of the bar.
    public var barID: String
    /// The file the bar was read from.
    public var sourceFile: String
    /// Its 1-based line in that file.
    public var sourceLine: Int64

    public init(bar: Bar, barID: String, sourceFile: String, sourceLine: Int64) {
        self.bar = bar
        self.barID = barID
        self.sourceFile = sourceFile
        self.sourceLine = sourceLine
    }
}

/// The bar archive (`bars`): one row per (symbol, interval, open time), prices and volume exact.
///
/// Inserting is idempotent: a bar whose key is already archived is skipped (the first one stored wins, even if the
/// new one differs), so re-ingesting a file or a redelivered message inserts nothing.
public struct BarArchive: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.bars")) {
        self.store = store
        self.logger = logger
    }

    /// Archives `bars` in one transaction, one multi-row `INSERT … ON CONFLICT DO NOTHING` per chunk of at most
    /// 1,000 rows.
    /// - Returns: How many rows were actually inserted (0 when all were archived before).
    @discardableResult
    public func insert(_ bars: [ArchivedBar]) async throws -> Int {
        guard !bars.isEmpty else { return 0 }
        let logger = self.logger
        var chunks: [ValuesList] = []
        for chunk in bars.chunked(maximumRowsPerStatement) {
            var values = ValuesList()
            for archived in chunk {
                let bar = archived.bar
                values.add(bar.symbol.name)
                values.add(try int32(bar.intervalSeconds, "intervalSeconds of bar \(archived.barID)"))
                values.add(bar.openTime)
                values.add(bar.open.units)
                values.add(bar.high.units)
                values.add(bar.low.units)
                values.add(bar.close.units)
                values.add(bar.volume.units)
                values.add(archived.sourceFile)
                values.add(archived.sourceLine)
                values.add(archived.barID)
                values.endRow()
            }
            chunks.append(values)
        }
        let statements = chunks
        return try await self.store.withTransaction { connection in
            var inserted: Int64 = 0
            for values in statements {
                inserted += try await scalar(values.query("""
                    WITH inserted AS (
                        INSERT INTO bars (symbol, interval_seconds, open_time_ns, open, high, low, close, volume,
                                          source_file, source_line, bar_id)
                    """, """
                        ON CONFLICT DO NOTHING
                        RETURNING 1
                    )
                    SELECT count(*) FROM inserted
                    """), on: connection, logger: logger)
            }
            return Int(inserted)
        }
    }

    /// The bars of `symbol` and interval whose open time is in `fromOpenNs...toOpenNs` (both ends included),
    /// oldest first.
    public func bars(symbol: Symbol, intervalSeconds: Int64, fromOpenNs: Nanos, toOpenNs: Nanos) async throws -> [Bar] {
        try await records(symbol: symbol, intervalSeconds: intervalSeconds, fromOpenNs: fromOpenNs, toOpenNs: toOpenNs).map(\.bar)
    }

    /// ``bars(symbol:intervalSeconds:fromOpenNs:toOpenNs:)`` with each bar's provenance: the file and line it was ingested from.
    public func records(symbol: Symbol, intervalSeconds: Int64, fromOpenNs: Nanos, toOpenNs: Nanos) async throws
        -> [(bar: Bar, file: String, line: Int)] {
        let logger = self.logger
        let interval = try int32(intervalSeconds, "intervalSeconds")
        return try await self.store.withConnection { connection in
            try await collect("""
                SELECT open_time_ns, open, high, low, close, volume, source_file, source_line FROM bars
                WHERE symbol = \(symbol.name) AND interval_seconds = \(interval)
                  AND open_time_ns BETWEEN \(fromOpenNs) AND \(toOpenNs)
                ORDER BY open_time_ns
                """, on: connection, logger: logger) { row in
                (bar: Bar(symbol: symbol, openTime: try row.value("open_time_ns"), intervalSeconds: intervalSeconds,
                          open: try row.fixed("open"), high: try row.fixed("high"), low: try row.fixed("low"),
                          close: try row.fixed("close"), volume: try row.fixed("volume")),
                 file: try row.value("source_file", as: String.self), line: Int(try row.value("source_line", as: Int64.self)))
            }
        }
    }

    /// Every symbol with archived bars, in name order.
    public func symbols() async throws -> [Symbol] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await collect("SELECT DISTINCT symbol FROM bars ORDER BY symbol", on: connection, logger: logger) { row in
                Symbol(try row.value("symbol", as: String.self))
            }
        }
    }

    /// How many bars are archived: of `symbol` (every interval), or of all symbols when nil.
    public func count(symbol: Symbol? = nil) async throws -> Int {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            let query: PostgresQuery = if let symbol {
                "SELECT count(*) FROM bars WHERE symbol = \(symbol.name)"
            } else {
                "SELECT count(*) FROM bars"
            }
            return Int(try await scalar(query, on: connection, logger: logger))
        }
    }

    /// The open times of the first and last archived bar of `symbol` (of one interval, or of all when nil);
    /// nil when none is archived.
    public func range(symbol: Symbol, intervalSeconds: Int64? = nil) async throws -> (first: Nanos, last: Nanos)? {
        let logger = self.logger
        let interval = try intervalSeconds.map { try int32($0, "intervalSeconds") }
        let bounds = try await self.store.withConnection { connection in
            try await collect("""
                SELECT min(open_time_ns) AS first, max(open_time_ns) AS last FROM bars
                WHERE symbol = \(symbol.name) AND (\(interval)::int IS NULL OR interval_seconds = \(interval))
                """, on: connection, logger: logger) { row -> [Nanos] in
                guard let first = try row.value("first", as: Int64?.self), let last = try row.value("last", as: Int64?.self) else { return [] }
                return [first, last]
            }
        }
        guard let pair = bounds.first, pair.count == 2 else { return nil }
        return (first: pair[0], last: pair[1])
    }

    /// The bar intervals (seconds) archived for `symbol`, smallest first.
    public func intervals(symbol: Symbol) async throws -> [Int64] {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await collect("SELECT DISTINCT interval_seconds FROM bars WHERE symbol = \(symbol.name) ORDER BY interval_seconds",
                              on: connection, logger: logger) { row in
                Int64(try row.value("interval_seconds", as: Int32.self))
            }
        }
    }
}
