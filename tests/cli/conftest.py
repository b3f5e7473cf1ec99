"""The ``rwa`` command driven through click's CliRunner against the session Anvil.

Commands get ``--network <session node URL> --dev-accounts`` (sign with the development accounts,
as ``--network localhost`` would) and ``--deployments`` pointing at this session's records. One
asset is created once per session with the SDK; every test runs in its own EVM snapshot.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.signers.local import LocalAccount

from rwa_sdk.asset import Asset, InvestorProfile
from rwa_sdk.cli import main
from rwa_sdk.settlement.stablecoin import UNIT

from ..conftest import ROOT

SPEC = ROOT / "examples" / "solar-5mw.toml"
DAY = 86_400


@pytest.fixture(scope="session")
def records():
    """This session's asset records, outside pytest's temp tree (other suites search that for records)."""
    with tempfile.TemporaryDirectory(prefix="rwa-cli-records-") as folder:
        yield Path(folder)


@pytest.fixture
def fresh_records():
    """An empty records folder for one test, also outside pytest's temp tree."""
    with tempfile.TemporaryDirectory(prefix="rwa-cli-fresh-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def sun5_session(session_chain, records) -> Asset:
    asset = Asset.create(session_chain, SPEC, deployments_dir=records)
    asset.stablecoin.configure_minter(asset.roles.treasury.address, 10**15, sender=asset.roles.owner)
    return asset


@pytest.fixture
def sun5(chain, sun5_session) -> Asset:
    return sun5_session


@pytest.fixture
def rwa(session_chain, records) -> Callable[..., Result]:
    """Run ``rwa ARGS`` on the session node; ``key`` is the investor key (RWA_INVESTOR_KEY)."""

    def run(*args: str, key: LocalAccount | None = None, deployments=None) -> Result:
        env = {"RWA_INVESTOR_KEY": key.key.hex() if key else None, "RWA_PRIVATE_KEY": None, "RWA_KEYSTORE": None,
               "RWA_NETWORK": None, "RWA_ASSET": None}
        where = ["--network", session_chain.node.url, "--dev-accounts", "--deployments", str(deployments or records)]
        return CliRunner().invoke(main, [*map(str, args), *where], env=env)

    return run


def investor(asset: Asset, country: str | None = "ES", risk_tier: int = 4, professional: bool = False,
             usd: int = 100_000) -> LocalAccount:
    """A funded wallet holding ``usd`` stablecoin, onboarded unless ``country`` is None."""
    account = Account.create()
    asset.chain.send_value(account.address, 10**18)
    asset.stablecoin.mint(account.address, usd * UNIT, sender=asset.roles.treasury)
    if country:
        asset.onboard([InvestorProfile(account.address, country, risk_tier, professional)])
    return account


