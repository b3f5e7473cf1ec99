"""From energy to money: revenue under a flat or time-of-use tariff, opex, distributions per token,
annualised yield at the token price, and a discounted-cash-flow value per token over the remaining life.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import Calibration
from .forecast import Forecast, forecast_energy
from .profile import TypicalYear
from .spec import SiteSpec
from .storage import margin_per_kwh


@dataclass(frozen=True)
class Valuation:
    """Token economics over the forecast horizon (P50, and P90 of the horizon total) and DCF value per token."""

    horizon_months: int
    revenue_p50: float
    opex: float
    distributable_p50: float
    distributable_p90: float
    per_token_p50: float
    per_token_p90: float
    annualised_yield_p50: float
    annualised_yield_p90: float
    value_per_token: float
    remaining_life_years: float
    token_price: float
    currency: str


def price_per_kwh_by_month(spec: SiteSpec, typical: TypicalYear) -> pd.Series:
    """Energy-weighted price of a kWh in each calendar month (storage: its arbitrage margin)."""
    months = pd.Index(range(1, 13), name="month")
    if spec.kind == "storage":
        return pd.Series(margin_per_kwh(spec.tariff, spec.storage), index=months)
    prices = np.asarray(spec.tariff.price_by_hour())
    return pd.Series(typical.hourly_share.reindex(months).to_numpy() @ prices, index=months)


def cashflows(forecast: Forecast, spec: SiteSpec, typical: TypicalYear) -> pd.DataFrame:
    """Monthly revenue, opex, net and distributable cash (total and per token), P50 and P90.

    Net cash can be negative (opex above revenue); it is reported as is so shortfalls stay visible.
    """
    frame = forecast.monthly
    price = price_per_kwh_by_month(spec, typical).reindex(frame.index.month).to_numpy()
    fin = spec.finance
    out = pd.DataFrame(index=frame.index)
    out["price_per_kwh"] = price
    for level in ("p50", "p90"):
        kwh = frame[f"energy_{level}_wh"].to_numpy() / 1000.0
        out[f"revenue_{level}"] = kwh * price
        out[f"opex_{level}"] = fin.opex_per_year * frame["days"].to_numpy() / 365.0 + fin.opex_per_kwh * kwh
        out[f"net_{level}"] = out[f"revenue_{level}"] - out[f"opex_{level}"]
        out[f"distributable_{level}"] = out[f"net_{level}"] * fin.distribution_share
        out[f"per_token_{level}"] = out[f"distributable_{level}"] / fin.token_supply
    return out


def annualised_yield(per_token: pd.Series, token_price: float) -> float:
    """Distributions per token over the horizon, scaled to 12 months, over the token price."""
    return float(per_token.sum() * 12.0 / len(per_token) / token_price) if len(per_token) else 0.0


def end_of_life(spec: SiteSpec, calibration: Calibration) -> dt.date:
    start = pd.Timestamp(calibration.commissioned)
    return (start + pd.DateOffset(months=int(round(spec.finance.life_years * 12)))).date()


def dcf_value_per_token(
    spec: SiteSpec, typical: TypicalYear, calibration: Calibration, start: pd.Period
) -> tuple[float, float]:
    """Present value per token of P50 distributions from ``start`` to end of life; and years left.

    Each month's cash is discounted from its end at the spec's annual discount rate.
    """
    last = pd.Period(end_of_life(spec, calibration), freq="M") - 1
    months = (last - start).n + 1
    if months <= 0:
        return 0.0, 0.0
    flows = cashflows(forecast_energy(typical, calibration, start, months), spec, typical)
    t_years = np.arange(1, months + 1) / 12.0
    discount = (1 + spec.finance.discount_rate) ** -t_years
    return float(np.sum(flows["per_token_p50"].to_numpy() * discount)), months / 12.0


def valuation(spec: SiteSpec, typical: TypicalYear, calibration: Calibration, forecast: Forecast) -> Valuation:
    """Horizon revenue, distributions, yield and DCF value per token for one forecast.

    The horizon P90 is that of the horizon *total* (months partly offset each other), not the sum
    of monthly P90s, which would be far rarer than one year in ten.
    """
    flows = cashflows(forecast, spec, typical)
    start = forecast.monthly.index[0]
    value, life_left = dcf_value_per_token(spec, typical, calibration, start)
    fin = spec.finance
    p90_share = forecast.total_p90_wh / forecast.total_p50_wh if forecast.total_p50_wh > 0 else 0.0
    revenue_p90 = float(flows["revenue_p50"].sum()) * p90_share
    opex_p90 = fin.opex_per_year * float(forecast.monthly["days"].sum()) / 365.0 + fin.opex_per_kwh * (
        forecast.total_p90_wh / 1000.0
    )
    distributable_p90 = (revenue_p90 - opex_p90) * fin.distribution_share
    per_token_p90 = distributable_p90 / fin.token_supply
    months = forecast.horizon_months
    return Valuation(
        horizon_months=months,
        revenue_p50=float(flows["revenue_p50"].sum()),
        opex=float(flows["opex_p50"].sum()),
        distributable_p50=float(flows["distributable_p50"].sum()),
        distributable_p90=distributable_p90,
        per_token_p50=float(flows["per_token_p50"].sum()),
        per_token_p90=per_token_p90,
        annualised_yield_p50=annualised_yield(flows["per_token_p50"], fin.token_price),
        annualised_yield_p90=per_token_p90 * 12.0 / months / fin.token_price,
        value_per_token=value,
        remaining_life_years=life_left,
        token_price=fin.token_price,
        currency=fin.currency,
    )
