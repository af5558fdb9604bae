"""Reference fixtures for Shared/QuorumAnalytics, run by scripts/gen-metric-fixtures inside its pinned venv.

Every expected value names the library function that computed it. Inputs are written next to the values, so the
Swift tests need nothing but the JSON files. Non-finite numbers are written as the strings "nan", "inf", "-inf".
Outputs (in --out):
  returns.json   per-period return metrics (empyrical-reloaded, quantstats, backtesting.py) on seven series
  trades.json    per-trade metrics (backtesting.py, quantstats, numpy) on three trade lists
  normal.json    the standard normal CDF and quantile function (scipy.stats.norm), and the DSR paper's numerical example
  pbo.json       probability of backtest overfitting by CSCV, brute force (independent numpy implementation)
  prng.json      xoshiro256** / SplitMix64 outputs, bounded integers, a shuffle, a block bootstrap, and a small trade
                 shuffle and block-bootstrap Monte Carlo whose per-path metrics come from empyrical (Python port)
"""

import argparse
import gzip
import itertools
import json
import math
import os
import warnings
from importlib.metadata import version

import numpy as np
import pandas as pd

import empyrical
import quantstats.stats as qs
from backtesting._stats import compute_drawdown_duration_peaks, compute_stats
from scipy.stats import norm, rankdata

warnings.filterwarnings("ignore")

LIBRARIES = {name: version(name) for name in
             ("empyrical-reloaded", "quantstats", "backtesting", "numpy", "pandas", "scipy", "Bottleneck")}
NS_PER_DAY = 86_400 * 10**9
NS_PER_30M = 1_800 * 10**9


def num(x):
    """A float for JSON: non-finite values as strings (Swift decodes them with convertFromString)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def safe(compute):
    """The value of an informational cross-check, or the error text when the library raises."""
    try:
        return num(compute())
    except Exception as error:  # noqa: BLE001 - recorded, not fatal
        return f"error: {type(error).__name__}: {error}"


def write(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


# ---- return series ------------------------------------------------------------------------------------------------

def btc_closes(repo):
    with gzip.open(os.path.join(repo, "data/market/btc_usd_30m.csv.gz"), "rt") as f:
        frame = pd.read_csv(f)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.set_index("timestamp")["close"].astype(float)


def regular_times(start, step_ns, count):
    return [start + i * step_ns for i in range(count)]


def series_list(repo):
    closes = btc_closes(repo)
    out = []

    daily = closes.resample("1D").last().dropna()
    daily_returns = daily.pct_change().dropna()
    out.append(dict(
        name="btc_daily",
        description="BTC-USD daily close-to-close returns: data/market/btc_usd_30m.csv.gz, last close of each UTC day "
                    "(pandas resample('1D').last()), pct_change",
        periods_per_year=365,
        returns=daily_returns.to_numpy(),
        times=[int(t.value) for t in daily.index]))

    tail = closes.iloc[-2001:]
    out.append(dict(
        name="btc_30m_tail",
        description="BTC-USD 30-minute close-to-close returns of the last 2,001 rows of data/market/btc_usd_30m.csv.gz "
                    "(consecutive rows, gaps not filled)",
        periods_per_year=17520,
        returns=tail.pct_change().dropna().to_numpy(),
        times=[int(t.value) for t in tail.index]))

    rng = np.random.default_rng(20240607)
    base = rng.normal(0.0015, 0.008, 500)
    crashes = rng.random(500) < 0.03
    base[crashes] = rng.normal(-0.07, 0.02, crashes.sum())
    out.append(dict(
        name="negative_skew",
        description="synthetic daily returns: N(0.15 %, 0.8 %) with 3 % of days replaced by N(-7 %, 2 %) crashes "
                    "(numpy default_rng(20240607)); negative skew, fat left tail",
        periods_per_year=365,
        returns=base,
        times=regular_times(1_609_459_200 * 10**9, NS_PER_DAY, 501)))

    rng = np.random.default_rng(7)
    flat = rng.normal(0.0002, 0.004, 300)
    flat[100:160] = 0.0
    out.append(dict(
        name="flat_stretch",
        description="synthetic 30-minute returns N(0.02 %, 0.4 %) (numpy default_rng(7)) with periods 100..159 exactly 0 "
                    "(out of the market)",
        periods_per_year=17520,
        returns=flat,
        times=regular_times(1_546_300_800 * 10**9, NS_PER_30M, 301)))

    out.append(dict(
        name="hand_mixed",
        description="five hand-checkable daily returns with a zero period",
        periods_per_year=252,
        returns=np.array([0.01, -0.02, 0.03, 0.0, -0.01]),
        times=regular_times(1_577_836_800 * 10**9, NS_PER_DAY, 6)))

    out.append(dict(
        name="constant_gain",
        description="twenty equal returns of +0.1 %: zero dispersion, no loss, no drawdown",
        periods_per_year=365,
        returns=np.full(20, 0.001),
        times=regular_times(1_577_836_800 * 10**9, NS_PER_DAY, 21)))

    out.append(dict(
        name="steady_loss",
        description="ten equal returns of -1 %: zero dispersion, a drawdown that never recovers",
        periods_per_year=365,
        returns=np.full(10, -0.01),
        times=regular_times(1_577_836_800 * 10**9, NS_PER_DAY, 11)))
    return out


def drawdown_durations(returns, times):
    """backtesting.py's drawdown durations (peak to recovery, or to the last point) on the equity curve 1, (1+r)... ."""
    equity = np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    dd = 1 - equity / np.maximum.accumulate(equity)
    bars, _ = compute_drawdown_duration_peaks(pd.Series(dd, index=pd.RangeIndex(len(dd))))
    spans, _ = compute_drawdown_duration_peaks(pd.Series(dd, index=pd.DatetimeIndex(pd.to_datetime(times, utc=True))))
    max_bars = bars.max()
    max_span = spans.max()
    return (None if pd.isna(max_bars) else int(max_bars),
            None if pd.isna(max_span) else int(pd.Timedelta(max_span).value))


