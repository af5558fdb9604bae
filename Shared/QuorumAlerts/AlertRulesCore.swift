import Foundation
import QuorumExecution
import QuorumModel

/// The monitor's alert rules: fed what the monitor sees, it says which alerts to raise and which to resolve.
///
/// A pure state machine (no clock, no I/O) and a plain `Codable` value, so a stage can checkpoint it. Each rule raises
/// an alert once when its condition becomes true and resolves it once when the condition ends; while the condition
/// holds, further events change nothing (one alert per episode, not one per event). Ids are deterministic
/// (`RaisedAlert.id`), so a redelivered input gives the same id.
///
/// Two kinds of time:
/// - trading rules (kill switch, drawdown, daily loss, model decay) run on event time, the time inside the event, so a
///   replay of the same topics raises the same alerts with the same ids;
/// - operational rules (consumer lag, stage unready) run on the wall-clock `now` the caller passes with each sample;
///   dead letters are counted at the `now` they arrive (their id names their partition and offset, so it is the same
///   on every delivery), and `tick(now:)` resolves a dead-letter alert once its topic has been quiet for the window.
///
/// Equity is the account's `Ledger` (QuorumExecution: the fills, applied once by id) valued at the latest close of each
/// symbol (`Ledger.equity(marks:)`), evaluated at every bar; the peak and the start-of-day equity (UTC day of the bar's
/// close time) follow from it.
public struct AlertRulesCore: Sendable, Codable {
    public let thresholds: AlertThresholds
    private var ledger: Ledger
    private var marks: [Symbol: Fixed] = [:]
    private var equity: Fixed
    private var peak: Fixed
    /// UTC day (days since the epoch) of the latest bar, and the equity when it began.
    private var day: Int64?
    private var dayStartEquity: Fixed
    /// Raised and not yet resolved, by `<rule>:<subject>`.
    private var active: [String: RaisedAlert] = [:]
    /// Since when (wall time) a lag or readiness condition has held, by `<rule>:<subject>`.
    private var since: [String: Nanos] = [:]
    /// Arrival times (wall) of the recent dead letters of each topic (within the window), oldest first.
    private var deadLetterTimes: [String: [Nanos]] = [:]

    public init(thresholds: AlertThresholds) {
        self.thresholds = thresholds
        ledger = Ledger(startingCash: thresholds.startingCash)
        equity = thresholds.startingCash
        peak = thresholds.startingCash
        dayStartEquity = thresholds.startingCash
    }

    /// What the rules have seen (the thresholds are configuration, not part of it): a checkpoint's content.
    public struct Memory: Sendable, Codable {
        var ledger: Ledger
        var marks: [Symbol: Fixed]
        var equity: Fixed
        var peak: Fixed
        var day: Int64?
        var dayStartEquity: Fixed
        var active: [String: RaisedAlert]
        var since: [String: Nanos]
        var deadLetterTimes: [String: [Nanos]]
    }

    public var memory: Memory {
        get {
            Memory(ledger: ledger, marks: marks, equity: equity, peak: peak, day: day, dayStartEquity: dayStartEquity, active: active,
                   since: since, deadLetterTimes: deadLetterTimes)
        }
        set {
            (ledger, marks, equity, peak) = (newValue.ledger, newValue.marks, newValue.equity, newValue.peak)
            (day, dayStartEquity, active) = (newValue.day, newValue.dayStartEquity, newValue.active)
            (since, deadLetterTimes) = (newValue.since, newValue.deadLetterTimes)
        }
    }

    /// The alerts raised and not resolved, oldest first.
    public var activeAlerts: [RaisedAlert] { active.values.sorted { ($0.time, $0.id) < ($1.time, $1.id) } }

    /// The account's equity at the latest marks.
    public var currentEquity: Fixed { equity }

