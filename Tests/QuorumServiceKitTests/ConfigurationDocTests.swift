import Foundation
import Testing
import QuorumServiceKit
import QuorumServices

@Suite("docs/configuration.md")
struct ConfigurationDocTests {
    /// docs/configuration.md, found from this file's path (Tests/QuorumServiceKitTests/ → repository root).
    static let docURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/configuration.md")

    @Test("docs/configuration.md matches ConfigurationDoc.markdown() of every service's keys")
    func docIsInSync() throws {
        let rendered = ConfigurationDoc.markdown(registry: ServiceKeys.documentationRegistry)
        // scripts/gen-config-doc sets WRITE_CONFIG_DOC=1 to regenerate the page instead of checking it.
        if ProcessInfo.processInfo.environment["WRITE_CONFIG_DOC"] == "1" {
            try Data(rendered.utf8).write(to: Self.docURL)
        }
        let committed = (try? String(contentsOf: Self.docURL, encoding: .utf8)) ?? "(missing)"
        #expect(committed == rendered, """
            docs/configuration.md differs from ConfigurationDoc.markdown(); \
            run scripts/gen-config-doc to regenerate it and commit the result.
            """)
    }

    @Test("the table lists every common key once with its environment variable")
    func tableHasEveryKey() {
        let table = ConfigurationDoc.table(.standard)
        for key in CommonKeys.all {
            let rows = table.split(separator: "\n").filter { $0.hasPrefix("| `\(key.name)` |") }
            #expect(rows.count == 1, "key \(key.name)")
            #expect(rows.first?.contains("`\(key.environmentVariable)`") == true, "key \(key.name)")
        }
        #expect(table.contains("`postgres://quorum@127.0.0.1:5432/quorum`"))
    }

    @Test("every service key is documented once, and no two services define the same key differently")
    func serviceKeysDocumented() {
        let table = ConfigurationDoc.table(ServiceKeys.documentationRegistry)
        for key in ServiceKeys.all {
            #expect(table.split(separator: "\n").filter { $0.hasPrefix("| `\(key.name)` |") }.count == 1, "key \(key.name)")
            #expect(!key.doc.isEmpty)
        }
    }
}
