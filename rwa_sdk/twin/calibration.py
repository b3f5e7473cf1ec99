"""Calibration: what the asset actually achieved against its model, from anchored readings.

Readings come from the real weather/demand of their days while the model runs on a typical year,
so single days cannot be compared one to one. The comparison is therefore on sums: the ratio of
measured to expected energy over all days the asset was up (a performance factor) and the share of
days it was up (availability). With 12 months or more, month-of-year corrections fix the typical
year's seasonal shape: the annual harmonic of the monthly ratios, a posterior against the
seasonal-shape prior.
With two full years or more, a trend (degradation, fade or demand growth) is estimated from like
calendar months a year apart (year-on-year, median), bounded to a physical range. The model error that the forecast band carries is measured out of sample: each month of
the window predicted from the months before it (left out of the seasonal fit once there is one).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .profile import DAYS_PER_YEAR, TypicalYear
from .readings import as_readings_frame
from .spec import SiteSpec

COMPLETE_COVERAGE = 0.95
DOWN_SHARE = 0.02
MIN_MONTH_DAYS = 10
TREND_MIN_PAIRS = 12  # like-month pairs a year apart: two full years
TREND_BOUNDS = (-0.03, 0.02)  # per year; PV loses 0.2-1 %/yr, storage fades, demand can grow
TREND_PRIOR_SD = 0.01  # how far a real asset's trend strays from its spec's, per year
SEASON_MIN_MONTHS = 12
# Seasonal shape error of a spec model against the real plant (sd of log month ratios, level
# removed); used in the band while fewer than 12 months exist. PV: misspecified plants (tilt +-15 deg,
# azimuth +-30 deg, losses 8-24 %) against their spec at pvlib's three shipped typical-year sites,
# `python bench/twin_shape_prior.py` (rms 0.054; 0.037-0.075 by site). A weather file of measured
# years adds its own months' climatology error (TypicalYear.climatology_sd_rel). Storage and
# chargers have no weather year whose shape could be wrong, only demand seasons.
SHAPE_SD_PRIOR = 0.054
SHAPE_SD_PRIOR_OTHER = 0.03
MODEL_SD_FLOOR = 0.02
OOS_MIN_PRIOR_MONTHS = 2


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
    ``residual_sd_rel`` is the model error of one month beyond weather (out of sample);
    ``month_correction``/``month_correction_sd`` are the 12 month-of-year factors (index 0 = January)
    and the sd of their logs (``shape_sd_prior`` for months without a correction).
    ``residual_dof`` and ``month_correction_dof`` are the degrees of freedom those two variances
    rest on (Satterthwaite: 2 v^2 / var(v); infinite for a prior), so the band can use Student-t
    quantiles where they rest on few months.
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
    month_correction: tuple[float, ...] = (1.0,) * 12
    month_correction_sd: tuple[float, ...] = (SHAPE_SD_PRIOR,) * 12
    seasonal_estimated: bool = False
    trend_bounded: bool = False
    residual_dof: float = math.inf
    month_correction_dof: float = math.inf

    def month_factor(self, month: int) -> float:
        """The month-of-year correction for calendar month 1..12."""
        return float(self.month_correction[month - 1])

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


def _full(monthly: pd.DataFrame) -> pd.DataFrame:
    return monthly[monthly["n_days"] >= MIN_MONTH_DAYS]


def _trend(monthly: pd.DataFrame, spec_trend: float) -> tuple[float, float, float, bool] | None:
    """Year-on-year trend: median change of log ratio between like months 12 months apart.

    Comparing January with January cancels the typical year's seasonal shape error, which a slope
    through all months would read as degradation. Returns (trend per year, its se, log slope,
    bounded) or None with fewer than ``TREND_MIN_PAIRS`` pairs.
    """
    full = _full(monthly)
    logs = pd.Series(np.log(full["ratio"].to_numpy()), index=full.index)
    pairs = [logs[m + 12] - logs[m] for m in logs.index if (m + 12) in logs.index]
    if len(pairs) < TREND_MIN_PAIRS:
        return None
    diffs = np.asarray(pairs)
    slope = float(np.median(diffs))
    # Median of n pairs; neighbouring months share weather regimes, so count half as independent.
    se_log = 1.2533 * float(np.std(diffs, ddof=1)) / np.sqrt(max(len(diffs) / 2, 1))
    # Shrink towards the spec's trend by the estimate's own uncertainty (two years of weather
    # noise easily fake several %/yr), then keep it inside the physical range.
    weight = TREND_PRIOR_SD**2 / (TREND_PRIOR_SD**2 + se_log**2)
    raw = (1 + spec_trend) * np.exp(weight * slope) - 1
    trend = float(np.clip(raw, *TREND_BOUNDS))
    slope = float(np.log((1 + trend) / (1 + spec_trend)))
    se = float(np.sqrt(weight) * se_log * (1 + trend))
    return trend, se, slope, bool(trend != raw)


def _harmonic_design(months: np.ndarray) -> np.ndarray:
    """Columns 1, cos, sin of the annual cycle at each calendar month's middle."""
    angle = 2 * np.pi * (np.asarray(months, dtype=float) - 0.5) / 12
    return np.column_stack([np.ones(len(angle)), np.cos(angle), np.sin(angle)])


