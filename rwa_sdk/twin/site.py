"""One entry point from a spec to its typical year, whatever the asset kind."""

from __future__ import annotations

import pandas as pd

from .charging import charger_typical_year
from .profile import TypicalYear
from .pv import pv_typical_year
from .spec import Location, SiteSpec
from .storage import storage_typical_year


def typical_year(
    spec: SiteSpec, driver_factor: float = 1.0, weather: pd.DataFrame | None = None, weather_site: Location | None = None
) -> TypicalYear:
    """The spec's typical year; ``driver_factor`` scales the main physical driver.

    The driver is irradiance for PV, cycles per day for storage and sessions for chargers/swap, so
    a sensitivity run can move "the resource" the same way for every kind.
    """
    if spec.kind == "pv":
        return pv_typical_year(spec, weather=weather, irradiance_factor=driver_factor, weather_site=weather_site)
    if spec.kind == "storage":
        return storage_typical_year(spec, cycles_factor=driver_factor)
    return charger_typical_year(spec, utilisation_factor=driver_factor)


def driver_name(spec: SiteSpec) -> str:
    """What ``driver_factor`` moves for this kind (used as a label in the tornado)."""
    return {"pv": "irradiance", "storage": "cycles per day"}.get(spec.kind, "utilisation")
