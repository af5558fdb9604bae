#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import QuorumServices

/// `quorum` with no arguments on a terminal: the interactive menu (`CommandMenu`). Each choice asks for its arguments
/// (Enter takes the default in brackets), prints the equivalent command line, and runs that command as a child
/// process of this same binary, then comes back. Never without a terminal: without one, `quorum` prints its help.
enum MenuCommand {
    /// Whether the menu may open: no arguments, and standard input and output are terminals.
    static var applies: Bool {
        CommandLine.arguments.count == 1 && isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0
    }

    /// Bold and dim text on a terminal, plain with `NO_COLOR` set (https://no-color.org).
    struct Style {
        let on = ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
        func bold(_ s: String) -> String { on ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
        func dim(_ s: String) -> String { on ? "\u{1B}[2m\(s)\u{1B}[0m" : s }
    }

    /// Runs the menu until the user quits (q, or end of input). Returns the exit status.
    static func run() -> Int32 {
        let menu = CommandMenu.standard
        let style = Style()
        while true {
            print("\n" + style.bold("Quorum — what would you like to do?"))
            for (i, section) in menu.sections.enumerated() {
                print("  \(i + 1)) \(section.title.padding(toLength: 20, withPad: " ", startingAt: 0)) \(style.dim(section.summary))")
            }
            print("  q) Quit")
            guard let choice = ask("> ") else { return 0 }
            if choice == "q" { return 0 }
            guard let n = Int(choice), menu.sections.indices.contains(n - 1) else {
                print("'\(choice)' is not on the menu: type a number from 1 to \(menu.sections.count), or q to quit.")
                continue
            }
            if !section(menu.sections[n - 1], style: style) { return 0 }
        }
    }

    /// One section: pick an action, answer its questions, run it. Returns false at end of input.
    static func section(_ section: CommandMenu.Section, style: Style) -> Bool {
        while true {
            print("\n" + style.bold(section.title))
            for (i, action) in section.actions.enumerated() {
                print("  \(i + 1)) \(action.title.padding(toLength: 58, withPad: " ", startingAt: 0)) \(style.dim(CommandMenu.commandLine(action.words)))")
            }
            print("  b) Back")
            guard let choice = ask("> ") else { return false }
            if choice == "b" || choice.isEmpty { return true }
            guard let n = Int(choice), section.actions.indices.contains(n - 1) else {
                print("'\(choice)' is not on this menu: type a number from 1 to \(section.actions.count), or b to go back.")
                continue
            }
            guard let arguments = answers(for: section.actions[n - 1]) else { return false }
            print(style.bold("Equivalent command: ") + CommandMenu.commandLine(arguments))
            let status = runChild(arguments)
            print(status == 0 ? "Done." : "The command ended with exit status \(status) (its message is above).")
            guard ask("Press Enter to go back to the menu.") != nil else { return false }
            return true
        }
    }

    /// Asks each question until its answer is usable; nil at end of input.
    static func answers(for action: CommandMenu.Action) -> [String]? {
        var answers: [String] = []
        for question in action.questions {
            while true {
                let hint = question.defaultValue.map { " [\($0)]" } ?? ""
                guard let answer = ask("\(question.prompt)\(hint): ") else { return nil }
                let value = answer.isEmpty ? (question.defaultValue ?? "") : answer
                if let problem = problem(with: value, for: question) {
                    print(problem)
                    continue
                }
                answers.append(answer)
                break
            }
        }
        do {
            return try action.arguments(answers: answers)
        } catch {
            print("\(error)")
            return nil
        }
    }

    /// What is wrong with an answer, or nil: missing files are named (paths are relative to the current folder).
    static func problem(with value: String, for question: CommandMenu.Question) -> String? {
        if value.isEmpty { return "An answer is needed." }
        switch question.kind {
        case .file, .files:
            let paths = question.kind == .file ? [value] : value.split(separator: " ").map(String.init)
            let missing = paths.filter { !FileManager.default.fileExists(atPath: $0) }
            guard missing.isEmpty else {
                return "No such file: \(missing.joined(separator: ", ")) (relative to \(FileManager.default.currentDirectoryPath)); give another path."
            }
        case .choice(let words):
            guard words.contains(value) else { return "Type one of: \(words.joined(separator: ", "))." }
        case .text:
            break
        }
        return nil
    }

    /// Prints `prompt` and reads a line (trimmed); nil at end of input.
    static func ask(_ prompt: String) -> String? {
        print(prompt, terminator: "")
        fflush(stdout)
        return readLine().map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Runs this binary with `arguments` on the same terminal and returns its exit status.
    static func runChild(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            print("could not start \(CommandMenu.commandLine(arguments)): \(error)")
            return 127
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
