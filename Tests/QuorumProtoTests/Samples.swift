import Foundation
import QuorumProto
import SwiftProtobuf

/// One fully populated value of every quorum.v1 message type (every field set to a non-default value),
/// used by the round-trip tests.
enum Samples {
    static func envelope(_ id: String) -> Quorum_V1_Envelope {
        Quorum_V1_Envelope(
            id: id, correlationID: "corr-1", causationID: "cause-1",
            tsEventNs: 1_717_200_060_000_000_000, tsInitNs: 1_717_200_060_123_456_789,
            producer: "quorum-test", schemaVersion: 1)
    }

    static func dec(_ text: String) -> Quorum_V1_Decimal {
        // Samples are literals known to be valid; a typo here fails every round-trip test loudly.
        (try? Quorum_V1_Decimal(parsing: text)) ?? Quorum_V1_Decimal(units: -999, scale: 99)
    }

    static var decimal: Quorum_V1_Decimal { dec("-64250.125") }

    static var bar: Quorum_V1_Bar {
        var m = Quorum_V1_Bar()
        m.envelope = envelope("bar-1")
        m.symbol = "BTC-USDT"
        m.intervalSeconds = 60
        m.openTimeNs = 1_717_200_000_000_000_000
        m.open = dec("64000.10")
        m.high = dec("64500")
        m.low = dec("63900.5")
        m.close = dec("64250.25")
        m.volume = dec("12.34567891")
        m.tradeCount = 812
        m.venue = "csv"
        var source = Quorum_V1_Bar.SourceLocation()
        source.file = "data/btc-usdt-1m.csv"
        source.line = 42
        m.source = source
        return m
    }

    static var featureVector: Quorum_V1_FeatureVector {
        var m = Quorum_V1_FeatureVector()
        m.envelope = envelope("fv-1")
        m.symbol = "BTC-USDT"
        m.barOpenTimeNs = 1_717_200_000_000_000_000
        m.intervalSeconds = 60
        m.featureSpec = "core"
        m.featureSpecVersion = 3
        m.values = [0.5, -1.25, 1e-9, .greatestFiniteMagnitude, 0]
        m.warm = true
        m.close = dec("64250.25")
        return m
    }

    static var trainingJob: Quorum_V1_TrainingJob {
        var m = Quorum_V1_TrainingJob()
        m.envelope = envelope("job-env-1")
        m.jobID = "run-7/BTC-USDT/f2/c5"
        m.runID = "run-7"
        m.symbol = "BTC-USDT"
        m.intervalSeconds = 60
        m.modelKind = "logistic"
        m.hyperparameters = ["l2": 0.01, "epochs": 50, "learning_rate": 0.05]
        var train = Quorum_V1_TimeRange()
        train.fromNs = 1_700_000_000_000_000_000
        train.toNs = 1_710_000_000_000_000_000
        m.trainRange = train
        var validation = Quorum_V1_TimeRange()
        validation.fromNs = 1_710_000_000_000_000_000
        validation.toNs = 1_712_000_000_000_000_000
        m.validationRange = validation
        m.featureSpec = "core"
        m.featureSpecVersion = 3
        m.foldIndex = 2
        m.foldCount = 5
        m.candidateIndex = 5
        m.candidateCount = 12
        m.seed = 0xDEAD_BEEF
        var embargo = Quorum_V1_TimeRange()
        embargo.fromNs = 1_701_000_000_000_000_000
        embargo.toNs = 1_701_086_400_000_000_000
        m.excludedRanges = [embargo]
        m.trial = true
        m.lineage = ["search_id": "3f2a9c1b7e44", "trial": "4"]
        m.returnArtifact = true
        return m
    }

    static var trainingResult: Quorum_V1_TrainingResult {
        var m = Quorum_V1_TrainingResult()
        m.envelope = envelope("result-1")
        m.jobID = "run-7/BTC-USDT/f2/c5"
        m.runID = "run-7"
        m.worker = "quorum-trainer/worker-3"
        m.status = .failed
        m.metrics = ["accuracy": 0.54, "log_loss": 0.69]
        m.error = "out of memory"
        m.modelVersion = "7"
        m.symbol = "BTC-USDT"
        m.modelKind = "logistic"
        m.foldIndex = 2
        m.candidateIndex = 5
        m.durationMs = 1234
        m.artifact = Data("{\"format\":\"quorum.ml.logistic\"}".utf8)
        return m
    }

    static var modelEvent: Quorum_V1_ModelEvent {
        var m = Quorum_V1_ModelEvent()
        m.envelope = envelope("model-1")
        m.kind = .rolledBack
        m.modelID = "BTC-USDT.logistic"
        m.version = "6"
        m.symbol = "BTC-USDT"
        m.modelKind = "logistic"
        m.featureSpec = "core"
        m.featureSpecVersion = 3
        m.artifactBytes = Data([0x00, 0x01, 0xFE, 0xFF])
        m.metrics = ["accuracy": 0.55]
        m.role = .shadow
        m.previousVersion = "7"
        m.trainingRunID = "run-7"
        m.reason = "manual rollback"
        m.activationSequence = 9
        return m
    }

    static var prediction: Quorum_V1_Prediction {
        var m = Quorum_V1_Prediction()
        m.envelope = envelope("pred-1")
        m.symbol = "BTC-USDT"
        m.modelID = "BTC-USDT.logistic"
        m.modelVersion = "7"
        m.probUp = 0.61
        m.confidence = 0.4
        m.barOpenTimeNs = 1_717_200_000_000_000_000
        m.horizonBars = 1
        m.shadow = true
        return m
    }

