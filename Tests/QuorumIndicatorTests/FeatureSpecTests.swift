import Foundation
import QuorumFeatures
import QuorumModel
import Testing

/// Feature specs as data: parsing and its errors, the content hash, every catalog kind through the engine, the
/// built-in specs, higher-timeframe features, and the talib-parity spec against TA-Lib's own values.
@Suite("Feature specs")
struct FeatureSpecTests {
    /// The first 3,000 bars of a data/market file as `Bar`s (exact decimals, as ingest makes them).
    static func marketBars(_ file: String, _ symbol: Symbol) -> [Bar] {
        let candles = try! Repository.candles("data/market/\(file)", count: 3000)
        return candles.map { c in
            Bar(symbol: symbol, openTime: (c.closeTime! - 1800) * 1_000_000_000, intervalSeconds: 1800,
                open: Fixed(approximating: c.open), high: Fixed(approximating: c.high), low: Fixed(approximating: c.low),
                close: Fixed(approximating: c.close), volume: Fixed(approximating: c.volume))
        }
    }

    static let bars = marketBars("btc_usd_30m.csv.gz", "BTC-USD")

    static func parse(_ features: String, name: String = "t") throws -> FeatureSpec {
        try FeatureSpec.parse("{\"name\": \"\(name)\", \"features\": [\(features)]}", file: "spec.json")
    }

