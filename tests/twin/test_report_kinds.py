"""The whole report runs for storage and charging assets too (SDK use: nothing written)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin import ChargerParams, Finance, StorageParams, Tariff, TouBand, build_report, energy_series_frame

from .conftest import charger_spec


def hourly_at(hour: int, daily_wh: np.ndarray, start: str) -> pd.Series:
    values = np.zeros((len(daily_wh), 24))
    values[:, hour] = daily_wh
    index = pd.date_range(start, periods=values.size, freq="h", tz="UTC")
    return pd.Series(values.ravel(), index=index)


def test_storage_report_calibrates_throughput_and_prices_arbitrage():
    spec = charger_spec(
        kind="storage",
        capacity=1000.0,
        name="battery",
        storage=StorageParams(
            depth_of_discharge=0.9,
            cycles_per_day=1.0,
            round_trip_efficiency=0.9,
            calendar_fade_per_year=0.02,
            fade_per_cycle=0.0,
            discharge_hour=18,
            charge_hour=3,
        ),
        tariff=Tariff(0.10, (TouBand(17, 21, 0.25), TouBand(0, 6, 0.04))),
        finance=Finance(opex_per_year=5000.0, token_supply=10_000, token_price=100.0),
    )
    rng = np.random.default_rng(2)
    daily = 900_000.0 * 0.8 * rng.normal(1.0, 0.1, 200)  # cycles at 80 % of plan
    daily[rng.choice(200, 6, replace=False)] = 0.0  # six days offline
    report = build_report(spec, energy_series_frame(hourly_at(18, daily, "2024-01-01")), out_dir=None, horizon_months=6)
    assert report.charts == {} and report.json_path is None
    assert report.calibration.performance_factor == pytest.approx(0.8, abs=0.03)
    assert report.calibration.availability == pytest.approx(194 / 200, abs=1e-9)
    flows = report.cashflows
    assert flows["price_per_kwh"].iloc[0] == pytest.approx(0.25 - 0.04 / 0.9)
    assert list(report.sensitivity["driver"]).count("capacity fade") == 1
    assert "cycles per day" in set(report.sensitivity["driver"])


def test_charger_report_carries_demand_growth_into_the_forecast():
    spec = charger_spec(
        charger=ChargerParams(
            sessions_per_unit_day=5.0, energy_per_session_kwh=20.0, growth_per_year=0.2, weekend_factor=1.0
        ),
        finance=Finance(opex_per_year=1000.0, token_supply=1000, token_price=10.0, life_years=10),
    )
    days = pd.date_range("2024-01-01", periods=150, freq="D")
    years = (days - days[0]).days / 365.25
    daily = 400_000.0 * 1.2**years
    report = build_report(
        spec, energy_series_frame(hourly_at(12, daily.to_numpy(), "2024-01-01")), out_dir=None, horizon_months=12
    )
    p50 = report.forecast.monthly["energy_p50_wh"]
    assert report.calibration.performance_factor == pytest.approx(1.0, abs=0.01)
    per_day = p50 / report.forecast.monthly["days"]
    assert per_day.iloc[-1] / per_day.iloc[0] == pytest.approx(1.2 ** (11 / 12), rel=0.01)
    assert "demand growth" in set(report.sensitivity["driver"]) and "utilisation" in set(report.sensitivity["driver"])
