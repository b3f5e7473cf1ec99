"""One Anvil and one compiled tree per test session; every test runs in its own EVM snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from rwa_sdk.chain import Chain, connect
from rwa_sdk.compiler import compile_project

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.stablecoin_fixtures"]

settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def compiled():
    """Compile contracts/ once (a no-op when the cache is warm)."""
    return compile_project(ROOT)


@pytest.fixture(scope="session")
def session_chain(compiled) -> Chain:
    with connect("anvil") as chain:
        yield chain


@pytest.fixture
def chain(session_chain: Chain) -> Chain:
    """The session's chain, rolled back after the test."""
    snapshot = session_chain.snapshot()
    yield session_chain
    session_chain.revert(snapshot)


@pytest.fixture
def accounts(chain: Chain):
    return chain.accounts
