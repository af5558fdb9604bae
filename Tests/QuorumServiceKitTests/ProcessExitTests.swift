#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ServiceLifecycle
import Testing
import QuorumServiceKit

/// Sends SIGTERM to its own process once running (the service group traps signals before starting services),
/// then waits for graceful shutdown like a well-behaved stage.
struct SelfTerminatingService: Service {
    func run() async throws {
        kill(getpid(), SIGTERM)
        try? await gracefulShutdown()
    }
}

/// Sends SIGTERM to its own process, then ignores graceful shutdown.
struct SelfTerminatingStubbornService: Service {
    func run() async throws {
        kill(getpid(), SIGTERM)
        try await Task.sleep(for: .seconds(3600))
    }
}

/// Sends SIGTERM to its own process, then polls under `cancelWhenGracefulShutdown` (ends with `CancellationError`).
struct SelfTerminatingPollingService: Service {
    func run() async throws {
        kill(getpid(), SIGTERM)
        try await PollingService().run()
    }
}

/// These run `ServiceRunner.run` in a child process (Swift Testing exit tests) to check real signals and exit codes.
@Suite("Process exit codes")
struct ProcessExitTests {
    @Test("SIGTERM shuts down gracefully with exit 0 and the bound port is logged")
    func sigtermExitsZero() async throws {
        let result = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test", "--log.format=json"],
                                        environment: [:]) { _ in [SelfTerminatingService()] }
            })
        let log = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(log.contains(#""msg":"health server listening""#))
        #expect(log.contains(#""http.port":""#))
        #expect(log.contains(#""msg":"stopped""#))
    }

    @Test("SIGTERM of a service stopped by cancellation (monitor, ingest) exits 0 and logs no critical line")
    func sigtermOfCancelledServiceExitsZero() async throws {
        let result = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test", "--log.format=json"],
                                        environment: [:]) { _ in [SelfTerminatingPollingService()] }
            })
        let log = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(log.contains(#""msg":"stopped""#))
        #expect(!log.contains(#""level":"critical""#), "\(log)")
        #expect(!log.contains("CancellationError"), "\(log)")
    }

    @Test("a shutdown longer than shutdown.timeout exits 1 with a critical log line")
    func shutdownTimeoutExitsOne() async throws {
        let result = try #require(
            await #expect(processExitsWith: .exitCode(1), observing: [\.standardErrorContent]) {
                try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test", "--shutdown.timeout=100ms"],
                                        environment: [:]) { _ in [SelfTerminatingStubbornService()] }
            })
        let log = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(log.contains(#""level":"critical""#))
        #expect(log.contains("shutdown.timeout"))
    }

    @Test("a failing service is logged at critical and exits 1")
    func failingServiceExitsOne() async throws {
        let result = try #require(
            await #expect(processExitsWith: .exitCode(1), observing: [\.standardErrorContent]) {
                try await ServiceRunner.run(name: "quorum-test", arguments: ["quorum-test"],
                                        environment: [:]) { _ in [FailingService()] }
            })
        let log = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(log.contains(#""level":"critical""#))
        #expect(log.contains("stage failed"))
    }
}
