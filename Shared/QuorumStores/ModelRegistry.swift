import Foundation
import Logging
import PostgresNIO
import QuorumModel
import QuorumPostgres

/// One trained model as registered (`models`): lineage, metrics and the artifact.
public struct ModelRecord: Sendable, Hashable {
    /// Life cycle: registered → active → retired; a model failing validation is registered as rejected.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case registered, active, retired, rejected
    }

    public var modelID: String
    public var symbol: Symbol
    public var version: String
    /// E.g. "logistic".
    public var modelKind: String
    /// The feature spec the model was trained on (its canonical text) and its version.
    public var featureSpec: String
    public var featureSpecVersion: Int
    /// Training window (event time) and the end of the validation window.
    public var trainFrom: Nanos
    public var trainTo: Nanos
    public var validateTo: Nanos
    /// Validation metrics by name (finite numbers only).
    public var metrics: [String: Double]
    /// The serialized model.
    public var artifact: [UInt8]
    /// The training job that produced it (unique: one model per job).
    public var jobID: String
    public var runID: String
    public var status: Status
    /// Where it comes from beyond its job (`TrainingJob.lineage`): e.g. the tuning search, trial and folds that chose its
    /// hyperparameters, the data range, the code version. Empty for a model of an ordinary training run.
    public var lineage: [String: String]
    /// Set by the database when registered; nil in a record not yet registered.
    public var createdAt: Date?
    /// When it last became active; nil if it never was.
    public var activatedAt: Date?
    /// How many activations its symbol had when it last became active (the models events' `activation_sequence`); nil if
    /// it never was.
    public var activationSequence: Int64?

    public init(
        modelID: String, symbol: Symbol, version: String, modelKind: String, featureSpec: String, featureSpecVersion: Int,
        trainFrom: Nanos, trainTo: Nanos, validateTo: Nanos, metrics: [String: Double], artifact: [UInt8],
        jobID: String, runID: String, status: Status = .registered, lineage: [String: String] = [:], createdAt: Date? = nil,
        activatedAt: Date? = nil, activationSequence: Int64? = nil
    ) {
        self.modelID = modelID
        self.symbol = symbol
        self.version = version
        self.modelKind = modelKind
        self.featureSpec = featureSpec
        self.featureSpecVersion = featureSpecVersion
        self.trainFrom = trainFrom
        self.trainTo = trainTo
        self.validateTo = validateTo
        self.metrics = metrics
        self.artifact = artifact
        self.jobID = jobID
        self.runID = runID
        self.status = status
        self.lineage = lineage
        self.createdAt = createdAt
        self.activatedAt = activatedAt
        self.activationSequence = activationSequence
    }
}

/// What ``ModelRegistry/activateIfBetter(modelID:metric:)`` did.
public enum ActivationResult: Sendable, Hashable {
    /// The model is now its symbol's active model; `previous` (if any) was retired.
    case activated(previous: String?, sequence: Int64)
    /// Nothing changed: `activeModelID` stays active. It is the candidate itself when that was already active
    /// (a repeated call).
    case kept(activeModelID: String)
}

