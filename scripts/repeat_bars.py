"""Writes OUT/{btc,eth,ltc}_usd_30m.csv: each symbol's bars of data/market repeated REPEAT times, each repetition
shifted in time after the previous one, for the benchmarks (make bench-backtest, make bench-features). The price jump
at a seam is an outlier row for the bar reader (skip it with bad_rows "skip" / --skip-bad-rows).
Usage: python3 scripts/repeat_bars.py OUT REPEAT"""
import csv
import datetime
import gzip
import sys

out, repeat = sys.argv[1], int(sys.argv[2])
total = 0
for stem in ["btc_usd_30m", "eth_usd_30m", "ltc_usd_30m"]:
    with gzip.open(f"data/market/{stem}.csv.gz", "rt") as f:
        rows = list(csv.reader(f))[1:]
    times = [datetime.datetime.fromisoformat(r[0].replace("Z", "+00:00")) for r in rows]
    span = times[-1] - times[0] + datetime.timedelta(minutes=30)
    with open(f"{out}/{stem}.csv", "w") as f:
        f.write("timestamp,open,high,low,close,volume\n")
        for k in range(repeat):
            for t, r in zip(times, rows):
                f.write((t + k * span).strftime("%Y-%m-%dT%H:%M:%SZ") + "," + ",".join(r[1:]) + "\n")
    total += len(rows) * repeat
print(f"{total} bars", file=sys.stderr)
