import Foundation
import Logging
import QuorumBus
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumProto
import QuorumStores

/// Who asks for an operator action, and why: every action is recorded with it (`operator_audit`).
public struct OperatorRequest: Sendable {
    /// An operator's name (the CLI: `--actor` or the OS user; the dashboard: its form). At most 64 characters are kept.
    public var actor: String
    /// Why, in the operator's words; required.
    public var reason: String
    /// `cli` or `dashboard`.
    public var origin: String

    public init(actor: String, reason: String, origin: String) {
        self.actor = String(actor.trimmingCharacters(in: .whitespacesAndNewlines).prefix(64))
        self.reason = String(reason.trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))
        self.origin = origin
    }
}

/// An operator action that was refused or failed; the description says what, on what, and what to do.
public struct OperatorActionError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// True when the request itself is wrong (missing reason, unknown model): HTTP 400/404 rather than 500.
    public var isUserError: Bool
    public init(_ description: String, isUserError: Bool) {
        self.description = description
        self.isUserError = isUserError
    }
}

/// The operator actions that change the running cluster — risk's manual kill switch, activating a model, rolling a
/// symbol back to its previous model — in one place, so that `quorum kill-switch`, `quorum models activate|rollback` and
/// the monitor's dashboard buttons do exactly the same thing.
///
/// Each action is audited in `operator_audit` (append-only): a `requested` row before it acts (no effect without a
/// record: when Postgres cannot take the row, nothing is done), then a `done` row with what changed or a `failed` row
/// with the error.
public struct OperatorActions: Sendable {
    let bus: any MessageBus
    let namer: TopicNamer
    let audit: OperatorAudit
    let registry: ModelRegistry
    let logger: Logger
    let stamp: EnvelopeStamp

    /// - Parameter producer: the envelope's producer of what the actions publish (`quorum-cli`, `quorum-monitor`).
    public init(bus: any MessageBus, namer: TopicNamer, store: PostgresStore, producer: String, logger: Logger) {
        self.bus = bus
        self.namer = namer
        audit = OperatorAudit(store: store, logger: logger)
        registry = ModelRegistry(store: store, logger: logger)
        self.logger = logger
        stamp = EnvelopeStamp(producer: producer)
    }

    /// Risk's manual kill switch: a `KILL_SWITCH_ON`/`OFF` command on `control` for `quorum-risk` (which denies every
    /// risk-increasing order while it is on, and raises an alert).
    /// - Returns: what was done, for the operator.
    @discardableResult
    public func killSwitch(on: Bool, _ request: OperatorRequest) async throws -> String {
        try await audited(on ? "kill_switch_on" : "kill_switch_off", target: "quorum-risk", request) {
            var command = Quorum_V1_ControlCommand()
            let now = wallClockNanos()
            command.envelope = stamp.envelope(id: "ctl-\(now)", tsEvent: now, cause: nil)
            command.kind = on ? .killSwitchOn : .killSwitchOff
            command.targetService = "quorum-risk"
            command.reason = request.reason
            command.actor = request.actor
            try await publish([try OutgoingMessage(topic: namer.name(Topic.control), key: "quorum-risk", message: command, eventTimeNs: now)])
            return "kill switch \(on ? "on" : "off") sent to \(namer.name(Topic.control))"
        }
    }

    /// Makes `modelID` its symbol's active model (whatever its metrics; not a rejected one) and announces it on `models`
    /// (`KIND_ACTIVATED` with the artifact), which inference swaps in without a restart. Running it again for the active
    /// model publishes the event again (a lost announcement is repaired that way).
    @discardableResult
    public func activateModel(_ modelID: String, _ request: OperatorRequest) async throws -> String {
        try await audited("model_activate", target: modelID, request) {
            let result = try await storesCall { try await registry.activate(modelID: modelID) }
            let previous: String?
            switch result {
            case .activated(let p, _): previous = p
            case .kept: previous = nil
            }
            let record = try await announce(modelID, kind: .activated, previous: previous, request)
            return "\(modelID) is the active model of \(record.symbol)" + (previous.map { " (replacing \($0))" } ?? "")
        }
    }

    /// Puts back `symbol`'s previous model (the retired one activated most recently) and announces it on `models`
    /// (`KIND_ROLLED_BACK`, `previous_version` = the model removed).
    @discardableResult
    public func rollbackModel(symbol: Symbol, _ request: OperatorRequest) async throws -> String {
        try await audited("model_rollback", target: symbol.name, request) {
            let (restored, replaced) = try await storesCall { try await registry.rollback(symbol: symbol) }
            _ = try await announce(restored, kind: .rolledBack, previous: replaced, request)
            return "\(symbol) rolled back to \(restored) (replacing \(replaced))"
        }
    }

