"""Rolling-origin backtest on an asset's own readings, against the forecasts anyone could make.

At each month start ``o`` after ``min_train_months`` of history, the twin is calibrated on every
reading before ``o`` and forecasts the next ``horizon_months``; each forecast month with enough
complete days is scored against what was measured. In the same run, on the same months:

- persistence: the training window's mean daily energy x days in the month;
- same month last year: the measured month 12 months earlier (when it lies in the window);
- PVWatts: the spec model on the same weather, uncalibrated, x the spec's availability.

The twin's P50 is a forecast combination learnt out of sample: the calibrated model and
persistence, weighted by the inverse of their mean squared log errors on the months of earlier
origins already measured (weight 1 on the model with fewer than ``COMBINE_MIN_SCORES``). The
combination cannot be much worse than the better of the two on such months, and is often better
than both because their errors are only partly correlated. The model alone is reported as
``model``.

The band is calibrated out of sample (split conformal): at each origin, the forecasts of earlier
origins whose months have been measured give scores (1 - actual/P50) / (z90 sd); the 90 % quantile
(at the finite-sample conformal level) of the scores is the factor by which the sd must grow for P90 to hold 90 % of months. No forecast
is widened with information from its own future. The factor is learnt separately (Mondrian
conformal) for the winter half-year of the site's hemisphere and the summer half, because their errors differ in kind (snow, low sun and short days), not only in size;
a half with fewer than ``BAND_MIN_SCORES`` scores uses the factor of all scores.

A month is scored when at least ``SCORED_DAY_SHARE`` of its days are complete; its measured energy
is scaled from the complete days to the whole month.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .calibration import CalibrationError, calibrate, classify_days, daily_readings
from .forecast import forecast_energy
from .profile import TypicalYear
from .readings import as_readings_frame
from .site import typical_year
from .spec import SiteSpec

SCORED_DAY_SHARE = 0.9
BAND_MIN_SCORES = 12
BAND_SCALE_BOUNDS = (1.0, 3.0)
COMBINE_MIN_SCORES = 12
METHODS = ("twin", "model", "persistence", "same_month_last_year", "pvwatts")


class BacktestError(ValueError):
    """The readings are too short to backtest (no month to score after the minimum training)."""


@dataclass(frozen=True, eq=False)
class RollingBacktest:
    """Scored forecasts (one row per origin and target month) and the summary over them."""

    table: pd.DataFrame
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.assign(origin=self.table["origin"].astype(str), month=self.table["month"].astype(str))
        return {"summary": self.summary, "forecasts": rows.replace({np.nan: None}).to_dict("records")}


def measured_months(days: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: measured energy scaled to the month, complete days, and whether it is scored."""
    months = pd.PeriodIndex(pd.to_datetime(days.index), freq="M")
    complete = days["status"] != "missing"
    table = pd.DataFrame(
        {
            "measured_wh": days["measured_wh"].where(complete, 0.0).groupby(months).sum(),
            "complete_days": complete.groupby(months).sum(),
        }
    )
    table.index.name = "month"
    table["days"] = table.index.days_in_month
    table["scored"] = table["complete_days"] >= SCORED_DAY_SHARE * table["days"]
    table["actual_wh"] = table["measured_wh"] * table["days"] / table["complete_days"].where(table["complete_days"] > 0)
    return table


