"""Straightforward batch implementations of the indicators TA-Lib lacks (Shared/QuorumFeatures/TALib/Popular.swift)
and of the statistical, volatility, microstructure and temporal features (Quant.swift, Volatility.swift,
Microstructure.swift, Temporal.swift),
written from the same published definitions as the Swift streaming types, for scripts/gen_indicator_fixtures.py.
pandas' rolling estimators where pandas has the formula (cov, std, autocorr; the moments and z-score use pandas'
estimators in exact rational arithmetic, see exact_moments), otherwise plain loops over whole windows on purpose:
slow and obvious, nothing shared with the streaming code.
Every function takes NumPy arrays and returns arrays (NaN where the indicator has no value yet)."""

import datetime
import math
from fractions import Fraction

import numpy as np
import pandas as pd

NAN = float("nan")


def sma_seeded_ema(x, n):
    """EMA with k = 2/(n+1), seeded with the mean of the first n non-NaN values (TA-Lib's and Pine's seeding)."""
    out = np.full(len(x), NAN)
    k = 2.0 / (n + 1)
    start = next((i for i in range(len(x)) if not math.isnan(x[i])), len(x))
    if start + n > len(x):
        return out
    e = sum(x[start:start + n]) / n
    out[start + n - 1] = e
    for i in range(start + n, len(x)):
        e = (x[i] - e) * k + e
        out[i] = e
    return out


def wilder_atr(h, l, c, n):
    """TA-Lib's ATR: true ranges from bar 1, mean of the first n, then (atr*(n-1) + tr)/n."""
    out = np.full(len(c), NAN)
    tr = [max(h[i] - l[i], abs(c[i - 1] - h[i]), abs(c[i - 1] - l[i])) for i in range(1, len(c))]
    if len(tr) < n:
        return out
    a = sum(tr[:n]) / n
    out[n] = a
    for i in range(n, len(tr)):
        a = (a * (n - 1) + tr[i]) / n
        out[i + 1] = a
    return out


def wma(x, n):
    out = np.full(len(x), NAN)
    w = np.arange(1, n + 1, dtype=float)
    for i in range(n - 1, len(x)):
        window = x[i - n + 1:i + 1]
        if not np.isnan(window).any():
            out[i] = float(np.dot(window, w)) / w.sum()
    return out


def vwap(h, l, c, v, n):
    tp = (h + l + c) / 3
    out = np.full(len(c), NAN)
    for i in range(n - 1, len(c)):
        vol = v[i - n + 1:i + 1]
        out[i] = tp[i] if not (vol > 0).any() else float(np.dot(tp[i - n + 1:i + 1], vol)) / vol.sum()
    return out


def session_vwap(h, l, c, v, close_times):
    """Sessions are UTC days of (close time - 1 s)."""
    tp = (h + l + c) / 3
    out = np.full(len(c), NAN)
    for i in range(len(c)):
        day = (close_times[i] - 1) // 86400
        j = i
        while j > 0 and (close_times[j - 1] - 1) // 86400 == day:
            j -= 1
        vol = v[j:i + 1]
        out[i] = tp[i] if not (vol > 0).any() else float(np.dot(tp[j:i + 1], vol)) / vol.sum()
    return out


def supertrend(h, l, c, n, factor):
    atr = wilder_atr(h, l, c, n)
    line, direction = np.full(len(c), NAN), np.full(len(c), NAN)
    prev = None
    for i in range(len(c)):
        if math.isnan(atr[i]):
            continue
        upper = (h[i] + l[i]) / 2 + factor * atr[i]
        lower = (h[i] + l[i]) / 2 - factor * atr[i]
        if prev is None:
            up = False
        else:
            p_upper, p_lower, p_close, p_up = prev
            upper = upper if (upper < p_upper or p_close > p_upper) else p_upper
            lower = lower if (lower > p_lower or p_close < p_lower) else p_lower
            up = (c[i] >= lower) if p_up else (c[i] > upper)
        prev = (upper, lower, c[i], up)
        line[i] = lower if up else upper
        direction[i] = 1.0 if up else -1.0
    return line, direction


