"""The typical year: what one unit-performance asset delivers on each day of a year, and how much that varies.

Every site model (PV, storage, charging) reduces to this one shape, so calibration, forecast and
finance never need to know the asset kind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, eq=False)
class TypicalYear:
    """Expected daily energy by day of year (1..365) before availability and trend.

    - ``daily_wh``: smoothed expected energy per day of year (the climatology the forecast uses);
    - ``raw_daily_wh``: the unsmoothed typical-year days (their spread is the variability model);
    - ``upper_daily_wh``: a physical ceiling per day (clear sky for PV) used to reject outliers;
    - ``monthly_sd_rel``: relative standard deviation of a whole calendar month's energy (index 1..12);
    - ``daily_cv``/``kappa``: per-month daily coefficient of variation and the autocorrelation
      inflation (1+rho)/(1-rho), so the spread of any number of days can be derived;
    - ``hourly_share``: 12x24 share of each month's energy by local hour (for time-of-use prices);
    - ``weekday_factor``: multiplier by weekday (Mon=0) on ``daily_wh``;
    - ``trend_per_year``: expected relative change per year (negative for degradation/fade);
    - ``interannual_sd_rel``: year-to-year relative sd of each calendar month's energy (index
      1..12). A typical year is not the year that comes: months of different years differ by more
      than the day-to-day sampling of one year explains (weather regimes last weeks). The part of
      it beyond that sampling is added to every month's variance, whatever its number of days.
    - ``climatology_sd_rel``: relative error of each calendar month's expected energy as a
      climatology (index 1..12) when the weather file is a measured year (or a few), whose months
      are samples of the climate; None for a typical-year file, whose months are picked to be typical.
    """

    daily_wh: pd.Series
    raw_daily_wh: pd.Series
    upper_daily_wh: pd.Series
    daily_cv: pd.Series
    kappa: float
    hourly_share: pd.DataFrame
    trend_per_year: float
    weekday_factor: tuple[float, ...] = (1.0,) * 7
    reference_daily_wh: pd.Series | None = None
    interannual_sd_rel: pd.Series | None = None
    climatology_sd_rel: pd.Series | None = None

    def monthly_sd_rel(self, month: int, n_days: float | None = None) -> float:
        """Relative sd of the energy of ``n_days`` days of ``month`` (a full month if None).

        Day-to-day sampling (AR(1): cv^2 kappa / n) plus the month's year-to-year regime variance
        beyond what that sampling gives for a whole month (it does not average out over days).
        """
        days = n_days if n_days is not None else _days_in_month(month)
        if days <= 0:
            return 0.0
        sampling = float(self.daily_cv.loc[month]) ** 2 * self.kappa
        return float(np.sqrt(sampling / days + self.regime_var(month)))

    def regime_var(self, month: int) -> float:
        """Year-to-year variance of a whole month beyond day-to-day sampling (0 without a model)."""
        if self.interannual_sd_rel is None:
            return 0.0
        sampling = float(self.daily_cv.loc[month]) ** 2 * self.kappa / _days_in_month(month)
        return max(float(self.interannual_sd_rel.loc[month]) ** 2 - sampling, 0.0)

    def day_of_year(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Index 1..365 into the profile; 29 February maps onto 28 February so leap years reuse it."""
        month, day = dates.month.to_numpy(), dates.day.to_numpy()
        day = np.where((month == 2) & (day == 29), 28, day)
        return pd.to_datetime({"year": 2019, "month": month, "day": day}).dt.day_of_year.to_numpy()

    def expected_daily_wh(
        self, dates: pd.DatetimeIndex, commissioned: dt.date, trend_per_year: float | None = None
    ) -> pd.Series:
        """Expected energy on each date including weekday shape and trend since commissioning."""
        trend = self.trend_per_year if trend_per_year is None else trend_per_year
        dates = pd.DatetimeIndex(dates)
        base = self.daily_wh.to_numpy()[self.day_of_year(dates) - 1]
        weekday = np.asarray(self.weekday_factor)[dates.day_of_week.to_numpy()]
        years = (dates.tz_localize(None) - pd.Timestamp(commissioned)).days.to_numpy() / DAYS_PER_YEAR
        growth = (1 + trend) ** np.clip(years, 0, None)
        return pd.Series(base * weekday * growth, index=dates, name="expected_wh")

    def upper_bound_wh(self, dates: pd.DatetimeIndex) -> pd.Series:
        dates = pd.DatetimeIndex(dates)
        return pd.Series(self.upper_daily_wh.to_numpy()[self.day_of_year(dates) - 1], index=dates, name="upper_wh")


