import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import QuorumAlertDelivery
import QuorumServiceKit
import Synchronization
import Testing

/// A real HTTP server on a free loopback port that records what it receives and answers per path:
/// `/ok/…` and `/bot…/sendMessage` 200, `/flaky` 500 twice then 200, `/limited` 429 (Retry-After: 1) once then 200,
/// `/fail` always 500, `/gone` 404, `/hang` never answers (within a test).
final class Receiver: Sendable {
    struct Request: Sendable {
        var path: String
        var body: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any]) ?? [:] }
        var raw: String
        var at: ContinuousClock.Instant
    }
    private let received = Mutex<[(path: String, raw: String, at: ContinuousClock.Instant)]>([])
    private let hits = Mutex<[String: Int]>([:])
    private let portBox = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var requests: [Request] { received.withLock { $0.map { Request(path: $0.path, raw: $0.raw, at: $0.at) } } }
    func requests(_ prefix: String) -> [Request] { requests.filter { $0.path.hasPrefix(prefix) } }

    /// Starts the server; returns its base URL.
    func start() async throws -> String {
        let router = Router()
        router.post("**") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let path = request.uri.path
            self.received.withLock { $0.append((path, String(buffer: body), ContinuousClock.now)) }
            let n = self.hits.withLock { h -> Int in
                h[path, default: 0] += 1
                return h[path]!
            }
            if path.hasPrefix("/hang") { try await Task.sleep(for: .seconds(30)) }
            let status: HTTPResponse.Status
            var headers = HTTPFields()
            switch path {
            case "/flaky": status = n <= 2 ? .internalServerError : .ok
            case "/limited":
                status = n == 1 ? .tooManyRequests : .ok
                if n == 1 { headers[.retryAfter] = "1" }
            case "/fail": status = .internalServerError
            case "/gone": status = .notFound
            default: status = .ok
            }
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in self.portBox.withLock { $0 = channel.localAddress?.port } },
                              logger: Logger(label: "receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for _ in 0..<200 {
            if let port = portBox.withLock({ $0 }) { return "http://127.0.0.1:\(port)" }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw CancellationError()
    }

    func stop() { task.withLock { $0?.cancel() } }
}

/// Lines a logger wrote.
final class LogLines: Sendable {
    private let storage = Mutex<[String]>([])
    var text: String { storage.withLock { $0.joined(separator: "\n") } }
    var logger: Logger {
        Logger(label: "quorum-monitor") { label in
            QuorumLogHandler(label: label, service: "quorum-monitor", format: .json, level: .trace,
                             sink: LogSink { line in self.storage.withLock { $0.append(line) } })
        }
    }
}

/// Runs `dispatcher` for the duration of `body`.
func running<T>(_ dispatcher: WebhookDispatcher, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await dispatcher.run() }
    defer { task.cancel() }
    return try await body()
}

/// Waits until `condition` holds (at most `timeout`).
func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        do { try await Task.sleep(for: .milliseconds(20)) } catch { return condition() }
    }
    return condition()
}

func notice(_ id: String, message: String = "drawdown 12.00 % from peak equity 100000 reached the limit of 10.00 %") -> AlertNotice {
    AlertNotice(id: id, severity: "critical", code: "drawdown", message: message, timeNs: 1_551_398_400_000_000_000)
}

@Suite("WebhookDeliveryTests", .serialized, .timeLimit(.minutes(2)))
struct WebhookDeliveryTests {
    static func fastPolicy() -> DeliveryPolicy {
        var p = DeliveryPolicy()
        p.initialBackoff = .milliseconds(50)
        p.maxBackoff = .milliseconds(200)
        p.perMinute = 6_000
        p.burst = 100
        return p
    }

