import QuorumModel

/// The rules the monitor evaluates (`AlertRulesCore`); the raw value is the alert's stable machine-readable code.
public enum AlertRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// Risk turned its kill switch on (from risk's `KILL_SWITCH_ON` alert); resolved when it turns off.
    case killSwitch = "kill_switch"
    /// The account's equity fell from its peak by at least `AlertThresholds.drawdown`.
    case drawdown = "drawdown"
    /// The account lost at least `AlertThresholds.dailyLoss` of its start-of-day equity (event time, UTC day).
    case dailyLoss = "daily_loss"
    /// A service answered `/health/ready` with anything but 200 (or not at all) for `AlertThresholds.unreadyFor`.
    case stageUnready = "stage_unready"
    /// A consumer group's lag on a topic stayed at or above `AlertThresholds.lagRecords` for `AlertThresholds.lagFor`.
    case consumerLag = "consumer_lag"
    /// At least `AlertThresholds.deadLetters` dead letters reached one `.dlq` topic within `AlertThresholds.deadLetterWindow`.
    case deadLetters = "dlq_growth"
    /// A symbol's live model accuracy fell below `AlertThresholds.accuracy` (over at least `accuracySamples` predictions).
    case modelDecay = "model_quality_decay"
}

/// How urgent an alert is (the wire's `Alert.Severity`).
public enum AlertSeverity: String, Sendable, Hashable, Codable, Comparable {
    case info, warning, critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (a: AlertSeverity, b: AlertSeverity) -> Bool { a.rank < b.rank }
}

/// One alert of a rule about one subject (a symbol, a service, a topic, the account).
///
/// `id` is `<rule>:<subject>:<episode>`, where the episode is the time the condition started (the start of the UTC day
/// for the daily loss; the dead letter's partition and offset for dead letters): the same inputs give the same id, so a redelivered input or a restarted monitor that rebuilds its state
/// finds the alert already raised (Postgres stores it once, delivery de-duplicates it).
public struct RaisedAlert: Sendable, Hashable, Codable {
    public var id: String
    public var rule: AlertRule
    public var subject: String
    public var severity: AlertSeverity
    /// Human-readable text with the measured value and the threshold.
    public var message: String
    /// When the condition was found: event time for the trading rules, wall time for the operational ones (ns).
    public var time: Nanos
    /// Context for machines and people, e.g. `["symbol": "BTC-USD", "accuracy": "0.41"]`.
    public var labels: [String: String]

    /// The id of the alert this one resolves; nil for a raised alert.
    public var resolves: String? { labels["resolves"] }

    /// The wire's code: the rule, with `_resolved` for a resolution (`drawdown`, `drawdown_resolved`).
    public var code: String { resolves == nil ? rule.rawValue : rule.rawValue + "_resolved" }

    public init(rule: AlertRule, subject: String, episode: String, severity: AlertSeverity, message: String, time: Nanos,
                labels: [String: String] = [:]) {
        id = "\(rule.rawValue):\(subject):\(episode)"
        self.rule = rule
        self.subject = subject
        self.severity = severity
        self.message = message
        self.time = time
        self.labels = labels
    }
}

/// What the core decided about one alert.
public enum AlertChange: Sendable, Hashable {
    /// The condition became true: raise it (once).
    case raise(RaisedAlert)
    /// The condition of a raised alert is over. `resolved` carries the raised alert's id with `:resolved`, info severity
    /// and a message saying why it ended.
    case resolve(raised: RaisedAlert, resolved: RaisedAlert)

    /// The alert to publish, store and deliver for this change.
    public var alert: RaisedAlert {
        switch self {
        case .raise(let a): a
        case .resolve(_, let resolved): resolved
        }
    }
}

/// The thresholds of the rules (the monitor's `monitor.alert.*` keys). A threshold of 0 turns its rule off.
public struct AlertThresholds: Sendable, Hashable, Codable {
    /// Fraction of peak equity lost (0.10 = 10 %).
    public var drawdown: Double
    /// Fraction of start-of-day equity lost.
    public var dailyLoss: Double
    /// Records of consumer lag.
    public var lagRecords: Int64
    /// How long the lag must stay at or above `lagRecords` (ns, wall time).
    public var lagFor: Int64
    /// Dead letters on one topic within `deadLetterWindow`.
    public var deadLetters: Int
    /// Window of `deadLetters` (ns, wall time of arrival); quiet this long, a raised alert resolves.
    public var deadLetterWindow: Int64
    /// How long a service must stay unready (ns, wall time).
    public var unreadyFor: Int64
    /// Live accuracy below which a model has decayed.
    public var accuracy: Double
    /// Fewest scored predictions before the accuracy counts.
    public var accuracySamples: Int
    /// The paper account's starting cash (`execution.starting.cash`): equity before the first fill.
    public var startingCash: Fixed

    public init(drawdown: Double = 0.10, dailyLoss: Double = 0.02, lagRecords: Int64 = 10_000, lagFor: Int64 = 60 * 1_000_000_000,
                deadLetters: Int = 1, deadLetterWindow: Int64 = 3_600 * 1_000_000_000, unreadyFor: Int64 = 30 * 1_000_000_000,
                accuracy: Double = 0.45, accuracySamples: Int = 200, startingCash: Fixed = Fixed(100_000)) {
        self.drawdown = drawdown
        self.dailyLoss = dailyLoss
        self.lagRecords = lagRecords
        self.lagFor = lagFor
        self.deadLetters = deadLetters
        self.deadLetterWindow = deadLetterWindow
        self.unreadyFor = unreadyFor
        self.accuracy = accuracy
        self.accuracySamples = accuracySamples
        self.startingCash = startingCash
    }
}

/// One thing the monitor saw, as the rules need it.
public enum AlertEvent: Sendable, Hashable {
    /// A bar: marks its symbol's position (equity, drawdown, daily loss). Time: its close time.
    case bar(Bar)
    /// A fill of the account (from an execution report); applied once by fill id.
    case fill(Fill)
    /// Risk's kill switch turned on or off at event time `time` (risk's `KILL_SWITCH_*` alerts).
    case killSwitch(on: Bool, reason: String, time: Nanos)
    /// A symbol's live model accuracy over its last `samples` scored predictions, at event time `time`.
    case accuracy(symbol: Symbol, accuracy: Double, samples: Int, time: Nanos)
    /// A dead letter on `topic` (the data topic's name, without `.dlq`) at `partition`/`offset` of the `.dlq` topic,
    /// seen at the wall-clock `now` passed with it. (A dead letter keeps the record time of the message it replaces,
    /// an event time, so its arrival is measured on the monitor's clock.)
    case deadLetter(topic: String, partition: Int32, offset: Int64)
    /// A consumer-lag sample of `group` on `topic` (its time is the `now` passed with it: wall time).
    case lag(group: String, topic: String, records: Int64)
    /// A readiness probe of `service` (at the `now` passed with it): ready or not, and why not.
    case readiness(service: String, ready: Bool, reason: String)
}