def return_fixture(repo):
    result = []
    for s in series_list(repo):
        r = np.asarray(s["returns"], dtype=float)
        ppy = s["periods_per_year"]
        index = pd.DatetimeIndex(pd.to_datetime(s["times"][1:], utc=True))
        series = pd.Series(r, index=index)
        expected = {}

        def put(key, value, reference):
            expected[key] = {"value": num(value), "reference": reference}

        put("total_return", empyrical.cum_returns_final(r), "empyrical.cum_returns_final")
        put("cagr", empyrical.annual_return(r, annualization=ppy), "empyrical.annual_return")
        put("annual_volatility", empyrical.annual_volatility(r, annualization=ppy), "empyrical.annual_volatility")
        put("sharpe", empyrical.sharpe_ratio(r, annualization=ppy), "empyrical.sharpe_ratio")
        put("downside_risk", empyrical.downside_risk(r, annualization=ppy), "empyrical.downside_risk")
        put("sortino", empyrical.sortino_ratio(r, annualization=ppy), "empyrical.sortino_ratio")
        put("max_drawdown", empyrical.max_drawdown(r), "empyrical.max_drawdown")
        put("calmar", empyrical.calmar_ratio(r, annualization=ppy), "empyrical.calmar_ratio")
        put("value_at_risk_95", empyrical.value_at_risk(r, cutoff=0.05), "empyrical.value_at_risk")
        put("conditional_value_at_risk_95", empyrical.conditional_value_at_risk(r, cutoff=0.05),
            "empyrical.conditional_value_at_risk")
        put("period_win_rate", qs.win_rate(series, prepare_returns=False), "quantstats.stats.win_rate")
        put("period_profit_factor", qs.profit_factor(series, prepare_returns=False), "quantstats.stats.profit_factor")
        put("skewness", qs.skew(series, prepare_returns=False), "quantstats.stats.skew (pandas Series.skew)")
        put("excess_kurtosis", qs.kurtosis(series, prepare_returns=False),
            "quantstats.stats.kurtosis (pandas Series.kurt)")
        put("probabilistic_sharpe_ratio",
            qs.probabilistic_sharpe_ratio(series, periods=ppy, annualize=False),
            "quantstats.stats.probabilistic_sharpe_ratio (benchmark 0, not annualised)")
        bars, span = drawdown_durations(r, s["times"])
        expected["max_drawdown_duration_periods"] = {
            "value": bars, "reference": "backtesting._stats.compute_drawdown_duration_peaks (RangeIndex)"}
        expected["max_drawdown_duration_ns"] = {
            "value": span, "reference": "backtesting._stats.compute_drawdown_duration_peaks (DatetimeIndex)"}

        # The other library's value of the same metric, for docs/metrics.md (not asserted by the Swift tests).
        other = {
            "quantstats.stats.comp": safe(lambda: qs.comp(series)),
            "quantstats.stats.cagr": safe(lambda: qs.cagr(series, periods=ppy)),
            "quantstats.stats.volatility": safe(lambda: qs.volatility(series, periods=ppy, prepare_returns=False)),
            "quantstats.stats.sharpe": safe(lambda: qs.sharpe(series, periods=ppy)),
            "quantstats.stats.sortino": safe(lambda: qs.sortino(series, periods=ppy)),
            "quantstats.stats.max_drawdown": safe(lambda: qs.max_drawdown(series)),
            "quantstats.stats.calmar": safe(lambda: qs.calmar(series, prepare_returns=False, periods=ppy)),
            "quantstats.stats.value_at_risk (parametric normal)": safe(lambda: qs.value_at_risk(series, prepare_returns=False)),
            "quantstats.stats.cvar (historical)": safe(lambda: qs.conditional_value_at_risk(series, prepare_returns=False, method="historical")),
        }
        result.append({
            "name": s["name"], "description": s["description"], "periods_per_year": ppy,
            "returns": [num(x) for x in r], "equity_timestamps_ns": s["times"],
            "expected": expected, "other_library_values": other,
        })
    return result


