"""make bench-backtest, the reference side: the EMA-crossover strategy of bench/backtest/rules.json in backtesting.py
(pinned in scripts/bench-backtest), on the same bar files as Quorum, one Backtest per symbol. Long only: buy the
whole equity when EMA(12) crosses above EMA(26), close when it crosses below; 10 bps commission. Prints one line
`backtesting_py bars=N seconds=S bars_per_s=R` (the time of Backtest.run only, data loading excluded)."""
import sys
import time
import warnings

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy


def ema(values, period):
    """EMA seeded with the mean of the first `period` values (TA-Lib's and Quorum's convention)."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if len(values) < period:
        return out
    k = 2.0 / (period + 1)
    out[period - 1] = values[:period].mean()
    for i in range(period, len(values)):
        out[i] = out[i - 1] + k * (values[i] - out[i - 1])
    return out


class EmaCross(Strategy):
    fast = 12
    slow = 26

    def init(self):
        self.ema_fast = self.I(ema, self.data.Close, self.fast)
        self.ema_slow = self.I(ema, self.data.Close, self.slow)

    def next(self):
        fast, slow = self.ema_fast, self.ema_slow
        if np.isnan(slow[-2]):
            return
        if fast[-2] <= slow[-2] and fast[-1] > slow[-1] and not self.position:
            self.buy()
        elif fast[-2] >= slow[-2] and fast[-1] < slow[-1] and self.position:
            self.position.close()


def main(paths):
    warnings.filterwarnings("ignore")
    frames = []
    for path in paths:
        df = pd.read_csv(path)
        df.index = pd.to_datetime(df["timestamp"], utc=True)
        frames.append(df.rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"})
                      [["Open", "High", "Low", "Close", "Volume"]])
    bars = 0
    seconds = 0.0
    for df in frames:
        bt = Backtest(df, EmaCross, cash=1e12, commission=0.001, finalize_trades=True)
        start = time.perf_counter()
        bt.run()
        seconds += time.perf_counter() - start
        bars += len(df)
    print(f"backtesting_py bars={bars} seconds={seconds:.3f} bars_per_s={bars / seconds:.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
