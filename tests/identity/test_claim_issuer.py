"""ClaimIssuer: validity of ONCHAINID-format claims, revocation, key removal."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from rwa_sdk.identity import Claim, ClaimIssuer, ClaimTopic, KeyPurpose, country_data, kyc_data


@pytest.fixture
def claim(world) -> Claim:
    return world.issuer.sign(world.signer, world.identity(world.alice).address, ClaimTopic.KYC, kyc_data("x"))


def test_claim_signed_by_claim_key_is_valid(world, claim):
    assert world.issuer.is_claim_valid(claim)


@pytest.mark.parametrize("field", ["topic", "data", "identity"])
def test_claim_with_altered_field_is_invalid(world, claim, field):
    altered = {
        "topic": Claim(claim.identity, ClaimTopic.COUNTRY, claim.issuer, claim.signature, claim.data),
        "data": Claim(claim.identity, claim.topic, claim.issuer, claim.signature, country_data(250)),
        "identity": Claim(world.identity(world.bob).address, claim.topic, claim.issuer, claim.signature, claim.data),
    }[field]
    assert not world.issuer.is_claim_valid(altered)


def test_malformed_signature_is_invalid_not_a_revert(world, claim):
    assert not world.issuer.is_claim_valid(Claim(claim.identity, claim.topic, claim.issuer, b"\x01" * 10, claim.data))


def test_management_key_signs_valid_claims(world, claim):
    signed = world.issuer.sign(world.owner, claim.identity, claim.topic, claim.data)
    assert world.issuer.is_claim_valid(signed)


def test_revocation_by_signature_invalidates_the_claim(world, claim):
    sent = world.issuer.revoke(claim.signature, sender=world.owner)
    assert sent.events(world.issuer.contract, "ClaimRevoked")
    assert world.issuer.is_revoked(claim.signature)
    assert not world.issuer.is_claim_valid(claim)


def test_revoking_twice_reverts(world, claim):
    world.issuer.revoke(claim.signature, sender=world.owner)
    with pytest.raises(errors.ClaimIssuerAlreadyRevoked):
        world.issuer.revoke(claim.signature, sender=world.owner)


def test_revoke_claim_by_id_reads_the_signature_from_the_identity(world):
    identity = world.identity(world.alice)
    stored = identity.get_claim(world.issuer.address, ClaimTopic.KYC)
    fn = world.issuer.contract.functions.revokeClaim(identity.claim_ids(ClaimTopic.KYC)[0], identity.address)
    world.chain.transact(fn, sender=world.owner)
    assert world.issuer.is_revoked(stored.signature)


def test_revoke_claim_by_id_of_missing_claim_reverts(world):
    fn = world.issuer.contract.functions.revokeClaim(b"\x11" * 32, world.identity(world.alice).address)
    with pytest.raises(errors.IdentityClaimNotFound):
        world.chain.transact(fn, sender=world.owner)


def test_removing_the_signing_key_invalidates_its_claims(world, claim):
    world.issuer.remove_key(world.signer.address, KeyPurpose.CLAIM, sender=world.owner)
    assert not world.issuer.is_claim_valid(claim)


def test_outsider_and_claim_key_cannot_revoke(world, claim):
    for who in (world.outsider, world.signer):
        with pytest.raises(errors.IdentityUnauthorized):
            world.issuer.revoke(claim.signature, sender=who)
        with pytest.raises(errors.IdentityUnauthorized):
            world.chain.transact(world.issuer.contract.functions.revokeClaim(b"\x11" * 32, claim.identity), sender=who)


def test_claim_issuer_deployed_directly_works_without_counters(world):
    contract, _ = world.chain.deploy("contracts/identity/ClaimIssuer.sol:ClaimIssuer", world.bob.address, "0x" + "00" * 20)
    issuer = ClaimIssuer(world.chain, contract.address)
    signed = issuer.sign(world.bob, world.identity(world.alice).address, 5, b"")
    assert issuer.is_claim_valid(signed)
    issuer.revoke(signed.signature, sender=world.bob)
    assert not issuer.is_claim_valid(signed)


def test_get_recovered_address_matches_onchainid(world, claim):
    """T-REX 4.1.6's IClaimIssuer has getRecoveredAddress: the signer of an already prefixed hash."""
    from eth_account.messages import _hash_eip191_message, encode_defunct

    from rwa_sdk.identity import claim_digest

    prefixed = _hash_eip191_message(encode_defunct(primitive=claim_digest(claim.identity, claim.topic, claim.data)))
    recovered = world.chain.call(world.issuer.contract.functions.getRecoveredAddress(claim.signature, prefixed))
    assert recovered == world.signer.address
    assert world.chain.call(world.issuer.contract.functions.getRecoveredAddress(b"\x01" * 10, prefixed)) == "0x" + "00" * 20
