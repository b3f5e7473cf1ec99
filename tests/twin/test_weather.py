"""One loader for pvlib's weather formats; a file from elsewhere is moved onto the site's sun or refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rwa_sdk.twin import Location, WeatherFileError, load_spec, load_weather, typical_year
from rwa_sdk.twin.pv import pv_power
from rwa_sdk.twin.weather import align_to_site, solar_shift_h

DATA = Path(__file__).parents[1] / "data"
PSM3 = DATA / "nsrdb_psm3_golden_1999.csv.gz"
GOLDEN = Location(39.7406, -105.1775, 1800.0, "Etc/GMT+7")


@pytest.mark.parametrize("name", ["723170TYA.CSV", "703165TY.csv", "12839.tm2", str(PSM3)])
def test_every_shipped_format_becomes_one_hourly_typical_year(name):
    weather, site = load_weather(name)
    assert len(weather) == 8760 and weather.index.tz is not None
    assert {"ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c", "wind_speed_m_s"} <= set(weather.columns)
    assert 700 < weather["ghi_w_m2"].sum() / 1000 < 2300  # kWh/m2/yr on Earth
    assert (weather["ghi_w_m2"] >= 0).all() and not weather.isna().any().any()
    # Night is dark at the file's own clock: no sun at local midnight.
    assert weather.loc[weather.index.hour == 0, "ghi_w_m2"].max() < 50
    assert -90 <= site.latitude <= 90


def test_nsrdb_psm3_file_keeps_its_site_and_clock():
    weather, site = load_weather(PSM3)
    assert (site.latitude, site.longitude, site.altitude_m) == pytest.approx((39.73, -105.18, 1820))
    assert str(weather.index.tz) == "Etc/GMT+7"
    # PSM3 stamps mid-hour; the loader labels hours at their start: daylight centres on solar noon
    # (12:01 local standard time at Golden), whatever the afternoon clouds do to the peak.
    june = weather[weather.index.month == 6]
    lit = june.groupby(june.index.hour)["ghi_w_m2"].mean() > 0
    assert 11.5 <= np.mean(lit[lit].index.to_numpy()) + 0.5 <= 12.5


def test_a_tmy3_files_albedo_is_read():
    weather, _ = load_weather("703165TY.csv")
    assert "albedo" in weather and weather["albedo"].between(0, 1).all()
    months = weather.index.month
    # Sand Point, Alaska: snow in winter, not in summer.
    assert weather.loc[months == 1, "albedo"].mean() > weather.loc[months == 7, "albedo"].mean() + 0.1


def test_unreadable_and_too_short_files_are_one_clear_line(tmp_path):
    junk = tmp_path / "notes.csv"
    junk.write_text("hello,world\n1,2\n")
    with pytest.raises(WeatherFileError, match="notes.csv: not a format pvlib reads"):
        load_weather(junk)
    with pytest.raises(WeatherFileError, match="not found"):
        load_weather(tmp_path / "missing.epw")
    weather, _ = load_weather(PSM3)
    lines = PSM3.read_bytes()
    import gzip

    text = gzip.decompress(lines).decode().splitlines()
    short = tmp_path / "two_days.csv"
    short.write_text("\n".join(text[:3 + 48]) + "\n")
    with pytest.raises(WeatherFileError, match="covers 2 days"):
        load_weather(short)


def _centre_hour(typical, month=6) -> float:
    """Energy-weighted mean time of day of a month's production (hour labels are hour starts)."""
    share = typical.hourly_share.loc[month].to_numpy()
    return float(np.sum((np.arange(24) + 0.5) * share) / share.sum())


def test_a_file_from_another_time_zone_is_put_on_the_sites_solar_noon():
    spec = load_spec(DATA / "pvdaq_system50.toml")
    south = dataclasses.replace(spec, pv=dataclasses.replace(spec.pv, azimuth_deg=180.0, weather_file="723170TYA.CSV"))
    weather, site = load_weather("723170TYA.CSV")
    aligned = typical_year(south)
    # Greensboro's file is on UTC-5 and 25 degrees east; Golden's solar noon is 12:01 on UTC-7.
    assert 11.6 < _centre_hour(aligned) < 12.4
    assert aligned.hourly_share.index.size == 12
    # The same file on the same instant of the site's sun (the old behaviour) put production an hour early.
    naive = typical_year(south, weather=weather.tz_convert("Etc/GMT+7"))
    assert _centre_hour(aligned) - _centre_hour(naive) > 0.8
    assert solar_shift_h(-105.1775, -7, site.longitude, -5) == pytest.approx((-105.1775 - site.longitude) / 15 + 2)


