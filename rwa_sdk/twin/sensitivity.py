"""Sensitivity: how the P50 annualised yield moves when each driver moves by ±10 %.

Each run changes one input and keeps the calibration of everything else: the resource driver
(irradiance / cycles / utilisation) rebuilds the typical year, degradation scales the calibrated
trend, availability scales the calibrated availability (capped at 100 %), tariff scales every
price and opex scales fixed and variable costs.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .calibration import Calibration
from .finance import annualised_yield, cashflows, dcf_value_per_token
from .forecast import forecast_energy
from .profile import TypicalYear
from .site import driver_name, typical_year
from .spec import SiteSpec


def p50_yield(
    spec: SiteSpec, typical: TypicalYear, calibration: Calibration, start: pd.Period, months: int,
    model_weight: float = 1.0,
) -> float:
    """Annualised P50 distribution yield at the spec's token price (the report's P50 combination)."""
    flows = cashflows(forecast_energy(typical, calibration, start, months, model_weight=model_weight), spec, typical)
    return annualised_yield(flows["per_token_p50"], spec.finance.token_price)


def _trend_label(spec: SiteSpec) -> str:
    return {"pv": "degradation", "storage": "capacity fade"}.get(spec.kind, "demand growth")


def tornado(
    spec: SiteSpec,
    typical: TypicalYear,
    calibration: Calibration,
    start: pd.Period,
    months: int = 12,
    step: float = 0.10,
    weather: pd.DataFrame | None = None,
    model_weight: float = 1.0,
) -> pd.DataFrame:
    """Yield (and DCF value per token) at -step and +step of each driver; rows sorted by yield swing.

    Columns: driver, yield_low (driver x (1-step)), yield_high (driver x (1+step)), base, swing,
    value_low, value_high, value_base. Value shows what a 12-month yield hides, e.g. degradation.
    The yield uses the report's P50 (``model_weight``: the model against persistence); the DCF
    value over the life uses the model alone, the long-term expectation.
    """
    base = p50_yield(spec, typical, calibration, start, months, model_weight)
    value_base = dcf_value_per_token(spec, typical, calibration, start)[0]
    rows = []

    def add(label: str, low: tuple[float, float], high: tuple[float, float]) -> None:
        rows.append(
            {
                "driver": label,
                "yield_low": low[0],
                "yield_high": high[0],
                "base": base,
                "swing": abs(high[0] - low[0]),
                "value_low": low[1],
                "value_high": high[1],
                "value_base": value_base,
            }
        )

    def at(**changes) -> tuple[float, float]:
        case = (changes.get("spec", spec), changes.get("typical", typical), changes.get("calibration", calibration))
        return p50_yield(*case, start, months, model_weight), dcf_value_per_token(*case, start)[0]

    driver = [at(typical=typical_year(spec, driver_factor=f, weather=weather)) for f in (1 - step, 1 + step)]
    add(driver_name(spec), *driver)
    # The trend is scaled relative to its size: +10 % degradation means a 10 % larger yearly loss.
    trend = [
        at(
            calibration=replace(
                calibration, trend_per_year=calibration.trend_per_year * f, trend_estimated=calibration.trend_estimated
            )
        )
        for f in (1 - step, 1 + step)
    ]
    add(_trend_label(spec), *trend)
    avail = [
        at(calibration=replace(calibration, availability=min(1.0, calibration.availability * f)))
        for f in (1 - step, 1 + step)
    ]
    add("availability", *avail)
    tariff = [
        at(
            spec=replace(
                spec,
                tariff=spec.tariff.scaled(f),
                storage=replace(spec.storage, charge_price_per_kwh=spec.storage.charge_price_per_kwh * f),
            )
        )
        for f in (1 - step, 1 + step)
    ]
    add("tariff", *tariff)
    opex = [
        at(
            spec=replace(
                spec,
                finance=replace(
                    spec.finance,
                    opex_per_year=spec.finance.opex_per_year * f,
                    opex_per_kwh=spec.finance.opex_per_kwh * f,
                ),
            )
        )
        for f in (1 - step, 1 + step)
    ]
    add("opex", *opex)
    return pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
