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


# -- settlement world: a security-token test double, DvP, vault and distributor -----------------
from rwa_sdk.chain import Chain  # noqa: E402
from rwa_sdk.settlement.dvp import DvP, deploy_dvp  # noqa: E402
from rwa_sdk.settlement.revenue import RevenueDistributor, deploy_distributor  # noqa: E402
from rwa_sdk.settlement.subscription import SubscriptionVault, deploy_vault  # noqa: E402


@dataclass(frozen=True)
class World:
    """Everything deployed once per session; `issuer` (roles.owner) is token owner/agent and admin."""

    chain: Chain
    usd: Stablecoin
    token: object  # web3 Contract of SecurityTokenMock
    dvp: DvP
    vault: SubscriptionVault
    distributor: RevenueDistributor
    issuer: LocalAccount
    treasury: LocalAccount
    fee_recipient: LocalAccount


def send(chain: Chain, fn, sender):
    return chain.transact(fn, sender=sender)


@pytest.fixture(scope="session")
def world_session(session_chain, roles, usd_session, tmp_path_factory) -> World:
    chain, issuer = session_chain, roles.owner
    deployments = Deployments(chain.chain_id, tmp_path_factory.mktemp("settlement-deployments"))
    token, _ = chain.deploy("SecurityTokenMock", issuer.address, 0, sender=issuer)
    dvp = deploy_dvp(chain, owner=issuer.address, sender=issuer, deployments=deployments)
    vault = deploy_vault(chain, token.address, usd_session.address, admin=issuer.address,
                         treasury=roles.rescuer.address, sender=issuer, deployments=deployments)
    distributor = deploy_distributor(chain, token.address, usd_session.address, admin=issuer.address,
                                     sender=issuer, deployments=deployments)
    send(chain, token.functions.setAgent(vault.address, True), issuer)
    send(chain, token.functions.setRevenueHook(distributor.address), issuer)
    vault.grant_issuer(issuer.address, sender=issuer)
    distributor.grant("OPERATOR_ROLE", issuer.address, sender=issuer)
    distributor.grant("AGENT_ROLE", issuer.address, sender=issuer)
    for investor in (roles.alice, roles.bob):
        send(chain, token.functions.setVerified(investor.address, True), issuer)
        send(chain, token.functions.mint(investor.address, 100), issuer)
    # the issuer funds revenue deposits and the treasury funds redemptions
    for holder in (issuer, roles.rescuer):
        usd_session.mint(holder.address, 100_000 * UNIT, sender=roles.minter)
    usd_session.approve(vault.address, 2**256 - 1, sender=roles.rescuer)
    usd_session.approve(distributor.address, 2**256 - 1, sender=issuer)
    return World(chain, usd_session, token, dvp, vault, distributor, issuer, roles.rescuer, roles.relayer)


@pytest.fixture
def world(chain, world_session) -> World:
    return world_session
