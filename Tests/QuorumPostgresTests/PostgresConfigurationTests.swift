import NIOSSL
import Testing
@testable import QuorumPostgres

@Suite("PostgresConfiguration")
struct PostgresConfigurationTests {
    static let secret = "s3cr3t-Pa55"

    @Test func parsesAFullURL() throws {
        let config = try PostgresConfiguration(url: "postgres://quorum:\(Self.secret)@127.0.0.1:5433/quorum_db?sslmode=disable")
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 5433)
        #expect(config.username == "quorum")
        #expect(config.password == Self.secret)
        #expect(config.database == "quorum_db")
        #expect(config.tls == .disable)
        #expect(config.maximumConnections == PostgresConfiguration.defaultMaximumConnections)
        #expect(config.connectTimeout == PostgresConfiguration.defaultConnectTimeout)
    }

    @Test func acceptsPostgresqlSchemeDefaultsAndPoolSettings() throws {
        let config = try PostgresConfiguration(
            url: "postgresql://app@db.internal/records", maximumConnections: 3, connectTimeout: .seconds(1))
        #expect(config.host == "db.internal")
        #expect(config.port == 5432)
        #expect(config.password == nil)
        #expect(config.tls == .prefer)
        #expect(config.maximumConnections == 3)
        #expect(config.connectTimeout == .seconds(1))
        #expect(try PostgresConfiguration(url: "postgres://a:b@h/d?sslmode=require").tls == .require)
    }

    @Test func parsesTheVerifyModesAndSslrootcertAsLibpqDoes() throws {
        let full = try PostgresConfiguration(url: "postgres://a:\(Self.secret)@db.internal/d?sslmode=verify-full&sslrootcert=/etc/quorum/ca.pem")
        #expect(full.tls == .verifyFull)
        #expect(full.caFile == "/etc/quorum/ca.pem")
        #expect(full.redactedURL == "postgres://a:***@db.internal:5432/d?sslmode=verify-full&sslrootcert=/etc/quorum/ca.pem")
        #expect(try PostgresConfiguration(url: "postgres://a@h/d?sslmode=verify-ca").tls == .verifyCA)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d?sslmode=verify-ca").caFile == nil)
        #expect(throws: PostgresStoreError.self) { try PostgresConfiguration(url: "postgres://a@h/d?sslmode=verify-full&sslrootcert=") }
    }

    @Test func tlsSettingsPerMode() throws {
        // verify-ca skips the host name; every other TLS mode checks it; disable has no TLS at all.
        let base = try PostgresConfiguration(url: "postgres://a@h/d")
        for (mode, verification) in [(PostgresConfiguration.TLSMode.verifyCA, CertificateVerification.noHostnameVerification),
                                     (.verifyFull, .fullVerification), (.require, .fullVerification), (.prefer, .fullVerification)] {
            var config = base
            config.tls = mode
            #expect(try PostgresStore.tlsConfiguration(config)?.certificateVerification == verification, "\(mode)")
        }
        var disabled = base
        disabled.tls = .disable
        #expect(try PostgresStore.tlsConfiguration(disabled) == nil)
        var missingFile = base
        missingFile.tls = .verifyFull
        missingFile.caFile = "/nonexistent/quorum-ca.pem"
        #expect {
            try PostgresStore.tlsConfiguration(missingFile)
        } throws: { error in
            let error = error as? PostgresStoreError
            return error?.code == .tls && "\(error!)".contains("/nonexistent/quorum-ca.pem") && "\(error!)".contains("does not exist")
        }
    }

    @Test func decodesPercentEncodedCredentials() throws {
        let config = try PostgresConfiguration(url: "postgres://us%40er:p%40ss%2Fword@localhost:5432/db")
        #expect(config.username == "us@er")
        #expect(config.password == "p@ss/word")
    }

    @Test func descriptionRedactsThePassword() throws {
        let config = try PostgresConfiguration(url: "postgres://quorum:\(Self.secret)@127.0.0.1:5432/quorum?sslmode=disable")
        #expect(config.redactedURL == "postgres://quorum:***@127.0.0.1:5432/quorum?sslmode=disable")
        #expect(config.description.contains("postgres://quorum:***@127.0.0.1:5432/quorum"))
        var dumped = ""
        dump(config, to: &dumped)
        for text in [config.description, config.debugDescription, String(reflecting: config), "\(config)", dumped] {
            #expect(!text.contains(Self.secret), "password leaked in: \(text)")
        }
        let noPassword = try PostgresConfiguration(url: "postgres://quorum@127.0.0.1/quorum")
        #expect(noPassword.redactedURL == "postgres://quorum@127.0.0.1:5432/quorum?sslmode=prefer")
    }

    @Test(arguments: [
        ("", "empty"),
        ("mysql://quorum:\(secret)@127.0.0.1:5432/quorum", "scheme"),
        ("127.0.0.1:5432/quorum", "scheme"),
        ("postgres://quorum:\(secret)@:5432/quorum", "host"),
        ("postgres://quorum:\(secret)@127.0.0.1:5432/", "database"),
        ("postgres://127.0.0.1:5432/quorum", "user name"),
        ("postgres://quorum:\(secret)@127.0.0.1:5432/quorum?sslmode=sometimes", "sslmode"),
        ("postgres://quorum:\(secret)@127.0.0.1:5432/quorum?timeout=3", "timeout"),
        ("postgres://quorum:\(secret)@127.0.0.1:99999/quorum", "port"),
        ("postgres://quorum:\(secret)@127.0.0.1:5432/quorum/extra", "contains '/'"),
        ("postgres://quorum:\(secret)@127.0.0.1:port/quorum", "Postgres URL"),
    ])
    func malformedURLsGiveAClearErrorWithoutThePassword(url: String, problem: String) {
        do {
            let config = try PostgresConfiguration(url: url)
            Issue.record("expected an error for \(PostgresConfiguration.redact(url: url)), got \(config)")
        } catch {
            #expect(error.code == .invalidURL)
            #expect(!error.isRetriable)
            #expect(error.description.contains(problem), "\(error)")
            #expect(error.description.contains(PostgresConfiguration.urlExample))
            #expect(!error.description.contains(Self.secret), "password leaked in: \(error)")
        }
    }

    @Test func redactHidesPasswordsInAnyURLShapedText() {
        #expect(PostgresConfiguration.redact(url: "postgres://u:\(Self.secret)@h/d") == "postgres://u:***@h/d")
        #expect(PostgresConfiguration.redact(url: "postgres://u:p@ss@h/d") == "postgres://u:***@h/d")
        #expect(PostgresConfiguration.redact(url: "postgres://u@h/d") == "postgres://u@h/d")
        #expect(!PostgresConfiguration.redact(url: "quorum:\(Self.secret)@h").contains(Self.secret))
    }
}

@Suite("PostgresStoreError")
struct PostgresStoreErrorTests {
    @Test func retriabilityFollowsCodeAndSQLState() {
        func error(_ code: PostgresStoreError.Code, _ state: String? = nil) -> PostgresStoreError {
            PostgresStoreError(code: code, message: "m", hint: "h", sqlState: state)
        }
        #expect(error(.unreachable).isRetriable)
        #expect(error(.timeout).isRetriable)
        #expect(error(.query, "40001").isRetriable)
        #expect(error(.query, "40P01").isRetriable)
        #expect(error(.query, "08006").isRetriable)
        #expect(!error(.query, "23505").isRetriable)
        #expect(!error(.query).isRetriable)
        #expect(!error(.authenticationFailed, "28P01").isRetriable)
        #expect(!error(.migrationChecksumMismatch).isRetriable)
        #expect(!error(.invalidURL).isRetriable)
    }

    @Test func descriptionHasMessageHintAndSQLState() {
        let error = PostgresStoreError(code: .query, message: "Insert failed", hint: "fix it", sqlState: "23505")
        #expect(error.description == "Insert failed (fix it) [SQLSTATE 23505]")
    }
}