def keltner(h, l, c, n, atr_n, mult):
    mid, atr = sma_seeded_ema(c, n), wilder_atr(h, l, c, atr_n)
    ok = ~(np.isnan(mid) | np.isnan(atr))
    upper, lower, middle = mid + mult * atr, mid - mult * atr, mid.copy()
    for a in (upper, middle, lower):
        a[~ok] = NAN
    return upper, middle, lower


def rolling_max(x, n):
    return np.array([max(x[i - n + 1:i + 1]) if i >= n - 1 else NAN for i in range(len(x))])


def rolling_min(x, n):
    return np.array([min(x[i - n + 1:i + 1]) if i >= n - 1 else NAN for i in range(len(x))])


def donchian(h, l, n):
    hh, ll = rolling_max(h, n), rolling_min(l, n)
    return hh, (hh + ll) / 2, ll


def ichimoku(h, l, tenkan, kijun, senkou_b, displacement):
    t = (rolling_max(h, tenkan) + rolling_min(l, tenkan)) / 2
    k = (rolling_max(h, kijun) + rolling_min(l, kijun)) / 2
    b = (rolling_max(h, senkou_b) + rolling_min(l, senkou_b)) / 2
    a = (t + k) / 2
    first = max(tenkan, kijun, senkou_b) - 1 + displacement
    cloud_a, cloud_b = np.full(len(h), NAN), np.full(len(h), NAN)
    cloud_a[displacement:] = a[:len(h) - displacement]
    cloud_b[displacement:] = b[:len(h) - displacement]
    outs = [t, k, a, b, cloud_a, cloud_b]
    for o in outs:
        o[:first] = NAN
    return tuple(outs)


