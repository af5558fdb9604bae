// Convenience for building the envelope every quorum.v1 message starts with.

extension Quorum_V1_Envelope {
    /// The schema version this code writes into ``schemaVersion`` (quorum.v1 → 1).
    public static let currentSchemaVersion: UInt32 = 1

    /// An envelope with every field set.
    /// - Parameters:
    ///   - id: unique (preferably deterministic) id of the message.
    ///   - correlationID: id of the causal chain; `nil` starts a new chain named after `id`.
    ///   - causationID: id of the message that caused this one; empty for the first of a chain.
    ///   - tsEventNs: event time, ns since the Unix epoch, UTC.
    ///   - tsInitNs: creation time, ns since the Unix epoch, UTC.
    ///   - producer: producing service, e.g. "quorum-features".
    ///   - schemaVersion: defaults to ``currentSchemaVersion``.
    public init(
        id: String,
        correlationID: String? = nil,
        causationID: String = "",
        tsEventNs: Int64,
        tsInitNs: Int64,
        producer: String,
        schemaVersion: UInt32 = Quorum_V1_Envelope.currentSchemaVersion
    ) {
        self.init()
        self.id = id
        self.correlationID = correlationID ?? id
        self.causationID = causationID
        self.tsEventNs = tsEventNs
        self.tsInitNs = tsInitNs
        self.producer = producer
        self.schemaVersion = schemaVersion
    }
}
