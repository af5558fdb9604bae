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
        doc: "quorum-risk: largest position notional per symbol (quote currency).")
    public static let riskDailyLoss = ConfigKey(
        "risk.daily.loss.limit", .string, default: "0.03",
        doc: "quorum-risk: fraction of start-of-day equity lost (event time, UTC day) that turns the kill switch on.")
    public static let riskPriceAllowance = ConfigKey(
        "risk.price.allowance.bps", .string, default: "100",
        doc: "quorum-risk: buying power prices a buy as if its fill bar opened this many basis points above the decision's reference price (execution.fee.bps and execution.slippage.bps on top); a bigger gap can still make execution reject a buy for cash.")

    // quorum-execution
    public static let executionStartingCash = ConfigKey(
        "execution.starting.cash", .string, default: "100000",
        doc: "quorum-execution: paper account starting cash (quote currency, exact decimal).")
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
    public static let monitor = [featureSpec, monitorRetrainEvery, monitorRetrainWindow, monitorRetrainValidation, monitorMinAccuracy, monitorLagInterval]

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
