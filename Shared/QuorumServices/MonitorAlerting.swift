import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import QuorumAlertDelivery
import QuorumAlerts
import QuorumBus
import QuorumModel
import QuorumPipeline
import QuorumServiceKit
import QuorumStores
import ServiceLifecycle

/// The monitor's alerting set up from its configuration: the rules' thresholds, the webhook destinations and their
/// delivery policy (keys in `ServiceKeys.monitorAlerts`; docs/operations.md, "Alerts").
public enum MonitorAlerting {
    /// The thresholds of `monitor.alert.*` and the account's starting cash (`execution.starting.cash`).
    public static func thresholds(_ c: Configuration) throws -> AlertThresholds {
        AlertThresholds(drawdown: c.double(ServiceKeys.alertDrawdown.name), dailyLoss: c.double(ServiceKeys.alertDailyLoss.name),
                        lagRecords: Int64(c.int(ServiceKeys.alertLagRecords.name)), lagFor: nanoseconds(c.duration(ServiceKeys.alertLagFor.name)),
                        deadLetters: c.int(ServiceKeys.alertDeadLetters.name),
                        deadLetterWindow: nanoseconds(c.duration(ServiceKeys.alertDeadLetterWindow.name)),
                        unreadyFor: nanoseconds(c.duration(ServiceKeys.alertUnreadyFor.name)),
                        accuracy: c.double(ServiceKeys.alertAccuracy.name), accuracySamples: c.int(ServiceKeys.alertAccuracySamples.name),
                        startingCash: try QuorumStages.fixed(c, ServiceKeys.executionStartingCash))
    }

    /// Retries, back-off, rate limit and queue size of `monitor.alerts.*`.
    public static func policy(_ c: Configuration) -> DeliveryPolicy {
        var p = DeliveryPolicy()
        p.queueLimit = max(1, c.int(ServiceKeys.alertsQueue.name))
        p.maxAttempts = max(1, c.int(ServiceKeys.alertsAttempts.name))
        p.initialBackoff = c.duration(ServiceKeys.alertsBackoff.name)
        p.maxBackoff = c.duration(ServiceKeys.alertsBackoffMax.name)
        p.perMinute = c.double(ServiceKeys.alertsRate.name)
        p.burst = max(1, c.int(ServiceKeys.alertsBurst.name))
        return p
    }

    /// Every destination whose secret is set (by its key or its file). Errors name the key and the file, never the secret.
    public static func destinations(_ c: Configuration) throws -> [WebhookDestination] {
        var list: [WebhookDestination] = []
        if let url = try secret(c, ServiceKeys.slackURL, file: ServiceKeys.slackFile) {
            list.append(WebhookDestination(name: "slack", kind: .slack, url: try checkedURL(url, ServiceKeys.slackURL, file: ServiceKeys.slackFile, c)))
        }
        if let url = try secret(c, ServiceKeys.discordURL, file: ServiceKeys.discordFile) {
            list.append(WebhookDestination(name: "discord", kind: .discord,
                                           url: try checkedURL(url, ServiceKeys.discordURL, file: ServiceKeys.discordFile, c)))
        }
        if let token = try secret(c, ServiceKeys.telegramToken, file: ServiceKeys.telegramFile) {
            let chat = c.string(ServiceKeys.telegramChat.name)
            guard !chat.isEmpty else {
                throw ConfigurationProblem("\(ServiceKeys.telegramChat.name) is empty but a Telegram bot token is set: set the chat id alerts go to (a number, or @channel)")
            }
            guard token.allSatisfy({ $0.isLetter || $0.isNumber || $0 == ":" || $0 == "_" || $0 == "-" }) else {
                throw ConfigurationProblem("the Telegram bot token (\(source(ServiceKeys.telegramToken, ServiceKeys.telegramFile, c))) has characters a token never has (expected digits, ':' and letters, as BotFather gives it)")
            }
            list.append(WebhookDestination(telegramAPI: c.string(ServiceKeys.telegramAPI.name), token: token, chatID: chat))
        }
        return list
    }

