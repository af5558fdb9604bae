import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The health and metrics HTTP server (Hummingbird 2), run as a swift-service-lifecycle `Service`.
///
/// - `GET /health/live`  → 200 `{"status":"live"}` while the process runs.
/// - `GET /health/ready` → 200 when every registered ``DependencyCheck`` passes, else 503 with a JSON body naming
///   the failed checks and why (see ``ReadinessReport/json``). Always 503 once graceful shutdown has started.
/// - `GET /metrics`      → Prometheus text format of ``QuorumMetrics/registry``.
///
/// Bind to port 0 to get a free port; ``boundPort()`` returns the real one, and it is logged at start
/// (`http.port` metadata).
public struct HealthServer: Service {
    public let host: String
    public let port: Int
    public let health: HealthChecks
    public let metrics: QuorumMetrics
    public let logger: Logger
    public let pages: StatusPages
    private let portBox = PortBox()

    public init(host: String, port: Int, health: HealthChecks, metrics: QuorumMetrics, logger: Logger,
                pages: StatusPages = StatusPages()) {
        self.pages = pages
        self.host = host
        self.port = port
        self.health = health
        self.metrics = metrics
        self.logger = logger
    }

    /// `http.host` and `http.port` from the configuration.
    public init(config: Configuration, health: HealthChecks, metrics: QuorumMetrics, logger: Logger,
                pages: StatusPages = StatusPages()) {
        self.init(host: config.string(CommonKeys.httpHost.name), port: config.int(CommonKeys.httpPort.name),
                  health: health, metrics: metrics, logger: logger, pages: pages)
    }

    /// Waits until the server listens and returns its port (the real one when bound to port 0).
    /// Throws ``HealthServerError`` if the server failed or stopped before listening.
    public func boundPort() async throws -> Int {
        try await portBox.wait()
    }

    /// The routes: the three above and the registered `pages`. Quorum parses nothing of a request itself (no query
    /// parameters, no bodies): Hummingbird decodes the request and matches its path. `FuzzHTTP` feeds raw request bytes
    /// through the same HTTP/1 decoder and this router.
    public static func makeRouter(health: HealthChecks, metrics: QuorumMetrics, pages: StatusPages) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health/live") { _, _ in
            Self.response(.ok, contentType: "application/json", body: "{\"status\":\"live\"}")
        }
        router.get("/health/ready") { _, _ in
            let report = await health.readiness()
            return Self.response(report.isReady ? .ok : .serviceUnavailable, contentType: "application/json",
                                 body: report.json)
        }
        router.get("/metrics") { _, _ in
            Self.response(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.render())
        }

        for route in pages.routes {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                let page = try await PageRequest(request, context: context, bodyLimit: route.bodyLimit)
                let answer = await route.handle(page)
                var headers = HTTPFields()
                headers[.contentType] = answer.contentType
                headers[.cacheControl] = "no-store"
                return Response(status: .init(code: answer.status), headers: headers,
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
            switch route.method {
            case .get: router.get(RouterPath(route.path), use: handler)
            case .post: router.post(RouterPath(route.path), use: handler)
            }
        }
        for stream in pages.streams {
            router.get(RouterPath(stream.path)) { request, context in
                let page = try await PageRequest(request, context: context, bodyLimit: 0)
                var headers = HTTPFields()
                headers[.contentType] = "text/event-stream; charset=utf-8"
                headers[.cacheControl] = "no-store"
                let events = pages.open(stream.events(page))
                return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                    // Server-sent events: each element is one `data:` event; the stream ends when the client goes away
                    // (the write throws) or the source finishes.
                    for await event in events {
                        let lines = event.split(separator: "\n", omittingEmptySubsequences: false).map { "data: \($0)" }
                        try await writer.write(ByteBuffer(string: lines.joined(separator: "\n") + "\n\n"))
                    }
                    try await writer.finish(nil)
                })
            }
        }
        return router
    }

    public func run() async throws {
        let router = Self.makeRouter(health: health, metrics: metrics, pages: pages)
        let health = self.health
        let logger = self.logger
        let portBox = self.portBox
        let host = self.host
        var serverLogger = logger
        // Hummingbird logs every request at debug/info; keep those out of the service log unless debugging.
        serverLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: metrics.service),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                portBox.set(.success(bound))
                logger.info("health server listening", metadata: [
                    "http.host": .string(host), "http.port": .stringConvertible(bound),
                ])
            },
            logger: serverLogger
        )
        do {
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                // Readiness goes false before anything else stops, so load balancers stop sending work; open event
                // streams end, so their requests do not hold the server's graceful shutdown.
                Task { await health.markShuttingDown() }
                pages.closeStreams()
            }
            portBox.set(.failure(HealthServerError(reason: "the server stopped before it listened")))
        } catch {
            portBox.set(.failure(HealthServerError(
                reason: "the server on \(host):\(port) failed: \(Redaction.redactURLPasswords(in: String(describing: error)))")))
            throw error
        }
    }

    private static func response(_ status: HTTPResponse.Status, contentType: String, body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The health server could not start or stopped early.
public struct HealthServerError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "health server: \(reason)" }
}

