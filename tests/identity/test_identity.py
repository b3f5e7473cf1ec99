"""Identity: ERC-734 keys and ERC-735 claims, with claims checked by their issuer."""

from __future__ import annotations

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.identity import ClaimTopic, KeyPurpose, claim_digest, claim_id, key_of, kyc_data


@pytest.fixture
def investor(world):
    """A fresh identity for a new wallet, with the agent as claim key."""
    wallet = Account.create()
    return wallet, world.factory.create_identity(wallet.address, claim_key=world.agent.address, sender=world.agent)


def test_factory_identity_has_wallet_as_management_key_and_agent_as_claim_key(world, investor):
    wallet, identity = investor
    assert identity.has_purpose(wallet.address, KeyPurpose.MANAGEMENT)
    assert identity.has_purpose(wallet.address, KeyPurpose.CLAIM)  # management keys hold every purpose
    assert identity.has_purpose(world.agent.address, KeyPurpose.CLAIM)
    assert not identity.has_purpose(world.agent.address, KeyPurpose.MANAGEMENT)


def test_get_key_lists_purposes_type_and_key(world):
    identity = world.identity(world.alice)
    purposes, key_type, key = world.chain.call(identity.contract.functions.getKey(key_of(world.alice.address)))
    assert purposes == [KeyPurpose.MANAGEMENT] and key_type == 1 and key == key_of(world.alice.address)
    assert world.chain.call(identity.contract.functions.getKeyPurposes(key_of(world.agent.address))) == [KeyPurpose.CLAIM]


def test_management_key_adds_and_removes_keys(world):
    identity = world.identity(world.alice)
    new = Account.create().address
    sent = identity.add_key(new, KeyPurpose.ACTION, sender=world.alice)
    assert sent.events(identity.contract, "KeyAdded")[0]["purpose"] == KeyPurpose.ACTION
    assert identity.has_purpose(new, KeyPurpose.ACTION)
    assert key_of(new) in world.chain.call(identity.contract.functions.getKeysByPurpose(KeyPurpose.ACTION))
    identity.remove_key(new, KeyPurpose.ACTION, sender=world.alice)
    assert not identity.has_purpose(new, KeyPurpose.ACTION)
    assert key_of(new) not in world.chain.call(identity.contract.functions.getKeysByPurpose(KeyPurpose.ACTION))


def test_adding_a_purpose_twice_reverts(world):
    identity = world.identity(world.alice)
    with pytest.raises(errors.IdentityKeyUnchanged):
        identity.add_key(world.alice.address, KeyPurpose.MANAGEMENT, sender=world.alice)


def test_removing_a_missing_purpose_reverts(world):
    identity = world.identity(world.alice)
    with pytest.raises(errors.IdentityKeyUnchanged):
        identity.remove_key(world.bob.address, KeyPurpose.ACTION, sender=world.alice)


@pytest.mark.parametrize("purpose", [0, 256])
def test_out_of_range_purpose_reverts(world, purpose):
    identity = world.identity(world.alice)
    with pytest.raises(errors.IdentityInvalidPurpose):
        world.chain.transact(identity.contract.functions.addKey(key_of(world.bob.address), purpose, 1), sender=world.alice)


def test_non_management_key_cannot_add_or_remove_keys(world):
    identity = world.identity(world.alice)
    with pytest.raises(errors.IdentityUnauthorized) as caught:
        identity.add_key(world.outsider.address, KeyPurpose.MANAGEMENT, sender=world.agent)
    assert caught.value.sender == world.agent.address and caught.value.purpose == KeyPurpose.MANAGEMENT
    with pytest.raises(errors.IdentityUnauthorized):
        identity.remove_key(world.alice.address, KeyPurpose.MANAGEMENT, sender=world.outsider)


def test_clone_cannot_be_initialized_twice(world):
    identity = world.identity(world.alice)
    full = world.chain.contract("contracts/identity/Identity.sol:Identity", identity.address)
    with pytest.raises(errors.IdentityAlreadyInitialized):
        world.chain.transact(full.functions.initialize(world.outsider.address, world.outsider.address), sender=world.outsider)