    @Test("Slack, Discord and Telegram each get their own JSON format; the secret never appears in the logs")
    func formats() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        let lines = LogLines()
        let token = "123456:SECRET-token_abc"
        let dispatcher = WebhookDispatcher(destinations: [
            WebhookDestination(name: "slack", kind: .slack, url: "\(base)/ok/slack/T000/B000/secretpath"),
            WebhookDestination(name: "discord", kind: .discord, url: "\(base)/ok/discord/99/secret-discord"),
            WebhookDestination(telegramAPI: base, token: token, chatID: "-1001234"),
        ], policy: Self.fastPolicy(), logger: lines.logger)
        try await running(dispatcher) {
            let outcomes = dispatcher.enqueue(notice("drawdown:account:1", message: "equity <fell> & more"))
            #expect(outcomes == [.queued, .queued, .queued])
            #expect(await eventually { receiver.requests.count == 3 })
            // A delivery counts once its answer is back, a little after the receiver saw the request.
            #expect(await eventually { ["slack", "discord", "telegram"].allSatisfy { dispatcher.outcomes($0)[.delivered] == 1 } })
        }
        let slack = try #require(receiver.requests("/ok/slack").first).body
        #expect(Set(slack.keys) == ["text"])
        #expect((slack["text"] as? String)?.contains("[CRITICAL] drawdown: equity &lt;fell&gt; &amp; more") == true)
        let discord = try #require(receiver.requests("/ok/discord").first).body
        #expect(Set(discord.keys) == ["content", "username", "allowed_mentions"])
        #expect((discord["content"] as? String)?.contains("equity <fell> & more") == true)
        #expect((discord["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
        let telegram = try #require(receiver.requests("/bot\(token)/sendMessage").first).body
        #expect(telegram["chat_id"] as? String == "-1001234")
        #expect((telegram["text"] as? String)?.contains("id drawdown:account:1") == true)
        #expect(dispatcher.outcomes("telegram")[.delivered] == 1)
        for secret in [token, "secretpath", "secret-discord"] { #expect(!lines.text.contains(secret)) }
    }

