import NIOSSL

/// The client side of TLS for the adapters built on swift-nio-ssl (Postgres, Redis): which CAs to trust and whether the
/// server's name is checked. (librdkafka does its own TLS with OpenSSL; QuorumKafka hands it the same files.)
public enum ClientTLS {
    /// How strictly the server's certificate is checked.
    public enum Verification: Sendable, Hashable {
        /// The certificate must chain to a trusted CA and name the host connected to: a DNS name in its subject
        /// alternative names, or the IP address when the host is one (libpq `verify-full`).
        case fullVerification
        /// The certificate must chain to a trusted CA; its names are not checked (libpq `verify-ca`).
        case caOnly
    }

    /// A client TLS configuration trusting the certificates in `caFile` (all of them; none of the system's), or the
    /// system's trust store when `caFile` is `nil`.
    /// - Throws: ``PEMFileError`` naming the path when the file is missing, unreadable, not PEM or not parsable.
    public static func configuration(caFile: String?, verification: Verification) throws(PEMFileError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch verification {
        case .fullVerification: configuration.certificateVerification = .fullVerification
        case .caOnly: configuration.certificateVerification = .noHostnameVerification
        }
        if let caFile {
            configuration.trustRoots = .certificates(try loadCertificates(caFile, holding: .caCertificates))
        }
        return configuration
    }

    /// The certificates of a PEM file, checked first with ``PEMFile/check(_:holds:)``.
    public static func loadCertificates(_ path: String, holding content: PEMContent) throws(PEMFileError) -> [NIOSSLCertificate] {
        let bytes = try PEMFile.read(path, holds: content)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            // NIOSSL's errors name the failing BoringSSL routine, never the bytes.
            throw PEMFileError(path: path, content: content, problem: .unparsable("\(error)"))
        }
        guard !certificates.isEmpty else { throw PEMFileError(path: path, content: content, problem: .notPEM) }
        return certificates
    }

    /// A short, readable account of a failed TLS handshake (NIOSSL's errors spell out BoringSSL's codes).
    ///
    /// - Returns: `nil` when `error` is not a TLS error.
    public static func describeHandshakeFailure(_ error: any Error) -> String? {
        switch error {
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            // NIOSSL's own text shows "<none>" for an IP address; the caller names the host.
            return "the server's certificate does not name the host connected to"
        case let error as NIOSSLError:
            let text = "\(error)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "the server's certificate is not signed by a trusted CA (CERTIFICATE_VERIFY_FAILED)"
            }
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
                return "the server does not speak TLS on this port (\(text))"
            }
            return "TLS failed: \(text)"
        case let error as NIOSSLExtraError:
            return "TLS failed: \(error)"
        case let error as BoringSSLError:
            return "TLS failed: \(error)"
        default:
            return nil
        }
    }
}