    /// The account as the rules value it (the dashboard's overview): equity (the ledger at the latest marks, fills since
    /// the last bar included), peak and start-of-day equity (as of the last bar) and each open position at its latest mark.
    public var account: AccountSnapshot {
        let open = ledger.positions.filter { !$0.value.quantity.isZero }.sorted { $0.key < $1.key }.map { symbol, p in
            let mark = marks[symbol] ?? p.averagePrice
            return AccountSnapshot.Position(symbol: symbol, quantity: p.quantity, entryPrice: p.averagePrice, mark: mark,
                                            unrealizedPnL: (mark - p.averagePrice) * p.quantity)
        }
        return AccountSnapshot(startingCash: ledger.startingCash, cash: ledger.cash, equity: ledger.equity(marks: marks), peak: peak,
                               dayStartEquity: dayStartEquity, realizedPnL: ledger.realizedPnL, fees: ledger.fees,
                               fills: ledger.fills.count, positions: open)
    }

    /// Feeds one event. `now` is the wall-clock time it was seen (used by the lag and readiness rules only).
    public mutating func handle(_ event: AlertEvent, now: Nanos) -> [AlertChange] {
        switch event {
        case .bar(let bar): return onBar(bar)
        case .fill(let fill):
            ledger.apply(fill)
            return []
        case .killSwitch(let on, let reason, let time): return onKillSwitch(on: on, reason: reason, time: time)
        case .accuracy(let symbol, let accuracy, let samples, let time):
            return onAccuracy(symbol: symbol, accuracy: accuracy, samples: samples, time: time)
        case .deadLetter(let topic, let partition, let offset): return onDeadLetter(topic: topic, position: "\(partition)-\(offset)", now: now)
        case .lag(let group, let topic, let records): return onLag(group: group, topic: topic, records: records, now: now)
        case .readiness(let service, let ready, let reason): return onReadiness(service: service, ready: ready, reason: reason, now: now)
        }
    }

    /// Resolves what only the passing of time ends: a dead-letter alert whose topic got none for the window.
    public mutating func tick(now: Nanos) -> [AlertChange] {
        var changes: [AlertChange] = []
        for alert in activeAlerts where alert.rule == .deadLetters {
            guard let last = deadLetterTimes[alert.subject]?.last, now - last >= thresholds.deadLetterWindow else { continue }
            deadLetterTimes[alert.subject] = nil
            changes += resolve(.deadLetters, alert.subject, time: now,
                               because: "no dead letter on \(alert.subject).dlq for \(Self.text(duration: thresholds.deadLetterWindow))")
        }
        return changes
    }

    // MARK: Trading rules (event time)

    private mutating func onBar(_ bar: Bar) -> [AlertChange] {
        let before = equity
        marks[bar.symbol] = bar.close
        equity = ledger.equity(marks: marks)
        peak = max(peak, equity)
        var changes: [AlertChange] = []
        let barDay = Self.utcDay(bar.closeTime)
        if day != barDay {
            if day != nil { changes += resolve(.dailyLoss, "account", time: bar.closeTime, because: "a new UTC day began") }
            day = barDay
            dayStartEquity = before
        }
        if thresholds.drawdown > 0, peak > .zero {
            let drawdown = (peak - equity).doubleValue / peak.doubleValue
            if drawdown >= thresholds.drawdown {
                changes += raise(.drawdown, "account", episode: "\(bar.closeTime)", .critical, time: bar.closeTime,
                                 "drawdown \(Self.percent(drawdown)) from peak equity \(peak) (equity \(equity)) reached the limit of \(Self.percent(thresholds.drawdown))",
                                 labels: ["equity": equity.description, "peak": peak.description, "drawdown": String(format: "%.4f", drawdown)])
            } else {
                changes += resolve(.drawdown, "account", time: bar.closeTime,
                                   because: "drawdown back to \(Self.percent(drawdown)), below \(Self.percent(thresholds.drawdown))")
            }
        }
        if thresholds.dailyLoss > 0, dayStartEquity > .zero {
            let loss = (dayStartEquity - equity).doubleValue / dayStartEquity.doubleValue
            let date = Self.date(bar.closeTime)
            if loss >= thresholds.dailyLoss {
                changes += raise(.dailyLoss, "account", episode: "\(barDay * Self.dayNanos)", .warning, time: bar.closeTime,
                                 "lost \(Self.percent(loss)) of the start-of-day equity \(dayStartEquity) on \(date) (equity \(equity)); the limit is \(Self.percent(thresholds.dailyLoss))",
                                 labels: ["equity": equity.description, "day_start_equity": dayStartEquity.description, "day": date,
                                          "loss": String(format: "%.4f", loss)])
            } else {
                changes += resolve(.dailyLoss, "account", time: bar.closeTime,
                                   because: "the day's loss is back to \(Self.percent(max(0, loss))), below \(Self.percent(thresholds.dailyLoss))")
            }
        }
        return changes
    }

