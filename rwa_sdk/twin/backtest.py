"""Backtest of the twin on synthetic plants whose true parameters differ from their spec.

Method (one trial): take a shipped typical-year weather file; draw a plausible "actual" year by a
stationary block bootstrap of its days within each month; draw a hidden true plant (losses, tilt,
azimuth, temperature coefficient, degradation, outage rate) different from the spec; simulate what
it delivers on the actual year and what a faulty meter reports (noise, missing and partial days,
mis-scaled days). Calibrate the *spec* model on readings of months 1-6, forecast months 7-12 and
compare with what the plant really delivered. Many trials over all shipped files make the P90
coverage (share of months with actual >= P90) a meaningful frequency.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .calibration import calibrate
from .forecast import forecast_energy
from .pv import load_weather, pv_power
from .simulate import MeterFaults, bootstrap_days, delivered_energy, meter_readings
from .site import typical_year
from .spec import Finance, Location, PvParams, SiteSpec, Tariff


@dataclass(frozen=True)
class TruthRanges:
    """Ranges of the hidden true parameters (uniform draws) around the spec."""

    losses_pct: tuple[float, float] = (8.0, 24.0)
    tilt_offset_deg: tuple[float, float] = (-8.0, 8.0)
    azimuth_offset_deg: tuple[float, float] = (-15.0, 15.0)
    gamma_pdc_per_c: tuple[float, float] = (-0.0045, -0.003)
    degradation_per_year: tuple[float, float] = (0.0, 0.02)
    outage_day_share: tuple[float, float] = (0.0, 0.04)


def backtest_spec(weather_file: str, location: Location) -> SiteSpec:
    """The spec an issuer would publish for a 100 kW array at the weather file's site."""
    return SiteSpec(
        name=f"backtest-{weather_file}",
        kind="pv",
        capacity=100.0,
        location=location,
        tariff=Tariff(0.12),
        finance=Finance(opex_per_year=1500.0, token_supply=100_000, token_price=1.0),
        degradation_per_year=0.005,
        pv=PvParams(tilt_deg=25.0, azimuth_deg=180.0, losses_pct=14.0, weather_file=weather_file),
    )


def _draw(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def run_trial(
    spec: SiteSpec,
    weather: pd.DataFrame,
    typical,
    rng: np.random.Generator,
    ranges: TruthRanges = TruthRanges(),
    faults: MeterFaults | None = None,
    calibration_months: int = 6,
    horizon_months: int = 6,
) -> pd.DataFrame:
    """One synthetic plant: returns per forecast month actual_wh, energy_p50_wh, energy_p90_wh, sd_rel."""
    true_pv = replace(
        spec.pv,
        losses_pct=_draw(rng, ranges.losses_pct),
        tilt_deg=spec.pv.tilt_deg + _draw(rng, ranges.tilt_offset_deg),
        azimuth_deg=spec.pv.azimuth_deg + _draw(rng, ranges.azimuth_offset_deg),
        gamma_pdc_per_c=_draw(rng, ranges.gamma_pdc_per_c),
    )
    actual_weather = bootstrap_days(weather, rng)
    location = replace(spec.location, tz=str(weather.index.tz))
    power = pv_power(actual_weather, location, spec.capacity, true_pv)["ac_power_w"]
    delivered = delivered_energy(
        power, rng, _draw(rng, ranges.degradation_per_year), _draw(rng, ranges.outage_day_share)
    )
    readings = meter_readings(delivered, rng, faults)
    first = pd.Period(delivered.index[0], freq="M")
    cut = (first + calibration_months).start_time.tz_localize(delivered.index.tz)
    calibration = calibrate(spec, typical, readings[readings.index < cut])
    forecast = forecast_energy(typical, calibration, first + calibration_months, horizon_months)
    actual = delivered.groupby(pd.PeriodIndex(delivered.index.tz_localize(None), freq="M")).sum()
    out = forecast.monthly[["energy_p50_wh", "energy_p90_wh", "sd_rel"]].join(actual.rename("actual_wh"), how="inner")
    out["performance_factor"] = calibration.performance_factor
    out["n_days_outlier"] = calibration.n_days_outlier
    return out


def run_backtest(weather_files: tuple[str, ...], trials_per_file: int, seed: int = 2026) -> pd.DataFrame:
    """All trials over all files: one row per (file, trial, forecast month) with errors."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in weather_files:
        weather, location = load_weather(name)
        spec = backtest_spec(name, location)
        typical = typical_year(spec, weather=weather)
        for trial in range(trials_per_file):
            result = run_trial(spec, weather, typical, rng)
            result["file"] = name
            result["trial"] = trial
            rows.append(result)
    table = pd.concat(rows).reset_index()
    table["ape"] = (table["energy_p50_wh"] - table["actual_wh"]).abs() / table["actual_wh"]
    table["covered"] = table["actual_wh"] >= table["energy_p90_wh"]
    return table
