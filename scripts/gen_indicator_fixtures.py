"""Reference fixtures for the streaming indicators of Shared/QuorumFeatures, run by scripts/gen-indicator-fixtures
inside its pinned venv.

For each market file it reads the first BARS bars of data/market/<file>.csv.gz, runs every TA-Lib function listed in
CALLS over the whole slice (TA-Lib's defaults: unstable period 0, default compatibility) and writes
<file>.json.gz with the values at a subset of bar indices (every bar up to FULL, then every STEP-th) so the files
stay small. Warm-up cells (TA-Lib's NaN) are null. Values keep 13 significant digits (the tests check 1e-9
relative). The inputs are not copied: the Swift tests read the same slice of data/market.
grid.json.gz has other parameters (short, long, swapped periods) on the first GRID_BARS BTC bars. synthetic.json.gz covers TA-Lib's special cases (zero ranges, flat stretches, zero volume, equal
highs) on SYNTHETIC bars and carries its inputs.
<file>.reference.json.gz hold the same kind of values for the indicators TA-Lib lacks, from the batch implementations
in scripts/reference_features.py, on the same bars (the synthetic file's bars close every 30 minutes from
SYNTHETIC_START).
"""

import argparse
import gzip
import io
import json
import math
import datetime
import os

import numpy as np
import talib

import reference_features

BARS = 3000
FULL = 300
STEP = 20
FILES = ("btc_usd_30m", "eth_usd_30m")
SYNTHETIC = 500


