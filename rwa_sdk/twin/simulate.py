"""Synthetic weather years and meter readings, for tests, backtests and demos.

A typical-year file holds one year, so other plausible years are made by a stationary block
bootstrap of its days within each calendar month (Politis & Romano 1994): runs of consecutive days
of random (geometric) length keep the persistence of weather spells while reshuffling the month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .readings import energy_series_frame


def bootstrap_days(
    hourly: pd.DataFrame | pd.Series, rng: np.random.Generator, mean_block_days: float = 3.0
) -> pd.DataFrame | pd.Series:
    """A resampled year: each day replaced by a day of the same month, in runs of ~mean_block_days."""
    n_days = len(hourly) // 24
    days = pd.DatetimeIndex(hourly.index[::24])
    month = days.month.to_numpy()
    chosen = np.empty(n_days, dtype=int)
    for m in np.unique(month):
        pool = np.flatnonzero(month == m)
        current = rng.integers(len(pool))
        for k, day in enumerate(pool):
            if k > 0 and rng.random() >= 1.0 / mean_block_days:
                current = (current + 1) % len(pool)
            else:
                current = rng.integers(len(pool))
            chosen[day] = pool[current]
    rows = (chosen[:, None] * 24 + np.arange(24)[None, :]).ravel()
    values = hourly.iloc[rows]
    values.index = hourly.index[: n_days * 24]
    return values


def delivered_energy(
    energy_wh: pd.Series, rng: np.random.Generator, degradation_per_year: float = 0.0, outage_day_share: float = 0.0
) -> pd.Series:
    """What a plant really delivers: the model's hourly energy, degraded over time, zero on outage days."""
    index = pd.DatetimeIndex(energy_wh.index)
    years = (index - index[0]).total_seconds().to_numpy() / (365.25 * 86400)
    day = np.asarray((index - index[0]).days)
    outage = rng.random(int(day.max()) + 1) < outage_day_share
    values = energy_wh.to_numpy(dtype=float) * (1 - degradation_per_year) ** years
    values[outage[day]] = 0.0
    return pd.Series(values, index=index, name="energy_wh")


@dataclass(frozen=True)
class MeterFaults:
    """What goes wrong between the plant and the oracle: noise, lost days, gaps and mis-scaled days."""

    noise_sd: float = 0.02
    missing_day_share: float = 0.03
    partial_day_share: float = 0.02
    outlier_days: int = 2
    outlier_factor: float = 8.0


def meter_readings(
    energy_wh: pd.Series, rng: np.random.Generator, faults: MeterFaults | None = None, device: str = "meter-1"
) -> pd.DataFrame:
    """Hourly readings of a delivered-energy series as a faulty meter would report them.

    Missing days lose all readings; partial days lose a random 4-hour block; outlier days are
    multiplied by ``outlier_factor``; every reading carries Gaussian relative noise.
    """
    faults = faults or MeterFaults()
    index = pd.DatetimeIndex(energy_wh.index)
    values = energy_wh.to_numpy(dtype=float) * np.clip(rng.normal(1.0, faults.noise_sd, len(energy_wh)), 0, None)
    day = np.asarray((index - index[0]).days)
    draws = rng.random(int(day.max()) + 1)
    missing = draws < faults.missing_day_share
    partial = draws >= 1 - faults.partial_day_share
    hour = index.hour.to_numpy()
    gap_start = rng.integers(0, 20, len(draws))
    keep = ~missing[day] & ~(partial[day] & (hour >= gap_start[day]) & (hour < gap_start[day] + 4))
    daily_total = pd.Series(values).groupby(day).sum().to_numpy()
    normal_days = np.flatnonzero(~(missing | partial) & (daily_total > 0))
    for d in rng.choice(normal_days, size=min(faults.outlier_days, len(normal_days)), replace=False):
        values[day == d] *= faults.outlier_factor
    series = pd.Series(values, index=index)[keep]
    return energy_series_frame(series, "1h", device)
