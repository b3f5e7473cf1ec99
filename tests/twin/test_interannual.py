"""Bands carry year-to-year weather: a typical year is not the year that comes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin import typical_year
from rwa_sdk.twin.pv import INTERANNUAL_BOUNDS, clearsky_weather, energy_elasticity, interannual_sd, pv_typical_year
from rwa_sdk.twin.weather import monthly_ghi_interannual_cv


def _years(scales: dict[int, list[float]], n_years: int = 4) -> pd.Series:
    index = pd.date_range("2001-01-01", f"{2001 + n_years}-01-01", freq="h", inclusive="left")
    base = np.clip(np.sin((index.hour.to_numpy() - 6) / 12 * np.pi), 0, None) * 800.0
    year = index.year.to_numpy() - 2001
    factor = np.ones(len(index))
    for month, values in scales.items():
        mask = index.month.to_numpy() == month
        factor[mask] = np.asarray(values)[year[mask]]
    return pd.Series(base * factor, index=index)


def test_a_multi_year_record_gives_each_months_year_to_year_spread():
    january = [0.8, 1.0, 1.2, 1.0]
    cv = monthly_ghi_interannual_cv(_years({1: january}), -7.0)
    assert cv[1] == pytest.approx(np.std(january, ddof=1) / np.mean(january), rel=1e-6)
    assert cv[7] == pytest.approx(0.0, abs=1e-9)
    # Two years cannot say how a month varies; incomplete months do not count as a year.
    assert monthly_ghi_interannual_cv(_years({1: january[:2]}, n_years=2), -7.0) is None
    gappy = _years({1: january})
    gappy = gappy[~((gappy.index.year == 2002) & (gappy.index.month == 1) & (gappy.index.day > 10))]
    assert monthly_ghi_interannual_cv(gappy, -7.0)[1] == pytest.approx(np.std([0.8, 1.2, 1.0], ddof=1), rel=1e-6)


def test_the_prior_grows_with_cloudiness_and_a_clear_month_barely_varies(greensboro, pv_spec):
    weather, _ = greensboro
    # A year of clear skies: every month at the lower bound.
    clear_year = pv_typical_year(pv_spec, weather=clearsky_weather(pv_spec.location, weather.index))
    assert clear_year.interannual_sd_rel.to_numpy() == pytest.approx(INTERANNUAL_BOUNDS[0])
    cloudy = pv_typical_year(pv_spec, weather=weather)
    sd = cloudy.interannual_sd_rel
    assert list(sd.index) == list(range(1, 13))
    assert (sd > INTERANNUAL_BOUNDS[0]).sum() >= 10 and (sd <= INTERANNUAL_BOUNDS[1]).all()
    days = cloudy.raw_daily_wh
    # Half the clear-sky energy: 0.3 x 0.5 = 15 %; a multi-year file's own spread replaces the prior.
    assert interannual_sd(days * 0.5, days, None).to_numpy() == pytest.approx(0.15)
    measured = interannual_sd(days, days * 2, {1: 0.12})
    assert measured.loc[1] == pytest.approx(0.12) and measured.loc[2] == pytest.approx(0.15)


def test_a_months_band_includes_the_year_to_year_spread_whatever_its_days(pv_typical):
    for month in range(1, 13):
        full = pv_typical.monthly_sd_rel(month)
        assert full >= float(pv_typical.interannual_sd_rel.loc[month]) - 1e-12
        sampling = float(pv_typical.daily_cv.loc[month]) * np.sqrt(pv_typical.kappa / pd.Period(f"2019-{month:02d}").days_in_month)
        assert full >= sampling - 1e-12
        # The regime part does not average out: 300 days of the month keep it.
        assert pv_typical.monthly_sd_rel(month, 300) ** 2 >= pv_typical.regime_var(month) - 1e-12


def test_chargers_have_no_weather_regime():
    from tests.twin.conftest import charger_spec

    assert typical_year(charger_spec()).regime_var(1) == 0.0


def test_energy_varies_with_ghi_by_the_arrays_elasticity_and_one_month_of_cloud_is_not_climate():
    days = pd.date_range("2019-01-01", "2019-12-31", freq="D").date
    ghi = pd.Series(np.random.default_rng(3).uniform(1000, 6000, len(days)), index=days)
    assert energy_elasticity(ghi**1.5, ghi).to_numpy() == pytest.approx(1.5)
    assert energy_elasticity(ghi * 7.0, ghi).to_numpy() == pytest.approx(1.0)
    sd = interannual_sd(ghi * 0.8, ghi, None, pd.Series(1.5, index=range(1, 13)))
    assert sd.to_numpy() == pytest.approx(0.3 * 0.2 * 1.5)
    assert interannual_sd(ghi * 0.5, ghi, None, pd.Series(1.5, index=range(1, 13))).eq(INTERANNUAL_BOUNDS[1]).all()
    # One clear November among cloudy months is spread over its neighbours.
    clear_november = ghi * np.where(pd.DatetimeIndex(pd.to_datetime(ghi.index)).month == 11, 1.0, 0.5)
    sd = interannual_sd(clear_november, ghi, None)
    assert sd.loc[11] == pytest.approx(0.3 * (1 - (0.5 + 1.0 + 0.5) / 3))
    assert sd.loc[6] == pytest.approx(0.15)
