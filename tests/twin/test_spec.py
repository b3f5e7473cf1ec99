from __future__ import annotations

from pathlib import Path

import pytest

from rwa_sdk.twin import SpecError, Tariff, TouBand, load_spec, spec_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def minimal(**changes):
    data = {
        "name": "a",
        "kind": "pv",
        "capacity": 10.0,
        "location": {"latitude": 36.1, "longitude": -79.9},
        "tariff": {"flat_per_kwh": 0.1},
    }
    data.update(changes)
    return data


def test_example_specs_load_with_their_sections():
    pv = load_spec(EXAMPLES / "site_pv.toml")
    assert pv.kind == "pv" and pv.capacity == 250.0 and pv.pv.weather_file == "723170TYA.CSV"
    assert pv.tariff.tou[0] == TouBand(16, 21, 0.22)
    assert pv.commissioned.isoformat() == "2025-01-01"
    charger = load_spec(EXAMPLES / "site_charger.toml")
    assert charger.kind == "charger" and charger.charger.weekend_factor == 0.7 and charger.finance.currency == "EUR"


def test_unknown_field_is_rejected_with_its_name():
    with pytest.raises(SpecError) as error:
        spec_from_dict(minimal(pv={"tilt": 20}))
    assert error.value.field_name == "pv.tilt"


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        ({"pv": {"tilt_dge": 20}}, "pv.tilt_dge", "did you mean `tilt_deg`?"),
        ({"finanse": {"opex_per_year": 1}}, "finanse", "did you mean `finance`?"),
        ({"tariff": {"flat_per_kwh": 0.1, "tuo": []}}, "tariff.tuo", "did you mean `tou`?"),
        ({"pv": {"colour": "blue"}}, "pv.colour", "known: albedo, azimuth_deg"),
    ],
)
def test_a_misspelt_key_or_section_names_the_closest_valid_one(change, field, hint):
    with pytest.raises(SpecError) as error:
        spec_from_dict(minimal(**change))
    assert error.value.field_name == field and hint in str(error.value)


def test_a_misspelt_required_key_is_reported_as_the_typo(tmp_path):
    data = minimal()
    data["capcity"] = data.pop("capacity")
    with pytest.raises(SpecError, match="capacity: missing; found unknown key `capcity`: a typo"):
        spec_from_dict(data)
    path = tmp_path / "site.toml"
    path.write_text('name = "x"\nkind = "pv"\ncapacity = 1\n[location]\nlatitude = 1\nlongitude = 2\n'
                    '[tariff]\nflat_per_kwh = 0.1\n[pvv]\ntilt_deg = 3\n')
    with pytest.raises(SpecError, match=r"site.toml: unknown section \[pvv\] \(line 9\); did you mean \[pv\]\?"):
        load_spec(path)
    path.write_text(path.read_text().replace("[pvv]", "[pv]").replace("tilt_deg", "tilt_dgree"))
    with pytest.raises(SpecError, match=r"unknown key `tilt_dgree` in \[pv\] \(line 10\); did you mean `tilt_deg`\?"):
        load_spec(path)


def test_missing_required_field_is_named():
    data = minimal()
    del data["tariff"]
    with pytest.raises(SpecError, match="tariff"):
        spec_from_dict(data)


@pytest.mark.parametrize("change", [{"capacity": 0}, {"kind": "wind"}, {"availability": 1.5}])
def test_out_of_range_values_are_rejected(change):
    with pytest.raises(SpecError):
        spec_from_dict(minimal(**change))


def test_tou_bands_override_flat_price_and_wrap_midnight():
    tariff = Tariff(0.10, (TouBand(17, 21, 0.30), TouBand(23, 6, 0.05)))
    prices = tariff.price_by_hour()
    assert prices[12] == 0.10 and prices[17] == 0.30 and prices[20] == 0.30 and prices[21] == 0.10
    assert prices[23] == 0.05 and prices[0] == 0.05 and prices[5] == 0.05 and prices[6] == 0.10
    assert tariff.scaled(2.0).price_by_hour()[17] == pytest.approx(0.60)