    @Test("a receiver that fails (500) twice then answers gets the alert on the third attempt, after the back-off")
    func retriesAfterFailures() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        let dispatcher = WebhookDispatcher(destinations: [WebhookDestination(name: "slack", kind: .slack, url: "\(base)/flaky")],
                                           policy: Self.fastPolicy(), logger: LogLines().logger)
        try await running(dispatcher) {
            dispatcher.enqueue(notice("a"))
            #expect(await eventually { dispatcher.outcomes("slack")[.delivered] == 1 })
        }
        let times = receiver.requests("/flaky").map(\.at)
        #expect(times.count == 3)
        #expect(dispatcher.outcomes("slack")[.retried] == 2)
        // Back-off 50 ms, then 100 ms.
        if times.count == 3 {
            #expect(times[1] - times[0] >= .milliseconds(50))
            #expect(times[2] - times[1] >= .milliseconds(100))
        }
    }

    @Test("a 429 is retried after its Retry-After; a 404 is not retried")
    func retryAfterAndRefusal() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        let dispatcher = WebhookDispatcher(destinations: [
            WebhookDestination(name: "discord", kind: .discord, url: "\(base)/limited"),
            WebhookDestination(name: "gone", kind: .discord, url: "\(base)/gone"),
        ], policy: Self.fastPolicy(), logger: LogLines().logger)
        try await running(dispatcher) {
            dispatcher.enqueue(notice("b"))
            #expect(await eventually { dispatcher.outcomes("discord")[.delivered] == 1 && dispatcher.outcomes("gone")[.rejected] == 1 })
        }
        let times = receiver.requests("/limited").map(\.at)
        #expect(times.count == 2)
        if times.count == 2 { #expect(times[1] - times[0] >= .seconds(1), "Retry-After: 1 honoured, not the 50 ms back-off") }
        #expect(receiver.requests("/gone").count == 1)
    }

    @Test("the same alert id is delivered once")
    func deduplicates() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        let dispatcher = WebhookDispatcher(destinations: [WebhookDestination(name: "slack", kind: .slack, url: "\(base)/ok/s")],
                                           policy: Self.fastPolicy(), logger: LogLines().logger)
        try await running(dispatcher) {
            #expect(dispatcher.enqueue(notice("same")) == [.queued])
            #expect(dispatcher.enqueue(notice("same")) == [.duplicate])
            dispatcher.enqueue(notice("other"))
            #expect(await eventually { dispatcher.outcomes("slack")[.delivered] == 2 })
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(receiver.requests("/ok/s").count == 2)
    }

    @Test("rate limit: a burst of 2 then 120 a minute (one per 500 ms)")
    func rateLimited() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        var policy = Self.fastPolicy()
        policy.burst = 2
        policy.perMinute = 120
        let dispatcher = WebhookDispatcher(destinations: [WebhookDestination(name: "slack", kind: .slack, url: "\(base)/ok/r")],
                                           policy: policy, logger: LogLines().logger)
        try await running(dispatcher) {
            for i in 0..<4 { dispatcher.enqueue(notice("r\(i)")) }
            #expect(await eventually { receiver.requests("/ok/r").count == 4 })
        }
        let times = receiver.requests("/ok/r").map(\.at)
        // Arrival times: each request arrives after it was sent, by a delay the machine's load varies, so only lower
        // bounds are checked here (load can only lengthen gaps); that the burst goes at once, and the exact spacing,
        // are DeliverySchedulerTests' business, without a clock.
        if times.count == 4 {
            #expect(times[2] - times[0] >= .milliseconds(300), "the third waits for a token")
            #expect(times[3] - times[0] >= .milliseconds(800), "the fourth waits for the next one")
        }
    }

    @Test("receivers that never answer or always fail block nothing: enqueue returns at once, a full queue drops and counts")
    func neverBlocks() async throws {
        let receiver = Receiver()
        let base = try await receiver.start()
        defer { receiver.stop() }
        var policy = Self.fastPolicy()
        policy.queueLimit = 100
        policy.maxAttempts = 2
        let dispatcher = WebhookDispatcher(destinations: [
            WebhookDestination(name: "hang", kind: .slack, url: "\(base)/hang"),
            WebhookDestination(name: "fail", kind: .slack, url: "\(base)/fail"),
            WebhookDestination(name: "closed", kind: .slack, url: "http://127.0.0.1:1/closed"),
        ], policy: policy, timeout: .seconds(5), logger: LogLines().logger)
        try await running(dispatcher) {
            #expect(dispatcher.enqueue(notice("first")) == [.queued, .queued, .queued])
            let started = ContinuousClock.now
            for i in 0..<1_000 { dispatcher.enqueue(notice("n\(i)")) }
            let elapsed = ContinuousClock.now - started
            // enqueue never waits for a delivery: one wait for the hanging destination alone would
            // take the 5 s timeout, so 1,000 enqueues under 5 s show none waited (not a benchmark).
            #expect(elapsed < .seconds(5), "1,000 enqueues took \(elapsed)")
            #expect((dispatcher.outcomes("hang")[.dropped] ?? 0) >= 900)
            // AsyncHTTPClient keeps trying to connect until the request's timeout (5 s here) before it fails an attempt,
            // so the closed port's two attempts take about 10 s: the limit leaves room for a loaded machine.
            #expect(await eventually(.seconds(40)) { (dispatcher.outcomes("fail")[.failed] ?? 0) >= 1 })
            #expect(await eventually(.seconds(40)) { (dispatcher.outcomes("closed")[.failed] ?? 0) >= 1 })
        }
        #expect(dispatcher.outcomes("hang")[.delivered] == nil)
    }

    @Test("HTTP answers: 2xx delivered, 429 retried after the header or Discord's and Telegram's JSON retry_after, 5xx retried, 404 refused")
    func classification() {
        var h = HTTPHeaders()
        #expect(WebhookDispatcher.classify(status: 204, headers: h, body: []) == .delivered)
        #expect(WebhookDispatcher.classify(status: 503, headers: h, body: []) == .retry(after: nil))
        #expect(WebhookDispatcher.classify(status: 404, headers: h, body: []) == .rejected)
        #expect(WebhookDispatcher.classify(status: 429, headers: h, body: Array(#"{"retry_after": 1.5}"#.utf8)) == .retry(after: .milliseconds(1_500)))
        #expect(WebhookDispatcher.classify(status: 429, headers: h, body: Array(#"{"ok":false,"parameters":{"retry_after":3}}"#.utf8))
                == .retry(after: .seconds(3)))
        h.add(name: "Retry-After", value: "7")
        #expect(WebhookDispatcher.classify(status: 429, headers: h, body: []) == .retry(after: .seconds(7)))
    }
}
