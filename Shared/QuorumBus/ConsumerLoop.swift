import Logging
import Synchronization

/// Why a message went to its topic's dead-letter twin (the `quorum.dlq.reason` header).
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// The bytes are not a valid message of the topic's type.
    case undecodable
    /// It decoded but broke a rule (e.g. negative price, unknown symbol).
    case invalid
}

/// A handler's verdict on a message that cannot be processed, ever (retrying will not help).
public struct RejectedMessage: Error, Sendable, CustomStringConvertible {
    public var reason: DeadLetterReason
    public var detail: String
    public init(_ reason: DeadLetterReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// Header names of dead letters.
public enum DeadLetterHeader {
    public static let reason = "quorum.dlq.reason"
    public static let detail = "quorum.dlq.detail"
    public static let sourceTopic = "quorum.dlq.source.topic"
    public static let sourcePartition = "quorum.dlq.source.partition"
    public static let sourceOffset = "quorum.dlq.source.offset"
    public static let consumerGroup = "quorum.dlq.group"
    /// File and 1-based line of a rejected input row (quorum-ingest).
    public static let sourceFile = "quorum.dlq.source.file"
    public static let sourceLine = "quorum.dlq.source.line"
    /// Length in bytes of a rejected input row whose record carries only its beginning, and the FNV-1a 64 digest
    /// of the whole row (quorum-ingest; rows longer than 1 KiB).
    public static let rawLength = "quorum.dlq.raw.length"
    public static let rawDigest = "quorum.dlq.raw.digest"
}

extension IncomingMessage {
    /// This message as a dead letter: same key, value and headers, plus the reason headers.
    public func deadLetter(_ rejection: RejectedMessage, group: String) -> OutgoingMessage {
        var headers = self.headers
        headers.append(MessageHeader(DeadLetterHeader.reason, rejection.reason.rawValue))
        headers.append(MessageHeader(DeadLetterHeader.detail, String(rejection.detail.prefix(1000))))
        headers.append(MessageHeader(DeadLetterHeader.sourceTopic, topic))
        headers.append(MessageHeader(DeadLetterHeader.sourcePartition, String(partition)))
        headers.append(MessageHeader(DeadLetterHeader.sourceOffset, String(offset)))
        headers.append(MessageHeader(DeadLetterHeader.consumerGroup, group))
        return OutgoingMessage(topic: topic + Topic.deadLetterSuffix, key: key, value: value, headers: headers, timestampMs: timestampMs)
    }
}

/// The at-least-once loop every consuming stage runs:
///
///     next() → handle → (on RejectedMessage: publish to <topic>.dlq and wait for the ack) → commit → next()
///
/// - A handler that returns normally has made its effects durable; then the offset is marked.
/// - A handler that throws `RejectedMessage` sends the message to the dead-letter topic; the offset is
///   marked only after the broker acknowledged the dead letter, so nothing is lost.
/// - Any other error is treated as transient (a server is down): the same message is retried with
///   backoff, never skipped. Handlers are idempotent, so a retry after a partial effect is safe.
/// - `stop()` (graceful shutdown) lets the in-flight message finish, then `run` commits and returns.
public final class ConsumerLoop: Sendable {
    public let consumer: any MessageConsumer
    public let deadLetters: any MessageProducer
    public let group: String
    let logger: Logger
    let maxBackoff: Duration
    let stopping = Atomic<Bool>(false)

    public init(consumer: any MessageConsumer, deadLetters: any MessageProducer, group: String, logger: Logger,
                maxBackoff: Duration = .seconds(5)) {
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.group = group
        self.logger = logger
        self.maxBackoff = maxBackoff
    }

    /// Asks `run` to return after the in-flight message.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        consumer.interrupt()
    }

    /// Runs until `stop()` or the consumer closes. Returns after the last marked offset was committed.
    public func run(_ handle: @Sendable (IncomingMessage) async throws -> Void) async throws {
        while let message = try await consumer.next() {
            var backoff: Duration = .milliseconds(50)
            while true {
                do {
                    try await handle(message)
                    break
                } catch let rejection as RejectedMessage {
                    let letter = message.deadLetter(rejection, group: group)
                    _ = try await deadLetters.send(letter)
                    logger.warning("message sent to dead-letter topic", metadata: [
                        "kafka.topic": .string(message.topic), "kafka.partition": .stringConvertible(message.partition),
                        "kafka.offset": .stringConvertible(message.offset), "dlq.reason": .string(rejection.reason.rawValue),
                        "dlq.detail": .string(rejection.detail),
                    ])
                    break
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.warning("handler failed; retrying the same message", metadata: [
                        "kafka.topic": .string(message.topic), "kafka.offset": .stringConvertible(message.offset),
                        "error": .string(String(describing: error)), "retry.in": .string("\(backoff)"),
                    ])
                    if stopping.load(ordering: .acquiring) {
                        // Shutting down: leave the message uncommitted; the next owner handles it again.
                        try await consumer.commitNow()
                        return
                    }
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, maxBackoff)
                }
            }
            try consumer.commit(message)
        }
        try await consumer.commitNow()
    }
}
