import Foundation
import QuorumFeatures
import Testing

/// Long runs: after 500,000 bars (the first 3,000 BTC bars of data/market, repeated, each repetition's prices scaled
/// by its own factor between 0.5 and 1.5 so that the series never cycles exactly), each streaming indicator
/// still equals a fresh instance fed only the last 3,000 bars — for windowed indicators that is the batch value
/// over their window, for recursive ones (EMA-, Wilder- and KAMA-type, SAR) their value once the start has been
/// forgotten — to 1e-9 relative (or 10⁻¹⁰ of the largest magnitude, as in the parity test), on the last 500
/// bars (the indicators TA-Lib lacks and the statistical features included; every repetition keeps its bars' close
/// times, so UTC sessions repeat too). This is what keeps the running sums honest: they are recomputed exactly once
/// per window. OBV and AD are cumulative (a fresh start differs by a constant) and are left out.
@Suite("Indicator drift")
struct IndicatorDriftTests {
    static let bars: [TA.Candle] = {
        guard let slice = try? Repository.candles("data/market/btc_usd_30m.csv.gz", count: 3_000) else { return [] }
        var bars: [TA.Candle] = []
        bars.reserveCapacity(501_000)
        var repetition = 0.0
        while bars.count < 500_000 {
            let f = 1 + 0.5 * sin(repetition * 0.7)
            bars.append(contentsOf: slice.map {
                TA.Candle(open: $0.open * f, high: $0.high * f, low: $0.low * f, close: $0.close * f, volume: $0.volume,
                          closeTime: $0.closeTime)
            })
            repetition += 1
        }
        return bars
    }()

    static let cases = (ParityCase.all + ParityCase.referenced).filter { $0.key != "OBV" && $0.key != "AD" }

    @Test("streaming equals a fresh computation after 500k bars", arguments: cases)
    func noDrift(_ indicator: ParityCase) throws {
        let bars = Self.bars
        try #require(bars.count >= 500_000, "cannot read data/market/btc_usd_30m.csv.gz")
        let streamed = indicator.tail(bars, 500)
        let fresh = indicator.tail(Array(bars.suffix(3_000)), 500)
        let scale = fresh.compactMap { $0 }.flatMap { $0 }.map(abs).max() ?? 0
        var failures = 0
        for (s, f) in zip(streamed, fresh) {
            let s = try #require(s), f = try #require(f)
            for (a, e) in zip(s, f) where abs(a - e) > max(1e-9 * abs(e), 1e-10 * scale) {
                failures += 1
                if failures <= 3 { Issue.record("\(indicator.key): streamed \(a), fresh \(e)") }
            }
        }
        #expect(failures == 0, "\(indicator.key): \(failures) values drifted")
    }
}
