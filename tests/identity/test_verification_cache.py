"""The registry's verification cache never outlives a revocation, claim removal, key or issuer removal."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from rwa_sdk.identity import ClaimIssuer, ClaimTopic, KeyPurpose, kyc_data

IR = "contracts/identity/IdentityRegistry.sol:IdentityRegistry"
TIR = "contracts/identity/TrustedIssuersRegistry.sol:TrustedIssuersRegistry"
CTR = "contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry"
EPOCHS = "contracts/identity/ClaimEpochs.sol:ClaimEpochs"
IRS = "contracts/identity/IdentityRegistryStorage.sol:IdentityRegistryStorage"


@pytest.fixture
def ir(world):
    return world.chain.contract(IR, world.suite.identity_registry)


@pytest.fixture
def cached(world, ir):
    """Alice and Bob hold tokens; Alice's verification is cached."""
    world.token.mint(world.alice.address, 100, sender=world.agent)
    world.token.mint(world.bob.address, 100, sender=world.agent)
    assert world.chain.call(ir.functions.isCached(world.alice.address))
    return world


def alice_cached(world, ir) -> bool:
    return world.chain.call(ir.functions.isCached(world.alice.address))


def assert_alice_blocked(world):
    assert not world.registry.is_verified(world.alice.address)
    if world.token.balance_of(world.bob.address):
        with pytest.raises(errors.TokenRecipientNotVerified):
            world.token.transfer(world.alice.address, 1, sender=world.bob)
    with pytest.raises(errors.TokenRecipientNotVerified):
        world.token.mint(world.alice.address, 1, sender=world.agent)


def test_first_verification_fills_the_cache_and_a_hit_is_cheaper(world, ir):
    fn = ir.functions.verify(world.alice.address)
    assert not alice_cached(world, ir)
    storage = world.chain.contract(IRS, world.suite.identity_storage)
    miss = world.chain.transact(fn, sender=world.outsider)
    (tagged,) = miss.events(storage, "VerificationTagged")
    assert tagged["investorAddress"] == world.alice.address and tagged["identityRegistry"] == ir.address
    assert world.chain.call(storage.functions.storedInvestor(world.alice.address))[2] == tagged["tag"] != 0
    assert alice_cached(world, ir)
    hit = world.chain.transact(fn, sender=world.outsider)
    assert not hit.events(storage, "VerificationTagged")
    assert hit.gas_used < miss.gas_used - 50_000


def test_unverified_wallet_is_never_cached(world, ir):
    world.chain.transact(ir.functions.verify(world.outsider.address), sender=world.outsider)
    assert not world.chain.call(ir.functions.verify(world.outsider.address))


def test_revocation_takes_effect_immediately(cached, ir):
    world = cached
    signature = world.identity(world.alice).get_claim(world.issuer.address, ClaimTopic.KYC).signature
    world.issuer.revoke(signature, sender=world.owner)
    assert not alice_cached(world, ir)
    assert_alice_blocked(world)


def test_claim_removal_takes_effect_immediately(cached, ir):
    world = cached
    world.identity(world.alice).remove_claim(world.issuer.address, ClaimTopic.COUNTRY, sender=world.agent)
    assert_alice_blocked(world)


def test_issuer_removal_takes_effect_immediately(cached, ir):
    world = cached
    tir = world.chain.contract(TIR, world.suite.issuers_registry)
    world.chain.transact(tir.functions.removeTrustedIssuer(world.issuer.address), sender=world.owner)
    assert_alice_blocked(world)


def test_issuer_losing_a_topic_takes_effect_immediately(cached, ir):
    world = cached
    tir = world.chain.contract(TIR, world.suite.issuers_registry)
    world.chain.transact(tir.functions.updateIssuerClaimTopics(world.issuer.address, [ClaimTopic.COUNTRY]), sender=world.owner)
    assert_alice_blocked(world)


def test_signing_key_removal_takes_effect_immediately(cached, ir):
    world = cached
    world.issuer.remove_key(world.signer.address, KeyPurpose.CLAIM, sender=world.owner)
    assert_alice_blocked(world)


def test_new_required_topic_takes_effect_immediately(cached, ir):
    world = cached
    ctr = world.chain.contract(CTR, world.suite.topics_registry)
    world.chain.transact(ctr.functions.addClaimTopic(ClaimTopic.RISK_TIER), sender=world.owner)
    assert_alice_blocked(world)


