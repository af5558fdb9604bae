import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Delivers alerts to webhooks off the pipeline's path.
///
/// `enqueue` only takes a lock and appends to the `DeliveryScheduler` (the state machine that decides about de-duplication,
/// queue limits, rate limits, retries and back-off), so it returns at once whatever the receivers do. `run` (a
/// `Service`) keeps one worker per destination that asks the scheduler what to do, sends with AsyncHTTPClient and reports
/// the answer back. A slow or failing receiver therefore delays only its own lane; when the lane is full, new alerts are
/// dropped for it and counted. What is queued when the service stops is lost (every alert is in Postgres and on the
/// `alerts` topic).
///
/// Secrets: the request URL holds the webhook secret or the bot token. It is never logged; errors are logged through
/// `WebhookDestination.redact`, and AsyncHTTPClient is given no logger (its debug logs name the URL).
public final class WebhookDispatcher: Service, Sendable {
    public typealias Outcome = DeliveryScheduler.Outcome
    public let destinations: [WebhookDestination]
    private let scheduler: Mutex<DeliveryScheduler>
    private let wakeups: [AsyncStream<Void>]
    private let wake: [AsyncStream<Void>.Continuation]
    private let client: HTTPClient
    private let timeout: Duration
    private let logger: Logger
    private let counts = Mutex<[String: [Outcome: Int]]>([:])
    private let onOutcome: @Sendable (WebhookDestination, Outcome) -> Void

    /// - Parameters:
    ///   - timeout: limit of one request (connect, send, answer).
    ///   - onOutcome: called for every outcome (metrics); must not block.
    public init(destinations: [WebhookDestination], policy: DeliveryPolicy = DeliveryPolicy(), timeout: Duration = .seconds(10),
                client: HTTPClient = .shared, logger: Logger,
                onOutcome: @escaping @Sendable (WebhookDestination, Outcome) -> Void = { _, _ in }) {
        self.destinations = destinations
        scheduler = Mutex(DeliveryScheduler(destinations: destinations.count, policy: policy))
        var streams: [AsyncStream<Void>] = []
        var continuations: [AsyncStream<Void>.Continuation] = []
        for _ in destinations {
            let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            streams.append(stream)
            continuations.append(continuation)
        }
        wakeups = streams
        wake = continuations
        self.client = client
        self.timeout = timeout
        self.logger = logger
        self.onOutcome = onOutcome
    }

    /// Queues `notice` for every destination and returns at once: `queued`, `duplicate` (its id was enqueued before) or
    /// `dropped` (that destination's queue is full), per destination.
    @discardableResult
    public func enqueue(_ notice: AlertNotice) -> [Outcome] {
        let outcomes = scheduler.withLock { $0.enqueue(notice) }
        for (i, outcome) in outcomes.enumerated() {
            count(i, outcome)
            if outcome == .queued { wake[i].yield() }
        }
        return outcomes
    }

    /// Outcomes so far at the destination named `name` (for tests and the status page).
    public func outcomes(_ name: String) -> [Outcome: Int] { counts.withLock { $0[name] ?? [:] } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for lane in self.destinations.indices {
                    group.addTask { await self.work(lane) }
                }
            }
        }
        for continuation in wake { continuation.finish() }
    }

    /// One destination's worker: send, wait for the back-off or rate limit, or sleep until something is queued.
    private func work(_ lane: Int) async {
        var woken = wakeups[lane].makeAsyncIterator()
        while !Task.isCancelled {
            switch scheduler.withLock({ $0.next(lane, now: .now) }) {
            case .send(let notice, let attempt):
                let result = await send(notice, lane: lane, attempt: attempt)
                count(lane, scheduler.withLock { $0.finished(lane, result, now: .now) })
            case .wait(let until):
                do { try await Task.sleep(until: until, clock: .continuous) } catch { return }
            case .idle:
                guard await woken.next() != nil else { return }
            }
        }
    }

    private func count(_ lane: Int, _ outcome: Outcome) {
        let destination = destinations[lane]
        counts.withLock { $0[destination.name, default: [:]][outcome, default: 0] += 1 }
        onOutcome(destination, outcome)
        switch outcome {
        case .dropped:
            logger.warning("alert dropped: the destination's queue is full", metadata: ["alert.destination": .string(destination.name)])
        case .failed:
            logger.error("alert not delivered: every attempt failed", metadata: ["alert.destination": .string(destination.name)])
        default:
            break
        }
    }

    /// One POST; never throws (every failure is a result for the scheduler).
    private func send(_ notice: AlertNotice, lane: Int, attempt: Int) async -> DeliveryScheduler.AttemptResult {
        let destination = destinations[lane]
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "quorum-monitor")
        request.body = .bytes(ByteBuffer(bytes: WebhookPayload.body(notice, for: destination)))
        let metadata: Logger.Metadata = [
            "alert.id": .string(notice.id), "alert.destination": .string(destination.name), "alert.attempt": .stringConvertible(attempt),
        ]
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let result = Self.classify(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
            if result != .delivered {
                logger.warning("alert delivery refused", metadata: metadata.merging([
                    "http.status": .stringConvertible(response.status.code),
                    "alert.retry": .stringConvertible(result != .rejected),
                ]) { $1 })
            } else {
                logger.debug("alert delivered", metadata: metadata)
            }
            return result
        } catch {
            logger.warning("alert delivery failed", metadata: metadata.merging([
                "error": .string(destination.redact(String(describing: error))),
            ]) { $1 })
            return .retry(after: nil)
        }
    }

    /// The scheduler's view of an HTTP answer: 2xx delivered; 429 retried after its Retry-After (the header in seconds,
    /// else Discord's `retry_after` or Telegram's `parameters.retry_after` in the JSON body); 408 and 5xx retried after
    /// the back-off; any other status refused for good.
    public static func classify(status: Int, headers: HTTPHeaders, body: [UInt8]) -> DeliveryScheduler.AttemptResult {
        switch status {
        case 200..<300: return .delivered
        case 429: return .retry(after: retryAfter(headers: headers, body: body))
        case 408, 500..<600: return .retry(after: nil)
        default: return .rejected
        }
    }

    static func retryAfter(headers: HTTPHeaders, body: [UInt8]) -> Duration? {
        if let text = headers.first(name: "Retry-After"), let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return .milliseconds(Int64((seconds * 1_000).rounded(.up)))
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        let value = json["retry_after"] ?? (json["parameters"] as? [String: Any])?["retry_after"]
        guard let seconds = (value as? NSNumber)?.doubleValue, seconds >= 0 else { return nil }
        return .milliseconds(Int64((seconds * 1_000).rounded(.up)))
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
