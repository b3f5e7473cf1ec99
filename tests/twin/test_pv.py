"""PV model against figures worked out by hand from the PVWatts and SAPM equations."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin import (
    Location,
    PvParams,
    WeatherFileError,
    clearsky_weather,
    load_weather,
    pv_power,
    shipped_weather_files,
)


def test_shipped_weather_files_are_found_and_parsed_in_si_units():
    assert set(shipped_weather_files()) == {"12839.tm2", "703165TY.csv", "723170TYA.CSV"}
    for name in shipped_weather_files():
        weather, location = load_weather(name)
        assert len(weather) == 8760 and weather.index.is_monotonic_increasing
        assert -40 < weather["temp_air_c"].mean() < 35  # TMY2 stores tenths of a degree
        assert 0 <= weather["wind_speed_m_s"].mean() < 15
        assert weather["ghi_w_m2"].max() < 1400
    miami, location = load_weather("12839.tm2")
    assert location.latitude == pytest.approx(25.8) and miami["temp_air_c"].mean() == pytest.approx(24.3, abs=0.5)


def test_unknown_weather_file_raises():
    with pytest.raises(WeatherFileError):
        load_weather("nowhere.csv")


def test_dc_and_ac_power_match_hand_calculation_at_1000_w_m2():
    # Horizontal array, 1000 W/m2 all diffuse (no angle-of-incidence loss), 20 C air, 1 m/s wind.
    index = pd.date_range("2019-06-21 11:00", periods=1, freq="h", tz="Etc/GMT+5")
    weather = pd.DataFrame(
        {"ghi_w_m2": [1000.0], "dni_w_m2": [0.0], "dhi_w_m2": [1000.0], "temp_air_c": [20.0], "wind_speed_m_s": [1.0]},
        index=index,
    )
    params = PvParams(
        tilt_deg=0.0,
        azimuth_deg=180.0,
        losses_pct=14.0,
        dc_ac_ratio=1.2,
        inverter_efficiency=0.96,
        gamma_pdc_per_c=-0.0037,
    )
    out = pv_power(weather, Location(36.1, -79.95, 273.0, "Etc/GMT+5"), 10.0, params).iloc[0]
    # SAPM open rack glass/polymer: a=-3.56, b=-0.075, dT=3.
    module_c = 1000 * math.exp(-3.56 - 0.075 * 1.0) + 20.0
    cell_c = module_c + 3.0
    dc_w = 10_000 * (1 - 0.0037 * (cell_c - 25)) * 0.86
    pdc0_inv = 10_000 / 1.2 / 0.96
    zeta = dc_w / pdc0_inv
    ac_w = 0.96 / 0.9637 * (-0.0162 * zeta - 0.0059 / zeta + 0.9858) * dc_w
    assert out["poa_w_m2"] == pytest.approx(1000.0, rel=1e-6)
    assert out["cell_temp_c"] == pytest.approx(cell_c, abs=0.01)
    assert out["dc_power_w"] == pytest.approx(dc_w, rel=1e-4)
    assert out["ac_power_w"] == pytest.approx(ac_w, rel=1e-4)
    assert out["ac_power_w"] == pytest.approx(7518.6, abs=1.0)  # the figure worked on paper


def test_clear_sky_noon_power_of_a_south_facing_array_at_equinox():
    # 100 kWp at latitude tilt: clear-sky POA near noon ~1000-1100 W/m2, cell ~45-50 C,
    # so DC ~ 100 kW x 1.05 x 0.91 x 0.86 ~ 82 kW and AC ~ 79 kW (below the 83.3 kW inverter limit).
    location = Location(36.1, -79.95, 273.0, "Etc/GMT+5")
    index = pd.date_range("2019-03-20 00:00", periods=24, freq="h", tz="Etc/GMT+5")
    sky = clearsky_weather(location, index)
    out = pv_power(sky, location, 100.0, PvParams(tilt_deg=36.1, azimuth_deg=180.0))
    noon = out.loc["2019-03-20 12:00"]
    assert 950 < noon["poa_w_m2"] < 1150
    assert 72_000 < noon["ac_power_w"] < 83_334
    assert out["ac_power_w"].idxmax().hour in (11, 12)
    assert out.loc["2019-03-20 00:00":"2019-03-20 05:00", "ac_power_w"].sum() == 0


def test_inverter_clips_at_ac_rating(greensboro):
    weather, location = greensboro
    params = PvParams(dc_ac_ratio=1.6)
    ac = pv_power(weather.iloc[: 24 * 120], location, 100.0, params)["ac_power_w"]
    assert ac.max() <= 100_000 / 1.6 + 1e-6
    assert (ac > 100_000 / 1.6 - 1).any()


def test_typical_year_specific_yield_is_plausible_and_keeps_monthly_totals(pv_typical, pv_spec):
    raw = pv_typical.raw_daily_wh
    specific_yield = raw.sum() / 1000 / pv_spec.capacity
    assert 1250 < specific_yield < 1500  # kWh/kWp, Greensboro NC, 25 deg south
    months = pd.DatetimeIndex(pd.to_datetime(raw.index)).month
    assert np.allclose(pv_typical.daily_wh.groupby(months).sum(), raw.groupby(months).sum())
    assert (pv_typical.upper_daily_wh > raw).all()
    assert pv_typical.trend_per_year == -0.005
    # Winter days vary more than summer days in a humid subtropical climate.
    assert pv_typical.daily_cv.loc[1] > pv_typical.daily_cv.loc[6]


def test_higher_losses_scale_energy_down_proportionally(greensboro, pv_spec):
    weather, location = greensboro
    base = pv_power(weather, location, 100.0, pv_spec.pv)["dc_power_w"].sum()
    lossy = pv_power(weather, location, 100.0, replace(pv_spec.pv, losses_pct=24.0))["dc_power_w"].sum()
    assert lossy / base == pytest.approx(0.76 / 0.86, rel=1e-9)
