/// Decides which files of an ingest inbox are complete enough to take: a state machine fed one listing per scan.
///
/// A file is taken when
/// - its name is a data file (`.csv`, `.tsv`, `.txt`, each optionally `.gz`) and not a temporary one (a name starting
///   with `.`, or ending in `.part`, `.tmp`, `.partial`, `.crdownload`, `.download`): writers that need time write
///   to such a name and rename it when done (a rename is atomic, so the file appears complete);
/// - its size and modification time are the same as at the previous scan, and it was last modified at least `quiet`
///   ago: a plain copy still being written keeps changing (or is too fresh) and is left for a later scan.
/// A file that stays is reported again at every scan until it is moved away.
public struct InboxWatcher: Sendable {
    /// One entry of a directory listing.
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var size: Int64
        /// Modification time, nanoseconds since the epoch (wall clock: a file-system fact, not event time).
        public var modified: Int64

        public init(name: String, size: Int64, modified: Int64) {
            self.name = name
            self.size = size
            self.modified = modified
        }
    }

    public let quietNanos: Int64
    private var previous: [String: Entry] = [:]

    public init(quietNanos: Int64) {
        self.quietNanos = max(0, quietNanos)
    }

    /// The names ready to ingest, in name order, given the current listing and the wall-clock time of the scan.
    public mutating func scan(_ entries: [Entry], now: Int64) -> [String] {
        let candidates = entries.filter { Self.isDataFile($0.name) }
        defer { previous = Dictionary(candidates.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }) }
        return candidates.filter { entry in
            previous[entry.name] == entry && now - entry.modified >= quietNanos
        }.map(\.name).sorted()
    }

    /// True for the names the inbox ingests (see the type's documentation).
    public static func isDataFile(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.hasPrefix(".") { return false }
        for temporary in [".part", ".tmp", ".partial", ".crdownload", ".download"] where lower.hasSuffix(temporary) { return false }
        let plain = lower.hasSuffix(".gz") ? String(lower.dropLast(3)) : lower
        return [".csv", ".tsv", ".txt"].contains { plain.hasSuffix($0) }
    }
}