    private mutating func onKillSwitch(on: Bool, reason: String, time: Nanos) -> [AlertChange] {
        guard on else { return resolve(.killSwitch, "risk", time: time, because: "the kill switch is off again: \(reason)") }
        return raise(.killSwitch, "risk", episode: "\(time)", .critical, time: time,
                     "risk's kill switch is on (no new entries): \(reason)", labels: ["reason": reason])
    }

    private mutating func onAccuracy(symbol: Symbol, accuracy: Double, samples: Int, time: Nanos) -> [AlertChange] {
        guard thresholds.accuracy > 0, samples >= max(1, thresholds.accuracySamples) else { return [] }
        let shown = String(format: "%.3f", accuracy)
        if accuracy < thresholds.accuracy {
            return raise(.modelDecay, symbol.name, episode: "\(time)", .warning, time: time,
                         "live accuracy of the \(symbol.name) model is \(shown) over its last \(samples) predictions, below \(thresholds.accuracy)",
                         labels: ["symbol": symbol.name, "accuracy": shown, "samples": "\(samples)"])
        }
        return resolve(.modelDecay, symbol.name, time: time, because: "live accuracy back to \(shown), at or above \(thresholds.accuracy)")
    }

    // MARK: Operational rules

    private mutating func onDeadLetter(topic: String, position: String, now time: Nanos) -> [AlertChange] {
        guard thresholds.deadLetters > 0 else { return [] }
        var times = deadLetterTimes[topic, default: []]
        times.append(time)
        times.sort()
        times.removeAll { $0 <= time - thresholds.deadLetterWindow }
        if times.count > thresholds.deadLetters { times.removeFirst(times.count - thresholds.deadLetters) }
        deadLetterTimes[topic] = times
        guard times.count >= thresholds.deadLetters else { return [] }
        return raise(.deadLetters, topic, episode: position, .warning, time: time,
                     "\(times.count) dead letter(s) on \(topic).dlq within \(Self.text(duration: thresholds.deadLetterWindow)); the reasons are in each record's quorum.dlq.* headers",
                     labels: ["topic": topic + ".dlq", "count": "\(times.count)"])
    }

    private mutating func onLag(group: String, topic: String, records: Int64, now: Nanos) -> [AlertChange] {
        guard thresholds.lagRecords > 0 else { return [] }
        let subject = "\(group)/\(topic)"
        return sustained(.consumerLag, subject, holds: records >= thresholds.lagRecords, for: thresholds.lagFor, now: now, .warning,
                         "consumer group \(group) is \(records) records behind on \(topic) (at least \(thresholds.lagRecords) for \(Self.text(duration: thresholds.lagFor)))",
                         labels: ["group": group, "topic": topic, "lag": "\(records)"],
                         resolved: "lag of \(group) on \(topic) back to \(records) records")
    }

    private mutating func onReadiness(service: String, ready: Bool, reason: String, now: Nanos) -> [AlertChange] {
        guard thresholds.unreadyFor >= 0 else { return [] }
        return sustained(.stageUnready, service, holds: !ready, for: thresholds.unreadyFor, now: now, .critical,
                         "\(service) has not been ready for \(Self.text(duration: thresholds.unreadyFor)): \(reason)",
                         labels: ["service": service, "reason": reason], resolved: "\(service) is ready again")
    }

