// The topic registry: the ONLY place in the code that names a topic. Everything else refers to
// `Topic.bars`, `Topic.features`, … and resolves the full name through a `TopicNamer` (which applies
// the run's prefix, e.g. "replay-7.").

/// What a topic's record key is. Same key → same partition → per-key order.
public enum TopicKey: String, Sendable, CaseIterable {
    case symbol = "symbol"
    case jobID = "job id"
    case clientOrderID = "client order id"
    case modelID = "model id"
    case service = "target service"
    case source = "alert source"
}

/// One topic: its name (without prefix), key, value type (protobuf full name), partitions and retention.
public struct TopicSpec: Sendable, Hashable {
    /// Name without prefix, e.g. "quorum.v1.md.bars".
    public var name: String
    public var key: TopicKey
    /// Fully qualified protobuf message name of the value, e.g. "quorum.v1.Bar".
    public var valueType: String
    public var partitions: Int32
    /// Retention in milliseconds; -1 keeps records forever.
    public var retentionMs: Int64
    public var summary: String

    /// The name without the version namespace, e.g. "md.bars" (the monitor's pages and metric labels).
    public var shortName: String { name.hasPrefix("quorum.v1.") ? String(name.dropFirst("quorum.v1.".count)) : name }

    public init(name: String, key: TopicKey, valueType: String, partitions: Int32, retentionMs: Int64, summary: String) {
        self.name = name
        self.key = key
        self.valueType = valueType
        self.partitions = partitions
        self.retentionMs = retentionMs
        self.summary = summary
    }

    /// The dead-letter twin of this topic: same partitions and retention, raw bytes with reason headers.
    public var deadLetter: TopicSpec {
        TopicSpec(name: name + Topic.deadLetterSuffix, key: key, valueType: "bytes (undecodable or invalid \(valueType))",
                  partitions: partitions, retentionMs: retentionMs, summary: "Dead letters of \(name), reason in headers")
    }
}

private let day: Int64 = 86_400_000

/// Every topic of the cluster (DESIGN.md §1).
public enum Topic {
    public static let deadLetterSuffix = ".dlq"

    public static let bars = TopicSpec(
        name: "quorum.v1.md.bars", key: .symbol, valueType: "quorum.v1.Bar", partitions: 6, retentionMs: 30 * day,
        summary: "OHLCV bars in event-time order per symbol (quorum-ingest)")
    public static let features = TopicSpec(
        name: "quorum.v1.features", key: .symbol, valueType: "quorum.v1.FeatureVector", partitions: 6, retentionMs: 30 * day,
        summary: "Versioned feature vectors, one per bar (quorum-features)")
    public static let trainingJobs = TopicSpec(
        name: "quorum.v1.training.jobs", key: .jobID, valueType: "quorum.v1.TrainingJob", partitions: 8, retentionMs: 30 * day,
        summary: "Training work items: fold × candidate × symbol (quorum-monitor, quorum CLI)")
    public static let trainingResults = TopicSpec(
        name: "quorum.v1.training.results", key: .jobID, valueType: "quorum.v1.TrainingResult", partitions: 3, retentionMs: 90 * day,
        summary: "Outcome of each training job (quorum-trainer)")
    public static let models = TopicSpec(
        name: "quorum.v1.models", key: .symbol, valueType: "quorum.v1.ModelEvent", partitions: 3, retentionMs: -1,
        summary: "Model registered / activated / retired / rolled back (quorum-trainer)")
    public static let predictions = TopicSpec(
        name: "quorum.v1.predictions", key: .symbol, valueType: "quorum.v1.Prediction", partitions: 6, retentionMs: 30 * day,
        summary: "Model scores per feature vector (quorum-inference)")
    public static let signals = TopicSpec(
        name: "quorum.v1.signals", key: .symbol, valueType: "quorum.v1.Signal", partitions: 6, retentionMs: 30 * day,
        summary: "Per-source trading signals, ML and rules (quorum-consensus)")
    public static let decisions = TopicSpec(
        name: "quorum.v1.decisions", key: .symbol, valueType: "quorum.v1.Decision", partitions: 6, retentionMs: 90 * day,
        summary: "Combined decision: target position or hold (quorum-consensus)")
    public static let ordersApproved = TopicSpec(
        name: "quorum.v1.orders.approved", key: .clientOrderID, valueType: "quorum.v1.OrderApproved", partitions: 6, retentionMs: -1,
        summary: "Sized orders that passed every risk check (quorum-risk)")
    public static let ordersDenied = TopicSpec(
        name: "quorum.v1.orders.denied", key: .clientOrderID, valueType: "quorum.v1.OrderDenied", partitions: 3, retentionMs: -1,
        summary: "Orders refused by risk, with the reason (quorum-risk)")
    public static let executionReports = TopicSpec(
        name: "quorum.v1.execution.reports", key: .clientOrderID, valueType: "quorum.v1.ExecutionReport", partitions: 6, retentionMs: -1,
        summary: "Order state changes and fills (quorum-execution)")
    public static let control = TopicSpec(
        name: "quorum.v1.control", key: .service, valueType: "quorum.v1.ControlCommand", partitions: 1, retentionMs: -1,
        summary: "Operator and monitor commands: kill switch, pause, retrain")
    public static let alerts = TopicSpec(
        name: "quorum.v1.alerts", key: .source, valueType: "quorum.v1.Alert", partitions: 1, retentionMs: 90 * day,
        summary: "Alerts raised by any service (quorum-monitor)")

