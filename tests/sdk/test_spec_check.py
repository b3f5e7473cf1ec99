"""Strict specs: a misspelt section or key is refused with its file, line and the name meant.

The attack is the silent typo: ``[complaince]`` used to deploy two compliance modules instead of
seven, ``lockup_dayz`` no lock-up at all. Every name of both spec kinds (asset and twin) is
misspelt here; none may load.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.asset import compliance_rules, deployment_plan
from rwa_sdk.spec import SCHEMA, SpecError, UnknownNameError, load_spec, parse_spec, read_spec_file
from rwa_sdk.spec_check import OPEN, unknown_names
from rwa_sdk.twin import spec as twin_spec

from ..conftest import ROOT

ASSET = ROOT / "examples" / "solar-5mw.toml"
SITE = ROOT / "examples" / "site_pv.toml"


def _names(schema, prefix=()):
    """(path, is_section) of every name a schema allows."""
    for key, sub in schema.items():
        yield (*prefix, key), isinstance(sub, (dict, list)) or sub is OPEN
        if isinstance(sub, dict):
            yield from _names(sub, (*prefix, key))
        elif isinstance(sub, list):
            yield from _names(sub[0], (*prefix, key))


def _misspell(name: str, how: int, at: int) -> str:
    at %= len(name)
    if how == 0 and len(name) > 3:
        return name[:at] + name[at + 1:]  # a letter dropped
    if how == 1 and at < len(name) - 1 and name[at] != name[at + 1]:
        return name[:at] + name[at + 1] + name[at] + name[at + 2:]  # two letters swapped
    return name[:at] + name[at] + name[at:]  # a letter doubled


def _rename_first(text: str, path: tuple[str, ...], new: str) -> tuple[str, int]:
    """``text`` with the first definition of ``path``'s last name renamed; returns the line renamed (1-based)."""
    lines = text.splitlines()
    section = None
    for number, line in enumerate(lines):
        header = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            section = header.group(1)
            if len(path) == 1 and section == path[0]:
                lines[number] = line.replace(path[0], new, 1)
                return "\n".join(lines) + "\n", number + 1
            continue
        key = re.match(rf"^(\s*){re.escape(path[-1])}(\s*=)", line)
        expected_section = path[0] if len(path) > 1 else None
        if key and section == expected_section:
            lines[number] = f"{key.group(1)}{new}{key.group(2)}{line[key.end():]}"
            return "\n".join(lines) + "\n", number + 1
    raise AssertionError(f"{path} not in the example")


ASSET_NAMES = [(p, s) for p, s in _names(SCHEMA) if p[0] != "site"]


@given(st.sampled_from(ASSET_NAMES), st.integers(0, 2), st.integers(0, 40))
def test_property_any_misspelt_asset_spec_name_is_refused_with_line_and_the_name_meant(tmp_path_factory, target, how, at):
    (path, is_section) = target
    wrong = _misspell(path[-1], how, at)
    text, line = _rename_first(ASSET.read_text(), path, wrong)
    spec = tmp_path_factory.mktemp("typo") / "typo.toml"
    spec.write_text(text)
    with pytest.raises(UnknownNameError) as caught:
        load_spec(spec)
    message = str(caught.value)
    assert message.startswith(f"{spec}: unknown {'section' if is_section else 'key'} ")
    assert f"(line {line})" in message
    meant = f"[{path[0]}]" if is_section else f"`{path[-1]}`"
    assert message.endswith(f"did you mean {meant}?"), message
    assert (f"[{wrong}]" if is_section else f"`{wrong}`") in message


def test_the_examples_of_the_issue_read_as_promised(tmp_path):
    text = ASSET.read_text()
    cases = {
        text.replace("[compliance]", "[complaince]"): "unknown section [complaince] (line 32); did you mean [compliance]?",
        text.replace("lockup_days", "lockup_dayz"): "unknown key `lockup_dayz` in [compliance] (line 38); "
                                                      "did you mean `lockup_days`?",
        text.replace("capacity_kw = 5000", "capcity_kw = 5000"): "unknown key `capcity_kw` in [asset] (line 7); "
                                                                  "did you mean `capacity_kw`?",
        text.replace("count = 50", "cuont = 50"): "unknown key `cuont` in devices[0] (line 42); did you mean `count`?",
    }
    for bad, expected in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(bad)
        with pytest.raises(SpecError, match=re.escape(expected)):
            read_spec_file(path)


