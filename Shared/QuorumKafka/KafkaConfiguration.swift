import Foundation
import QuorumBus

/// How to reach the broker and tune the clients.
///
/// Keys (service configuration → field, default):
/// - `kafka.brokers` → `brokers` ("127.0.0.1:9092"): comma-separated host:port list.
/// - `kafka.client.id` → `clientID` ("quorum").
/// - `kafka.session.timeout.ms` → `sessionTimeoutMs` (6000): the local broker assigns partitions after
///   about half of it, so keep it small (6000–10000) locally.
/// - `kafka.linger.ms` → `lingerMs` (5): producer batching delay.
/// - `kafka.commit.interval.ms` → `commitIntervalMs` (1000): how often marked offsets are committed.
/// - `kafka.request.timeout.ms` → `requestTimeoutMs` (10000): admin/metadata calls and the start-up check.
/// - `kafka.message.timeout.ms` → `messageTimeoutMs` (30000): a send fails after this long undelivered.
/// - `kafka.fetch.wait.max.ms` → `fetchWaitMaxMs` (10): longest a consumer's fetch waits at the broker for data;
///   the local broker answers a waiting fetch only when the wait ends, so a message published to an idle partition
///   can wait this long at the broker (the consumer then hands it over at once; a hop's latency also has the
///   producer's linger, the handler and the commit). Also used
///   as `fetch.queue.backoff.ms`: how long a partition is not fetched after the local queue was over its threshold
///   (librdkafka's default, 1000 ms, stalled a consumer that was a little slower than the fetcher for ~0.85 s at a
///   time: `make bench-bus` consume went from 0.47–0.50M to 0.97–0.98M msg/s).
/// - `kafka.tls.enabled`, `kafka.tls.ca.file`, `kafka.tls.cert.file`, `kafka.tls.key.file` → `tls` (nil: plain TCP):
///   TLS to the brokers with the broker's certificate and host name verified (``TLS``).
/// - `properties`: extra librdkafka properties (e.g. `security.protocol`, `sasl.*`); values of keys
///   containing "password" or "secret" are never printed.
public struct KafkaConfiguration: Sendable, Hashable, CustomStringConvertible {
    public var brokers: String
    public var clientID: String
    public var sessionTimeoutMs: Int
    public var lingerMs: Int
    public var commitIntervalMs: Int
    public var requestTimeoutMs: Int
    public var messageTimeoutMs: Int
    public var fetchWaitMaxMs: Int
    /// TLS to the brokers, or `nil` for plain TCP.
    public var tls: TLS?
    public var properties: [String: String]

    /// TLS to the brokers: librdkafka `security.protocol=ssl` with OpenSSL, verifying that the broker's certificate chains
    /// to a CA in ``caFile`` (or the system's trust store when it is `nil`) and names the host it connects to
    /// (`ssl.endpoint.identification.algorithm=https`: the host of `kafka.brokers` for the first connection, then each
    /// broker's advertised host). A client certificate and key (mutual TLS) are optional and go together.
    public struct TLS: Sendable, Hashable {
        /// PEM file of the CA certificate(s) (`ssl.ca.location`); `nil` uses the system's trust store.
        public var caFile: String?
        /// PEM client certificate (`ssl.certificate.location`), for brokers that require client certificates.
        public var certificateFile: String?
        /// Unencrypted PEM private key of the client certificate (`ssl.key.location`).
        public var keyFile: String?

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }

