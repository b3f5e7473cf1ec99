"""A band whose variance rests on few months uses Student-t quantiles, not the normal 1.2816."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rwa_sdk.twin.calibration import excess_dof
from rwa_sdk.twin.forecast import Z90, band_quantile, t90

# Student's t 90 % quantiles from statistical tables.
TABLE = {3: 1.638, 5: 1.476, 9: 1.383, 15: 1.341, 30: 1.310, 120: 1.289}


@pytest.mark.parametrize("dof", sorted(TABLE))
def test_t90_matches_the_table(dof):
    assert float(t90(dof)) == pytest.approx(TABLE[dof], abs=0.0015)


def test_t90_falls_to_the_normal_quantile_and_never_below():
    values = t90(np.array([3.0, 6.0, 12.0, 48.0, 1e6, math.inf]))
    assert np.all(np.diff(values) < 0) and values[-1] == pytest.approx(Z90) and np.all(values >= Z90)
    assert float(t90(0.5)) == pytest.approx(float(t90(3.0)))  # fewer than 3 are taken as 3


def test_known_variance_keeps_the_normal_quantile_and_an_estimated_one_widens_it():
    total = np.array([0.01, 0.01])
    assert band_quantile(total, []) == pytest.approx(Z90)
    assert band_quantile(total, [(total, math.inf)]) == pytest.approx(Z90)
    # All the variance estimated from 9 degrees of freedom: t with 9.
    assert band_quantile(total, [(total, 9.0)]) == pytest.approx(float(t90(9.0)))
    # Half of it estimated from 9: Satterthwaite gives 9 x (1 / 0.5)^2 = 36 degrees of freedom.
    assert band_quantile(total, [(total / 2, 9.0)]) == pytest.approx(float(t90(36.0)))


def test_an_excess_over_a_known_variance_rests_on_fewer_degrees_of_freedom():
    assert excess_dof(0.004, 0.004, 12) == pytest.approx(12)
    assert excess_dof(0.001, 0.004, 12) == pytest.approx(12 / 16)
    assert excess_dof(0.0, 0.004, 12) == math.inf and excess_dof(0.001, 0.0, 12) == math.inf
