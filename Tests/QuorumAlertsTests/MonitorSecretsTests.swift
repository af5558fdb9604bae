import Foundation
import QuorumServiceKit
import QuorumServices
import Testing

/// The monitor's webhook secrets as deployments give them: by key, or by a file (a compose bind mount or a Kubernetes
/// Secret, wired by compose/entrypoint.sh); the templates' REPLACE_ME placeholders are refused without being echoed.
@Suite("Monitor secrets")
struct MonitorSecretsTests {
    static func configuration(_ values: [String: String]) throws -> Configuration {
        try Configuration(registry: ServiceRunner.makeRegistry(name: "quorum-monitor", extraKeys: ServiceKeys.monitor), values: values)
    }

    static func file(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-secret-\(UUID().uuidString)").path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a webhook URL in a file (trailing newline trimmed) becomes a destination; no file set = no destination")
    func fromFile() throws {
        let path = try Self.file("https://hooks.slack.com/services/T1/B1/from-a-file\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let destinations = try MonitorAlerting.destinations(try Self.configuration(["monitor.alerts.slack.file": path]))
        #expect(destinations.map(\.name) == ["slack"])
        #expect(destinations.first?.url == "https://hooks.slack.com/services/T1/B1/from-a-file")
        #expect(try MonitorAlerting.destinations(try Self.configuration([:])).isEmpty)
    }

    @Test("a template placeholder, by key or in a file, is refused with the key and what to do, not the value")
    func placeholderRefused() throws {
        let path = try Self.file("REPLACE_ME_with_your_Discord_webhook_URL\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // (A URL key holding a placeholder is refused by the configuration already: it is not a URL.)
        let cases: [(values: [String: String], key: String)] = [
            (["monitor.alerts.discord.file": path], "monitor.alerts.discord.file"),
            (["monitor.alerts.telegram.token": "REPLACE_ME_with_your_Telegram_bot_token", "monitor.alerts.telegram.chat.id": "42"],
             "monitor.alerts.telegram.token"),
        ]
        for (values, key) in cases {
            #expect {
                try MonitorAlerting.destinations(try Self.configuration(values))
            } throws: { error in
                let text = "\(error)"
                return text.contains(key) && text.contains("REPLACE_ME placeholder") && !text.contains("with_your_")
            }
        }
    }

    @Test("a file that is set but missing is an error naming the key and the path")
    func missingFile() throws {
        #expect {
            try MonitorAlerting.destinations(try Self.configuration(["monitor.alerts.telegram.file": "/nonexistent/telegram_token",
                                                                     "monitor.alerts.telegram.chat.id": "42"]))
        } throws: { error in
            "\(error)".contains("monitor.alerts.telegram.file") && "\(error)".contains("/nonexistent/telegram_token")
        }
    }
}