    /// Every data topic, in pipeline order.
    public static let all: [TopicSpec] = [
        bars, features, trainingJobs, trainingResults, models, predictions, signals, decisions,
        ordersApproved, ordersDenied, executionReports, control, alerts,
    ]

    /// Every topic the cluster creates at start-up: the data topics and their dead-letter twins.
    public static let allWithDeadLetters: [TopicSpec] = all.flatMap { [$0, $0.deadLetter] }

    /// The spec of a (possibly prefixed or dead-letter) full name, if it is one of ours.
    public static func spec(forFullName name: String, namer: TopicNamer) -> TopicSpec? {
        allWithDeadLetters.first { namer.name($0) == name }
    }
}

/// Resolves registry names to the names used on the broker for one run. A prefix puts a whole pipeline
/// beside live traffic: with prefix "replay-7", `md.bars` is "replay-7.quorum.v1.md.bars".
public struct TopicNamer: Sendable, Hashable {
    public let prefix: String

    /// - Parameter prefix: "" for live traffic, or a name such as "replay-7" (letters, digits, '-', '_').
    public init(prefix: String = "") throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        let trimmed = prefix.hasSuffix(".") ? String(prefix.dropLast()) : prefix
        guard trimmed.allSatisfy({ allowed.contains($0) }), trimmed.count <= 100 else {
            throw BusError(.invalidConfiguration,
                           "topic prefix '\(prefix)' may only use letters, digits, '-' and '_' (at most 100 characters); for example 'replay-7'")
        }
        self.prefix = trimmed
    }

    public static let live = try! TopicNamer(prefix: "")

    public func name(_ spec: TopicSpec) -> String { prefix.isEmpty ? spec.name : "\(prefix).\(spec.name)" }
    /// The consumer group of a stage in this run: a prefixed run has its own groups ("replay-7.quorum-risk"), so it
    /// never shares members or offsets with live traffic.
    public func group(_ base: String) -> String { prefix.isEmpty ? base : "\(prefix).\(base)" }
    public func deadLetterName(_ spec: TopicSpec) -> String { name(spec) + Topic.deadLetterSuffix }
    /// The dead-letter topic of a full topic name.
    public func deadLetterName(ofFullName name: String) -> String { name + Topic.deadLetterSuffix }
    /// The full names of every topic and dead-letter twin, with this prefix applied.
    public func specsWithNames() -> [TopicSpec] {
        Topic.allWithDeadLetters.map { var s = $0; s.name = name($0); return s }
    }
}
