from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.twin import ReadingsError, as_readings_frame, read_readings_csv, readings_frame

T0 = 1_700_000_000


def test_records_become_a_utc_indexed_frame_sorted_by_start():
    frame = readings_frame(
        [
            {"periodStart": T0 + 3600, "periodEnd": T0 + 7200, "energyWh": 12.5, "device": "0xabc"},
            {"periodStart": T0, "periodEnd": T0 + 3600, "energyWh": 10, "device": "0xabc"},
        ]
    )
    assert list(frame.columns) == ["period_end", "energy_wh", "device"]
    assert frame.index[0] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert frame["energy_wh"].tolist() == [10.0, 12.5]
    assert (frame["period_end"] - frame.index).dt.total_seconds().tolist() == [3600.0, 3600.0]


def test_a_resent_period_keeps_the_last_value_per_device():
    frame = readings_frame(
        [
            {"periodStart": T0, "periodEnd": T0 + 3600, "energyWh": 1, "device": "a"},
            {"periodStart": T0, "periodEnd": T0 + 3600, "energyWh": 2, "device": "a"},
            {"periodStart": T0, "periodEnd": T0 + 3600, "energyWh": 5, "device": "b"},
        ]
    )
    assert sorted(frame["energy_wh"]) == [2.0, 5.0]


@pytest.mark.parametrize(
    "record, problem",
    [
        ({"periodEnd": T0, "energyWh": 1}, "missing key periodStart"),
        ({"periodStart": T0, "periodEnd": T0, "energyWh": 1}, "not after"),
        ({"periodStart": T0, "periodEnd": T0 + 1, "energyWh": -1}, "negative"),
        ({"periodStart": "x", "periodEnd": T0 + 1, "energyWh": 1}, "bad value"),
    ],
)
def test_malformed_records_raise_with_their_position(record, problem):
    with pytest.raises(ReadingsError, match=problem) as error:
        readings_frame([{"periodStart": T0, "periodEnd": T0 + 60, "energyWh": 1}, record])
    assert error.value.index == 1


def test_csv_export_is_read_back(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(f"periodStart,periodEnd,energyWh,device\n{T0},{T0 + 900},250.5,m1\n")
    assert read_readings_csv(str(path))["energy_wh"].iloc[0] == 250.5


record = st.fixed_dictionaries(
    {
        "periodStart": st.integers(0, 2**40),
        "duration": st.integers(-5, 7200),
        "energyWh": st.floats(-10, 1e9, allow_nan=False),
        "device": st.sampled_from(["a", "b", "c"]),
    }
)


@given(st.lists(record, max_size=30))
def test_parser_accepts_exactly_the_valid_records(raw):
    records = [
        {
            "periodStart": r["periodStart"],
            "periodEnd": r["periodStart"] + r["duration"],
            "energyWh": r["energyWh"],
            "device": r["device"],
        }
        for r in raw
    ]
    valid = all(r["duration"] > 0 and r["energyWh"] >= 0 for r in raw)
    if not valid:
        with pytest.raises(ReadingsError):
            readings_frame(records)
        return
    frame = readings_frame(records)
    last = {(r["device"], r["periodStart"]): r["energyWh"] for r in records}
    assert len(frame) == len(last)
    assert frame["energy_wh"].sum() == pytest.approx(sum(last.values()))
    assert frame.index.is_monotonic_increasing and (frame["period_end"] > frame.index).all()


def test_a_plain_energy_series_becomes_readings_with_its_inferred_period():
    index = pd.date_range("2024-01-01", periods=8, freq="15min", tz="Europe/Berlin")
    frame = as_readings_frame(pd.Series(1.0, index=index))
    assert (frame["period_end"] - frame.index).dt.total_seconds().eq(900).all()
    assert str(frame.index.tz) == "UTC" and frame["device"].iloc[0] == "meter"
    with pytest.raises(ReadingsError, match="lacks columns"):
        as_readings_frame(pd.DataFrame({"energy_wh": [1.0]}))
