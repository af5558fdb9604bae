"""make bench-features, the reference side: TA-Lib (pinned in scripts/bench-features) computing the talib-parity set
on NumPy arrays, one call per indicator over each symbol's whole array (TA-Lib's fastest path), on the same bar files
as Quorum. Prints one line `talib bars=N seconds=S bars_per_s=R` (the indicator calls only; reading excluded)."""
import csv
import sys
import time

import numpy as np
import talib


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    columns = np.array([[float(x) for x in r[1:6]] for r in rows]).T
    return [np.ascontiguousarray(c) for c in columns]


def parity(o, h, l, c, v):
    """The columns of Quorum's talib-parity spec, in its order."""
    out = [
        talib.SMA(c, 20), talib.SMA(c, 50), talib.EMA(c, 12), talib.EMA(c, 26), talib.RSI(c, 14),
        *talib.MACD(c, 12, 26, 9), *talib.BBANDS(c, 20, 2.0, 2.0, 0), talib.ATR(h, l, c, 14), talib.CCI(h, l, c, 20),
        *talib.STOCH(h, l, c, 5, 3, 0, 3, 0), talib.OBV(c, v), talib.ADX(h, l, c, 14), talib.PLUS_DI(h, l, c, 14),
        talib.MINUS_DI(h, l, c, 14),
    ]
    r = np.empty_like(c)
    r[0] = np.nan
    np.log(c[1:] / c[:-1], out=r[1:])
    out.append(r)
    # volatility_20: the sample standard deviation of 20 log returns (TA-Lib's STDDEV is the population one).
    out.append(talib.STDDEV(r, 20, 1.0) * np.sqrt(20 / 19))
    return out


def main(paths):
    arrays = [load(p) for p in paths]
    bars = sum(len(a[0]) for a in arrays)
    best = None
    for _ in range(3):
        started = time.perf_counter()
        for a in arrays:
            columns = parity(*a)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    assert len(columns) == 21
    print(f"talib bars={bars} seconds={best:.4f} bars_per_s={bars / best:.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