        /// The librdkafka properties that switch TLS on.
        var properties: [(String, String)] {
            var p: [(String, String)] = [
                ("security.protocol", "ssl"),
                // librdkafka's default since 2.0, set anyway: the broker's host name must be in its certificate.
                ("ssl.endpoint.identification.algorithm", "https"),
                ("enable.ssl.certificate.verification", "true"),
            ]
            if let caFile { p.append(("ssl.ca.location", caFile)) }
            if let certificateFile { p.append(("ssl.certificate.location", certificateFile)) }
            if let keyFile { p.append(("ssl.key.location", keyFile)) }
            return p
        }
    }

    public init(brokers: String = "127.0.0.1:9092", clientID: String = "quorum", sessionTimeoutMs: Int = 6000,
                lingerMs: Int = 5, commitIntervalMs: Int = 1000, requestTimeoutMs: Int = 10_000,
                messageTimeoutMs: Int = 30_000, fetchWaitMaxMs: Int = 10, tls: TLS? = nil, properties: [String: String] = [:]) {
        self.fetchWaitMaxMs = fetchWaitMaxMs
        self.tls = tls
        self.brokers = brokers
        self.clientID = clientID
        self.sessionTimeoutMs = sessionTimeoutMs
        self.lingerMs = lingerMs
        self.commitIntervalMs = commitIntervalMs
        self.requestTimeoutMs = requestTimeoutMs
        self.messageTimeoutMs = messageTimeoutMs
        self.properties = properties
    }

    /// Checks the values before any client is made, so a typo is reported in words instead of by librdkafka.
    public func validate() throws {
        let list = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !list.isEmpty, list.allSatisfy({ entry in
            guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]) else { return false }
            return colon != entry.startIndex && (1...65535).contains(port)
        }) else {
            throw BusError(.invalidConfiguration,
                           "kafka.brokers '\(brokers)' is not a comma-separated list of host:port (for example 127.0.0.1:9092)")
        }
        for (name, value) in [("kafka.session.timeout.ms", sessionTimeoutMs), ("kafka.request.timeout.ms", requestTimeoutMs),
                              ("kafka.message.timeout.ms", messageTimeoutMs), ("kafka.commit.interval.ms", commitIntervalMs),
                              ("kafka.fetch.wait.max.ms", fetchWaitMaxMs)]
        where value <= 0 {
            throw BusError(.invalidConfiguration, "\(name) must be a positive number of milliseconds, got \(value)")
        }
        if let tls, (tls.certificateFile == nil) != (tls.keyFile == nil) {
            throw BusError(.invalidConfiguration,
                           "kafka.tls.cert.file and kafka.tls.key.file go together: set both (mutual TLS) or neither")
        }
    }

    public var description: String {
        let extra = properties.keys.sorted().map { key in
            "\(key)=\(Self.isSecret(key) ? "***" : properties[key]!)"
        }
        let security = tls.map { " tls(ca: \($0.caFile ?? "system trust store")\($0.certificateFile.map { ", cert: \($0)" } ?? ""))" } ?? ""
        return "kafka(brokers: \(brokers), client: \(clientID)\(security)\(extra.isEmpty ? "" : ", " + extra.joined(separator: ", ")))"
    }

    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.contains("key") && !k.hasSuffix("key.serializer")
    }

    /// librdkafka properties shared by producers and consumers.
    func commonProperties(clientID: String) -> [(String, String)] {
        var p: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("client.id", clientID),
            ("socket.timeout.ms", String(requestTimeoutMs)),
            // librdkafka's default metadata refresh (5 min) is kept on purpose: the local broker answers a
            // metadata request slowly once it holds millions of records, and a refresh every 10 s halved
            // consumer throughput in make bench-bus (0.48M vs 1.0M msg/s).
            ("broker.address.family", "v4"),
            // Topics are created from the registry only (TopicGuard re-creates lost ones): a producer's metadata request
            // must not create a missing topic with the broker's default partition count (librdkafka's producer default).
            ("allow.auto.create.topics", "false"),
            // No client metrics push (KIP-714): the local broker does not offer it, and with it on, destroying a
            // handle waited for the telemetry to end (seen: the monitor's lag poll, a fresh group handle per
            // topic, sat in rd_kafka_telemetry_await_termination and outlived shutdown.timeout).
            ("enable.metrics.push", "false"),
        ]
        if let tls { p += tls.properties }
        for key in properties.keys.sorted() { p.append((key, properties[key]!)) }
        return p
    }
}

