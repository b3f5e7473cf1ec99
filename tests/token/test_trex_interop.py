"""The SDK drives any ERC-3643 suite: here Tokeny's T-REX 4.1.6 with ONCHAINID identities (skipped until the
`@tokenysolutions/t-rex` package is installed in node_modules, or RWA_TREX_PACKAGE points at an unpacked copy)."""

from __future__ import annotations

import pytest
from eth_account import Account

from bench.gas import GERMANY, ReferenceSuite, deploy_reference, trex_package
from rwa_sdk import toolchain
from rwa_sdk.identity import ClaimIssuer, ClaimTopic, Identity, IdentityRegistry, KeyPurpose
from rwa_sdk.token import AssetToken

PACKAGE = trex_package(toolchain.project_root())
pytestmark = pytest.mark.skipif(not (PACKAGE / "artifacts").is_dir(), reason="T-REX artifacts not installed")


@pytest.fixture(scope="module")
def trex(session_chain) -> ReferenceSuite:
    owner, agent, signer, alice, bob = session_chain.accounts[:5]
    return deploy_reference(session_chain, PACKAGE, owner, agent, signer, [alice.address, bob.address])


@pytest.fixture
def token(chain, trex) -> AssetToken:
    token = AssetToken(chain, trex.token)
    token.mint(chain.accounts[3].address, 1_000, sender=chain.accounts[1])
    return token


def test_sdk_operates_a_trex_token(chain, token):
    agent, alice, bob = chain.accounts[1], chain.accounts[3], chain.accounts[4]
    token.transfer(bob.address, 100, sender=alice)
    token.freeze_tokens(alice.address, 50, sender=agent)
    assert token.free_balance_of(alice.address) == 850
    token.forced_transfer(alice.address, bob.address, 900, sender=agent)
    assert token.frozen_tokens(alice.address) == 0 and token.balance_of(bob.address) == 1_000
    token.burn(bob.address, 10, sender=agent)
    assert token.total_supply() == 990


def test_sdk_explains_trex_refusals(chain, trex, token):
    owner, alice, bob, outsider = chain.accounts[0], chain.accounts[3], chain.accounts[4], chain.accounts[9]
    assert token.can_transfer(alice.address, bob.address, 10).allowed
    assert token.can_transfer(alice.address, outsider.address, 10).rule.endswith("is not registered in the identity registry")
    bob_identity = Identity(chain, trex.identities[bob.address])
    signature = bob_identity.get_claim(trex.claim_issuer, ClaimTopic.KYC).signature
    ClaimIssuer(chain, trex.claim_issuer).revoke(signature, sender=owner)
    assert token.can_transfer(alice.address, bob.address, 10).rule.endswith(f"claim from issuer {trex.claim_issuer} was revoked")


def test_sdk_explains_a_trex_module_refusal(chain, trex, token):
    agent, alice, bob = chain.accounts[1], chain.accounts[3], chain.accounts[4]
    IdentityRegistry(chain, trex.identity_registry).update_country(bob.address, 840, sender=agent)
    check = token.can_transfer(alice.address, bob.address, 10)
    assert check.rule == "CountryAllowModule: the receiver's country (840) is not on the token's country allow-list"


def test_sdk_recovers_a_lost_trex_wallet(chain, trex, token):
    agent, alice = chain.accounts[1], chain.accounts[3]
    new = Account.create().address
    identity = Identity(chain, trex.identities[alice.address])
    identity.add_key(new, KeyPurpose.MANAGEMENT, sender=agent)
    token.freeze_tokens(alice.address, 300, sender=agent)
    token.recover(alice.address, new, identity.address, sender=agent)
    assert token.balance_of(new) == 1_000 and token.frozen_tokens(new) == 300
    registry = IdentityRegistry(chain, trex.identity_registry)
    assert registry.identity_of(new) == identity.address and not registry.contains(alice.address)
    assert registry.country_of(new) == GERMANY
