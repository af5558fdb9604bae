import Foundation
import QuorumFeatures
import QuorumServiceKit

/// The configuration keys of each service (beyond the common ones). One list per executable; `all` feeds
/// docs/configuration.md so every key is documented.
public enum ServiceKeys {
    // quorum-ingest
    public static let ingestInbox = ConfigKey(
        "ingest.inbox", .string, default: "inbox",
        doc: "quorum-ingest: folder watched for OHLCV files (.csv, .tsv, .txt, optionally .gz); each file is ingested once, then moved to `<inbox>/done/` (or `<inbox>/failed/` with a `<name>.error` note). Names starting with `.` or ending in `.part`, `.tmp`, `.partial`, `.crdownload` or `.download` are left alone: write to such a name, then rename.")
    public static let ingestSpeed = ConfigKey(
        "ingest.speed", .double, default: "0",
        doc: "quorum-ingest and `quorum ingest`: 0 publishes as fast as possible; N publishes at N× real time (bars spaced by event time / N).")
    public static let ingestPollInterval = ConfigKey(
        "ingest.poll.interval", .duration, default: "1s",
        doc: "quorum-ingest: how often the inbox is scanned for new files.")
    public static let ingestInboxQuiet = ConfigKey(
        "ingest.inbox.quiet", .duration, default: "5s",
        doc: "quorum-ingest: a file is taken only once its size and modification time have stayed the same for this long (a plain copy still being written is left until it is complete); a writer that pauses longer must write to a temporary name and rename.")

    // every stage that reads feature vectors
    public static let featureSpec = ConfigKey(
        "features.spec", .string, default: FeatureSpec.default.name,
        doc: "quorum-features, -inference, -consensus, -trainer and -monitor: the feature spec, a built-in name (rich-v1, core-v1, talib-parity) or a spec file's path (docs/features.md); set it the same in every service: vectors and models carry its content hash and a service rejects those of another spec.")

    // quorum-consensus
    public static let consensusThreshold = ConfigKey(
        "consensus.threshold", .double, default: "0.3",
        doc: "quorum-consensus: |weighted vote| at or above which a decision acts (0..1); below it the decision is hold.")
    public static let consensusConflict = ConfigKey(
        "consensus.conflict.confidence", .double, default: "0.6",
        doc: "quorum-consensus: the model and a rule both at least this confident in opposite directions → hold.")

    // quorum-risk
    public static let riskSymbols = ConfigKey(
        "risk.symbols", .list, default: "",
        doc: "quorum-risk: symbols whose decisions the event-time merge waits for from the start (e.g. BTC-USD,ETH-USD); empty = the symbols seen so far.")
    public static let riskIdleTimeout = ConfigKey(
        "risk.merge.idle.timeout", .duration, default: "2s",
        doc: "quorum-risk: a symbol silent for this long (wall time) no longer holds back other symbols' decisions in the event-time merge.")
    public static let riskStartingEquity = ConfigKey(
        "risk.starting.equity", .string, default: "100000",
        doc: "quorum-risk: starting equity (quote currency, exact decimal); keep equal to execution.starting.cash.")
    public static let riskPerTrade = ConfigKey(
        "risk.per.trade", .string, default: "0.01",
        doc: "quorum-risk: fraction of equity at risk per entry (capped at 0.02).")
    public static let riskMaxHeat = ConfigKey(
        "risk.max.portfolio.heat", .string, default: "0.06",
        doc: "quorum-risk: largest total risk at stop over all open and pending positions, as a fraction of equity.")
    public static let riskMaxPosition = ConfigKey(
        "risk.max.position.notional", .string, default: "25000",
        doc: "quorum-risk: largest position notional per symbol (quote currency); quorum-monitor's dashboard shows exposure against it (set it the same in both).")
    public static let riskDailyLoss = ConfigKey(
        "risk.daily.loss.limit", .string, default: "0.03",
        doc: "quorum-risk: fraction of start-of-day equity lost (event time, UTC day) that turns the kill switch on; quorum-monitor's dashboard shows exposure against it (set it the same in both).")
    public static let riskPriceAllowance = ConfigKey(
        "risk.price.allowance.bps", .string, default: "100",
        doc: "quorum-risk: buying power prices a buy as if its fill bar opened this many basis points above the decision's reference price (execution.fee.bps and execution.slippage.bps on top); a bigger gap can still make execution reject a buy for cash.")

