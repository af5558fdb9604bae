import Foundation
import Logging
import Synchronization
import Testing
@testable import QuorumServiceKit

/// Collects the lines a handler writes.
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    var sink: LogSink { LogSink { line in self.storage.withLock { $0.append(line) } } }
}

private func makeLogger(format: LogFormat, level: Logger.Level = .info, collector: LineCollector) -> Logger {
    Logger(label: "quorum-risk") { label in
        QuorumLogHandler(label: label, service: "quorum-risk", format: format, level: level, sink: collector.sink)
    }
}

private func jsonObject(_ line: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
    return try #require(object as? [String: Any])
}

@Suite("Logging")
struct LoggingTests {
    @Test("JSON lines carry ts, level, service, msg and dotted metadata")
    func jsonLine() throws {
        let collector = LineCollector()
        let logger = makeLogger(format: .json, collector: collector)
        logger.info("order approved \"quoted\"", metadata: ["kafka.topic": "quorum.v1.decisions", "order.qty": .stringConvertible(3)])
        let line = try #require(collector.lines.first)
        #expect(line.hasPrefix("{\"ts\":"))
        let object = try jsonObject(line)
        #expect(object["level"] as? String == "info")
        #expect(object["service"] as? String == "quorum-risk")
        #expect(object["msg"] as? String == "order approved \"quoted\"")
        #expect(object["kafka.topic"] as? String == "quorum.v1.decisions")
        #expect(object["order.qty"] as? String == "3")
        let ts = try #require(object["ts"] as? String)
        #expect(ts.hasSuffix("Z"))
        #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(ts) <= Date())
    }

    @Test("text lines and level filtering")
    func textLineAndLevel() throws {
        let collector = LineCollector()
        var logger = makeLogger(format: .text, level: .notice, collector: collector)
        logger[metadataKey: "service.instance"] = "a1"
        logger.info("dropped below level")
        logger.warning("slow consumer", metadata: ["kafka.topic": "quorum.v1.md.bars"])
        #expect(collector.lines.count == 1)
        let line = try #require(collector.lines.first)
        #expect(line.contains(" warning quorum-risk: slow consumer"))
        #expect(line.contains("kafka.topic=quorum.v1.md.bars"))
        #expect(line.contains("service.instance=a1"))
    }

    @Test("passwords in URLs and secret-named metadata are redacted")
    func redactsSecrets() throws {
        for format in LogFormat.allCases {
            let collector = LineCollector()
            let logger = makeLogger(format: format, collector: collector)
            logger.info("connecting to postgres://quorum:pw-in-message@db:5432/quorum", metadata: [
                "postgres.url": "postgres://quorum:pw-in-url@db:5432/quorum",
                "redis.password": "pw-by-key",
                "exchange.secret": "sec-by-key",
                "binance_api_key": "key-by-name",
                "nested": ["inner.password": "pw-nested", "endpoints": ["redis://:pw-in-array@r:6379"]],
                "redis.url": "redis://127.0.0.1:6379",
            ])
            let line = try #require(collector.lines.first)
            for secret in ["pw-in-message", "pw-in-url", "pw-by-key", "sec-by-key", "key-by-name", "pw-nested", "pw-in-array"] {
                #expect(!line.contains(secret), "\(format): \(secret) leaked in \(line)")
            }
            #expect(line.contains("postgres://quorum:***@db:5432/quorum"))
            #expect(line.contains("redis://:***@r:6379"))
            #expect(line.contains("redis://127.0.0.1:6379"))
        }
    }

    @Test("makeLogger follows log.level and log.format")
    func loggerFromConfig() throws {
        let collector = LineCollector()
        let config = try Configuration(values: ["service.name": "quorum-ingest", "log.level": "debug", "log.format": "text"])
        let logger = QuorumLogging.makeLogger(label: "quorum-ingest", config: config, sink: collector.sink)
        logger.debug("visible at debug")
        logger.trace("hidden at trace")
        #expect(collector.lines.count == 1)
        #expect(collector.lines.first?.contains("debug quorum-ingest: visible at debug") == true)
    }

    @Test("an unknown log level or format is a configuration error")
    func validatesLogKeys() throws {
        let badLevel = try Configuration(values: ["log.level": "loud"])
        #expect(throws: ConfigurationError.self) { try QuorumLogging.validate(badLevel) }
        let badFormat = try Configuration(values: ["log.format": "xml"])
        do {
            try QuorumLogging.validate(badFormat)
            Issue.record("log.format=xml was accepted")
        } catch {
            #expect("\(error)".contains("'log.format'"))
        }
    }
}

@Suite("Redaction")
struct RedactionTests {
    @Test("URL passwords", arguments: [
        ("postgres://quorum:pw@127.0.0.1:5432/quorum", "postgres://quorum:***@127.0.0.1:5432/quorum"),
        ("redis://:pw@host:6379", "redis://:***@host:6379"),
        ("see https://u:p@a/x and amqp://v:q@b?z", "see https://u:***@a/x and amqp://v:***@b?z"),
        ("postgres://quorum:p@ss@db/quorum", "postgres://quorum:***@db/quorum"),
        ("postgres://quorum@127.0.0.1:5432/quorum", "postgres://quorum@127.0.0.1:5432/quorum"),
        ("http://127.0.0.1:8080/metrics", "http://127.0.0.1:8080/metrics"),
        ("no url here", "no url here"),
    ])
    func urlPasswords(input: String, expected: String) {
        #expect(Redaction.redactURLPasswords(in: input) == expected)
    }

    @Test("secret key names")
    func secretKeys() {
        for key in ["password", "redis.password", "exchange.secret", "api_key", "binance_api_key", "x.apikey", "auth.token"] {
            #expect(Redaction.isSecretKey(key), "\(key)")
        }
        for key in ["kafka.topic", "order.id", "secretary", "password_policy.length"] {
            #expect(!Redaction.isSecretKey(key), "\(key)")
        }
    }
}
