// Wire messages (QuorumProto) ↔ the domain types the stage cores use. One place for every mapping, so the
// cores stay independent of protobuf and every service maps the same way.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumModel
import QuorumProto
import QuorumRisk
import QuorumStrategy

// MARK: - Money

extension Fixed {
    /// Exact wire form: units at scale 8.
    public var wire: Quorum_V1_Decimal { Quorum_V1_Decimal(units: units, scale: UInt32(Fixed.decimals)) }

    /// Reads an exact decimal; throws `RejectedMessage(.invalid)` when it has more than 8 decimals or overflows.
    public init(wire: Quorum_V1_Decimal, field: String) throws {
        do {
            self.init(units: try wire.rescaled(to: UInt32(Fixed.decimals)).units)
        } catch {
            throw RejectedMessage(.invalid, "\(field): \(error)")
        }
    }
}

extension Side {
    public var wire: Quorum_V1_Side { self == .buy ? .buy : .sell }

    public init(wire: Quorum_V1_Side, field: String = "side") throws {
        switch wire {
        case .buy: self = .buy
        case .sell: self = .sell
        default: throw RejectedMessage(.invalid, "\(field) must be BUY or SELL, got \(wire)")
        }
    }
}

/// Wall-clock nanoseconds since the epoch: only for `ts_init` (never for decisions).
public func wallClockNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Builds envelopes for one producing service.
public struct EnvelopeStamp: Sendable {
    public let producer: String
    public init(producer: String) { self.producer = producer }

    /// true while a backtest runs (`EventTimeDriver`): `ts_init` is then the event time, so the run never reads the
    /// clock and its records are the same bytes on every run. Services leave it false (`ts_init` = wall clock).
    @TaskLocal public static var stampsEventTime = false

    /// An envelope caused by `cause` (same correlation id, causation = cause's id).
    public func envelope(id: String, tsEvent: Nanos, cause: Quorum_V1_Envelope?) -> Quorum_V1_Envelope {
        Quorum_V1_Envelope(id: id, correlationID: cause.map { $0.correlationID.isEmpty ? $0.id : $0.correlationID },
                           causationID: cause?.id ?? "", tsEventNs: tsEvent,
                           tsInitNs: Self.stampsEventTime ? tsEvent : wallClockNanos(), producer: producer)
    }
}

// MARK: - Bars

extension Bar {
    /// Deterministic id of a bar: a re-ingested bar has the same id.
    public var wireID: String { "bar-\(symbol.name)-\(intervalSeconds)-\(openTime)" }

    public init(wire b: Quorum_V1_Bar) throws {
        guard !b.symbol.isEmpty else { throw RejectedMessage(.invalid, "bar without symbol") }
        guard b.intervalSeconds > 0 else { throw RejectedMessage(.invalid, "bar \(b.symbol) has interval_seconds 0") }
        self.init(symbol: Symbol(b.symbol), openTime: b.openTimeNs, intervalSeconds: Int64(b.intervalSeconds),
                  open: try Fixed(wire: b.open, field: "open"), high: try Fixed(wire: b.high, field: "high"),
                  low: try Fixed(wire: b.low, field: "low"), close: try Fixed(wire: b.close, field: "close"),
                  volume: try Fixed(wire: b.volume, field: "volume"))
        guard open > .zero, high > .zero, low > .zero, close > .zero else {
            throw RejectedMessage(.invalid, "bar \(b.symbol) at \(b.openTimeNs) has a price <= 0")
        }
        guard high >= low, high >= open, high >= close, low <= open, low <= close else {
            throw RejectedMessage(.invalid, "bar \(b.symbol) at \(b.openTimeNs): high/low do not bound open/close")
        }
    }

    /// The wire bar, with its source file and line (kept in the DLQ and the archive).
    public func wire(stamp: EnvelopeStamp, venue: String = "", file: String = "", line: UInt64 = 0) -> Quorum_V1_Bar {
        var b = Quorum_V1_Bar()
        b.envelope = stamp.envelope(id: wireID, tsEvent: closeTime, cause: nil)
        b.symbol = symbol.name
        b.intervalSeconds = UInt32(intervalSeconds)
        b.openTimeNs = openTime
        b.open = open.wire
        b.high = high.wire
        b.low = low.wire
        b.close = close.wire
        b.volume = volume.wire
        b.venue = venue
        if !file.isEmpty {
            var source = Quorum_V1_Bar.SourceLocation()
            source.file = file
            source.line = line
            b.source = source
        }
        return b
    }
}

// MARK: - Features

extension QuorumFeatures.FeatureVector {
    public func wireID(spec: FeatureSpec) -> String { "fv-\(symbol.name)-\(barCloseTime)-\(spec.name)-\(spec.versionHex)" }

