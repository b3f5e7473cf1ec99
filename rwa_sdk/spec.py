"""The declarative description of one tokenized asset, read from TOML (or YAML).

A spec says what the plant is (kind, capacity, location, devices), who may hold its token
(countries, risk level, caps) and how it earns (tariff, opex). Every problem is reported with the
dotted path of the field at fault, e.g. ``compliance.allowed_countries[2]: unknown country 'XX'``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from iso3166 import countries as iso_countries

from .spec_check import OPEN, unknown_names

KINDS = ("pv", "storage", "charger", "swap")
DEVICE_TYPES = ("pv-inverter", "battery", "charger", "swap-station")
DEFAULT_DEVICE_TYPE = {"pv": "pv-inverter", "storage": "battery", "charger": "charger", "swap": "swap-station"}


class SpecError(ValueError):
    """The spec is invalid; ``field`` names the offending entry."""

    def __init__(self, field_path: str, problem: str):
        self.field = field_path
        self.problem = problem
        super().__init__(f"{field_path}: {problem}")


class UnknownNameError(SpecError):
    """A section or key the spec does not know (a typo would silently drop a rule)."""

    def __init__(self, field_path: str, message: str):
        super().__init__(field_path, message)
        self.args = (message,)

    def __str__(self) -> str:
        return self.problem


SCHEMA: dict[str, Any] = {
    "asset": {"name": None, "symbol": None, "kind": None, "capacity_kw": None, "risk_level": None},
    "location": {"latitude": None, "longitude": None, "altitude_m": None, "timezone": None, "country": None},
    "site": OPEN,  # kind-specific model inputs for the digital twin
    "offering": {"supply_cap": None, "price_usd": None, "min_ticket_usd": None, "period_cap_usd": None},
    "revenue": {"tariff_usd_per_kwh": None, "opex_usd_per_year": None},
    "compliance": {"allowed_countries": None, "blocked_countries": None, "professional_only_countries": None,
                   "max_holders": None, "max_balance_per_investor": None, "lockup_days": None},
    "devices": [{"type": None, "count": None, "capacity_kw": None}],
}


def check_names(data: Any, text: str | None = None, file: str | Path | None = None) -> None:
    """Refuse the first unknown section or key, naming its line and the closest valid name."""
    unknown = unknown_names(data, SCHEMA, text, file)
    if unknown:
        first = unknown[0]
        more = f" (and {len(unknown) - 1} more unknown name(s))" if len(unknown) > 1 else ""
        raise UnknownNameError(first.dotted, first.message + more)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    altitude_m: float
    timezone: str
    country: int  # ISO 3166-1 numeric, as ERC-3643 registries store it


@dataclass(frozen=True)
class DeviceGroup:
    """``count`` identical devices of one type, e.g. 50 inverters of 100 kW."""

    type: str
    count: int
    capacity_kw: float


@dataclass(frozen=True)
class Compliance:
    allowed_countries: tuple[int, ...] = ()
    blocked_countries: tuple[int, ...] = ()
    professional_only_countries: tuple[int, ...] = ()
    max_holders: int = 0  # 0 = no limit
    max_balance_per_investor: int = 0  # tokens; 0 = no limit
    lockup_days: int = 0


@dataclass(frozen=True)
class Offering:
    supply_cap: int  # whole tokens
    price_usd: Decimal  # per token at issuance
    min_ticket_usd: Decimal = Decimal(0)
    period_cap_usd: Decimal = Decimal(0)  # 0 = no cap


@dataclass(frozen=True)
class Revenue:
    tariff_usd_per_kwh: Decimal
    opex_usd_per_year: Decimal = Decimal(0)


@dataclass(frozen=True)
class AssetSpec:
    name: str
    symbol: str
    kind: str
    capacity_kw: float
    risk_level: int
    location: Location
    offering: Offering
    revenue: Revenue
    compliance: Compliance = field(default_factory=Compliance)
    devices: tuple[DeviceGroup, ...] = ()
    site: dict[str, Any] = field(default_factory=dict)  # kind-specific model inputs (tilt, azimuth, ...)

    @property
    def device_count(self) -> int:
        return sum(group.count for group in self.devices)


# -- parsing helpers: each names the field it reads --------------------------------------
class _Reader:
    def __init__(self, data: dict, path: str = ""):
        if not isinstance(data, dict):
            raise SpecError(path or "<root>", f"expected a table, got {type(data).__name__}")
        self.data = data
        self.path = path

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def table(self, key: str, required: bool = True) -> _Reader:
        if key not in self.data:
            if required:
                raise SpecError(self._at(key), "missing section")
            return _Reader({}, self._at(key))
        return _Reader(self.data[key], self._at(key))

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise SpecError(self._at(key), "missing")
            return default
        return self.data[key]

    def text(self, key: str, default: Any = ..., choices: tuple[str, ...] = ()) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise SpecError(self._at(key), f"expected a non-empty string, got {value!r}")
        if choices and value not in choices:
            raise SpecError(self._at(key), f"must be one of {', '.join(choices)}, got {value!r}")
        return value.strip()

    def number(self, key: str, default: Any = ..., minimum: float | None = None, maximum: float | None = None,
               positive: bool = False) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpecError(self._at(key), f"expected a finite number, got {value!r}")
        if positive and value <= 0:
            raise SpecError(self._at(key), f"must be greater than 0, got {value}")
        if minimum is not None and value < minimum:
            raise SpecError(self._at(key), f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SpecError(self._at(key), f"must be at most {maximum}, got {value}")
        return float(value)

    def integer(self, key: str, default: Any = ..., minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(self._at(key), f"expected a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise SpecError(self._at(key), f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SpecError(self._at(key), f"must be at most {maximum}, got {value}")
        return value

    def money(self, key: str, default: Any = ..., positive: bool = False) -> Decimal:
        value = self.raw(key, default)
        if isinstance(value, bool):
            raise SpecError(self._at(key), f"expected an amount, got {value!r}")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise SpecError(self._at(key), f"expected an amount, got {value!r}") from None
        if not amount.is_finite():
            raise SpecError(self._at(key), f"expected an amount, got {value!r}")
        if amount < 0 or (positive and amount == 0):
            raise SpecError(self._at(key), f"must be {'greater than' if positive else 'at least'} 0, got {value}")
        return amount

    def countries(self, key: str) -> tuple[int, ...]:
        values = self.raw(key, [])
        if not isinstance(values, list):
            raise SpecError(self._at(key), f"expected a list of country codes, got {values!r}")
        return tuple(country_code(v, f"{self._at(key)}[{i}]") for i, v in enumerate(values))


def country_code(value: Any, field_path: str = "country") -> int:
    """ISO 3166-1 numeric code from ``"ES"``, ``"ESP"``, ``"724"`` or ``724``."""
    try:
        return int(iso_countries.get(str(value).zfill(3) if isinstance(value, int) else str(value)).numeric)
    except (KeyError, ValueError):
        raise SpecError(field_path, f"unknown country {value!r} (use ISO 3166-1 codes such as 'ES' or 724)") from None


def country_label(code: int) -> str:
    """``US (United States of America, 840)`` for 840: registries store numbers, people read codes."""
    try:
        country = iso_countries.get(str(int(code)).zfill(3))
    except (KeyError, ValueError):
        return f"country {code}"
    return f"{country.alpha2} ({country.apolitical_name}, {int(country.numeric)})"


def with_country_names(text: str) -> str:
    """``country (840)`` in a rule's words becomes ``country US (United States of America, 840)``."""
    import re

    return re.sub(r"country \((\d{1,3})\)", lambda m: f"country {country_label(int(m.group(1)))}", text)


