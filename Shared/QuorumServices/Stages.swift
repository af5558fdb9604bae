import Foundation
import Logging
import QuorumAlertDelivery
import QuorumAlerts
import QuorumBus
import QuorumExecution
import QuorumFeatures
import QuorumML
import QuorumModel
import QuorumPipeline
import QuorumProto
import QuorumRisk
import QuorumServiceKit
import QuorumStores
import QuorumStrategy
import ServiceLifecycle

/// What each service executable runs: its backends, then its stage. The @main files only call these.
public enum QuorumStages {
    static func fixed(_ config: Configuration, _ key: ConfigKey) throws -> Fixed {
        let text = config.string(key.name)
        guard let value = Fixed(text) else {
            throw ConfigurationProblem("\(key.name) = '\(text)' is not an exact decimal with at most 8 decimals (e.g. 0.01)")
        }
        return value
    }

    /// `quorum-features`: bars → feature vectors; latest vector per symbol in Redis.
    public static func features(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let spec = try ServiceKeys.loadFeatureSpec(context.config)
        context.logger.info("computing feature spec", metadata: ["spec": .string(spec.description), "features": .stringConvertible(spec.names.count)])
        let logic = FeaturesStage(namer: backends.namer, spec: spec, hotState: backends.redis.map { RedisHotStateSink(client: $0) })
        return backends.services + [await StageHostService(logic: logic, bus: backends.bus!, context: context, checkpoints: backends.checkpoints)]
    }

    /// `quorum-inference`: feature vectors → predictions with the active model of each symbol (registry at start,
    /// `models` events while running).
    public static func inference(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let registry = ModelRegistry(store: backends.postgres!, logger: context.logger)
        let namer = backends.namer
        let hotState = backends.redis.map { RedisHotStateSink(client: $0) }
        let logger = context.logger
        let stage = await DeferredStageService(bus: backends.bus!, context: context, checkpoints: backends.checkpoints) {
            var served: [ServedModel] = []
            for record in try await registry.activeModels() {
                do {
                    served.append(ServedModel(modelID: record.modelID, model: try TrainedModel(artifact: record.artifact),
                                              activationSequence: UInt64(max(0, record.activationSequence ?? 0))))
                } catch {
                    logger.error("active model does not load; its symbol gets no predictions until a new model is activated",
                                 metadata: ["model.id": .string(record.modelID), "error": .string("\(error)")])
                }
            }
            logger.info("serving models", metadata: ["models": .string(served.map(\.modelID).joined(separator: ","))])
            return InferenceStage(namer: namer, initialModels: served, hotState: hotState)
        }
        return backends.services + [stage]
    }

    /// `quorum-consensus`: features + predictions → signals and decisions.
    public static func consensus(_ context: QuorumContext) async throws -> [any Service] {
        let backends = try await Backends.connect(context, needs: .all)
        let config = ConsensusConfig(threshold: context.config.double(ServiceKeys.consensusThreshold.name),
                                     conflictConfidence: context.config.double(ServiceKeys.consensusConflict.name))
        let logic = ConsensusStage(namer: backends.namer, config: config, spec: try ServiceKeys.loadFeatureSpec(context.config))
        return backends.services + [await StageHostService(logic: logic, bus: backends.bus!, context: context, checkpoints: backends.checkpoints)]
    }

    /// Slippage and fee of a fill (`execution.slippage.bps`, `execution.fee.bps`): execution charges them, risk's
    /// buying power counts them.
    static func costs(_ config: Configuration) throws -> TradingCosts {
        TradingCosts(slippageBps: try fixed(config, ServiceKeys.executionSlippageBps), feeBps: try fixed(config, ServiceKeys.executionFeeBps))
    }

