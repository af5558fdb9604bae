import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a PEM file given in the configuration must hold.
public enum PEMContent: Sendable, Hashable, CustomStringConvertible {
    /// One or more CA certificates (the trust roots for a server's certificate).
    case caCertificates
    /// A client certificate (mutual TLS).
    case certificate
    /// A private key, unencrypted (mutual TLS).
    case privateKey

    public var description: String {
        switch self {
        case .caCertificates: "CA certificate file"
        case .certificate: "certificate file"
        case .privateKey: "private key file"
        }
    }

    /// The start of a PEM block of this kind (`-----BEGIN CERTIFICATE-----`, `-----BEGIN ... PRIVATE KEY-----`).
    var beginMarker: String {
        switch self {
        case .caCertificates, .certificate: "-----BEGIN CERTIFICATE-----"
        case .privateKey: "PRIVATE KEY-----"
        }
    }

    /// What to do about a bad file of this kind.
    var remedy: String {
        switch self {
        case .caCertificates:
            "give the path of a PEM file holding the certificate(s) of the CA that signed the server's certificate"
                + " (a text file with -----BEGIN CERTIFICATE----- blocks, e.g. ca.pem)"
        case .certificate:
            "give the path of the client's PEM certificate (a text file with a -----BEGIN CERTIFICATE----- block)"
        case .privateKey:
            "give the path of the client's unencrypted PEM private key (a text file with a -----BEGIN PRIVATE KEY----- block)"
        }
    }
}

/// A TLS file from the configuration that cannot be used. The ``description`` names the path, says what is wrong and
/// what to do; it never contains the file's content (a private key must not reach a log).
public struct PEMFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable {
        case missing
        case directory
        /// The file exists but cannot be read; the system's reason (e.g. "Permission denied").
        case unreadable(String)
        /// It has no PEM block of the expected kind.
        case notPEM
        /// A private key protected by a passphrase (no key takes a passphrase here).
        case encrypted
        /// It looks like PEM but the TLS library could not parse it; the library's reason (never the content).
        case unparsable(String)
    }

    public var path: String
    public var content: PEMContent
    public var problem: Problem

    public init(path: String, content: PEMContent, problem: Problem) {
        self.path = path
        self.content = content
        self.problem = problem
    }

    /// What is wrong, e.g. "the CA certificate file /etc/quorum/ca.pem does not exist".
    public var reason: String {
        let file = "the \(content) \(path)"
        switch problem {
        case .missing: return "\(file) does not exist"
        case .directory: return "\(file) is a directory, not a file"
        case .unreadable(let why): return "\(file) cannot be read (\(why))"
        case .notPEM: return "\(file) is not PEM: it holds no \(content.beginMarker) block"
        case .encrypted:
            return "\(file) is encrypted with a passphrase, which no key file takes here: decrypt it (openssl pkey -in KEY"
                + " -out KEY.plain) and keep that file readable only by the service"
        case .unparsable(let why): return "\(file) could not be parsed as PEM (\(why))"
        }
    }

    /// What to do about it.
    public var remedy: String { content.remedy }

    public var description: String { "\(reason); \(remedy)" }
}

/// Checks the TLS files named in the configuration before any connection is tried, so that a typo in a path is
/// reported at start-up, naming the path, instead of as a failed handshake later.
public enum PEMFile {
    /// Reads `path` and checks that it holds a PEM block of `content`'s kind. Only the markers are looked at (the TLS
    /// library parses the blocks when it loads them); nothing of the content is kept or shown.
    public static func check(_ path: String, holds content: PEMContent) throws(PEMFileError) {
        _ = try read(path, holds: content)
    }

    private static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let marker = Array(text.utf8)
        guard bytes.count >= marker.count else { return false }
        return (0...(bytes.count - marker.count)).contains { bytes[$0..<$0 + marker.count].elementsEqual(marker) }
    }

    /// The file's bytes, once ``check(_:holds:)`` passed.
    static func read(_ path: String, holds content: PEMContent) throws(PEMFileError) -> [UInt8] {
        func fail(_ problem: PEMFileError.Problem) -> PEMFileError { PEMFileError(path: path, content: content, problem: problem) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw fail(.missing) }
        guard !isDirectory.boolValue else { throw fail(.directory) }
        // open(2) rather than Foundation, for the system's own reason (e.g. "Permission denied").
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(.unreadable(String(cString: strerror(errno)))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        let bytes: [UInt8]
        do {
            bytes = Array(try handle.readToEnd() ?? Data())
        } catch {
            throw fail(.unreadable("read failed"))
        }
        guard contains(bytes, content.beginMarker) else { throw fail(.notPEM) }
        if content == .privateKey && (contains(bytes, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(bytes, "Proc-Type: 4,ENCRYPTED")) {
            throw fail(.encrypted)
        }
        return bytes
    }
}
