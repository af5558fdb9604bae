import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import QuorumServiceKit

/// Records "start X" / "stop X" events in order.
final class EventLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ event: String) { storage.withLock { $0.append(event) } }
    var events: [String] { storage.withLock { $0 } }

    /// Waits (polling) until `count` events were recorded; gives up after about 10 s.
    func waitFor(count: Int) async throws {
        for _ in 0..<1000 where events.count < count {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(events.count >= count, "expected \(count) events, got \(events)")
    }
}

/// A service that records when it starts and when graceful shutdown stops it.
struct RecordingService: Service, CustomStringConvertible {
    let name: String
    let log: EventLog
    var description: String { name }

    func run() async throws {
        log.append("start \(name)")
        try? await gracefulShutdown()
        log.append("stop \(name)")
    }
}

/// Records whether it was asked to stop gracefully or cancelled.
struct OrderlyService: Service {
    let name: String
    let log: EventLog

    func run() async throws {
        log.append("start \(name)")
        do {
            try await gracefulShutdown()
            log.append("graceful \(name)")
        } catch {
            log.append("cancelled \(name)")
        }
    }
}

/// `PollingService` written as the services are now: its loop under `runUntilGracefulShutdown`.
struct OrderlyPollingService: Service {
    func run() async throws {
        try await runUntilGracefulShutdown {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

/// A service that ignores graceful shutdown until cancelled.
struct StubbornService: Service {
    func run() async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}

/// A polling service written like the monitor's lag poller and the ingest inbox: its loop runs under
/// `cancelWhenGracefulShutdown`, so graceful shutdown cancels its sleep and it ends with `CancellationError`.
struct PollingService: Service {
    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

struct StageFailed: Error, CustomStringConvertible {
    var description: String { "stage failed" }
}

/// A service that fails right away.
struct FailingService: Service {
    func run() async throws { throw StageFailed() }
}

private func testConfig(_ values: [String: String] = [:]) throws -> Configuration {
    try Configuration(
        registry: ServiceRunner.makeRegistry(name: "quorum-test"),
        values: ["http.port": "0", "readiness.check.interval": "0", "log.level": "critical"].merging(values) { $1 })
}

@Suite("Health server and lifecycle")
struct ServiceRunnerTests {
    @Test("health endpoints over real HTTP on a free port")
    func healthEndpoints() async throws {
        let redis = SwitchCheck("redis")
        let app = try await ServiceRunner.build(config: try testConfig()) { context in
            await context.health.register(redis)
            context.metrics.counter("quorum_test_probes_total").increment(by: 7)
            return []
        }
        let running = Task { try await app.run() }
        let port = try await app.healthServer.boundPort()
        #expect(port > 0)

        let live = try await httpGet(port: port, path: "/health/live")
        #expect(live.status == 200)

        let ready = try await httpGet(port: port, path: "/health/ready")
        #expect(ready.status == 200)
        #expect(ready.body.contains(#""status":"ready""#))

        redis.healthy = false
        let notReady = try await httpGet(port: port, path: "/health/ready")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains(#""name":"redis","ok":false"#))
        #expect(notReady.body.contains("connection refused"))
        #expect(!notReady.body.contains("leakme"))

        let metrics = try await httpGet(port: port, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("quorum_test_probes_total 7"))
        #expect(metrics.body.contains(#"quorum_service_ready{service="quorum-test"} 0"#))
        #expect(metrics.body.contains(#"quorum_service_up{service="quorum-test"} 1"#))

        let missing = try await httpGet(port: port, path: "/nope")
        #expect(missing.status == 404)

        await app.shutdown()
        try await running.value
    }

    @Test("graceful shutdown stops services in reverse start order, readiness first")
    func gracefulShutdownOrder() async throws {
        let log = EventLog()
        let app = try await ServiceRunner.build(config: try testConfig()) { _ in
            ["a", "b", "c"].map { RecordingService(name: $0, log: log) }
        }
        let running = Task { try await app.run() }
        _ = try await app.healthServer.boundPort()
        try await log.waitFor(count: 3)
        #expect(Set(log.events) == ["start a", "start b", "start c"])

        await app.shutdown()
        try await running.value
        #expect(Array(log.events.suffix(3)) == ["stop c", "stop b", "stop a"])
        let report = await app.context.health.readiness()
        #expect(report.shuttingDown)
        #expect(!report.isReady)
    }

    @Test("a plain ServiceGroup stops recorded services in reverse order")
    func serviceGroupOrder() async throws {
        let log = EventLog()
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: ["first", "second", "third"].map { RecordingService(name: $0, log: log) },
            logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await log.waitFor(count: 3)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(Array(log.events.suffix(3)) == ["stop third", "stop second", "stop first"])
    }

    @Test("a poller under runUntilGracefulShutdown returns normally, so the services started before it still get their graceful shutdown (rethrowing the CancellationError, as the monitor's pollers did, makes the group cancel them)")
    func pollerKeepsShutdownOrderly() async throws {
        for orderly in [true, false] {
            let log = EventLog()
            let poller: any Service = orderly ? OrderlyPollingService() : PollingService()
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [OrderlyService(name: "stage", log: log), poller], logger: Logger(label: "test")))
            let running = Task { try await group.run() }
            try await log.waitFor(count: 1)
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            #expect(log.events == ["start stage", orderly ? "graceful stage" : "cancelled stage"], "orderly poller: \(orderly)")
        }
    }

    @Test("shutdown.timeout fires when a service does not stop")
    func shutdownTimeout() async throws {
        let fired = Mutex(false)
        let holder = Mutex<Task<Void, any Error>?>(nil)
        let app = try await ServiceRunner.build(
            config: try testConfig(["shutdown.timeout": "50ms"]),
            onShutdownTimeout: {
                fired.withLock { $0 = true }
                // In the real process this exits 1; here cancel the run so the test ends.
                holder.withLock { $0?.cancel() }
            }
        ) { _ in [StubbornService()] }
        let running = Task { try await app.run() }
        holder.withLock { $0 = running }
        _ = try await app.healthServer.boundPort()
        await app.shutdown()
        _ = try? await running.value
        #expect(fired.withLock { $0 })
    }

    @Test("a service cancelled by graceful shutdown (cancelWhenGracefulShutdown) is a clean stop: run() returns")
    func cancelledByGracefulShutdown() async throws {
        let app = try await ServiceRunner.build(config: try testConfig()) { _ in [PollingService()] }
        let running = Task { try await app.run() }
        _ = try await app.healthServer.boundPort()
        await app.shutdown()
        try await running.value
    }

    @Test("a CancellationError without a graceful shutdown is still a failure")
    func cancellationWithoutShutdownFails() async throws {
        struct CancelledService: Service {
            func run() async throws { throw CancellationError() }
        }
        let app = try await ServiceRunner.build(config: try testConfig()) { _ in [CancelledService()] }
        await #expect(throws: CancellationError.self) { try await app.run() }
    }

    @Test("a failing service makes run() throw its error")
    func failingService() async throws {
        let app = try await ServiceRunner.build(config: try testConfig()) { _ in [FailingService()] }
        await #expect(throws: StageFailed.self) { try await app.run() }
    }

    @Test("--print-config exits 0 through ServiceRunner.run")
    func printConfigExits() async {
        await #expect(processExitsWith: .success) {
            try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test", "--print-config"], environment: [:]) { _ in [] }
        }
    }
}
