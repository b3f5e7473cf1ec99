"""Calibration: what the asset actually achieved against its model, from anchored readings.

Readings come from the real weather/demand of their days while the model runs on a typical year,
so single days cannot be compared one to one. The comparison is therefore on sums: the ratio of
measured to expected energy over all days the asset was up (a performance factor), the share of
days it was up (availability), and, once a year of data exists, the trend of monthly ratios
(degradation, fade or demand growth). Uncertainties say how much of the ratio the weather of the
calibration window alone could explain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .profile import DAYS_PER_YEAR, TypicalYear
from .readings import as_readings_frame
from .spec import SiteSpec

COMPLETE_COVERAGE = 0.95
DOWN_SHARE = 0.02
MIN_MONTH_DAYS = 10
TREND_MIN_DAYS = 365


class CalibrationError(ValueError):
    """There are too few usable days in the readings to calibrate the model."""

    def __init__(self, usable_days: int, needed: int) -> None:
        super().__init__(f"only {usable_days} complete, plausible days in the readings; need at least {needed}")
        self.usable_days = usable_days
        self.needed = needed


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the readings say about the asset, relative to its spec model.

    ``performance_factor`` multiplies the spec model on days the asset was up; ``availability`` is
    the share of complete days it was up; ``trend_per_year`` is the yearly relative change the
    forecast applies after ``reference_date`` (estimated when ``trend_estimated``, else the spec's).
    ``residual_sd_rel`` is the month-to-month scatter of the ratio beyond what weather explains.
    """

    performance_factor: float
    performance_factor_se: float
    availability: float
    availability_se: float
    residual_sd_rel: float
    trend_per_year: float
    trend_estimated: bool
    trend_se: float
    reference_date: dt.date
    commissioned: dt.date
    performance_ratio: float | None
    n_days_complete: int
    n_days_missing: int
    n_days_outlier: int
    n_days_down: int
    daily: pd.DataFrame
    monthly: pd.DataFrame

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        return self.daily.index[0], self.daily.index[-1]


