"""A stablecoin with every role held by a different account (used by several test folders)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from rwa_sdk.deploy import Deployments
from rwa_sdk.settlement.stablecoin import UNIT, Stablecoin, deploy_stablecoin


@dataclass(frozen=True)
class Roles:
    owner: LocalAccount
    master_minter: LocalAccount
    pauser: LocalAccount
    blacklister: LocalAccount
    rescuer: LocalAccount
    minter: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    relayer: LocalAccount


@pytest.fixture(scope="session")
def roles(session_chain) -> Roles:
    return Roles(*session_chain.accounts[:10])


@pytest.fixture(scope="session")
def usd_session(session_chain, roles, tmp_path_factory) -> Stablecoin:
    """A stablecoin with every role held by a different account, a minter, and funded holders."""
    usd = deploy_stablecoin(
        session_chain,
        owner=roles.owner.address,
        master_minter=roles.master_minter.address,
        pauser=roles.pauser.address,
        blacklister=roles.blacklister.address,
        rescuer=roles.rescuer.address,
        sender=roles.owner,
        deployments=Deployments(session_chain.chain_id, tmp_path_factory.mktemp("deployments")),
    )
    usd.configure_minter(roles.minter.address, 1_000_000 * UNIT, sender=roles.master_minter)
    for holder in (roles.alice, roles.bob):
        usd.mint(holder.address, 1_000 * UNIT, sender=roles.minter)
    return usd


@pytest.fixture
def usd(chain, usd_session) -> Stablecoin:
    return usd_session
