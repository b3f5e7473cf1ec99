"""Two-step ownership (OpenZeppelin Ownable2Step) on every owned contract of an asset: a transfer only names a
pending owner, who must accept; until then the old owner keeps control and no one else can take it."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from tests.token.security_world import security_world, security_world_session  # noqa: F401

OWNED = {
    "token": "contracts/token/AssetToken.sol:AssetToken",
    "identity_registry": "contracts/identity/IdentityRegistry.sol:IdentityRegistry",
    "identity_storage": "contracts/identity/IdentityRegistryStorage.sol:IdentityRegistryStorage",
    "topics_registry": "contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry",
    "issuers_registry": "contracts/identity/TrustedIssuersRegistry.sol:TrustedIssuersRegistry",
    "claim_epochs": "contracts/identity/ClaimEpochs.sol:ClaimEpochs",
    "identity_factory": "contracts/identity/IdentityFactory.sol:IdentityFactory",
    "compliance": "contracts/compliance/ModularCompliance.sol:ModularCompliance",
}


def _owned(w):
    contracts = {name: w.chain.contract(artifact, getattr(w.suite, name)) for name, artifact in OWNED.items()}
    contracts["stablecoin"] = w.chain.contract("Stablecoin", w.usd.address)
    contracts["dvp"] = w.dvp.contract
    return contracts


@pytest.mark.parametrize("name", [*OWNED, "stablecoin", "dvp"])
def test_ownership_moves_only_when_the_new_owner_accepts(security_world, name):
    w = security_world
    contract = _owned(w)[name]
    new, outsider = w.carol, w.outsider
    assert w.chain.call(contract.functions.owner()) == w.owner.address
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        w.chain.transact(contract.functions.transferOwnership(outsider.address), sender=outsider)
    w.chain.transact(contract.functions.transferOwnership(new.address), sender=w.owner)
    assert w.chain.call(contract.functions.owner()) == w.owner.address  # not yet
    assert w.chain.call(contract.functions.pendingOwner()) == new.address
    with pytest.raises(errors.OwnableUnauthorizedAccount):  # only the named account can accept
        w.chain.transact(contract.functions.acceptOwnership(), sender=outsider)
    w.chain.transact(contract.functions.acceptOwnership(), sender=new)
    assert w.chain.call(contract.functions.owner()) == new.address
    assert w.chain.call(contract.functions.pendingOwner()) == "0x" + "00" * 20
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        w.chain.transact(contract.functions.renounceOwnership(), sender=w.owner)


def test_a_mistyped_owner_can_be_corrected_before_it_accepts(security_world):
    w = security_world
    token = _owned(w)["token"]
    w.chain.transact(token.functions.transferOwnership(w.outsider.address), sender=w.owner)
    w.chain.transact(token.functions.transferOwnership(w.carol.address), sender=w.owner)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        w.chain.transact(token.functions.acceptOwnership(), sender=w.outsider)
    w.chain.transact(token.functions.acceptOwnership(), sender=w.carol)
    assert w.chain.call(token.functions.owner()) == w.carol.address