/// The model registry (`models`). At most one model per symbol is active (a partial unique index enforces it).
public struct ModelRegistry: Sendable {
    public let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger = Logger(label: "quorum.stores.models")) {
        self.store = store
        self.logger = logger
    }

    /// Registers `record` unless a model with its model id or job id exists already.
    ///
    /// The record's status must be `.registered` or `.rejected`: a model becomes active only through
    /// ``activateIfBetter(modelID:metric:)``. `createdAt` and `activatedAt` are ignored (set by the database).
    /// - Returns: true when inserted, false when it existed (nothing changed).
    @discardableResult
    public func register(_ record: ModelRecord) async throws -> Bool {
        let logger = self.logger
        return try await self.store.withConnection { connection in
            try await Self.register(record, on: connection, logger: logger)
        }
    }

    /// ``register(_:)`` on a connection the caller holds (e.g. inside `PostgresStore.processOnce`).
    @discardableResult
    public static func register(_ record: ModelRecord, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard record.status == .registered || record.status == .rejected else {
            throw StoresError(code: .invalidArgument, message: "model \(record.modelID) cannot be registered as \(record.status.rawValue) (only registered or rejected); activate it with activateIfBetter")
        }
        let metrics = try MetricsJSON.encode(record.metrics, what: "model \(record.modelID)")
        let specVersion = try int32(Int64(record.featureSpecVersion), "featureSpecVersion of model \(record.modelID)")
        let artifact = ByteBuffer(bytes: record.artifact)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let lineage = String(decoding: try encoder.encode(record.lineage), as: UTF8.self)
        let inserted = try await scalar("""
            WITH inserted AS (
                INSERT INTO models (model_id, symbol, version, model_kind, feature_spec, feature_spec_version,
                                    train_from_ns, train_to_ns, validate_to_ns, metrics, artifact, job_id, run_id, status, lineage)
                VALUES (\(record.modelID), \(record.symbol.name), \(record.version), \(record.modelKind), \(record.featureSpec),
                        \(specVersion), \(record.trainFrom), \(record.trainTo), \(record.validateTo), \(metrics)::jsonb,
                        \(artifact), \(record.jobID), \(record.runID), \(record.status.rawValue), \(lineage)::jsonb)
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """, on: connection, logger: logger)
        return inserted == 1
    }

    /// Makes `modelID` its symbol's active model if it beats the active one on `metric`.
    ///
    /// In ONE transaction that first locks all the symbol's models (`SELECT … FOR UPDATE`), so concurrent
    /// activations for one symbol run one after the other: the candidate is activated when no model of its symbol
    /// is active or its `metrics[metric]` is strictly greater than the active one's (a tie keeps the current model;
    /// an active model without that metric loses). The previous active model becomes `retired`.
    /// Calling it again changes nothing (it returns `.kept(activeModelID: modelID)` once the model is active).
    /// - Throws: ``StoresError`` `.notFound` for an unknown model id, `.invalidArgument` when the candidate is
    ///   rejected or has no metric of that name.
    public func activateIfBetter(modelID: String, metric: String) async throws -> ActivationResult {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            try await Self.activateIfBetter(modelID: modelID, metric: metric, on: connection, logger: logger)
        }
    }

    /// ``activateIfBetter(modelID:metric:)`` on a connection the caller holds; call it inside a transaction.
    public static func activateIfBetter(modelID: String, metric: String, on connection: PostgresConnection, logger: Logger) async throws -> ActivationResult {
        let symbols = try await collect("SELECT symbol FROM models WHERE model_id = \(modelID)", on: connection, logger: logger) {
            try $0.value("symbol", as: String.self)
        }
        guard let symbol = symbols.first else {
            throw StoresError(code: .notFound, message: "model \(modelID) is not registered")
        }
        struct Row { var modelID: String; var status: ModelRecord.Status; var metrics: [String: Double]; var sequence: Int64? }
        let rows = try await collect("""
            SELECT model_id, status, metrics::text AS metrics, activation_seq FROM models
            WHERE symbol = \(symbol) ORDER BY model_id FOR UPDATE
            """, on: connection, logger: logger) { row in
            let id = try row.value("model_id", as: String.self)
            return Row(modelID: id, status: try row.enumeration("status", as: ModelRecord.Status.self, in: "models"),
                       metrics: try MetricsJSON.decode(try row.value("metrics"), what: "model \(id)"),
                       sequence: try row.value("activation_seq", as: Int64?.self))
        }
        guard let candidate = rows.first(where: { $0.modelID == modelID }) else {
            throw StoresError(code: .notFound, message: "model \(modelID) is not registered")
        }
        let active = rows.first { $0.status == .active }
        if let active, active.modelID == modelID { return .kept(activeModelID: modelID) }
        guard candidate.status != .rejected else {
            throw StoresError(code: .invalidArgument, message: "model \(modelID) is rejected and cannot be activated")
        }
        guard let score = candidate.metrics[metric] else {
            throw StoresError(code: .invalidArgument, message: "model \(modelID) has no metric '\(metric)' (it has: \(candidate.metrics.keys.sorted().joined(separator: ", ")))")
        }
        if let active, let activeScore = active.metrics[metric], !(score > activeScore) {
            return .kept(activeModelID: active.modelID)
        }
        if let active {
            try await execute("UPDATE models SET status = 'retired' WHERE model_id = \(active.modelID)", on: connection, logger: logger)
        }
        // The symbol's activations are counted under the lock taken above, so the count orders them.
        let sequence = (rows.compactMap(\.sequence).max() ?? 0) + 1
        try await execute("""
            UPDATE models SET status = 'active', activated_at = now(), activation_seq = \(sequence) WHERE model_id = \(modelID)
            """, on: connection, logger: logger)
        logger.info("model activated", metadata: [
            "model.id": "\(modelID)", "model.symbol": "\(symbol)", "model.previous": "\(active?.modelID ?? "none")",
            "model.metric": "\(metric)", "model.score": "\(score)",
        ])
        return .activated(previous: active?.modelID, sequence: sequence)
    }

    /// Makes `modelID` its symbol's active model whatever its metrics say: an operator's choice (`quorum models activate`,
    /// the dashboard). The symbol's active model, if another, becomes `retired`. One transaction that locks the symbol's
    /// models first, as ``activateIfBetter(modelID:metric:)`` does.
    /// - Returns: `.activated(previous:)`, or `.kept(activeModelID: modelID)` when it was active already.
    /// - Throws: ``StoresError`` `.notFound` for an unknown id, `.invalidArgument` for a rejected model (it failed validation).
    public func activate(modelID: String) async throws -> ActivationResult {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            let rows = try await Self.lockSymbolModels(of: modelID, on: connection, logger: logger)
            guard let candidate = rows.first(where: { $0.modelID == modelID }) else {
                throw StoresError(code: .notFound, message: "model \(modelID) is not registered (quorum models list shows the registry)")
            }
            let active = rows.first { $0.status == .active }
            if active?.modelID == modelID { return .kept(activeModelID: modelID) }
            guard candidate.status != .rejected else {
                throw StoresError(code: .invalidArgument, message: "model \(modelID) is rejected (it failed validation) and cannot be activated; pick a registered or retired model")
            }
            let sequence = try await Self.swap(to: modelID, from: active?.modelID, symbolSequences: rows.compactMap(\.sequence),
                                               on: connection, logger: logger)
            return .activated(previous: active?.modelID, sequence: sequence)
        }
    }

    /// Puts back the model that served `symbol` before the active one: the retired model activated most recently. The
    /// active model becomes `retired` (it can be activated again by id).
    /// - Returns: the restored model id and the one it replaced.
    /// - Throws: ``StoresError`` `.notFound` when the symbol has no active model or no earlier one to go back to.
    public func rollback(symbol: Symbol) async throws -> (restored: String, replaced: String) {
        let logger = self.logger
        return try await self.store.withTransaction { connection in
            let rows = try await collect("""
                SELECT model_id, status, activated_at, activation_seq FROM models WHERE symbol = \(symbol.name) ORDER BY model_id FOR UPDATE
                """, on: connection, logger: logger) { row in
                (id: try row.value("model_id", as: String.self),
                 status: try row.enumeration("status", as: ModelRecord.Status.self, in: "models"),
                 activatedAt: try row.value("activated_at", as: Date?.self), sequence: try row.value("activation_seq", as: Int64?.self))
            }
            guard let active = rows.first(where: { $0.status == .active }) else {
                throw StoresError(code: .notFound, message: "\(symbol) has no active model, so there is nothing to roll back (activate one by id instead)")
            }
            let earlier = rows.filter { $0.status == .retired && $0.activatedAt != nil }
                .max { ($0.activatedAt!, $0.id) < ($1.activatedAt!, $1.id) }
            guard let earlier else {
                throw StoresError(code: .notFound, message: "\(symbol): no model served before \(active.id), so there is nothing to roll back to")
            }
            _ = try await Self.swap(to: earlier.id, from: active.id, symbolSequences: rows.compactMap(\.sequence), on: connection, logger: logger)
            return (earlier.id, active.id)
        }
    }

    struct LockedModel { var modelID: String; var status: ModelRecord.Status; var sequence: Int64? }

    /// Every model of `modelID`'s symbol, locked for the transaction (empty when the id is unknown).
    static func lockSymbolModels(of modelID: String, on connection: PostgresConnection, logger: Logger) async throws -> [LockedModel] {
        try await collect("""
            SELECT model_id, status, activation_seq FROM models
            WHERE symbol = (SELECT symbol FROM models WHERE model_id = \(modelID)) ORDER BY model_id FOR UPDATE
            """, on: connection, logger: logger) { row in
            LockedModel(modelID: try row.value("model_id", as: String.self),
                        status: try row.enumeration("status", as: ModelRecord.Status.self, in: "models"),
                        sequence: try row.value("activation_seq", as: Int64?.self))
        }
    }

    /// Retires `previous` (if any) and activates `modelID` as its symbol's next activation (the count after
    /// `symbolSequences`, taken under the caller's lock, as ``activateIfBetter(modelID:metric:)`` counts), inside the
    /// caller's transaction; returns that count.
    static func swap(to modelID: String, from previous: String?, symbolSequences: [Int64], on connection: PostgresConnection,
                     logger: Logger) async throws -> Int64 {
        if let previous {
            try await execute("UPDATE models SET status = 'retired' WHERE model_id = \(previous)", on: connection, logger: logger)
        }
        let sequence = (symbolSequences.max() ?? 0) + 1
        try await execute("""
            UPDATE models SET status = 'active', activated_at = now(), activation_seq = \(sequence) WHERE model_id = \(modelID)
            """, on: connection, logger: logger)
        logger.info("model activated by an operator", metadata: [
            "model.id": "\(modelID)", "model.previous": "\(previous ?? "none")", "model.activation": "\(sequence)",
        ])
        return sequence
    }

    /// The active model of `symbol`, if any.
    public func active(symbol: Symbol) async throws -> ModelRecord? {
        try await self.select("WHERE symbol = \(symbol.name) AND status = 'active'").first
    }

    /// Every active model (one per symbol at most), by symbol.
    public func activeModels() async throws -> [ModelRecord] {
        try await self.select("WHERE status = 'active' ORDER BY symbol")
    }

    /// The latest `limit` models of every symbol, newest first, WITHOUT their artifacts (empty `artifact`): what a page
    /// lists, without reading megabytes of models.
    public func summaries(limit: Int = 200) async throws -> [ModelRecord] {
        try await self.select("ORDER BY created_at DESC, model_id DESC LIMIT \(Int64(max(0, limit)))", artifacts: false)
    }

    /// The models of `symbol` (of every symbol when nil), newest first. Includes the artifacts.
    public func list(symbol: Symbol? = nil) async throws -> [ModelRecord] {
        if let symbol {
            return try await self.select("WHERE symbol = \(symbol.name) ORDER BY created_at DESC, model_id DESC")
        }
        return try await self.select("ORDER BY created_at DESC, model_id DESC")
    }

    /// The model with this id, if registered.
    /// Copies the active models of another schema (another run's registry, e.g. the run a replay reproduces) into
    /// this store's schema, leaving models it has already alone; returns how many it copied. `schema` is a name of
    /// letters, digits and `_` (`PostgresConfiguration.schema(forTopicPrefix:)`), or "public".
    public func copyActive(fromSchema schema: String) async throws -> Int {
        guard !schema.isEmpty, schema.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw StoresError(code: .invalidArgument, message: "'\(schema)' is not a schema name (letters, digits and _ only)")
        }
        let logger = self.logger
        return try await self.store.withConnection { connection in
            // The identifier is checked above; Postgres cannot bind identifiers.
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO models SELECT * FROM \(schema).models WHERE status = 'active'
                ON CONFLICT DO NOTHING RETURNING model_id
                """), logger: logger)
            var copied = 0
            for try await _ in rows { copied += 1 }
            return copied
        }
    }

    public func model(id: String) async throws -> ModelRecord? {
        try await self.select("WHERE model_id = \(id)").first
    }

    private func select(_ tail: PostgresQuery, artifacts: Bool = true) async throws -> [ModelRecord] {
        let logger = self.logger
        let query = PostgresQuery(unsafeSQL: """
            SELECT model_id, symbol, version, model_kind, feature_spec, feature_spec_version, train_from_ns, train_to_ns,
                   validate_to_ns, metrics::text AS metrics, \(artifacts ? "artifact" : "''::bytea AS artifact"), job_id, run_id, status, lineage::text AS lineage, created_at, activated_at,
                   activation_seq
            FROM models
            """ + " " + tail.sql, binds: tail.binds)
        return try await self.store.withConnection { connection in
            try await collect(query, on: connection, logger: logger) { row in
                let id = try row.value("model_id", as: String.self)
                let artifact = try row.value("artifact", as: ByteBuffer.self)
                return ModelRecord(
                    modelID: id, symbol: Symbol(try row.value("symbol")), version: try row.value("version"),
                    modelKind: try row.value("model_kind"), featureSpec: try row.value("feature_spec"),
                    featureSpecVersion: Int(try row.value("feature_spec_version", as: Int32.self)),
                    trainFrom: try row.value("train_from_ns"), trainTo: try row.value("train_to_ns"),
                    validateTo: try row.value("validate_to_ns"),
                    metrics: try MetricsJSON.decode(try row.value("metrics"), what: "model \(id)"),
                    artifact: Array(artifact.readableBytesView),
                    jobID: try row.value("job_id"), runID: try row.value("run_id"),
                    status: try row.enumeration("status", as: ModelRecord.Status.self, in: "models"),
                    lineage: try Self.lineage(try row.value("lineage"), model: id),
                    createdAt: try row.value("created_at", as: Date.self), activatedAt: try row.value("activated_at", as: Date?.self),
                    activationSequence: try row.value("activation_seq", as: Int64?.self))
            }
        }
    }

    static func lineage(_ text: String, model: String) throws -> [String: String] {
        do { return try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) } catch {
            throw StoresError(code: .invalidData, message: "model \(model): lineage is not a JSON object of strings: \(text.prefix(200))")
        }
    }
}