# ---- trades ---------------------------------------------------------------------------------------------------------

def trade_sets():
    rng = np.random.default_rng(99)
    bars = 600
    times = regular_times(1_546_300_800 * 10**9, NS_PER_30M, bars)
    close = 3_800 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
    trades = []
    bar = 3
    while bar < bars - 20:
        hold = int(rng.integers(1, 15))
        side = "long" if rng.random() < 0.6 else "short"
        size = float(np.round(rng.uniform(0.05, 1.5), 4))
        entry_bar, exit_bar = bar, bar + hold
        sign = 1 if side == "long" else -1
        # executed prices include slippage of 2 bps against the trader
        entry_price = float(close[entry_bar] * (1 + sign * 0.0002))
        exit_price = float(close[exit_bar] * (1 - sign * 0.0002))
        slippage = float(size * (close[entry_bar] + close[exit_bar]) * 0.0002)
        fees = float(size * (entry_price + exit_price) * 0.001)
        trades.append(dict(entry_bar=entry_bar, exit_bar=exit_bar, side=side, size=size, entry_price=entry_price,
                           exit_price=exit_price, fees=fees, slippage=slippage))
        # a third of the next trades overlap the previous one (a second position on another symbol)
        bar = entry_bar + (int(rng.integers(1, hold + 1)) if rng.random() < 0.33 else hold + int(rng.integers(1, 10)))
    winners = []
    for entry_bar, exit_bar in ((10, 20), (30, 31), (50, 90)):
        winners.append(dict(entry_bar=entry_bar, exit_bar=exit_bar, side="long", size=1.0,
                            entry_price=100.0, exit_price=110.0 + entry_bar / 10, fees=0.5, slippage=0.1))
    return times, close, [("mixed", "about sixty long and short 30-minute trades over 600 bars, some overlapping, "
                           "numpy default_rng(99)", trades),
                          ("all_winners", "three winning long trades: no loss", winners),
                          ("no_trades", "no trade at all", [])]


