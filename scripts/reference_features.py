"""Straightforward batch implementations of the indicators TA-Lib lacks (Shared/QuorumFeatures/TALib/Popular.swift),
written from the same published definitions as the Swift streaming types, for scripts/gen_indicator_fixtures.py.
Plain loops over whole windows on purpose: slow and obvious, nothing shared with the streaming code.
Every function takes NumPy arrays and returns arrays (NaN where the indicator has no value yet)."""

import math

import numpy as np

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
    """name -> output(s), keyed like the TA-Lib fixtures (multi-output columns name.0, name.1, ...)."""
    return {
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
    }
