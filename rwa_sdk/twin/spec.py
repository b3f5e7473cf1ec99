"""Site specification: the frozen description of an asset that every twin model starts from.

A spec says what was built (kind, size, place, orientation, losses) and how it earns (tariff, opex,
tokens). It is deliberately chain-agnostic so the twin can run on a TOML file alone.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import tomllib

SiteKind = Literal["pv", "storage", "charger", "swap"]
KINDS: tuple[str, ...] = ("pv", "storage", "charger", "swap")


class SpecError(ValueError):
    """A site spec is missing a field or holds a value outside its physical range."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field_name = field_name
        self.problem = problem


@dataclass(frozen=True)
class Location:
    """Where the asset stands; ``tz`` is an IANA name or a fixed offset such as ``Etc/GMT+5``."""

    latitude: float
    longitude: float
    altitude_m: float = 0.0
    tz: str = "UTC"


@dataclass(frozen=True)
class TouBand:
    """A time-of-use band: hours ``[start_hour, end_hour)`` local time; ``end_hour`` may wrap past 24."""

    start_hour: int
    end_hour: int
    price_per_kwh: float

    def covers(self, hour: int) -> bool:
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour


@dataclass(frozen=True)
class Tariff:
    """Price of delivered energy: flat, or time-of-use bands (hours not in a band pay the flat price)."""

    flat_per_kwh: float
    tou: tuple[TouBand, ...] = ()

    def price_by_hour(self) -> tuple[float, ...]:
        """The price for each local hour 0..23."""
        prices = []
        for hour in range(24):
            band = next((b for b in self.tou if b.covers(hour)), None)
            prices.append(band.price_per_kwh if band else self.flat_per_kwh)
        return tuple(prices)

    def scaled(self, factor: float) -> Tariff:
        return Tariff(
            self.flat_per_kwh * factor, tuple(replace(b, price_per_kwh=b.price_per_kwh * factor) for b in self.tou)
        )


@dataclass(frozen=True)
class PvParams:
    """PVWatts-style array: nameplate DC at STC, orientation, lumped losses, inverter and temperature."""

    tilt_deg: float = 25.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    dc_ac_ratio: float = 1.2
    inverter_efficiency: float = 0.96
    gamma_pdc_per_c: float = -0.0037
    # None: the weather file's albedo when it has one, else 0.2 (set it for snow on steep arrays).
    albedo: float | None = None
    weather_file: str = "723170TYA.CSV"


@dataclass(frozen=True)
class StorageParams:
    """A battery run for daily arbitrage: cycles per day at a depth of discharge, with capacity fade."""

    depth_of_discharge: float = 0.9
    round_trip_efficiency: float = 0.88
    cycles_per_day: float = 1.0
    cycles_per_day_sd: float = 0.15
    calendar_fade_per_year: float = 0.01
    fade_per_cycle: float = 0.00004
    charge_price_per_kwh: float = 0.05
    charge_hour: int = 2
    discharge_hour: int = 18


@dataclass(frozen=True)
class ChargerParams:
    """Chargers or swap bays: sessions per unit per day, energy per session, demand growth and shape."""

    sessions_per_unit_day: float = 6.0
    energy_per_session_kwh: float = 25.0
    growth_per_year: float = 0.08
    weekend_factor: float = 0.8
    daily_sd_rel: float = 0.1
    # Share of a day's sessions starting in each local hour (None: a commuter double peak).
    hourly_shape: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Finance:
    """How energy becomes money for holders: opex, the share distributed, tokens, price and life."""

    opex_per_year: float = 0.0
    opex_per_kwh: float = 0.0
    distribution_share: float = 1.0
    token_supply: float = 1_000_000.0
    token_price: float = 1.0
    life_years: float = 25.0
    discount_rate: float = 0.08
    currency: str = "USD"