def synthetic():
    """Flat bars (zero range, zero volume), a staircase of equal highs, a pure uptrend, then a seeded random walk."""
    rng = np.random.default_rng(20261127)
    o, h, l, c, v = [], [], [], [], []
    price = 100.0
    for i in range(SYNTHETIC):
        if i < 80:                        # flat: every price equal, no volume
            op = hi = lo = cl = 100.0
            vol = 0.0
        elif i < 160:                     # staircase: steps every 10 bars, equal highs within a step
            op = cl = 100.0 + (i // 10)
            hi, lo, vol = op + 1.0, op - 1.0, 5.0
        elif i < 200:                     # pure uptrend
            op = 110.0 + (i - 160) * 0.5
            cl = op + 0.5
            hi, lo, vol = cl, op, 10.0
        else:                             # random walk
            op = price
            price = max(1.0, price * (1 + rng.normal(0, 0.01)))
            cl = price
            hi = max(op, cl) * (1 + abs(rng.normal(0, 0.002)))
            lo = min(op, cl) * (1 - abs(rng.normal(0, 0.002)))
            vol = float(rng.integers(0, 1000))
        o.append(op); h.append(hi); l.append(lo); c.append(cl); v.append(vol)
        price = cl
    return tuple(np.array(x, dtype=float) for x in (o, h, l, c, v))


def calls(o, h, l, c, v):
    """name -> output array (or tuple of arrays, named name.0, name.1, ...)."""
    return {
        "SMA_20": talib.SMA(c, 20),
        "EMA_12": talib.EMA(c, 12),
        "WMA_20": talib.WMA(c, 20),
        "DEMA_20": talib.DEMA(c, 20),
        "TEMA_20": talib.TEMA(c, 20),
        "TRIMA_20": talib.TRIMA(c, 20),
        "TRIMA_15": talib.TRIMA(c, 15),
        "RSI_14": talib.RSI(c, 14),
        "MACD_12_26_9": talib.MACD(c, 12, 26, 9),
        "BBANDS_20_2": talib.BBANDS(c, 20, 2.0, 2.0, 0),
        "STDDEV_20": talib.STDDEV(c, 20, 1.0),
        "ATR_14": talib.ATR(h, l, c, 14),
        "NATR_14": talib.NATR(h, l, c, 14),
        "TRANGE": talib.TRANGE(h, l, c),
        "ADX_14": talib.ADX(h, l, c, 14),
        "ADXR_14": talib.ADXR(h, l, c, 14),
        "PLUS_DI_14": talib.PLUS_DI(h, l, c, 14),
        "MINUS_DI_14": talib.MINUS_DI(h, l, c, 14),
        "STOCH_5_3_3": talib.STOCH(h, l, c, 5, 3, 0, 3, 0),
        "STOCHF_5_3": talib.STOCHF(h, l, c, 5, 3, 0),
        "STOCHRSI_14_5_3": talib.STOCHRSI(c, 14, 5, 3, 0),
        "WILLR_14": talib.WILLR(h, l, c, 14),
        "CCI_20": talib.CCI(h, l, c, 20),
        "MFI_14": talib.MFI(h, l, c, v, 14),
        "MOM_10": talib.MOM(c, 10),
        "ROC_10": talib.ROC(c, 10),
        "CMO_14": talib.CMO(c, 14),
        "APO_12_26": talib.APO(c, 12, 26, 0),
        "PPO_12_26": talib.PPO(c, 12, 26, 0),
        "TRIX_15": talib.TRIX(c, 15),
        "AROON_14": talib.AROON(h, l, 14),
        "AROONOSC_14": talib.AROONOSC(h, l, 14),
        "BOP": talib.BOP(o, h, l, c),
        "OBV": talib.OBV(c, v),
        "AD": talib.AD(h, l, c, v),
        "ADOSC_3_10": talib.ADOSC(h, l, c, v, 3, 10),
        "ULTOSC_7_14_28": talib.ULTOSC(h, l, c, 7, 14, 28),
        "KAMA_30": talib.KAMA(c, 30),
        "T3_5_0.7": talib.T3(c, 5, 0.7),
        "SAR_0.02_0.2": talib.SAR(h, l, 0.02, 0.2),
        "LINEARREG_14": talib.LINEARREG(c, 14),
        "LINEARREG_SLOPE_14": talib.LINEARREG_SLOPE(c, 14),
        "LINEARREG_ANGLE_14": talib.LINEARREG_ANGLE(c, 14),
        "LINEARREG_INTERCEPT_14": talib.LINEARREG_INTERCEPT(c, 14),
        "BETA_5_open_close": talib.BETA(o, c, 5),
        "CORREL_30_high_low": talib.CORREL(h, l, 30),
        **matype_calls(o, h, l, c, v),
    }


MATYPES = (0, 1, 2, 3, 4, 5, 6, 8)  # TA_MAType without MAMA (7)


def matype_calls(o, h, l, c, v):
    """The moving-average types (matype) of MA, APO, PPO, STOCH, STOCHF, STOCHRSI, BBANDS and MACDEXT."""
    calls = {f"MA_10_{t}": talib.MA(c, 10, t) for t in MATYPES}
    calls.update({
        "APO_12_26_1": talib.APO(c, 12, 26, 1),
        "PPO_12_26_1": talib.PPO(c, 12, 26, 1),
        "STOCH_5_3_1_3_2": talib.STOCH(h, l, c, 5, 3, 1, 3, 2),
        "STOCHF_5_3_3": talib.STOCHF(h, l, c, 5, 3, 3),
        "STOCHRSI_14_5_3_1": talib.STOCHRSI(c, 14, 5, 3, 1),
        "BBANDS_20_2_2_1": talib.BBANDS(c, 20, 2.0, 2.0, 1),
        "MACDEXT_12_1_26_1_9_1": talib.MACDEXT(c, 12, 1, 26, 1, 9, 1),
        "MACDEXT_12_0_26_1_9_2": talib.MACDEXT(c, 12, 0, 26, 1, 9, 2),
        "MACDEXT_26_1_12_3_9_0": talib.MACDEXT(c, 26, 1, 12, 3, 9, 0),
        "MACDEXT_5_6_20_8_4_4": talib.MACDEXT(c, 5, 6, 20, 8, 4, 4),
    })
    return calls


GRID_BARS = 600


def grid(o, h, l, c, v):
    """Other parameters (short, long, swapped fast/slow periods), on the first GRID_BARS BTC bars: lookbacks and seeding."""
    return {
        "SMA_7": talib.SMA(c, 7), "EMA_50": talib.EMA(c, 50), "WMA_3": talib.WMA(c, 3), "DEMA_9": talib.DEMA(c, 9),
        "TEMA_9": talib.TEMA(c, 9), "TRIMA_9": talib.TRIMA(c, 9), "TRIMA_2": talib.TRIMA(c, 2), "RSI_2": talib.RSI(c, 2),
        "MACD_5_35_5": talib.MACD(c, 5, 35, 5), "BBANDS_50_1.5_2.5": talib.BBANDS(c, 50, 1.5, 2.5, 0),
        "STDDEV_7_2": talib.STDDEV(c, 7, 2.0), "ATR_7": talib.ATR(h, l, c, 7), "NATR_30": talib.NATR(h, l, c, 30),
        "ADX_5": talib.ADX(h, l, c, 5), "ADXR_5": talib.ADXR(h, l, c, 5), "PLUS_DI_30": talib.PLUS_DI(h, l, c, 30),
        "MINUS_DI_30": talib.MINUS_DI(h, l, c, 30), "STOCH_14_3_5": talib.STOCH(h, l, c, 14, 3, 0, 5, 0),
        "STOCHF_14_1": talib.STOCHF(h, l, c, 14, 1, 0), "STOCHRSI_7_3_4": talib.STOCHRSI(c, 7, 3, 4, 0),
        "WILLR_7": talib.WILLR(h, l, c, 7), "CCI_7": talib.CCI(h, l, c, 7), "MFI_7": talib.MFI(h, l, c, v, 7),
        "MOM_1": talib.MOM(c, 1), "ROC_3": talib.ROC(c, 3), "CMO_5": talib.CMO(c, 5), "APO_26_12": talib.APO(c, 26, 12, 0),
        "PPO_5_20": talib.PPO(c, 5, 20, 0), "TRIX_5": talib.TRIX(c, 5), "AROON_5": talib.AROON(h, l, 5),
        "AROONOSC_25": talib.AROONOSC(h, l, 25), "ADOSC_10_3": talib.ADOSC(h, l, c, v, 10, 3),
        "ULTOSC_28_7_14": talib.ULTOSC(h, l, c, 28, 7, 14), "KAMA_10": talib.KAMA(c, 10), "T3_3_0.5": talib.T3(c, 3, 0.5),
        "SAR_0.05_0.3": talib.SAR(h, l, 0.05, 0.3), "LINEARREG_5": talib.LINEARREG(c, 5),
        "BETA_10_high_low": talib.BETA(h, l, 10), "CORREL_10_open_close": talib.CORREL(o, c, 10),
        "MA_1_3": talib.MA(c, 1, 3), "MA_5_6": talib.MA(c, 5, 6), "APO_5_20_6": talib.APO(c, 5, 20, 6),
        "PPO_5_20_8": talib.PPO(c, 5, 20, 8), "APO_26_12_4": talib.APO(c, 26, 12, 4),
        "STOCHF_14_3_5": talib.STOCHF(h, l, c, 14, 3, 5), "STOCH_14_5_3_4_6": talib.STOCH(h, l, c, 14, 5, 3, 4, 6),
        "STOCHRSI_7_3_4_8": talib.STOCHRSI(c, 7, 3, 4, 8), "BBANDS_10_2_1_5": talib.BBANDS(c, 10, 2.0, 1.0, 5),
        "BBANDS_7_1_1_6": talib.BBANDS(c, 7, 1.0, 1.0, 6), "MACDEXT_3_8_10_5_1_1": talib.MACDEXT(c, 3, 8, 10, 5, 1, 1),
        "MACDEXT_20_2_5_6_5_3": talib.MACDEXT(c, 20, 2, 5, 6, 5, 3),
    }


BAR_SECONDS = 1800  # data/market holds 30-minute bars stamped with their open time
SYNTHETIC_START = 1_700_000_000 - 1_700_000_000 % 86400 + 3600  # a day's 01:00 UTC: sessions split mid-series


def read(path):
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
        rows = [f.readline().strip().split(",") for _ in range(BARS)]
    cols = {name: np.array([float(r[i]) for r in rows]) for i, name in enumerate(header) if name != "timestamp"}
    return cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], rows[0][0], rows[-1][0]