def _days_in_month(month: int) -> int:
    return pd.Period(f"2019-{month:02d}").days_in_month


def smooth_circular(values: np.ndarray, window_days: int = 31) -> np.ndarray:
    """Centered moving mean that wraps around the year end (a climatology without single-day noise)."""
    half = window_days // 2
    padded = np.concatenate([values[-half:], values, values[:half]])
    kernel = np.ones(window_days) / window_days
    return np.convolve(padded, kernel, mode="valid")


def smooth_keep_monthly_totals(raw_daily_wh: pd.Series, window_days: int = 31) -> pd.Series:
    """Smooth the day-to-day noise of a typical year but keep each month's total.

    Typical-year months are chosen to be representative, so their totals are the best estimate of
    the long-term month; smoothing across month boundaries would move energy between months.
    """
    smooth = smooth_circular(raw_daily_wh.to_numpy(dtype=float), window_days)
    month = pd.DatetimeIndex(pd.to_datetime(raw_daily_wh.index)).month.to_numpy()
    frame = pd.DataFrame({"month": month, "raw": raw_daily_wh.to_numpy(dtype=float), "smooth": smooth})
    sums = frame.groupby("month")[["raw", "smooth"]].transform("sum")
    scale = (sums["raw"] / sums["smooth"].where(sums["smooth"] > 0)).fillna(0.0).to_numpy()
    return pd.Series(smooth * scale, index=raw_daily_wh.index, name="expected_wh")


def variability_from_days(raw_daily_wh: pd.Series) -> tuple[pd.Series, float]:
    """Daily coefficient of variation by month and the pooled lag-1 autocorrelation inflation.

    The variance of a sum of n correlated days is n*sigma^2*(1+rho)/(1-rho) for an AR(1) process;
    rho is pooled from day-to-day anomalies (deviations from each month's mean).
    """
    dates = pd.to_datetime(pd.Series(raw_daily_wh.index, index=raw_daily_wh.index))
    month = dates.dt.month.to_numpy()
    values = raw_daily_wh.to_numpy(dtype=float)
    frame = pd.DataFrame({"month": month, "wh": values})
    stats = frame.groupby("month")["wh"].agg(["mean", "std"])
    cv = (stats["std"] / stats["mean"].where(stats["mean"] > 0)).fillna(0.0)
    anomaly = (values - stats["mean"].reindex(month).to_numpy()) / stats["std"].reindex(month).replace(
        0, np.nan
    ).to_numpy()
    anomaly = np.nan_to_num(anomaly)
    rho = float(np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1]) if anomaly.std() > 0 else 0.0
    rho = float(np.clip(rho, 0.0, 0.9))
    return cv.rename("daily_cv"), (1 + rho) / (1 - rho)


def hourly_share_from_power(power_w: pd.Series) -> pd.DataFrame:
    """Share of each month's energy in each local hour (rows months 1..12, columns hours 0..23)."""
    frame = pd.DataFrame({"month": power_w.index.month, "hour": power_w.index.hour, "wh": power_w.to_numpy()})
    table = frame.pivot_table(index="month", columns="hour", values="wh", aggfunc="sum").reindex(
        columns=range(24), fill_value=0.0
    )
    totals = table.sum(axis=1).replace(0, np.nan)
    return table.div(totals, axis=0).fillna(1 / 24)


def flat_hourly_share(shape: tuple[float, ...]) -> pd.DataFrame:
    """The same hourly shape for every month."""
    weights = np.asarray(shape, dtype=float)
    weights = weights / weights.sum()
    return pd.DataFrame(np.tile(weights, (12, 1)), index=pd.Index(range(1, 13), name="month"), columns=range(24))