    // quorum-execution
    public static let executionStartingCash = ConfigKey(
        "execution.starting.cash", .string, default: "100000",
        doc: "quorum-execution: paper account starting cash (quote currency, exact decimal); quorum-monitor values the account from it for its drawdown and daily-loss alerts.")
    public static let executionFeeBps = ConfigKey(
        "execution.fee.bps", .string, default: "10",
        doc: "quorum-execution (fills) and quorum-risk (buying power): fee in basis points of each fill's notional.")
    public static let executionSlippageBps = ConfigKey(
        "execution.slippage.bps", .string, default: "5",
        doc: "quorum-execution (fills) and quorum-risk (buying power): slippage in basis points against the trader at the fill bar's open.")

    // quorum-trainer
    public static let trainerMinImprovement = ConfigKey(
        "trainer.gate.min.improvement", .double, default: "0.001",
        doc: "quorum-trainer: validation log loss must beat the base-rate log loss by at least this much for a model to be activated (negative values accept slightly worse models, for demos).")
    public static let trainerMinValidation = ConfigKey(
        "trainer.gate.min.count", .int, default: "100",
        doc: "quorum-trainer: fewest validation rows for a model to be activated.")

    // quorum-monitor
    public static let monitorRetrainEvery = ConfigKey(
        "monitor.retrain.every", .duration, default: "0s",
        doc: "quorum-monitor: publish a retraining run per symbol every this much EVENT time (e.g. 720h); 0s = not on a schedule.")
    public static let monitorRetrainWindow = ConfigKey(
        "monitor.retrain.window", .duration, default: "2880h",
        doc: "quorum-monitor: training window (event time) of the retraining runs it publishes.")
    public static let monitorRetrainValidation = ConfigKey(
        "monitor.retrain.validation", .duration, default: "480h",
        doc: "quorum-monitor: validation window (event time, the most recent part) of the retraining runs.")
    public static let monitorMinAccuracy = ConfigKey(
        "monitor.accuracy.min", .double, default: "0.47",
        doc: "quorum-monitor: retrain a symbol when its model's live accuracy over the last 500 predictions falls below this (0 disables).")
    public static let monitorLagInterval = ConfigKey(
        "monitor.lag.interval", .duration, default: "5s",
        doc: "quorum-monitor: how often consumer lag of every service group is measured.")

    // quorum-monitor: alert rules (docs/operations.md, "Alerts"); a threshold of 0 turns its rule off
    public static let alertDrawdown = ConfigKey(
        "monitor.alert.drawdown", .double, default: "0.10",
        doc: "quorum-monitor: alert (critical) when the paper account's equity (fills marked at the latest closes) is this fraction below its peak; 0 = off.")
    public static let alertDailyLoss = ConfigKey(
        "monitor.alert.daily.loss", .double, default: "0.02",
        doc: "quorum-monitor: alert (warning) when the account lost this fraction of its start-of-day equity (event time, UTC day); keep it below risk.daily.loss.limit to hear before the kill switch; 0 = off.")
    public static let alertLagRecords = ConfigKey(
        "monitor.alert.lag.records", .int, default: "10000",
        doc: "quorum-monitor: alert (warning) when a service group's consumer lag on a topic stays at or above this many records for monitor.alert.lag.for; 0 = off.")
    public static let alertLagFor = ConfigKey(
        "monitor.alert.lag.for", .duration, default: "60s",
        doc: "quorum-monitor: how long the lag must stay at or above monitor.alert.lag.records (wall time; measured every monitor.lag.interval).")
    public static let alertDeadLetters = ConfigKey(
        "monitor.alert.dlq.count", .int, default: "1",
        doc: "quorum-monitor: alert (warning) when this many dead letters reach one `<topic>.dlq` within monitor.alert.dlq.window; resolved once the topic got none for the window; 0 = off.")
    public static let alertDeadLetterWindow = ConfigKey(
        "monitor.alert.dlq.window", .duration, default: "1h",
        doc: "quorum-monitor: window of monitor.alert.dlq.count (by the dead letters' record times).")
    public static let alertUnreadyFor = ConfigKey(
        "monitor.alert.unready.for", .duration, default: "30s",
        doc: "quorum-monitor: alert (critical) when a service of monitor.ready.targets has not answered `/health/ready` with 200 for this long.")
    public static let alertAccuracy = ConfigKey(
        "monitor.alert.accuracy.min", .double, default: "0.45",
        doc: "quorum-monitor: alert (warning) when a symbol's live model accuracy falls below this over at least monitor.alert.accuracy.samples predictions; 0 = off.")
    public static let alertAccuracySamples = ConfigKey(
        "monitor.alert.accuracy.samples", .int, default: "200",
        doc: "quorum-monitor: fewest scored predictions (of the last 500) before monitor.alert.accuracy.min applies.")
    public static let readyTargets = ConfigKey(
        "monitor.ready.targets", .list, default: "",
        doc: "quorum-monitor: services whose `GET <url>/health/ready` it probes for the stage-unready alert, as name=url (e.g. risk=http://127.0.0.1:18186,execution=http://127.0.0.1:18187); empty = none.")
    public static let readyInterval = ConfigKey(
        "monitor.ready.interval", .duration, default: "5s",
        doc: "quorum-monitor: how often each of monitor.ready.targets is probed (each probe times out after the same time).")