def _season(
    monthly: pd.DataFrame, factor: float, slope: float, prior_sd: float = SHAPE_SD_PRIOR
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Month-of-year corrections from the annual harmonic of the log ratios, and their sd.

    What makes a model's seasonal shape wrong is seasonal: snow, low-sun shading, the reflection
    and spectrum of a low sun, a weather year whose winter was unusually clear. A first harmonic
    (a level, a cosine and a sine) describes such an error with two numbers, which a year of months
    pins down, where 12 free month corrections would each read one month of weather as shape.
    The two coefficients are shrunk towards zero as a normal posterior: their least-squares
    estimate with its covariance, and a prior of sd ``prior_sd`` on each (the rms month-of-year
    shape error of spec models, which the seasonal-shape prior stands for before 12 months; a
    harmonic of amplitudes c, s has rms sqrt((c^2 + s^2) / 2)). A year of noisy months keeps
    part of what it saw, and the posterior variance says how much is known. Returns the 12
    corrections (their mean over the window's months, weighted by energy, is 1), the sd of each
    log correction, and the months' leave-one-out residual sd around the fit.
    """
    full = _full(monthly)
    if len(full) < SEASON_MIN_MONTHS or full.index.month.nunique() < SEASON_MIN_MONTHS:
        return None
    t = _years(full.index, full.index[0])
    logs = np.log(full["ratio"].to_numpy() / factor) - slope * (t - t.mean())
    months = full.index.month.to_numpy()
    design = _harmonic_design(months)
    beta, *_ = np.linalg.lstsq(design, logs, rcond=None)
    inverse = np.linalg.inv(design.T @ design)
    residual = logs - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, inverse, design)
    loo_sd = float(np.sqrt(np.mean((residual / (1 - leverage)) ** 2)))
    cov = max(float(residual @ residual) / max(len(logs) - 3, 1), 1e-12) * inverse[1:, 1:]
    precision = np.linalg.inv(cov)
    posterior = np.linalg.inv(precision + np.eye(2) / prior_sd**2)
    b = posterior @ precision @ beta[1:]
    year = _harmonic_design(np.arange(1, 13))[:, 1:]
    log_correction = year @ b
    expected = full["expected_wh"].to_numpy()
    log_correction -= np.log(np.sum(expected * np.exp(log_correction[months - 1])) / expected.sum())
    post_var = np.einsum("ij,jk,ik->i", year, posterior, year)
    return np.exp(log_correction), np.sqrt(post_var), loo_sd


def _weather_var(full: pd.DataFrame, typical: TypicalYear) -> np.ndarray:
    """Variance of each month's log ratio that weather alone explains (its days of its month)."""
    months = full.index.month.to_numpy()
    return np.array([typical.monthly_sd_rel(int(m), float(n)) ** 2 for m, n in zip(months, full["n_days"], strict=True)])


def _one_step_errors(monthly: pd.DataFrame, typical: TypicalYear) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Squared log error of each month predicted by the months before it, its weather variance, its month.

    Month k is predicted with the energy-weighted ratio of months < k, so no month helps predict
    itself. Returns None with too few months.
    """
    full = _full(monthly)
    if len(full) <= OOS_MIN_PRIOR_MONTHS + 1:
        return None
    measured, expected = full["measured_wh"].to_numpy(), full["expected_wh"].to_numpy()
    var = _weather_var(full, typical)
    squared = [np.log(measured[k] / (expected[k] * (measured[:k].sum() / expected[:k].sum())))**2
               for k in range(OOS_MIN_PRIOR_MONTHS, len(full))]
    return np.asarray(squared), var[OOS_MIN_PRIOR_MONTHS:], full.index.month.to_numpy()[OOS_MIN_PRIOR_MONTHS:]


def _out_of_sample_sd(
    monthly: pd.DataFrame, typical: TypicalYear, prior: np.ndarray | None = None
) -> tuple[float, float, int] | None:
    """Model error of one month beyond weather (and beyond the shape prior, sd by calendar month, if
    given): one-step squared log errors less those variances. Returns it with the errors' mean square
    and count, which its degrees of freedom rest on; None with too few months.
    """
    errors = _one_step_errors(monthly, typical)
    if errors is None:
        return None
    squared, var, months = errors
    shape_var = 0.0 if prior is None else prior[months - 1] ** 2
    return float(np.sqrt(max(float(np.mean(squared - var - shape_var)), 0.0))), float(np.mean(squared)), len(squared)


def shape_prior(spec: SiteSpec, typical: TypicalYear) -> np.ndarray:
    """Prior sd of each calendar month's log shape error (January first) before a seasonal fit.

    The spec's misspecification (``SHAPE_SD_PRIOR``) and, for a weather file of measured years, the
    error of its months as a climatology, independent of each other.
    """
    if spec.kind != "pv":
        return np.full(12, SHAPE_SD_PRIOR_OTHER)
    climate = typical.climatology_sd_rel
    climate_var = 0.0 if climate is None else climate.reindex(range(1, 13)).fillna(0.0).to_numpy() ** 2
    return np.sqrt(SHAPE_SD_PRIOR**2 + climate_var) * np.ones(12)


def excess_dof(excess_var: float, raw_var: float, n: float) -> float:
    """Degrees of freedom of a variance estimated as (mean square of n errors) - (a known variance).

    The mean square has var 2 raw^2 / n; subtracting a known part leaves that uncertainty, so the
    excess rests on n (excess / raw)^2 degrees of freedom (Satterthwaite), fewer than n.
    """
    if n <= 0 or raw_var <= 0:
        return math.inf
    return float(n * (excess_var / raw_var) ** 2) if excess_var > 0 else math.inf


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

    trend = _trend(monthly, typical.trend_per_year)
    slope = trend[2] if trend else 0.0
    prior = shape_prior(spec, typical)
    season = _season(monthly, factor, slope, float(np.sqrt(np.mean(prior**2))))
    correction_dof = math.inf
    if season is not None:
        correction, correction_sd, loo_sd = season
        # Each month left out of the seasonal fit, less what its weather explains.
        full = _full(monthly)
        n_fit = len(full)
        weather_var = float(np.mean(_weather_var(full, typical)))
        residual = max(float(np.sqrt(max(loo_sd**2 - weather_var, 0.0))), MODEL_SD_FLOOR)
        residual_dof = excess_dof(residual**2, loo_sd**2, n_fit - 3)
        correction_dof = float(n_fit - 3)
    else:
        correction, correction_sd = np.ones(12), prior
        residual, residual_dof = max(_residual_sd(monthly, typical, factor, slope), MODEL_SD_FLOOR), math.inf
        # One-step errors inside a short window already contain the shape error the prior stands for.
        oos = _out_of_sample_sd(monthly, typical, prior)
        if oos is not None:
            sd, mean_square, n = oos
            residual = max(sd, MODEL_SD_FLOOR)
            residual_dof = excess_dof(residual**2, mean_square, n)
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
        trend_se=trend[1] if trend else TREND_PRIOR_SD * (1 + typical.trend_per_year),  # the spec is a prior, not a fact
        trend_bounded=trend[3] if trend else False,
        month_correction=tuple(float(c) for c in correction),
        month_correction_sd=tuple(float(c) for c in correction_sd),
        seasonal_estimated=season is not None,
        residual_dof=residual_dof,
        month_correction_dof=correction_dof,
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
