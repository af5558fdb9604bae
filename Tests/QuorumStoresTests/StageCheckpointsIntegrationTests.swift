import QuorumPostgres
import QuorumStores
import Testing

@Suite("StageCheckpointsIntegrationTests", .serialized)
struct StageCheckpointsIntegrationTests {
    static func row(_ group: String, sequence: Int64, state: [UInt8]) -> StageCheckpointRow {
        StageCheckpointRow(group: group, format: 1, sequence: sequence,
                           positionsJSON: #"[{"topic":"quorum.v1.md.bars","partition":0,"next":42,"pending":[40]}]"#, state: state)
    }

    @Test func newestCheckpointPerGroupWinsAndAnOlderOneIsIgnored() async throws {
        try await StoresTestDatabase.with { store async throws in
            let checkpoints = StageCheckpoints(store: store)
            #expect(try await checkpoints.latest(group: "quorum-risk") == nil)
            let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await checkpoints.save(Self.row("quorum-risk", sequence: 1, state: [1, 2, 3]))
            try await checkpoints.save(Self.row("quorum-risk", sequence: 2, state: big))
            try await checkpoints.save(Self.row("quorum-risk", sequence: 1, state: [9]))  // late writer of an older one
            try await checkpoints.save(Self.row("quorum-features", sequence: 7, state: []))
            let risk = try await checkpoints.latest(group: "quorum-risk")
            #expect(risk?.sequence == 2)
            #expect(risk?.state == big)
            #expect(risk?.positionsJSON.filter { $0 != " " }.contains(#""pending":[40]"#) == true, "\(risk?.positionsJSON ?? "")")
            #expect(try await checkpoints.latest(group: "quorum-features")?.state == [])
            #expect(try await checkpoints.delete(group: "quorum-risk"))
            #expect(try await checkpoints.delete(group: "quorum-risk") == false)
            #expect(try await checkpoints.latest(group: "quorum-risk") == nil)
        }
    }
}