def test_wallet_moved_to_another_identity_is_rechecked(cached, ir):
    world = cached
    world.registry.update_identity(world.alice.address, world.identity(world.bob).address, sender=world.agent)
    assert not alice_cached(world, ir)
    assert world.registry.is_verified(world.alice.address)


def test_identity_storage_tag_is_written_only_by_bound_registries(world):
    storage = world.chain.contract(IRS, world.suite.identity_storage)
    for who in (world.owner, world.agent, world.outsider):
        with pytest.raises(errors.AgentRoleUnauthorized):
            world.chain.transact(storage.functions.setVerificationTag(world.alice.address, 1), sender=who)


def test_deleted_wallet_is_unverified_immediately(cached, ir):
    world = cached
    world.registry.delete(world.alice.address, sender=world.agent)
    assert_alice_blocked(world)


def test_replaced_claim_ends_the_cache_but_a_valid_one_still_verifies(cached, ir):
    world = cached
    identity = world.identity(world.alice)
    identity.add_claim(world.issuer.sign(world.signer, identity.address, ClaimTopic.KYC, kyc_data("v2")), sender=world.agent)
    assert not alice_cached(world, ir)
    world.token.transfer(world.alice.address, 1, sender=world.bob)
    assert alice_cached(world, ir)


def test_registry_reconfiguration_ends_every_cache(cached, ir):
    world = cached
    world.chain.transact(ir.functions.setClaimTopicsRegistry(world.suite.topics_registry), sender=world.owner)
    assert not alice_cached(world, ir)


def test_untracking_an_issuer_ends_every_cache(cached, ir):
    world = cached
    epochs = world.chain.contract(EPOCHS, world.suite.claim_epochs)
    world.chain.transact(epochs.functions.untrack(world.issuer.address), sender=world.owner)
    assert not alice_cached(world, ir)
    # its claims still verify, the slow way, and are no longer cached
    world.token.transfer(world.alice.address, 1, sender=world.bob)
    assert not alice_cached(world, ir)


def test_claims_of_an_untracked_issuer_are_checked_every_time(world, ir):
    """An issuer whose code is not known to report revocations is never cached, so revocation still bites."""
    contract, _ = world.chain.deploy("contracts/identity/ClaimIssuer.sol:ClaimIssuer", world.owner.address, "0x" + "00" * 20)
    rogue = ClaimIssuer(world.chain, contract.address)
    tir = world.chain.contract(TIR, world.suite.issuers_registry)
    world.chain.transact(tir.functions.removeTrustedIssuer(world.issuer.address), sender=world.owner)
    world.chain.transact(tir.functions.addTrustedIssuer(rogue.address, [ClaimTopic.KYC, ClaimTopic.COUNTRY]), sender=world.owner)
    identity = world.identity(world.alice)
    claims = [rogue.sign(world.owner, identity.address, topic, b"ok") for topic in (ClaimTopic.KYC, ClaimTopic.COUNTRY)]
    for claim in claims:
        identity.add_claim(claim, sender=world.agent)
    world.token.mint(world.alice.address, 10, sender=world.agent)
    assert not alice_cached(world, ir)
    rogue.revoke(claims[0].signature, sender=world.owner)
    assert_alice_blocked(world)


def test_identity_not_made_by_the_factory_is_never_cached(world, ir):
    from eth_account import Account
    from rwa_sdk.identity import Identity, Investor

    wallet = Account.create()
    contract, _ = world.chain.deploy("contracts/identity/Identity.sol:Identity", world.agent.address, world.suite.claim_epochs)
    identity = Identity(world.chain, contract.address)
    for topic in (ClaimTopic.KYC, ClaimTopic.COUNTRY):
        identity.add_claim(world.issuer.sign(world.signer, identity.address, topic, b""), sender=world.agent)
    world.registry.register(Investor(wallet.address, identity.address, 276), sender=world.agent)
    world.token.mint(wallet.address, 5, sender=world.agent)
    assert not world.chain.call(ir.functions.isCached(wallet.address))
    identity.remove_claim(world.issuer.address, ClaimTopic.KYC, sender=world.agent)
    assert not world.registry.is_verified(wallet.address)
