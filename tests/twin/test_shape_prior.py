"""The seasonal-shape prior comes from plants other than any real record, and from the weather file's kind."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rwa_sdk.twin.calibration import SHAPE_SD_PRIOR, SHAPE_SD_PRIOR_OTHER, shape_prior
from rwa_sdk.twin.pv import climatology_sd
from rwa_sdk.twin.weather import measured_years

from .conftest import charger_spec

BENCH = Path(__file__).parents[2] / "bench" / "twin_shape_prior.py"


def test_the_prior_constant_is_what_the_misspecification_study_measures():
    spec = importlib.util.spec_from_file_location("twin_shape_prior", BENCH)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    table = study.shape_errors(plants_per_site=5, seed=11)
    assert set(table["site"]) == {"12839.tm2", "703165TY.csv", "723170TYA.CSV"} and len(table) == 3 * 5 * 12
    # Level removed: each plant's energy-weighted shape error is about zero, its spread is not.
    rms = float(np.sqrt(np.mean(table["shape_error"] ** 2)))
    assert rms == pytest.approx(SHAPE_SD_PRIOR, abs=0.015)


def test_a_measured_year_as_weather_carries_each_months_climate_sample_spread_by_the_smoothing():
    flat = pd.Series(0.08, index=range(1, 13))
    one = climatology_sd(flat, years=1)
    # 61-day smoothing mixes a month with its neighbours: smaller than one month's anomaly, not gone.
    assert (one < 0.08).all() and (one > 0.04).all()
    assert climatology_sd(flat, years=4).to_numpy() == pytest.approx(one.to_numpy() / 2)
    assert (climatology_sd(flat, years=1, window_days=3) > 0.075).all()  # barely smoothed: nearly all of it
    # A variable month spreads into its neighbours only.
    spiky = flat.copy()
    spiky.loc[7] = 0.2
    bumped = climatology_sd(spiky, years=1) - one
    assert bumped.loc[7] > bumped.loc[6] > 0 and bumped.loc[1] == pytest.approx(0.0, abs=1e-12)


def test_shape_prior_by_weather_kind(pv_spec, pv_typical):
    # pvlib's typical-year file: the spec's misspecification only.
    assert pv_typical.climatology_sd_rel is None
    assert shape_prior(pv_spec, pv_typical) == pytest.approx(np.full(12, SHAPE_SD_PRIOR))
    measured = replace(pv_typical, climatology_sd_rel=pd.Series(0.04, index=range(1, 13)))
    assert shape_prior(pv_spec, measured) == pytest.approx(np.full(12, np.hypot(SHAPE_SD_PRIOR, 0.04)))
    assert shape_prior(charger_spec(), pv_typical) == pytest.approx(np.full(12, SHAPE_SD_PRIOR_OTHER))


def test_only_whole_years_of_a_measured_record_count_as_climate_samples():
    three = pd.date_range("2011-01-01", "2013-12-31 23:00", freq="h")
    assert measured_years(three) == 3
    # A stray stamp ten years later, or a half year, is not another sample of the climate.
    stray = three[:8760].append(pd.DatetimeIndex(["2023-06-01 12:00"]))
    assert measured_years(stray) == 1
    assert measured_years(pd.date_range("2011-01-01", "2011-06-30", freq="30min")) == 1
    assert measured_years(pd.date_range("2011-01-01", "2012-06-30", freq="h", tz="Etc/GMT+7")) == 1