def _mape(errors: pd.Series) -> float | None:
    return float(errors.mean()) if len(errors) else None


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    """MAPE of every method on the months it can forecast, skill, P90 coverage and 12-month totals."""
    out: dict[str, Any] = {"forecast_months": int(len(table)), "origins": int(table["origin"].nunique())}
    if table.empty:
        return out
    for method in METHODS:
        col = f"{method}_wh"
        rows = table[table[col].notna()]
        out[f"{method}_mape"] = _mape((rows[col] - rows["actual_wh"]).abs() / rows["actual_wh"])
    twin_ape = (table["twin_wh"] - table["actual_wh"]).abs() / table["actual_wh"]
    persist_ape = (table["persistence_wh"] - table["actual_wh"]).abs() / table["actual_wh"]
    out["skill_vs_persistence"] = 1 - float(twin_ape.mean() / persist_ape.mean()) if persist_ape.mean() else None
    last_year = table["same_month_last_year_wh"].notna()
    out["same_month_months"] = int(last_year.sum())
    if last_year.any():
        smly_ape = (table.loc[last_year, "same_month_last_year_wh"] - table.loc[last_year, "actual_wh"]).abs()
        smly_ape = smly_ape / table.loc[last_year, "actual_wh"]
        out["twin_mape_on_same_month_months"] = float(twin_ape[last_year].mean())
        out["same_month_last_year_mape_on_same_months"] = float(smly_ape.mean())
        out["skill_vs_same_month_last_year"] = 1 - float(twin_ape[last_year].mean() / smly_ape.mean())
    else:
        out["skill_vs_same_month_last_year"] = None
    out["p90_coverage"] = float((table["actual_wh"] >= table["twin_p90_wh"]).mean())
    z = (table["actual_wh"] / table["twin_wh"] - 1) / table["twin_sd_rel"]
    out["standardised_error_sd"] = float(z.std()) if len(z) > 1 else None
    totals = []
    for _, rows in table.groupby("origin"):
        if len(rows) == 12:
            totals.append(abs(rows["twin_wh"].sum() / rows["actual_wh"].sum() - 1))
    out["twelve_month_windows"] = len(totals)
    out["twelve_month_total_error"] = float(np.mean(totals)) if totals else None
    out["twelve_month_total_error_max"] = float(np.max(totals)) if totals else None
    return out


