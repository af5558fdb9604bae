import ArgumentParser
import Foundation
import Logging
import QuorumBus
import QuorumFeatures
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumPostgres
import QuorumProto
import QuorumServiceKit
import QuorumServices
import QuorumStores

/// Options of subcommands that also need Postgres.
///
/// The URL holds a password, so it has no default value that `--help` would print: it is read from
/// `$QUORUM_POSTGRES_URL` when the option is not given (prefer that: an option is visible in the process list).
struct StoreOptions: ParsableArguments {
    static let localURL = "postgres://quorum@127.0.0.1:5432/quorum"

    @Option(name: .customLong("postgres.url"),
            help: "Postgres URL (default: $QUORUM_POSTGRES_URL, else \(localURL)); prefer the variable, argv is visible to every user.")
    var postgresURLOption: String?

    /// The Postgres URL to use: `--postgres.url`, else `$QUORUM_POSTGRES_URL`, else the local default.
    var postgresURL: String { postgresURLOption ?? ProcessInfo.processInfo.environment["QUORUM_POSTGRES_URL"] ?? Self.localURL }

    /// Connects (pool running in a child task) and runs `body`; the pool stops afterwards.
    func withStore<T: Sendable>(prefix: String, _ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "quorum")
        logger.logLevel = .warning
        var configuration: PostgresConfiguration
        do {
            configuration = try PostgresConfiguration(url: postgresURL)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.schema = PostgresConfiguration.schema(forTopicPrefix: prefix)
        let store = PostgresStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            do {
                try await store.migrate()
                let result = try await body(store)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

/// Parses `2019-01-01`, `2019-01-01T12:00:00Z` or nanoseconds since the epoch.
func parseTime(_ text: String, option: String) throws -> Nanos {
    if let ns = Int64(text) { return ns }
    let iso = ISO8601DateFormatter()
    if let d = iso.date(from: text) ?? iso.date(from: text + "T00:00:00Z") {
        return Int64(d.timeIntervalSince1970) * 1_000_000_000
    }
    throw ValidationError("\(option) '\(text)' is not a time: use 2019-01-01, 2019-01-01T12:00:00Z or nanoseconds since the epoch")
}

func isoTime(_ ns: Nanos) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
}

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish training jobs (one per hyperparameter candidate and symbol) to training.jobs for the trainer workers; --wait waits for their outcome.")
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @Option(help: "Symbols (comma-separated); default: every symbol in the bar archive.") var symbols: String?
    @Option(help: "End of the validation window (event time); default: the last archived bar of each symbol.") var until: String?
    @Option(help: "Training window length in days.") var trainDays: Int = 240
    @Option(help: "Validation window length in days (the most recent part).") var validationDays: Int = 40
    @Option(name: .customLong("features.spec"),
            help: "The feature spec the jobs name: the cluster's features.spec (default: $QUORUM_FEATURES_SPEC, else \(FeatureSpec.default.name)).")
    var featureSpec: String = ProcessInfo.processInfo.environment["QUORUM_FEATURES_SPEC"] ?? FeatureSpec.default.name
    @Flag(help: "Wait until every job has a recorded outcome (training_runs), showing progress.") var wait = false
    @Option(help: "Give up waiting after this many seconds.") var timeout: Int = 900

    func run() async throws {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        try await bus.createTopics(namer.specsWithNames())
        let untilNs = try until.map { try parseTime($0, option: "--until") }
        let requested = symbols.map { $0.split(separator: ",").map { Symbol(String($0).trimmingCharacters(in: .whitespaces)) } }
        let (trainDays, validationDays, wait, timeout) = (Int64(trainDays), Int64(validationDays), self.wait, self.timeout)
        let spec = try FeatureSpec.load(featureSpec)
        try await stores.withStore(prefix: broker.prefix) { store in
            let archive = BarArchive(store: store)
            let runs = TrainingRuns(store: store)
            var chosen = requested ?? []
            if chosen.isEmpty { chosen = try await archive.symbols() }
            guard !chosen.isEmpty else { throw ValidationError("the bar archive is empty: ingest bars first (quorum ingest FILE…)") }
            let day: Int64 = 86_400 * 1_000_000_000
            var jobs: [Quorum_V1_TrainingJob] = []
            for symbol in chosen {
                // The symbol's bar interval (the shortest, when the archive holds several), and its range of bars.
                guard let interval = try await archive.intervals(symbol: symbol).first,
                      let range = try await archive.range(symbol: symbol, intervalSeconds: interval) else {
                    throw ValidationError("no archived bars for \(symbol); ingest them first")
                }
                guard let window = TrainingWindow.latest(firstOpen: range.first, lastOpen: range.last, intervalSeconds: interval, until: untilNs,
                                                         train: trainDays * day, validation: validationDays * day) else {
                    throw ValidationError("\(symbol): archive \(isoTime(range.first))…\(isoTime(range.last)) is too short for the windows")
                }
                jobs += TrainingJobs.make(symbol: symbol, intervalSeconds: interval, trainFrom: window.trainFrom, trainTo: window.trainTo,
                                          validateTo: window.validateTo, spec: spec, stamp: EnvelopeStamp(producer: "quorum-cli"))
                print("\(symbol): train \(isoTime(window.trainFrom)) … \(isoTime(window.trainTo)), validate … \(isoTime(window.validateTo)) (\(spec))")
            }
            let producer = try bus.makeProducer(clientID: "quorum-cli-train")
            _ = try await producer.send(jobs.map { job in
                try OutgoingMessage(topic: namer.name(Topic.trainingJobs), key: job.jobID, message: job, eventTimeNs: job.envelope.tsEventNs)
            })
            await producer.close()
            print("published \(jobs.count) training jobs")
            guard wait else { return }
            let deadline = ContinuousClock.now + .seconds(timeout)
            var done: [TrainingRunRecord] = []
            var progress = ProgressLine(total: jobs.count, label: "train: jobs done")
            while ContinuousClock.now < deadline {
                done = []
                for job in jobs { if let r = try await runs.run(jobID: job.jobID) { done.append(r) } }
                progress.update(done.count)
                if done.count == jobs.count { break }
                try await Task.sleep(for: .seconds(1))
            }
            progress.finish()
            for r in done.sorted(by: { $0.jobID < $1.jobID }) {
                let gain = r.metrics["log_loss_gain"].map { String(format: "%+.5f", $0) } ?? "-"
                let acc = r.metrics["accuracy"].map { String(format: "%.3f", $0) } ?? "-"
                print("  \(r.jobID) \(r.status.rawValue) worker=\(r.worker) accuracy=\(acc) log_loss_gain=\(gain)\(r.error.map { " error=\($0)" } ?? "")")
            }
            if done.count < jobs.count {
                throw ValidationError("\(jobs.count - done.count) jobs have no outcome after \(timeout) s: are the trainers running? (scripts/cluster status)")
            }
        }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The model registry.", subcommands: [List.self, Activate.self, Rollback.self])

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a registered model its symbol's active model (whatever its metrics) and announce it to inference; recorded in the operator audit.")
        @OptionGroup var broker: BrokerOptions
        @OptionGroup var stores: StoreOptions
        @OptionGroup var who: ActorOptions
        @Argument(help: "The model id (quorum models list).") var modelID: String

        func run() async throws {
            let (id, request) = (modelID, who.request())
            try await stores.withOperatorActions(broker) { try await $0.activateModel(id, request) }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put back a symbol's previous model (the retired one activated most recently) and announce it to inference; recorded in the operator audit.")
        @OptionGroup var broker: BrokerOptions
        @OptionGroup var stores: StoreOptions
        @OptionGroup var who: ActorOptions
        @Argument(help: "The symbol, e.g. BTC-USD.") var symbol: String

        func run() async throws {
            let (symbol, request) = (Symbol(symbol), who.request())
            try await stores.withOperatorActions(broker) { try await $0.rollbackModel(symbol: symbol, request) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models, newest first.")
        @OptionGroup var broker: BrokerOptions
        @OptionGroup var stores: StoreOptions
        @Option(help: "Only this symbol.") var symbol: String?

        func run() async throws {
            let symbol = self.symbol.map { Symbol($0) }
            let models = try await stores.withStore(prefix: broker.prefix) { try await ModelRegistry(store: $0).list(symbol: symbol) }
            if models.isEmpty { print("no models registered (publish jobs with `quorum train`)"); return }
            let width = max(5, models.map(\.modelID.count).max() ?? 5)
            print("model".padding(toLength: width, withPad: " ", startingAt: 0) + " symbol    status      accuracy  log_loss_gain  validated to")
            for m in models {
                let acc = m.metrics["accuracy"].map { String(format: "%.4f", $0) } ?? "-"
                let gain = m.metrics["log_loss_gain"].map { String(format: "%+.5f", $0) } ?? "-"
                print("\(m.modelID.padding(toLength: width, withPad: " ", startingAt: 0)) \(m.symbol.name.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                      + "\(m.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(acc.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                      + "\(gain.padding(toLength: 14, withPad: " ", startingAt: 0)) \(isoTime(m.validateTo))")
            }
        }
    }
}

/// Who runs an operator command (recorded in the operator audit) and why.
struct ActorOptions: ParsableArguments {
    @Option(help: "Who does it, for the operator audit (default: the OS user: $USER, else the account name).")
    var actor: String = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
    @Option(help: "Why (required; recorded in the operator audit, and in risk's alert for the kill switch).")
    var reason: String

    func request() -> OperatorRequest { OperatorRequest(actor: actor, reason: reason, origin: "cli") }
}

extension StoreOptions {
    /// Runs `body` with the operator actions on `broker`'s cluster and this store (`OperatorActions`: audited, shared with
    /// the monitor's dashboard); their errors become the CLI's.
    func withOperatorActions(_ broker: BrokerOptions, _ body: @escaping @Sendable (OperatorActions) async throws -> String) async throws {
        let bus = try broker.bus()
        let namer = try TopicNamer(prefix: broker.prefix)
        try await bus.checkConnection()
        let logger = { var l = Logger(label: "quorum"); l.logLevel = .warning; return l }()
        let done = try await withStore(prefix: broker.prefix) { store in
            do {
                return try await body(OperatorActions(bus: bus, namer: namer, store: store, producer: "quorum-cli", logger: logger))
            } catch let error as OperatorActionError {
                throw ValidationError(error.description)
            }
        }
        print(done)
    }
}

struct KillSwitch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill-switch",
        abstract: "Turn risk's manual kill switch on (deny every risk-increasing order) or off, through the control topic; recorded in the operator audit.")
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var stores: StoreOptions
    @OptionGroup var who: ActorOptions
    @Argument(help: "on or off") var state: String

    func run() async throws {
        guard state == "on" || state == "off" else { throw ValidationError("say 'on' or 'off', not '\(state)'") }
        let (on, request) = (state == "on", who.request())
        try await stores.withOperatorActions(broker) { try await $0.killSwitch(on: on, request) }
    }
}
