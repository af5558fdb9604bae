import Testing
import QuorumRedis

/// Client behaviour that needs no Redis server.
@Suite(.timeLimit(.minutes(1)))
struct RedisClientTests {
    @Test func unreachableServerFailsWithClearRetriableError() async throws {
        let port = try freeLoopbackPort()  // nobody listens here
        let configuration = try RedisConfiguration(
            url: "redis://:hunter2-secret@127.0.0.1:\(port)", connectTimeout: .milliseconds(500),
            commandTimeout: .seconds(1), reconnectBackoffInitial: .milliseconds(20), reconnectBackoffMax: .milliseconds(200))
        let client = RedisClient(configuration: configuration, logger: testLogger)
        // A hang is caught by the suite's time limit (the command timeout is 1 s); no wall-clock
        // assertion here, because a loaded CI machine took 12 s to schedule the retries.
        await #expect {
            try await client.ping()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .connectionFailed && error.isRetriable
                && error.description.contains("127.0.0.1:\(port)") && error.description.contains("refused")
                && !error.description.contains("hunter2")
        }

        // Still failing the same way on a second try (the client keeps retrying, it does not give up).
        await #expect(throws: RedisError.self) { try await client.command(["GET", "k"]) }
        await client.close()
    }

    @Test func closedClientRejectsCommandsAndCloseIsIdempotent() async throws {
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: try freeLoopbackPort()),
                                 logger: testLogger)
        await client.close()
        await client.close()
        await #expect {
            try await client.command(["PING"])
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .clientClosed && !error.isRetriable
        }
    }

    @Test func emptyCommandIsRejectedBeforeSending() async throws {
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: try freeLoopbackPort()),
                                 logger: testLogger)
        await #expect(throws: RedisError.self) { try await client.command([] as [String]) }
        #expect(try await client.pipeline([] as [[String]]).isEmpty)
        await client.close()
    }
}
