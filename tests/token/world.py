"""One deployed suite with three onboarded investors, built once per session and shared by the token,
identity and compliance tests (each test runs in its own snapshot)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from rwa_sdk.chain import Chain
from rwa_sdk.compliance import Compliance
from rwa_sdk.identity import ClaimIssuer, ClaimTopic, Identity, IdentityFactory, IdentityRegistry, country_data, kyc_data
from rwa_sdk.token import AssetToken, Onboarding, Suite, SuiteConfig, deploy_suite, onboard_investors

GERMANY, FRANCE, USA = 276, 250, 840
MAX_BALANCE = 1_000_000
MAX_HOLDERS = 5
SUPPLY_LIMIT = 10_000_000

CONFIG = SuiteConfig(
    name="Solar Park Brandenburg I",
    symbol="SPB1",
    allowed_countries=(GERMANY, FRANCE),
    max_balance=MAX_BALANCE,
    max_holders=MAX_HOLDERS,
    supply_limit=SUPPLY_LIMIT,
)


@dataclass(frozen=True)
class World:
    chain: Chain
    suite: Suite
    token: AssetToken
    registry: IdentityRegistry
    compliance: Compliance
    issuer: ClaimIssuer
    factory: IdentityFactory
    owner: LocalAccount
    agent: LocalAccount
    signer: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    outsider: LocalAccount
    identities: dict

    def identity(self, account: LocalAccount) -> Identity:
        return self.identities[account.address]

    def contract(self, name: str, address: str):
        return self.chain.contract(name, address)


def standard_claims(country: int) -> dict[int, bytes]:
    return {ClaimTopic.KYC: kyc_data("file-1"), ClaimTopic.COUNTRY: country_data(country)}


@pytest.fixture(scope="session")
def deployed_world(session_chain: Chain) -> World:
    chain = session_chain
    owner, agent, signer, alice, bob, carol, outsider = (chain.accounts[i] for i in (0, 1, 2, 3, 4, 5, 9))
    suite = deploy_suite(chain, CONFIG, owner, agent, signer)
    investors = [Onboarding(a.address, c, standard_claims(c)) for a, c in ((alice, GERMANY), (bob, FRANCE), (carol, GERMANY))]
    identities = onboard_investors(suite, investors, agent, signer)
    return World(
        chain=chain,
        suite=suite,
        token=suite.token_client(),
        registry=suite.registry_client(),
        compliance=suite.compliance_client(),
        issuer=suite.issuer_client(),
        factory=suite.factory_client(),
        owner=owner,
        agent=agent,
        signer=signer,
        alice=alice,
        bob=bob,
        carol=carol,
        outsider=outsider,
        identities={a.address: i for a, i in zip((alice, bob, carol), identities)},
    )


@pytest.fixture
def world(chain: Chain, deployed_world: World) -> World:
    """The shared world, rolled back after the test (``chain`` snapshots it)."""
    return deployed_world
