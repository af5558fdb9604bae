/// How to reach one Redis server and how patiently to talk to it.
///
/// Build it from a URL with ``init(url:keyPrefix:connectTimeout:commandTimeout:reconnectBackoffInitial:reconnectBackoffMax:)``
/// or field by field. Fields and defaults:
///
/// | field | type | default | meaning |
/// |---|---|---|---|
/// | `host` | `String` | (required) | host name or IP address (IPv6 without brackets) |
/// | `port` | `Int` | `6379` | TCP port |
/// | `username` | `String?` | `nil` | ACL user for `AUTH user password` (Redis 6+); `nil` sends `AUTH password` |
/// | `password` | `String?` | `nil` | sent with `AUTH` on every (re)connect; never printed |
/// | `database` | `Int` | `0` | logical database chosen with `SELECT` on every (re)connect |
/// | `connectTimeout` | `Duration` | 2 s | limit for one TCP connect attempt |
/// | `commandTimeout` | `Duration` | 5 s | limit for one command or pipeline, including waiting for a reconnect |
/// | `reconnectBackoffInitial` | `Duration` | 100 ms | pause after the first failed connect attempt |
/// | `reconnectBackoffMax` | `Duration` | 2 s | the pause doubles after each failure up to this value |
/// | `keyPrefix` | `String` | `"quorum:"` | namespace put in front of every key the typed helpers build (e.g. `"replay-7:quorum:"`) |
/// | `tls` | `TLS?` | `nil` | `nil`: plain TCP; otherwise TLS with the server's certificate and host name verified (``TLS``) |
///
/// URL forms accepted (scheme `redis`, or `rediss` for TLS):
/// `redis://host`, `redis://host:port`, `redis://host:port/db`, `redis://:password@host:port/db`,
/// `redis://user:password@host:port/db`, `redis://[::1]:6379`, `rediss://host:port` (TLS, trusting the system's CAs
/// until ``TLS/caFile`` is set). User and password may be percent-encoded.
///
/// `description` shows the password as `***`, so a configuration can be logged.
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or IP address (an IPv6 address is stored without brackets).
    public var host: String
    /// TCP port (default 6379).
    public var port: Int
    /// ACL user name sent with `AUTH`, or `nil`.
    public var username: String?
    /// Password sent with `AUTH` on every (re)connect, or `nil` for no `AUTH`.
    public var password: String?
    /// Logical database selected on every (re)connect (default 0).
    public var database: Int
    /// Limit for one TCP connect attempt (default 2 s).
    public var connectTimeout: Duration
    /// Limit for one command or pipeline, including any wait for a reconnect (default 5 s).
    public var commandTimeout: Duration
    /// Pause after the first failed connect attempt (default 100 ms).
    public var reconnectBackoffInitial: Duration
    /// Largest pause between connect attempts; the pause doubles up to it (default 2 s).
    public var reconnectBackoffMax: Duration
    /// Namespace in front of every key built by ``RedisKeys`` (default `"quorum:"`).
    public var keyPrefix: String
    /// TLS to the server (`rediss://`), or `nil` for plain TCP (`redis://`).
    public var tls: TLS?

    /// How the client encrypts the connection (a `rediss://` URL).
    ///
    /// The server's certificate must chain to a CA in ``caFile`` (or, when it is `nil`, to the system's trust store) and
    /// name ``RedisConfiguration/host``: a DNS name in its subject alternative names, or the IP address when the host is one.
    /// hiredis 0.14 (Debian 12) has no TLS, so the client runs each connection through an in-process TLS tunnel; see
    /// `RedisTLSTunnel`.
    public struct TLS: Sendable, Equatable {
        /// PEM file with the CA certificate(s) that signed the server's certificate; `nil` trusts the system's store.
        public var caFile: String?

        public init(caFile: String? = nil) {
            self.caFile = caFile
        }
    }

    /// Default port of Redis.
    public static let defaultPort = 6379
    /// Default key prefix.
    public static let defaultKeyPrefix = "quorum:"

    /// The key prefix of a run on a topic prefix: the hot state of a replay lives beside live state, like its topics
    /// (`replay-7` → `replay-7:quorum:`; no topic prefix → `quorum:`).
    public static func keyPrefix(forTopicPrefix topicPrefix: String) -> String {
        topicPrefix.isEmpty ? defaultKeyPrefix : "\(topicPrefix):\(defaultKeyPrefix)"
    }

    /// Creates a configuration field by field; see the type's documentation for the defaults.
    public init(
        host: String,
        port: Int = RedisConfiguration.defaultPort,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        keyPrefix: String = RedisConfiguration.defaultKeyPrefix,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        reconnectBackoffInitial: Duration = .milliseconds(100),
        reconnectBackoffMax: Duration = .seconds(2),
        tls: TLS? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.keyPrefix = keyPrefix
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoffInitial = reconnectBackoffInitial
        self.reconnectBackoffMax = reconnectBackoffMax
    }

    /// Parses `redis[s]://[[user]:password@]host[:port][/db]` and takes the other fields as given; `rediss://` sets
    /// ``tls`` (trusting the system's CAs until ``TLS/caFile`` is set).
    ///
    /// - Throws: ``RedisError`` with code `.invalidConfiguration` when the URL is malformed. The error text
    ///   never contains the password.
    public init(
        url: String,
        keyPrefix: String = RedisConfiguration.defaultKeyPrefix,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        reconnectBackoffInitial: Duration = .milliseconds(100),
        reconnectBackoffMax: Duration = .seconds(2)
    ) throws(RedisError) {
        let parsed = try RedisURLParser.parse(url)
        self.init(
            host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password,
            database: parsed.database, keyPrefix: keyPrefix, connectTimeout: connectTimeout,
            commandTimeout: commandTimeout, reconnectBackoffInitial: reconnectBackoffInitial,
            reconnectBackoffMax: reconnectBackoffMax, tls: parsed.tls ? TLS() : nil)
    }

    /// `host:port` (`[addr]:port` for IPv6), the name used in logs and errors.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The URL with the password replaced by `***`, followed by the other settings.
    public var description: String {
        var userInfo = ""
        if let username { userInfo = username }
        if password != nil { userInfo += ":***" }
        if !userInfo.isEmpty { userInfo += "@" }
        let scheme = tls == nil ? "redis" : "rediss"
        let trust = tls.map { " tls.caFile=\($0.caFile ?? "(system trust store)")" } ?? ""
        return "\(scheme)://\(userInfo)\(endpoint)/\(database)\(trust) keyPrefix=\"\(keyPrefix)\" connectTimeout=\(connectTimeout)"
            + " commandTimeout=\(commandTimeout) reconnectBackoff=\(reconnectBackoffInitial)...\(reconnectBackoffMax)"
    }

    /// Same as ``description`` (password redacted).
    public var debugDescription: String { description }

    /// A mirror without the password, so `dump(configuration)` cannot leak it either.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "username": username as Any,
            "password": password == nil ? "nil" : "***", "database": database, "keyPrefix": keyPrefix,
            "connectTimeout": connectTimeout, "commandTimeout": commandTimeout,
            "reconnectBackoffInitial": reconnectBackoffInitial, "reconnectBackoffMax": reconnectBackoffMax,
            "tls": tls as Any,
        ])
    }
}

