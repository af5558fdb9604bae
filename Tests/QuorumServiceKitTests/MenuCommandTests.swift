import Foundation
import QuorumServices
import Testing

/// The menu's content: which command line the answers make.
@Suite("CommandMenu")
struct CommandMenuTests {
    let eda = CommandMenu.standard.sections.first { $0.title == "Explore data (EDA)" }!.actions[1]
    let killSwitch = CommandMenu.standard.sections.flatMap(\.actions).first { $0.words == ["kill-switch"] }!

    @Test("answers become arguments: defaults for empty answers, several files, options with their values")
    func arguments() throws {
        #expect(try eda.arguments(answers: ["", ""]) == ["eda", CommandMenu.sample, "--html", "eda.html"])
        #expect(try eda.arguments(answers: ["a.csv b.csv", "out.html"]) == ["eda", "a.csv", "b.csv", "--html", "out.html"])
        #expect(try killSwitch.arguments(answers: ["on", "drill"]) == ["kill-switch", "on", "--reason", "drill"])
    }

    @Test("a required answer left empty, or a word not among the choices, is an error naming the question")
    func badAnswers() {
        #expect(throws: MenuAnswerError.self) { try killSwitch.arguments(answers: ["", "x"]) }
        #expect(throws: MenuAnswerError.self) { try killSwitch.arguments(answers: ["maybe", "x"]) }
        #expect(throws: MenuAnswerError.self) { try killSwitch.arguments(answers: ["on", ""]) }
    }

    @Test("the command line shown quotes what a shell would split")
    func commandLine() {
        #expect(CommandMenu.commandLine(["kill-switch", "on", "--reason", "fat finger's drill"])
                == "quorum kill-switch on --reason 'fat finger'\\''s drill'")
        #expect(CommandMenu.commandLine(["eda", "data/market/btc_usd_30m.csv.gz"]) == "quorum eda data/market/btc_usd_30m.csv.gz")
    }

    @Test("every section has actions, and every action's words are a quorum subcommand the menu's default files exist for")
    func content() {
        #expect(CommandMenu.standard.sections.map(\.title) == ["Load data", "Explore data (EDA)", "Features", "Models", "Backtest",
                                                            "Deploy & monitor", "Configuration", "Help"])
        for action in CommandMenu.standard.sections.flatMap(\.actions) {
            for q in action.questions where q.kind == .file || q.kind == .files {
                #expect(FileManager.default.fileExists(atPath: q.defaultValue ?? ""), "\(action.title): \(q.defaultValue ?? "-")")
            }
        }
    }
}

/// `quorum` with no arguments as a user meets it: on a terminal (a pseudo-terminal made by util-linux `script`) the menu;
/// through a pipe the help.
@Suite("quorum menu on a terminal", .serialized, .timeLimit(.minutes(2)))
struct MenuCommandTests {
    /// Runs `quorum` with no arguments on a pseudo-terminal, typing `keys`; returns what the terminal showed.
    static func onTerminal(_ keys: String, environment: [String: String] = [:]) throws -> (status: Int32, screen: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qfec", QuorumCommand.path, "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(keys.utf8))
        try input.fileHandleForWriting.close()
        let screen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, screen)
    }

    /// The screen without its colour codes.
    static func plain(_ screen: String) -> String { screen.replacing(/\u{1B}\[[0-9;]*m/, with: "") }

    @Test("EDA from the menu: shows the equivalent command line, runs it on the sample data, comes back; q quits")
    func edaFromTheMenu() throws {
        let (status, colored) = try Self.onTerminal("2\n1\n\n\nq\n", environment: ["NO_COLOR": ""])
        #expect(status == 0, "\(colored)")
        #expect(colored.contains("\u{1B}[1mQuorum — what would you like to do?\u{1B}[0m"), "bold titles on a terminal")
        let screen = Self.plain(colored)
        #expect(screen.contains("Quorum — what would you like to do?"))
        #expect(screen.contains("Equivalent command: quorum eda data/market/btc_usd_30m.csv.gz"), "\(screen)")
        #expect(screen.contains("BTC-USD  30m  2017-10-01T00:00:00Z"), "the command ran: \(screen)")
        #expect(screen.contains("Done."))
        #expect(screen.components(separatedBy: "what would you like to do?").count == 3, "back to the menu once, then quit")
    }

    @Test("wrong choices and missing files are named and asked again; end of input leaves the menu; NO_COLOR is honoured")
    func badInput() throws {
        let (status, screen) = try Self.onTerminal("9\n2\n1\nnope.csv\n", environment: ["NO_COLOR": "1"])
        #expect(status == 0, "\(screen)")
        #expect(screen.contains("'9' is not on the menu: type a number from 1 to 8, or q to quit."), "\(screen)")
        #expect(screen.contains("No such file: nope.csv (relative to "), "\(screen)")
        #expect(!screen.contains("\u{1B}["), "no escape codes with NO_COLOR")
    }

    @Test("without a terminal, no menu: the help")
    func noTerminal() async throws {
        let result = try await QuorumCommand.run([])
        #expect(result.output.contains("USAGE: quorum <subcommand>"), "\(result.output)")
        #expect(!result.output.contains("what would you like to do?"))
    }
}