    static var signal: Quorum_V1_Signal {
        var m = Quorum_V1_Signal()
        m.envelope = envelope("sig-1")
        m.symbol = "BTC-USDT"
        m.source = "rule.ema_cross"
        m.direction = .short
        m.strength = 0.8
        m.confidence = 0.7
        m.barOpenTimeNs = 1_717_200_000_000_000_000
        return m
    }

    static var decision: Quorum_V1_Decision {
        var m = Quorum_V1_Decision()
        m.envelope = envelope("dec-1")
        m.symbol = "BTC-USDT"
        m.action = .sell
        m.targetPosition = dec("-0.25")
        m.confidence = 0.66
        m.reasons = ["ml short 0.61", "regime: trending"]
        var c = Quorum_V1_Decision.Contribution()
        c.signalID = "sig-1"
        c.source = "rule.ema_cross"
        c.direction = .short
        c.strength = 0.8
        c.confidence = 0.7
        c.weight = 1.5
        m.contributions = [c]
        m.barOpenTimeNs = 1_717_200_000_000_000_000
        m.referencePrice = dec("64250.25")
        m.atr = 312.5
        return m
    }

    static var orderIntent: Quorum_V1_OrderIntent {
        var m = Quorum_V1_OrderIntent()
        m.envelope = envelope("intent-1")
        m.clientOrderID = "ord-dec-1"
        m.symbol = "BTC-USDT"
        m.side = .sell
        m.quantity = dec("0.25")
        m.orderType = .limit
        m.limitPrice = dec("64300")
        m.decisionID = "dec-1"
        m.referencePrice = dec("64250.25")
        return m
    }

    static var riskCheck: Quorum_V1_RiskCheck {
        var m = Quorum_V1_RiskCheck()
        m.name = "max_position"
        m.passed = true
        m.limit = dec("1.0")
        m.observed = dec("1.25")
        m.detail = "position after order 1.25 BTC"
        return m
    }

    static var orderApproved: Quorum_V1_OrderApproved {
        var m = Quorum_V1_OrderApproved()
        m.envelope = envelope("appr-1")
        m.intent = orderIntent
        m.approvedQuantity = dec("0.2")
        m.checks = [riskCheck]
        m.symbolSequence = 7
        return m
    }

    static var envelopeHeader: Quorum_V1_EnvelopeHeader {
        var m = Quorum_V1_EnvelopeHeader()
        m.envelope = envelope("header-1")
        return m
    }

    static var orderDenied: Quorum_V1_OrderDenied {
        var m = Quorum_V1_OrderDenied()
        m.envelope = envelope("deny-1")
        m.intent = orderIntent
        m.reasonCode = .maxPosition
        m.reason = "position 1.25 BTC would exceed max 1.0 BTC"
        m.limit = dec("1.0")
        m.observed = dec("1.25")
        var failed = riskCheck
        failed.passed = false
        m.checks = [failed]
        return m
    }

    static var executionReport: Quorum_V1_ExecutionReport {
        var m = Quorum_V1_ExecutionReport()
        m.envelope = envelope("exec-1")
        m.clientOrderID = "ord-dec-1"
        m.venueOrderID = "paper-000042"
        m.symbol = "BTC-USDT"
        m.side = .sell
        m.status = .partiallyFilled
        m.fillID = "paper-000042-1"
        m.fillQuantity = dec("0.1")
        m.fillPrice = dec("64300")
        m.fee = dec("0.00643")
        m.feeCurrency = "USDT"
        m.cumulativeQuantity = dec("0.1")
        m.leavesQuantity = dec("0.1")
        m.averagePrice = dec("64300")
        m.positionAfter = dec("-0.1")
        m.reason = "partial"
        m.venue = "paper"
        return m
    }

    static var alert: Quorum_V1_Alert {
        var m = Quorum_V1_Alert()
        m.envelope = envelope("alert-1")
        m.severity = .critical
        m.source = "quorum-monitor.drift"
        m.code = "feature_drift"
        m.message = "PSI 0.31 on feature 'rsi_14'"
        m.labels = ["symbol": "BTC-USDT", "psi": "0.31"]
        return m
    }

    static var controlCommand: Quorum_V1_ControlCommand {
        var m = Quorum_V1_ControlCommand()
        m.envelope = envelope("ctl-1")
        m.kind = .killSwitchOn
        m.targetService = "quorum-risk"
        m.targetSymbol = "BTC-USDT"
        m.reason = "manual: exchange maintenance"
        m.actor = "alice"
        return m
    }

    /// Every message type with its sample, by Swift type name.
    static let all: [(name: String, message: any Message)] = [
        ("Quorum_V1_Envelope", envelope("env-1")),
        ("Quorum_V1_EnvelopeHeader", envelopeHeader),
        ("Quorum_V1_Decimal", decimal),
        ("Quorum_V1_Bar", bar),
        ("Quorum_V1_Bar.SourceLocation", bar.source),
        ("Quorum_V1_FeatureVector", featureVector),
        ("Quorum_V1_TimeRange", trainingJob.trainRange),
        ("Quorum_V1_TrainingJob", trainingJob),
        ("Quorum_V1_TrainingResult", trainingResult),
        ("Quorum_V1_ModelEvent", modelEvent),
        ("Quorum_V1_Prediction", prediction),
        ("Quorum_V1_Signal", signal),
        ("Quorum_V1_Decision", decision),
        ("Quorum_V1_Decision.Contribution", decision.contributions[0]),
        ("Quorum_V1_OrderIntent", orderIntent),
        ("Quorum_V1_RiskCheck", riskCheck),
        ("Quorum_V1_OrderApproved", orderApproved),
        ("Quorum_V1_OrderDenied", orderDenied),
        ("Quorum_V1_ExecutionReport", executionReport),
        ("Quorum_V1_Alert", alert),
        ("Quorum_V1_ControlCommand", controlCommand),
    ]
}