def test_identity_deployed_directly_is_managed_by_its_first_key(world):
    contract, _ = world.chain.deploy("contracts/identity/Identity.sol:Identity", world.bob.address, "0x" + "00" * 20)
    assert world.chain.call(contract.functions.keyHasPurpose(key_of(world.bob.address), KeyPurpose.MANAGEMENT))
    with pytest.raises(errors.IdentityAlreadyInitialized):
        world.chain.transact(contract.functions.initialize(world.outsider.address, world.outsider.address), sender=world.outsider)


def test_claim_signed_in_python_is_accepted_and_stored(world, investor):
    wallet, identity = investor
    claim = world.issuer.sign(world.signer, identity.address, ClaimTopic.KYC, kyc_data("k-7"), "https://kyc.example/k-7")
    assert world.issuer.is_claim_valid(claim)
    sent = identity.add_claim(claim, sender=world.agent)
    (event,) = sent.events(identity.contract, "ClaimAdded")
    assert event["claimId"] == claim_id(world.issuer.address, ClaimTopic.KYC)
    stored = identity.get_claim(world.issuer.address, ClaimTopic.KYC)
    assert (stored.topic, stored.issuer, stored.signature, stored.data, stored.uri) == (
        ClaimTopic.KYC, world.issuer.address, claim.signature, claim.data, claim.uri
    )
    assert identity.claim_ids(ClaimTopic.KYC) == [claim.claim_id]


def test_claim_digest_matches_onchainid_encoding(world):
    digest = claim_digest(world.alice.address, 7, b"\x01\x02")
    from eth_abi import encode
    from eth_utils import keccak

    assert digest == keccak(encode(["address", "uint256", "bytes"], [world.alice.address, 7, b"\x01\x02"]))


def test_claim_signed_by_a_non_claim_key_reverts(world, investor):
    _, identity = investor
    forged = world.issuer.sign(world.outsider, identity.address, ClaimTopic.KYC, kyc_data())
    with pytest.raises(errors.IdentityInvalidClaim):
        identity.add_claim(forged, sender=world.agent)


def test_claim_for_another_identity_reverts(world, investor):
    _, identity = investor
    elsewhere = world.issuer.sign(world.signer, world.identity(world.alice).address, ClaimTopic.KYC, kyc_data())
    moved = type(elsewhere)(identity.address, elsewhere.topic, elsewhere.issuer, elsewhere.signature, elsewhere.data)
    with pytest.raises(errors.IdentityInvalidClaim):
        identity.add_claim(moved, sender=world.agent)


def test_self_issued_claim_needs_no_issuer_check(world):
    identity = world.identity(world.alice)
    fn = identity.contract.functions.addClaim(99, 1, identity.address, b"", b"note", "")
    world.chain.transact(fn, sender=world.alice)
    assert identity.get_claim(identity.address, 99).data == b"note"


def test_adding_the_same_issuer_topic_replaces_the_claim(world):
    identity = world.identity(world.alice)
    claim = world.issuer.sign(world.signer, identity.address, ClaimTopic.KYC, kyc_data("renewed"))
    sent = identity.add_claim(claim, sender=world.agent)
    assert sent.events(identity.contract, "ClaimChanged") and not sent.events(identity.contract, "ClaimAdded")
    assert identity.get_claim(world.issuer.address, ClaimTopic.KYC).data == claim.data
    assert identity.claim_ids(ClaimTopic.KYC) == [claim.claim_id]


def test_claim_key_removes_a_claim(world):
    identity = world.identity(world.alice)
    sent = identity.remove_claim(world.issuer.address, ClaimTopic.KYC, sender=world.agent)
    assert sent.events(identity.contract, "ClaimRemoved")[0]["topic"] == ClaimTopic.KYC
    assert not identity.get_claim(world.issuer.address, ClaimTopic.KYC).exists
    assert identity.claim_ids(ClaimTopic.KYC) == []


def test_removing_a_missing_claim_reverts(world):
    identity = world.identity(world.alice)
    with pytest.raises(errors.IdentityClaimNotFound):
        identity.remove_claim(world.issuer.address, 77, sender=world.agent)


def test_outsider_cannot_add_or_remove_claims(world):
    identity = world.identity(world.alice)
    claim = world.issuer.sign(world.signer, identity.address, ClaimTopic.KYC, kyc_data())
    with pytest.raises(errors.IdentityUnauthorized):
        identity.add_claim(claim, sender=world.outsider)
    with pytest.raises(errors.IdentityUnauthorized):
        identity.remove_claim(world.issuer.address, ClaimTopic.KYC, sender=world.outsider)


