import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What a service's set-up closure gets: configuration, logger, health checks and metrics.
public struct QuorumContext: Sendable {
    /// The effective configuration.
    public let config: Configuration
    /// The service's logger (label = `service.name`).
    public let logger: Logger
    /// Register the service's ``DependencyCheck``s here (`await context.health.register(…)`).
    public let health: HealthChecks
    /// The service's metrics (create counters with ``QuorumMetrics/counter(_:dimensions:)``).
    public let metrics: QuorumMetrics
    /// Extra pages served by the health server (e.g. the monitor's status page); register before it starts.
    public let pages: StatusPages
}

/// A built service process: its context, health server and service group, ready to ``run()``.
///
/// Made by ``ServiceRunner/build(config:metrics:logger:handleSignals:onShutdownTimeout:makeServices:)``; tests
/// run it in a task and stop it with ``shutdown()``, without signals or process exit.
public struct QuorumApp: Sendable {
    public let context: QuorumContext
    /// The health/metrics server (ask it for ``HealthServer/boundPort()``).
    public let healthServer: HealthServer
    /// The group running, in start order: the service's own services, the health server, the shutdown watchdog.
    public let serviceGroup: ServiceGroup
    let watchdog: ShutdownWatchdog

    /// Runs every service until they finish; returns after a graceful shutdown, throws when a service fails or
    /// returns on its own.
    ///
    /// A `CancellationError` once graceful shutdown has started is how a service stopped by
    /// `cancelWhenGracefulShutdown` ends (its `Task.sleep` or wait is cancelled): a clean stop, not a failure.
    public func run() async throws {
        defer { watchdog.disarm() }
        do {
            try await serviceGroup.run()
        } catch is CancellationError where watchdog.shutdownStarted {
            context.logger.debug("a service ended its graceful shutdown by cancellation")
        }
    }

    /// Starts a graceful shutdown: readiness turns 503, then services stop in reverse start order.
    public func shutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}

/// Builds and runs a Quorum service process. The `@main` of every executable is one call:
/// ```swift
/// try await ServiceRunner.run(name: "quorum-risk", extraKeys: RiskKeys.all) { context in
///     await context.health.register(ClosureCheck("redis") { try await redis.ping() })
///     return [riskStage]          // started in this order, stopped in reverse
/// }
/// ```
public enum ServiceRunner {
    /// Reads the configuration (defaults < file < environment < flags), sets up logging and metrics, builds the
    /// services and runs them until SIGTERM/SIGINT. Never returns, and in practice never throws (it is declared
    /// `throws` so that `try await ServiceRunner.run(…)` reads naturally in `@main`); every outcome ends the process:
    /// - exit 0 after a clean graceful shutdown, or after `--print-config` / `--help`;
    /// - exit 2 on a configuration error (printed to stderr);
    /// - exit 1 when a service fails (logged at critical) or shutdown takes longer than `shutdown.timeout`.
    ///
    /// - Parameters:
    ///   - name: the service name, the default of `service.name` (e.g. `quorum-risk`).
    ///   - version: build version for `quorum_build_info`.
    ///   - extraKeys: the service's own configuration keys.
    ///   - defaults: new defaults for already registered keys (e.g. `["http.port": "8086"]`).
    ///   - arguments: `CommandLine.arguments` (the first element, the executable, is skipped).
    ///   - environment: the process environment (only `QUORUM_*` is read).
    ///   - makeServices: builds the service's own services in dependency order.
    public static func run(
        name: String,
        version: String = QuorumMetrics.buildVersion,
        extraKeys: [ConfigKey] = [],
        defaults: [String: String] = [:],
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        makeServices: (QuorumContext) async throws -> [any Service]
    ) async throws -> Never {
        let registry = makeRegistry(name: name, extraKeys: extraKeys, defaults: defaults)
        let loaded: Configuration.LoadResult
        do {
            loaded = try Configuration.load(registry: registry, arguments: Array(arguments.dropFirst()),
                                            environment: environment)
            try QuorumLogging.validate(loaded.configuration)
        } catch {
            FileHandle.standardError.write(Data("\(name): configuration error: \(error)\n".utf8))
            exit(2)
        }
        let config = loaded.configuration
        if loaded.help {
            print(ConfigurationDoc.table(registry))
            exit(0)
        }
        if loaded.printConfig {
            print(config.rendered(), terminator: "")
            exit(0)
        }

        QuorumLogging.bootstrap(config: config)
        let logger = Logger(label: config.serviceName)
        let metrics = QuorumMetrics.bootstrap(service: config.serviceName, version: version)
        do {
            logger.info("starting", metadata: [
                "service.instance": .string(config.serviceInstance), "build.version": .string(version),
                "config.file": .string(loaded.configFile ?? ""),
            ])
            let app = try await build(config: config, metrics: metrics, logger: logger, handleSignals: true,
                                      onShutdownTimeout: {
                                          logger.critical("graceful shutdown exceeded shutdown.timeout; exiting", metadata: [
                                              "shutdown.timeout": .string(config.displayText(CommonKeys.shutdownTimeout.name)),
                                          ])
                                          exit(1)
                                      },
                                      makeServices: makeServices)
            try await app.run()
            logger.info("stopped")
            exit(0)
        } catch {
            logger.critical("service failed; exiting", metadata: [
                "error": .string(Redaction.redactURLPasswords(in: String(describing: error))),
            ])
            exit(1)
        }
    }

