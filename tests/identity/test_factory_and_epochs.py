"""IdentityFactory (clones, one per wallet) and ClaimEpochs (the counters behind the verification cache)."""

from __future__ import annotations

import pytest
from eth_account import Account

from rwa_sdk import errors

IDENTITY, TRUST_SOURCE = 1, 2
EPOCHS = "contracts/identity/ClaimEpochs.sol:ClaimEpochs"


@pytest.fixture
def epochs(world):
    return world.chain.contract(EPOCHS, world.suite.claim_epochs)


def test_identity_address_is_known_before_creation(world):
    wallet = Account.create().address
    predicted = world.factory.identity_of(wallet)
    assert world.chain.w3.eth.get_code(predicted) == b""
    identity = world.factory.create_identity(wallet, sender=world.agent)
    assert identity.address == predicted and world.chain.w3.eth.get_code(predicted) != b""


def test_a_wallet_gets_one_identity_only(world):
    with pytest.raises(errors.FailedDeployment):
        world.factory.create_identity(world.alice.address, sender=world.agent)


def test_created_identities_are_tracked(world, epochs):
    identity = world.factory.create_identity(Account.create().address, sender=world.agent)
    assert world.chain.call(epochs.functions.roleOf(identity.address)) == IDENTITY
    assert world.chain.call(epochs.functions.stampOf(identity.address)) != 0


def test_batch_create_is_atomic(world):
    fresh = Account.create().address
    with pytest.raises(errors.FailedDeployment):
        world.factory.batch_create_identities([fresh, world.alice.address], sender=world.agent)
    assert world.chain.w3.eth.get_code(world.factory.identity_of(fresh)) == b""


def test_batch_create_length_mismatch_reverts(world):
    fn = world.factory.contract.functions.batchCreateIdentity([world.outsider.address], [])
    with pytest.raises(errors.IdentityFactoryLengthMismatch):
        world.chain.transact(fn, sender=world.agent)


def test_claim_issuer_clone_is_a_tracked_trust_source(world, epochs):
    issuer = world.factory.create_claim_issuer(world.bob.address, sender=world.owner)
    assert world.chain.call(epochs.functions.roleOf(issuer.address)) == TRUST_SOURCE
    signed = issuer.sign(world.bob, world.identity(world.alice).address, 1, b"")
    assert issuer.is_claim_valid(signed)


def test_outsider_cannot_create_identities_or_issuers(world):
    with pytest.raises(errors.IdentityFactoryUnauthorized):
        world.factory.create_identity(Account.create().address, sender=world.outsider)
    with pytest.raises(errors.IdentityFactoryUnauthorized):
        world.factory.batch_create_identities([Account.create().address], sender=world.outsider)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        world.factory.create_claim_issuer(world.outsider.address, sender=world.outsider)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        world.factory.create_claim_issuer(world.outsider.address, sender=world.agent)


def test_factory_refuses_implementations_reporting_elsewhere(world):
    zero = "0x" + "00" * 20
    other, _ = world.chain.deploy("contracts/identity/Identity.sol:Identity", zero, zero)
    with pytest.raises(errors.IdentityFactoryEpochsMismatch):
        world.chain.deploy(
            "contracts/identity/IdentityFactory.sol:IdentityFactory", other.address, other.address, world.suite.claim_epochs, world.owner.address
        )


def test_claim_removal_bumps_the_identity_counter_only(world, epochs):
    alice, bob = world.identity(world.alice), world.identity(world.bob)
    before_a, before_b = (world.chain.call(epochs.functions.stampOf(i.address)) for i in (alice, bob))
    alice.remove_claim(world.issuer.address, 1, sender=world.agent)
    assert world.chain.call(epochs.functions.stampOf(alice.address)) == before_a + 1
    assert world.chain.call(epochs.functions.stampOf(bob.address)) == before_b


def test_untracked_callers_are_ignored(world, epochs):
    trust = world.chain.call(epochs.functions.trustEpoch())
    world.chain.transact(epochs.functions.trustChanged(), sender=world.outsider)
    world.chain.transact(epochs.functions.claimsChanged(), sender=world.outsider)
    assert world.chain.call(epochs.functions.trustEpoch()) == trust
    assert world.chain.call(epochs.functions.stampOf(world.outsider.address)) == 0


def test_owner_tracks_and_untracks(world, epochs):
    registry, _ = world.chain.deploy("contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry", world.owner.address, epochs.address)
    account = registry.address
    world.chain.transact(epochs.functions.track(account, TRUST_SOURCE), sender=world.owner)
    assert world.chain.call(epochs.functions.roleOf(account)) == TRUST_SOURCE
    trust = world.chain.call(epochs.functions.trustEpoch())
    world.chain.transact(epochs.functions.untrack(account), sender=world.owner)
    assert world.chain.call(epochs.functions.roleOf(account)) == 0
    assert world.chain.call(epochs.functions.trustEpoch()) == trust + 1


@pytest.mark.parametrize("case", ["no role", "already tracked", "no code", "reports elsewhere"])
def test_invalid_tracking_reverts(world, epochs, case):
    zero = "0x" + "00" * 20
    if case == "reports elsewhere":
        elsewhere, _ = world.chain.deploy("contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry", world.owner.address, zero)
        target, role = elsewhere.address, TRUST_SOURCE
    else:
        target, role = {
            "no role": (world.identity(world.alice).address, 0),
            "already tracked": (world.identity(world.alice).address, IDENTITY),
            "no code": (Account.create().address, TRUST_SOURCE),
        }[case]
    with pytest.raises(errors.ClaimEpochsInvalidTracking):
        world.chain.transact(epochs.functions.track(target, role), sender=world.owner)


def test_untracking_unknown_account_reverts(world, epochs):
    with pytest.raises(errors.ClaimEpochsInvalidTracking):
        world.chain.transact(epochs.functions.untrack(world.outsider.address), sender=world.owner)


def test_only_owner_and_registrars_manage_tracking(world, epochs):
    with pytest.raises(errors.ClaimEpochsUnauthorizedRegistrar):
        world.chain.transact(epochs.functions.track(world.outsider.address, TRUST_SOURCE), sender=world.outsider)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        world.chain.transact(epochs.functions.untrack(world.identity(world.alice).address), sender=world.outsider)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        world.chain.transact(epochs.functions.setRegistrar(world.outsider.address, True), sender=world.outsider)


def test_identities_differ_across_chains_so_claims_do_not_replay(world):
    """Attack (issue 12, item 7): a factory deployed at the same address on another chain (same deployer and
    nonce) used to hand the same wallet the same identity address there, and claims bind only to that address,
    so a claim signed on one chain was valid on the other."""
    from rwa_sdk.identity import ClaimTopic, kyc_data

    wallet = world.alice.address
    here = world.factory.identity_of(wallet)
    claim = world.issuer.sign(world.signer, here, ClaimTopic.KYC, kyc_data("x"))
    chain_id = world.chain.w3.eth.chain_id
    world.chain.rpc("anvil_setChainId", chain_id + 1)
    try:
        elsewhere = world.chain.call(world.factory.contract.functions.identityOf(wallet))
    finally:
        world.chain.rpc("anvil_setChainId", chain_id)
    assert elsewhere != here
    from rwa_sdk.identity import Claim
    replayed = Claim(elsewhere, claim.topic, claim.issuer, claim.signature, claim.data, claim.uri)
    assert world.issuer.is_claim_valid(claim) and not world.issuer.is_claim_valid(replayed)