/// The bound port, set once, awaited by any number of callers.
private final class PortBox: Sendable {
    private struct State {
        var result: Result<Int, HealthServerError>?
        var waiters: [CheckedContinuation<Int, any Error>] = []
    }

    private let state = Mutex(State())

    func set(_ result: Result<Int, HealthServerError>) {
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { state in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Int, HealthServerError>? = state.withLock { state in
                if let result = state.result { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// Extra routes of the health server (status pages, the monitor's dashboard), registered by a service before the server
/// starts: GET and POST handlers that see the request as a plain value (`PageRequest`) and answer with a `PageResponse`,
/// and server-sent-event streams.
public final class StatusPages: Sendable {
    public enum Method: Sendable { case get, post }

    public struct Route: Sendable {
        public var method: Method
        /// Hummingbird's path syntax: `/status`, `/dashboard/backtests/{id}/report.html`.
        public var path: String
        /// Largest request body read (bytes); a bigger one is answered 413.
        public var bodyLimit: Int
        public var handle: @Sendable (PageRequest) async -> PageResponse
    }

    public struct Stream: Sendable {
        public var path: String
        /// The events (each sent as one SSE `data:` event) for one client; the sequence is dropped when it disconnects.
        public var events: @Sendable (PageRequest) -> AsyncStream<String>
    }

    private struct Registered {
        var routes: [Route] = []
        var streams: [Stream] = []
    }
    private let registered = Mutex(Registered())

    public init() {}

    /// Serves `render()`'s text at `path` (e.g. "/status") with `contentType`.
    public func register(_ path: String, contentType: String, render: @escaping @Sendable () async -> String) {
        route(.get, path) { _ in PageResponse(status: 200, contentType: contentType, text: await render()) }
    }

    /// Serves `handle`'s answer for `method` requests to `path`.
    public func route(_ method: Method, _ path: String, bodyLimit: Int = 64 * 1024,
                      _ handle: @escaping @Sendable (PageRequest) async -> PageResponse) {
        registered.withLock { $0.routes.append(Route(method: method, path: path, bodyLimit: bodyLimit, handle: handle)) }
    }

    /// Serves `events` as a `text/event-stream` at `path` (GET).
    public func stream(_ path: String, events: @escaping @Sendable (PageRequest) -> AsyncStream<String>) {
        registered.withLock { $0.streams.append(Stream(path: path, events: events)) }
    }

    var routes: [Route] { registered.withLock { $0.routes } }
    var streams: [Stream] { registered.withLock { $0.streams } }

    private struct OpenStreams {
        var next = 0
        var finish: [Int: @Sendable () -> Void] = [:]
        var closed = false
    }
    private let open = Mutex(OpenStreams())

    /// `source` as served to one client: it also ends when ``closeStreams()`` is called (graceful shutdown).
    func open(_ source: AsyncStream<String>) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4))
        let pump = Task {
            for await event in source { continuation.yield(event) }
            continuation.finish()
        }
        let id: Int? = open.withLock { state in
            guard !state.closed else { return nil }
            state.next += 1
            state.finish[state.next] = { continuation.finish() }
            return state.next
        }
        guard let id else {
            pump.cancel()
            continuation.finish()
            return stream
        }
        continuation.onTermination = { _ in
            pump.cancel()
            self.forget(stream: id)
        }
        return stream
    }

    private func forget(stream id: Int) {
        _ = open.withLock { $0.finish.removeValue(forKey: id) }
    }

    /// Ends every open event stream, and any opened later.
    func closeStreams() {
        let finishers = open.withLock { state in
            state.closed = true
            defer { state.finish = [:] }
            return Array(state.finish.values)
        }
        for finish in finishers { finish() }
    }
}

/// A request to a `StatusPages` route, without Hummingbird types.
public struct PageRequest: Sendable {
    public var path: String
    /// Query parameters (the last value of a repeated name).
    public var query: [String: String]
    /// Path parameters (`{id}` → "id").
    public var parameters: [String: String]
    /// Header values by lowercased name.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(path: String, query: [String: String] = [:], parameters: [String: String] = [:], headers: [String: String] = [:],
                body: [UInt8] = []) {
        self.path = path
        self.query = query
        self.parameters = parameters
        self.headers = headers
        self.body = body
    }

    init(_ request: Request, context: BasicRequestContext, bodyLimit: Int) async throws {
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        var parameters: [String: String] = [:]
        for (name, value) in context.parameters { parameters[String(name)] = String(value) }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var body: [UInt8] = []
        if bodyLimit > 0 {
            var request = request
            let buffer = try await request.collectBody(upTo: bodyLimit)
            body = Array(buffer.readableBytesView)
        }
        self.init(path: request.uri.path, query: query, parameters: parameters, headers: headers, body: body)
    }
}

/// The answer of a `StatusPages` route.
public struct PageResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, contentType: String, text: String) {
        self.init(status: status, contentType: contentType, body: Array(text.utf8))
    }
}