def daily_readings(readings: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Measured energy and time coverage per local day (coverage averaged over the devices seen)."""
    local = readings.index.tz_convert(tz)
    seconds = (readings["period_end"] - readings.index).dt.total_seconds().to_numpy()
    frame = pd.DataFrame(
        {
            "date": local.date,
            "device": readings["device"].to_numpy(),
            "energy_wh": readings["energy_wh"].to_numpy(),
            "seconds": seconds,
        }
    )
    n_devices = max(frame["device"].nunique(), 1)
    per_day = frame.groupby("date").agg(measured_wh=("energy_wh", "sum"), seconds=("seconds", "sum"))
    all_days = pd.date_range(min(per_day.index), max(per_day.index), freq="D").date
    per_day = per_day.reindex(all_days)
    per_day.index.name = "date"
    per_day["coverage"] = (per_day["seconds"].fillna(0) / (86400.0 * n_devices)).clip(upper=1.0)
    return per_day.drop(columns="seconds")


def classify_days(daily: pd.DataFrame, typical: TypicalYear, commissioned: dt.date) -> pd.DataFrame:
    """Label each day missing / outlier / down / up and attach the spec model's expectation."""
    dates = pd.DatetimeIndex(pd.to_datetime(daily.index))
    expected = typical.expected_daily_wh(dates, commissioned).to_numpy()
    years = np.clip((dates - pd.Timestamp(commissioned)).days.to_numpy() / DAYS_PER_YEAR, 0, None)
    upper = (
        typical.upper_bound_wh(dates).to_numpy()
        * np.asarray(typical.weekday_factor)[dates.day_of_week]
        * (1 + max(typical.trend_per_year, 0.0)) ** years
    )
    measured = daily["measured_wh"].to_numpy()
    status = np.where(
        daily["coverage"].to_numpy() < COMPLETE_COVERAGE,
        "missing",
        np.where(measured > upper, "outlier", np.where(measured < DOWN_SHARE * expected, "down", "up")),
    )
    out = daily.copy()
    out["expected_wh"] = expected
    out["status"] = status
    return out


def _monthly(days: pd.DataFrame) -> pd.DataFrame:
    up = days[days["status"] == "up"]
    months = pd.PeriodIndex(pd.to_datetime(up.index), freq="M")
    table = up.groupby(months).agg(
        measured_wh=("measured_wh", "sum"), expected_wh=("expected_wh", "sum"), n_days=("measured_wh", "size")
    )
    table.index.name = "month"
    table["ratio"] = table["measured_wh"] / table["expected_wh"]
    return table


def _weather_var_rel(monthly: pd.DataFrame, typical: TypicalYear) -> float:
    """Relative variance of the window's expected energy that weather/demand alone would cause."""
    parts = [
        (row.expected_wh * typical.monthly_sd_rel(month.month, row.n_days)) ** 2 for month, row in monthly.iterrows()
    ]
    return float(np.sum(parts) / monthly["expected_wh"].sum() ** 2)


def _residual_sd(monthly: pd.DataFrame, typical: TypicalYear, factor: float, trend_slope: float = 0.0) -> float:
    """Month scatter of the ratio beyond the weather model (method of moments, floored at zero)."""
    full = monthly[monthly["n_days"] >= MIN_MONTH_DAYS]
    if len(full) < 3:
        return 0.0
    t = _years(full.index, full.index[0])
    z = full["ratio"].to_numpy() / (factor * np.exp(trend_slope * (t - t.mean()))) - 1
    weather = np.array(
        [typical.monthly_sd_rel(m.month, n) ** 2 for m, n in zip(full.index, full["n_days"], strict=True)]
    )
    dof = len(full) - (2 if trend_slope else 1)
    excess = (np.sum(z**2) - np.sum(weather) * dof / len(full)) / max(dof, 1)
    return float(np.sqrt(max(excess, 0.0)))


def _years(months: pd.PeriodIndex, origin: pd.Period) -> np.ndarray:
    return np.asarray([(m - origin).n for m in months], dtype=float) / 12.0


def _trend(monthly: pd.DataFrame, spec_trend: float) -> tuple[float, float, float] | None:
    """Theil-Sen slope of log monthly ratios; returns (trend per year, its se, log slope) or None."""
    full = monthly[monthly["n_days"] >= MIN_MONTH_DAYS]
    if len(full) < 12:
        return None
    t = _years(full.index, full.index[0])
    slope, _, low, high = stats.theilslopes(np.log(full["ratio"].to_numpy()), t, alpha=0.90)
    trend = (1 + spec_trend) * np.exp(slope) - 1
    se = (high - low) / (2 * 1.645)
    return float(trend), float(se), float(slope)


def calibrate(
    spec: SiteSpec, typical: TypicalYear, readings: pd.DataFrame | pd.Series, min_days: int = 14
) -> Calibration:
    """Estimate performance factor, availability and (with a year of data) the trend from readings.

    ``readings`` is a frame from :func:`readings_frame` or a tz-aware series of energy per period.
    """
    frame = as_readings_frame(readings)
    if frame.empty:
        raise CalibrationError(0, min_days)
    daily = daily_readings(frame, spec.location.tz)
    commissioned = spec.commissioned or daily.index[0]
    days = classify_days(daily, typical, commissioned)
    counts = days["status"].value_counts()
    n_up, n_down = int(counts.get("up", 0)), int(counts.get("down", 0))
    if n_up < min_days:
        raise CalibrationError(n_up, min_days)
    up = days[days["status"] == "up"]
    factor = float(up["measured_wh"].sum() / up["expected_wh"].sum())
    availability = n_up / (n_up + n_down)
    p = (n_down + 0.5) / (n_up + n_down + 1)
    availability_se = float(np.sqrt(p * (1 - p) / (n_up + n_down)))
    monthly = _monthly(days)

    weights = up["expected_wh"].to_numpy()
    ordinal = np.array([d.toordinal() for d in up.index], dtype=float)
    reference = dt.date.fromordinal(int(round(np.average(ordinal, weights=weights))))

    span_days = (up.index[-1] - up.index[0]).days
    trend = _trend(monthly, typical.trend_per_year) if span_days >= TREND_MIN_DAYS else None
    slope = trend[2] if trend else 0.0
    residual = _residual_sd(monthly, typical, factor, slope)
    factor_se = factor * float(np.sqrt(_weather_var_rel(monthly, typical) + residual**2 / max(len(monthly), 1)))

    pr = None
    if typical.reference_daily_wh is not None:
        ref = typical.reference_daily_wh.to_numpy()[typical.day_of_year(pd.DatetimeIndex(pd.to_datetime(up.index))) - 1]
        pr = float(up["measured_wh"].sum() / ref.sum())
    return Calibration(
        performance_factor=factor,
        performance_factor_se=factor_se,
        availability=float(availability),
        availability_se=availability_se,
        residual_sd_rel=residual,
        trend_per_year=trend[0] if trend else typical.trend_per_year,
        trend_estimated=trend is not None,
        trend_se=trend[1] if trend else 0.0,
        reference_date=reference,
        commissioned=commissioned,
        performance_ratio=pr,
        n_days_complete=int(len(days) - counts.get("missing", 0)),
        n_days_missing=int(counts.get("missing", 0)),
        n_days_outlier=int(counts.get("outlier", 0)),
        n_days_down=n_down,
        daily=days,
        monthly=monthly,
    )
