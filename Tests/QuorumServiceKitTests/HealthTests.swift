import Synchronization
import Testing
import QuorumServiceKit

/// A switchable check that counts how often it ran.
final class SwitchCheck: DependencyCheck {
    struct Down: Error, CustomStringConvertible {
        var description: String { "cannot reach redis://quorum:leakme@127.0.0.1:1 (connection refused)" }
    }

    let name: String
    private let state = Mutex((healthy: true, runs: 0))

    init(_ name: String) { self.name = name }

    var healthy: Bool {
        get { state.withLock { $0.healthy } }
        set { state.withLock { $0.healthy = newValue } }
    }

    var runs: Int { state.withLock { $0.runs } }

    func check() async throws {
        let healthy = state.withLock { state in
            state.runs += 1
            return state.healthy
        }
        if !healthy { throw Down() }
    }
}

@Suite("Readiness")
struct HealthTests {
    @Test("ready only when every check passes; failures are named and redacted")
    func readiness() async {
        let health = HealthChecks(cacheInterval: .zero)
        let kafka = SwitchCheck("kafka")
        let redis = SwitchCheck("redis")
        await health.register(kafka)
        await health.register(redis)
        #expect(await health.readiness().isReady)

        redis.healthy = false
        let report = await health.readiness()
        #expect(!report.isReady)
        #expect(report.checks.map(\.name) == ["kafka", "redis"])
        #expect(report.checks[0].passed)
        #expect(report.checks[1].failure?.contains("connection refused") == true)
        #expect(!report.json.contains("leakme"))
        #expect(report.json.contains(#""name":"redis","ok":false"#))
    }

    @Test("results are cached for the interval")
    func caching() async {
        let check = SwitchCheck("postgres")
        let health = HealthChecks(cacheInterval: .seconds(3600))
        await health.register(check)
        _ = await health.readiness()
        check.healthy = false
        #expect(await health.readiness().isReady, "a cached result is reused")
        #expect(check.runs == 1)
        await health.invalidate()
        #expect(await !health.readiness().isReady)
        #expect(check.runs == 2)
    }

    @Test("a check that never answers fails at the timeout")
    func timeout() async {
        let health = HealthChecks(timeout: .milliseconds(100), cacheInterval: .zero)
        await health.register(ClosureCheck("hangs") {
            // Ignores cancellation on purpose: readiness must not wait for it.
            await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
        })
        await health.register(ClosureCheck("fine") {})
        let report = await health.readiness()
        #expect(!report.isReady)
        #expect(report.checks.first { $0.name == "hangs" }?.failure?.contains("no answer within") == true)
        #expect(report.checks.first { $0.name == "fine" }?.passed == true)
    }

    @Test("shutting down makes readiness false and reports it")
    func shuttingDown() async {
        let ready = Mutex<[Bool]>([])
        let health = HealthChecks(cacheInterval: .seconds(3600), onChange: { value in ready.withLock { $0.append(value) } })
        #expect(await health.readiness().isReady)
        await health.markShuttingDown()
        let report = await health.readiness()
        #expect(!report.isReady)
        #expect(report.shuttingDown)
        #expect(ready.withLock { $0 } == [true, false, false])
    }
}