def test_alignment_moves_the_day_by_the_solar_time_difference():
    weather, site = load_weather("723170TYA.CSV")
    east = Location(site.latitude, site.longitude + 15.0, 0.0, str(weather.index.tz))
    moved = align_to_site(weather, site, east)
    # 15 degrees east on the same clock: the sun comes an hour earlier.
    assert np.allclose(moved["ghi_w_m2"].to_numpy()[:-2], weather["ghi_w_m2"].to_numpy()[1:-1])
    assert moved.attrs["solar_shift_h"] == pytest.approx(1.0)


def test_a_file_too_far_in_latitude_is_refused_with_file_and_distance():
    spec = load_spec(DATA / "pvdaq_system50.toml")
    alaska = dataclasses.replace(spec, pv=dataclasses.replace(spec.pv, weather_file="703165TY.csv"))
    with pytest.raises(WeatherFileError) as caught:
        typical_year(alaska)
    message = str(caught.value)
    assert "703165TY.csv" in message and " km from the site" in message and "latitude 55.3 vs 39.7" in message


def test_albedo_comes_from_the_file_unless_the_spec_sets_it():
    weather, site = load_weather("703165TY.csv")
    spec = load_spec(DATA / "pvdaq_system50.toml")
    from_file = pv_power(weather, site, 3.6, spec.pv)["poa_w_m2"]
    fixed = pv_power(weather, site, 3.6, dataclasses.replace(spec.pv, albedo=0.2))["poa_w_m2"]
    snowy = dataclasses.replace(spec.pv, albedo=0.9)
    months = weather.index.month
    # The file's albedo is 0.24 in January and 0.11 in July: more ground light than 0.2 in winter,
    # less in summer; the spec's value wins when set.
    assert from_file[months == 1].sum() > fixed[months == 1].sum()
    assert from_file[months == 7].sum() < fixed[months == 7].sum()
    assert pv_power(weather, site, 3.6, snowy)["poa_w_m2"][months == 1].sum() > from_file[months == 1].sum() * 1.03
    default = pv_power(*load_weather(PSM3), 3.6, spec.pv)["poa_w_m2"]
    no_file_albedo = pv_power(*load_weather(PSM3), 3.6, dataclasses.replace(spec.pv, albedo=0.2))["poa_w_m2"]
    assert np.allclose(default, no_file_albedo)  # a file without albedo: 0.2


@settings(max_examples=25, deadline=None)
@given(dlon=st.floats(-40, 40), dlat=st.floats(-9.9, 9.9))
def test_property_alignment_keeps_the_years_energy_and_moves_noon_by_the_longitude(greensboro, dlon, dlat):
    weather, site = greensboro
    target = Location(site.latitude + dlat, site.longitude + dlon, 0.0, str(weather.index.tz))
    moved = align_to_site(weather, site, target)
    assert moved["ghi_w_m2"].sum() == pytest.approx(weather["ghi_w_m2"].sum(), rel=1e-9)
    assert moved.attrs["solar_shift_h"] == pytest.approx(dlon / 15)
    # The centre of the day moves earlier by dlon/15 hours on the same clock.
    hours = np.arange(24) + 0.5

    def centre(frame):
        by_hour = frame.groupby(frame.index.hour)["ghi_w_m2"].sum().reindex(range(24), fill_value=0).to_numpy()
        return float(np.sum(hours * by_hour) / by_hour.sum())

    assert centre(weather) - centre(moved) == pytest.approx(dlon / 15, abs=0.05)


def test_a_measured_year_is_smoothed_across_months_while_a_typical_year_keeps_its_months(pv_spec):
    measured = load_spec(DATA / "pvdaq_system50.toml")
    year = typical_year(measured)
    assert load_weather(PSM3)[0].attrs["typical"] is False and load_weather("723170TYA.CSV")[0].attrs["typical"]
    month = pd.DatetimeIndex(pd.to_datetime(year.daily_wh.index)).month
    smooth, raw = year.daily_wh.groupby(month).mean(), year.raw_daily_wh.groupby(month).mean()
    assert year.daily_wh.sum() == pytest.approx(year.raw_daily_wh.sum(), rel=1e-9)
    # One real year's bright and dark months are weather: the expectation is far less jagged.
    assert np.abs(np.diff(smooth.to_numpy(), 2)).mean() < 0.6 * np.abs(np.diff(raw.to_numpy(), 2)).mean()
    tmy = typical_year(pv_spec)
    tmy_month = pd.DatetimeIndex(pd.to_datetime(tmy.daily_wh.index)).month
    assert np.allclose(tmy.daily_wh.groupby(tmy_month).sum(), tmy.raw_daily_wh.groupby(tmy_month).sum())
