import Foundation
import QuorumModel
import QuorumPostgres
import QuorumStores
import Testing

/// The operator audit (append-only) and the registry's manual activation and rollback, against the real Postgres
/// (`make test`); each test in a database of its own.
@Suite("OperatorAuditIntegrationTests", .serialized, .timeLimit(.minutes(3)))
struct OperatorAuditIntegrationTests {
    @Test("entries are appended and listed newest first; UPDATE and DELETE are refused; empty reason or actor is refused")
    func appendOnly() async throws {
        try await StoresTestDatabase.with { store async throws in
            let audit = OperatorAudit(store: store)
            let first = try await audit.append(AuditEntry(actor: "alice", action: "kill_switch_on", target: "quorum-risk", reason: "exchange down",
                                                          outcome: .requested, origin: "dashboard"))
            let second = try await audit.append(AuditEntry(actor: "alice", action: "kill_switch_on", target: "quorum-risk", reason: "exchange down",
                                                           outcome: .done, detail: "kill switch on sent", origin: "dashboard"))
            #expect(second > first)
            let entries = try await audit.recent()
            #expect(entries.map(\.outcome) == [.done, .requested])
            #expect(entries[0].detail == "kill switch on sent" && entries[0].actor == "alice" && entries[0].origin == "dashboard")
            #expect(entries.allSatisfy { $0.at != nil })

            for sql in ["UPDATE operator_audit SET reason = 'x'", "DELETE FROM operator_audit"] {
                let error = await #expect(throws: (any Error).self) { try await StoresTestDatabase.execute(store, sql) }
                #expect(String(reflecting: error as Any).contains("append-only"), "\(sql): \(String(reflecting: error as Any))")
            }
            #expect(try await audit.recent().count == 2)

            for (actor, reason) in [("", "why"), ("bob", "  ")] {
                await #expect(throws: StoresError.self) {
                    try await audit.append(AuditEntry(actor: actor, action: "model_activate", target: "m", reason: reason, outcome: .requested, origin: "cli"))
                }
            }
        }
    }

    @Test("an operator activates any non-rejected model; rollback goes back to the model activated before")
    func manualActivationAndRollback() async throws {
        try await StoresTestDatabase.with { store async throws in
            let registry = ModelRegistry(store: store)
            for (id, auc) in [("a", 0.60), ("b", 0.70), ("c", 0.50)] {
                try await registry.register(ModelRegistryIntegrationTests.model(id, auc: auc))
            }
            try await registry.register(ModelRegistryIntegrationTests.model("bad", auc: 0.9, status: .rejected))
            await #expect(throws: StoresError.self) { try await registry.rollback(symbol: "BTC-USD") }  // nothing active

            #expect(try await registry.activate(modelID: "a") == .activated(previous: nil, sequence: 1))
            await #expect(throws: StoresError.self) { try await registry.rollback(symbol: "BTC-USD") }  // nothing before it
            #expect(try await registry.activate(modelID: "b") == .activated(previous: "a", sequence: 2))
            // A worse model too: the operator decides.
            #expect(try await registry.activate(modelID: "c") == .activated(previous: "b", sequence: 3))
            #expect(try await registry.activate(modelID: "c") == .kept(activeModelID: "c"))
            await #expect(throws: StoresError.self) { try await registry.activate(modelID: "bad") }
            await #expect(throws: StoresError.self) { try await registry.activate(modelID: "nope") }

            let back = try await registry.rollback(symbol: "BTC-USD")
            #expect(back.restored == "b" && back.replaced == "c")
            #expect(try await registry.active(symbol: "BTC-USD")?.modelID == "b")
            // The rollback is the symbol's fourth activation: inference serves it over the earlier ones.
            #expect(try await registry.model(id: "b")?.activationSequence == 4)
            // Activations by the trainers count on from there.
            try await registry.register(ModelRegistryIntegrationTests.model("d", auc: 0.99))
            #expect(try await registry.activateIfBetter(modelID: "d", metric: "auc") == .activated(previous: "b", sequence: 5))
            #expect(try await registry.model(id: "c")?.status == .retired)
            // The summaries carry no artifact.
            let summaries = try await registry.summaries()
            #expect(summaries.count == 5 && summaries.allSatisfy { $0.artifact.isEmpty })
        }
    }
}