def parse_spec(data: dict) -> AssetSpec:
    """Validate a spec already loaded into a dict (unknown sections and keys are errors)."""
    root = _Reader(data)
    check_names(data)
    asset = root.table("asset")
    kind = asset.text("kind", choices=KINDS)
    symbol = asset.text("symbol")
    if not (symbol.isalnum() and symbol.isupper() and len(symbol) <= 11):
        raise SpecError("asset.symbol", f"use 1-11 upper-case letters or digits, got {symbol!r}")
    loc = root.table("location")
    location = Location(
        latitude=loc.number("latitude", minimum=-90, maximum=90),
        longitude=loc.number("longitude", minimum=-180, maximum=180),
        altitude_m=loc.number("altitude_m", 0.0),
        timezone=loc.text("timezone", "UTC"),
        country=country_code(loc.raw("country"), "location.country"),
    )
    offer = root.table("offering")
    offering = Offering(
        supply_cap=offer.integer("supply_cap", minimum=1),
        price_usd=offer.money("price_usd", positive=True),
        min_ticket_usd=offer.money("min_ticket_usd", 0),
        period_cap_usd=offer.money("period_cap_usd", 0),
    )
    rev = root.table("revenue")
    revenue = Revenue(rev.money("tariff_usd_per_kwh", positive=True), rev.money("opex_usd_per_year", 0))
    comp = root.table("compliance", required=False)
    compliance = Compliance(
        allowed_countries=comp.countries("allowed_countries"),
        blocked_countries=comp.countries("blocked_countries"),
        professional_only_countries=comp.countries("professional_only_countries"),
        max_holders=comp.integer("max_holders", 0, minimum=0),
        max_balance_per_investor=comp.integer("max_balance_per_investor", 0, minimum=0),
        lockup_days=comp.integer("lockup_days", 0, minimum=0, maximum=3650),
    )
    overlap = set(compliance.allowed_countries) & set(compliance.blocked_countries)
    if overlap:
        raise SpecError("compliance.blocked_countries", f"countries both allowed and blocked: {sorted(overlap)}")
    devices = _devices(root.raw("devices", []), kind)
    site = root.raw("site", {})
    if not isinstance(site, dict):
        raise SpecError("site", f"expected a table, got {site!r}")
    return AssetSpec(
        name=asset.text("name"),
        symbol=symbol,
        kind=kind,
        capacity_kw=asset.number("capacity_kw", positive=True),
        risk_level=asset.integer("risk_level", minimum=1, maximum=5),
        location=location,
        offering=offering,
        revenue=revenue,
        compliance=compliance,
        devices=devices,
        site=dict(site),
    )


def _devices(raw: Any, kind: str) -> tuple[DeviceGroup, ...]:
    if not isinstance(raw, list):
        raise SpecError("devices", f"expected a list of device groups, got {raw!r}")
    groups = []
    for index, entry in enumerate(raw):
        group = _Reader(entry, f"devices[{index}]")
        groups.append(
            DeviceGroup(
                type=group.text("type", DEFAULT_DEVICE_TYPE[kind], choices=DEVICE_TYPES),
                count=group.integer("count", minimum=1, maximum=1_000_000),
                capacity_kw=group.number("capacity_kw", positive=True),
            )
        )
    return tuple(groups)


def load_spec(path: str | Path) -> AssetSpec:
    """Read a ``.toml`` (or ``.yaml``/``.yml``) asset spec and validate it."""
    return parse_spec(read_spec_file(path))


def read_spec_file(path: str | Path) -> dict:
    """The raw contents of a spec file (TOML, or YAML by extension), not yet validated."""
    path = Path(path)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise SpecError("<file>", f"{path.name} is not valid YAML: {error}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise SpecError("<file>", f"{path.name} is not valid TOML: {error}") from None
    check_names(data, text, path)
    return data
