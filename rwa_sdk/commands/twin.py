"""The twin's inputs for a deployed asset: its spec as a twin ``SiteSpec``, its anchored energy as readings.

``rwa twin report --asset SYMBOL`` uses these; they keep the twin itself chain-agnostic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..spec import AssetSpec, SpecError
from ..twin.readings import readings_frame
from ..twin.spec import ChargerParams, PvParams, SiteSpec, StorageParams, spec_from_dict
from ..twin.spec import SpecError as TwinSpecError

ANCHORED_DEVICE = "anchored"  # batches aggregate every device, so the twin sees one meter
SECTIONS = {"pv": PvParams, "storage": StorageParams, "charger": ChargerParams}
SECTION_OF_KIND = {"pv": "pv", "storage": "storage", "charger": "charger", "swap": "charger"}
ALIASES = {"system_losses_pct": ("pv", "losses_pct")}
TOP_LEVEL = ("commissioned", "availability", "degradation_per_year", "capacity")


def site_spec(spec: AssetSpec) -> SiteSpec:
    """The twin's view of an asset spec; ``[site]`` entries fill the model parameters.

    A ``[site]`` key is a model field of the asset's kind (``tilt_deg``, ``cycles_per_day``, ...),
    one of ``commissioned``/``availability``/``degradation_per_year``/``capacity`` or a table named
    ``pv``/``storage``/``charger``; anything else is reported as ``site.<key>``.
    """
    data: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "capacity": spec.device_count if spec.kind in ("charger", "swap") and spec.device_count else spec.capacity_kw,
        "location": {"latitude": spec.location.latitude, "longitude": spec.location.longitude,
                     "altitude_m": spec.location.altitude_m, "tz": spec.location.timezone},
        "tariff": {"flat_per_kwh": float(spec.revenue.tariff_usd_per_kwh)},
        "finance": {"opex_per_year": float(spec.revenue.opex_usd_per_year),
                    "token_supply": float(spec.offering.supply_cap),
                    "token_price": float(spec.offering.price_usd), "currency": "USD"},
    }
    own = SECTION_OF_KIND[spec.kind]
    for key, value in spec.site.items():
        if key in ALIASES:
            section, name = ALIASES[key]
            data.setdefault(section, {})[name] = value
        elif key in TOP_LEVEL:
            data[key] = value
        elif key in SECTIONS and isinstance(value, Mapping):
            data.setdefault(key, {}).update(value)
        else:
            section = next((s for s in (own, *SECTIONS) if key in _field_names(SECTIONS[s])), None)
            if section is None:
                raise SpecError(f"site.{key}", "not a digital-twin model input")
            data.setdefault(section, {})[key] = value
    try:
        return spec_from_dict(data)
    except TwinSpecError as error:
        raise SpecError(f"site.{error.field_name}", error.problem) from None
    except (TypeError, ValueError) as error:
        raise SpecError("site", str(error)) from None


def batches_frame(batches: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A readings frame from anchored batches: one row per batch span (``fromTime``..``toTime``).

    Batches covering the same span are summed first (a large period is anchored in several
    batches), so none is lost to the frame's per-period de-duplication.
    """
    spans: dict[tuple[int, int], int] = {}
    for batch in batches:
        span = (int(batch["fromTime"]), int(batch["toTime"]))
        spans[span] = spans.get(span, 0) + int(batch["totalEnergyWh"])
    return readings_frame({"periodStart": start, "periodEnd": end, "energyWh": energy, "device": ANCHORED_DEVICE}
                          for (start, end), energy in sorted(spans.items()))


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def asset_inputs(network: str, dev_accounts: bool, deployments: Any, symbol: str) -> tuple[SiteSpec, pd.DataFrame]:
    """Spec and readings of the asset ``symbol`` on ``network`` (read-only)."""
    from .common import Target, open_asset

    with open_asset(Target(network, dev_accounts, deployments), symbol, read_only=True) as asset:
        return site_spec(asset.spec), batches_frame(asset.anchored_batches())