    static func error(_ features: String) -> String {
        do {
            _ = try parse(features)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("bad specs are rejected with what and where, and a did-you-mean")
    func errors() {
        #expect(Self.error(#"{"kind": "rsii"}"#).contains("features[0].kind \"rsii\" is not a feature. Did you mean \"rsi\"?"))
        #expect(Self.error(#"{"kind": "rsi", "perod": 3}"#).contains("unknown key \"features[0].perod\". Did you mean \"period\"?"))
        #expect(Self.error(#"{"kind": "rsi", "period": 0}"#).contains("features[0] (rsi): period is 0; it must be at least 1"))
        #expect(Self.error(#"{"kind": "rsi", "period": 2.5}"#).contains("period must be a whole number"))
        #expect(Self.error(#"{"kind": "ma", "ma": "emaa"}"#).contains("\"emaa\" is not one of sma, ema"))
        #expect(Self.error(#"{"kind": "rsi"}, {"kind": "rsi"}"#).contains("features[1] (rsi) makes a column \"rsi_14\" that features[0] already makes"))
        #expect(Self.error(#"{"kind": "bbands", "outputs": ["uper"]}"#).contains("\"uper\" is not an output of bbands. Did you mean \"upper\"?"))
        #expect(Self.error(#"{"kind": "macd", "names": ["a"]}"#).contains("names must give 3 non-empty column name(s)"))
        #expect(Self.error(#"{"kind": "rsi", "timeframe": "4x"}"#).contains("timeframe must be a duration"))
        #expect(Self.error(#"{"kind": "ema_ratio", "fast": 30, "slow": 10}"#).contains("fast must be below slow"))
        #expect(Self.error(#"{"kind": "autocorr", "period": 5, "lag": 4}"#).contains("period must be at least lag + 2"))
        #expect(throws: FeatureSpecError.self) { try FeatureSpec.parse(#"{"features": [{"kind": "rsi"}]}"#, file: "f") }
        #expect(throws: FeatureSpecError.self) { try FeatureSpec.parse(#"{"name": "x", "features": []}"#, file: "f") }
        #expect(throws: FeatureSpecError.self) { try FeatureSpec.parse(#"{"name": "x", "featurs": []}"#, file: "f") }
        #expect(throws: FeatureSpecError.self) { try FeatureSpec.load("rich-v2") { _ in "" } }
    }

    @Test("the version is a hash of the content: defaults spelt out or not, the same; any change, another")
    func contentHash() throws {
        let a = try Self.parse(#"{"kind": "rsi"}, {"kind": "bbands", "period": 20}"#)
        let b = try Self.parse(#"{"kind": "rsi", "period": 14, "source": "close"}, {"period": 20, "kind": "bbands", "ma": "sma"}"#, name: "other")
        #expect(a.version == b.version && a.names == b.names)
        #expect(try Self.parse(#"{"kind": "rsi", "period": 15}, {"kind": "bbands", "period": 20}"#).version != a.version)
        #expect(try Self.parse(#"{"kind": "rsi", "names": ["r"]}, {"kind": "bbands", "period": 20}"#).version != a.version)
        #expect(try Self.parse(#"{"kind": "rsi"}, {"kind": "bbands", "period": 20, "outputs": ["upper"]}"#).version != a.version)
        #expect(try Self.parse(#"{"kind": "rsi", "timeframe": "4h"}, {"kind": "bbands", "period": 20}"#).version != a.version)
        #expect(a.version < 1 << 31)
        #expect(a.names == ["rsi_14", "bbands_upper_20", "bbands_middle_20", "bbands_lower_20"])
    }

    @Test("every catalog kind runs in the engine: its first value comes exactly at its lookback, and stays defined")
    func everyKind() throws {
        for kind in FeatureCatalog.kinds {
            let outputs = kind.outputs == [""] ? "" : ", \"outputs\": [\(kind.outputs.map { "\"\($0)\"" }.joined(separator: ","))]"
            let spec = try Self.parse("{\"kind\": \"\(kind.name)\"\(outputs)}")
            var engine = FeatureEngine(symbol: "BTC-USD", spec: spec)
            let vectors = Self.bars.prefix(600).map { engine.update($0) }
            let lookback = kind.lookback(kind.defaultArguments)
            #expect(vectors.firstIndex { $0.isWarm } == lookback, "\(kind.name)")
            #expect(vectors.dropFirst(lookback).allSatisfy { $0.isWarm }, "\(kind.name): a value went undefined after warm-up")
            #expect(vectors.prefix(lookback).allSatisfy { $0.values.allSatisfy(\.isNaN) }, "\(kind.name): a value before the lookback")
            #expect(spec.warmUpBars(intervalSeconds: 1800) == lookback + 1, "\(kind.name)")
        }
    }

    @Test("the batch path (blocks of bars per node) writes bit for bit what one bar at a time writes, for every kind, on 4h bars too, with symbols interleaved and a bar redelivered")
    func batchEqualsPerBar() throws {
        // Every kind with all its outputs, and every kind again on 4h bars built in the stream.
        let entries = FeatureCatalog.kinds.flatMap { kind -> [String] in
            let outputs = kind.outputs == [""] ? "" : ", \"outputs\": [\(kind.outputs.map { "\"\($0)\"" }.joined(separator: ","))]"
            return ["{\"kind\": \"\(kind.name)\"\(outputs)}", "{\"kind\": \"\(kind.name)\"\(outputs), \"timeframe\": \"4h\"}"]
        }
        let spec = try Self.parse(entries.joined(separator: ", "))
        var bars = zip(Self.bars.prefix(1500), Self.ethBars.prefix(1500)).flatMap { [$0, $1] }
        bars.insert(bars[700], at: 901)
        let columns = spec.names.count
        var perBar = FeaturesCore(spec: spec), batch = FeaturesCore(spec: spec)
        var expected = [[Double]?](), row = [Double](repeating: 0, count: columns)
        for bar in bars {
            let warm = try row.withUnsafeMutableBufferPointer { try perBar.update(bar, into: $0.baseAddress!) }
            expected.append(warm == nil ? nil : row)
        }
        // Chunks of uneven sizes, so blocks start anywhere in a symbol's run.
        var rows = [Double](repeating: 0, count: bars.count * columns)
        var written = [Bool?]()
        var start = 0
        for size in [1, 7, 300, 1, 129, 1000, 2000] where start < bars.count {
            let end = min(start + size, bars.count)
            written += try rows.withUnsafeMutableBufferPointer { try batch.update(bars[start..<end], into: $0.baseAddress! + start * columns) }
            start = end
        }
        #expect(start == bars.count)
        for k in bars.indices {
            guard let want = expected[k] else {
                #expect(written[k] == nil, "bar \(k) is a redelivery")
                continue
            }
            let got = Array(rows[k * columns..<(k + 1) * columns])
            #expect(written[k] == !want.contains { $0.isNaN }, "bar \(k)")
            let differing = spec.names.indices.filter { got[$0].bitPattern != want[$0].bitPattern }
            #expect(differing.isEmpty, "bar \(k): \(differing.prefix(5).map { spec.names[$0] })")
        }
        #expect(expected.last!!.filter { !$0.isNaN }.count > columns * 3 / 4, "most features are defined by the end")
    }

    @Test("entries that share work side by side (ADX, +DI and −DI of one period; log returns and volatilities of one source) give what they give apart, bit for bit")
    func sharedWork() throws {
        let together = try Self.parse(#"{"kind": "plus_di"}, {"kind": "adx"}, {"kind": "minus_di"}, {"kind": "adx", "names": ["again"]}, {"kind": "adx", "period": 7}"#)
        // The same entries, each on its own node (an SMA between them stops the sharing).
        let apart = try Self.parse(#"{"kind": "plus_di"}, {"kind": "sma", "names": ["s1"]}, {"kind": "adx"}, {"kind": "sma", "names": ["s2"]}, "#
            + #"{"kind": "minus_di"}, {"kind": "sma", "names": ["s3"]}, {"kind": "adx", "names": ["again"]}, {"kind": "adx", "period": 7}"#)
        var a = FeatureEngine(symbol: "BTC-USD", spec: together), b = FeatureEngine(symbol: "BTC-USD", spec: apart)
        var defined = 0
        for bar in Self.bars.prefix(1000) {
            let x = a.update(bar).values, y = b.update(bar).values
            let same = [x[0], x[1], x[2], x[3], x[4]].map(\.bitPattern) == [y[0], y[2], y[4], y[6], y[7]].map(\.bitPattern)
            #expect(same, "bar at \(bar.closeTime): \(x) vs \(y)")
            if !x.contains(where: \.isNaN) { defined += 1 }
        }
        #expect(defined > 900)
        // log_return and volatility of one source share the log return.
        let logs = try Self.parse(#"{"kind": "volatility", "period": 5}, {"kind": "log_return"}, {"kind": "volatility"}, {"kind": "log_return", "source": "open", "names": ["r_open"]}"#)
        let logsApart = try Self.parse(#"{"kind": "volatility", "period": 5}, {"kind": "sma", "names": ["s1"]}, {"kind": "log_return"}, "#
            + #"{"kind": "sma", "names": ["s2"]}, {"kind": "volatility"}, {"kind": "log_return", "source": "open", "names": ["r_open"]}"#)
        var c = FeatureEngine(symbol: "BTC-USD", spec: logs), d = FeatureEngine(symbol: "BTC-USD", spec: logsApart)
        for bar in Self.bars.prefix(300) {
            let x = c.update(bar).values, y = d.update(bar).values
            #expect([x[0], x[1], x[2], x[3]].map(\.bitPattern) == [y[0], y[2], y[4], y[5]].map(\.bitPattern), "\(x) vs \(y)")
        }
        let last = c.update(Self.bars[300]).values
        #expect(!last.contains { $0.isNaN })
        // Its checkpoint restores into a fresh engine that goes on with the same values.
        let decoder = JSONDecoder()
        decoder.userInfo[EngineState.spec] = together
        var restored = try decoder.decode(EngineState.self, from: JSONEncoder().encode(EngineState(engine: a))).engine
        for bar in Self.bars.dropFirst(1000).prefix(200) {
            #expect(restored.update(bar).values.map(\.bitPattern) == a.update(bar).values.map(\.bitPattern))
        }
    }

    @Test("docs/features.md's catalog table names every kind")
    func documented() throws {
        let doc = try String(contentsOf: Repository.root.appendingPathComponent("docs/features.md"), encoding: .utf8)
        for kind in FeatureCatalog.kinds { #expect(doc.contains("| `\(kind.name)` | \(kind.group.rawValue) |"), "\(kind.name)") }
    }

    @Test("built-in specs: talib-parity has the promised columns; rich-v1 has what the default rules and risk read")
    func builtIns() throws {
        #expect(FeatureSpec.talibParity.names == [
            "sma_20", "sma_50", "ema_12", "ema_26", "rsi_14", "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle",
            "bb_lower", "atr_14", "cci_20", "stoch_k", "stoch_d", "obv", "adx_14", "plus_di_14", "minus_di_14", "log_return",
            "volatility_20",
        ])
        let rich = FeatureSpec.richV1
        for needed in ["ema_12", "ema_26", "rsi_14", "atr_14"] { #expect(rich.names.contains(needed), "\(needed)") }
        #expect(rich.names.count >= 50)
        #expect(FeatureSpec.default == rich)
        for spec in FeatureSpec.builtIns {
            let again = try FeatureSpec.parse(FeatureSpec.document(ofBuiltIn: spec.name)!, file: spec.name)
            #expect(again.version == spec.version)
            // Written back out (every parameter spelt out) it is still the same spec.
            let written = try FeatureSpec.parse(spec.document(), file: spec.name)
            #expect(written.version == spec.version && written.names == spec.names)
        }
        // Every rich-v1 feature is warm once the spec's warm-up has passed, on real data.
        var engine = FeatureEngine(symbol: "BTC-USD", spec: rich)
        let vectors = Self.bars.map { engine.update($0) }
        let warmUp = rich.warmUpBars(intervalSeconds: 1800)
        #expect(vectors.dropFirst(warmUp - 1).allSatisfy { $0.isWarm })
        #expect(!vectors[0].isWarm)
    }

    @Test("talib-parity through the engine equals TA-Lib (fixtures) to 1e-9 relative")
    func talibParity() throws {
        let (fixture, _) = try IndicatorFixture.load("btc_usd_30m")
        var engine = FeatureEngine(symbol: "BTC-USD", spec: .talibParity)
        let vectors = Self.bars.prefix(fixture.bars).map { engine.update($0) }
        let columns: [(String, String)] = [
            ("sma_20", "SMA_20"), ("ema_12", "EMA_12"), ("rsi_14", "RSI_14"), ("macd", "MACD_12_26_9.0"),
            ("macd_signal", "MACD_12_26_9.1"), ("macd_hist", "MACD_12_26_9.2"), ("bb_upper", "BBANDS_20_2.0"),
            ("bb_middle", "BBANDS_20_2.1"), ("bb_lower", "BBANDS_20_2.2"), ("atr_14", "ATR_14"), ("cci_20", "CCI_20"),
            ("stoch_k", "STOCH_5_3_3.0"), ("stoch_d", "STOCH_5_3_3.1"), ("obv", "OBV"), ("adx_14", "ADX_14"),
            ("plus_di_14", "PLUS_DI_14"), ("minus_di_14", "MINUS_DI_14"),
        ]
        var compared = 0
        for (column, key) in columns {
            let c = FeatureSpec.talibParity.names.firstIndex(of: column)!
            let expected = try #require(fixture.series[key], "fixture has no \(key)")
            for (n, index) in fixture.indices.enumerated() {
                let value = vectors[index].values[c]
                guard let reference = expected[n] else {
                    #expect(value.isNaN, "\(column) at bar \(index): TA-Lib has no value yet, Quorum has \(value)")
                    continue
                }
                #expect(abs(value - reference) <= 1e-9 * max(1, abs(reference)), "\(column) at bar \(index): \(value) vs TA-Lib \(reference)")
                compared += 1
            }
        }
        #expect(compared > 3000)
    }

    @Test("a 4h feature on 30m bars uses only closed 4h bars: it equals the indicator over 4h bars built apart, and changes only at 4h closes")
    func higherTimeframe() throws {
        let spec = try Self.parse(#"{"kind": "rsi", "period": 14, "timeframe": "4h"}, {"kind": "sma", "period": 3, "source": "volume", "timeframe": "4h"}"#)
        #expect(spec.names == ["rsi_14_4h", "sma_3_4h"])
        // Start mid-bucket: the partial first 4h bar must not be used.
        let bars = Array(Self.bars.dropFirst(3))
        var engine = FeatureEngine(symbol: "BTC-USD", spec: spec)
        let vectors = bars.map { engine.update($0) }

        // The reference: complete 4h buckets aggregated apart, then TA-Lib's RSI and an SMA over them.
        let bucket: Int64 = 4 * 3600 * 1_000_000_000
        var rsi = TA.RSI(period: 14), sma = TA.SMA(period: 3)
        var expected: [Nanos: (Double?, Double?)] = [:]
        var i = 0
        while i < bars.count {
            let start = bars[i].openTime
            guard start % bucket == 0, i + 8 <= bars.count else { i += 1; continue }
            let group = bars[i..<(i + 8)]
            let volume = group.reduce(0.0) { $0 + $1.volume.doubleValue }
            expected[group.last!.closeTime] = (rsi.update(group.last!.close.doubleValue), sma.update(volume))
            i += 8
        }
        var held: (Double, Double) = (.nan, .nan)
        var checked = 0
        for (bar, v) in zip(bars, vectors) {
            if let e = expected[bar.closeTime] { held = (e.0 ?? .nan, e.1 ?? .nan); checked += 1 }
            #expect(v.values[0].bitPattern == held.0.bitPattern || abs(v.values[0] - held.0) <= 1e-12 * abs(held.0), "rsi at \(bar.closeTime)")
            #expect(abs(v.values[1] - held.1) <= 1e-9 * abs(held.1) || (v.values[1].isNaN && held.1.isNaN), "sma at \(bar.closeTime)")
        }
        #expect(checked > 300)
        #expect(vectors.firstIndex { $0.isWarm }! < spec.warmUpBars(intervalSeconds: 1800))

        // Bars not aligned to the epoch grid (opening at :07 and :37): each 4h bucket closes with the bar that spans its end.
        let shifted = bars.map { bar -> Bar in
            var b = bar
            b.openTime += 7 * 60 * 1_000_000_000
            return b
        }
        var shiftedEngine = FeatureEngine(symbol: "BTC-USD", spec: spec)
        let shiftedVectors = shifted.map { shiftedEngine.update($0) }
        #expect(shiftedVectors.filter(\.isWarm).count > bars.count - 200)

        // A timeframe that is not a larger multiple of the bars' interval is refused with a clear error.
        let odd = try Self.parse(#"{"kind": "rsi", "timeframe": "45m"}"#)
        #expect(throws: FeatureSpecError.self) { try odd.check(intervalSeconds: 1800) }
        var core = FeaturesCore(spec: odd)
        #expect(throws: FeatureSpecError.self) { try core.handle(bars[0]) }
    }

    /// ETH bars of data/market at the same times as `bars`.
    static let ethBars = marketBars("eth_usd_30m.csv.gz", "ETH-USD")

    static let crossSpec = try! parse("""
        {"kind": "log_return"}, {"kind": "log_return", "symbol": "BTC-USD"}, {"kind": "rsi", "period": 14, "symbol": "BTC-USD"},
        {"kind": "return_correl", "period": 30, "with": "BTC-USD"}, {"kind": "beta", "period": 30, "with": "BTC-USD"},
        {"kind": "rel_strength", "period": 48, "with": "BTC-USD"}
        """)

    static func vectors(_ bars: [Bar], of symbol: Symbol, spec: FeatureSpec = crossSpec) throws -> [Nanos: [UInt64]] {
        var core = FeaturesCore(spec: spec)
        var out: [Nanos: [UInt64]] = [:]
        for bar in bars {
            for case .publish(let v) in try core.handle(bar) where v.symbol == symbol {
                #expect(out[v.barCloseTime] == nil, "one vector per bar")
                out[v.barCloseTime] = v.values.map(\.bitPattern)
            }
        }
        return out
    }

    @Test("cross-asset entries: names, referenced symbols, and what cannot be combined")
    func crossAssetSpec() {
        #expect(Self.crossSpec.names == ["log_return", "log_return_btc_usd", "rsi_14_btc_usd", "return_correl_30_btc_usd",
                                         "beta_30_btc_usd", "rel_strength_48_btc_usd"])
        #expect(Self.crossSpec.referencedSymbols == ["BTC-USD"])
        #expect(Self.error(#"{"kind": "rsi", "with": "BTC-USD"}"#).contains("only two-series kinds do"))
        #expect(Self.error(#"{"kind": "beta", "with": "BTC-USD", "symbol": "ETH-USD"}"#).contains("not both"))
        #expect(Self.error(#"{"kind": "beta", "with": "BTC-USD", "timeframe": "4h"}"#).contains("cannot be combined"))
        #expect(Self.error(#"{"kind": "rsi", "symbol": ""}"#).contains("must be a symbol"))
    }

    @Test("cross-asset vectors join the other symbol at the same event time, whatever the interleaving; a missing or late leader neither stalls nor leaks")
    func crossAssetAlignment() throws {
        let btc = Array(Self.bars.prefix(600)), eth = Array(Self.ethBars.prefix(600))
        // Event-time order, BTC first at each close time: the reference.
        let inOrder = zip(btc, eth).flatMap { [$0, $1] }
        let reference = try Self.vectors(inOrder, of: "ETH-USD")
        #expect(reference.count == 600)
        // ETH first at each time, BTC three bars ahead, ETH three bars ahead: the same ETH vectors, bit for bit.
        let ethFirst = zip(btc, eth).flatMap { [$1, $0] }
        let btcAhead = Array(btc.prefix(3)) + zip(btc.dropFirst(3), eth).flatMap { [$0, $1] } + Array(eth.suffix(3))
        let ethAhead = Array(eth.prefix(3)) + zip(eth.dropFirst(3), btc).flatMap { [$0, $1] } + Array(btc.suffix(3))
        for order in [ethFirst, btcAhead, ethAhead] { #expect(try Self.vectors(order, of: "ETH-USD") == reference) }

        // The values: BTC's own log return and RSI at the same close time, and the pairs computed apart.
        var rsi = TA.RSI(period: 14), correl = TA.CORREL(period: 30), beta = TA.BETA(period: 30), strength: [Double?] = []
        var previous: (Double, Double)?
        var checked = 0
        for (i, (b, e)) in zip(btc, eth).enumerated() {
            let (bc, ec) = (b.close.doubleValue, e.close.doubleValue)
            let btcRSI = rsi.update(bc)
            var correlValue: Double?
            if let (pb, pe) = previous { correlValue = correl.update(log(ec / pe), log(bc / pb)) }
            let betaValue = beta.update(bc, ec)
            strength.append(i >= 48 ? log(ec / eth[i - 48].close.doubleValue) - log(bc / btc[i - 48].close.doubleValue) : nil)
            previous = (bc, ec)
            let v = reference[e.closeTime]!.map(Double.init(bitPattern:))
            func same(_ x: Double, _ y: Double?) -> Bool { y.map { x.bitPattern == $0.bitPattern } ?? x.isNaN }
            #expect(same(v[1], i > 0 ? log(bc / btc[i - 1].close.doubleValue) : nil), "btc return at \(i)")
            #expect(same(v[2], btcRSI) && same(v[3], correlValue) && same(v[4], betaValue) && same(v[5], strength[i]), "bar \(i)")
            checked += 1
        }
        #expect(checked == 600)

        // BTC misses one bar: ETH's vector at that time takes BTC as of its previous bar (never a later one).
        let gap = 300
        let missing = zip(btc, eth).enumerated().flatMap { i, pair in i == gap ? [pair.1] : [pair.0, pair.1] }
        let withGap = try Self.vectors(missing, of: "ETH-USD")
        #expect(withGap.count == 600)
        let atGap = withGap[eth[gap].closeTime]!.map(Double.init(bitPattern:))
        #expect(atGap[1].bitPattern == reference[eth[gap - 1].closeTime]![1], "the as-of BTC return is the previous bar's")

        // No BTC at all: ETH does not stall (only the last maxPendingBars bars wait), and its cross values are NaN.
        let alone = try Self.vectors(eth, of: "ETH-USD")
        #expect(alone.count == eth.count - FeaturesCore.maxPendingBars)
        #expect(alone.values.allSatisfy { Double(bitPattern: $0[1]).isNaN })
    }
}

/// A feature engine's checkpoint as JSON (`FeatureEngine.encodeState`), read back into a fresh engine of the spec in
/// the decoder's `userInfo[EngineState.spec]`.
struct EngineState: Codable {
    static let spec = CodingUserInfoKey(rawValue: "spec")!
    var engine: FeatureEngine

    init(engine: FeatureEngine) { self.engine = engine }

    init(from decoder: any Decoder) throws {
        engine = FeatureEngine(symbol: "BTC-USD", spec: decoder.userInfo[Self.spec] as! FeatureSpec)
        try engine.restoreState(from: decoder)
    }

    func encode(to encoder: any Encoder) throws { try engine.encodeState(to: encoder) }
}
