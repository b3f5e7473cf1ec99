"""Claim topics, trusted issuers, identity storage and identity registry: success, reverts, permissions."""

from __future__ import annotations

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.identity import ClaimTopic, Investor

CTR = "contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry"
TIR = "contracts/identity/TrustedIssuersRegistry.sol:TrustedIssuersRegistry"
IRS = "contracts/identity/IdentityRegistryStorage.sol:IdentityRegistryStorage"
IR = "contracts/identity/IdentityRegistry.sol:IdentityRegistry"
ZERO = "0x" + "00" * 20


@pytest.fixture
def ctr(world):
    return world.chain.contract(CTR, world.suite.topics_registry)


@pytest.fixture
def tir(world):
    return world.chain.contract(TIR, world.suite.issuers_registry)


@pytest.fixture
def irs(world):
    return world.chain.contract(IRS, world.suite.identity_storage)


@pytest.fixture
def ir(world):
    return world.chain.contract(IR, world.suite.identity_registry)


def send(world, fn, sender=None):
    return world.chain.transact(fn, sender=sender or world.owner)


# -- claim topics ------------------------------------------------------------------------------

def test_topics_are_added_and_removed(world, ctr):
    sent = send(world, ctr.functions.addClaimTopic(42))
    assert sent.events(ctr, "ClaimTopicAdded")[0]["claimTopic"] == 42
    assert world.chain.call(ctr.functions.getClaimTopics()) == [ClaimTopic.KYC, ClaimTopic.COUNTRY, 42]
    send(world, ctr.functions.removeClaimTopic(ClaimTopic.KYC))
    assert sorted(world.chain.call(ctr.functions.getClaimTopics())) == [ClaimTopic.COUNTRY, 42]


def test_duplicate_topic_reverts(world, ctr):
    with pytest.raises(errors.ClaimTopicAlreadyRequired):
        send(world, ctr.functions.addClaimTopic(ClaimTopic.KYC))


def test_removing_unknown_topic_reverts(world, ctr):
    with pytest.raises(errors.ClaimTopicNotRequired):
        send(world, ctr.functions.removeClaimTopic(999))


def test_topic_limit(world, ctr):
    for topic in range(100, 113):
        send(world, ctr.functions.addClaimTopic(topic))
    with pytest.raises(errors.ClaimTopicsLimitReached):
        send(world, ctr.functions.addClaimTopic(200))


# -- trusted issuers -----------------------------------------------------------------------------

def test_issuer_is_added_updated_and_removed(world, tir):
    other = world.factory.create_claim_issuer(world.bob.address, sender=world.owner).address
    send(world, tir.functions.addTrustedIssuer(other, [ClaimTopic.KYC]))
    assert world.chain.call(tir.functions.isTrustedIssuer(other))
    assert other in world.chain.call(tir.functions.getTrustedIssuersForClaimTopic(ClaimTopic.KYC))
    assert world.chain.call(tir.functions.hasClaimTopic(other, ClaimTopic.KYC))
    send(world, tir.functions.updateIssuerClaimTopics(other, [ClaimTopic.COUNTRY]))
    assert world.chain.call(tir.functions.getTrustedIssuerClaimTopics(other)) == [ClaimTopic.COUNTRY]
    assert other not in world.chain.call(tir.functions.getTrustedIssuersForClaimTopic(ClaimTopic.KYC))
    assert not world.chain.call(tir.functions.hasClaimTopic(other, ClaimTopic.KYC))
    sent = send(world, tir.functions.removeTrustedIssuer(other))
    assert sent.events(tir, "TrustedIssuerRemoved")
    assert other not in world.chain.call(tir.functions.getTrustedIssuers())
    assert not world.chain.call(tir.functions.isTrustedIssuer(other))


def test_issuer_errors(world, tir):
    with pytest.raises(errors.TrustedIssuerInvalid):
        send(world, tir.functions.addTrustedIssuer(ZERO, [1]))
    with pytest.raises(errors.TrustedIssuerAlreadyTrusted):
        send(world, tir.functions.addTrustedIssuer(world.issuer.address, [1]))
    with pytest.raises(errors.TrustedIssuerInvalidTopics):
        send(world, tir.functions.addTrustedIssuer(world.outsider.address, []))
    with pytest.raises(errors.TrustedIssuerInvalidTopics):
        send(world, tir.functions.addTrustedIssuer(world.outsider.address, list(range(16))))
    with pytest.raises(errors.TrustedIssuerNotTrusted):
        send(world, tir.functions.removeTrustedIssuer(world.outsider.address))
    with pytest.raises(errors.TrustedIssuerNotTrusted):
        send(world, tir.functions.updateIssuerClaimTopics(world.outsider.address, [1]))
    with pytest.raises(errors.TrustedIssuerNotTrusted):
        world.chain.call(tir.functions.getTrustedIssuerClaimTopics(world.outsider.address))


# -- identity storage ----------------------------------------------------------------------------

