import Foundation
import Logging
import PostgresNIO
import QuorumModel

/// An error of the stores' own making (bad arguments, a missing record, a row that cannot be read).
/// Errors from Postgres itself arrive as `PostgresStoreError`.
public struct StoresError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// An argument cannot be stored as given (out of range, not encodable, a status the call does not allow).
        case invalidArgument
        /// The record the call refers to does not exist.
        case notFound
        /// A stored row holds a value this code cannot read (an unknown status, malformed JSON).
        case invalidData
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, naming the record.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.message) [\(self.code.rawValue)]" }
}

/// Builds the `VALUES (...), (...)` list of a multi-row statement with its bindings.
struct ValuesList {
    private(set) var bindings = PostgresBindings()
    private var rows: [String] = []
    private var current: [String] = []

    var rowCount: Int { self.rows.count }
    var isEmpty: Bool { self.rows.isEmpty }

    /// Binds one value of the current row; `cast` (e.g. `jsonb`) is appended as `$n::cast`.
    mutating func add<Value: PostgresDynamicTypeEncodable>(_ value: Value, cast: String? = nil) {
        self.bindings.append(value)
        self.placeholder(cast)
    }

    /// Binds one optional value of the current row (`NULL` when nil).
    mutating func add<Value: PostgresDynamicTypeEncodable>(_ value: Value?, cast: String? = nil) {
        self.bindings.append(value)
        self.placeholder(cast)
    }

    private mutating func placeholder(_ cast: String?) {
        let index = self.bindings.count
        self.current.append(cast.map { "$\(index)::\($0)" } ?? "$\(index)")
    }

    /// Closes the current row.
    mutating func endRow() {
        self.rows.append("(" + self.current.joined(separator: ", ") + ")")
        self.current = []
    }

    /// `(...), (...)`.
    var sql: String { self.rows.joined(separator: ",\n") }

    /// The query `prefix VALUES rows suffix`.
    func query(_ prefix: String, _ suffix: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: prefix + "\nVALUES " + self.sql + "\n" + suffix, binds: self.bindings)
    }
}

/// Most rows per multi-row statement (each row binds ≤ 16 values, far below Postgres's 65,535 bind limit).
let maximumRowsPerStatement = 1000

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        precondition(size > 0)
        return stride(from: 0, to: self.count, by: size).map { self[$0..<Swift.min($0 + size, self.count)] }
    }
}

extension PostgresRandomAccessRow {
    /// The named column decoded as `T` (use an optional type for nullable columns).
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A bigint column of 1e-8 units as `Fixed`.
    func fixed(_ column: String) throws -> Fixed {
        Fixed(units: try self.value(column, as: Int64.self))
    }

    /// A text column holding a raw value of `T`.
    func enumeration<T: RawRepresentable>(_ column: String, as type: T.Type, in table: String) throws -> T where T.RawValue == String {
        let text = try self.value(column, as: String.self)
        guard let value = T(rawValue: text) else {
            throw StoresError(code: .invalidData, message: "\(table).\(column) holds '\(text)', which this build does not know")
        }
        return value
    }
}

/// Runs `query` and collects its rows, each converted by `transform`.
func collect<Element>(
    _ query: PostgresQuery,
    on connection: PostgresConnection,
    logger: Logger,
    _ transform: (PostgresRandomAccessRow) throws -> Element
) async throws -> [Element] {
    var result: [Element] = []
    for try await row in try await connection.query(query, logger: logger) {
        result.append(try transform(row.makeRandomAccess()))
    }
    return result
}

/// Runs a statement and reads (and drops) its rows, so that an error raised while producing them surfaces.
func execute(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws {
    for try await _ in try await connection.query(query, logger: logger) {}
}

/// The one `Int64` of a `SELECT count(*)`-like query (0 when it returns no row).
func scalar(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
    var value: Int64 = 0
    for try await (n,) in try await connection.query(query, logger: logger).decode((Int64?,).self) {
        value = n ?? 0
    }
    return value
}

/// Metrics as stored in `jsonb` columns: a JSON object of numbers.
enum MetricsJSON {
    static func encode(_ metrics: [String: Double], what: String) throws -> String {
        for (name, value) in metrics where !value.isFinite {
            throw StoresError(code: .invalidArgument, message: "\(what): metric '\(name)' is \(value); only finite numbers can be stored")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(metrics)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String, what: String) throws -> [String: Double] {
        do {
            return try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
        } catch {
            throw StoresError(code: .invalidData, message: "\(what): metrics are not a JSON object of numbers: \(text.prefix(200))")
        }
    }
}

/// An `Int64` that must fit an `int` column.
func int32(_ value: Int64, _ what: @autoclosure () -> String) throws -> Int32 {
    guard let narrow = Int32(exactly: value) else {
        throw StoresError(code: .invalidArgument, message: "\(what()) is \(value), out of the int range ±2,147,483,647")
    }
    return narrow
}
