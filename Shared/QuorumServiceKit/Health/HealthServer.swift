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

        for page in pages.all {
            router.get(RouterPath(page.path)) { _, _ in
                Self.response(.ok, contentType: page.contentType, body: await page.render())
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
                // Readiness goes false before anything else stops, so load balancers stop sending work.
                Task { await health.markShuttingDown() }
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

/// Extra GET pages of the health server, registered by a service before the server starts.
public final class StatusPages: Sendable {
    public struct Page: Sendable {
        public var path: String
        public var contentType: String
        public var render: @Sendable () async -> String
    }
    private let pages = Mutex<[Page]>([])

    public init() {}

    /// Serves `render()`'s text at `path` (e.g. "/status") with `contentType`.
    public func register(_ path: String, contentType: String, render: @escaping @Sendable () async -> String) {
        pages.withLock { $0.append(Page(path: path, contentType: contentType, render: render)) }
    }

    var all: [Page] { pages.withLock { $0 } }
}
