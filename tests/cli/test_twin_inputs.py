"""The twin's view of an asset spec and of anchored batches (no chain needed)."""

from __future__ import annotations

import pytest

from rwa_sdk.commands.twin import ANCHORED_DEVICE, batches_frame, site_spec
from rwa_sdk.spec import SpecError, parse_spec, read_spec_file

from .conftest import SPEC


def spec_with(**site):
    raw = read_spec_file(SPEC)
    raw["site"] = site
    return parse_spec(raw)


def test_site_entries_become_model_parameters_and_money_carries_over():
    twin = site_spec(spec_with(tilt_deg=20, azimuth_deg=170, system_losses_pct=11, availability=0.97))
    assert (twin.pv.tilt_deg, twin.pv.azimuth_deg, twin.pv.losses_pct, twin.availability) == (20, 170, 11, 0.97)
    assert (twin.capacity, twin.location.tz, twin.tariff.flat_per_kwh) == (5000, "Europe/Madrid", 0.085)
    assert (twin.finance.token_supply, twin.finance.token_price, twin.finance.opex_per_year) == (5e6, 1.0, 60_000)


def test_an_unknown_site_entry_is_named():
    with pytest.raises(SpecError) as caught:
        site_spec(spec_with(tilt_deg=20, colour="blue"))
    assert caught.value.field == "site.colour"


def test_a_twin_range_error_is_named_under_site():
    with pytest.raises(SpecError) as caught:
        site_spec(spec_with(availability=1.5))
    assert caught.value.field == "site.availability"


def test_a_charging_site_counts_its_chargers():
    raw = read_spec_file(SPEC)
    raw["asset"]["kind"] = "charger"
    raw["devices"] = [{"type": "charger", "count": 12, "capacity_kw": 150}]
    raw["site"] = {"sessions_per_unit_day": 9}
    twin = site_spec(parse_spec(raw))
    assert (twin.kind, twin.capacity, twin.charger.sessions_per_unit_day) == ("charger", 12, 9)


def test_batches_of_the_same_span_are_summed_into_one_row():
    frame = batches_frame([
        {"fromTime": 86_400, "toTime": 172_800, "totalEnergyWh": 700},
        {"fromTime": 0, "toTime": 86_400, "totalEnergyWh": 1_000},
        {"fromTime": 86_400, "toTime": 172_800, "totalEnergyWh": 300},
    ])
    assert list(frame["energy_wh"]) == [1_000.0, 1_000.0]
    assert set(frame["device"]) == {ANCHORED_DEVICE}
    assert [ts.timestamp() for ts in frame.index] == [0, 86_400]
