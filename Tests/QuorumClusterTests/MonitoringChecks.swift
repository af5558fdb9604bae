import Foundation
import QuorumServiceKit
import Testing

/// What the cluster tests check about metrics: the families the running services export (parsed from their /metrics),
/// and the metric names the Prometheus rules and Grafana dashboards of k8s/monitoring/ ask for.
enum MonitoringChecks {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// One family of a Prometheus text exposition.
    struct Family: Equatable {
        var type: String?
        var help: String?
    }

    /// The families of an exposition by name (from `# TYPE` / `# HELP` lines and samples).
    static func families(_ text: String) -> [String: Family] {
        var families: [String: Family] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            if words.count >= 3, words[0] == "#", words[1] == "TYPE" || words[1] == "HELP" {
                let name = String(words[2])
                let rest = words.count > 3 ? String(words[3]) : ""
                if words[1] == "TYPE" { families[name, default: Family()].type = rest } else { families[name, default: Family()].help = rest }
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                let sample = String(name)
                let base = ["_bucket", "_sum", "_count"].lazy.compactMap { sample.hasSuffix($0) ? String(sample.dropLast($0.count)) : nil }
                    .first { families[$0]?.type == "histogram" }
                if base == nil, families[sample] == nil { families[sample] = Family() }
            }
        }
        return families
    }

    /// The series names a family makes queryable (a histogram's `_bucket`, `_sum`, `_count`).
    static func queryableNames(_ families: [String: Family]) -> Set<String> {
        var names = Set<String>()
        for (name, family) in families {
            names.insert(name)
            if family.type == "histogram" { names.formUnion(["\(name)_bucket", "\(name)_sum", "\(name)_count"]) }
        }
        return names
    }

    /// The value of the sample `name{labels}` (labels exactly as printed), if any.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Metric names a PromQL expression reads: identifiers that are not functions, keywords, label names, strings,
    /// durations or numbers. Names with a colon are recording rules.
    static func metricNames(in expression: String) -> Set<String> {
        var text = expression
        // Strings, label matchers, ranges and grouping clauses hold no metric names.
        for pattern in [#""[^"]*""#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#, #"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        let keywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]
        var names = Set<String>()
        let regex = try! NSRegularExpression(pattern: #"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?"#)
        let ns = text as NSString
        for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let token = ns.substring(with: match.range)
            if token.hasSuffix("(") { continue }  // a function or aggregation
            if keywords.contains(token.lowercased()) { continue }
            names.insert(token)
        }
        return names
    }

    /// Every expression of k8s/monitoring/rules.yml (one `expr:` per line) with where it is, and the recorded names.
    static func rules() throws -> (expressions: [(String, String)], recorded: Set<String>) {
        let path = "\(repository)/k8s/monitoring/rules.yml"
        var expressions: [(String, String)] = []
        var recorded = Set<String>()
        var current = "rules.yml"
        for (number, raw) in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            for key in ["- record:", "- alert:"] where line.hasPrefix(key) {
                current = String(line.dropFirst(key.count)).trimmingCharacters(in: .whitespaces)
                if key == "- record:" { recorded.insert(current) }
            }
            if line.hasPrefix("expr:") {
                expressions.append(("rules.yml:\(number + 1) (\(current))", String(line.dropFirst("expr:".count)).trimmingCharacters(in: .whitespaces)))
            }
        }
        return (expressions, recorded)
    }

    /// Every panel query of the dashboards in k8s/monitoring/dashboards/ with its dashboard and panel title.
    static func dashboardQueries() throws -> [(String, String)] {
        let folder = "\(repository)/k8s/monitoring/dashboards"
        var queries: [(String, String)] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where file.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)"))
            let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(file) is not a JSON object")
            for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
                for target in panel["targets"] as? [[String: Any]] ?? [] {
                    if let expr = target["expr"] as? String { queries.append(("\(file): \(panel["title"] ?? "?")", expr)) }
                }
            }
        }
        return queries
    }

    /// Checks that every rule expression and dashboard query names only metrics in `exported` (what the running services
    /// serve), recording rules of rules.yml, or Prometheus' own `up`; returns what it checked.
    @discardableResult
    static func expectQueriesUseExportedMetrics(_ exported: Set<String>) throws -> (rules: Int, panels: Int) {
        let (expressions, recorded) = try rules()
        let panels = try dashboardQueries()
        #expect(expressions.count >= 15 && panels.count >= 25, "rules and dashboards were found: \(expressions.count), \(panels.count)")
        let known = exported.union(recorded).union(["up"])
        for (place, expr) in expressions + panels {
            let unknown = metricNames(in: expr).subtracting(known)
            #expect(unknown.isEmpty, "\(place): \(expr) names \(unknown.sorted()), which no running service exports")
        }
        return (expressions.count, panels.count)
    }

    /// `curl -fsS URL` (curl is a bootstrap package): the body, or an error with curl's message.
    static func get(_ url: String) async throws -> String {
        let log = NSTemporaryDirectory() + "quorum-get-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess.spawn("/usr/bin/curl", ["-fsS", "--max-time", "10", url], log: log, environment: [:])
        while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard child.exitStatus == 0 else { throw ClusterTestError("GET \(url) failed: \(output)") }
        return output
    }
}

@Suite("Monitoring files (no servers)")
struct MonitoringFilesTests {
    @Test("PromQL metric names: functions, keywords, label matchers, ranges and grouping clauses are not metrics")
    func metricNamesOfExpressions() {
        #expect(MonitoringChecks.metricNames(in: #"histogram_quantile(0.99, sum by (stage, le) (rate(quorum_a_seconds_bucket{topic="x:y"}[5m])))"#)
                == ["quorum_a_seconds_bucket"])
        #expect(MonitoringChecks.metricNames(in: "max(quorum_b_ratio) > 0.10 and on(job) up == 0") == ["quorum_b_ratio", "up"])
        #expect(MonitoringChecks.metricNames(in: #"stage:quorum_c:rate1m{stage=~".*risk"} / ignoring(topic) quorum_d_total"#)
                == ["stage:quorum_c:rate1m", "quorum_d_total"])
    }

    @Test("an exposition's families: TYPE and HELP, a histogram's series under its own name")
    func exposition() {
        let text = """
            # HELP quorum_x_seconds Latency.
            # TYPE quorum_x_seconds histogram
            quorum_x_seconds_bucket{le="0.1"} 1
            quorum_x_seconds_sum 0.05
            quorum_x_seconds_count 1
            quorum_y_total{a="b"} 3
            """
        let families = MonitoringChecks.families(text)
        #expect(families == ["quorum_x_seconds": .init(type: "histogram", help: "Latency."), "quorum_y_total": .init(type: nil, help: nil)])
        #expect(MonitoringChecks.queryableNames(families).contains("quorum_x_seconds_bucket"))
        #expect(MonitoringChecks.value(text, #"quorum_y_total{a="b"}"#) == 3)
    }

    @Test("every rule and dashboard query names a catalogued metric or a recording rule (the cluster test checks the running services)")
    func queriesNameCatalogued() throws {
        var catalogued = Set<String>()
        for d in MetricCatalog.all {
            catalogued.insert(d.name)
            if d.kind == .histogram { catalogued.formUnion(["\(d.name)_bucket", "\(d.name)_sum", "\(d.name)_count"]) }
        }
        try MonitoringChecks.expectQueriesUseExportedMetrics(catalogued)
    }
}