def test_storage_is_shared_by_two_registries(world, irs):
    zero_epochs = ZERO
    second, _ = world.chain.deploy(
        IR, world.owner.address, world.suite.issuers_registry, world.suite.topics_registry, irs.address, zero_epochs, sender=world.owner
    )
    send(world, irs.functions.bindIdentityRegistry(second.address))
    assert second.address in world.chain.call(irs.functions.linkedIdentityRegistries())
    # the second registry sees the investors the first one registered, and verifies them without a cache
    assert world.chain.call(second.functions.identity(world.alice.address)) == world.identity(world.alice).address
    assert world.chain.call(second.functions.isVerified(world.alice.address))
    send(world, irs.functions.unbindIdentityRegistry(second.address))
    assert second.address not in world.chain.call(irs.functions.linkedIdentityRegistries())
    send(world, second.functions.addAgent(world.agent.address))
    with pytest.raises(errors.AgentRoleUnauthorized):
        send(world, second.functions.deleteIdentity(world.alice.address), sender=world.agent)


def test_unbinding_unknown_registry_reverts(world, irs):
    with pytest.raises(errors.AgentRoleUnchanged):
        send(world, irs.functions.unbindIdentityRegistry(world.outsider.address))


def test_storage_rejects_direct_writes_from_non_registries(world, irs):
    calls = [
        irs.functions.addIdentityToStorage(world.outsider.address, world.identity(world.alice).address, 1),
        irs.functions.removeIdentityFromStorage(world.alice.address),
        irs.functions.modifyStoredInvestorCountry(world.alice.address, 1),
        irs.functions.modifyStoredIdentity(world.alice.address, world.identity(world.bob).address),
    ]
    for fn in calls:
        for who in (world.agent, world.outsider, world.owner):
            with pytest.raises(errors.AgentRoleUnauthorized):
                send(world, fn, sender=who)


# -- identity registry ---------------------------------------------------------------------------

def test_register_update_and_delete(world):
    wallet = Account.create().address
    identity = world.factory.create_identity(wallet, sender=world.agent)
    reg = world.registry
    sent = reg.register(Investor(wallet, identity.address, 250), sender=world.agent)
    assert sent.events(reg.contract, "IdentityRegistered")[0]["investorAddress"] == wallet
    assert reg.contains(wallet) and reg.identity_of(wallet) == identity.address and reg.country_of(wallet) == 250
    assert not reg.is_verified(wallet)  # no claims yet
    reg.update_country(wallet, 276, sender=world.agent)
    assert reg.country_of(wallet) == 276
    reg.update_identity(wallet, world.identity(world.alice).address, sender=world.agent)
    assert reg.identity_of(wallet) == world.identity(world.alice).address and reg.is_verified(wallet)
    sent = reg.delete(wallet, sender=world.agent)
    assert sent.events(reg.contract, "IdentityRemoved")
    assert not reg.contains(wallet) and not reg.is_verified(wallet)


def test_registration_errors(world):
    reg = world.registry
    with pytest.raises(errors.IdentityStorageAlreadyStored):
        reg.register(Investor(world.alice.address, world.identity(world.alice).address, 1), sender=world.agent)
    with pytest.raises(errors.IdentityStorageInvalidInput):
        reg.register(Investor(world.outsider.address, ZERO, 1), sender=world.agent)
    with pytest.raises(errors.IdentityStorageNotStored):
        reg.delete(world.outsider.address, sender=world.agent)
    with pytest.raises(errors.IdentityStorageNotStored):
        reg.update_country(world.outsider.address, 1, sender=world.agent)
    with pytest.raises(errors.IdentityStorageNotStored):
        reg.update_identity(world.outsider.address, world.identity(world.alice).address, sender=world.agent)


def test_batch_register_is_atomic(world):
    fresh = [Account.create().address for _ in range(3)]
    identities = world.factory.batch_create_identities(fresh, sender=world.agent)
    batch = [Investor(w, i.address, 276) for w, i in zip(fresh, identities)]
    with pytest.raises(errors.IdentityStorageAlreadyStored):
        world.registry.batch_register(batch + [Investor(world.alice.address, identities[0].address, 1)], sender=world.agent)
    assert not any(world.registry.contains(w) for w in fresh)
    world.registry.batch_register(batch, sender=world.agent)
    assert all(world.registry.contains(w) for w in fresh)


def test_batch_register_length_mismatch_reverts(world, ir):
    with pytest.raises(errors.IdentityRegistryLengthMismatch):
        send(world, ir.functions.batchRegisterIdentity([world.outsider.address], [], [1]), sender=world.agent)


