import Synchronization

/// A dependency the service needs to be ready (broker, Redis, Postgres, …).
///
/// `check()` returns when the dependency works and throws when it does not; the error's description is shown in
/// the `/health/ready` body (after URL passwords are redacted), so it must not contain secrets.
/// It should honour task cancellation: readiness gives each check a short timeout.
public protocol DependencyCheck: Sendable {
    /// A short stable name such as `kafka`, `redis` or `postgres`.
    var name: String { get }
    /// Returns when the dependency works; throws a descriptive error when it does not.
    func check() async throws
}

/// A ``DependencyCheck`` made from a closure.
public struct ClosureCheck: DependencyCheck {
    public let name: String
    private let body: @Sendable () async throws -> Void

    public init(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.body = body
    }

    public func check() async throws { try await body() }
}

/// The outcome of one readiness evaluation.
public struct ReadinessReport: Sendable, Equatable {
    /// One dependency's outcome.
    public struct CheckResult: Sendable, Equatable {
        public var name: String
        /// `nil` when the check passed, else why it failed (redacted).
        public var failure: String?
        public var passed: Bool { failure == nil }
    }

    /// Every check's outcome, in registration order.
    public var checks: [CheckResult]
    /// `true` when the service is shutting down (readiness is then always false).
    public var shuttingDown: Bool

    /// Ready when not shutting down and every check passed.
    public var isReady: Bool { !shuttingDown && checks.allSatisfy(\.passed) }

    /// `{"status":"ready"|"not_ready","shutting_down":false,"checks":[{"name":"redis","ok":false,"error":"…"}]}`.
    public var json: String {
        let items = checks.map { check in
            var item = "{\"name\":\(JSONText.quote(check.name)),\"ok\":\(check.passed)"
            if let failure = check.failure { item += ",\"error\":\(JSONText.quote(failure))" }
            return item + "}"
        }
        return "{\"status\":\"\(isReady ? "ready" : "not_ready")\",\"shutting_down\":\(shuttingDown),"
            + "\"checks\":[\(items.joined(separator: ","))]}"
    }
}

/// The registered dependency checks and the cached readiness result.
///
/// `readiness()` runs every check concurrently, each with ``timeout``, and caches the report for
/// ``cacheInterval`` (`readiness.check.interval`) so that frequent probes do not hammer the servers.
/// Concurrent callers during an evaluation share it.
public actor HealthChecks {
    private var checks: [any DependencyCheck] = []
    private var cached: (report: ReadinessReport, at: ContinuousClock.Instant)?
    private var inFlight: Task<ReadinessReport, Never>?
    private var shuttingDown = false
    private let onChange: @Sendable (Bool) -> Void

    /// How long each check may take before it counts as failed.
    public let timeout: Duration
    /// How long a report is reused.
    public let cacheInterval: Duration

    /// - Parameters:
    ///   - timeout: per-check limit (default 2 s).
    ///   - cacheInterval: how long a report is reused (`readiness.check.interval`).
    ///   - onChange: called with the readiness after each evaluation (sets `quorum_service_ready`).
    public init(timeout: Duration = .seconds(2), cacheInterval: Duration = .seconds(5),
                onChange: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.timeout = timeout
        self.cacheInterval = cacheInterval
        self.onChange = onChange
    }

    /// Adds a check; the cached result is dropped so the next probe runs it.
    public func register(_ check: any DependencyCheck) {
        checks.append(check)
        cached = nil
    }

    /// Names of the registered checks, in order.
    public var names: [String] { checks.map(\.name) }

    /// Makes readiness false from now on (graceful shutdown started).
    public func markShuttingDown() {
        shuttingDown = true
        cached = nil
        onChange(false)
    }

    /// Forgets the cached report so the next ``readiness()`` runs the checks again.
    public func invalidate() { cached = nil }

    /// The current readiness: cached if younger than ``cacheInterval``, else freshly evaluated.
    public func readiness() async -> ReadinessReport {
        if let cached, cached.at.duration(to: .now) < cacheInterval, cached.report.shuttingDown == shuttingDown {
            return cached.report
        }
        if let inFlight { return await inFlight.value }
        let checks = self.checks
        let timeout = self.timeout
        let task = Task { await Self.evaluate(checks, timeout: timeout) }
        inFlight = task
        var report = await task.value
        inFlight = nil
        report.shuttingDown = shuttingDown
        cached = (report, .now)
        onChange(report.isReady)
        return report
    }

    private static func evaluate(_ checks: [any DependencyCheck], timeout: Duration) async -> ReadinessReport {
        let results = await withTaskGroup(of: (Int, String?).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await runWithTimeout(check, timeout: timeout)) }
            }
            var failures = [String?](repeating: nil, count: checks.count)
            for await (index, failure) in group { failures[index] = failure }
            return failures
        }
        return ReadinessReport(
            checks: zip(checks, results).map { ReadinessReport.CheckResult(name: $0.name, failure: $1) },
            shuttingDown: false)
    }

    /// Runs one check; returns nil on success or the (redacted) reason of failure.
    /// A check that ignores cancellation cannot hold up readiness: the answer is taken at the timeout and the
    /// check's task is left to finish on its own.
    private static func runWithTimeout(_ check: any DependencyCheck, timeout: Duration) async -> String? {
        let outcome = FirstOutcome()
        let work = Task {
            do {
                try await check.check()
                outcome.resolve(nil)
            } catch {
                outcome.resolve(Redaction.redactURLPasswords(in: String(describing: error)))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)  // harmless: cancelled only once the check has answered first
            outcome.resolve("no answer within \(timeout)")
        }
        let result = await outcome.value
        work.cancel()
        timer.cancel()
        return result
    }
}

/// Holds the first of several competing results and hands it to one waiter.
private final class FirstOutcome: Sendable {
    private struct State {
        var result: String??
        var waiter: CheckedContinuation<String?, Never>?
    }

    private let state = Mutex(State())

    func resolve(_ result: String?) {
        let waiter: CheckedContinuation<String?, Never>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = .some(result)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    var value: String? {
        get async {
            await withCheckedContinuation { continuation in
                let ready: String?? = state.withLock { state in
                    if let result = state.result { return .some(result) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