def trade_fixture():
    times, close, sets = trade_sets()
    index = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    ohlc = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close}, index=index)
    out = []
    for name, description, trades in sets:
        for t in trades:
            sign = 1 if t["side"] == "long" else -1
            t["entry_time_ns"] = times[t["entry_bar"]]
            t["exit_time_ns"] = times[t["exit_bar"]]
            # backtesting.py's Trade.pl and Trade.pl_pct, with the fees as its commissions
            t["pnl"] = sign * t["size"] * (t["exit_price"] - t["entry_price"]) - t["fees"]
            t["return_pct"] = sign * (t["exit_price"] / t["entry_price"] - 1) - t["fees"] / (t["size"] * t["entry_price"])
        starting = 10_000.0
        equity = np.full(len(times), starting)
        for t in trades:
            equity[t["exit_bar"]:] += t["pnl"]
        frame = pd.DataFrame({
            "Size": [t["size"] * (1 if t["side"] == "long" else -1) for t in trades],
            "EntryBar": [t["entry_bar"] for t in trades], "ExitBar": [t["exit_bar"] for t in trades],
            "EntryPrice": [t["entry_price"] for t in trades], "ExitPrice": [t["exit_price"] for t in trades],
            "SL": [None] * len(trades), "TP": [None] * len(trades),
            "PnL": [t["pnl"] for t in trades], "Commission": [t["fees"] for t in trades],
            "ReturnPct": [t["return_pct"] for t in trades],
            "EntryTime": pd.to_datetime([t["entry_time_ns"] for t in trades], utc=True),
            "ExitTime": pd.to_datetime([t["exit_time_ns"] for t in trades], utc=True),
        })
        frame["Duration"] = frame["ExitTime"] - frame["EntryTime"]
        stats = compute_stats(frame, equity, ohlc, None)
        pnl = np.array([t["pnl"] for t in trades], dtype=float)
        expected = {}

        def put(key, value, reference):
            expected[key] = {"value": num(value), "reference": reference}

        put("trade_count", stats["# Trades"], "backtesting._stats.compute_stats '# Trades'")
        put("win_rate", stats["Win Rate [%]"] / 100, "backtesting._stats.compute_stats 'Win Rate [%]' / 100")
        put("return_profit_factor", stats["Profit Factor"], "backtesting._stats.compute_stats 'Profit Factor'")
        put("return_expectancy", stats["Expectancy [%]"] / 100, "backtesting._stats.compute_stats 'Expectancy [%]' / 100")
        put("exposure", stats["Exposure Time [%]"] / 100, "backtesting._stats.compute_stats 'Exposure Time [%]' / 100")
        put("profit_factor", qs.profit_factor(pd.Series(pnl, dtype=float), prepare_returns=False),
            "quantstats.stats.profit_factor on the trades' net PnL")
        put("expectancy", np.mean(pnl) if len(pnl) else float("nan"), "numpy.mean of the trades' net PnL")
        durations = np.array([t["exit_time_ns"] - t["entry_time_ns"] for t in trades], dtype=float)
        put("average_holding_ns", np.mean(durations) if len(durations) else float("nan"),
            "numpy.mean of exit - entry (backtesting.py's 'Avg. Trade Duration' is the same, ceiled to the bar)")
        put("fees_paid", float(np.sum([t["fees"] for t in trades])), "numpy.sum of fees")
        put("slippage_paid", float(np.sum([t["slippage"] for t in trades])), "numpy.sum of slippage")
        notional = float(np.sum([t["size"] * (t["entry_price"] + t["exit_price"]) for t in trades]))
        put("traded_notional", notional, "numpy: sum of size x (entry price + exit price)")
        put("turnover", notional / float(np.mean(equity)), "numpy: traded notional / mean equity of the timeline")
        out.append({
            "name": name, "description": description,
            "timeline_ns": times, "equity": [num(x) for x in equity],
            "trades": [{k: (num(v) if isinstance(v, float) else v) for k, v in t.items()} for t in trades],
            "expected": expected,
            "other_library_values": {
                "backtesting 'Avg. Trade Duration' (ceiled to the bar), ns":
                    None if pd.isna(stats["Avg. Trade Duration"]) else int(pd.Timedelta(stats["Avg. Trade Duration"]).value),
                "quantstats.stats.win_rate on net PnL (zero PnL excluded)": num(qs.win_rate(pd.Series(pnl, dtype=float),
                                                                                        prepare_returns=False)),
            },
        })
    return out


