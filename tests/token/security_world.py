"""A complete asset on the real contracts (ERC-3643 token with stateful modules, stablecoin, vault, revenue
distributor, DvP), built once per session for the transfer-path matrix and the invariant fuzzing.

Investors: alice and bob (Germany), carol (France), dave (USA: verified but outside the allowed countries);
outsider holds no identity. Every module keeps books (max balance, max holders, lock-up with no lock period
until a test sets one), and the distributor is the token's revenue hook with one deposit already made, so a
balance change that skips the hook is visible in ``paidPerToken``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from rwa_sdk.chain import Chain
from rwa_sdk.compliance import Compliance
from rwa_sdk.deploy import Deployments
from rwa_sdk.identity import ClaimTopic, country_data, kyc_data
from rwa_sdk.settlement.dvp import DvP, deploy_dvp
from rwa_sdk.settlement.revenue import PeriodRevenue, RevenueDistributor, deploy_distributor
from rwa_sdk.settlement.stablecoin import UNIT, Stablecoin, deploy_stablecoin
from rwa_sdk.settlement.subscription import SubscriptionVault, deploy_vault
from rwa_sdk.token import AssetToken, Onboarding, Suite, SuiteConfig, deploy_suite, onboard_investors

GERMANY, FRANCE, USA = 276, 250, 840
PRICE = 10 * UNIT  # vault and DvP price per token (0 decimals)
ASSET = b"\x05" * 32
START_BALANCE = 1_000

CONFIG = SuiteConfig(
    name="Security Matrix Solar",
    symbol="SMS",
    allowed_countries=(GERMANY, FRANCE),
    max_balance=1_000_000,
    max_holders=50,
    lock_period_s=0,
)


@dataclass(frozen=True)
class SecurityWorld:
    chain: Chain
    suite: Suite
    token: AssetToken
    raw: Contract  # the AssetToken contract itself (our extensions: revenue hook)
    compliance: Compliance
    usd: Stablecoin
    vault: SubscriptionVault
    distributor: RevenueDistributor
    dvp: DvP
    owner: LocalAccount
    agent: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    dave: LocalAccount
    outsider: LocalAccount
    identities: dict

    @property
    def investors(self) -> tuple[LocalAccount, ...]:
        return (self.alice, self.bob, self.carol, self.dave)

    def module(self, name: str) -> Contract:
        from rwa_sdk.compliance import MODULE_ARTIFACTS

        return self.chain.contract(MODULE_ARTIFACTS[name], self.suite.modules[name])

    def send(self, fn, sender):
        return self.chain.transact(fn, sender=sender)


def build(chain: Chain, deployments_dir) -> SecurityWorld:
    owner, agent, signer, alice, bob, carol, dave = (chain.accounts[i] for i in range(7))
    outsider = chain.accounts[9]
    suite = deploy_suite(chain, CONFIG, owner, agent, signer)
    people = ((alice, GERMANY), (bob, GERMANY), (carol, FRANCE), (dave, USA))
    onboarded = [Onboarding(a.address, c, {ClaimTopic.KYC: kyc_data("f"), ClaimTopic.COUNTRY: country_data(c)})
                 for a, c in people]
    identities = onboard_investors(suite, onboarded, agent, signer)
    deployments = Deployments(chain.chain_id, deployments_dir)
    usd = deploy_stablecoin(chain, owner=owner.address, master_minter=owner.address, sender=owner,
                            deployments=deployments, record_name="SecurityUSD", force=True)
    usd.configure_minter(owner.address, 10**9 * UNIT, sender=owner)
    vault = deploy_vault(chain, suite.token, usd.address, admin=owner.address, treasury=owner.address,
                         sender=owner, deployments=deployments, record_name="SecurityVault", force=True)
    distributor = deploy_distributor(chain, suite.token, usd.address, admin=owner.address, sender=owner,
                                     deployments=deployments, record_name="SecurityDistributor", force=True)
    dvp = deploy_dvp(chain, owner=owner.address, sender=owner, deployments=deployments,
                     record_name="SecurityDvP", force=True)
    token = suite.token_client()
    raw = chain.contract("contracts/token/AssetToken.sol:AssetToken", suite.token)
    token.add_agent(vault.address, sender=owner)
    chain.transact(raw.functions.setRevenueHook(distributor.address), sender=owner)
    vault.grant_issuer(owner.address, sender=owner)
    distributor.grant("OPERATOR_ROLE", owner.address, sender=owner)
    distributor.grant("AGENT_ROLE", agent.address, sender=owner)
    for account in (owner, alice, bob, carol, dave, outsider):
        usd.mint(account.address, 1_000_000 * UNIT, sender=owner)
        for spender in (vault.address, distributor.address, dvp.address):
            usd.approve(spender, 2**256 - 1, sender=account)
    for investor in (alice, bob, carol):
        token.mint(investor.address, START_BALANCE, sender=agent)
    distributor.deposit(PeriodRevenue(ASSET, 0, 3600, 0, b"\x00" * 32, 3_000 * UNIT), sender=owner)
    vault.open_period(PRICE, 10**12, 10**12, sender=owner)
    return SecurityWorld(chain, suite, token, raw, suite.compliance_client(), usd, vault, distributor, dvp, owner,
                         agent, alice, bob, carol, dave, outsider,
                         {a.address: i for (a, _), i in zip(people, identities)})


@pytest.fixture(scope="session")
def security_world_session(session_chain, tmp_path_factory) -> SecurityWorld:
    return build(session_chain, tmp_path_factory.mktemp("security-deployments"))


@pytest.fixture
def security_world(chain, security_world_session) -> SecurityWorld:
    """The shared asset, rolled back after the test."""
    return security_world_session
