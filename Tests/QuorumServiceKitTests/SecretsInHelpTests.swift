import Foundation
import QuorumServiceKit
import Testing

/// Runs the built executables (next to the test binary) with passwords in the environment, as after
/// `source .cluster/env`, and scans what `--help` (every command and subcommand of `quorum`, every service) and a
/// service's `--print-config` print.
@Suite("Secrets never appear in help or printed configuration")
struct SecretsInHelpTests {
    static let postgresPassword = "pg-s3cret-Zq7"
    static let redisPassword = "redis-s3cret-Xw4"
    static let environment = [
        "QUORUM_POSTGRES_URL": "postgres://quorum:\(postgresPassword)@127.0.0.1:5432/quorum",
        "QUORUM_REDIS_URL": "redis://:\(redisPassword)@127.0.0.1:6379",
    ]
    static let services = ["quorum-ingest", "quorum-features", "quorum-trainer", "quorum-inference", "quorum-consensus",
                           "quorum-risk", "quorum-execution", "quorum-monitor"]

    static var bin: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path }

    /// Runs `executable arguments` with the secret environment; returns its exit status and output (stdout + stderr).
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32?, output: String) {
        let log = NSTemporaryDirectory() + "quorum-help-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }  // harmless: a temporary file
        let child = try ChildProcess.spawn("\(bin)/\(executable)", arguments, log: log, environment: environment)
        let deadline = ContinuousClock.now + .seconds(30)
        while child.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        child.kill9()
        child.wait()
        return (child.exitStatus, String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self))
    }

    /// The subcommand names listed under `SUBCOMMANDS:` in an ArgumentParser help text.
    static func subcommands(in help: String) -> [String] {
        var names: [String] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") { inSection = true; continue }
            guard inSection else { continue }
            if !line.isEmpty && !line.hasPrefix(" ") { break }
            let words = line.split(separator: " ")
            // "  name   abstract" (a "(default)" marker may follow the name); skip the "See 'quorum help …'" line.
            if line.hasPrefix("  "), !line.hasPrefix("   "), let first = words.first, first != "See",
               first.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                names.append(String(first))
            }
        }
        return names
    }

    static func assertNoSecret(_ text: String, _ what: String) {
        #expect(!text.contains(postgresPassword), "\(what) prints the Postgres password:\n\(text)")
        #expect(!text.contains(redisPassword), "\(what) prints the Redis password:\n\(text)")
    }

    @Test("--help of every quorum command and subcommand shows no password from the environment")
    func cliHelp() async throws {
        var pending: [[String]] = [[]]
        var seen: [String] = []
        while let path = pending.popLast() {
            let (status, help) = try await Self.run("quorum", path + ["--help"])
            #expect(status == 0, "quorum \(path.joined(separator: " ")) --help exited \(String(describing: status)):\n\(help)")
            #expect(help.contains("USAGE:"), "quorum \(path.joined(separator: " ")) --help printed no usage:\n\(help)")
            Self.assertNoSecret(help, "quorum \(path.joined(separator: " ")) --help")
            seen.append(path.joined(separator: " "))
            if path.count < 3 {
                for name in Self.subcommands(in: help) where name != "help" { pending.append(path + [name]) }
            }
        }
        for command in ["ingest", "train", "models list", "replay", "summary", "bench-pipeline"] {
            #expect(seen.contains(command), "quorum \(command) was not found in the help tree: \(seen.sorted())")
        }
    }

    @Test("--help and --print-config of every service show no password from the environment", arguments: services)
    func serviceHelpAndConfig(service: String) async throws {
        for arguments in [["--help"], ["--print-config"]] {
            let (status, output) = try await Self.run(service, arguments)
            #expect(status == 0, "\(service) \(arguments[0]) exited \(String(describing: status)):\n\(output)")
            #expect(output.contains("postgres.url"), "\(service) \(arguments[0]) printed no configuration:\n\(output)")
            Self.assertNoSecret(output, "\(service) \(arguments[0])")
        }
    }
}
