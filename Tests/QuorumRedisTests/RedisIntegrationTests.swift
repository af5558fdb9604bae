import Foundation
import Testing
import QuorumRedis

/// Against the shared redis-server of `make test` (QUORUM_REDIS_URL). Every test uses its own key prefix and
/// deletes its keys at the end.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RedisIntegrationTests {
    /// Runs `body` with a client and a hot state under a unique prefix; deletes the prefix's keys afterwards,
    /// also when `body` throws.
    private func withHotState(_ name: String, _ body: (RedisClient, RedisHotState) async throws -> Void) async throws {
        let configuration = try RedisConfiguration(url: try redisURLFromEnvironment(), keyPrefix: uniquePrefix(name))
        let client = RedisClient(configuration: configuration, logger: testLogger)
        let state = RedisHotState(client: client)
        do {
            try await body(client, state)
        } catch {
            _ = try? await state.deleteAllKeys()
            await client.close()
            throw error
        }
        try await state.deleteAllKeys()
        await client.close()
    }

    @Test func binaryValuesRoundTripIncludingZeroBytes() async throws {
        try await withHotState("bytes") { client, state async throws in
            let key = Array((state.keys.prefix + "bin\u{0}key").utf8)
            let value: [UInt8] = [0, 0, 1, 0, 255] + (0...255).map(UInt8.init) + [0]
            #expect(try await client.command([Array("SET".utf8), key, value]) == .status("OK"))
            #expect(try await client.command([Array("GET".utf8), key]) == .bytes(value))
            #expect(try await client.command([Array("STRLEN".utf8), key]) == .integer(Int64(value.count)))
            #expect(try await client.command(["GET", state.keys.prefix + "missing"]) == .null)
            let empty = Array((state.keys.prefix + "empty").utf8)
            #expect(try await client.command([Array("SET".utf8), empty, []]) == .status("OK"))
            #expect(try await client.command([Array("GET".utf8), empty]) == .bytes([]))
        }
    }

    @Test func pipelineOfAThousandCommandsRepliesInOrder() async throws {
        try await withHotState("pipeline") { client, state in
            let prefix = state.keys.prefix
            let sets = (0..<1000).map { ["SET", "\(prefix)n:\($0)", "value-\($0)"] }
            let setReplies = try await client.pipeline(sets)
            #expect(setReplies.count == 1000)
            #expect(setReplies.allSatisfy { $0 == .status("OK") })

            let gets = (0..<1000).map { ["GET", "\(prefix)n:\($0)"] }
            let values = try await client.pipeline(gets)
            #expect(values.count == 1000)
            #expect(values.map(\.string) == (0..<1000).map { "value-\($0)" })

            let pushes = (0..<1000).map { ["RPUSH", "\(prefix)list", "\($0)"] }
            #expect(try await client.pipeline(pushes) == (1...1000).map { .integer(Int64($0)) })
        }
    }

    @Test func errorRepliesAreValuesAndDoNotHideOtherReplies() async throws {
        try await withHotState("errors") { client, state in
            let key = state.keys.prefix + "s"
            let replies = try await client.pipeline([["SET", key, "1"], ["HGET", key, "field"], ["GET", key]])
            #expect(replies[0] == .status("OK"))
            guard case .error(let message) = replies[1] else {
                Issue.record("expected an error reply, got \(replies[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(replies[2] == .bytes(Array("1".utf8)))
            // The connection is still fine after an error reply.
            try await client.ping()
        }
    }

    @Test func slowReplyTimesOutAndTheNextCommandGetsItsOwnReply() async throws {
        let url = try redisURLFromEnvironment()
        let client = RedisClient(configuration: try RedisConfiguration(url: url, commandTimeout: .seconds(1)),
                                 logger: testLogger)
        let list = uniquePrefix("timeout") + "list"
        // BLPOP waits 3 s for an element that never comes; the 1 s command timeout must end the wait.
        await #expect {
            try await client.command(["BLPOP", list, "3"])
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .connectionLost && error.isRetriable && error.description.contains("timed out")
        }
        // The late BLPOP reply must not be taken for the reply of a later command: the connection was replaced.
        try await client.ping()
        #expect(try await client.command(["ECHO", "mine"]) == .bytes(Array("mine".utf8)))
        await client.close()
    }

    @Test func hotStateHelpersRoundTrip() async throws {
        try await withHotState("hot") { _, state in
            #expect(try await state.latestFeatures(symbol: "BTC-USD") == nil)
            let vector: [UInt8] = [0x3f, 0, 0, 0, 0x80, 0, 1]
            try await state.setLatestFeatures(symbol: "BTC-USD", bytes: vector)
            #expect(try await state.latestFeatures(symbol: "BTC-USD") == vector)

            #expect(try await state.activeModel(symbol: "BTC-USD") == nil)
            try await state.setActiveModel(symbol: "BTC-USD", modelID: "gbm-2024-05-01-a7")
            #expect(try await state.activeModel(symbol: "BTC-USD") == "gbm-2024-05-01-a7")

            #expect(try await state.exposures().isEmpty)
            try await state.setExposure(symbol: "BTC-USD", "-0.12345678901234567890")
            try await state.setExposure(symbol: "ETH-USD", "1500.10")
            #expect(try await state.exposures() == ["BTC-USD": "-0.12345678901234567890", "ETH-USD": "1500.10"])
            #expect(try await state.exposure(symbol: "ETH-USD") == "1500.10")
            try await state.removeExposure(symbol: "ETH-USD")
            #expect(try await state.exposures() == ["BTC-USD": "-0.12345678901234567890"])
            await #expect(throws: RedisError.self) { try await state.setExposure(symbol: "BTC-USD", "1e3") }

            #expect(try await state.executionBook() == nil)
            try await state.setExecutionBook(startingCash: "100000", cash: "76086.5", positions: ["BTC-USD": "0.5", "ETH-USD": "2"])
            try await state.setExecutionBook(startingCash: "100000", cash: "79990", positions: ["BTC-USD": "0.5"])
            let book = try #require(try await state.executionBook())  // replaced whole: ETH-USD is gone
            #expect(book.startingCash == "100000" && book.cash == "79990" && book.positions == ["BTC-USD": "0.5"])
            await #expect(throws: RedisError.self) { try await state.setExecutionBook(startingCash: "1", cash: "NaN", positions: [:]) }

            var killSwitch = try await state.killSwitch()
            #expect(killSwitch.on == false && killSwitch.reason == nil)
            try await state.setKillSwitch(on: true, reason: "drawdown limit hit")
            killSwitch = try await state.killSwitch()
            #expect(killSwitch.on && killSwitch.reason == "drawdown limit hit")
            try await state.setKillSwitch(on: false, reason: nil)
            killSwitch = try await state.killSwitch()
            #expect(killSwitch.on == false && killSwitch.reason == nil)

            try await state.setSourceWeights(["ml.gbm": 0.6, "rule.momentum": 0.1 + 0.2, "rule.meanrev": 1e-9])
            #expect(try await state.sourceWeights() == ["ml.gbm": 0.6, "rule.momentum": 0.1 + 0.2, "rule.meanrev": 1e-9])
            try await state.setSourceWeight(source: "ml.gbm", weight: 0.5)
            #expect(try await state.sourceWeights()["ml.gbm"] == 0.5)
            try await state.setSourceWeights([:])
            #expect(try await state.sourceWeights().isEmpty)
            await #expect(throws: RedisError.self) { try await state.setSourceWeight(source: "x", weight: .nan) }

            #expect(try await state.regime(symbol: "ETH-USD") == nil)
            try await state.setRegime(symbol: "ETH-USD", label: "trend-up")
            #expect(try await state.regime(symbol: "ETH-USD") == "trend-up")
        }
    }

    @Test func prefixesIsolateNamespaces() async throws {
        let url = try redisURLFromEnvironment()
        let client = RedisClient(configuration: try RedisConfiguration(url: url), logger: testLogger)
        let live = RedisHotState(client: client, keyPrefix: uniquePrefix("live"))
        let replay = RedisHotState(client: client, keyPrefix: uniquePrefix("replay"))
        do {
            try await live.setLatestFeatures(symbol: "BTC-USD", bytes: [1, 2, 3])
            try await live.setExposure(symbol: "BTC-USD", "5")
            try await live.setKillSwitch(on: true, reason: "live only")
            try await replay.setRegime(symbol: "BTC-USD", label: "range")

            #expect(try await replay.latestFeatures(symbol: "BTC-USD") == nil)
            #expect(try await replay.exposures().isEmpty)
            #expect(try await replay.killSwitch().on == false)
            #expect(try await live.regime(symbol: "BTC-USD") == nil)

            // Deleting one namespace leaves the other untouched.
            #expect(try await live.deleteAllKeys() == 3)
            #expect(try await live.latestFeatures(symbol: "BTC-USD") == nil)
            #expect(try await replay.regime(symbol: "BTC-USD") == "range")
            #expect(try await replay.deleteAllKeys() == 1)
        } catch {
            _ = try? await live.deleteAllKeys()
            _ = try? await replay.deleteAllKeys()
            await client.close()
            throw error
        }
        await client.close()
    }

    /// Leaking one descriptor or thread per client would add 1,000; the slack absorbs what suites of other
    /// targets running in parallel in the same test process open and close meanwhile.
    @Test func thousandClientsOpenAndCloseWithoutLeakingDescriptorsOrThreads() async throws {
        let slack = 64
        let configuration = try RedisConfiguration(url: try redisURLFromEnvironment())
        // Warm up once so lazily opened process-wide descriptors are not counted as leaks.
        let warmUp = RedisClient(configuration: configuration, logger: testLogger)
        try await warmUp.ping()
        await warmUp.close()
        let descriptorsBefore = try openFileDescriptorCount()
        let threadsBefore = try threadCount()

        for _ in 0..<1000 {
            let client = RedisClient(configuration: configuration, logger: testLogger)
            try await client.ping()
            await client.close()
        }
        #expect(try openFileDescriptorCount() <= descriptorsBefore + slack)

        // Clients that are dropped without close() free their connection from deinit.
        for _ in 0..<100 {
            let client = RedisClient(configuration: configuration, logger: testLogger)
            try await client.ping()
        }
        var descriptorsAfter = try openFileDescriptorCount()
        var threadsAfter = try threadCount()
        for _ in 0..<100 where descriptorsAfter > descriptorsBefore + slack || threadsAfter > threadsBefore + slack {
            try await Task.sleep(for: .milliseconds(50))  // the threads stop asynchronously after deinit
            descriptorsAfter = try openFileDescriptorCount()
            threadsAfter = try threadCount()
        }
        #expect(descriptorsAfter <= descriptorsBefore + slack)
        #expect(threadsAfter <= threadsBefore + slack)
    }
}
