import Foundation
import Logging
import QuorumModel
import Synchronization

/// Where log lines go. ``standardError`` in services; tests use ``LogSink/init(_:)`` to capture lines.
public struct LogSink: Sendable {
    /// Receives one complete line (without the trailing newline).
    public let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// Writes each line to stderr; a lock keeps lines from different threads whole.
    public static let standardError = LogSink { line in
        stderrLock.withLock { _ in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    private static let stderrLock = Mutex<Void>(())
}

/// The log line format.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: `{"ts":"…","level":"info","service":"…","msg":"…","kafka.topic":"…"}`.
    case json
    /// `2025-01-01T12:00:00.000Z info quorum-risk: message kafka.topic=quorum.v1.decisions`.
    case text
}

/// A swift-log handler that writes one line per event, JSON or text, with secrets redacted
/// (see ``Redaction``): passwords in URLs anywhere in the message or metadata, and values of secret-looking keys.
public struct QuorumLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// The logger's label (added as `logger` when it differs from the service name).
    public let label: String
    /// The service name written in every line.
    public let service: String
    public let format: LogFormat
    public let sink: LogSink

    public init(label: String, service: String, format: LogFormat, level: Logger.Level = .info,
                sink: LogSink = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.service = service
        self.format = format
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if label != service { merged["logger"] = .string(label) }
        let message = Redaction.redactURLPasswords(in: event.message.description)
        let line = render(timestamp: Date(), level: event.level, message: message, metadata: Redaction.redact(merged))
        sink.write(line)
    }

    func render(timestamp: Date, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let ts = Self.timestamp(timestamp)
        let sortedKeys = metadata.keys.sorted()
        switch format {
        case .json:
            var line = "{\"ts\":\(JSONText.quote(ts)),\"level\":\(JSONText.quote(level.rawValue)),"
                + "\"service\":\(JSONText.quote(service)),\"msg\":\(JSONText.quote(message))"
            for key in sortedKeys where !["ts", "level", "service", "msg"].contains(key) {
                line += ",\(JSONText.quote(key)):\(JSONText.value(metadata[key]!))"
            }
            return line + "}"
        case .text:
            var line = "\(ts) \(level.rawValue) \(service): \(message)"
            for key in sortedKeys { line += " \(key)=\(Self.textValue(metadata[key]!))" }
            return line
        }
    }

    private static func textValue(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text.contains(" ") ? JSONText.quote(text) : text
        case .stringConvertible(let convertible): textValue(.string(convertible.description))
        case .array, .dictionary: JSONText.value(value)
        }
    }

    /// ISO 8601 in UTC with milliseconds: `2025-01-01T12:00:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}

/// Minimal JSON text writing (keeps key order, which JSONSerialization does not).
enum JSONText {
    static func quote(_ text: String) -> String { JSON.quote(text) }

    static func value(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): quote(text)
        case .stringConvertible(let convertible): quote(convertible.description)
        case .array(let items): "[" + items.map { Self.value($0) }.joined(separator: ",") + "]"
        case .dictionary(let members):
            "{" + members.keys.sorted().map { quote($0) + ":" + Self.value(members[$0]!) }.joined(separator: ",") + "}"
        }
    }
}

/// Sets up process-wide logging once.
public enum QuorumLogging {
    private static let bootstrapped = Mutex(false)

    /// Bootstraps `LoggingSystem` with ``QuorumLogHandler`` using `log.level`, `log.format` and `service.name`.
    /// Safe to call more than once: later calls do nothing (swift-log allows a single bootstrap per process).
    /// - Returns: `false` when logging was already bootstrapped.
    @discardableResult
    public static func bootstrap(config: Configuration, sink: LogSink = .standardError) -> Bool {
        let format = logFormat(config)
        let level = logLevel(config)
        let service = config.serviceName
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return false }
        LoggingSystem.bootstrap { label in
            QuorumLogHandler(label: label, service: service, format: format, level: level, sink: sink)
        }
        return true
    }

    /// A logger using ``QuorumLogHandler`` directly, without touching the global `LoggingSystem` (tests, tools).
    public static func makeLogger(label: String, config: Configuration, sink: LogSink = .standardError) -> Logger {
        Logger(label: label) { label in
            QuorumLogHandler(label: label, service: config.serviceName, format: logFormat(config),
                             level: logLevel(config), sink: sink)
        }
    }

    /// `log.level` as a swift-log level (unknown names fall back to `info`; ``validate(_:)`` reports them).
    public static func logLevel(_ config: Configuration) -> Logger.Level {
        Logger.Level(rawValue: config.string(CommonKeys.logLevel.name).lowercased()) ?? .info
    }

    /// `log.format` (unknown names fall back to `json`; ``validate(_:)`` reports them).
    public static func logFormat(_ config: Configuration) -> LogFormat {
        LogFormat(rawValue: config.string(CommonKeys.logFormat.name).lowercased()) ?? .json
    }

    /// Checks `log.level` and `log.format` hold known names.
    public static func validate(_ config: Configuration) throws {
        let level = config.string(CommonKeys.logLevel.name)
        if Logger.Level(rawValue: level.lowercased()) == nil {
            throw ConfigurationError(.badValue(
                key: CommonKeys.logLevel.name, source: config.source(of: CommonKeys.logLevel.name), expected: .string,
                reason: "not one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "), shownValue: level))
        }
        let format = config.string(CommonKeys.logFormat.name)
        if LogFormat(rawValue: format.lowercased()) == nil {
            throw ConfigurationError(.badValue(
                key: CommonKeys.logFormat.name, source: config.source(of: CommonKeys.logFormat.name), expected: .string,
                reason: "not json or text", shownValue: format))
        }
    }
}
