import Testing
@testable import QuorumRedis

@Suite struct RedisConfigurationTests {
    @Test func parsesHostPortAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis://cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.database == 3)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(configuration.endpoint == "cache.internal:6380")
    }

    @Test func missingPortDefaultsTo6379AndDatabaseTo0() throws {
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(try RedisConfiguration(url: "redis://127.0.0.1/").database == 0)
    }

    @Test func parsesPasswordOnlyAndUserWithPassword() throws {
        let passwordOnly = try RedisConfiguration(url: "redis://:s3cr%40t@localhost:7000/1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "s3cr@t")
        #expect(passwordOnly.port == 7000)

        let withUser = try RedisConfiguration(url: "redis://alice:pa:ss@localhost:7000")
        #expect(withUser.username == "alice")
        #expect(withUser.password == "pa:ss")
        #expect(withUser.database == 0)
    }

    @Test func parsesBracketedIPv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:6390")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 6390)
        #expect(configuration.endpoint == "[::1]:6390")
    }

    @Test func keepsTheOtherSettings() throws {
        let configuration = try RedisConfiguration(
            url: "redis://h:1", keyPrefix: "replay-7:quorum:", connectTimeout: .seconds(1),
            commandTimeout: .seconds(3), reconnectBackoffInitial: .milliseconds(10), reconnectBackoffMax: .seconds(1))
        #expect(configuration.keyPrefix == "replay-7:quorum:")
        #expect(configuration.connectTimeout == .seconds(1))
        #expect(configuration.commandTimeout == .seconds(3))
        #expect(configuration.reconnectBackoffInitial == .milliseconds(10))
        #expect(configuration.reconnectBackoffMax == .seconds(1))
        let defaults = RedisConfiguration(host: "h")
        #expect(defaults.keyPrefix == "quorum:")
        #expect(defaults.commandTimeout == .seconds(5))
    }

    @Test func redissMeansTLSTrustingTheSystemStoreUntilACAFileIsSet() throws {
        let configuration = try RedisConfiguration(url: "rediss://:hunter2-secret@cache.internal:6380/1")
        #expect(configuration.tls == RedisConfiguration.TLS(caFile: nil))
        #expect(configuration.endpoint == "cache.internal:6380")
        #expect(configuration.database == 1)
        #expect(configuration.description.hasPrefix("rediss://:***@cache.internal:6380/1 tls.caFile=(system trust store)"))
        #expect(try RedisConfiguration(url: "redis://cache.internal").tls == nil)
        #expect(try RedisConfiguration(url: "REDISS://cache.internal").tls != nil)
    }

    @Test(arguments: ["http://localhost:6379", "redis+tls://localhost:6379", "localhost:6379"])
    func rejectsOtherSchemes(url: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .invalidConfiguration && !error.isRetriable
                && error.description.contains("redis://")
        }
    }

    @Test(arguments: ["redis://host:0", "redis://host:99999", "redis://host:abc", "redis://host/-1", "redis://host/x",
                      "redis://:6379", "redis://host?db=1"])
    func rejectsMalformedURLs(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func descriptionAndMirrorRedactThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:hunter2-secret@db.example:6379/2")
        for text in [configuration.description, String(reflecting: configuration), "\(configuration)",
                     { var out = ""; dump(configuration, to: &out); return out }()] {
            #expect(!text.contains("hunter2-secret"), "password leaked in: \(text)")
        }
        #expect(configuration.description.hasPrefix("redis://alice:***@db.example:6379/2"))
    }

    @Test func errorsNeverContainThePassword() {
        let urls = ["redis://:hunter2-secret@host:notaport", "redis://:hunter2-secret@host:6379/notadb",
                    "redis://:hunter2%zz@host", "rediz://:hunter2-secret@host"]
        for url in urls {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("expected \(url) to be rejected")
            } catch {
                #expect(!error.description.contains("hunter2"), "password leaked in: \(error)")
                #expect(error.code == .invalidConfiguration)
            }
        }
    }
}

@Suite struct RedisKeysTests {
    @Test func everyKeyStartsWithThePrefix() {
        let keys = RedisKeys(prefix: "replay-7:quorum:")
        let all = [keys.latestFeatures(symbol: "BTC-USD"), keys.activeModel(symbol: "BTC-USD"), keys.exposure,
                   keys.killSwitch, keys.sourceWeights, keys.regime(symbol: "BTC-USD")]
        #expect(all.allSatisfy { $0.hasPrefix("replay-7:quorum:") })
        #expect(Set(all).count == all.count)
        #expect(keys.latestFeatures(symbol: "BTC-USD") == "replay-7:quorum:features:latest:BTC-USD")
    }

    @Test func scanPatternEscapesGlobCharacters() {
        #expect(RedisKeys(prefix: "quorum:").allKeysPattern == "quorum:*")
        #expect(RedisKeys(prefix: "a*b?[c]\\:").allKeysPattern == "a\\*b\\?\\[c\\]\\\\:*")
    }

    @Test(arguments: [("12.50", true), ("-0.001", true), ("+3", true), ("100", true),
                      ("1e5", false), ("", false), ("-", false), ("1.", false), (".5", false), ("1.2.3", false),
                      ("NaN", false), ("١٢", false)])
    func decimalValidation(text: String, valid: Bool) {
        #expect(RedisHotState.isDecimal(text) == valid)
    }
}

@Suite struct RedisValueTests {
    @Test func accessors() {
        #expect(RedisValue.bytes([104, 105]).string == "hi")
        #expect(RedisValue.status("OK").string == "OK")
        #expect(RedisValue.integer(3).integer == 3)
        #expect(RedisValue.null.isNull)
        #expect(RedisValue.error("ERR x").string == nil)
        #expect(RedisValue.array([.null]).array == [.null])
    }
}