    // quorum-monitor: alert delivery to webhooks (each destination is on when its secret is set)
    public static let slackURL = ConfigKey(
        "monitor.alerts.slack.url", .url, default: "",
        doc: "quorum-monitor: Slack incoming-webhook URL (https://hooks.slack.com/services/…) that alerts are posted to; empty = no Slack. Prefer the variable or monitor.alerts.slack.file.",
        secret: true)
    public static let slackFile = ConfigKey(
        "monitor.alerts.slack.file", .string, default: "",
        doc: "quorum-monitor: a file holding the Slack webhook URL (e.g. a mounted Secret); used when monitor.alerts.slack.url is empty.")
    public static let discordURL = ConfigKey(
        "monitor.alerts.discord.url", .url, default: "",
        doc: "quorum-monitor: Discord webhook URL (https://discord.com/api/webhooks/…) that alerts are posted to; empty = no Discord.",
        secret: true)
    public static let discordFile = ConfigKey(
        "monitor.alerts.discord.file", .string, default: "",
        doc: "quorum-monitor: a file holding the Discord webhook URL; used when monitor.alerts.discord.url is empty.")
    public static let telegramToken = ConfigKey(
        "monitor.alerts.telegram.token", .string, default: "",
        doc: "quorum-monitor: Telegram bot token; with monitor.alerts.telegram.chat.id, alerts go to that chat through the Bot API's sendMessage; empty = no Telegram.",
        secret: true)
    public static let telegramFile = ConfigKey(
        "monitor.alerts.telegram.file", .string, default: "",
        doc: "quorum-monitor: a file holding the Telegram bot token; used when monitor.alerts.telegram.token is empty.")
    public static let telegramChat = ConfigKey(
        "monitor.alerts.telegram.chat.id", .string, default: "",
        doc: "quorum-monitor: the Telegram chat (numeric id or @channel) alerts are sent to.")
    public static let telegramAPI = ConfigKey(
        "monitor.alerts.telegram.api", .url, default: "https://api.telegram.org",
        doc: "quorum-monitor: base URL of the Telegram Bot API (requests go to <api>/bot<token>/sendMessage).")
    public static let alertsQueue = ConfigKey(
        "monitor.alerts.queue.size", .int, default: "1000",
        doc: "quorum-monitor: alerts waiting per destination; when full, new ones are dropped for it (counted in quorum_monitor_alert_deliveries_total{outcome=\"dropped\"}).")
    public static let alertsAttempts = ConfigKey(
        "monitor.alerts.retry.attempts", .int, default: "8",
        doc: "quorum-monitor: attempts per alert and destination before it is given up (a 4xx other than 408 and 429 is not retried).")
    public static let alertsBackoff = ConfigKey(
        "monitor.alerts.retry.initial", .duration, default: "1s",
        doc: "quorum-monitor: wait after a failed delivery, doubled after each further failure up to monitor.alerts.retry.max; a 429's Retry-After is honoured instead.")
    public static let alertsBackoffMax = ConfigKey(
        "monitor.alerts.retry.max", .duration, default: "5m",
        doc: "quorum-monitor: longest back-off between two delivery attempts.")
    public static let alertsRate = ConfigKey(
        "monitor.alerts.rate.per.minute", .double, default: "20",
        doc: "quorum-monitor: most alerts sent per minute to one destination (after a burst of monitor.alerts.rate.burst); the rest wait their turn.")
    public static let alertsBurst = ConfigKey(
        "monitor.alerts.rate.burst", .int, default: "5",
        doc: "quorum-monitor: alerts one destination may get at once before monitor.alerts.rate.per.minute applies.")
    public static let alertsTimeout = ConfigKey(
        "monitor.alerts.timeout", .duration, default: "10s",
        doc: "quorum-monitor: limit of one delivery request (connect, send, answer); a request that takes longer is retried.")

