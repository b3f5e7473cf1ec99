"""Forecast bands, revenue, yield and DCF against figures derived by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin import (
    ChargerParams,
    Finance,
    Tariff,
    TouBand,
    annualised_yield,
    calibrate,
    cashflows,
    dcf_value_per_token,
    energy_series_frame,
    forecast_energy,
    next_month,
    p90_coverage,
    price_per_kwh_by_month,
    pv_power,
    typical_year,
    valuation,
)
from rwa_sdk.twin.forecast import Z90

from .conftest import charger_spec


@pytest.fixture(scope="module")
def pv_calibration(pv_spec, pv_typical, greensboro):
    weather, location = greensboro
    truth = pv_power(weather.loc[:"2019-06-30"], location, 100.0, replace(pv_spec.pv, losses_pct=20.0))["ac_power_w"]
    return calibrate(pv_spec, pv_typical, energy_series_frame(truth))


def steady_charger():
    """4 chargers x 5 sessions x 20 kWh = 400 kWh every day, no growth, no weekend dip."""
    return charger_spec(
        charger=ChargerParams(
            sessions_per_unit_day=5.0,
            energy_per_session_kwh=20.0,
            growth_per_year=0.0,
            weekend_factor=1.0,
            daily_sd_rel=0.05,
        ),
        finance=Finance(
            opex_per_year=3650.0,
            opex_per_kwh=0.01,
            distribution_share=0.8,
            token_supply=1000,
            token_price=100.0,
            life_years=2.0,
            discount_rate=0.10,
        ),
        commissioned=dt.date(2024, 1, 1),
    )


@pytest.fixture(scope="module")
def charger_case():
    spec = steady_charger()
    typical = typical_year(spec)
    index = pd.date_range("2024-01-01", "2024-06-30 23:00", freq="h", tz="UTC")
    readings = energy_series_frame(pd.Series(400_000.0 / 24 * 0.9, index=index))  # runs at 90 % of spec
    return spec, typical, calibrate(spec, typical, readings)


@pytest.mark.parametrize("months", [6, 12])
def test_forecast_starts_after_the_readings_and_spans_the_horizon(pv_typical, pv_calibration, months):
    start = next_month(pv_calibration.window[1])
    assert start == pd.Period("2019-07", freq="M")
    forecast = forecast_energy(pv_typical, pv_calibration, start, months)
    frame = forecast.monthly
    assert len(frame) == months and frame.index[0] == start and frame["days"].iloc[0] == 31
    assert (frame["energy_p90_wh"] < frame["energy_p50_wh"]).all() and (
        frame["energy_p50_wh"] < frame["energy_p10_wh"]
    ).all()
    assert np.allclose(frame["energy_p90_wh"], frame["energy_p50_wh"] * (1 - frame["z90"] * frame["sd_rel"]))
    assert (frame["z90"] >= Z90).all()
    assert (frame["sd_rel"] > frame["weather_sd_rel"]).all()
    assert forecast.total_p50_wh == pytest.approx(frame["energy_p50_wh"].sum())
    # Months average out in the total: its relative spread is below the typical month's.
    assert forecast.total_sd_rel < frame["sd_rel"].mean()


def test_p50_is_the_spec_model_times_calibrated_factor_and_availability(pv_typical, pv_calibration):
    forecast = forecast_energy(pv_typical, pv_calibration, pd.Period("2019-07", freq="M"), 6)
    frame = forecast.monthly
    expected = frame["modelled_wh"] * pv_calibration.performance_factor * pv_calibration.availability
    assert np.allclose(frame["energy_p50_wh"], expected)
    assert pv_calibration.performance_factor == pytest.approx(0.80 / 0.86, abs=0.02)


def test_steady_charger_p50_and_money_match_hand_figures(charger_case):
    spec, typical, cal = charger_case
    assert cal.performance_factor == pytest.approx(0.9, rel=1e-9)
    forecast = forecast_energy(typical, cal, pd.Period("2024-07", freq="M"), 6)
    july = forecast.monthly.loc[pd.Period("2024-07", freq="M")]
    assert july["energy_p50_wh"] == pytest.approx(31 * 360_000.0)
    flows = cashflows(forecast, spec, typical).loc[pd.Period("2024-07", freq="M")]
    kwh = 31 * 360.0
    assert flows["revenue_p50"] == pytest.approx(kwh * 0.40)
    assert flows["opex_p50"] == pytest.approx(3650.0 * 31 / 365 + 0.01 * kwh)
    assert flows["per_token_p50"] == pytest.approx((kwh * 0.40 - 310.0 - 0.01 * kwh) * 0.8 / 1000)


def test_annualised_yield_scales_the_horizon_to_a_year():
    per_token = pd.Series([1.0, 2.0, 3.0])
    assert annualised_yield(per_token, token_price=50.0) == pytest.approx(6.0 * 4 / 50.0)


def test_dcf_discounts_every_remaining_month_at_the_discount_rate(charger_case):
    spec, typical, cal = charger_case
    start = pd.Period("2024-07", freq="M")
    value, years_left = dcf_value_per_token(spec, typical, cal, start)
    months = pd.period_range("2024-07", "2025-12", freq="M")  # life ends 2026-01-01
    assert years_left == pytest.approx(len(months) / 12)
    flows = [(m.days_in_month * (360 * 0.40 - 10.0 - 0.01 * 360)) * 0.8 / 1000 for m in months]
    hand = sum(f / 1.10 ** ((k + 1) / 12) for k, f in enumerate(flows))
    assert value == pytest.approx(hand, rel=1e-9)


def test_valuation_reports_p90_below_p50_and_consistent_yield(pv_spec, pv_typical, pv_calibration):
    forecast = forecast_energy(pv_typical, pv_calibration, pd.Period("2019-07", freq="M"), 12)
    result = valuation(pv_spec, pv_typical, pv_calibration, forecast)
    assert result.per_token_p90 < result.per_token_p50
    # The horizon P90 diversifies over months: above the sum of monthly P90s, below P50.
    flows = cashflows(forecast, pv_spec, pv_typical)
    assert flows["per_token_p90"].sum() < result.per_token_p90
    energy_ratio = forecast.total_p90_wh / forecast.total_p50_wh
    assert result.distributable_p90 == pytest.approx(result.revenue_p50 * energy_ratio - result.opex)
    assert result.annualised_yield_p50 == pytest.approx(result.per_token_p50 / pv_spec.finance.token_price)
    assert result.remaining_life_years == pytest.approx(24.5)
    assert 0 < result.value_per_token < 25 * result.per_token_p50


def test_time_of_use_price_weights_hours_by_pv_output(pv_spec, pv_typical):
    evening = replace(pv_spec, tariff=Tariff(0.10, (TouBand(17, 21, 0.30),)))
    prices = price_per_kwh_by_month(evening, pv_typical)
    share = pv_typical.hourly_share.loc[6, [17, 18, 19, 20]].sum()
    assert prices.loc[6] == pytest.approx(0.10 + 0.20 * share)
    assert prices.loc[6] > prices.loc[12]  # long June evenings earn more of the peak price
    assert np.allclose(price_per_kwh_by_month(pv_spec, pv_typical), 0.12)


def test_p90_coverage_counts_months_at_or_above_p90(pv_typical, pv_calibration):
    forecast = forecast_energy(pv_typical, pv_calibration, pd.Period("2019-07", freq="M"), 2)
    p90 = forecast.monthly["energy_p90_wh"]
    actual = pd.Series([p90.iloc[0] + 1, p90.iloc[1] - 1], index=forecast.monthly.index)
    assert p90_coverage(actual, forecast) == 0.5