/// Hand-written parser for Redis URLs (Foundation's URL parsing differs between platforms).
enum RedisURLParser {
    struct Parsed {
        var host: String
        var port: Int
        var username: String?
        var password: String?
        var database: Int
        /// `rediss://`.
        var tls: Bool
    }

    static func parse(_ url: String) throws(RedisError) -> Parsed {
        func invalid(_ what: String) -> RedisError {
            RedisError(code: .invalidConfiguration, endpoint: nil,
                       message: "invalid Redis URL: \(what); expected redis://[[user]:password@]host[:port][/db]"
                           + " (rediss:// for TLS)")
        }
        guard let schemeEnd = url.range(of: "://") else {
            throw invalid("missing \"redis://\"")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" || scheme == "rediss" else {
            // The scheme cannot contain the password, so it is safe to show.
            throw invalid("unsupported scheme \"\(scheme)\" (use redis://, or rediss:// for TLS)")
        }
        var rest = Substring(url[schemeEnd.upperBound...])

        // User info ends at the last "@" (a password could contain a raw "@").
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = userInfo[..<colon]
                username = user.isEmpty ? nil : try decode(user, field: "user name")
                password = try decode(userInfo[userInfo.index(after: colon)...], field: "password")
            } else if !userInfo.isEmpty {
                username = try decode(userInfo, field: "user name")
            }
        }
        if rest.contains("?") || rest.contains("#") {
            throw invalid("query and fragment are not supported")
        }

        // host[:port] then an optional /db.
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed \"[\" in IPv6 host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw invalid("missing host") }
        var port = RedisConfiguration.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("port \"\(portText)\" is not a number between 1 and 65535")
            }
            port = value
        }
        var database = 0
        if !path.isEmpty {
            guard let value = Int(path), value >= 0 else {
                throw invalid("database \"\(path)\" is not a non-negative integer")
            }
            database = value
        }
        return Parsed(host: String(host), port: port, username: username, password: password, database: database,
                      tls: scheme == "rediss")
    }

    /// Percent-decodes a user name or password. Errors never echo the value.
    private static func decode(_ text: Substring, field: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard let high = utf8.popFirst().flatMap(hexValue), let low = utf8.popFirst().flatMap(hexValue) else {
                    throw RedisError(code: .invalidConfiguration, endpoint: nil,
                                     message: "invalid Redis URL: bad percent-encoding in the \(field)")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
