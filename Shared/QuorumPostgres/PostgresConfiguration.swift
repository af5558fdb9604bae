import Foundation

/// Where and how to reach Postgres: parsed from a URL, with pool and timeout settings.
///
/// Configuration keys (as read by the service kit):
/// - `postgres.url` / `QUORUM_POSTGRES_URL` (String, required):
///   `postgres://user:password@host:port/database[?sslmode=disable|prefer|require|verify-ca|verify-full][&sslrootcert=/path/ca.pem]`
///   (`postgresql://` works too; port defaults to 5432; `sslmode` defaults to `prefer`; `sslrootcert` as in libpq).
/// - `postgres.tls.ca.file` (String, default empty): the CA file when the URL has no `sslrootcert` (``caFile``).
/// - `postgres.pool.size` (Int, default 10): the most connections the pool opens.
/// - `postgres.connect.timeout` (Duration, default 5 s): how long one connection attempt may take.
///
/// The password is kept but never shown: ``description``, `debugDescription`, `dump` and
/// ``redactedURL`` all replace it with `***`.
public struct PostgresConfiguration: Sendable, Hashable {
    /// Whether the connection is encrypted, with libpq's `sslmode` names.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain TCP otherwise (libpq's default).
        case prefer
        /// TLS or fail. The server certificate is verified against ``PostgresConfiguration/caFile`` (or the system's
        /// trust roots) and its host name is checked, as with `verify-full` (stricter than libpq's `require`).
        case require
        /// TLS or fail; the server's certificate must chain to a CA in ``PostgresConfiguration/caFile`` (or the
        /// system's trust roots); its names are not checked (libpq `verify-ca`).
        case verifyCA = "verify-ca"
        /// TLS or fail; like ``verifyCA``, and the certificate must also name the host of the URL: a DNS name in its
        /// subject alternative names, or the IP address when the host is one (libpq `verify-full`).
        case verifyFull = "verify-full"
    }

    /// Host name or IP address of the server.
    public var host: String
    /// TCP port of the server (5432 unless the URL says otherwise).
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The role's password; `nil` when the URL has none (trust or peer authentication).
    public var password: String?
    /// The database to connect to.
    public var database: String
    /// TLS mode (`sslmode` in the URL).
    public var tls: TLSMode
    /// PEM file with the CA certificate(s) trusted for the server's certificate (libpq's `sslrootcert`, also set by
    /// `postgres.tls.ca.file`); `nil` trusts the system's store. Used by every mode but `disable`.
    public var caFile: String?
    /// The most connections the pool keeps open at once.
    public var maximumConnections: Int
    /// How long one connection attempt (TCP connect, TLS and authentication) may take.
    public var connectTimeout: Duration

    /// Default pool size.
    public static let defaultMaximumConnections = 10
    /// Default connection timeout.
    public static let defaultConnectTimeout: Duration = .seconds(5)

    /// Postgres schema every connection works in (its `search_path`); nil = the server's default (`public`).
    /// A replay run on a topic prefix gets its own schema, so its orders and fills never mix with live ones.
    public var schema: String?

    /// A schema name for a topic prefix: `replay-7` → `replay_7` (letters, digits and `_` only), nil for "".
    public static func schema(forTopicPrefix prefix: String) -> String? {
        guard !prefix.isEmpty else { return nil }
        return String(prefix.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Creates a configuration from its parts.
    public init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String?,
        database: String,
        tls: TLSMode = .prefer,
        caFile: String? = nil,
        maximumConnections: Int = PostgresConfiguration.defaultMaximumConnections,
        connectTimeout: Duration = PostgresConfiguration.defaultConnectTimeout
    ) {
        self.caFile = caFile
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Parses `postgres://user:password@host:port/database[?sslmode=...][&sslrootcert=/path/ca.pem]`.
    ///
    /// User name and password may be percent-encoded (a `@` in a password is written `%40`).
    /// - Throws: ``PostgresStoreError`` with code ``PostgresStoreError/Code/invalidURL``, saying which part is
    ///   wrong and showing a valid example; the error text never contains the password.
    public init(
        url: String,
        maximumConnections: Int = PostgresConfiguration.defaultMaximumConnections,
        connectTimeout: Duration = PostgresConfiguration.defaultConnectTimeout
    ) throws(PostgresStoreError) {
        func invalid(_ problem: String) -> PostgresStoreError {
            PostgresStoreError(
                code: .invalidURL,
                message: "The Postgres URL \(PostgresConfiguration.redact(url: url)) is invalid: \(problem)",
                hint: "write it as \(PostgresConfiguration.urlExample); check postgres.url / QUORUM_POSTGRES_URL"
            )
        }
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw invalid("it is empty") }
        guard trimmed.contains("://") else { throw invalid("it has no scheme (expected postgres:// or postgresql://)") }
        guard let components = URLComponents(string: trimmed) else {
            throw invalid("it cannot be parsed as a URL")
        }
        guard let scheme = components.scheme?.lowercased() else {
            throw invalid("it has no scheme (expected postgres:// or postgresql://)")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme is '\(scheme)' (expected postgres:// or postgresql://)")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it has no host") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid("the port \(port) is out of range 1-65535") }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else {
            throw invalid("it has no user name (write user@host)")
        }
        let password = components.password.map { $0.removingPercentEncoding ?? $0 }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard let database = path.removingPercentEncoding, !database.isEmpty else {
            throw invalid("it has no database name (write /database after the host and port)")
        }
        guard !database.contains("/") else { throw invalid("the database name '\(database)' contains '/'") }

        var tls = TLSMode.prefer
        var caFile: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    let allowed = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw invalid("sslmode '\(item.value ?? "")' is not supported (use one of: \(allowed))")
                }
                tls = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw invalid("sslrootcert is empty (give a CA file path)") }
                caFile = value
            default:
                throw invalid("the parameter '\(item.name)' is not supported (only sslmode and sslrootcert are)")
            }
        }
        self.init(
            host: host, port: port, username: user, password: password, database: database, tls: tls, caFile: caFile,
            maximumConnections: maximumConnections, connectTimeout: connectTimeout
        )
    }

    /// A valid URL to show in error messages.
    public static let urlExample = "postgres://quorum:PASSWORD@127.0.0.1:5432/quorum?sslmode=disable"

    /// The URL with the password replaced by `***` (safe to log).
    public var redactedURL: String {
        let credentials = self.password == nil ? self.username : "\(self.username):***"
        let hostPart = self.host.contains(":") ? "[\(self.host)]" : self.host
        let rootCert = self.caFile.map { "&sslrootcert=\($0)" } ?? ""
        return "postgres://\(credentials)@\(hostPart):\(self.port)/\(self.database)?sslmode=\(self.tls.rawValue)\(rootCert)"
    }

    /// `host:port`, as shown in error messages.
    public var endpoint: String { "\(self.host):\(self.port)" }

    /// Hides the password in any string that looks like a URL with credentials (`scheme://user:secret@...`).
    /// Used for URLs that failed to parse, so even a malformed one is never echoed with its password.
    static func redact(url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else {
            // Not URL-shaped: it could be anything, including a bare password. Show only its length.
            return "(\(url.count) characters, not shown)"
        }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(rest[at...])
    }
}

extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The redacted URL plus pool settings; never the password.
    public var description: String {
        "\(self.redactedURL) (pool \(self.maximumConnections), connect timeout \(self.connectTimeout))"
    }

    public var debugDescription: String { "PostgresConfiguration(\(self.description))" }

    /// Keeps `dump()` and reflection from showing the password.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": self.host, "port": self.port, "username": self.username,
            "password": self.password == nil ? "nil" : "***", "database": self.database,
            "tls": self.tls, "caFile": self.caFile as Any, "maximumConnections": self.maximumConnections, "connectTimeout": self.connectTimeout,
        ])
    }
}