def hma(x, n):
    root = math.isqrt(n)
    diff = 2 * wma(x, n // 2) - wma(x, n)
    return wma(diff, root)


def wavetrend(h, l, c, channel, average, signal):
    ap = (h + l + c) / 3
    esa = sma_seeded_ema(ap, channel)
    d = sma_seeded_ema(np.abs(ap - esa), channel)
    with np.errstate(invalid="ignore", divide="ignore"):
        ci = np.where(d == 0, 0.0, (ap - esa) / (0.015 * d))
    wt1 = sma_seeded_ema(ci, average)
    wt2 = np.array([np.mean(wt1[i - signal + 1:i + 1]) if i >= signal - 1 else NAN for i in range(len(c))])
    wt1[np.isnan(wt2)] = NAN  # one output row per bar: both lines from the first wt2 on
    return wt1, wt2


def heikin_ashi(o, h, l, c):
    ha_c = (o + h + l + c) / 4
    ha_o = np.empty(len(c))
    ha_o[0] = (o[0] + c[0]) / 2
    for i in range(1, len(c)):
        ha_o[i] = (ha_o[i - 1] + ha_c[i - 1]) / 2
    return ha_o, np.maximum(h, np.maximum(ha_o, ha_c)), np.minimum(l, np.minimum(ha_o, ha_c)), ha_c


def popular(o, h, l, c, v, close_times):
    """name -> output(s), keyed like the TA-Lib fixtures (multi-output columns name.0, name.1, ...): the indicators
    TA-Lib lacks and (quant) the statistical, volatility, microstructure and temporal features."""
    return {
        **quant(o, h, l, c, v, close_times),
        "VWAP_20": vwap(h, l, c, v, 20),
        "SESSION_VWAP": session_vwap(h, l, c, v, close_times),
        "SUPERTREND_10_3": supertrend(h, l, c, 10, 3.0),
        "KELTNER_20_10_2": keltner(h, l, c, 20, 10, 2.0),
        "DONCHIAN_20": donchian(h, l, 20),
        "ICHIMOKU_9_26_52_26": ichimoku(h, l, 9, 26, 52, 26),
        "HMA_20": hma(c, 20),
        "HMA_9": hma(c, 9),
        "WAVETREND_10_21_4": wavetrend(h, l, c, 10, 21, 4),
        "HEIKIN_ASHI": heikin_ashi(o, h, l, c),
        **edges(o, h, l, c, v),
    }


def edges(o, h, l, c, v):
    """The same definitions at the edges of their parameters (one-bar windows, no displacement, the shortest
    periods and largest lags allowed): off-by-one errors show here."""
    r = log_returns(c)
    return {
        "VWAP_1": vwap(h, l, c, v, 1),
        "SUPERTREND_1_0.5": supertrend(h, l, c, 1, 0.5),
        "KELTNER_1_1_1": keltner(h, l, c, 1, 1, 1.0),
        "DONCHIAN_1": donchian(h, l, 1),
        "ICHIMOKU_3_5_7_0": ichimoku(h, l, 3, 5, 7, 0),
        "ICHIMOKU_30_10_20_1": ichimoku(h, l, 30, 10, 20, 1),
        "HMA_2": hma(c, 2),
        "HMA_4": hma(c, 4),
        "WAVETREND_1_1_1": wavetrend(h, l, c, 1, 1, 1),
        "MOMENTS_4_LOGRET": exact_moments(r, 4),
        "ZSCORE_2": exact_zscore(c, 2),
        "AUTOCORR_12_10_LOGRET": autocorr(r, 12, 10),
        "HURST_16_8_LOGRET": hurst(r, 16, 8),
        "PERMEN_2_2_1": permutation_entropy(c, 2, 2, 1),
        "PERMEN_40_6_1_LOGRET": permutation_entropy(r, 40, 6, 1),
        "PARKINSON_1": volatility(o, h, l, c, 1)[0],
        "YANG_ZHANG_2": volatility(o, h, l, c, 2)[3],
        "AMIHUD_1": amihud(c, v, 1),
        "ROLL_2": roll_spread(c, 2),
        "CORWIN_SCHULTZ_1": corwin_schultz(h, l, 1),
        "BULK_VOLUME_2": bulk_volume(c, v, 2),
        "BARS_SINCE_MOVE_2_1_LOGRET": bars_since_move(r, 2, 1.0),
    }


# --- Statistical, volatility, microstructure and temporal features (Quant.swift, Volatility.swift,
# Microstructure.swift, Temporal.swift). pandas' rolling estimators where pandas has the formula.

def log_returns(c):
    r = np.full(len(c), NAN)
    r[1:] = np.log(c[1:] / c[:-1])
    return r


def exact_moments(x, n):
    """Rolling mean, sample std, skewness and excess kurtosis with pandas' estimators (rolling mean, std, skew,
    kurt), evaluated in exact rational arithmetic on the given doubles (rounded once at the end). pandas' own
    online sums lose digits on nearly constant windows (up to 1e-5 relative on the synthetic uptrend with n = 4),
    so this is the reference the tests use; skewness and kurtosis are 0 for a constant window."""
    mean, std, skew, kurt = (np.full(len(x), NAN) for _ in range(4))
    for i in range(n - 1, len(x)):
        window = x[i - n + 1:i + 1]
        if np.isnan(window).any():
            continue
        w = [Fraction(float(v)) for v in window]
        m = sum(w) / n
        d = [v - m for v in w]
        m2, m3, m4 = (sum(e ** k for e in d) for k in (2, 3, 4))
        mean[i] = float(m)
        std[i] = math.sqrt(m2 / (n - 1))
        if m2 == 0:
            skew[i] = kurt[i] = 0.0
            continue
        g1_squared = Fraction(n * (n - 1), (n - 2) ** 2) * (m3 / n) ** 2 / (m2 / n) ** 3
        skew[i] = math.copysign(math.sqrt(g1_squared), m3)
        kurt[i] = float(Fraction((n + 1) * n * (n - 1), (n - 2) * (n - 3)) * m4 / m2 ** 2
                        - Fraction(3 * (n - 1) ** 2, (n - 2) * (n - 3)))
    return mean, std, skew, kurt


def exact_zscore(x, n):
    """(x - rolling mean) / rolling sample std in exact rational arithmetic (0 for a constant window)."""
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        w = [Fraction(float(v)) for v in x[i - n + 1:i + 1]]
        m = sum(w) / n
        variance = sum((v - m) ** 2 for v in w) / (n - 1)
        out[i] = 0.0 if variance == 0 else math.copysign(math.sqrt((w[-1] - m) ** 2 / variance), w[-1] - m)
    return out


def hurst(x, n, min_chunk):
    out = np.full(len(x), NAN)
    for i in range(len(x)):
        w = x[i - n + 1:i + 1] if i >= n - 1 else None
        if w is None or np.isnan(w).any():
            continue
        xs, ys = [], []
        s = min_chunk
        while s <= n:
            ratios = []
            for k in range(n // s):
                chunk = w[n - (k + 1) * s:n - k * s]
                dev = chunk - chunk.mean()
                y = np.concatenate([[0.0], np.cumsum(dev)])
                sd = math.sqrt(float(np.mean(dev ** 2)))
                if sd > 0:
                    ratios.append((y.max() - y.min()) / sd)
            if ratios and sum(ratios) > 0:
                xs.append(math.log(s))
                ys.append(math.log(sum(ratios) / len(ratios)))
            s *= 2
        out[i] = 0.5 if len(xs) < 2 else float(np.polyfit(xs, ys, 1)[0])
    return out


def permutation_entropy(x, n, order, delay):
    out = np.full(len(x), NAN)
    span = (order - 1) * delay
    for i in range(len(x)):
        w = x[i - n + 1:i + 1] if i >= n - 1 else None
        if w is None or np.isnan(w).any():
            continue
        counts = {}
        for start in range(n - span):
            run = w[start:start + span + 1:delay]
            pattern = tuple(np.argsort(run, kind="stable"))
            counts[pattern] = counts.get(pattern, 0) + 1
        total = sum(counts.values())
        h = -sum(c / total * math.log(c / total) for c in counts.values())
        out[i] = h / math.log(math.factorial(order))
    return out


def autocorr(x, n, lag):
    def one(w):
        a, b = w[:-lag], w[lag:]
        if a.max() == a.min() or b.max() == b.min():
            return 0.0
        return pd.Series(w).autocorr(lag)
    return pd.Series(x).rolling(n).apply(one, raw=True).to_numpy()


def bars_since_move(x, n, sigmas):
    out = np.full(len(x), NAN)
    count = 0
    for i in range(len(x)):
        prior = x[i - n:i] if i >= n else None
        if prior is None or np.isnan(prior).any() or math.isnan(x[i]):
            continue
        s = float(np.std(prior, ddof=1))
        count = 0 if (s > 0 and abs(x[i] - float(np.mean(prior))) > sigmas * s) else count + 1
        out[i] = count
    return out


def volatility(o, h, l, c, n):
    parkinson = np.log(h / l) ** 2 / (4 * math.log(2))
    gk = 0.5 * np.log(h / l) ** 2 - (2 * math.log(2) - 1) * np.log(c / o) ** 2
    rs = np.log(h / c) * np.log(h / o) + np.log(l / c) * np.log(l / o)
    mean = lambda t: pd.Series(t).rolling(n).mean().clip(lower=0).pow(0.5).to_numpy()
    jump = np.full(len(c), NAN)
    jump[1:] = np.log(o[1:] / c[:-1])
    body, rs_lagged = np.log(c / o), rs.copy()
    body[0] = rs_lagged[0] = NAN
    k = 0.34 / (1.34 + (n + 1) / (n - 1)) if n > 1 else NAN  # Yang–Zhang needs n ≥ 2 (sample variances)
    yz = (pd.Series(jump).rolling(n).var() + k * pd.Series(body).rolling(n).var()
          + (1 - k) * pd.Series(rs_lagged).rolling(n).mean())
    return mean(parkinson), mean(gk), mean(rs), yz.clip(lower=0).pow(0.5).to_numpy()


def amihud(c, v, n):
    prev = np.concatenate([[NAN], c[:-1]])
    value = c * v
    traded = (value > 0) & (prev != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(traded, np.abs(c / prev - 1) / value, 0.0)
    ratio[0] = NAN
    sums = pd.Series(ratio).rolling(n).sum()
    counts = pd.Series(np.where(np.isnan(ratio), NAN, traded.astype(float))).rolling(n).sum()
    return np.where(counts > 0, sums / counts.where(counts > 0, 1), np.where(np.isnan(counts), NAN, 0.0))


def roll_spread(x, n):
    dx = pd.Series(x).diff()
    cov = dx.rolling(n).cov(dx.shift(1)).to_numpy()
    return np.where(np.isnan(cov), NAN, np.where(cov < 0, 2 * np.sqrt(np.abs(cov)), 0.0))


def corwin_schultz(h, l, n):
    s = np.full(len(h), NAN)
    root2 = math.sqrt(2)
    for i in range(1, len(h)):
        beta = math.log(h[i] / l[i]) ** 2 + math.log(h[i - 1] / l[i - 1]) ** 2
        gamma = math.log(max(h[i], h[i - 1]) / min(l[i], l[i - 1])) ** 2
        alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / (3 - 2 * root2) - math.sqrt(gamma / (3 - 2 * root2))
        s[i] = max(0.0, 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha)))
    return pd.Series(s).rolling(n).mean().to_numpy()


def bulk_volume(c, v, n):
    dc = pd.Series(c).diff()
    sd = dc.rolling(n).std().to_numpy()
    out = np.full(len(c), NAN)
    for i in range(len(c)):
        if not math.isnan(sd[i]):
            out[i] = 0.0 if sd[i] == 0 else v[i] * math.erf(dc[i] / sd[i] / math.sqrt(2))
    return out


def calendar(close_times):
    stamps = [datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc) for t in close_times]
    frac = np.array([(d.hour * 3600 + d.minute * 60 + d.second) / 86400 for d in stamps])
    weekday = np.array([d.weekday() for d in stamps], dtype=float)
    return (np.sin(2 * np.pi * frac), np.cos(2 * np.pi * frac),
            np.sin(2 * np.pi * weekday / 7), np.cos(2 * np.pi * weekday / 7))