    // quorum-monitor: the dashboard (docs/operations.md, "Dashboard")
    public static let adminToken = ConfigKey(
        "monitor.admin.token", .string, default: "",
        doc: "quorum-monitor: the admin token the dashboard's buttons (kill switch, model activation and rollback) must send as `Authorization: Bearer <token>`; empty (and no monitor.admin.token.file) = those actions are off. Prefer the variable QUORUM_MONITOR_ADMIN_TOKEN or the file.",
        secret: true)
    public static let adminTokenFile = ConfigKey(
        "monitor.admin.token.file", .string, default: "",
        doc: "quorum-monitor: a file holding the admin token (e.g. a mounted Secret); used when monitor.admin.token is empty.")
    public static let backtestsDir = ConfigKey(
        "monitor.backtests.dir", .string, default: "runs",
        doc: "quorum-monitor: the folder of `quorum backtest` / `quorum walk-forward` runs (their --out) that the dashboard's backtests page lists, with each run's report.html.")
    public static let dashboardRefresh = ConfigKey(
        "monitor.dashboard.refresh", .duration, default: "2s",
        doc: "quorum-monitor: how often an open dashboard page is re-rendered for its live updates (server-sent events; sent only when something changed).")

    public static let ingest = [ingestInbox, ingestSpeed, ingestPollInterval, ingestInboxQuiet]
    public static let features = [featureSpec]
    public static let inference = [featureSpec]
    public static let consensus = [consensusThreshold, consensusConflict, featureSpec]
    /// Fees and slippage of a fill: execution charges them, risk's buying power counts them (both read the same keys).
    public static let costs = [executionFeeBps, executionSlippageBps]
    public static let risk = [riskSymbols, riskIdleTimeout, riskStartingEquity, riskPerTrade, riskMaxHeat, riskMaxPosition, riskDailyLoss,
                              riskPriceAllowance] + costs
    public static let execution = [executionStartingCash] + costs
    public static let trainer = [trainerMinImprovement, trainerMinValidation, featureSpec]
    public static let monitorAlerts = [alertDrawdown, alertDailyLoss, alertLagRecords, alertLagFor, alertDeadLetters, alertDeadLetterWindow,
                                       alertUnreadyFor, alertAccuracy, alertAccuracySamples, readyTargets, readyInterval,
                                       slackURL, slackFile, discordURL, discordFile, telegramToken, telegramFile, telegramChat, telegramAPI,
                                       alertsQueue, alertsAttempts, alertsBackoff, alertsBackoffMax, alertsRate, alertsBurst, alertsTimeout]
    /// The dashboard's keys, and risk's limits it shows exposure against (read as quorum-risk reads them).
    public static let monitorDashboard = [adminToken, adminTokenFile, backtestsDir, dashboardRefresh, riskMaxPosition, riskDailyLoss]
    public static let monitor = [featureSpec, monitorRetrainEvery, monitorRetrainWindow, monitorRetrainValidation, monitorMinAccuracy, monitorLagInterval,
                                 executionStartingCash] + monitorAlerts + monitorDashboard

    /// Every service key once, for docs/configuration.md.
    public static let all = (ingest + features + consensus + risk + execution + trainer + monitor).reduce(into: [ConfigKey]()) { keys, key in
        if !keys.contains(key) { keys.append(key) }
    }

    /// The registry with the common keys and every service's keys (for the documentation page).
    public static var documentationRegistry: ConfigRegistry {
        var r = ConfigRegistry.standard
        r.register(all)
        return r
    }

    /// The configured feature spec (`features.spec`): a built-in name or a spec file.
    public static func loadFeatureSpec(_ config: Configuration) throws -> FeatureSpec {
        let value = config.string(featureSpec.name)
        do {
            return try FeatureSpec.load(value)
        } catch {
            throw ConfigurationProblem("\(featureSpec.name): \(error)")
        }
    }
}
