"""Monthly energy forecast with P50 and P90 from the calibrated model.

P50 = spec model on the typical year x performance factor x month-of-year correction x availability,
with the calibrated trend applied after the calibration window. Uncertainty per month combines, as
independent relative variances: weather/demand variability of a whole month (from the typical
year's day-to-day spread, inflated for autocorrelation), the model error measured out of sample,
the month-of-year correction's own error (or the seasonal-shape prior without 12 months of data),
the standard error of the performance factor and of availability, outage-day sampling and the
trend's error growing with time.
P90 is the energy exceeded with 90 % probability: P50 x (1 - q sd), q the 90 % quantile of Student's
t with the band's effective degrees of freedom (Satterthwaite), because the model-error and
month-correction variances are estimated from a few months; q tends to the normal 1.2816 as they grow.

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


def band_quantile(total_var: np.ndarray, estimated: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """90 % quantile of a predictive error whose variance has estimated parts.

    ``estimated`` holds (variance part, its degrees of freedom). The effective degrees of freedom of
    the total are total^2 / sum(part^2 / dof) (Welch-Satterthwaite); known parts add none. With
    nothing estimated it is the normal quantile.
    """
    total = np.asarray(total_var, dtype=float)
    spread = sum((np.asarray(part, dtype=float) ** 2 / dof for part, dof in estimated if np.isfinite(dof) and dof > 0),
                 np.zeros_like(total))
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(spread > 0, total**2 / spread, np.inf)
    return t90(dof)


def t90(dof: np.ndarray | float) -> np.ndarray:
    """90 % quantile of Student's t (Cornish-Fisher series, Abramowitz & Stegun 26.7.5; dof >= 3).

    Within 0.001 of the exact quantile from 3 degrees of freedom; fewer are taken as 3.
    """
    nu = np.maximum(np.asarray(dof, dtype=float), 3.0)
    z = Z90
    with np.errstate(divide="ignore"):
        inv = np.where(np.isfinite(nu), 1.0 / nu, 0.0)
    return (z + (z**3 + z) / 4 * inv + (5 * z**5 + 16 * z**3 + 3 * z) / 96 * inv**2
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384 * inv**3)


@dataclass(frozen=True, eq=False)
class Forecast:
    """Monthly forecast frame (index: month Period) and horizon totals.

    Columns: days, modelled_wh (spec model, no calibration), model_p50_wh (calibrated model before
    any combination with persistence), energy_p50_wh, energy_p90_wh,
    energy_p10_wh, sd_rel, weather_sd_rel, z90 (the quantile P90 = P50 (1 - z90 sd) uses). Totals
    treat weather and residual as independent between months and calibration errors as common to
    all months.
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
    estimated = [(k2 * calibration.residual_sd_rel**2, calibration.residual_dof)]
    if calibration.seasonal_estimated:
        estimated.append((k2 * season_sd**2, calibration.month_correction_dof))
    frame["z90"] = band_quantile(frame["sd_rel"].to_numpy() ** 2, estimated)
    frame["energy_p90_wh"] = (frame["energy_p50_wh"] * (1 - frame["z90"] * frame["sd_rel"])).clip(lower=0)
    frame["energy_p10_wh"] = frame["energy_p50_wh"] * (1 + frame["z90"] * frame["sd_rel"])
    total = float(frame["energy_p50_wh"].sum())
    p50 = frame["energy_p50_wh"].to_numpy()
    independent = np.sum((p50**2) * monthly_var)
    correlated = (np.sum(p50 * np.sqrt(common_var + trend_var))) ** 2
    total_sd = float(np.sqrt(independent + correlated) / total) if total > 0 else 0.0
    # The residual part of the total is the sum over months; the month correction's is common to them.
    parts = []
    if total > 0:
        parts.append((np.sum(p50**2 * k2) * calibration.residual_sd_rel**2 / total**2, calibration.residual_dof))
        if calibration.seasonal_estimated:
            parts.append((np.sum(p50**2 * k2 * season_sd**2) / total**2, calibration.month_correction_dof))
    z_total = float(band_quantile(np.array([total_sd**2]), [(np.array([v]), d) for v, d in parts])[0])
    return Forecast(frame.drop(columns="expected_wh"), total, max(total * (1 - z_total * total_sd), 0.0), total_sd)


def p90_coverage(actual_wh: pd.Series, forecast: Forecast) -> float:
    """Share of months whose actual energy reached the forecast P90 (ideal: 0.90)."""
    joined = forecast.monthly.join(actual_wh.rename("actual_wh"), how="inner")
    return float((joined["actual_wh"] >= joined["energy_p90_wh"]).mean())


def monthly_ape(actual_wh: pd.Series, forecast: Forecast) -> pd.Series:
    """Absolute percentage error of P50 per month."""
    joined = forecast.monthly.join(actual_wh.rename("actual_wh"), how="inner")
    return (joined["energy_p50_wh"] - joined["actual_wh"]).abs() / joined["actual_wh"]