# -- ERC-734 executions -----------------------------------------------------------------------------

def test_management_key_executes_calls_to_the_identity_at_once(world):
    identity = world.identity(world.alice)
    new = Account.create().address
    data = identity.contract.encode_abi("addKey", args=[key_of(new), KeyPurpose.ACTION, 1])
    sent = world.chain.transact(identity.contract.functions.execute(identity.address, 0, data), sender=world.alice)
    assert sent.events(identity.contract, "Executed")[0]["executionId"] == 0
    assert identity.has_purpose(new, KeyPurpose.ACTION)


def test_action_key_executes_external_calls_at_once(world):
    identity = world.identity(world.alice)
    actor = world.bob
    identity.add_key(actor.address, KeyPurpose.ACTION, sender=world.alice)
    data = world.issuer.contract.encode_abi("isClaimRevoked", args=[b"\x01"])
    sent = world.chain.transact(identity.contract.functions.execute(world.issuer.address, 0, data), sender=actor)
    assert sent.events(identity.contract, "Executed")
    # an action key alone cannot change the identity itself: the request waits for a management key
    data = identity.contract.encode_abi("addKey", args=[key_of(actor.address), KeyPurpose.MANAGEMENT, 1])
    sent = world.chain.transact(identity.contract.functions.execute(identity.address, 0, data), sender=actor)
    (requested,) = sent.events(identity.contract, "ExecutionRequested")
    assert not sent.events(identity.contract, "Executed") and not identity.has_purpose(actor.address, KeyPurpose.MANAGEMENT)
    with pytest.raises(errors.IdentityUnauthorized):
        world.chain.transact(identity.contract.functions.approve(requested["executionId"], True), sender=actor)
    world.chain.transact(identity.contract.functions.approve(requested["executionId"], True), sender=world.alice)
    assert identity.has_purpose(actor.address, KeyPurpose.MANAGEMENT)
    with pytest.raises(errors.IdentityExecutionNotPending):
        world.chain.transact(identity.contract.functions.approve(requested["executionId"], True), sender=world.alice)


def test_rejected_or_unknown_executions(world):
    identity = world.identity(world.alice)
    data = identity.contract.encode_abi("addKey", args=[key_of(world.outsider.address), KeyPurpose.MANAGEMENT, 1])
    sent = world.chain.transact(identity.contract.functions.execute(identity.address, 0, data), sender=world.outsider)
    execution = sent.events(identity.contract, "ExecutionRequested")[0]["executionId"]
    sent = world.chain.transact(identity.contract.functions.approve(execution, False), sender=world.alice)
    assert sent.events(identity.contract, "Approved")[0]["approved"] is False
    assert not identity.has_purpose(world.outsider.address, KeyPurpose.MANAGEMENT)
    with pytest.raises(errors.IdentityExecutionNotPending):
        world.chain.transact(identity.contract.functions.approve(execution, True), sender=world.alice)
    with pytest.raises(errors.IdentityExecutionNotPending):
        world.chain.transact(identity.contract.functions.approve(999, True), sender=world.alice)


def test_failed_execution_is_reported_and_stays_pending(world):
    identity = world.identity(world.alice)
    data = identity.contract.encode_abi("removeKey", args=[key_of(world.outsider.address), KeyPurpose.ACTION])
    sent = world.chain.transact(identity.contract.functions.execute(identity.address, 0, data), sender=world.alice)
    (failed,) = sent.events(identity.contract, "ExecutionFailed")
    identity.add_key(world.outsider.address, KeyPurpose.ACTION, sender=world.alice)
    sent = world.chain.transact(identity.contract.functions.approve(failed["executionId"], True), sender=world.alice)
    assert sent.events(identity.contract, "Executed")
    assert not identity.has_purpose(world.outsider.address, KeyPurpose.ACTION)


def test_initializing_with_no_management_key_reverts(world):
    with pytest.raises(errors.IdentityInvalidKey):
        world.factory.create_identity("0x" + "00" * 20, sender=world.agent)


def test_claim_scheme_beyond_96_bits_reverts(world):
    identity = world.identity(world.alice)
    fn = identity.contract.functions.addClaim(99, 2**96, identity.address, b"", b"", "")
    with pytest.raises(errors.IdentityInvalidScheme):
        world.chain.transact(fn, sender=world.alice)
