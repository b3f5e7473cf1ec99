from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin import ChargerParams, StorageParams, Tariff, TouBand, charger_typical_year, storage_typical_year
from rwa_sdk.twin.charging import commuter_shape, daily_cv, hourly_energy_wh, sessions_per_day
from rwa_sdk.twin.storage import charge_energy_wh, daily_discharge_wh, fade_per_year, margin_per_kwh, state_of_health

from .conftest import charger_spec

PARAMS = StorageParams(
    depth_of_discharge=0.9,
    round_trip_efficiency=0.85,
    cycles_per_day=1.5,
    calendar_fade_per_year=0.01,
    fade_per_cycle=0.00002,
    charge_price_per_kwh=0.04,
    charge_hour=3,
    discharge_hour=19,
)


def test_battery_discharges_capacity_times_depth_times_cycles():
    # 500 kWh x 0.9 x 1.5 cycles = 675 kWh a day at beginning of life.
    assert daily_discharge_wh(500.0, PARAMS) == pytest.approx(675_000.0)


def test_capacity_fade_combines_calendar_and_cycle_ageing_and_compounds():
    # 1 % calendar + 0.002 % x 1.5 cycles x 365 days = 2.095 % a year.
    assert fade_per_year(PARAMS) == pytest.approx(0.02095)
    assert state_of_health(2.0, PARAMS) == pytest.approx((1 - 0.02095) ** 2)
    assert daily_discharge_wh(500.0, PARAMS, 2.0) == pytest.approx(675_000.0 * (1 - 0.02095) ** 2)


def test_round_trip_losses_raise_the_energy_bought():
    assert charge_energy_wh(850.0, PARAMS) == pytest.approx(1000.0)


def test_arbitrage_margin_uses_tou_hours_or_the_charge_price():
    tou = Tariff(0.10, (TouBand(17, 21, 0.30), TouBand(0, 6, 0.05)))
    assert margin_per_kwh(tou, PARAMS) == pytest.approx(0.30 - 0.05 / 0.85)
    assert margin_per_kwh(Tariff(0.20), PARAMS) == pytest.approx(0.20 - 0.04 / 0.85)


def test_storage_typical_year_is_flat_with_fade_as_negative_trend():
    spec = charger_spec(kind="storage", capacity=500.0, storage=PARAMS)
    typical = storage_typical_year(spec)
    assert np.allclose(typical.daily_wh, 675_000.0)
    assert typical.trend_per_year == pytest.approx(-0.02095)
    assert typical.hourly_share.loc[7, 19] == 1.0


def test_sessions_follow_weekday_factor_and_growth():
    params = ChargerParams(sessions_per_unit_day=5.0, weekend_factor=0.6, growth_per_year=0.1)
    assert sessions_per_day(4, params, weekday=0) == pytest.approx(20.0)
    assert sessions_per_day(4, params, weekday=6) == pytest.approx(12.0)
    assert sessions_per_day(4, params, weekday=0, years=2.0) == pytest.approx(20.0 * 1.21)


def test_hourly_charger_energy_sums_to_sessions_times_energy_and_peaks_in_the_evening():
    params = ChargerParams(sessions_per_unit_day=5.0, energy_per_session_kwh=20.0)
    hourly = hourly_energy_wh(4, params, weekday=2)
    assert hourly.sum() == pytest.approx(4 * 5 * 20_000.0)
    assert hourly.idxmax() == 18
    assert hourly[3] < hourly[8] < hourly[18]
    assert sum(commuter_shape()) == pytest.approx(1.0)


def test_charger_day_to_day_spread_falls_with_more_sessions():
    params = ChargerParams(daily_sd_rel=0.0)
    assert daily_cv(1, params) == pytest.approx(np.sqrt(1.09 / 6))
    assert daily_cv(10, params) < daily_cv(1, params)


def test_charger_typical_year_applies_weekday_and_growth_by_date():
    spec = charger_spec(
        charger=ChargerParams(
            sessions_per_unit_day=5.0, energy_per_session_kwh=20.0, growth_per_year=0.1, weekend_factor=0.5
        )
    )
    typical = charger_typical_year(spec)
    dates = pd.DatetimeIndex(["2025-01-06", "2025-01-11"])  # a Monday and a Saturday, ~1 year in
    expected = typical.expected_daily_wh(dates, spec.commissioned)
    years = (dates - pd.Timestamp("2024-01-01")).days / 365.25
    assert expected.iloc[0] == pytest.approx(400_000.0 * 1.1 ** years[0])
    assert expected.iloc[1] == pytest.approx(200_000.0 * 1.1 ** years[1])


def test_swap_station_uses_a_daytime_plateau_profile():
    swap = charger_typical_year(charger_spec(kind="swap"))
    charger = charger_typical_year(charger_spec())
    assert int(swap.hourly_share.loc[1].idxmax()) == 13 and int(charger.hourly_share.loc[1].idxmax()) == 18
    assert swap.hourly_share.loc[1].min() > charger.hourly_share.loc[1].min()
