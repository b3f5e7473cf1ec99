"""The digital twin's figures for the portal: the expected band under the production chart, the forecast.

The band is the twin's P50 of each day (typical year x performance factor x availability) with
P10-P90 from the day-to-day spread of the typical year and the calibration residual; months use
the month's spread for the number of days shown. Until the asset has enough anchored days to be
calibrated, the band is the spec model at the spec's availability, and the page says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..commands.twin import batches_frame, site_spec
from ..spec import AssetSpec
from ..twin.calibration import Calibration, CalibrationError, calibrate
from ..twin.finance import valuation
from ..twin.forecast import Z90, forecast_energy, next_month
from ..twin.profile import TypicalYear
from ..twin.sensitivity import tornado
from ..twin.site import typical_year
from ..twin.spec import SiteSpec

HOLDOUT_DAYS = 7
MIN_CALIBRATION_DAYS = 14


@dataclass(frozen=True)
class ModelState:
    """What turns a typical year into expected energy: calibrated, or the spec's own assumptions."""

    performance_factor: float
    availability: float
    residual_sd_rel: float
    commissioned: dt.date
    calibrated: bool
    calibration: Calibration | None = None


class AssetTwin:
    """The twin of one deployed asset; the typical year is built once (pvlib), the rest per update."""

    def __init__(self, spec: AssetSpec):
        self.site: SiteSpec = site_spec(spec)
        self.typical: TypicalYear = typical_year(self.site)

    def model(self, batches: Iterable[Mapping[str, Any]], first_day: dt.date | None) -> ModelState:
        frame = batches_frame(batches)
        try:
            cal = calibrate(self.site, self.typical, frame, min_days=MIN_CALIBRATION_DAYS)
        except (CalibrationError, ValueError, KeyError):
            commissioned = self.site.commissioned or first_day or dt.date.today()
            return ModelState(1.0, float(self.site.availability), 0.0, commissioned, False)
        return ModelState(cal.performance_factor, cal.availability, cal.residual_sd_rel, cal.commissioned, True, cal)

    def daily_band(self, days: list[str], state: ModelState) -> list[dict[str, float]]:
        """P50, P10 and P90 (Wh) for each ``YYYY-MM-DD`` day."""
        if not days:
            return []
        dates = pd.DatetimeIndex(days)
        p50 = self.typical.expected_daily_wh(dates, state.commissioned).to_numpy()
        p50 = p50 * state.performance_factor * state.availability
        cv = self.typical.daily_cv.reindex(dates.month).to_numpy()
        sd = np.sqrt(cv**2 + state.residual_sd_rel**2)
        return [_band(m, s) for m, s in zip(p50, sd, strict=True)]

    def monthly_band(self, months: Mapping[str, list[float]], state: ModelState) -> list[dict[str, float]]:
        """The band of each month's total from its days' P50s (``{YYYY-MM: [p50_wh of each day shown]}``)."""
        out = []
        for month, p50s in months.items():
            sd = math.sqrt(self.typical.monthly_sd_rel(int(month[5:7]), len(p50s)) ** 2 + state.residual_sd_rel**2)
            out.append(_band(sum(p50s), sd))
        return out

    def forecast(self, state: ModelState) -> dict[str, Any]:
        """6- and 12-month P50/P90 energy, revenue and yield per token; the tornado; the holdout backtest."""
        if not state.calibrated:
            return {"available": False,
                    "reason": f"the twin needs at least {MIN_CALIBRATION_DAYS} days of anchored production"}
        cal = state.calibration
        start = next_month(cal.window[1])
        horizons = {}
        for months in (6, 12):
            fc = forecast_energy(self.typical, cal, start, months)
            value = valuation(self.site, self.typical, cal, fc)
            horizons[str(months)] = {
                "months": months, "from": str(start), "energy_p50_wh": fc.total_p50_wh, "energy_p90_wh": fc.total_p90_wh,
                "revenue_p50": value.revenue_p50, "distributable_p50": value.distributable_p50,
                "per_token_p50": value.per_token_p50, "per_token_p90": value.per_token_p90,
                "yield_p50": value.annualised_yield_p50, "yield_p90": value.annualised_yield_p90,
                "currency": value.currency,
            }
        sens = tornado(self.site, self.typical, cal, start, months=12)
        return {
            "available": True,
            "calibration": {"performance_factor": cal.performance_factor, "availability": cal.availability,
                            "residual_sd_rel": cal.residual_sd_rel, "days_used": cal.n_days_complete,
                            "window": [str(cal.window[0]), str(cal.window[1])]},
            "horizons": horizons,
            "tornado": [{"driver": r.driver, "yield_low": r.yield_low, "yield_high": r.yield_high, "base": r.base}
                        for r in sens.itertuples()],
        }

    def backtest(self, batches: list[Mapping[str, Any]]) -> dict[str, Any]:
        """Calibrate without the last week, forecast that week, compare with what was anchored."""
        frame = batches_frame(batches)
        if frame.empty:
            return {"available": False, "reason": "no anchored production yet"}
        days = sorted({_utc_day(int(b["fromTime"])) for b in batches})
        if len(days) < MIN_CALIBRATION_DAYS + HOLDOUT_DAYS:
            return {"available": False, "reason": f"needs {MIN_CALIBRATION_DAYS + HOLDOUT_DAYS} days of anchored "
                    f"production ({len(days)} so far)"}
        held = days[-HOLDOUT_DAYS:]
        train = [b for b in batches if _utc_day(int(b["fromTime"])) < held[0]]
        state = self.model(train, None)
        if not state.calibrated:
            return {"available": False, "reason": "the days before the holdout week do not calibrate"}
        actual = {d: 0 for d in held}
        for b in batches:
            day = _utc_day(int(b["fromTime"]))
            if day in actual:
                actual[day] += int(b["totalEnergyWh"])
        band = self.daily_band(held, state)
        total_actual = sum(actual.values())
        total_p50 = sum(b["p50_wh"] for b in band)
        inside = sum(b["p90_wh"] <= actual[d] <= b["p10_wh"] for d, b in zip(held, band, strict=True))
        return {"available": True, "holdout_days": HOLDOUT_DAYS, "from": held[0], "to": held[-1],
                "actual_wh": total_actual, "p50_wh": total_p50,
                "error_pct": (total_p50 - total_actual) / total_actual * 100 if total_actual else None,
                "days_inside_p10_p90": int(inside)}


def _band(p50: float, sd_rel: float) -> dict[str, float]:
    return {"p50_wh": float(p50), "p90_wh": float(max(p50 * (1 - Z90 * sd_rel), 0.0)),
            "p10_wh": float(p50 * (1 + Z90 * sd_rel))}


def _utc_day(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date().isoformat()
