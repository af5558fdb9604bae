import ServiceLifecycle

/// Runs `body` until graceful shutdown reaches this service, then cancels it and returns normally.
///
/// A body stopped this way usually ends by throwing `CancellationError` (its `Task.sleep` or wait is cancelled).
/// Rethrowing that would tell the `ServiceGroup` that the service failed while shutting down, and the group would then
/// cancel every service still running instead of asking each in turn: a stage host cut off before its final checkpoint,
/// a connection pool closed under it, a blocking call left to outlive `shutdown.timeout` (seen with the monitor). So the
/// error is swallowed when, and only when, the shutdown caused it; any other error still fails the service.
public func runUntilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(body)
    } catch is CancellationError where Task.isShuttingDownGracefully {
        return
    }
}