    /// A condition that must hold for `duration` (wall time) before it raises; the episode is when it started to hold.
    private mutating func sustained(_ rule: AlertRule, _ subject: String, holds: Bool, for duration: Int64, now: Nanos,
                                    _ severity: AlertSeverity, _ message: String, labels: [String: String],
                                    resolved: String) -> [AlertChange] {
        let key = Self.key(rule, subject)
        guard holds else {
            since[key] = nil
            return resolve(rule, subject, time: now, because: resolved)
        }
        let start = since[key] ?? now
        since[key] = start
        guard now - start >= duration else { return [] }
        return raise(rule, subject, episode: "\(start)", severity, time: now, message, labels: labels)
    }

    // MARK: Raising and resolving

    /// Raises the alert unless this rule already has one for `subject`.
    private mutating func raise(_ rule: AlertRule, _ subject: String, episode: String, _ severity: AlertSeverity, time: Nanos,
                                _ message: String, labels: [String: String]) -> [AlertChange] {
        let key = Self.key(rule, subject)
        guard active[key] == nil else { return [] }
        let alert = RaisedAlert(rule: rule, subject: subject, episode: episode, severity: severity, message: message, time: time, labels: labels)
        active[key] = alert
        return [.raise(alert)]
    }

    /// Resolves this rule's alert about `subject`, if one is raised.
    private mutating func resolve(_ rule: AlertRule, _ subject: String, time: Nanos, because reason: String) -> [AlertChange] {
        guard let raised = active.removeValue(forKey: Self.key(rule, subject)) else { return [] }
        var resolved = raised
        resolved.id = raised.id + ":resolved"
        resolved.severity = .info
        resolved.time = time
        resolved.message = "resolved: \(reason)"
        resolved.labels["resolves"] = raised.id
        return [.resolve(raised: raised, resolved: resolved)]
    }

    private static func key(_ rule: AlertRule, _ subject: String) -> String { "\(rule.rawValue):\(subject)" }

    // MARK: Formatting

    static let dayNanos: Int64 = 86_400 * 1_000_000_000

    static func utcDay(_ time: Nanos) -> Int64 {
        time >= 0 ? time / dayNanos : (time - dayNanos + 1) / dayNanos
    }

    /// `yyyy-MM-dd` (UTC) of a time.
    static func date(_ time: Nanos) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: Double(utcDay(time) * 86_400)))
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.2f %%", fraction * 100) }

    /// `45 s`, `10 min`, `2 h`.
    static func text(duration nanos: Int64) -> String {
        let seconds = nanos / 1_000_000_000
        if seconds >= 3_600, seconds % 3_600 == 0 { return "\(seconds / 3_600) h" }
        if seconds >= 60, seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}

/// The paper account as the monitor sees it (fills from `execution.reports`, marked at each symbol's latest close).
public struct AccountSnapshot: Sendable, Hashable, Codable {
    public struct Position: Sendable, Hashable, Codable {
        public var symbol: Symbol
        /// Signed: negative for a short.
        public var quantity: Fixed
        /// The average entry price of the open quantity.
        public var entryPrice: Fixed
        /// The latest close of the symbol (the entry price before any bar was seen).
        public var mark: Fixed
        public var unrealizedPnL: Fixed
        /// Notional at the mark (absolute).
        public var notional: Fixed { (quantity * mark).magnitude }
    }

    public var startingCash: Fixed
    public var cash: Fixed
    public var equity: Fixed
    public var peak: Fixed
    /// Equity when the current UTC day (event time) began.
    public var dayStartEquity: Fixed
    public var realizedPnL: Fixed
    public var fees: Fixed
    public var fills: Int
    public var positions: [Position]

    /// Equity minus the start-of-day equity.
    public var pnlToday: Fixed { equity - dayStartEquity }
    /// Equity minus the starting cash.
    public var pnlTotal: Fixed { equity - startingCash }
}