    /// `quorum-risk`: decisions + execution reports + control → approvals and denials.
    public static func risk(_ context: QuorumContext) async throws -> [any Service] {
        let c = context.config
        let config = RiskConfig(startingEquity: try fixed(c, ServiceKeys.riskStartingEquity), riskPerTrade: try fixed(c, ServiceKeys.riskPerTrade),
                                maxPortfolioHeat: try fixed(c, ServiceKeys.riskMaxHeat),
                                maxPositionNotional: try fixed(c, ServiceKeys.riskMaxPosition),
                                dailyLossLimit: try fixed(c, ServiceKeys.riskDailyLoss),
                                costs: try costs(c), priceAllowanceBps: try fixed(c, ServiceKeys.riskPriceAllowance))
        let backends = try await Backends.connect(context, needs: .all)
        let ledger = ExecutionLedgerStore(store: backends.postgres!, logger: context.logger)
        let logic = RiskStage(namer: backends.namer, config: config, idleTimeout: c.duration(ServiceKeys.riskIdleTimeout.name),
                              expectedSymbols: c.list(ServiceKeys.riskSymbols.name).map { Symbol($0) },
                              hotState: backends.redis.map { RedisHotStateSink(client: $0) },
                              denialSink: PostgresDenialSink(ledger: ledger))
        let metrics = RiskMetrics(metrics: context.metrics)
        return backends.services + [await StageHostService(logic: logic, bus: backends.bus!, context: context, checkpoints: backends.checkpoints,
                                                           observe: metrics.update)]
    }

    /// `quorum-execution`: approved orders + bars → paper fills; orders, fills, positions in Postgres.
    public static func execution(_ context: QuorumContext) async throws -> [any Service] {
        let c = context.config
        let costs = try costs(c)
        let config = PaperExchangeConfig(startingCash: try fixed(c, ServiceKeys.executionStartingCash),
                                         slippageBps: costs.slippageBps, feeBps: costs.feeBps)
        let backends = try await Backends.connect(context, needs: .all)
        let ledger = ExecutionLedgerStore(store: backends.postgres!, logger: context.logger)
        let records = MeteredExecutionSink(PostgresExecutionSink(ledger: ledger), metrics: context.metrics)
        let logic = ExecutionStage(namer: backends.namer, config: config, records: records,
                                   hotState: backends.redis.map { RedisHotStateSink(client: $0) })
        let metrics = ExecutionMetrics(metrics: context.metrics)
        return backends.services + [await StageHostService(logic: logic, bus: backends.bus!, context: context, checkpoints: backends.checkpoints,
                                                           observe: metrics.update)]
    }

    /// `quorum-monitor`: reads every topic; counters, latency, lag; `/status`, `/status.json`, the dashboard (`Dashboard`:
    /// `/dashboard…`); retraining jobs; alerts (rules → `alerts` topic → Postgres → webhooks).
    public static func monitor(_ context: QuorumContext) async throws -> [any Service] {
        let c = context.config
        let thresholds = try MonitorAlerting.thresholds(c)
        let destinations = try MonitorAlerting.destinations(c)
        let targets = try MonitorAlerting.readyTargets(c)
        let backends = try await Backends.connect(context, needs: .all)
        // The pipeline stages' latency series, and bar → decision / order / report, exist before their first record.
        let observer = PrometheusMonitorObserver(metrics: context.metrics, stages: ServiceGroups.replayStages,
                                                 topics: [Topic.decisions, Topic.ordersApproved, Topic.executionReports].map(\.shortName))
        let stats = MonitorStats(observer: observer)
        func ns(_ key: ConfigKey) -> Int64 { c.duration(key.name).nanoseconds }
        var policy = RetrainPolicy(every: ns(ServiceKeys.monitorRetrainEvery), window: ns(ServiceKeys.monitorRetrainWindow),
                                   validation: ns(ServiceKeys.monitorRetrainValidation))
        policy.minimumAccuracy = c.double(ServiceKeys.monitorMinAccuracy.name)
        let metrics = context.metrics
        let dispatcher = destinations.isEmpty ? nil : WebhookDispatcher(
            destinations: destinations, policy: MonitorAlerting.policy(c), timeout: c.duration(ServiceKeys.alertsTimeout.name),
            logger: context.logger) { destination, outcome in
                metrics.counter("quorum_monitor_alert_deliveries_total", dimensions: [("destination", destination.name), ("outcome", outcome.rawValue)])
                    .increment()
            }
        context.logger.info("alert delivery", metadata: ["alert.destinations": .string(destinations.map(\.name).joined(separator: ","))])
        let observations = AlertObservations()
        let sink = PostgresAlertSink(alerts: Alerts(store: backends.postgres!, logger: context.logger), dispatcher: dispatcher, metrics: metrics)
        for rule in AlertRule.allCases {  // every rule's series from the start, at 0 (dashboards, `increase()`)
            _ = metrics.counter(MetricCatalog.monitorAlertsRaised, rule.rawValue)
            _ = metrics.counter(MetricCatalog.monitorAlertsResolved, rule.rawValue)
        }
        let logic = MonitorStage(namer: backends.namer, stats: stats, policy: policy, featureSpec: try ServiceKeys.loadFeatureSpec(c),
                                 rules: AlertRulesCore(thresholds: thresholds), alertSink: sink, observations: observations)
        context.pages.register("/status", contentType: "text/html; charset=utf-8") { stats.html() }
        context.pages.register("/status.json", contentType: "application/json") { stats.json() }
        try Dashboard.make(context, stats: stats, bus: backends.bus!, namer: backends.namer, store: backends.postgres).register(on: context.pages)
        let lag = LagPoller(bus: backends.bus!, namer: backends.namer, stats: stats, interval: c.duration(ServiceKeys.monitorLagInterval.name),
                            metrics: context.metrics, logger: context.logger, observations: observations)
        var services: [any Service] = backends.services
        // The dispatcher starts before the stage and stops after it, so what the stage hands over on its way down is taken.
        if let dispatcher { services.append(dispatcher) }
        services += [await StageHostService(logic: logic, bus: backends.bus!, context: context, checkpoints: backends.checkpoints), lag]
        if !targets.isEmpty {
            services.append(ReadinessPoller(targets: targets, interval: c.duration(ServiceKeys.readyInterval.name), observations: observations,
                                            stats: stats, logger: context.logger))
        }
        return services
    }
}