    /// The common keys plus a service's own keys and default overrides, with `service.name` defaulting to `name`.
    public static func makeRegistry(name: String, extraKeys: [ConfigKey] = [], defaults: [String: String] = [:]) -> ConfigRegistry {
        var registry = ConfigRegistry.standard
        registry.register(extraKeys)
        registry.overrideDefault(CommonKeys.serviceName.name, name)
        for (key, value) in defaults.sorted(by: { $0.key < $1.key }) { registry.overrideDefault(key, value) }
        return registry
    }

    /// Builds a service process without touching global state: the testable half of ``run(name:version:extraKeys:defaults:arguments:environment:makeServices:)``.
    ///
    /// Start order: `makeServices`' services in array order, then the health server, then a shutdown watchdog;
    /// graceful shutdown runs in reverse, so readiness turns 503 and the HTTP server stops first.
    ///
    /// - Parameters:
    ///   - config: the configuration (e.g. `Configuration(registry:values:)` in tests).
    ///   - metrics: defaults to a fresh, not globally bootstrapped ``QuorumMetrics``.
    ///   - logger: defaults to a ``QuorumLogHandler`` logger on stderr.
    ///   - handleSignals: trap SIGTERM/SIGINT for graceful shutdown (only for the real process).
    ///   - onShutdownTimeout: called when graceful shutdown has taken `shutdown.timeout` (the process exits there).
    ///   - makeServices: builds the service's own services in dependency order.
    public static func build(
        config: Configuration,
        metrics: QuorumMetrics? = nil,
        logger: Logger? = nil,
        handleSignals: Bool = false,
        onShutdownTimeout: @escaping @Sendable () -> Void = {},
        makeServices: (QuorumContext) async throws -> [any Service]
    ) async throws -> QuorumApp {
        try QuorumLogging.validate(config)
        let logger = logger ?? QuorumLogging.makeLogger(label: config.serviceName, config: config)
        let metrics = metrics ?? QuorumMetrics(service: config.serviceName)
        let health = HealthChecks(cacheInterval: config.duration(CommonKeys.readinessCheckInterval.name),
                                  onChange: { metrics.setReady($0) })
        let pages = StatusPages()
        let context = QuorumContext(config: config, logger: logger, health: health, metrics: metrics, pages: pages)
        let services = try await makeServices(context)
        let healthServer = HealthServer(config: config, health: health, metrics: metrics, logger: logger, pages: pages)
        let watchdog = ShutdownWatchdog(timeout: config.duration(CommonKeys.shutdownTimeout.name), health: health,
                                        logger: logger, onTimeout: onShutdownTimeout)
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                .init(service: healthServer, serviceName: "health-server"),
                .init(service: watchdog, serviceName: "shutdown-watchdog"),
            ],
            logger: logger)
        if handleSignals {
            groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
        }
        return QuorumApp(context: context, healthServer: healthServer,
                         serviceGroup: ServiceGroup(configuration: groupConfiguration), watchdog: watchdog)
    }
}

/// Last in the service group, so the first to hear about graceful shutdown: it turns readiness false, then arms a
/// timer that calls `onTimeout` (in the real process: log critical and exit 1) unless the group finishes first
/// (``disarm()``).
final class ShutdownWatchdog: Service, Sendable {
    private let timeout: Duration
    private let health: HealthChecks
    private let logger: Logger
    private let onTimeout: @Sendable () -> Void
    private let timer = Mutex<Task<Void, Never>?>(nil)
    private let disarmed = Mutex(false)
    private let started = Mutex(false)

    /// Whether graceful shutdown has started (set before any other service is asked to stop).
    var shutdownStarted: Bool { started.withLock { $0 } }

    init(timeout: Duration, health: HealthChecks, logger: Logger, onTimeout: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.health = health
        self.logger = logger
        self.onTimeout = onTimeout
    }

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is being torn down without a graceful shutdown
        }
        started.withLock { $0 = true }
        logger.info("graceful shutdown started", metadata: ["shutdown.timeout": .string("\(timeout)")])
        await health.markShuttingDown()
        // An unstructured task: it must outlive this service, which returns now so the next one can stop.
        let task = Task { [self] in
            try? await Task.sleep(for: timeout)  // harmless: cancellation is checked on the next line
            if !Task.isCancelled && !disarmed.withLock({ $0 }) { onTimeout() }
        }
        timer.withLock { $0 = task }
        if disarmed.withLock({ $0 }) { task.cancel() }
    }

    /// The group finished: the timer must not fire.
    func disarm() {
        disarmed.withLock { $0 = true }
        timer.withLock { $0?.cancel() }
    }
}