    public func wire(spec: FeatureSpec, intervalSeconds: Int64, stamp: EnvelopeStamp, cause: Quorum_V1_Envelope) -> Quorum_V1_FeatureVector {
        var v = Quorum_V1_FeatureVector()
        v.envelope = stamp.envelope(id: wireID(spec: spec), tsEvent: barCloseTime, cause: cause)
        v.symbol = symbol.name
        v.barOpenTimeNs = barCloseTime - intervalSeconds * 1_000_000_000
        v.intervalSeconds = UInt32(intervalSeconds)
        v.featureSpec = spec.name
        v.featureSpecVersion = spec.version
        v.values = values
        v.warm = isWarm
        v.close = close.wire
        return v
    }
}

extension Quorum_V1_FeatureVector {
    /// Close time of the bar the vector describes.
    public var barCloseTime: Nanos { barOpenTimeNs + Int64(intervalSeconds) * 1_000_000_000 }

    /// The consensus core's view: values by feature name, named by `spec` (`columns`: its names), the spec the stage is
    /// configured with. A vector of another spec (by content hash) is rejected: the services disagree on `features.spec`.
    public func snapshot(spec: FeatureSpec, columns: FeatureColumns) throws -> FeatureSnapshot {
        guard featureSpecVersion == spec.version else {
            throw RejectedMessage(.invalid, "feature vector \(envelope.id) was computed with feature spec \(FeatureSpec.label(featureSpec, featureSpecVersion)); "
                + "this service is configured with \(spec): set features.spec to the same spec in every service")
        }
        guard values.count == spec.names.count else {
            throw RejectedMessage(.invalid, "feature vector \(envelope.id) has \(values.count) values; \(spec) has \(spec.names.count)")
        }
        return FeatureSnapshot(id: envelope.id, symbol: Symbol(symbol), time: barCloseTime,
                               close: try Fixed(wire: close, field: "close"), values: FeatureValues(columns: columns, values: values))
    }
}

// MARK: - Predictions, signals, decisions

extension Quorum_V1_Prediction {
    public var barCloseTime: Nanos { envelope.tsEventNs }

    public func mlPrediction() -> MLPrediction {
        MLPrediction(id: envelope.id, symbol: Symbol(symbol), time: envelope.tsEventNs, probUp: probUp,
                     confidence: confidence, modelID: modelID)
    }
}

extension QuorumStrategy.Direction {
    var wire: Quorum_V1_Signal.Direction {
        switch self {
        case .long: .long
        case .short: .short
        case .flat: .flat
        }
    }
}

extension SignalOut {
    public var wireID: String { "sg-\(source)-\(symbol.name)-\(time)" }

    public func wire(intervalSeconds: Int64, stamp: EnvelopeStamp, cause: Quorum_V1_Envelope) -> Quorum_V1_Signal {
        var s = Quorum_V1_Signal()
        s.envelope = stamp.envelope(id: wireID, tsEvent: time, cause: cause)
        s.symbol = symbol.name
        s.source = source
        s.direction = direction.wire
        s.strength = strength
        s.confidence = confidence
        s.barOpenTimeNs = time - intervalSeconds * 1_000_000_000
        return s
    }
}

extension QuorumStrategy.Decision {
    public func wire(intervalSeconds: Int64, stamp: EnvelopeStamp, cause: Quorum_V1_Envelope) -> Quorum_V1_Decision {
        var d = Quorum_V1_Decision()
        d.envelope = stamp.envelope(id: id, tsEvent: time, cause: cause)
        d.symbol = symbol.name
        switch action {
        case .buy: d.action = .buy
        case .sell: d.action = .sell
        case .hold: d.action = .hold
        }
        // Target as a direction: +1 long, -1 short, 0 flat; risk turns it into a quantity.
        d.targetPosition = Fixed(targetDirection.sign).wire
        d.confidence = confidence
        d.reasons = reasons
        d.barOpenTimeNs = time - intervalSeconds * 1_000_000_000
        d.referencePrice = referencePrice.wire
        d.atr = atr ?? 0
        return d
    }
}

extension Quorum_V1_Decision {
    /// Risk's view of a decision.
    public func riskDecision() throws -> RiskDecision {
        let target: PositionTarget?
        switch action {
        case .hold: target = nil
        case .buy, .sell:
            let direction = try Fixed(wire: targetPosition, field: "target_position").signum
            target = direction > 0 ? .long : direction < 0 ? .short : .flat
        default:
            throw RejectedMessage(.invalid, "decision \(envelope.id) has no action")
        }
        return RiskDecision(id: envelope.id, symbol: Symbol(symbol), time: envelope.tsEventNs, target: target,
                            confidence: confidence, referencePrice: try Fixed(wire: referencePrice, field: "reference_price"),
                            atr: atr > 0 ? atr : nil)
    }
}

// MARK: - Orders

