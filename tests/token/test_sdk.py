"""The issuer SDK: suite deployment, onboarding, and `can_transfer` explaining the failing rule in words."""

from __future__ import annotations

from eth_account import Account

from rwa_sdk.identity import ClaimTopic, KeyPurpose
from rwa_sdk.token import Onboarding, SuiteConfig, TransferCheck, deploy_suite, onboard_investors
from tests.token.world import FRANCE, GERMANY, standard_claims


def test_allowed_transfer_has_no_reason(world):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    check = world.token.can_transfer(world.alice.address, world.bob.address, 5)
    assert check == TransferCheck(True, ()) and check and check.rule is None


def test_can_transfer_sends_nothing(world):
    block = world.chain.w3.eth.block_number
    world.token.can_transfer(world.alice.address, world.outsider.address, 5)
    assert world.chain.w3.eth.block_number == block


def test_explains_pause_freeze_and_balances(world):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    world.token.freeze_tokens(world.alice.address, 4, sender=world.agent)
    assert world.token.can_transfer(world.alice.address, world.bob.address, 7).reasons == (
        "only 6 of the sender's 10 tokens are free (4 frozen), less than 7",
    )
    assert world.token.can_transfer(world.alice.address, world.bob.address, 11).rule == "the sender holds 10, less than 11"
    world.token.pause(sender=world.agent)
    world.token.set_frozen(world.bob.address, True, sender=world.agent)
    reasons = world.token.can_transfer(world.alice.address, world.bob.address, 1).reasons
    assert reasons == ("the token is paused", f"the receiver {world.bob.address} is frozen")


def test_explains_unregistered_receiver(world):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    check = world.token.can_transfer(world.alice.address, world.outsider.address, 1)
    assert check.rule == f"the receiver is not a verified investor: {world.outsider.address} is not registered in the identity registry"


def test_explains_revoked_removed_and_unsigned_claims(world):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    bob = world.identity(world.bob)
    kyc = bob.get_claim(world.issuer.address, ClaimTopic.KYC)
    world.issuer.revoke(kyc.signature, sender=world.owner)
    bob.remove_claim(world.issuer.address, ClaimTopic.COUNTRY, sender=world.agent)
    reasons = world.token.can_transfer(world.alice.address, world.bob.address, 1).reasons
    assert reasons[0] == f"the receiver is not a verified investor: the KYC (topic 1) claim from issuer {world.issuer.address} was revoked"
    assert reasons[1] == "the receiver is not a verified investor: the identity holds no COUNTRY (topic 2) claim from a trusted issuer"


def test_explains_claims_whose_signing_key_was_removed(world):
    world.token.mint(world.bob.address, 10, sender=world.agent)
    world.issuer.remove_key(world.signer.address, KeyPurpose.CLAIM, sender=world.owner)
    reasons = world.token.can_transfer(world.bob.address, world.alice.address, 1).reasons
    assert len(reasons) == 2 and all("no longer valid (its signing key was removed)" in r for r in reasons)


def test_explains_several_rules_at_once(world):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    world.compliance.disallow_countries([FRANCE], sender=world.owner)
    world.token.pause(sender=world.agent)
    reasons = world.token.can_transfer(world.alice.address, world.bob.address, 1).reasons
    assert reasons[0] == "the token is paused"
    assert reasons[1].startswith("CountryAllowModule: the receiver's country (250)")


def test_deploy_suite_with_every_rule_and_onboard_in_batch(world):
    config = SuiteConfig(
        name="Storage Fund",
        symbol="BESS",
        decimals=6,
        required_topics=(ClaimTopic.KYC,),
        allowed_countries=(GERMANY,),
        blocked_countries=(FRANCE,),
        max_balance=10**12,
        max_holders=100,
        supply_limit=10**15,
        lock_period_s=3600,
        risk_level=1,
        professional_only=(FRANCE,),
    )
    suite = deploy_suite(world.chain, config, world.owner, world.agent, world.signer)
    assert list(suite.modules) == [
        "CountryAllowModule",
        "CountryRestrictModule",
        "MaxBalanceModule",
        "MaxHoldersModule",
        "SupplyLimitModule",
        "LockUpModule",
        "InvestorSuitabilityModule",
    ]
    token = suite.token_client()
    assert token.is_agent(world.agent.address)
    wallets = [Account.create().address for _ in range(3)]
    claims = {ClaimTopic.KYC: standard_claims(GERMANY)[ClaimTopic.KYC], ClaimTopic.RISK_TIER: b"\x00" * 31 + b"\x02"}
    onboard_investors(suite, [Onboarding(w, GERMANY, claims) for w in wallets], world.agent, world.signer)
    registry = suite.registry_client()
    assert all(registry.is_verified(w) for w in wallets)
    token.batch_mint({w: 1_000_000 for w in wallets}, sender=world.agent)
    assert token.total_supply() == 3_000_000
    check = token.can_transfer(wallets[0], wallets[1], 1)
    assert check.rule.startswith("LockUpModule: 1000000 of the sender's tokens are locked")