# ---- normal distribution ----------------------------------------------------------------------------------------------

def normal_fixture():
    xs = [-38.0, -12.0, -8.5, -5.0, -2.3263478740408408, -1.0, -1e-3, 0.0, 0.5, 1.2838, 3.0, 7.5, 9.0]
    ps = [1e-300, 1e-20, 1e-10, 1e-6, 0.001, 0.01, 0.025, 0.05, 0.2, 0.5, 0.75, 0.9, 0.99, 1 - 1 / (100 * math.e),
          1 - 1e-6, 1 - 1e-12]
    # The numerical example of Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio": 100 trials whose
    # annualised Sharpe ratios have variance 1/2, a selected strategy with annualised Sharpe 2.5 over five years of
    # daily returns (T = 1250, 250 a year), skewness -3, kurtosis 10. The paper reports SR0 ~ 0.1132 and DSR ~ 0.9004.
    gamma = 0.5772156649015329
    trials, variance, periods, years = 100, 0.5 / 250, 250, 5
    sr0 = math.sqrt(variance) * ((1 - gamma) * norm.ppf(1 - 1 / trials) + gamma * norm.ppf(1 - 1 / (trials * math.e)))
    sharpe = 2.5 / math.sqrt(periods)
    observations = periods * years
    z = (sharpe - sr0) * math.sqrt(observations - 1) / math.sqrt(1 - (-3) * sharpe + (10 - 1) / 4 * sharpe ** 2)
    example = {"trials": trials, "trial_sharpe_variance": variance, "sharpe": sharpe, "observations": observations,
               "skewness": -3.0, "kurtosis": 10.0, "expected_maximum_sharpe": sr0, "deflated_sharpe_ratio": norm.cdf(z),
               "paper_reports": {"expected_maximum_sharpe": 0.1132, "deflated_sharpe_ratio": 0.9004},
               "reference": "the paper's formulas evaluated with scipy.stats.norm.ppf / cdf"}
    return {"cdf": [[num(x), num(norm.cdf(x))] for x in xs],
            "quantile": [[num(p), num(norm.ppf(p))] for p in ps],
            "reference": "scipy.stats.norm.cdf / scipy.stats.norm.ppf",
            "deflated_sharpe_paper_example": example}


# ---- probability of backtest overfitting (CSCV) -------------------------------------------------------------------------

