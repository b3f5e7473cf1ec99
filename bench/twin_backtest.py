"""Backtest of the digital twin on real measured PV records (default) or on synthetic plants.

Real mode (default): a rolling-origin backtest (rwa_sdk.twin.rolling) on each record: at every
month start after 3 months of history the twin is calibrated on all readings before it and
forecasts the next 12 months; each month with >= 90 % complete days is scored against the
measured energy, together with persistence (window mean daily energy), the same month last year
and PVWatts uncalibrated on the same weather. The default record is PVDAQ system 50 (NREL,
Golden CO, 2011-2013, from the pvanalytics package) with a real NSRDB PSM3 year (1999, from the
pvdeg package) as its weather: see tests/data/README.md. Other records: --spec S --readings R
[--weather W], repeatable as triples.

real_monthly_mape = mean |P50 - measured| / measured over all scored forecast months;
persistence_mape, same_month_mape: the baselines on the months they can forecast;
skill = 1 - real_monthly_mape / persistence_mape (goal >= 0.15);
p90_coverage = share of months whose measured energy reached the P90 (goal 0.85-0.95);
total_12m_error = mean |error| of whole 12-month forecasts (goal <= 5 %).

Synthetic mode (--synthetic [trials_per_file [seed]]): the earlier method, kept for storage and
chargers and for a plant whose truth is known: "actual" years resampled from pvlib's shipped
typical years, hidden true plant parameters, meter faults, calibrate on months 1-6, forecast 7-12.

Run: PYTHONPATH=$PWD python bench/twin_backtest.py [--spec S --readings R [--weather W]] | --synthetic [N [SEED]]
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parents[1] / "tests" / "data"
DEFAULT = (str(DATA / "pvdaq_system50.toml"), str(DATA / "pvdaq_system50_hourly.csv.gz"), None)


def _records(argv: list[str]) -> list[tuple[str, str, str | None]]:
    records, spec, readings, weather = [], None, None, None
    items = iter(argv)
    for item in items:
        if item == "--spec":
            if spec is not None:
                records.append((spec, readings, weather))
                readings = weather = None
            spec = next(items)
        elif item == "--readings":
            readings = next(items)
        elif item == "--weather":
            weather = next(items)
    if spec is not None:
        records.append((spec, readings, weather))
    return records or [DEFAULT]


def real(argv: list[str]) -> None:
    from rwa_sdk.twin import load_spec, read_readings_csv
    from rwa_sdk.twin.rolling import dark_months, rolling_backtest

    print(__doc__.split("Synthetic mode")[0].strip())
    print()
    tables = []
    started = time.perf_counter()
    for spec_path, readings_path, weather in _records(argv):
        spec = load_spec(spec_path)
        if weather:
            spec = dataclasses.replace(spec, pv=dataclasses.replace(spec.pv, weather_file=weather))
        result = rolling_backtest(spec, read_readings_csv(readings_path))
        s = result.summary
        print(f"record={spec.name!r} weather={Path(spec.pv.weather_file).name} origins={s['origins']} "
              f"months={s['forecast_months']}")
        for key, value in s.items():
            print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
        table = result.table.assign(record=spec.name)
        table["ape"] = (table["twin_wh"] - table["actual_wh"]).abs() / table["actual_wh"]
        print(table.groupby("lead")["ape"].mean().round(3).rename("twin MAPE by lead").to_frame().T.to_string())
        covered = table["actual_wh"] >= table["twin_p90_wh"]
        history = pd.cut(table["train_months"], [0, 8, 11, 18, 24, 1000], labels=["<=8", "9-11", "12-18", "19-24", ">24"])
        print(covered.groupby(history, observed=True).mean().round(3).rename("P90 coverage by months of history")
              .to_frame().T.to_string())
        winter = table["month"].map(lambda m: m.month in dark_months(spec.location.latitude))
        print(f"  p90_coverage_winter_half={covered[winter].mean():.3f} p90_coverage_summer_half={covered[~winter].mean():.3f}")
        # Split check: the method's constants are not fit per record, so it should hold in both halves.
        origins = sorted(table["origin"].unique())
        late = table["origin"] >= origins[len(origins) // 2]
        persist_ape = (table["persistence_wh"] - table["actual_wh"]).abs() / table["actual_wh"]
        for label, part in (("first", ~late), ("second", late)):
            print(f"  origins_{label}_half: from={table.loc[part, 'origin'].min()} months={int(part.sum())} "
                  f"twin_mape={table.loc[part, 'ape'].mean():.4f} persistence_mape={persist_ape[part].mean():.4f} "
                  f"skill={1 - table.loc[part, 'ape'].mean() / persist_ape[part].mean():.3f} "
                  f"p90_coverage={covered[part].mean():.3f}")
        per_origin = covered.groupby(table["origin"]).mean()
        print(f"  p90_coverage_per_origin: min={per_origin.min():.3f} median={per_origin.median():.3f} "
              f"max={per_origin.max():.3f}")
        tables.append((table, s))
    elapsed = time.perf_counter() - started
    table = pd.concat([t for t, _ in tables])

    def mape(col: str) -> float:
        rows = table[table[col].notna()]
        return float(((rows[col] - rows["actual_wh"]).abs() / rows["actual_wh"]).mean())

    twin, persistence = mape("twin_wh"), mape("persistence_wh")
    same = table["same_month_last_year_wh"].notna()
    twin_same = float(table.loc[same, "ape"].mean())
    smly = mape("same_month_last_year_wh")
    coverage = float((table["actual_wh"] >= table["twin_p90_wh"]).mean())
    totals = [s["twelve_month_total_error"] for _, s in tables if s["twelve_month_total_error"] is not None]
    total = sum(totals) / len(totals) if totals else float("nan")
    print(f"elapsed_s={elapsed:.1f} records={len(tables)} forecast_months={len(table)}")
    print(f"pvwatts_mape={mape('pvwatts_wh'):.4f} twin_on_same_month_months={twin_same:.4f} "
          f"skill_vs_same_month={1 - twin_same / smly:.3f}")
    print(
        f"real_monthly_mape={twin:.4f} persistence_mape={persistence:.4f} skill={1 - twin / persistence:.3f} "
        f"p90_coverage={coverage:.3f} same_month_mape={smly:.4f} total_12m_error={total:.4f}"
    )


def synthetic(argv: list[str]) -> None:
    from rwa_sdk.twin.backtest import run_backtest
    from rwa_sdk.twin.pv import shipped_weather_files

    trials = int(argv[0]) if argv else 100
    seed = int(argv[1]) if len(argv) > 1 else 2026
    files = shipped_weather_files()
    started = time.perf_counter()
    table = run_backtest(files, trials, seed)
    elapsed = time.perf_counter() - started
    print("Synthetic mode" + __doc__.split("Synthetic mode")[1].split("Run:")[0].rstrip())
    print()
    print(f"files={','.join(files)} trials_per_file={trials} seed={seed}")
    print(f"forecast_months={len(table)} elapsed_s={elapsed:.1f}")
    by_file = table.groupby("file").agg(mape=("ape", "mean"), p90_coverage=("covered", "mean"), sd_rel=("sd_rel", "mean"))
    print(by_file.round(3).to_string())
    z = (table["actual_wh"] / table["energy_p50_wh"] - 1) / table["sd_rel"]
    print(f"standardised error (actual/P50 - 1)/sd: mean={z.mean():+.3f} sd={z.std():.3f} (ideal 0 and 1)")
    print(f"synthetic_monthly_mape={table['ape'].mean():.4f} p90_coverage={table['covered'].mean():.3f}")


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--synthetic":
        synthetic(argv[1:])
    else:
        real(argv)


if __name__ == "__main__":
    main()
