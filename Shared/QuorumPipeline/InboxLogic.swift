import QuorumMarketData

/// What `quorum-ingest` reads and changes, apart from its decisions (`InboxLogic`): the inbox folder and the `Ingestor`
/// (archive and bus) in the service (QuorumServices' `FileInboxIO`), memory in tests.
public protocol InboxIO: Sendable {
    /// The regular files directly in the inbox, with size and modification time.
    func list() throws -> [InboxWatcher.Entry]
    /// The wall-clock time of a scan (nanoseconds since the epoch), taken after its listing.
    func now() -> Int64
    /// Reads and validates one file of the inbox; throws when it cannot be used at all (`IngestError`).
    func read(_ name: String) throws -> BarFileContents
    /// Archives and publishes the bars, dead-letters the rejected rows (idempotent: bar ids come from the bars).
    func ingest(_ input: IngestInput) async throws -> IngestReport
    /// Moves a file out of the inbox into `folder` (replacing an older file of that name there), writing `note` beside
    /// it as `<name>.error` when given.
    func move(_ name: String, to folder: InboxLogic.Folder, note: String?) throws
    /// What happened, as it happens, for the service's logs and metrics.
    func report(_ event: InboxLogic.Event)
}

/// The logic of `quorum-ingest`, one scan of the inbox at a time, over an `InboxIO`:
///
/// 1. list the inbox (a listing that fails is retried at the next scan) and take the files `InboxWatcher` finds ready;
/// 2. read each on its own: a file that cannot be used moves to `failed/` with its error as a `<name>.error` note, and
///    does not stop the others;
/// 3. ingest the good ones together, merged into one event-time order (`IngestReader.merge`);
/// 4. then move them to `done/`. When the ingest throws (a server down) they stay, and the next scan takes them again:
///    archive and bar ids are idempotent. So does a file that cannot be moved: the watcher reports it again.
public struct InboxLogic: Sendable {
    /// Where a file goes when it leaves the inbox.
    public enum Folder: String, Sendable {
        case done, failed
    }

    /// What a scan did, reported to the `InboxIO` in the order it happens.
    public enum Event: Sendable {
        /// The inbox could not be listed; the next scan tries again.
        case unlisted(error: String)
        /// A file that cannot be used; it moves to `failed/` next.
        case unusable(file: String, error: String)
        /// The files ingested together and their totals; they move to `done/` next.
        case ingested(files: [String], report: IngestReport)
        /// The ingest failed: the files stay for the next scan.
        case interrupted(files: [String], error: String)
        /// A file could not be moved out of the inbox: it stays and is taken again at the next scan.
        case unmoved(file: String, folder: Folder, error: String)
    }

    private var watcher: InboxWatcher

    public init(quietNanos: Int64) {
        watcher = InboxWatcher(quietNanos: quietNanos)
    }

    public mutating func scan(io: some InboxIO) async {
        let entries: [InboxWatcher.Entry]
        do { entries = try io.list() } catch {
            io.report(.unlisted(error: "\(error)"))
            return
        }
        let ready = watcher.scan(entries, now: io.now())
        var good: [(name: String, contents: BarFileContents)] = []
        for name in ready {
            do {
                good.append((name, try io.read(name)))
            } catch {
                io.report(.unusable(file: name, error: "\(error)"))
                move(name, to: .failed, note: "\(error)\n", io: io)
            }
        }
        guard !good.isEmpty else { return }
        let names = good.map(\.name)
        let report: IngestReport
        do { report = try await io.ingest(IngestReader.merge(good.map(\.contents))) } catch {
            io.report(.interrupted(files: names, error: "\(error)"))
            return
        }
        io.report(.ingested(files: names, report: report))
        for name in names { move(name, to: .done, note: nil, io: io) }
    }

    private func move(_ name: String, to folder: Folder, note: String?, io: some InboxIO) {
        do { try io.move(name, to: folder, note: note) } catch {
            io.report(.unmoved(file: name, folder: folder, error: "\(error)"))
        }
    }
}
