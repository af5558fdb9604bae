import Testing
import QuorumRedis

/// Each test starts its own redis-server process (no persistence) on a free port and stops it at the end.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisReconnectIntegrationTests {
    private func configuration(port: Int, url: String? = nil) throws -> RedisConfiguration {
        try RedisConfiguration(
            url: url ?? "redis://127.0.0.1:\(port)", connectTimeout: .milliseconds(500), commandTimeout: .seconds(2),
            reconnectBackoffInitial: .milliseconds(20), reconnectBackoffMax: .milliseconds(300))
    }

    @Test func sameClientWorksAgainAfterRedisRestarts() async throws {
        let port = try freeLoopbackPort()
        var server = try await RedisServerProcess(port: port)
        defer { server.stop() }
        let client = RedisClient(configuration: try configuration(port: port), logger: testLogger)

        #expect(try await client.command(["SET", "before-restart", "1"]) == .status("OK"))

        server.stop()  // SIGTERM, then wait for the exit
        await #expect {  // a hang would be caught by the suite's time limit (the command timeout is 2 s)
            try await client.command(["GET", "before-restart"])
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.isRetriable && error.description.contains("127.0.0.1:\(port)")
        }

        server = try await RedisServerProcess(port: port)
        try await client.ping()  // the same client, reconnected by itself
        #expect(try await client.command(["GET", "before-restart"]) == .null)  // a fresh server without persistence
        #expect(try await client.command(["SET", "after-restart", "2"]) == .status("OK"))
        #expect(try await client.command(["GET", "after-restart"]) == .bytes(Array("2".utf8)))
        await client.close()
    }

    @Test func authenticatesAndSelectsTheDatabaseOnEveryConnect() async throws {
        let port = try freeLoopbackPort()
        var server = try await RedisServerProcess(port: port, extraArguments: ["--requirepass", "hunter2-secret"])
        defer { server.stop() }
        let client = RedisClient(
            configuration: try configuration(port: port, url: "redis://:hunter2-secret@127.0.0.1:\(port)/3"),
            logger: testLogger)
        #expect(try await client.command(["SET", "in-db-3", "x"]) == .status("OK"))
        let databaseZero = RedisClient(
            configuration: try configuration(port: port, url: "redis://:hunter2-secret@127.0.0.1:\(port)/0"),
            logger: testLogger)
        #expect(try await databaseZero.command(["GET", "in-db-3"]) == .null)
        await databaseZero.close()

        // After a restart AUTH and SELECT are sent again on the new connection.
        server.stop()
        server = try await RedisServerProcess(port: port, extraArguments: ["--requirepass", "hunter2-secret"])
        #expect(try await client.command(["SET", "in-db-3", "y"]) == .status("OK"))
        #expect(try await client.command(["DBSIZE"]) == .integer(1))
        await client.close()
    }

    @Test func wrongPasswordIsAClearNonRetriableErrorWithoutThePassword() async throws {
        let port = try freeLoopbackPort()
        let server = try await RedisServerProcess(port: port, extraArguments: ["--requirepass", "right-one"])
        defer { server.stop() }
        let client = RedisClient(
            configuration: try configuration(port: port, url: "redis://:wrong-hunter2@127.0.0.1:\(port)"),
            logger: testLogger)
        await #expect {
            try await client.ping()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .authenticationFailed && !error.isRetriable
                && error.description.contains("127.0.0.1:\(port)") && !error.description.contains("hunter2")
        }
        await client.close()
    }
}
