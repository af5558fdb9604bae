import NIOCore
import PostgresNIO
import QuorumTLS

extension PostgresStore {
    /// Turns PostgresNIO and NIO errors into ``PostgresStoreError``s that say what to do. Errors of other types
    /// (the caller's own, `CancellationError`) are returned unchanged.
    ///
    /// Built only from the configuration's host, port, user and database and the server's message: never from
    /// the password or the URL.
    func translate(_ error: any Error) -> any Error {
        let config = self.configuration
        let at = "\(config.endpoint)"
        let urlHint = "check postgres.url / QUORUM_POSTGRES_URL"
        switch error {
        case let error as PostgresStoreError:
            return error
        case let error as PostgresTransactionError:
            return self.translate(error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError ?? error)
        case let error as ChannelError:
            if case .connectTimeout = error {
                return PostgresStoreError(
                    code: .unreachable,
                    message: "Postgres at \(at) did not answer within the connect timeout (\(config.connectTimeout))",
                    hint: "is the server running and reachable from here? \(urlHint)")
            }
            return PostgresStoreError(
                code: .unreachable,
                message: "The connection to Postgres at \(at) failed: \(error)",
                hint: "is the server running? \(urlHint)")
        case let error as PSQLError:
            return self.translate(psql: error, at: at, urlHint: urlHint)
        default:
            if let failure = ClientTLS.describeHandshakeFailure(error) { return self.tlsFailure(failure, at: at) }
            return error
        }
    }

    /// A failed TLS handshake: wrong CA, a certificate that does not name the host, or no TLS on the port.
    private func tlsFailure(_ failure: String, at: String) -> PostgresStoreError {
        PostgresStoreError(
            code: .tls,
            message: "TLS to Postgres at \(at) (sslmode=\(self.configuration.tls.rawValue)) failed: \(failure)",
            hint: "trust the CA that signed the server's certificate with postgres.tls.ca.file (or sslrootcert= in"
                + " postgres.url), and connect to a host name the certificate names (or use sslmode=verify-ca)")
    }

    private func translate(psql error: PSQLError, at: String, urlHint: String) -> any Error {
        let config = self.configuration
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState]
            let serverMessage = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "28000" where serverMessage.contains("no encryption"):
                // pg_hba.conf has only hostssl lines for this client: the server accepts TLS connections only.
                return PostgresStoreError(
                    code: .tls,
                    message: "Postgres at \(at) accepts only TLS connections: \(serverMessage)",
                    hint: "set sslmode=verify-full (with postgres.tls.ca.file) in postgres.url", sqlState: state)
            case "28P01", "28000":
                return PostgresStoreError(
                    code: .authenticationFailed,
                    message: "Postgres rejected the password for user '\(config.username)' at \(at)",
                    hint: urlHint, sqlState: state)
            case "3D000":
                return PostgresStoreError(
                    code: .databaseNotFound,
                    message: "Postgres at \(at) has no database '\(config.database)'",
                    hint: "create it (createdb \(config.database)) or fix the database name; \(urlHint)", sqlState: state)
            case "57P03", "53300", "57P01":
                return PostgresStoreError(
                    code: .unreachable,
                    message: "Postgres at \(at) refused the connection: \(serverMessage)",
                    hint: "it is starting up, shutting down or out of connection slots; retry later", sqlState: state)
            default:
                var message = "Postgres at \(at) (database '\(config.database)') reported an error: \(serverMessage)"
                if let detail = error.serverInfo?[.detail] { message += " (\(detail))" }
                return PostgresStoreError(
                    code: .query, message: message,
                    hint: "see the SQLSTATE in the Postgres documentation, appendix A", sqlState: state)
            }
        case .connectionError:
            if let underlying = error.underlying as? ChannelError, case .connectTimeout = underlying {
                return self.translate(underlying)
            }
            if let underlying = error.underlying, let failure = ClientTLS.describeHandshakeFailure(underlying) {
                return self.tlsFailure(failure, at: at)
            }
            let reason = error.underlying.map { "\($0)" } ?? "unknown reason"
            return PostgresStoreError(
                code: .unreachable,
                message: "Cannot connect to Postgres at \(at): \(reason)",
                hint: "is the server running and listening on that host and port? \(urlHint)")
        case .serverClosedConnection, .uncleanShutdown:
            return PostgresStoreError(
                code: .unreachable,
                message: "Postgres at \(at) closed the connection",
                hint: "the server restarted or dropped the connection; retry")
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return PostgresStoreError(
                code: .tls,
                message: "TLS to Postgres at \(at) failed (\(error.code))",
                hint: "enable ssl on the server, or use sslmode=disable/prefer in the URL; \(urlHint)")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return PostgresStoreError(
                code: .authenticationFailed,
                message: "Postgres authentication for user '\(config.username)' at \(at) failed (\(error.code))",
                hint: "the server wants a password or an authentication method this client does not support; \(urlHint)")
        case .poolClosed, .clientClosedConnection:
            return PostgresStoreError(
                code: .shutdown,
                message: "The Postgres store for \(at) is shut down",
                hint: "the pool's run() has ended; keep PostgresStore.run() running while the store is used")
        case .queryCancelled:
            return PostgresStoreError(
                code: .timeout,
                message: "A Postgres request to \(at) was cancelled",
                hint: "the caller stopped waiting (cancellation or timeout)")
        default:
            return PostgresStoreError(
                code: .query,
                message: "Postgres request to \(at) failed (\(error.code))",
                hint: "this is a client/protocol error; report it with the logs")
        }
    }
}
