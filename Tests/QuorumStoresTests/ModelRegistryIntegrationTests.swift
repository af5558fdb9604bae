import Foundation
import QuorumModel
import QuorumPostgres
import QuorumStores
import Testing

/// Model registry and training runs against the real Postgres (`make test`); each test in a database of its own.
@Suite("ModelRegistryIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct ModelRegistryIntegrationTests {
    static func model(_ id: String, _ symbol: Symbol = "BTC-USD", auc: Double?, job: String? = nil,
                      status: ModelRecord.Status = .registered) -> ModelRecord {
        var metrics = ["logloss": 0.69]
        if let auc { metrics["auc"] = auc }
        return ModelRecord(
            modelID: id, symbol: symbol, version: "v-\(id)", modelKind: "logistic", featureSpec: "returns(1,5,15);rsi(14)",
            featureSpecVersion: 3, trainFrom: 1_000, trainTo: 2_000, validateTo: 3_000, metrics: metrics,
            artifact: Array("weights of \(id)".utf8) + [0, 255, 1], jobID: job ?? "job-\(id)", runID: "run-1", status: status)
    }

    @Test func registerIsInsertIfAbsent() async throws {
        try await StoresTestDatabase.with { store async throws in
            let registry = ModelRegistry(store: store)
            let record = Self.model("m1", auc: 0.61)
            #expect(try await registry.register(record) == true)
            #expect(try await registry.register(record) == false)
            // Same job id under another model id: the job already produced a model.
            #expect(try await registry.register(Self.model("m1b", auc: 0.9, job: "job-m1")) == false)
            // Same model id with other content: the first one stays.
            #expect(try await registry.register(Self.model("m1", auc: 0.99, job: "job-other")) == false)

            let stored = try #require(try await registry.model(id: "m1"))
            #expect(stored.createdAt != nil)
            #expect(stored.activatedAt == nil)
            var expected = record
            expected.createdAt = stored.createdAt
            #expect(stored == expected)
            #expect(try await registry.model(id: "m1b") == nil)

            // Only registered or rejected models can be registered.
            await #expect(throws: StoresError.self) { try await registry.register(Self.model("m2", auc: 0.5, status: .active)) }
            #expect(try await registry.register(Self.model("m3", auc: 0.4, status: .rejected)) == true)
            #expect(try await registry.list().map(\.modelID) == ["m3", "m1"])
        }
    }

    @Test func activationKeepsTheBestModelAndIsIdempotent() async throws {
        try await StoresTestDatabase.with { store async throws in
            let registry = ModelRegistry(store: store)
            for (id, auc) in [("a", 0.60), ("worse", 0.55), ("tie", 0.60), ("better", 0.70)] {
                try await registry.register(Self.model(id, auc: auc))
            }
            try await registry.register(Self.model("eth", "ETH-USD", auc: 0.1))

            #expect(try await registry.activateIfBetter(modelID: "a", metric: "auc") == .activated(previous: nil, sequence: 1))
            #expect(try await registry.activateIfBetter(modelID: "a", metric: "auc") == .kept(activeModelID: "a"))
            #expect(try await registry.activateIfBetter(modelID: "worse", metric: "auc") == .kept(activeModelID: "a"))
            #expect(try await registry.activateIfBetter(modelID: "tie", metric: "auc") == .kept(activeModelID: "a"))
            #expect(try await registry.active(symbol: "BTC-USD")?.modelID == "a")

            #expect(try await registry.activateIfBetter(modelID: "better", metric: "auc") == .activated(previous: "a", sequence: 2))
            let snapshot = try await StoresTestDatabase.dump(store, "SELECT model_id, status, activated_at FROM models ORDER BY model_id")
            // Redelivered activations change nothing.
            #expect(try await registry.activateIfBetter(modelID: "better", metric: "auc") == .kept(activeModelID: "better"))
            #expect(try await registry.activateIfBetter(modelID: "a", metric: "auc") == .kept(activeModelID: "better"))
            #expect(try await StoresTestDatabase.dump(store, "SELECT model_id, status, activated_at FROM models ORDER BY model_id") == snapshot)

            #expect(try await registry.model(id: "a")?.status == .retired)
            #expect(try await registry.model(id: "a")?.activatedAt != nil)
            #expect(try await registry.model(id: "worse")?.status == .registered)
            let active = try #require(try await registry.active(symbol: "BTC-USD"))
            #expect(active.modelID == "better")
            #expect(active.activatedAt != nil)

            // Symbols are independent.
            #expect(try await registry.active(symbol: "ETH-USD") == nil)
            #expect(try await registry.activateIfBetter(modelID: "eth", metric: "auc") == .activated(previous: nil, sequence: 1))
            #expect(try await registry.activeModels().map(\.activationSequence) == [2, 1], "counted per symbol")
            #expect(try await registry.activeModels().map(\.modelID) == ["better", "eth"])
            #expect(try await registry.list(symbol: "BTC-USD").map(\.modelID) == ["better", "tie", "worse", "a"])
        }
    }

    @Test func activeModelsAreCopiedFromAnotherSchemaOnce() async throws {
        try await StoresTestDatabase.with { source async throws in
            let registry = ModelRegistry(store: source)
            _ = try await registry.register(Self.model("a1", auc: 0.6))
            _ = try await registry.register(Self.model("a2", "ETH-USD", auc: 0.6))
            _ = try await registry.register(Self.model("a3", "ETH-USD", auc: 0.6))
            _ = try await registry.activateIfBetter(modelID: "a1", metric: "auc")
            _ = try await registry.activateIfBetter(modelID: "a2", metric: "auc")
            // A second schema in the same database, as a replay's prefix gets one.
            var configuration = try StoresTestDatabase.adminConfiguration()
            configuration.database = source.configuration.database
            configuration.schema = "replay_1"
            try await StoresTestDatabase.withStore(configuration) { replay in
                try await replay.migrate()
                let pinned = ModelRegistry(store: replay)
                #expect(try await pinned.copyActive(fromSchema: "public") == 2)
                #expect(try await pinned.copyActive(fromSchema: "public") == 0)   // already there: nothing twice
                #expect(try await pinned.activeModels().map(\.modelID).sorted() == ["a1", "a2"])
                await #expect(throws: StoresError.self) { try await pinned.copyActive(fromSchema: "public; drop table models") }
            }
        }
    }

    @Test func activationErrors() async throws {
        try await StoresTestDatabase.with { store async throws in
            let registry = ModelRegistry(store: store)
            try await registry.register(Self.model("no-auc", auc: nil))
            try await registry.register(Self.model("rejected", auc: 0.99, status: .rejected))
            let unknown = await #expect(throws: StoresError.self) { try await registry.activateIfBetter(modelID: "nope", metric: "auc") }
            #expect(unknown?.code == .notFound)
            let missing = await #expect(throws: StoresError.self) { try await registry.activateIfBetter(modelID: "no-auc", metric: "auc") }
            #expect(missing?.code == .invalidArgument)
            let rejected = await #expect(throws: StoresError.self) { try await registry.activateIfBetter(modelID: "rejected", metric: "auc") }
            #expect(rejected?.code == .invalidArgument)
            #expect(try await registry.activeModels().isEmpty)
        }
    }

    @Test func concurrentActivationsLeaveExactlyTheBestActive() async throws {
        try await StoresTestDatabase.with { store async throws in
            let registry = ModelRegistry(store: store)
            let scores = (0..<8).map { 0.5 + Double($0) / 100 }
            for (i, score) in scores.enumerated() { try await registry.register(Self.model("c\(i)", auc: score)) }
            let results = try await withThrowingTaskGroup(of: ActivationResult.self) { group in
                for i in scores.indices.shuffled() {
                    group.addTask { try await registry.activateIfBetter(modelID: "c\(i)", metric: "auc") }
                }
                var results: [ActivationResult] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == scores.count)
            #expect(try await registry.active(symbol: "BTC-USD")?.modelID == "c7")
            let activeCount = try await StoresTestDatabase.dump(store, "SELECT model_id FROM models WHERE status = 'active'")
            #expect(activeCount == ["(c7)"])
            // Every activation but the first retired exactly the model active before it.
            let activations = results.filter { if case .activated = $0 { true } else { false } }
            let retired = try await StoresTestDatabase.dump(store, "SELECT model_id FROM models WHERE status = 'retired'")
            #expect(retired.count == activations.count - 1)
        }
    }

    @Test func trainingRunsAreRecordedOnce() async throws {
        try await StoresTestDatabase.with { store async throws in
            let runs = TrainingRuns(store: store)
            let ok = TrainingRunRecord(jobID: "j1", runID: "r1", symbol: "BTC-USD", worker: "trainer-0", status: .succeeded,
                                       metrics: ["auc": 0.61, "logloss": 0.68], modelID: "m1")
            let failed = TrainingRunRecord(jobID: "j2", runID: "r1", symbol: "ETH-USD", worker: "trainer-1", status: .failed,
                                           error: "not enough bars: 12 < 500")
            #expect(try await runs.record(ok) == true)
            #expect(try await runs.record(ok) == false)
            #expect(try await runs.record(failed) == true)
            var changed = failed
            changed.status = .succeeded
            #expect(try await runs.record(changed) == false)

            let stored = try #require(try await runs.run(jobID: "j1"))
            #expect(stored.finishedAt != nil)
            var expected = ok
            expected.finishedAt = stored.finishedAt
            #expect(stored == expected)
            #expect(try await runs.run(jobID: "j2")?.error == "not enough bars: 12 < 500")
            #expect(try await runs.run(jobID: "j2")?.status == .failed)
            #expect(try await runs.run(jobID: "nope") == nil)
            #expect(try await runs.count(status: .succeeded) == 1)
            #expect(try await runs.count(status: .failed) == 1)
            #expect(try await runs.count(status: .rejected) == 0)
            #expect(try await runs.count() == 2)
        }
    }

    @Test func alertsAreRecordedOnceAndListedNewestFirst() async throws {
        try await StoresTestDatabase.with { store async throws in
            let alerts = Alerts(store: store)
            for i in 0..<5 {
                let alert = AlertRecord(alertID: "a\(i)", severity: i == 4 ? "critical" : "warning", source: "monitor",
                                        code: "drawdown", message: "drawdown \(i)%", time: Nanos(1_000 + i))
                #expect(try await alerts.record(alert) == true)
                #expect(try await alerts.record(alert) == false)
            }
            let recent = try await alerts.recent(limit: 3)
            #expect(recent.map(\.alertID) == ["a4", "a3", "a2"])
            #expect(recent.first?.severity == "critical")
            #expect(recent.allSatisfy { $0.createdAt != nil })
            #expect(try await alerts.recent().count == 5)
        }
    }
}