extension Backends {
    /// Where the stages keep their checkpoints: Postgres (nil without it).
    var checkpoints: (any CheckpointStore)? { postgres.map { PostgresCheckpointStore(checkpoints: StageCheckpoints(store: $0)) } }
}

/// A configuration value that parses but makes no sense; stops the service with this message.
public struct ConfigurationProblem: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Measures every service group's consumer lag (records not yet committed) for the monitor.
struct LagPoller: Service {
    let bus: any MessageBus
    let namer: TopicNamer
    let stats: MonitorStats
    let interval: Duration
    let metrics: QuorumMetrics
    let logger: Logger
    /// Where the samples go for the consumer-lag alert.
    var observations: AlertObservations?

    func run() async throws {
        try await runUntilGracefulShutdown {
            while !Task.isCancelled {
                // Every input topic's ends in one request: on the durable local broker each confirmation of a partition's
                // end waits out a fetch (5 s), so topic by topic a round took minutes and the monitor could not stop
                // within its shutdown timeout.
                let ends: [String: [Int32: Watermark]]
                do {
                    ends = try await bus.watermarks(topics: ServiceGroups.inputs.flatMap { $0.1.map { namer.name($0) } })
                } catch {
                    logger.debug("lag not measured", metadata: ["error": .string("\(error)")])
                    try await Task.sleep(for: interval)
                    continue
                }
                for (group, specs) in ServiceGroups.inputs {
                    for spec in specs {
                        // A round is many requests: stop between two of them when shutting down.
                        if Task.isCancelled { return }
                        let topic = namer.name(spec)
                        do {
                            let lag = try await bus.lag(group: namer.group(group), topic: topic, marks: ends[topic])
                            stats.setLag(group: group, topic: spec.shortName, lag: lag)
                            observations?.add(.lag(group: group, topic: spec.shortName, records: lag), now: wallClockNanos())
                            metrics.gauge(MetricCatalog.monitorLag, group, spec.name).record(Double(lag))
                        } catch {
                            logger.debug("lag not measured", metadata: ["group": .string(group), "error": .string("\(error)")])
                        }
                    }
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}

/// Each stage's consumer group and its input topics (lag, replay resets).
public enum ServiceGroups {
    /// Every consuming service, in pipeline order: their types declare group and inputs (`StageInputs`).
    public static let consumers: [any StageInputs.Type] = [
        FeaturesStage.self, TrainerWorker.self, InferenceStage.self, ConsensusStage.self, RiskStage.self, ExecutionStage.self,
        MonitorStage.self,
    ]

    public static let inputs: [(String, [TopicSpec])] = consumers.map { ($0.defaultGroup, $0.inputTopics) }

    /// The stages a replay runs on a prefix, in pipeline order (the executables' names are their groups).
    public static let replayStages = [FeaturesStage.defaultGroup, InferenceStage.defaultGroup, ConsensusStage.defaultGroup,
                                      RiskStage.defaultGroup, ExecutionStage.defaultGroup]

    public static func topics(ofGroup group: String) -> [TopicSpec]? { inputs.first { $0.0 == group }?.1 }
}
