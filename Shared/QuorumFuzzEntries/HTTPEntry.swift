import Dispatch
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import QuorumServiceKit
import Synchronization

extension FuzzEntries {
    /// The health server's routes as every service serves them (`HealthServer.makeRouter`), with one status page.
    static let healthResponder: RouterResponder<BasicRequestContext> = {
        let health = HealthChecks(timeout: .milliseconds(100), cacheInterval: .seconds(3600))
        let pages = StatusPages()
        pages.register("/status", contentType: "text/html; charset=utf-8") { "<html><body>status</body></html>" }
        let router = HealthServer.makeRouter(health: health, metrics: QuorumMetrics(service: "quorum-fuzz"), pages: pages)
        return router.buildResponder()
    }()

    /// The channel the request contexts name (the routes never use it).
    static let contextChannel = NIOAsyncTestingChannel()

    /// `FuzzHTTP`: raw bytes as they arrive on a health server's connection (`/health/live`, `/health/ready`,
    /// `/metrics`, status pages).
    ///
    /// Quorum parses nothing of a request itself: no query parameters, no headers, no bodies; Hummingbird decodes the
    /// request and its router matches the path. So this target runs what a request meets: NIO's HTTP/1 decoder and
    /// the HTTP-types conversion that Hummingbird's HTTP/1 channel uses, then `HealthServer`'s router for each request
    /// decoded. Bytes that are not HTTP must end in an `HTTPParserError` (the server answers 400 and closes); a
    /// request must get a response or a 4xx error (an unknown path is a 404), never a 5xx other than readiness's 503.
    @Sendable public static func httpRequest(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        do {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)),
                HTTP1ToHTTPServerCodec(secure: false),
            ])
        } catch {
            finding("cannot set up the HTTP/1 pipeline on an embedded channel: \(error)")
        }
        var parts: [HTTPRequestPart] = []
        func drain() {
            do {
                while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
            } catch {
                finding("an inbound part of the HTTP/1 pipeline is not an HTTPRequestPart: \(error)")
            }
        }
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
            drain()
            _ = try channel.finish()
        } catch let error as HTTPParserError {
            _ = error  // the server answers 400 Bad Request and closes the connection
            drain()
        } catch {
            drain()
            // A request cut off at the end of the input (the peer closed mid-request) is reported by `finish`.
            if !(error is NIOCore.ByteToMessageDecoderError) && !(error is ChannelError) {
                finding("the HTTP/1 pipeline failed with \(type(of: error)) instead of an HTTPParserError: \(error)")
            }
        }

        var requests: [Request] = []
        var head: HTTPRequest?
        var body = ByteBuffer()
        for part in parts {
            switch part {
            case .head(let h):
                head = h
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                if let h = head { requests.append(Request(head: h, body: .init(buffer: body))) }
                head = nil
            }
        }
        for request in requests { respond(to: request) }
    }

    /// Runs one request through the health server's router and checks the outcome.
    static func respond(to request: Request) {
        let outcome = Mutex<Result<Int, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let context = BasicRequestContext(source: ApplicationRequestContextSource(
                channel: contextChannel, logger: Logger(label: "quorum-fuzz")))
            do {
                let response = try await healthResponder.respond(to: request, context: context)
                outcome.withLock { $0 = .success(response.status.code) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        let path = request.uri.path
        switch outcome.withLock({ $0 }) {
        case .success(let status):
            if status >= 500 && !(status == 503 && path == "/health/ready") {
                finding("\(request.method) \(path) answered \(status)")
            }
        case .failure(let error as any HTTPResponseError):
            if error.status.code >= 500 { finding("\(request.method) \(path) failed with \(error.status): \(error)") }
        case .failure(let error):
            finding("\(request.method) \(path) failed with \(type(of: error)), not an HTTP error: \(error)")
        case nil:
            finding("\(request.method) \(path): the router finished without an outcome")
        }
    }
}