extension QuorumRisk.OrderIntent {
    public func wire(stamp: EnvelopeStamp, cause: Quorum_V1_Envelope, sequence: UInt64) -> Quorum_V1_OrderApproved {
        var intent = Quorum_V1_OrderIntent()
        intent.envelope = stamp.envelope(id: clientOrderID, tsEvent: time, cause: cause)
        intent.clientOrderID = clientOrderID
        intent.symbol = symbol.name
        intent.side = side.wire
        intent.quantity = quantity.wire
        intent.orderType = .market
        intent.decisionID = decisionID
        intent.referencePrice = referencePrice.wire
        var approved = Quorum_V1_OrderApproved()
        approved.envelope = stamp.envelope(id: "ap-\(clientOrderID)", tsEvent: time, cause: cause)
        approved.intent = intent
        approved.approvedQuantity = quantity.wire
        approved.symbolSequence = sequence
        approved.checks = checks.map { c in
            var w = Quorum_V1_RiskCheck()
            w.name = c.code.rawValue
            w.passed = c.passed
            w.limit = c.limit.wire
            w.observed = c.observed.wire
            w.detail = c.detail
            return w
        }
        return approved
    }
}

extension OrderDenial {
    public func wire(stamp: EnvelopeStamp, cause: Quorum_V1_Envelope) -> Quorum_V1_OrderDenied {
        var intent = Quorum_V1_OrderIntent()
        intent.envelope = stamp.envelope(id: clientOrderID, tsEvent: time, cause: cause)
        intent.clientOrderID = clientOrderID
        intent.symbol = symbol.name
        intent.decisionID = decisionID
        intent.orderType = .market
        var denied = Quorum_V1_OrderDenied()
        denied.envelope = stamp.envelope(id: "dn-\(clientOrderID)", tsEvent: time, cause: cause)
        denied.intent = intent
        denied.reasonCode = reason.wireCode
        denied.reason = "\(reason.rawValue): \(text)"
        denied.limit = limit.wire
        denied.observed = observed.wire
        return denied
    }
}

extension RiskCode {
    var wireCode: Quorum_V1_OrderDenied.ReasonCode {
        switch self {
        case .killSwitch: .killSwitch
        case .dailyLossLimit: .maxDailyLoss
        case .maxPosition: .maxPosition
        case .portfolioHeat, .riskPerTrade: .maxExposure
        case .buyingPower: .buyingPower
        case .belowLotSize, .shortingDisabled, .invalidInput, .exitAllowed: .invalidOrder
        }
    }
}

extension Quorum_V1_OrderApproved {
    /// The paper exchange's view of an approved order.
    public func paperOrder() throws -> PaperOrder {
        guard !intent.clientOrderID.isEmpty else { throw RejectedMessage(.invalid, "approved order without client_order_id") }
        let quantity = try Fixed(wire: approvedQuantity, field: "approved_quantity")
        guard quantity > .zero else { throw RejectedMessage(.invalid, "order \(intent.clientOrderID) has quantity \(quantity)") }
        return PaperOrder(clientOrderID: intent.clientOrderID, symbol: Symbol(intent.symbol),
                          side: try Side(wire: intent.side), quantity: quantity, time: intent.envelope.tsEventNs)
    }
}

// MARK: - Execution reports

extension OrderStatus {
    var wire: Quorum_V1_ExecutionReport.Status {
        switch self {
        case .new: .new
        case .accepted: .accepted
        case .filled: .filled
        case .rejected: .rejected
        case .cancelled: .cancelled
        }
    }
}

extension QuorumExecution.ExecutionReport {
    public func wire(stamp: EnvelopeStamp, cause: Quorum_V1_Envelope?, positionAfter: Fixed?) -> Quorum_V1_ExecutionReport {
        var r = Quorum_V1_ExecutionReport()
        r.envelope = stamp.envelope(id: reportID, tsEvent: time, cause: cause)
        r.clientOrderID = clientOrderID
        r.venueOrderID = "paper-" + clientOrderID
        r.symbol = symbol.name
        r.side = side.wire
        r.status = status.wire
        r.venue = "paper"
        r.reason = reason ?? ""
        if let fill {
            r.fillID = fill.fillID
            r.fillQuantity = fill.quantity.wire
            r.fillPrice = fill.price.wire
            r.fee = fill.fee.wire
            r.cumulativeQuantity = fill.quantity.wire
            r.leavesQuantity = Fixed.zero.wire
            r.averagePrice = fill.price.wire
        } else {
            r.cumulativeQuantity = Fixed.zero.wire
            r.leavesQuantity = (status.isFinal ? Fixed.zero : quantity).wire
        }
        if let positionAfter { r.positionAfter = positionAfter.wire }
        return r
    }
}

extension Quorum_V1_ExecutionReport {
    /// The fill of a FILLED report.
    public func fill() throws -> Fill? {
        guard status == .filled || status == .partiallyFilled, !fillID.isEmpty else { return nil }
        return Fill(fillID: fillID, clientOrderID: clientOrderID, symbol: Symbol(symbol), side: try Side(wire: side),
                    quantity: try Fixed(wire: fillQuantity, field: "fill_quantity"),
                    price: try Fixed(wire: fillPrice, field: "fill_price"), fee: try Fixed(wire: fee, field: "fee"),
                    time: envelope.tsEventNs)
    }

    /// FILLED, REJECTED or CANCELLED: the order will not change again.
    public var isFinal: Bool { status == .filled || status == .rejected || status == .cancelled }
}