def band_scale(scores: np.ndarray | list[float]) -> float:
    """The sd multiplier that makes the 90 % quantile of past scores reach P90 (1 with too few)."""
    values = np.asarray(scores, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < BAND_MIN_SCORES:
        return 1.0
    # Split-conformal level: the ceil((n+1) 0.9)-th smallest score, so few scores widen more.
    level = min(np.ceil((len(values) + 1) * 0.9) / len(values), 1.0)
    return float(np.clip(np.quantile(values, level, method="inverted_cdf"), *BAND_SCALE_BOUNDS))


def combination_weight(table: pd.DataFrame) -> float:
    """Weight of the model against persistence: inverse mean squared log error on scored months."""
    if table.empty or len(table) < COMBINE_MIN_SCORES:
        return 1.0
    model = float(np.mean(np.log(table["actual_wh"] / table["model_wh"]) ** 2))
    persistence = float(np.mean(np.log(table["actual_wh"] / table["persistence_wh"]) ** 2))
    if not np.isfinite(model) or not np.isfinite(persistence) or model + persistence <= 0:
        return 1.0
    return persistence / (model + persistence)


def _scores(table: pd.DataFrame) -> np.ndarray:
    return ((1 - table["actual_wh"] / table["raw_p50_wh"]) / (table["raw_z90"] * table["raw_sd_rel"])).to_numpy()


def dark_months(latitude: float) -> frozenset[int]:
    """The winter half-year of the site's hemisphere (short days, low sun, snow): October-March north."""
    return frozenset({10, 11, 12, 1, 2, 3} if latitude >= 0 else {4, 5, 6, 7, 8, 9})


def band_scales(table: pd.DataFrame, dark: frozenset[int]) -> tuple[float, ...]:
    """Conformal band factor per calendar month (January first): dark and bright halves apart."""
    if table.empty:
        return (1.0,) * 12
    overall = band_scale(_scores(table))
    in_dark = np.array([m.month in dark for m in table["month"]])
    halves = {}
    for key, mask in ((True, in_dark), (False, ~in_dark)):
        scores = _scores(table[mask])
        halves[key] = band_scale(scores) if len(scores) >= BAND_MIN_SCORES else overall
    return tuple(halves[m in dark] for m in range(1, 13))


def rolling_backtest(
    spec: SiteSpec,
    readings: pd.DataFrame | pd.Series,
    weather: pd.DataFrame | None = None,
    min_train_months: int = 3,
    horizon_months: int = 12,
    typical: TypicalYear | None = None,
) -> RollingBacktest:
    """Backtest the twin on ``readings`` by rolling origins; see the module docstring for the method."""
    typical = typical if typical is not None else typical_year(spec, weather=weather)
    frame = as_readings_frame(readings)
    if frame.empty:
        raise BacktestError("no readings to backtest")
    daily = daily_readings(frame, spec.location.tz)
    commissioned = spec.commissioned or daily.index[0]
    days = classify_days(daily, typical, commissioned)
    months = measured_months(days)
    first = months.index[0] + (0 if pd.Timestamp(daily.index[0]).day == 1 else 1)
    local_start = frame.index.tz_convert(spec.location.tz)
    dark = dark_months(spec.location.latitude)
    rows: list[dict[str, Any]] = []
    for origin in pd.period_range(first + min_train_months, months.index[-1], freq="M"):
        cut = pd.Timestamp(origin.start_time).tz_localize(spec.location.tz, ambiguous=False,
                                                          nonexistent="shift_forward")
        train = frame[local_start < cut]
        try:
            cal = calibrate(spec, typical, train)
        except CalibrationError:
            continue
        matured = [r for r in rows if r["month"] < origin]
        scales = band_scales(pd.DataFrame(matured), dark) if matured else (1.0,) * 12
        weight = combination_weight(pd.DataFrame(matured)) if matured else 1.0
        raw = forecast_energy(typical, cal, origin, horizon_months, model_weight=weight).monthly
        forecast = forecast_energy(typical, cal, origin, horizon_months, band_scale=scales, model_weight=weight).monthly
        window = days[pd.to_datetime(days.index) < origin.start_time]
        complete = window[window["status"] != "missing"]
        mean_daily = float(complete["measured_wh"].mean()) if len(complete) else np.nan
        for month, row in forecast.iterrows():
            if month not in months.index or not months.loc[month, "scored"]:
                continue
            last = month - 12
            smly = (
                float(months.loc[last, "actual_wh"])
                if last in months.index and months.loc[last, "scored"] and last < origin
                else np.nan
            )
            rows.append(
                {
                    "origin": origin,
                    "month": month,
                    "lead": (month - origin).n + 1,
                    "train_months": (origin - first).n,
                    "actual_wh": float(months.loc[month, "actual_wh"]),
                    "twin_wh": float(row["energy_p50_wh"]),
                    "model_wh": float(row["model_p50_wh"]),
                    "model_weight": weight,
                    "twin_p90_wh": float(row["energy_p90_wh"]),
                    "twin_p10_wh": float(row["energy_p10_wh"]),
                    "twin_sd_rel": float(row["sd_rel"]),
                    "raw_p50_wh": float(raw.loc[month, "energy_p50_wh"]),
                    "raw_sd_rel": float(raw.loc[month, "sd_rel"]),
                    "raw_z90": float(raw.loc[month, "z90"]),
                    "band_scale": scales[month.month - 1],
                    "persistence_wh": mean_daily * month.days_in_month,
                    "same_month_last_year_wh": smly,
                    "pvwatts_wh": float(row["modelled_wh"]) * spec.availability,
                    "seasonal": cal.seasonal_estimated,
                    "trend_estimated": cal.trend_estimated,
                }
            )
    if not rows:
        raise BacktestError(
            f"readings span {len(months)} months; a backtest needs {min_train_months} months of training "
            "and at least one more month with complete days"
        )
    table = pd.DataFrame(rows)
    summary = summarise(table)
    summary["band_scale_now"] = band_scale(_scores(table))
    summary["band_scales_now"] = list(band_scales(table, dark))
    summary["model_weight_now"] = combination_weight(table)
    return RollingBacktest(table, summary)


def chart_backtest(result: RollingBacktest, path: Path, title: str) -> Path:
    """Measured months against the twin's one-month-ahead P50 and P90-P10 band and the baselines."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    first = result.table.sort_values("lead").groupby("month").first().sort_index()
    x = first.index.to_timestamp()
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    ax.bar(x, first["actual_wh"] / 1e3, width=20, color="lightsteelblue", label="measured")
    ax.fill_between(x, first["twin_p90_wh"] / 1e3, first["twin_p10_wh"] / 1e3, alpha=0.3, color="tab:blue",
                    label="twin P90-P10")
    ax.plot(x, first["twin_wh"] / 1e3, "o-", color="tab:blue", label="twin P50")
    ax.plot(x, first["persistence_wh"] / 1e3, "--", color="tab:orange", label="persistence")
    ax.plot(x, first["same_month_last_year_wh"] / 1e3, ":", color="tab:green", label="same month last year")
    ax.plot(x, first["pvwatts_wh"] / 1e3, "-", color="grey", lw=1, label="PVWatts, uncalibrated")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("kWh per month")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
