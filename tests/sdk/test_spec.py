"""The asset spec loader accepts the example and names the field at fault in every bad spec."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.spec import SpecError, country_code, load_spec, parse_spec

from ..conftest import ROOT

EXAMPLE = ROOT / "examples" / "solar-5mw.toml"


@pytest.fixture
def raw() -> dict:
    return tomllib.loads(EXAMPLE.read_text())


def test_example_spec_loads_with_numeric_country_codes():
    spec = load_spec(EXAMPLE)
    assert (spec.kind, spec.capacity_kw, spec.risk_level, spec.device_count) == ("pv", 5000.0, 3, 50)
    assert spec.location.country == 724
    assert spec.compliance.allowed_countries[:2] == (724, 620)
    assert spec.compliance.professional_only_countries == (276,)
    assert spec.offering.price_usd == Decimal("1.0") and spec.revenue.tariff_usd_per_kwh == Decimal("0.085")


def test_yaml_spec_is_equivalent(tmp_path, raw):
    import yaml

    path = tmp_path / "asset.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_spec(path) == load_spec(EXAMPLE)


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (lambda d: d.pop("asset"), "asset", "missing section"),
        (lambda d: d["asset"].pop("symbol"), "asset.symbol", "missing"),
        (lambda d: d["asset"].update(kind="wind"), "asset.kind", "must be one of pv, storage, charger, swap"),
        (lambda d: d["asset"].update(symbol="sun 5"), "asset.symbol", "upper-case"),
        (lambda d: d["asset"].update(capacity_kw=0), "asset.capacity_kw", "greater than 0"),
        (lambda d: d["asset"].update(risk_level=6), "asset.risk_level", "at most 5"),
        (lambda d: d["asset"].update(risk_level="high"), "asset.risk_level", "whole number"),
        (lambda d: d["location"].update(latitude=91), "location.latitude", "at most 90"),
        (lambda d: d["location"].update(country="XX"), "location.country", "unknown country 'XX'"),
        (lambda d: d["compliance"]["allowed_countries"].append("ZZ"), "compliance.allowed_countries[6]", "unknown country"),
        (lambda d: d["compliance"].update(blocked_countries=["ES"]), "compliance.blocked_countries", "both allowed and blocked"),
        (lambda d: d["offering"].update(price_usd="free"), "offering.price_usd", "expected an amount"),
        (lambda d: d["offering"].update(price_usd=0), "offering.price_usd", "greater than 0"),
        (lambda d: d["revenue"].update(opex_usd_per_year=-1), "revenue.opex_usd_per_year", "at least 0"),
        (lambda d: d["devices"][0].update(count=0), "devices[0].count", "at least 1"),
        (lambda d: d["devices"][0].update(type="toaster"), "devices[0].type", "must be one of"),
        (lambda d: d.update(devices={"a": 1}), "devices", "list of device groups"),
    ],
)
def test_bad_spec_names_the_field(raw, edit, field, words):
    edit(raw)
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert caught.value.field == field
    assert words in str(caught.value) and str(caught.value).startswith(f"{field}: ")


def test_invalid_toml_is_a_spec_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[asset\nname = 1")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(path)


def test_country_codes_accept_alpha2_alpha3_and_numeric():
    assert country_code("es") == country_code("ESP") == country_code("724") == country_code(724) == 724
    assert country_code(76) == 76  # Brazil, numeric without leading zero


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))


@given(
    section=st.sampled_from(["asset", "location", "offering", "revenue", "compliance"]),
    key=st.text(min_size=1, max_size=20),
    value=st.one_of(_scalars, st.lists(_scalars, max_size=3), st.dictionaries(st.text(max_size=4), _scalars, max_size=2)),
)
def test_property_any_corruption_is_accepted_or_a_spec_error(section, key, value):
    data = tomllib.loads(EXAMPLE.read_text())
    corrupted = copy.deepcopy(data)
    corrupted[section][key] = value
    try:
        parse_spec(corrupted)
    except SpecError as error:
        assert error.field.startswith(section)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_are_rejected(raw, value):
    raw["location"]["latitude"] = value
    with pytest.raises(SpecError, match="finite"):
        parse_spec(raw)
    raw["location"]["latitude"] = 40.0
    raw["revenue"]["tariff_usd_per_kwh"] = value
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert caught.value.field == "revenue.tariff_usd_per_kwh"