def quant(o, h, l, c, v, close_times):
    """name -> output(s) of the statistical, volatility, microstructure and temporal features; *_LOGRET keys are
    computed on one-bar log returns (NaN on bar 0)."""
    r = log_returns(c)
    parkinson, gk, rs, yz = volatility(o, h, l, c, 20)
    return {
        "ZSCORE_20": exact_zscore(c, 20),
        "MOMENTS_30_LOGRET": exact_moments(r, 30),
        "AUTOCORR_30_1_LOGRET": autocorr(r, 30, 1),
        "AUTOCORR_50_5_LOGRET": autocorr(r, 50, 5),
        "HURST_128_8_LOGRET": hurst(r, 128, 8),
        "PERMEN_50_3_1_LOGRET": permutation_entropy(r, 50, 3, 1),
        "PERMEN_60_4_2": permutation_entropy(c, 60, 4, 2),
        "PARKINSON_20": parkinson,
        "GARMAN_KLASS_20": gk,
        "ROGERS_SATCHELL_20": rs,
        "YANG_ZHANG_20": yz,
        "AMIHUD_20": amihud(c, v, 20),
        "ROLL_20": roll_spread(c, 20),
        "CORWIN_SCHULTZ_20": corwin_schultz(h, l, 20),
        "BULK_VOLUME_20": bulk_volume(c, v, 20),
        "CALENDAR": calendar(close_times),
        "BARS_SINCE_MOVE_100_3_LOGRET": bars_since_move(r, 100, 3.0),
    }
