"""Monthly energy forecast with P50 and P90 from the calibrated model.

P50 = spec model on the typical year x performance factor x month-of-year correction x availability,
with the calibrated trend applied after the calibration window. Uncertainty per month combines, as
independent relative variances: weather/demand variability of a whole month (from the typical
year's day-to-day spread, inflated for autocorrelation), the model error measured out of sample,
the month-of-year correction's own error (or the seasonal-shape prior without 12 months of data),
the standard error of the performance factor and of availability, outage-day sampling and the
trend's error growing with time.
P90 is the energy exceeded with 90 % probability under a normal model: P50 x (1 - 1.2816 sd).

With ``model_weight`` < 1, P50 is a forecast combination: the model's P50 x w + persistence (the
calibration window's mean daily energy x days) x (1 - w), w learnt from both methods' errors on
months already scored (see :func:`rolling.combination_weight`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import Calibration
from .profile import DAYS_PER_YEAR, TypicalYear

Z90 = 1.2815515655446004


@dataclass(frozen=True, eq=False)
class Forecast:
    """Monthly forecast frame (index: month Period) and horizon totals.

    Columns: days, modelled_wh (spec model, no calibration), model_p50_wh (calibrated model before
    any combination with persistence), energy_p50_wh, energy_p90_wh,
    energy_p10_wh, sd_rel, weather_sd_rel. Totals treat weather and residual as independent between
    months and calibration errors as common to all months.
    """

    monthly: pd.DataFrame
    total_p50_wh: float
    total_p90_wh: float
    total_sd_rel: float

    @property
    def horizon_months(self) -> int:
        return len(self.monthly)


def next_month(after: dt.date) -> pd.Period:
    """The first whole calendar month after a date (forecasts start on a month boundary)."""
    return pd.Period(after, freq="M") + 1


def _daily_expectation(typical: TypicalYear, calibration: Calibration, start: pd.Period, months: int) -> pd.Series:
    first = start.start_time
    dates = pd.date_range(first, (start + months - 1).end_time.normalize(), freq="D")
    base = typical.expected_daily_wh(dates, calibration.commissioned)
    years_after = (dates - pd.Timestamp(calibration.reference_date)).days.to_numpy() / DAYS_PER_YEAR
    correction = ((1 + calibration.trend_per_year) / (1 + typical.trend_per_year)) ** np.clip(years_after, 0, None)
    return base * correction


def persistence_daily_wh(calibration: Calibration) -> float:
    """The calibration window's mean measured energy per complete day (the persistence forecast)."""
    days = calibration.daily
    complete = days[days["status"] != "missing"]
    return float(complete["measured_wh"].mean()) if len(complete) else float("nan")


def forecast_energy(
    typical: TypicalYear,
    calibration: Calibration,
    start: pd.Period,
    horizon_months: int = 12,
    band_scale: float | tuple[float, ...] = 1.0,
    model_weight: float = 1.0,
) -> Forecast:
    """Forecast ``horizon_months`` calendar months of energy from ``start`` (a monthly Period).

    ``band_scale`` widens every sd by the factor a backtest on the asset's own past forecasts found
    necessary for P90 to hold 90 % of months (see :func:`rolling.band_scale`): one factor, or 12
    (by calendar month, January first).
    """
    daily = _daily_expectation(typical, calibration, start, horizon_months)
    months = pd.PeriodIndex(daily.index, freq="M")
    spec_model = typical.expected_daily_wh(pd.DatetimeIndex(daily.index), calibration.commissioned)
    frame = pd.DataFrame(
        {
            "days": daily.groupby(months).size(),
            "modelled_wh": spec_model.groupby(months).sum(),
            "expected_wh": daily.groupby(months).sum(),
        }
    )
    frame.index.name = "month"
    a = calibration.availability
    scales = np.broadcast_to(np.asarray(band_scale, dtype=float), (12,)) if np.ndim(band_scale) else None
    k2 = (np.array([scales[m.month - 1] for m in frame.index]) if scales is not None else np.full(len(frame), band_scale)) ** 2
    season = np.array([calibration.month_factor(m.month) for m in frame.index])
    season_sd = np.array([calibration.month_correction_sd[m.month - 1] for m in frame.index])
    frame["season_factor"] = season
    frame["model_p50_wh"] = frame["expected_wh"] * season * calibration.performance_factor * a
    frame["energy_p50_wh"] = frame["model_p50_wh"]
    if model_weight < 1.0:
        persistence = persistence_daily_wh(calibration) * frame["days"]
        if np.isfinite(persistence).all():
            frame["energy_p50_wh"] = model_weight * frame["model_p50_wh"] + (1 - model_weight) * persistence
    weather = np.array([typical.monthly_sd_rel(m.month, n) for m, n in zip(frame.index, frame["days"], strict=True)])
    outage = np.sqrt((1 - a) / (a * frame["days"].to_numpy()))
    years_after = (
        np.array([(m.start_time - pd.Timestamp(calibration.reference_date)).days for m in frame.index]) / DAYS_PER_YEAR
    )
    trend_var = k2 * (calibration.trend_se * np.clip(years_after, 0, None)) ** 2
    common_var = k2 * (
        (calibration.performance_factor_se / calibration.performance_factor) ** 2 + (calibration.availability_se / a) ** 2
    )
    monthly_var = (weather**2 + calibration.residual_sd_rel**2 + outage**2 + season_sd**2) * k2
    frame["weather_sd_rel"] = weather
    frame["sd_rel"] = np.sqrt(monthly_var + common_var + trend_var)
    frame["energy_p90_wh"] = (frame["energy_p50_wh"] * (1 - Z90 * frame["sd_rel"])).clip(lower=0)
    frame["energy_p10_wh"] = frame["energy_p50_wh"] * (1 + Z90 * frame["sd_rel"])
    total = float(frame["energy_p50_wh"].sum())
    p50 = frame["energy_p50_wh"].to_numpy()
    independent = np.sum((p50**2) * monthly_var)
    correlated = (np.sum(p50 * np.sqrt(common_var + trend_var))) ** 2
    total_sd = float(np.sqrt(independent + correlated) / total) if total > 0 else 0.0
    return Forecast(frame.drop(columns="expected_wh"), total, max(total * (1 - Z90 * total_sd), 0.0), total_sd)


def p90_coverage(actual_wh: pd.Series, forecast: Forecast) -> float:
    """Share of months whose actual energy reached the forecast P90 (ideal: 0.90)."""
    joined = forecast.monthly.join(actual_wh.rename("actual_wh"), how="inner")
    return float((joined["actual_wh"] >= joined["energy_p90_wh"]).mean())


def monthly_ape(actual_wh: pd.Series, forecast: Forecast) -> pd.Series:
    """Absolute percentage error of P50 per month."""
    joined = forecast.monthly.join(actual_wh.rename("actual_wh"), how="inner")
    return (joined["energy_p50_wh"] - joined["actual_wh"]).abs() / joined["actual_wh"]
