import Foundation
import QuorumServiceKit

/// The built `quorum` binary (beside the test bundle), run as a user runs it.
enum QuorumCommand {
    static let path = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("quorum").path

    /// Runs `quorum` with standard output and error into one file (as a pipe or `make demo | tee` would see them);
    /// returns its exit status and that output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "quorum-cli-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess.spawn(path, arguments, log: log, environment: environment)
        while child.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return (child.exitStatus ?? -1, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}