def cscv_brute_force(matrix, blocks):
    """matrix: candidates x periods. Blocks: contiguous, the first (periods mod blocks) blocks one period longer.
    Performance: per-period Sharpe (mean / std ddof=1) of the concatenated rows. Rank: scipy rankdata 'average'."""
    n, t = matrix.shape
    base, extra = divmod(t, blocks)
    bounds, start = [], 0
    for b in range(blocks):
        end = start + base + (1 if b < extra else 0)
        bounds.append((start, end))
        start = end
    logits, is_perf, oos_perf, chosen = [], [], [], []
    for train in itertools.combinations(range(blocks), blocks // 2):
        test = [b for b in range(blocks) if b not in train]
        cols_in = np.concatenate([np.arange(*bounds[b]) for b in train])
        cols_out = np.concatenate([np.arange(*bounds[b]) for b in test])
        r_in = matrix[:, cols_in].mean(axis=1) / matrix[:, cols_in].std(axis=1, ddof=1)
        r_out = matrix[:, cols_out].mean(axis=1) / matrix[:, cols_out].std(axis=1, ddof=1)
        best = int(np.argmax(r_in))  # first index on ties
        omega = rankdata(r_out, method="average")[best] / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
        is_perf.append(r_in[best])
        oos_perf.append(r_out[best])
        chosen.append(best)
    logits = np.array(logits)
    return {"pbo": float(np.mean(logits <= 0)), "logits": [num(x) for x in logits],
            "in_sample": [num(x) for x in is_perf], "out_of_sample": [num(x) for x in oos_perf],
            "selected": chosen, "probability_of_oos_loss": float(np.mean(np.array(oos_perf) < 0))}


def pbo_fixture():
    cases = []
    rng = np.random.default_rng(11)
    noise = rng.normal(0, 0.01, (12, 403))
    cases.append(("noise", "12 candidates of pure noise, 403 periods (blocks of 51 and 50), S = 8", noise, 8))
    rng = np.random.default_rng(12)
    skill = rng.normal(0, 0.01, (6, 300))
    skill[2] += 0.004  # one candidate with a real edge in every block
    cases.append(("one_skilled", "6 candidates, candidate 2 has +0.4 % drift per period, 300 periods, S = 10", skill, 10))
    out = []
    for name, description, matrix, blocks in cases:
        out.append({"name": name, "description": description, "blocks": blocks,
                    "returns": [[num(x) for x in row] for row in matrix],
                    "expected": cscv_brute_force(matrix, blocks)})
    return {"reference": "independent brute-force numpy implementation of CSCV (Bailey, Borwein, Lopez de Prado & Zhu), "
                         "in scripts/gen_metric_fixtures.py", "cases": out}


# ---- PRNG ------------------------------------------------------------------------------------------------------------

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class SplitMix64:
    def __init__(self, state):
        self.state = state & MASK

    def next(self):
        self.state = (self.state + GOLDEN) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256StarStar:
    def __init__(self, seed, stream=0):
        mixer = SplitMix64(seed ^ SplitMix64(stream).next())
        self.s = [mixer.next() for _ in range(4)]

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def bounded(self, n):
        """Lemire's multiply-shift with rejection: uniform in [0, n)."""
        x = self.next()
        m = x * n
        low = m & MASK
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                x = self.next()
                m = x * n
                low = m & MASK
        return m >> 64

    def unit(self):
        return (self.next() >> 11) * 2.0 ** -53


def fan_steps(count, points):
    if count + 1 <= points:
        return list(range(count + 1))
    return [math.floor(j * count / (points - 1) + 0.5) for j in range(points)]


def summarize(finals, drawdowns, sharpes, samples, steps):
    levels = [5, 25, 50, 75, 95]

    def band(values):
        values = np.array([v for v in values if not math.isnan(v)])
        return [num(x) for x in np.percentile(values, levels)] if len(values) else ["nan"] * 5

    return {"final_returns": [num(x) for x in finals], "max_drawdowns": [num(x) for x in drawdowns],
            "sharpes": [num(x) for x in sharpes], "final_return_band": band(finals),
            "max_drawdown_band": band(drawdowns), "sharpe_band": band(sharpes),
            "probability_of_loss": float(np.mean(np.array(finals) < 0)),
            "fan": [{"step": step, "band": band([path[j] for path in samples])} for j, step in enumerate(steps)]}


def monte_carlo_bootstrap(returns, block, paths, seed, ppy, points):
    n = len(returns)
    steps = fan_steps(n, points)
    finals, drawdowns, sharpes, samples = [], [], [], []
    for path in range(paths):
        g = Xoshiro256StarStar(seed, path)
        picks = []
        while len(picks) < n:
            start = g.bounded(n)
            for k in range(block):
                if len(picks) < n:
                    picks.append((start + k) % n)
        drawn = np.array([returns[i] for i in picks])
        wealth, curve = 1.0, [1.0]
        for r in drawn:
            wealth *= 1 + r
            curve.append(wealth)
        samples.append([curve[s] for s in steps])
        finals.append(empyrical.cum_returns_final(drawn))
        drawdowns.append(empyrical.max_drawdown(drawn))
        sharpes.append(empyrical.sharpe_ratio(drawn, annualization=ppy))
    return summarize(finals, drawdowns, sharpes, samples, steps)


def monte_carlo_shuffle(pnl, starting, paths, seed, ppy, points):
    steps = fan_steps(len(pnl), points)
    finals, drawdowns, sharpes, samples = [], [], [], []
    for path in range(paths):
        g = Xoshiro256StarStar(seed, path)
        order = list(pnl)
        for i in range(len(order) - 1, 0, -1):
            j = g.bounded(i + 1)
            order[i], order[j] = order[j], order[i]
        equity, peak, worst, returns, curve = starting, starting, 0.0, [], [starting]
        for x in order:
            previous = equity
            equity += x
            returns.append(x / previous)
            peak = max(peak, equity)
            worst = min(worst, (equity - peak) / peak)
            curve.append(equity)
        samples.append([curve[s] for s in steps])
        finals.append((equity - starting) / starting)
        drawdowns.append(worst)
        sharpes.append(empyrical.sharpe_ratio(np.array(returns), annualization=ppy))
    return summarize(finals, drawdowns, sharpes, samples, steps)


def monte_carlo_fixture():
    rng = np.random.default_rng(5)
    returns = rng.normal(0.001, 0.02, 40)
    pnl = rng.normal(5, 40, 30)
    return {
        "bootstrap": {"returns": [num(x) for x in returns], "block_length": 5, "paths": 25, "seed": 77,
                      "periods_per_year": 365, "fan_points": 6,
                      "expected": monte_carlo_bootstrap(returns, 5, 25, 77, 365, 6)},
        "shuffle": {"pnl": [num(x) for x in pnl], "starting_equity": 1000.0, "paths": 25, "seed": 78,
                    "periods_per_year": 1, "fan_points": 7,
                    "expected": monte_carlo_shuffle(pnl, 1000.0, 25, 78, 1, 7)},
    }


def prng_fixture():
    assert SplitMix64(0).next() == 0xE220A8397B1DCDAF  # the published first output of SplitMix64 for seed 0
    g = Xoshiro256StarStar(42, 0)
    raw = [g.next() for _ in range(6)]
    g1 = Xoshiro256StarStar(42, 1)
    raw1 = [g1.next() for _ in range(3)]
    gb = Xoshiro256StarStar(7, 3)
    bounded = [gb.bounded(n) for n in (1, 2, 3, 10, 1000, 2**63 + 5, 6)]
    gu = Xoshiro256StarStar(7, 4)
    units = [gu.unit() for _ in range(3)]
    gs = Xoshiro256StarStar(2024, 5)
    perm = list(range(10))
    for i in range(len(perm) - 1, 0, -1):
        j = gs.bounded(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    gbb = Xoshiro256StarStar(2024, 6)
    picks, n, length = [], 10, 3
    while len(picks) < n:
        start = gbb.bounded(n)
        for k in range(length):
            if len(picks) < n:
                picks.append((start + k) % n)
    return {
        "reference": "Python port in scripts/gen_metric_fixtures.py of the documented algorithms (SplitMix64 seeding "
                     "xoshiro256** 1.0; Lemire bounded integers; Fisher-Yates from the top; circular block bootstrap)",
        "splitmix64_seed0_first": str(0xE220A8397B1DCDAF),
        "xoshiro_seed42_stream0": [str(x) for x in raw],
        "xoshiro_seed42_stream1": [str(x) for x in raw1],
        "bounded_seed7_stream3": {"bounds": [str(n) for n in (1, 2, 3, 10, 1000, 2**63 + 5, 6)],
                                  "values": [str(x) for x in bounded]},
        "unit_seed7_stream4": units,
        "shuffle10_seed2024_stream5": perm,
        "block_bootstrap_n10_len3_seed2024_stream6": picks,
        "monte_carlo": monte_carlo_fixture(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    header = {"generated_by": "scripts/gen-metric-fixtures", "libraries": LIBRARIES}
    write(os.path.join(args.out, "returns.json"), {**header, "series": return_fixture(args.repo)})
    write(os.path.join(args.out, "trades.json"), {**header, "sets": trade_fixture()})
    write(os.path.join(args.out, "normal.json"), {**header, **normal_fixture()})
    write(os.path.join(args.out, "pbo.json"), {**header, **pbo_fixture()})
    write(os.path.join(args.out, "prng.json"), {**header, **prng_fixture()})


if __name__ == "__main__":
    main()
