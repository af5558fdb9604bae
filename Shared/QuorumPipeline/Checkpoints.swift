import QuorumBus
import QuorumModel
import Synchronization

/// A stage's state at one point of its inputs: what a restarted stage restores instead of re-reading its inputs from
/// the beginning (which retention deletes: `md.bars` keeps 30 days).
///
/// `next` says where the state stands: for each input partition, every record below that offset has been handled
/// into `state`. Of those, `pending` lists the ones the stage still holds back (risk orders its inputs by event time):
/// they are in the state and complete later, when the stage releases them. A checkpoint is taken after a batch's
/// effects were made durable, its outputs published and its completed offsets marked for commit (see `StageHost`).
public struct StageCheckpoint: Sendable, Hashable, Codable {
    /// Where the state stands on one input partition.
    public struct Position: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        /// The first offset not in the state.
        public var next: Int64
        /// Offsets below `next` handled into the state but not complete yet.
        public var pending: [Int64]

        public init(topic: String, partition: Int32, next: Int64, pending: [Int64] = []) {
            self.topic = topic
            self.partition = partition
            self.next = next
            self.pending = pending
        }

        var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
    }

    /// The stage's consumer group (the checkpoint's key).
    public var group: String
    /// `StageLogic.stateFormat` of the stage that wrote it: a stage of another format does not read it.
    public var format: Int
    /// Increases with every checkpoint of the group (the newest wins).
    public var sequence: Int64
    public var positions: [Position]
    /// The stage's state (`StageLogic.checkpointState`).
    public var state: [UInt8]

    public init(group: String, format: Int, sequence: Int64, positions: [Position], state: [UInt8]) {
        self.group = group
        self.format = format
        self.sequence = sequence
        self.positions = positions
        self.state = state
    }
}

/// Where stages keep their checkpoints: the newest one per group. The cluster's is Postgres (`StageCheckpoints` in
/// QuorumStores, one row per group written in one statement); tests and single-process runs use
/// `InMemoryCheckpointStore`.
public protocol CheckpointStore: Sendable {
    /// The newest checkpoint of `group`, nil when there is none.
    func latest(group: String) async throws -> StageCheckpoint?
    /// Keeps `checkpoint` as its group's newest (replacing an older one; one with a lower sequence is ignored).
    func save(_ checkpoint: StageCheckpoint) async throws
}

/// Checkpoints in memory (tests, single-process runs): they last as long as the store.
public final class InMemoryCheckpointStore: CheckpointStore {
    private let checkpoints = Mutex<[String: StageCheckpoint]>([:])
    /// How many checkpoints were saved (tests).
    public var saves: Int { savedCount.load(ordering: .relaxed) }
    private let savedCount = Atomic<Int>(0)

    public init() {}

    public func latest(group: String) async throws -> StageCheckpoint? { checkpoints.withLock { $0[group] } }

    public func save(_ checkpoint: StageCheckpoint) async throws {
        checkpoints.withLock { all in
            if let old = all[checkpoint.group], old.sequence > checkpoint.sequence { return }
            all[checkpoint.group] = checkpoint
        }
        savedCount.add(1, ordering: .relaxed)
    }
}

/// A checkpoint that does not fit the stage as configured now (e.g. written for another feature spec): the stage
/// ignores it and restores from its inputs instead. Thrown by `StageLogic.restoreState` before it changes anything.
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A stage's state cannot be restored as it was: records it needs were deleted before a checkpoint covered them.
public struct StateGap: Error, CustomStringConvertible {
    public var description: String
}

extension StageLogic {
    /// Encodes a stage's checkpoint state (`StateEncoder`).
    public static func encodeState<S: Encodable>(_ state: S) throws -> [UInt8] { try StateEncoder().encode(state) }

    /// Decodes a stage's checkpoint state (`StateDecoder`).
    public static func decodeState<S: Decodable>(_ type: S.Type, _ bytes: [UInt8]) throws -> S { try StateDecoder().decode(type, from: bytes) }
}