def test_registry_setters_replace_components(world, ir):
    topics, _ = world.chain.deploy(CTR, world.owner.address, ZERO)
    send(world, ir.functions.setClaimTopicsRegistry(topics.address))
    assert world.chain.call(ir.functions.topicsRegistry()) == topics.address
    assert world.registry.is_verified(world.alice.address) and world.registry.is_verified(world.outsider.address) is False
    issuers, _ = world.chain.deploy(TIR, world.owner.address, ZERO)
    send(world, ir.functions.setTrustedIssuersRegistry(issuers.address))
    assert world.chain.call(ir.functions.issuersRegistry()) == issuers.address
    storage, _ = world.chain.deploy(IRS, world.owner.address)
    send(world, ir.functions.setIdentityRegistryStorage(storage.address))
    assert world.chain.call(ir.functions.identityStorage()) == storage.address
    assert not world.registry.contains(world.alice.address)
    with pytest.raises(errors.IdentityRegistryInvalidAddress):
        send(world, ir.functions.setClaimTopicsRegistry(ZERO))


def test_verified_requires_a_trusted_issuer_for_each_topic(world, ctr):
    send(world, ctr.functions.addClaimTopic(77))
    assert not world.registry.is_verified(world.alice.address)
    assert world.registry.why_not_verified(world.alice.address) == ["no issuer is trusted for the required claim topic 77"]


def test_no_required_topic_means_registered_is_verified(world, ctr):
    for topic in (ClaimTopic.KYC, ClaimTopic.COUNTRY):
        send(world, ctr.functions.removeClaimTopic(topic))
    wallet = Account.create().address
    identity = world.factory.create_identity(wallet, sender=world.agent)
    world.registry.register(Investor(wallet, identity.address, 1), sender=world.agent)
    assert world.registry.is_verified(wallet)


# -- permissions ---------------------------------------------------------------------------------

def owner_only_calls(world, ctr, tir, irs, ir):
    return [
        ctr.functions.addClaimTopic(9),
        ctr.functions.removeClaimTopic(ClaimTopic.KYC),
        tir.functions.addTrustedIssuer(world.outsider.address, [1]),
        tir.functions.removeTrustedIssuer(world.issuer.address),
        tir.functions.updateIssuerClaimTopics(world.issuer.address, [1]),
        irs.functions.bindIdentityRegistry(world.outsider.address),
        irs.functions.unbindIdentityRegistry(ir.address),
        irs.functions.addAgent(world.outsider.address),
        irs.functions.removeAgent(ir.address),
        ir.functions.setIdentityRegistryStorage(world.outsider.address),
        ir.functions.setClaimTopicsRegistry(world.outsider.address),
        ir.functions.setTrustedIssuersRegistry(world.outsider.address),
        ir.functions.addAgent(world.outsider.address),
        ir.functions.removeAgent(world.agent.address),
    ]


def test_owner_only_functions_reject_agent_and_outsider(world, ctr, tir, irs, ir):
    for fn in owner_only_calls(world, ctr, tir, irs, ir):
        for who in (world.agent, world.outsider):
            with pytest.raises(errors.OwnableUnauthorizedAccount):
                send(world, fn, sender=who)


def test_agent_only_registry_functions_reject_outsider_and_owner(world, ir):
    wallet = world.alice.address
    calls = [
        ir.functions.registerIdentity(world.outsider.address, world.identity(world.alice).address, 1),
        ir.functions.batchRegisterIdentity([world.outsider.address], [world.identity(world.alice).address], [1]),
        ir.functions.updateIdentity(wallet, world.identity(world.bob).address),
        ir.functions.updateCountry(wallet, 1),
        ir.functions.deleteIdentity(wallet),
    ]
    for fn in calls:
        for who in (world.outsider, world.owner):
            with pytest.raises(errors.AgentRoleUnauthorized):
                send(world, fn, sender=who)


def test_agent_role_management(world, ir):
    with pytest.raises(errors.AgentRoleUnchanged):
        send(world, ir.functions.addAgent(world.agent.address))
    with pytest.raises(errors.AgentRoleInvalidAgent):
        send(world, ir.functions.addAgent(ZERO))
    send(world, ir.functions.removeAgent(world.agent.address))
    assert not world.chain.call(ir.functions.isAgent(world.agent.address))
    with pytest.raises(errors.AgentRoleUnchanged):
        send(world, ir.functions.removeAgent(world.agent.address))


def test_trusted_issuer_limit(world, tir):
    for _ in range(49):
        send(world, tir.functions.addTrustedIssuer(Account.create().address, [1]))
    with pytest.raises(errors.TrustedIssuersLimitReached):
        send(world, tir.functions.addTrustedIssuer(Account.create().address, [1]))


def test_storage_registry_limit(world, irs):
    """The registry list is filled to its limit directly in storage (slot 4 holds its length) to save 299 transactions."""
    assert len(world.chain.call(irs.functions.linkedIdentityRegistries())) == 1
    world.chain.rpc("anvil_setStorageAt", irs.address, "0x4", "0x" + (300).to_bytes(32, "big").hex())
    assert len(world.chain.call(irs.functions.linkedIdentityRegistries())) == 300
    with pytest.raises(errors.IdentityStorageRegistryLimit):
        send(world, irs.functions.bindIdentityRegistry(Account.create().address))
