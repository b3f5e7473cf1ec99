"""Calibration recovers known performance, availability, trend and utilisation from noisy readings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rwa_sdk.twin import (
    CalibrationError,
    ChargerParams,
    MeterFaults,
    calibrate,
    delivered_energy,
    energy_series_frame,
    meter_readings,
    pv_power,
    readings_frame,
    typical_year,
)
from rwa_sdk.twin.calibration import TREND_PRIOR_SD
from rwa_sdk.twin.charging import commuter_shape

from .conftest import charger_spec


def true_pv_energy(spec, weather, location, losses_pct: float) -> pd.Series:
    return pv_power(weather, location, spec.capacity, replace(spec.pv, losses_pct=losses_pct))["ac_power_w"]


def test_recovers_known_performance_factor_and_availability_from_noisy_readings(pv_spec, pv_typical, greensboro):
    weather, location = greensboro
    half = weather.loc[:"2019-06-30"]
    truth = true_pv_energy(pv_spec, half, location, losses_pct=22.0)
    spec_model = pv_power(half, location, pv_spec.capacity, pv_spec.pv)["ac_power_w"]
    true_factor = truth.sum() / spec_model.sum()
    assert true_factor == pytest.approx(0.78 / 0.86, abs=0.01)  # lumped losses dominate
    rng = np.random.default_rng(7)
    delivered = delivered_energy(truth, rng, outage_day_share=0.05)
    readings = meter_readings(delivered, rng, MeterFaults(noise_sd=0.05, outlier_days=3))
    cal = calibrate(pv_spec, pv_typical, readings)
    # Days lost to gaps and outages are a random subset, compared with a smoothed climatology: ~1 % noise.
    assert cal.performance_factor == pytest.approx(true_factor, rel=0.02)
    down_share = 1 - (delivered.groupby(delivered.index.date).sum() > 0).mean()
    assert cal.availability == pytest.approx(1 - down_share, abs=0.01)
    assert cal.n_days_outlier >= 2  # a mis-scaled very dark day can stay below the physical ceiling
    assert cal.n_days_missing > 0 and not cal.trend_estimated
    assert cal.trend_per_year == pytest.approx(-0.005)
    assert 0.6 < cal.performance_ratio < 0.8
    # The factor's uncertainty covers the truth and is a few percent, not zero or huge.
    assert 0.005 < cal.performance_factor_se / cal.performance_factor < 0.08


def test_outlier_days_do_not_move_the_factor(pv_spec, pv_typical, greensboro):
    weather, location = greensboro
    truth = true_pv_energy(pv_spec, weather.loc[:"2019-04-30"], location, 14.0)
    clean = calibrate(pv_spec, pv_typical, meter_readings(truth, np.random.default_rng(1), MeterFaults(outlier_days=0)))
    dirty = calibrate(
        pv_spec,
        pv_typical,
        meter_readings(truth, np.random.default_rng(1), MeterFaults(outlier_days=4, outlier_factor=20)),
    )
    assert dirty.n_days_outlier == 4
    assert dirty.performance_factor == pytest.approx(clean.performance_factor, rel=0.01)


def test_estimates_degradation_from_like_months_of_two_full_years(pv_spec, pv_typical, greensboro):
    weather, location = greensboro
    one_year = true_pv_energy(pv_spec, weather, location, 14.0)
    two_years = pd.Series(
        np.tile(one_year.to_numpy(), 2), index=pd.date_range(one_year.index[0], periods=2 * len(one_year), freq="h")
    )
    rng = np.random.default_rng(3)
    readings = meter_readings(delivered_energy(two_years, rng, degradation_per_year=0.02), rng)
    cal = calibrate(pv_spec, pv_typical, readings)
    assert cal.trend_estimated and not cal.trend_bounded
    # Shrunk towards the spec's -0.5 %/yr by its uncertainty, but most of the way to the truth.
    assert -0.026 < cal.trend_per_year < -0.012
    assert 0 < cal.trend_se < 0.01
    # One year and a half is not enough: no like-month pairs for twelve months, the spec's trend stays.
    short = calibrate(pv_spec, pv_typical, readings[readings.index < pd.Timestamp("2020-06-01", tz="UTC")])
    assert not short.trend_estimated and short.trend_per_year == pytest.approx(-0.005)
    assert short.seasonal_estimated
    # The spec's trend is a prior, not a fact: its error is the prior's and the band grows with it.
    assert short.trend_se == pytest.approx(TREND_PRIOR_SD * (1 - 0.005))
    from rwa_sdk.twin.forecast import forecast_energy

    start = pd.Period("2020-06", freq="M")
    near = forecast_energy(pv_typical, short, start, 12).monthly["sd_rel"]
    far = forecast_energy(pv_typical, short, start + 24, 12).monthly["sd_rel"]
    assert np.all(far.to_numpy() > near.to_numpy())


def simulate_charger_readings(spec, days: pd.DatetimeIndex, utilisation: float, rng) -> pd.DataFrame:
    params = spec.charger
    shape = np.asarray(commuter_shape())
    values = []
    for day in days:
        factor = 1.0 if day.day_of_week < 5 else params.weekend_factor
        sessions = rng.poisson(spec.capacity * params.sessions_per_unit_day * factor * utilisation)
        energy = rng.gamma(1 / 0.09, params.energy_per_session_kwh * 1000 * 0.09, sessions).sum()
        values.append(energy * shape)
    index = pd.date_range(days[0], periods=24 * len(days), freq="h", tz="UTC")
    return energy_series_frame(pd.Series(np.concatenate(values), index=index))


def test_recovers_charger_utilisation_from_session_counts():
    spec = charger_spec(
        charger=ChargerParams(
            sessions_per_unit_day=6.0, energy_per_session_kwh=25.0, growth_per_year=0.0, weekend_factor=0.5
        )
    )
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    readings = simulate_charger_readings(spec, days, utilisation=0.7, rng=np.random.default_rng(11))
    cal = calibrate(spec, typical_year(spec), readings)
    assert cal.performance_factor == pytest.approx(0.7, abs=0.03)
    assert cal.availability == 1.0 and cal.n_days_outlier == 0


def test_too_few_usable_days_raise_calibration_error(pv_spec, pv_typical, greensboro):
    weather, location = greensboro
    truth = true_pv_energy(pv_spec, weather.loc[:"2019-01-05"], location, 14.0)
    with pytest.raises(CalibrationError) as error:
        calibrate(pv_spec, pv_typical, energy_series_frame(truth))
    assert error.value.usable_days < error.value.needed
    with pytest.raises(CalibrationError):
        calibrate(pv_spec, pv_typical, readings_frame([]))


@settings(max_examples=25, deadline=None)
@given(
    slope=st.floats(-0.5, 0.5),
    noise=st.lists(st.floats(-0.3, 0.3), min_size=36, max_size=36),
)
def test_property_trend_is_bounded_and_month_corrections_stay_near_one(pv_typical, slope, noise):
    """Whatever the monthly ratios do, the trend stays physical and corrections centre on 1."""
    from rwa_sdk.twin.calibration import TREND_BOUNDS, _season, _trend

    months = pd.period_range("2020-01", periods=36, freq="M")
    ratio = np.exp(slope * np.arange(36) / 12 + np.asarray(noise))
    monthly = pd.DataFrame({"ratio": ratio, "n_days": 30, "measured_wh": ratio * 1e5, "expected_wh": 1e5}, index=months)
    trend = _trend(monthly, -0.005)
    assert trend is not None and TREND_BOUNDS[0] <= trend[0] <= TREND_BOUNDS[1] and trend[1] >= 0
    correction, sd, _ = _season(monthly, float(ratio.mean()), trend[2])
    assert np.all(correction > 0) and np.all(sd >= 0)
    assert np.exp(np.mean(np.log(correction))) == pytest.approx(1.0, abs=0.1)
