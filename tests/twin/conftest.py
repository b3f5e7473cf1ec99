"""Shared twin fixtures: one typical year per session (the PV model is the only costly step)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rwa_sdk.twin import Finance, Location, PvParams, SiteSpec, Tariff, load_weather, typical_year  # noqa: E402


def pytest_configure(config):
    # pvlib 0.16 still calls pandas accessors that pandas 3 deprecates; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:.*is deprecated:DeprecationWarning:pvlib")
    config.addinivalue_line("filterwarnings", "ignore:.*is deprecated::pvlib")


@pytest.fixture(scope="session")
def greensboro():
    """The TMY3 file shipped with pvlib (Greensboro, NC) and its location."""
    return load_weather("723170TYA.CSV")


@pytest.fixture(scope="session")
def pv_spec(greensboro) -> SiteSpec:
    _, location = greensboro
    return SiteSpec(
        name="test-pv",
        kind="pv",
        capacity=100.0,
        location=location,
        tariff=Tariff(0.12),
        finance=Finance(opex_per_year=1200.0, token_supply=100_000, token_price=1.0),
        commissioned=pd.Timestamp("2019-01-01").date(),
        degradation_per_year=0.005,
        pv=PvParams(tilt_deg=25.0, azimuth_deg=180.0, losses_pct=14.0),
    )


@pytest.fixture(scope="session")
def pv_typical(pv_spec, greensboro):
    return typical_year(pv_spec, weather=greensboro[0])


def charger_spec(**changes) -> SiteSpec:
    """A small charging site on UTC clocks so day boundaries are easy to reason about."""
    base = dict(
        name="test-chargers",
        kind="charger",
        capacity=4,
        location=Location(52.0, 5.0, 0.0, "UTC"),
        tariff=Tariff(0.40),
        finance=Finance(opex_per_year=0.0, token_supply=1000, token_price=10.0),
        commissioned=pd.Timestamp("2024-01-01").date(),
    )
    base.update(changes)
    return SiteSpec(**base)
