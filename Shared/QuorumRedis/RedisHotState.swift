/// Typed access to the hot, reconstructible state of DESIGN.md §4, under one key prefix.
///
/// Thin wrappers over ``RedisClient/command(_:)`` and ``RedisClient/pipeline(_:)``; key names come from
/// ``RedisKeys``. Losing this state costs a warm-up, never money: in particular a missing kill-switch key reads
/// as "off", so whoever owns the switch must restore it from the durable record after Redis loses its data.
public struct RedisHotState: Sendable {
    /// The client used for every call.
    public let client: RedisClient
    /// The key names (and namespace) used.
    public let keys: RedisKeys

    /// Uses `keyPrefix`, or the client's ``RedisConfiguration/keyPrefix`` when `nil`.
    public init(client: RedisClient, keyPrefix: String? = nil) {
        self.client = client
        self.keys = RedisKeys(prefix: keyPrefix ?? client.configuration.keyPrefix)
    }

    // MARK: Latest feature vector (bytes, encoded by the caller)

    /// Stores the latest encoded feature vector of `symbol`, replacing the previous one.
    public func setLatestFeatures(symbol: String, bytes: [UInt8]) async throws(RedisError) {
        try expectOK(await client.command([Array("SET".utf8), Array(keys.latestFeatures(symbol: symbol).utf8), bytes]))
    }

    /// The latest encoded feature vector of `symbol`, or `nil` if none was stored.
    public func latestFeatures(symbol: String) async throws(RedisError) -> [UInt8]? {
        try optionalBytes(await client.command(["GET", keys.latestFeatures(symbol: symbol)]))
    }

    // MARK: Active model pointer

    /// Points `symbol` at the model `modelID` (a registry id).
    public func setActiveModel(symbol: String, modelID: String) async throws(RedisError) {
        try expectOK(await client.command(["SET", keys.activeModel(symbol: symbol), modelID]))
    }

    /// The active model id of `symbol`, or `nil`.
    public func activeModel(symbol: String) async throws(RedisError) -> String? {
        try optionalBytes(await client.command(["GET", keys.activeModel(symbol: symbol)])).map(Self.utf8)
    }

    // MARK: Exposure (exact decimal strings, never Double)

    /// Sets the exposure of `symbol` to an exact decimal such as `"-12.50"` (sign, digits, optional fraction).
    /// - Throws: ``RedisError`` `.invalidArgument` when the text is not such a decimal.
    public func setExposure(symbol: String, _ decimalString: String) async throws(RedisError) {
        guard Self.isDecimal(decimalString) else {
            throw RedisError(code: .invalidArgument, endpoint: client.configuration.endpoint,
                             message: "exposure for \(symbol) must be a decimal like \"-12.50\", got \"\(decimalString)\"")
        }
        try expectNoError(await client.command(["HSET", keys.exposure, symbol, decimalString]))
    }

    /// The exposure of `symbol` as stored, or `nil`.
    public func exposure(symbol: String) async throws(RedisError) -> String? {
        try optionalBytes(await client.command(["HGET", keys.exposure, symbol])).map(Self.utf8)
    }

    /// Every stored exposure, symbol → decimal string.
    public func exposures() async throws(RedisError) -> [String: String] {
        try hash(await client.command(["HGETALL", keys.exposure]))
    }

    /// Removes the exposure of `symbol`.
    public func removeExposure(symbol: String) async throws(RedisError) {
        try expectNoError(await client.command(["HDEL", keys.exposure, symbol]))
    }

    // MARK: Execution's live book

    /// Replaces execution's live book (what its in-memory ledger holds: cash and the position of every symbol) at once
    /// with its starting cash (atomic), so `quorum summary` can compare the running stage with the Postgres ledger.
    /// - Throws: ``RedisError`` `.invalidArgument` when an amount is not an exact decimal.
    public func setExecutionBook(startingCash: String, cash: String, positions: [String: String]) async throws(RedisError) {
        var fields = ["starting_cash", startingCash, "cash", cash]
        for symbol in positions.keys.sorted() { fields += ["position:" + symbol, positions[symbol]!] }
        for (index, value) in fields.enumerated() where index % 2 == 1 {
            guard Self.isDecimal(value) else {
                throw RedisError(code: .invalidArgument, endpoint: client.configuration.endpoint,
                                 message: "execution book field \(fields[index - 1]) must be a decimal like \"-12.50\", got \"\(value)\"")
            }
        }
        try await transaction([["DEL", keys.executionBook], ["HSET", keys.executionBook] + fields])
    }

    /// Execution's live book as it last stored it, or nil when it never did.
    public func executionBook() async throws(RedisError) -> (startingCash: String, cash: String, positions: [String: String])? {
        let fields = try hash(await client.command(["HGETALL", keys.executionBook]))
        guard let startingCash = fields["starting_cash"], let cash = fields["cash"] else { return nil }
        var positions: [String: String] = [:]
        for (field, value) in fields where field.hasPrefix("position:") { positions[String(field.dropFirst("position:".count))] = value }
        return (startingCash, cash, positions)
    }

    // MARK: Kill switch

    /// Turns the kill switch on or off; `reason` is stored with it (and removed when `nil`). Atomic.
    public func setKillSwitch(on: Bool, reason: String?) async throws(RedisError) {
        var fields = ["HSET", keys.killSwitch, "on", on ? "1" : "0"]
        if let reason { fields += ["reason", reason] }
        try await transaction([["DEL", keys.killSwitch], fields])
    }

