"""Battery storage run for daily arbitrage: energy discharged per day, capacity fade, round-trip losses.

The metered energy of a battery asset is the energy it discharges (sold); charging energy is bought
at the charge price, so the net value of a discharged kWh is ``sell - buy / round_trip_efficiency``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profile import TypicalYear, flat_hourly_share
from .spec import SiteSpec, StorageParams, Tariff

REFERENCE_DAYS = pd.date_range("2019-01-01", periods=365, freq="D")


def usable_energy_wh(capacity_kwh: float, params: StorageParams) -> float:
    """Energy one full cycle delivers at beginning of life (capacity x depth of discharge)."""
    return capacity_kwh * 1000.0 * params.depth_of_discharge


def fade_per_year(params: StorageParams) -> float:
    """Yearly capacity loss: calendar ageing plus cycle ageing at the planned cycles per day."""
    return params.calendar_fade_per_year + params.fade_per_cycle * params.cycles_per_day * 365.0


def state_of_health(years: np.ndarray | float, params: StorageParams) -> np.ndarray:
    """Remaining capacity share after ``years`` of planned operation (compounded fade)."""
    return (1 - fade_per_year(params)) ** np.clip(np.asarray(years, dtype=float), 0, None)


def daily_discharge_wh(capacity_kwh: float, params: StorageParams, years: np.ndarray | float = 0.0) -> np.ndarray:
    """Expected energy discharged per day after ``years`` of operation."""
    return usable_energy_wh(capacity_kwh, params) * params.cycles_per_day * state_of_health(years, params)


def charge_energy_wh(discharge_wh: float | np.ndarray, params: StorageParams) -> float | np.ndarray:
    """Energy bought from the grid to deliver ``discharge_wh`` (round-trip losses)."""
    return np.asarray(discharge_wh) / params.round_trip_efficiency


def margin_per_kwh(tariff: Tariff, params: StorageParams) -> float:
    """Net value of one discharged kWh: price at the discharge hour minus the grossed-up charge cost."""
    prices = tariff.price_by_hour()
    buy = params.charge_price_per_kwh if not tariff.tou else prices[params.charge_hour]
    return prices[params.discharge_hour] - buy / params.round_trip_efficiency


def storage_typical_year(spec: SiteSpec, cycles_factor: float = 1.0) -> TypicalYear:
    """A battery's typical year: the same planned throughput every day, spread by cycle variability."""
    params = spec.storage
    per_day = daily_discharge_wh(spec.capacity, params) * cycles_factor
    daily = pd.Series(per_day, index=REFERENCE_DAYS.date, name="expected_wh")
    cv = params.cycles_per_day_sd / params.cycles_per_day if params.cycles_per_day else 0.0
    shape = np.zeros(24)
    shape[params.discharge_hour] = 1.0
    return TypicalYear(
        daily_wh=daily,
        raw_daily_wh=daily,
        upper_daily_wh=pd.Series(
            usable_energy_wh(spec.capacity, params) * max(2.0, 2 * params.cycles_per_day * cycles_factor),
            index=daily.index,
        ),
        daily_cv=pd.Series(cv, index=pd.Index(range(1, 13), name="month")),
        kappa=1.0,
        hourly_share=flat_hourly_share(tuple(shape)),
        trend_per_year=-fade_per_year(params),
    )