def close_times(path):
    """Each bar's close time in Unix seconds: its open timestamp plus BAR_SECONDS."""
    with gzip.open(path, "rt") as f:
        f.readline()
        stamps = [f.readline().split(",", 1)[0] for _ in range(BARS)]
    return np.array([int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()) + BAR_SECONDS
                     for t in stamps], dtype=np.int64)


def cell(x):
    x = float(x)
    return None if math.isnan(x) else float(f"{x:.13g}")


def series_of(o, h, l, c, v, indices, which=None, results=None):
    series = {}
    for key, result in (results if results is not None else (which or calls)(o, h, l, c, v)).items():
        outputs = result if isinstance(result, tuple) else (result,)
        for k, out in enumerate(outputs):
            series[key if len(outputs) == 1 else f"{key}.{k}"] = [cell(out[i]) for i in indices]
    return series


def write(path, payload):
    text = json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n"
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.encode())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    version = {"python": talib.__version__, "c": talib.__ta_version__.decode() if isinstance(talib.__ta_version__, bytes) else str(talib.__ta_version__)}
    indices = list(range(FULL)) + list(range(FULL, BARS, STEP))
    reference = {"numpy": np.__version__, "script": "scripts/reference_features.py"}
    for name in FILES:
        path = os.path.join(args.repo, "data", "market", name + ".csv.gz")
        o, h, l, c, v, first, last = read(path)
        write(os.path.join(args.out, name + ".json.gz"), {
            "ta_lib": version, "source": f"data/market/{name}.csv.gz", "bars": BARS, "first": first, "last": last,
            "indices": indices, "series": series_of(o, h, l, c, v, indices),
        })
        results = reference_features.popular(o, h, l, c, v, close_times(path))
        write(os.path.join(args.out, name + ".reference.json.gz"), {
            "reference": reference, "source": f"data/market/{name}.csv.gz", "bars": BARS, "first": first, "last": last,
            "indices": indices, "series": series_of(o, h, l, c, v, indices, results=results),
        })
    o, h, l, c, v, first, last = read(os.path.join(args.repo, "data", "market", "btc_usd_30m.csv.gz"))
    sampled = list(range(150)) + list(range(150, GRID_BARS, 5))
    write(os.path.join(args.out, "grid.json.gz"), {
        "ta_lib": version, "source": "data/market/btc_usd_30m.csv.gz", "bars": GRID_BARS, "first": first,
        "indices": sampled, "series": series_of(o[:GRID_BARS], h[:GRID_BARS], l[:GRID_BARS], c[:GRID_BARS], v[:GRID_BARS], sampled, grid),
    })
    o, h, l, c, v = synthetic()
    every = list(range(SYNTHETIC))
    write(os.path.join(args.out, "synthetic.json.gz"), {
        "ta_lib": version, "source": "synthetic", "bars": SYNTHETIC, "indices": every,
        "input": [[float(x[i]) for x in (o, h, l, c, v)] for i in every],
        "series": series_of(o, h, l, c, v, every),
    })
    times = SYNTHETIC_START + BAR_SECONDS * np.arange(1, SYNTHETIC + 1, dtype=np.int64)
    write(os.path.join(args.out, "synthetic.reference.json.gz"), {
        "reference": reference, "source": "synthetic", "bars": SYNTHETIC, "indices": every,
        "input": [[float(x[i]) for x in (o, h, l, c, v)] for i in every], "close_times": [int(t) for t in times],
        "series": series_of(o, h, l, c, v, every, results=reference_features.popular(o, h, l, c, v, times)),
    })


if __name__ == "__main__":
    main()