    /// The value of a secret key, else the trimmed content of its file, else nil. A value still holding the
    /// deployment templates' `REPLACE_ME` placeholder (k8s/monitor-secret.template.yaml) is refused.
    static func secret(_ c: Configuration, _ key: ConfigKey, file: ConfigKey) throws -> String? {
        let value = c.string(key.name).trimmingCharacters(in: .whitespacesAndNewlines)
        if !value.isEmpty { return try notPlaceholder(value, where: key.name, key) }
        let path = c.string(file.name)
        guard !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationProblem("\(file.name): cannot read '\(path)' (it should hold the secret of \(key.name); check the path and its permissions)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ConfigurationProblem("\(file.name): '\(path)' is empty (it should hold the secret of \(key.name))") }
        return try notPlaceholder(text, where: "\(file.name): '\(path)'", key)
    }

    private static func notPlaceholder(_ secret: String, where place: String, _ key: ConfigKey) throws -> String {
        guard !secret.hasPrefix("REPLACE_ME") else {
            throw ConfigurationProblem("\(place) still holds the template's REPLACE_ME placeholder: put the real secret of \(key.name) there, or remove it to turn the feature off (docs/deployment.md)")
        }
        return secret
    }

    static func checkedURL(_ url: String, _ key: ConfigKey, file: ConfigKey, _ c: Configuration) throws -> String {
        guard let parsed = URL(string: url), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
            throw ConfigurationProblem("the webhook URL of \(source(key, file, c)) is not an http(s) URL (expected e.g. https://hooks.slack.com/services/…)")
        }
        return url
    }

    static func source(_ key: ConfigKey, _ file: ConfigKey, _ c: Configuration) -> String {
        c.string(key.name).isEmpty ? "\(file.name) = '\(c.string(file.name))'" : key.name
    }

    /// `name=url` entries of `monitor.ready.targets`.
    public static func readyTargets(_ c: Configuration) throws -> [(name: String, url: String)] {
        try c.list(ServiceKeys.readyTargets.name).map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let url = URL(string: parts[1]), url.scheme == "http" || url.scheme == "https" else {
                throw ConfigurationProblem("\(ServiceKeys.readyTargets.name): '\(entry)' is not name=url (e.g. risk=http://127.0.0.1:18186)")
            }
            return (parts[0], parts[1])
        }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// What is delivered for an alert.
    static func notice(_ a: RaisedAlert) -> AlertNotice {
        AlertNotice(id: a.id, severity: a.severity.rawValue, code: a.code, message: a.message, timeNs: a.time)
    }
}

/// The monitor's alerts in Postgres (`alerts`, stored once by id), then handed to the webhook dispatcher (which returns
/// at once). Counts `quorum_monitor_alerts_raised_total` / `quorum_monitor_alerts_resolved_total` per rule, for alerts
/// stored for the first time.
public struct PostgresAlertSink: AlertRecordSink {
    let alerts: Alerts
    let dispatcher: WebhookDispatcher?
    let metrics: QuorumMetrics?

    public init(alerts: Alerts, dispatcher: WebhookDispatcher?, metrics: QuorumMetrics?) {
        self.alerts = alerts
        self.dispatcher = dispatcher
        self.metrics = metrics
    }

    public func record(_ list: [RaisedAlert]) async throws {
        for a in list {
            let record = AlertRecord(alertID: a.id, severity: a.severity.rawValue, source: "quorum-monitor", code: a.code, message: a.message, time: a.time)
            if try await alerts.record(record) {
                let name = a.resolves == nil ? "quorum_monitor_alerts_raised_total" : "quorum_monitor_alerts_resolved_total"
                metrics?.counter(name, dimensions: [("rule", a.rule.rawValue)]).increment()
            }
        }
        for a in list { dispatcher?.enqueue(MonitorAlerting.notice(a)) }
    }
}

/// Probes `GET <url>/health/ready` of each configured service every `interval` and leaves the answers for the alert
/// rules (`AlertObservations`): ready only on 200; anything else, or no answer within `interval`, is "not ready" with
/// the reason.
struct ReadinessPoller: Service {
    let targets: [(name: String, url: String)]
    let interval: Duration
    let observations: AlertObservations
    /// Where the dashboard reads the latest answer of each target.
    var stats: MonitorStats?
    let logger: Logger

    func run() async throws {
        try await runUntilGracefulShutdown {
            while !Task.isCancelled {
                await withTaskGroup(of: Void.self) { group in
                    for target in targets {
                        group.addTask {
                            let (ready, reason) = await probe(target.url)
                            let now = wallClockNanos()
                            observations.add(.readiness(service: target.name, ready: ready, reason: reason), now: now)
                            stats?.setReadiness(service: target.name, ready: ready, reason: reason, at: now)
                        }
                    }
                }
                try await Task.sleep(for: interval)
            }
        }
    }

    private func probe(_ base: String) async -> (Bool, String) {
        let url = base.hasSuffix("/health/ready") ? base : (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/health/ready"
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url),
                                                               timeout: .nanoseconds(MonitorAlerting.nanoseconds(interval)))
            let body = try await response.body.collect(upTo: 16 * 1024)
            if response.status.code == 200 { return (true, "") }
            return (false, "HTTP \(response.status.code) from \(url): \(String(String(buffer: body).prefix(300)))")
        } catch {
            logger.debug("readiness probe failed", metadata: ["url": .string(url), "error": .string("\(error)")])
            return (false, "no answer from \(url): \(error)")
        }
    }
}
