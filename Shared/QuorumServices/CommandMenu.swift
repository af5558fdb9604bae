import Foundation

/// The interactive menu of `quorum` with no arguments on a terminal: the seeds' main menu (load data, EDA, features,
/// models, backtest, deploy & monitor, configuration, help). Every entry runs an ordinary subcommand: the menu only asks
/// for its arguments and shows the equivalent command line, so what a user learns in the menu works in scripts.
///
/// This is the menu's content and its one decision (which command line the answers make); the terminal side (prompts,
/// reading keys, running the command) is the CLI's `MenuCommand`.
public struct CommandMenu: Sendable {
    /// A value the user is asked for.
    public struct Question: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// Existing files, separated by blanks (at least one).
            case files
            /// An existing file.
            case file
            /// Any text (a path to write, a name, a reason).
            case text
            /// One of a few words.
            case choice([String])
        }

        public var prompt: String
        public var kind: Kind
        /// Used when the answer is empty; nil: an answer is required.
        public var defaultValue: String?
        /// How the answer goes on the command line: the option name (e.g. "--config"), or nil for positional arguments.
        public var option: String?

        public init(_ prompt: String, _ kind: Kind, default defaultValue: String? = nil, option: String? = nil) {
            self.prompt = prompt
            self.kind = kind
            self.defaultValue = defaultValue
            self.option = option
        }
    }

    /// One thing to do: a subcommand with fixed words and the questions that complete it.
    public struct Action: Sendable, Hashable {
        public var title: String
        /// The subcommand's words, e.g. ["features", "compute"].
        public var words: [String]
        public var questions: [Question]
        /// Options always added after the answers, e.g. ["--json"].
        public var fixed: [String]

        public init(_ title: String, _ words: [String], questions: [Question] = [], fixed: [String] = []) {
            self.title = title
            self.words = words
            self.questions = questions
            self.fixed = fixed
        }

        /// The arguments for `quorum` given one answer per question (empty: the default). Throws `MenuAnswerError` for a
        /// missing required answer or a word that is not one of a choice's.
        public func arguments(answers: [String]) throws -> [String] {
            var args = words
            for (question, raw) in zip(questions, answers + Array(repeating: "", count: max(0, questions.count - answers.count))) {
                let answer = raw.trimmingCharacters(in: .whitespaces)
                guard let value = answer.isEmpty ? question.defaultValue : answer else {
                    throw MenuAnswerError("\(question.prompt): an answer is needed")
                }
                if case .choice(let words) = question.kind, !words.contains(value) {
                    throw MenuAnswerError("\(question.prompt): '\(value)' is not one of \(words.joined(separator: ", "))")
                }
                let values = question.kind == .files ? value.split(separator: " ").map(String.init) : [value]
                if let option = question.option { for v in values { args += [option, v] } } else { args += values }
            }
            return args + fixed
        }
    }

    /// One entry of the main menu and its actions.
    public struct Section: Sendable, Hashable {
        public var title: String
        public var summary: String
        public var actions: [Action]
    }

    public let sections: [Section]

    /// The menu, with the repository's sample data and example configurations as defaults.
    public static let standard = CommandMenu(sections: [
        Section(title: "Load data", summary: "check market data files and ingest them into the running cluster", actions: [
            Action("Check files without a cluster", ["ingest", "--check"], questions: [Question("Bar files", .files, default: sample)]),
            Action("Ingest files into the running cluster", ["ingest"], questions: [Question("Bar files", .files, default: sample)]),
        ]),
        Section(title: "Explore data (EDA)", summary: "gaps, duplicates, outliers, OHLC errors, return statistics, correlation", actions: [
            Action("Summary in the terminal", ["eda"], questions: [Question("Bar files", .files, default: sample)]),
            Action("Summary and an HTML page with charts", ["eda"], questions: [
                Question("Bar files", .files, default: sample), Question("HTML page to write", .text, default: "eda.html", option: "--html"),
            ]),
        ]),
        Section(title: "Features", summary: "the feature library: list, compute in batch, report per feature", actions: [
            Action("List every feature with its parameters", ["features", "list"]),
            Action("Compute a spec's features over files", ["features", "compute"], questions: [
                Question("Bar files", .files, default: sample), Question("Feature spec", .text, default: "talib-parity", option: "--spec"),
                Question("CSV to write", .text, default: "features.csv", option: "--out"),
            ]),
            Action("Feature report (IC, mutual information, importance)", ["features", "report"], questions: [
                Question("Report configuration", .file, default: "examples/features-report.json", option: "--config"),
            ]),
        ]),
        Section(title: "Models", summary: "the registry, training on the cluster, hyperparameter search", actions: [
            Action("List registered models", ["models", "list"]),
            Action("Train models on the running cluster and wait", ["train"], fixed: ["--wait"]),
            Action("Tune hyperparameters", ["tune"], questions: [
                Question("Tuning configuration", .file, default: "examples/tune-demo.json", option: "--config"),
            ]),
        ]),
        Section(title: "Backtest", summary: "the cluster's decisions on history, walk-forward validation, overfitting guards", actions: [
            Action("Backtest", ["backtest"], questions: [Question("Run configuration", .file, default: "examples/backtest.json", option: "--config")]),
            Action("Walk-forward (models trained only on the past)", ["walk-forward"], questions: [
                Question("Run configuration", .file, default: "examples/walk-forward.json", option: "--config"),
            ]),
        ]),
        Section(title: "Deploy & monitor", summary: "the local cluster: start, status, summary, kill switch, stop", actions: [
            Action("Start the local cluster", ["cluster", "up"]),
            Action("Status of every service", ["cluster", "status"]),
            Action("Topics, message counts and lag", ["topics"]),
            Action("Trading summary and ledger check", ["summary"]),
            Action("Kill switch", ["kill-switch"], questions: [
                Question("on or off", .choice(["on", "off"])), Question("Reason", .text, option: "--reason"),
            ]),
            Action("Stop the local cluster", ["cluster", "down"]),
        ]),
        Section(title: "Configuration", summary: "every configuration key of the services, the build", actions: [
            Action("Every configuration key with its type, default and variable", ["config-doc"]),
            Action("Version", ["version"]),
        ]),
        Section(title: "Help", summary: "every command and its options", actions: [
            Action("All commands", ["help"]),
        ]),
    ])

    /// The sample data shipped with the repository (data/market).
    public static let sample = "data/market/btc_usd_30m.csv.gz"

    /// The command line shown for `arguments`: `quorum` and the arguments, each quoted when the shell needs it.
    public static func commandLine(_ arguments: [String]) -> String {
        (["quorum"] + arguments.map(shellQuoted)).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+%".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// An answer the menu cannot use, naming the question and what was wrong.
public struct MenuAnswerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