    /// The kill switch; off (with no reason) when it was never set.
    public func killSwitch() async throws(RedisError) -> (on: Bool, reason: String?) {
        let reply = try await client.command(["HMGET", keys.killSwitch, "on", "reason"])
        guard case .array(let values) = reply, values.count == 2 else { throw unexpected(reply, "HMGET") }
        return (on: values[0].string == "1", reason: values[1].string)
    }

    // MARK: Consensus source weights

    /// Replaces all source weights at once (atomic); an empty dictionary removes them.
    /// - Throws: ``RedisError`` `.invalidArgument` for a NaN or infinite weight.
    public func setSourceWeights(_ weights: [String: Double]) async throws(RedisError) {
        var hset = ["HSET", keys.sourceWeights]
        for (source, weight) in weights.sorted(by: { $0.key < $1.key }) {
            hset += [source, try weightText(weight, source: source)]
        }
        try await transaction(weights.isEmpty ? [["DEL", keys.sourceWeights]] : [["DEL", keys.sourceWeights], hset])
    }

    /// Sets the weight of one source, keeping the others.
    public func setSourceWeight(source: String, weight: Double) async throws(RedisError) {
        try expectNoError(await client.command(["HSET", keys.sourceWeights, source, try weightText(weight, source: source)]))
    }

    /// Every source weight, source → weight.
    public func sourceWeights() async throws(RedisError) -> [String: Double] {
        var weights: [String: Double] = [:]
        for (source, text) in try hash(await client.command(["HGETALL", keys.sourceWeights])) {
            guard let weight = Double(text) else {
                throw RedisError(code: .unexpectedReply, endpoint: client.configuration.endpoint,
                                 message: "weight of \(source) in \(keys.sourceWeights) is not a number: \(text)")
            }
            weights[source] = weight
        }
        return weights
    }

    // MARK: Regime

    /// Stores the regime label of `symbol` (e.g. `"trend-up"`).
    public func setRegime(symbol: String, label: String) async throws(RedisError) {
        try expectOK(await client.command(["SET", keys.regime(symbol: symbol), label]))
    }

    /// The regime label of `symbol`, or `nil`.
    public func regime(symbol: String) async throws(RedisError) -> String? {
        try optionalBytes(await client.command(["GET", keys.regime(symbol: symbol)])).map(Self.utf8)
    }

    // MARK: Namespace

    /// Deletes every key under the prefix (SCAN + UNLINK, never KEYS) and returns how many were deleted.
    /// Meant for ending a replay run or a test; other prefixes are untouched.
    @discardableResult
    public func deleteAllKeys() async throws(RedisError) -> Int {
        var cursor = "0"
        var deleted = 0
        repeat {
            let reply = try await client.command(["SCAN", cursor, "MATCH", keys.allKeysPattern, "COUNT", "1000"])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                  case .array(let found) = parts[1] else { throw unexpected(reply, "SCAN") }
            let names = found.compactMap(\.bytes)
            if !names.isEmpty {
                let count = try await client.command([Array("UNLINK".utf8)] + names)
                guard let number = count.integer else { throw unexpected(count, "UNLINK") }
                deleted += Int(number)
            }
            cursor = next
        } while cursor != "0"
        return deleted
    }

    // MARK: Helpers

    /// Runs the commands inside MULTI/EXEC in one round trip; throws if any of them failed.
    private func transaction(_ commands: [[String]]) async throws(RedisError) {
        let replies = try await client.pipeline([["MULTI"]] + commands + [["EXEC"]])
        for reply in replies { try expectNoError(reply) }
        guard case .array(let results)? = replies.last, results.count == commands.count else {
            throw unexpected(replies.last ?? .null, "EXEC")
        }
        for result in results { try expectNoError(result) }
    }

    private func weightText(_ weight: Double, source: String) throws(RedisError) -> String {
        guard weight.isFinite else {
            throw RedisError(code: .invalidArgument, endpoint: client.configuration.endpoint,
                             message: "weight of source \(source) must be finite, got \(weight)")
        }
        return String(weight)  // shortest text that reads back as the same Double
    }

    private func expectOK(_ reply: RedisValue) throws(RedisError) {
        try expectNoError(reply)
        guard reply == .status("OK") else { throw unexpected(reply, "SET") }
    }

    private func expectNoError(_ reply: RedisValue) throws(RedisError) {
        if case .error(let text) = reply {
            throw RedisError(code: .serverError, endpoint: client.configuration.endpoint, message: text)
        }
    }

    private func optionalBytes(_ reply: RedisValue) throws(RedisError) -> [UInt8]? {
        try expectNoError(reply)
        switch reply {
        case .bytes(let bytes): return bytes
        case .null: return nil
        default: throw unexpected(reply, "GET")
        }
    }

    private func hash(_ reply: RedisValue) throws(RedisError) -> [String: String] {
        try expectNoError(reply)
        guard case .array(let flat) = reply, flat.count % 2 == 0 else { throw unexpected(reply, "HGETALL") }
        var result: [String: String] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let field = flat[index].string, let value = flat[index + 1].string else {
                throw unexpected(reply, "HGETALL")
            }
            result[field] = value
        }
        return result
    }

    private func unexpected(_ reply: RedisValue, _ command: String) -> RedisError {
        RedisError(code: .unexpectedReply, endpoint: client.configuration.endpoint,
                   message: "unexpected reply to \(command): \(reply)")
    }

    private static func utf8(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// `-?digits(.digits)?`, the exact form money is stored in.
    static func isDecimal(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return false
        }
        if parts.count == 2 {
            return !parts[1].isEmpty && parts[1].allSatisfy { $0.isASCII && $0.isNumber }
        }
        return true
    }
}