@dataclass(frozen=True)
class SiteSpec:
    """An asset as built. ``capacity`` is kW DC (pv), kWh usable (storage) or units (charger/swap).

    ``degradation_per_year`` is the fractional output loss per year (pv); storage uses its fade
    parameters and chargers their growth instead. ``availability`` is the expected share of time up.
    """

    name: str
    kind: SiteKind
    capacity: float
    location: Location
    tariff: Tariff
    finance: Finance = field(default_factory=Finance)
    commissioned: dt.date | None = None
    availability: float = 0.99
    degradation_per_year: float = 0.005
    pv: PvParams = field(default_factory=PvParams)
    storage: StorageParams = field(default_factory=StorageParams)
    charger: ChargerParams = field(default_factory=ChargerParams)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if not self.capacity > 0:
            raise SpecError("capacity", "must be positive")
        if not 0 < self.availability <= 1:
            raise SpecError("availability", "must be in (0, 1]")
        if not -90 <= self.location.latitude <= 90:
            raise SpecError("location.latitude", "must be within ±90")
        if not self.finance.token_supply > 0:
            raise SpecError("finance.token_supply", "must be positive")
        if not 0 < self.storage.round_trip_efficiency <= 1:
            raise SpecError("storage.round_trip_efficiency", "must be in (0, 1]")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    known = {f.name for f in fields(cls)}
    if cls is SiteSpec:
        known |= {"location", "tariff", "finance", "pv", "storage", "charger"}
    unknown = sorted(set(data) - known)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(sorted(known))})"
        raise SpecError(prefix + name, f"unknown key{hint}")
    return cls(**data)


def spec_from_dict(data: dict[str, Any]) -> SiteSpec:
    """Build a spec from plain data (a parsed TOML/JSON document); unknown keys are rejected."""
    data = dict(data)
    for required in ("name", "kind", "capacity", "location", "tariff"):
        if required not in data:
            typo = difflib.get_close_matches(required, [str(k) for k in data], n=1, cutoff=0.6)
            raise SpecError(required, f"missing; found unknown key `{typo[0]}`: a typo?" if typo else "missing")
    tariff = dict(data.pop("tariff"))
    bands = tuple(_build(TouBand, dict(b), "tariff.tou.") for b in tariff.pop("tou", ()))
    kwargs: dict[str, Any] = {
        "location": _build(Location, dict(data.pop("location")), "location."),
        "tariff": _build(Tariff, {**tariff, "tou": bands}, "tariff."),
    }
    for key, cls in (("finance", Finance), ("pv", PvParams), ("storage", StorageParams), ("charger", ChargerParams)):
        if key in data:
            section = dict(data.pop(key))
            if "hourly_shape" in section and section["hourly_shape"] is not None:
                section["hourly_shape"] = tuple(float(x) for x in section["hourly_shape"])
            kwargs[key] = _build(cls, section, key + ".")
    if "commissioned" in data and isinstance(data["commissioned"], str):
        data["commissioned"] = dt.date.fromisoformat(data["commissioned"])
    return _build(SiteSpec, {**data, **kwargs}, "")


def _line_of(path: Path, key: str) -> int | None:
    """The first line of a TOML file that defines ``key`` or opens a ``[key]`` table."""
    pattern = re.compile(rf"^\s*(\[+\s*([\w.]+\.)?{re.escape(key)}\s*\]+|{re.escape(key)}\s*=)")
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if pattern.match(text):
            return number
    return None


def load_spec(path: str | Path) -> SiteSpec:
    """Read a site spec from a TOML file (see examples/site_pv.toml); a typo is named with its line.

    A relative ``pv.weather_file`` that exists next to the spec is taken from there.
    """
    from ..spec_check import schema_of, unknown_names

    try:
        text = Path(path).read_text()
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(Path(path).name, f"not valid TOML ({error})") from None
    schema = schema_of(SiteSpec, {
        "location": schema_of(Location), "tariff": schema_of(Tariff, {"tou": [schema_of(TouBand)]}),
        **{key: schema_of(cls) for key, cls in (("finance", Finance), ("pv", PvParams), ("storage", StorageParams),
                                                 ("charger", ChargerParams))}})
    unknown = unknown_names(data, schema, text)
    if unknown:
        raise SpecError(str(path), unknown[0].message)
    try:
        spec = spec_from_dict(data)
    except SpecError as error:
        line = _line_of(Path(path), error.field_name.rsplit(".", 1)[-1])
        where = f" (line {line})" if line else ""
        raise SpecError(f"{Path(path).name}: {error.field_name}", f"{error.problem}{where}") from None
    beside = Path(path).parent / spec.pv.weather_file
    if not Path(spec.pv.weather_file).is_absolute() and beside.is_file():
        spec = replace(spec, pv=replace(spec.pv, weather_file=str(beside)))
    return spec
