"""EV chargers and battery-swap stations: sessions by hour and weekday, energy per session, growth.

Demand is the uncertain part of a charging asset, so the model keeps it explicit: sessions per unit
per weekday, a weekend factor, an hourly start profile and a yearly growth of sessions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profile import TypicalYear, flat_hourly_share
from .spec import ChargerParams, SiteSpec

REFERENCE_DAYS = pd.date_range("2019-01-01", periods=365, freq="D")
SESSION_ENERGY_CV = 0.3


def commuter_shape() -> tuple[float, ...]:
    """Default share of sessions by start hour: a morning and a larger evening peak, quiet nights."""
    hours = np.arange(24)
    shape = 0.15 + np.exp(-0.5 * ((hours - 8.5) / 1.5) ** 2) + 1.4 * np.exp(-0.5 * ((hours - 18) / 2.0) ** 2)
    return tuple(float(x) for x in shape / shape.sum())


def swap_shape() -> tuple[float, ...]:
    """Swap stations serve fleets around the clock with a daytime plateau."""
    hours = np.arange(24)
    shape = 0.4 + np.exp(-0.5 * ((hours - 13) / 4.0) ** 2)
    return tuple(float(x) for x in shape / shape.sum())


def weekday_factors(params: ChargerParams) -> tuple[float, ...]:
    """Multiplier on the weekday session rate for Monday..Sunday."""
    return (1.0,) * 5 + (params.weekend_factor,) * 2


def sessions_per_day(units: float, params: ChargerParams, weekday: int, years: float = 0.0) -> float:
    """Expected sessions on one day of the week after ``years`` of demand growth."""
    return (
        units
        * params.sessions_per_unit_day
        * weekday_factors(params)[weekday]
        * (1 + params.growth_per_year) ** max(years, 0.0)
    )


def hourly_energy_wh(
    units: float, params: ChargerParams, weekday: int, years: float = 0.0, kind: str = "charger"
) -> pd.Series:
    """Expected energy delivered in each local hour of one day (sessions x energy x hourly shape)."""
    shape = np.asarray(params.hourly_shape or (swap_shape() if kind == "swap" else commuter_shape()))
    shape = shape / shape.sum()
    total = sessions_per_day(units, params, weekday, years) * params.energy_per_session_kwh * 1000.0
    return pd.Series(total * shape, index=pd.Index(range(24), name="hour"), name="energy_wh")


def daily_cv(units: float, params: ChargerParams) -> float:
    """Day-to-day spread: Poisson session counts with variable session energy, plus demand noise."""
    sessions = units * params.sessions_per_unit_day
    poisson = (1 + SESSION_ENERGY_CV**2) / sessions if sessions > 0 else 0.0
    return float(np.sqrt(poisson + params.daily_sd_rel**2))


def charger_typical_year(spec: SiteSpec, utilisation_factor: float = 1.0) -> TypicalYear:
    """A charging site's typical year at first-year demand; growth enters as a positive trend."""
    params = spec.charger
    base = spec.capacity * params.sessions_per_unit_day * params.energy_per_session_kwh * 1000.0 * utilisation_factor
    daily = pd.Series(base, index=REFERENCE_DAYS.date, name="expected_wh")
    shape = params.hourly_shape or (swap_shape() if spec.kind == "swap" else commuter_shape())
    cv = daily_cv(spec.capacity, params)
    return TypicalYear(
        daily_wh=daily,
        raw_daily_wh=daily,
        upper_daily_wh=pd.Series(base * (3.0 + 10 * cv), index=daily.index),
        daily_cv=pd.Series(cv, index=pd.Index(range(1, 13), name="month")),
        kappa=1.0,
        hourly_share=flat_hourly_share(shape),
        trend_per_year=params.growth_per_year,
        weekday_factor=weekday_factors(params),
    )
