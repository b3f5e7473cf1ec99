"""Seasonal-shape error of a spec model against a misspecified plant, at pvlib's shipped sites.

Derives ``calibration.SHAPE_SD_PRIOR`` from data other than any real record the twin is checked
on: at each of pvlib's three shipped typical years (Miami, Sand Point AK, Greensboro NC) an issuer
publishes a spec (tilt drawn 10-45 deg, facing the equator, 14 % losses) while the plant really
differs (tilt +-15 deg, azimuth +-30 deg, losses 8-24 %, temperature coefficient -0.30..-0.45 %/C).
Both run on the same weather, so weather cancels and what is left is the month-of-year shape the
spec gets wrong: log(true month / spec month), less its energy-weighted annual level (the
performance factor absorbs the level). The prior is the rms of those monthly log ratios over
months, plants and sites.

Run: PYTHONPATH=$PWD python bench/twin_shape_prior.py [plants_per_site [seed]]
Last line: shape_sd_prior=... (rms over all sites) per_site=...
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pandas as pd


def shape_errors(plants_per_site: int, seed: int) -> pd.DataFrame:
    """One row per site, plant and calendar month: the log shape error of the spec model."""
    from rwa_sdk.twin.backtest import backtest_spec
    from rwa_sdk.twin.pv import load_weather, pv_power, shipped_weather_files

    rng = np.random.default_rng(seed)
    rows = []
    for name in shipped_weather_files():
        weather, site = load_weather(name)
        spec = backtest_spec(name, site)
        location = replace(spec.location, tz=str(weather.index.tz))
        months = weather.index.month
        equator = 180.0 if site.latitude >= 0 else 0.0
        for plant in range(plants_per_site):
            published = replace(spec.pv, tilt_deg=float(rng.uniform(10, 45)), azimuth_deg=equator, losses_pct=14.0)
            true = replace(
                published,
                tilt_deg=max(published.tilt_deg + float(rng.uniform(-15, 15)), 0.0),
                azimuth_deg=published.azimuth_deg + float(rng.uniform(-30, 30)),
                losses_pct=float(rng.uniform(8, 24)),
                gamma_pdc_per_c=float(rng.uniform(-0.0045, -0.003)),
            )
            model = pv_power(weather, location, spec.capacity, published)["ac_power_w"].groupby(months).sum()
            truth = pv_power(weather, location, spec.capacity, true)["ac_power_w"].groupby(months).sum()
            log_ratio = np.log(truth / model)
            level = np.log(truth.sum() / model.sum())
            for month, value in (log_ratio - level).items():
                rows.append({"site": name, "plant": plant, "month": int(month), "shape_error": float(value)})
    return pd.DataFrame(rows)


def main() -> None:
    plants = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
    table = shape_errors(plants, seed)
    rms = table.groupby("site")["shape_error"].apply(lambda e: float(np.sqrt(np.mean(e**2))))
    by_month = table.groupby("month")["shape_error"].apply(lambda e: float(np.sqrt(np.mean(e**2))))
    print(__doc__.split("Run:")[0].strip())
    print()
    print(f"plants_per_site={plants} seed={seed}")
    print(by_month.round(4).rename("rms shape error by month").to_frame().T.to_string())
    total = float(np.sqrt(np.mean(table["shape_error"] ** 2)))
    print(f"shape_sd_prior={total:.4f} per_site=" + ",".join(f"{k}:{v:.4f}" for k, v in rms.items()))


if __name__ == "__main__":
    main()