def test_a_dict_spec_is_strict_too_and_free_site_inputs_stay_free():
    raw = read_spec_file(ASSET)
    raw["site"]["anything_the_twin_reads"] = 1
    assert parse_spec(raw).site["anything_the_twin_reads"] == 1
    raw["compliance"]["lockup_dayz"] = 90
    with pytest.raises(UnknownNameError, match="unknown key `lockup_dayz` in \\[compliance\\]; did you mean"):
        parse_spec(raw)


def test_yaml_specs_report_the_line_as_well(tmp_path):
    import yaml

    raw = read_spec_file(ASSET)
    raw["compliance"]["max_holderz"] = raw["compliance"].pop("max_holders")
    path = tmp_path / "asset.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "max_holderz" in text)
    with pytest.raises(UnknownNameError, match=rf"max_holderz` in \[compliance\] \(line {line}\); did you mean `max_holders`"):
        load_spec(path)


def _twin_schema():
    from rwa_sdk.spec_check import schema_of

    t = twin_spec
    return schema_of(t.SiteSpec, {"location": schema_of(t.Location),
                                  "tariff": schema_of(t.Tariff, {"tou": [schema_of(t.TouBand)]}),
                                  "finance": schema_of(t.Finance), "pv": schema_of(t.PvParams),
                                  "storage": schema_of(t.StorageParams), "charger": schema_of(t.ChargerParams)})


@pytest.mark.parametrize("old,new,expected", [
    ("losses_pct = 14.0", "loses_pct = 14.0", "unknown key `loses_pct` in [pv] (line 18); did you mean `losses_pct`?"),
    ("[finance]", "[finanse]", "unknown section [finanse] (line 26); did you mean [finance]?"),
    ("start_hour = 16", "start_hr = 16", "unknown key `start_hr` in tariff.tou[0] (line 24); did you mean `start_hour`?"),
    ("availability = 0.99", "availabilty = 0.99", "unknown key `availabilty` (line 5); did you mean `availability`?"),
])
def test_twin_specs_name_the_typo_its_line_and_the_name_meant(tmp_path, old, new, expected):
    path = tmp_path / "site.toml"
    path.write_text(SITE.read_text().replace(old, new, 1))
    with pytest.raises(twin_spec.SpecError) as caught:
        twin_spec.load_spec(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_the_shipped_specs_have_no_unknown_names():
    import tomllib

    assert unknown_names(read_spec_file(ASSET), SCHEMA) == []
    for site in ("site_pv.toml", "site_charger.toml"):
        text = (ROOT / "examples" / site).read_text()
        assert unknown_names(tomllib.loads(text), _twin_schema(), text) == []
        twin_spec.load_spec(ROOT / "examples" / site)


def test_dry_run_plan_names_every_contract_and_every_rule_in_words():
    spec = load_spec(ASSET)
    plan = dict(deployment_plan(spec))
    rules = dict(compliance_rules(spec))
    assert len(rules) == 7 and all(f"  {module}" in plan for module in rules)
    assert "ES (Spain, 724)" in rules["CountryAllowModule"] and "US (United States of America, 840)" in \
        rules["CountryRestrictModule"]
    assert "90 days" in rules["LockUpModule"] and "500,000 SUN5" in rules["MaxBalanceModule"]
    assert "DE (Germany, 276) must be professional" in rules["InvestorSuitabilityModule"]
    for contract in ("AssetToken", "Stablecoin", "DeviceRegistry", "ReadingOracle", "SubscriptionVault",
                     "RevenueDistributor", "DvPSettlement", "ModularCompliance"):
        assert contract in plan
    assert "minimum ticket 1,000 USD" in plan["SubscriptionVault"] and "0.085 USD/kWh" in plan["RevenueDistributor"]
    assert "uses 0xC0FFEE" in dict(deployment_plan(spec, "0xC0FFEE"))["Stablecoin"]
    raw = read_spec_file(ASSET)
    del raw["compliance"]
    bare = dict(compliance_rules(parse_spec(raw)))
    assert set(bare) == {"SupplyLimitModule", "InvestorSuitabilityModule"}  # what create then deploys, no more
