"""Backtest of the digital twin on pvlib's shipped typical-year weather files.

For each file and trial: an "actual" weather year is drawn by a stationary block bootstrap of the
file's days within each month (mean run 3 days); a hidden true plant differs from the published
spec (losses 8-24 % vs 14 %, tilt ±8°, azimuth ±15°, temperature coefficient, degradation 0-2 %/yr,
outage days 0-4 %); its meter adds 2 % noise, 3 % missing days, 2 % partial days and 2 mis-scaled
days. The spec model is calibrated on months 1-6 and forecasts months 7-12; the forecast is
compared with the energy the plant truly delivered.

monthly_mape = mean |P50 - actual| / actual over all forecast months;
p90_coverage = share of forecast months whose actual energy reached the P90 (goal 0.85-0.95).

Run: PYTHONPATH=$PWD python bench/twin_backtest.py [trials_per_file [seed]]
"""

from __future__ import annotations

import sys
import time

from rwa_sdk.twin.backtest import run_backtest
from rwa_sdk.twin.pv import shipped_weather_files


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
    files = shipped_weather_files()
    started = time.perf_counter()
    table = run_backtest(files, trials, seed)
    elapsed = time.perf_counter() - started
    print(__doc__.split("Run:")[0].strip())
    print()
    print(f"files={','.join(files)} trials_per_file={trials} seed={seed}")
    print(f"forecast_months={len(table)} elapsed_s={elapsed:.1f}")
    by_file = table.groupby("file").agg(
        mape=("ape", "mean"), p90_coverage=("covered", "mean"), sd_rel=("sd_rel", "mean")
    )
    print(by_file.round(3).to_string())
    by_month = table.groupby(table["month"].astype(str)).agg(mape=("ape", "mean"), p90_coverage=("covered", "mean"))
    print(by_month.round(3).to_string())
    z = (table["actual_wh"] / table["energy_p50_wh"] - 1) / table["sd_rel"]
    print(f"standardised error (actual/P50 - 1)/sd: mean={z.mean():+.3f} sd={z.std():.3f} (ideal 0 and 1)")
    print(f"monthly_mape={table['ape'].mean():.4f} p90_coverage={table['covered'].mean():.3f}")


if __name__ == "__main__":
    main()
