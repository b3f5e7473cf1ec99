"""The settlement world: a security-token test double, DvP, vault and distributor.

The stablecoin fixtures (`roles`, `usd_session`, `usd`) come from tests/stablecoin_fixtures.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from rwa_sdk.chain import Chain
from rwa_sdk.deploy import Deployments
from rwa_sdk.settlement.dvp import DvP, deploy_dvp
from rwa_sdk.settlement.revenue import RevenueDistributor, deploy_distributor
from rwa_sdk.settlement.stablecoin import UNIT, Stablecoin
from rwa_sdk.settlement.subscription import SubscriptionVault, deploy_vault


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