    /// Audits an action carried out elsewhere (e.g. `quorum replay --group`'s rewind) with the same requested/done/failed
    /// rows.
    @discardableResult
    public func audited(_ action: String, target: String, _ request: OperatorRequest,
                        _ body: () async throws -> String) async throws -> String {
        guard !request.reason.isEmpty else {
            throw OperatorActionError("\(action) on \(target): give a reason (it is recorded in the operator audit)", isUserError: true)
        }
        guard !request.actor.isEmpty else {
            throw OperatorActionError("\(action) on \(target): say who you are (the actor is recorded in the operator audit)", isUserError: true)
        }
        func entry(_ outcome: AuditEntry.Outcome, _ detail: String) -> AuditEntry {
            AuditEntry(actor: request.actor, action: action, target: target, reason: request.reason, outcome: outcome, detail: detail,
                       origin: request.origin)
        }
        do {
            try await audit.append(entry(.requested, ""))
        } catch {
            throw OperatorActionError("\(action) on \(target) was NOT done: the operator audit could not record it (\(error)); check Postgres",
                                      isUserError: false)
        }
        let detail: String
        do {
            detail = try await body()
        } catch {
            logger.warning("operator action failed", metadata: [
                "audit.action": .string(action), "audit.target": .string(target), "audit.actor": .string(request.actor),
                "error": .string("\(error)"),
            ])
            do { try await audit.append(entry(.failed, "\(error)")) } catch {
                logger.error("operator audit: the failure was not recorded", metadata: ["audit.action": .string(action), "error": .string("\(error)")])
            }
            throw error
        }
        logger.notice("operator action", metadata: [
            "audit.action": .string(action), "audit.target": .string(target), "audit.actor": .string(request.actor),
            "audit.origin": .string(request.origin), "audit.detail": .string(detail),
        ])
        do { try await audit.append(entry(.done, detail)) } catch {
            throw OperatorActionError("\(action) on \(target) WAS done (\(detail)), but its 'done' row could not be recorded: \(error)",
                                      isUserError: false)
        }
        return detail
    }

    /// The `models` event that puts `modelID` in service, built from its registry record.
    private func announce(_ modelID: String, kind: Quorum_V1_ModelEvent.Kind, previous: String?,
                          _ request: OperatorRequest) async throws -> ModelRecord {
        guard let record = try await registry.model(id: modelID) else {
            throw OperatorActionError("model \(modelID) disappeared from the registry while it was activated", isUserError: false)
        }
        let now = wallClockNanos()
        var event = Quorum_V1_ModelEvent()
        event.envelope = stamp.envelope(id: "me-\(modelID)-\(kind.rawValue)-\(now)", tsEvent: now, cause: nil)
        event.kind = kind
        event.modelID = record.modelID
        event.version = record.version
        event.symbol = record.symbol.name
        event.modelKind = record.modelKind
        event.featureSpec = record.featureSpec
        event.featureSpecVersion = UInt32(clamping: record.featureSpecVersion)
        event.artifactBytes = Data(record.artifact)
        event.metrics = record.metrics
        event.role = .primary
        event.previousVersion = previous ?? ""
        // The registry's count of the symbol's activations: inference serves the highest it has seen, so this activation
        // wins over any earlier one whatever order their events arrive in.
        event.activationSequence = UInt64(max(0, record.activationSequence ?? 0))
        event.trainingRunID = record.runID
        event.reason = "manual (\(request.origin), \(request.actor)): \(request.reason)"
        do {
            try await publish([try OutgoingMessage(topic: namer.name(Topic.models), key: record.symbol.name, message: event, eventTimeNs: now)])
        } catch {
            throw OperatorActionError("the registry now has \(modelID) active for \(record.symbol), but the models event was not published (\(error)): inference keeps the old model until its next start; run the activation again", isUserError: false)
        }
        return record
    }

    private func publish(_ messages: [OutgoingMessage]) async throws {
        let producer = try bus.makeProducer(clientID: "\(stamp.producer)-operator")
        do {
            _ = try await producer.send(messages)
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    /// Registry calls, with its "not found"/"cannot" errors marked as the operator's to fix.
    private func storesCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as StoresError where error.code == .notFound || error.code == .invalidArgument {
            throw OperatorActionError(error.message, isUserError: true)
        }
    }
}
