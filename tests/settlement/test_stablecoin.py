"""The USDC-style stablecoin: roles, minting, blacklist, pause, rescue, permit and EIP-3009."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk import errors
from rwa_sdk.deploy import Deployments
from rwa_sdk.settlement.stablecoin import UNIT, deploy_stablecoin


# -- metadata and roles -------------------------------------------------------------------
def test_metadata_and_roles(usd, roles):
    c = usd.contract.functions
    assert (usd.name, usd.symbol, c.decimals().call()) == ("USD Coin", "USDC", 6)
    assert c.owner().call() == roles.owner.address
    assert c.masterMinter().call() == roles.master_minter.address
    assert c.pauser().call() == roles.pauser.address
    assert c.blacklister().call() == roles.blacklister.address
    assert c.rescuer().call() == roles.rescuer.address
    assert usd.domain()["version"] == c.EIP712_VERSION().call()


@pytest.mark.parametrize(
    "setter, error",
    [
        ("updateMasterMinter", errors.StablecoinInvalidMasterMinter),
        ("updatePauser", errors.StablecoinInvalidPauser),
        ("updateBlacklister", errors.StablecoinInvalidBlacklister),
        ("updateRescuer", errors.StablecoinInvalidRescuer),
    ],
)
def test_owner_updates_each_role_and_rejects_zero_and_strangers(chain, usd, roles, setter, error):
    fn = getattr(usd.contract.functions, setter)
    with pytest.raises(errors.OwnableUnauthorizedAccount) as caught:
        chain.transact(fn(roles.carol.address), sender=roles.carol)
    assert caught.value.account == roles.carol.address
    with pytest.raises(error):
        chain.transact(fn("0x" + "00" * 20), sender=roles.owner)
    chain.transact(fn(roles.carol.address), sender=roles.owner)
    getter = {"updateMasterMinter": "masterMinter", "updatePauser": "pauser",
              "updateBlacklister": "blacklister", "updateRescuer": "rescuer"}[setter]
    assert getattr(usd.contract.functions, getter)().call() == roles.carol.address


def test_ownership_moves_in_two_steps(chain, usd, roles):
    c = usd.contract.functions
    chain.transact(c.transferOwnership(roles.carol.address), sender=roles.owner)
    assert c.owner().call() == roles.owner.address
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        chain.transact(c.acceptOwnership(), sender=roles.bob)
    chain.transact(c.acceptOwnership(), sender=roles.carol)
    assert c.owner().call() == roles.carol.address


# -- minting ------------------------------------------------------------------------------
def test_master_minter_configures_and_removes_minters(chain, usd, roles):
    sent = usd.configure_minter(roles.carol.address, 50 * UNIT, sender=roles.master_minter)
    assert sent.events(usd.contract, "MinterConfigured") == [{"minter": roles.carol.address, "minterAllowedAmount": 50 * UNIT}]
    assert usd.contract.functions.isMinter(roles.carol.address).call()
    usd.remove_minter(roles.carol.address, sender=roles.master_minter)
    assert not usd.contract.functions.isMinter(roles.carol.address).call()
    with pytest.raises(errors.StablecoinNotMinter):
        usd.mint(roles.carol.address, 1, sender=roles.carol)


def test_only_master_minter_manages_minters(usd, roles):
    with pytest.raises(errors.StablecoinNotMasterMinter) as caught:
        usd.configure_minter(roles.carol.address, 1, sender=roles.owner)
    assert caught.value.caller == roles.owner.address
    with pytest.raises(errors.StablecoinNotMasterMinter):
        usd.remove_minter(roles.minter.address, sender=roles.carol)


def test_mint_spends_minter_allowance_and_stops_at_it(usd, roles):
    before = usd.contract.functions.minterAllowance(roles.minter.address).call()
    sent = usd.mint(roles.carol.address, 7 * UNIT, sender=roles.minter)
    assert sent.events(usd.contract, "Mint") == [{"minter": roles.minter.address, "to": roles.carol.address, "amount": 7 * UNIT}]
    assert usd.balance_of(roles.carol.address) == 7 * UNIT
    assert usd.contract.functions.minterAllowance(roles.minter.address).call() == before - 7 * UNIT
    with pytest.raises(errors.StablecoinMintAllowanceExceeded) as caught:
        usd.mint(roles.carol.address, before, sender=roles.minter)
    assert (caught.value.allowance, caught.value.needed) == (before - 7 * UNIT, before)


def test_mint_zero_and_by_strangers_is_rejected(usd, roles):
    with pytest.raises(errors.StablecoinZeroAmount):
        usd.mint(roles.carol.address, 0, sender=roles.minter)
    with pytest.raises(errors.StablecoinNotMinter):
        usd.mint(roles.carol.address, 1, sender=roles.master_minter)


def test_minter_burns_its_own_balance(usd, roles):
    usd.mint(roles.minter.address, 10 * UNIT, sender=roles.minter)
    supply = usd.total_supply()
    usd.burn(4 * UNIT, sender=roles.minter)
    assert usd.balance_of(roles.minter.address) == 6 * UNIT and usd.total_supply() == supply - 4 * UNIT
    with pytest.raises(errors.ERC20InsufficientBalance):
        usd.burn(7 * UNIT, sender=roles.minter)
    with pytest.raises(errors.StablecoinZeroAmount):
        usd.burn(0, sender=roles.minter)
    with pytest.raises(errors.StablecoinNotMinter):
        usd.burn(1, sender=roles.alice)


# -- blacklist ----------------------------------------------------------------------------
def test_blacklisted_account_cannot_send_receive_or_approve(usd, roles):
    usd.blacklist(roles.bob.address, sender=roles.blacklister)
    assert usd.contract.functions.isBlacklisted(roles.bob.address).call()
    with pytest.raises(errors.StablecoinBlacklisted) as caught:
        usd.transfer(roles.alice.address, 1, sender=roles.bob)
    assert caught.value.account == roles.bob.address
    with pytest.raises(errors.StablecoinBlacklisted):
        usd.transfer(roles.bob.address, 1, sender=roles.alice)
    with pytest.raises(errors.StablecoinBlacklisted):
        usd.approve(roles.carol.address, 1, sender=roles.bob)
    with pytest.raises(errors.StablecoinBlacklisted):
        usd.approve(roles.bob.address, 1, sender=roles.alice)
    with pytest.raises(errors.StablecoinBlacklisted):
        usd.mint(roles.bob.address, 1, sender=roles.minter)
    usd.un_blacklist(roles.bob.address, sender=roles.blacklister)
    usd.transfer(roles.alice.address, 1, sender=roles.bob)


def test_blacklisted_spender_cannot_use_an_existing_allowance(usd, roles):
    usd.approve(roles.carol.address, 5 * UNIT, sender=roles.alice)
    usd.blacklist(roles.carol.address, sender=roles.blacklister)
    with pytest.raises(errors.StablecoinBlacklisted):
        usd.transfer_from(roles.alice.address, roles.bob.address, UNIT, sender=roles.carol)


def test_only_blacklister_blacklists(usd, roles):
    with pytest.raises(errors.StablecoinNotBlacklister):
        usd.blacklist(roles.bob.address, sender=roles.owner)
    with pytest.raises(errors.StablecoinNotBlacklister):
        usd.un_blacklist(roles.bob.address, sender=roles.bob)


# -- pause --------------------------------------------------------------------------------
def test_pause_stops_every_movement_until_unpaused(chain, usd, roles):
    usd.pause(sender=roles.pauser)
    with pytest.raises(errors.EnforcedPause):
        usd.transfer(roles.bob.address, 1, sender=roles.alice)
    with pytest.raises(errors.EnforcedPause):
        usd.mint(roles.bob.address, 1, sender=roles.minter)
    with pytest.raises(errors.EnforcedPause):
        usd.approve(roles.bob.address, 1, sender=roles.alice)
    with pytest.raises(errors.EnforcedPause):
        usd.configure_minter(roles.carol.address, 1, sender=roles.master_minter)
    permit = usd.sign_permit(roles.alice, roles.bob.address, 1, deadline=chain.timestamp() + 600)
    with pytest.raises(errors.EnforcedPause):
        usd.permit(permit, sender=roles.relayer)
    authorization = usd.sign_authorization(roles.alice, roles.bob.address, 1, valid_before=chain.timestamp() + 600)
    with pytest.raises(errors.EnforcedPause):
        usd.execute_authorization(authorization, sender=roles.relayer)
    usd.unpause(sender=roles.pauser)
    usd.execute_authorization(authorization, sender=roles.relayer)


def test_only_pauser_pauses(usd, roles):
    with pytest.raises(errors.StablecoinNotPauser):
        usd.pause(sender=roles.owner)
    usd.pause(sender=roles.pauser)
    with pytest.raises(errors.StablecoinNotPauser):
        usd.unpause(sender=roles.alice)


# -- rescue -------------------------------------------------------------------------------
def test_rescuer_recovers_tokens_sent_to_the_contract(chain, usd, roles, tmp_path):
    other = deploy_stablecoin(chain, "Other", "OTH", record_name="Other", sender=roles.owner,
                              deployments=Deployments(chain.chain_id, tmp_path))
    other.configure_minter(roles.owner.address, 100, sender=roles.owner)
    other.mint(usd.address, 100, sender=roles.owner)
    with pytest.raises(errors.StablecoinNotRescuer):
        usd.rescue(other.address, roles.carol.address, 100, sender=roles.owner)
    usd.rescue(other.address, roles.carol.address, 60, sender=roles.rescuer)
    assert other.balance_of(roles.carol.address) == 60 and other.balance_of(usd.address) == 40


# -- EIP-2612 permit ----------------------------------------------------------------------
def test_permit_signed_in_python_sets_allowance_once(chain, usd, roles):
    permit = usd.sign_permit(roles.alice, roles.carol.address, 25 * UNIT, deadline=chain.timestamp() + 600)
    usd.permit(permit, sender=roles.relayer)
    assert usd.allowance(roles.alice.address, roles.carol.address) == 25 * UNIT
    assert usd.nonce(roles.alice.address) == permit.nonce + 1
    usd.transfer_from(roles.alice.address, roles.carol.address, 25 * UNIT, sender=roles.carol)
    with pytest.raises(errors.ERC2612InvalidSigner):  # replay: the nonce moved on
        usd.permit(permit, sender=roles.relayer)


def test_expired_or_forged_permit_is_rejected(chain, usd, roles):
    expired = usd.sign_permit(roles.alice, roles.carol.address, UNIT, deadline=chain.timestamp() - 1)
    with pytest.raises(errors.ERC2612ExpiredSignature):
        usd.permit(expired, sender=roles.relayer)
    forged = usd.sign_permit(roles.carol, roles.carol.address, UNIT, deadline=chain.timestamp() + 600,
                             nonce=usd.nonce(roles.alice.address))
    forged = type(forged)(roles.alice.address, *list(forged.__dict__.values())[1:])
    with pytest.raises(errors.ERC2612InvalidSigner) as caught:
        usd.permit(forged, sender=roles.relayer)
    assert caught.value.owner == roles.alice.address and caught.value.signer != roles.alice.address


@given(value=st.integers(min_value=0, max_value=2**256 - 1), lifetime=st.integers(min_value=1, max_value=10**9))
def test_property_any_permit_value_and_deadline_round_trip(session_chain, usd_session, roles, value, lifetime):
    snapshot = session_chain.snapshot()
    try:
        permit = usd_session.sign_permit(roles.bob, roles.carol.address, value, deadline=session_chain.timestamp() + lifetime)
        usd_session.permit(permit, sender=roles.relayer)
        assert usd_session.allowance(roles.bob.address, roles.carol.address) == value
    finally:
        session_chain.revert(snapshot)


# -- EIP-3009 -----------------------------------------------------------------------------
@pytest.mark.parametrize("packed", [False, True], ids=["vrs", "bytes"])
def test_transfer_with_authorization_moves_funds_once(chain, usd, roles, packed):
    auth = usd.sign_authorization(roles.alice, roles.carol.address, 30 * UNIT, valid_before=chain.timestamp() + 600)
    sent = usd.execute_authorization(auth, sender=roles.relayer, packed=packed)
    assert usd.balance_of(roles.carol.address) == 30 * UNIT
    assert sent.events(usd.contract, "AuthorizationUsed") == [{"authorizer": roles.alice.address, "nonce": auth.nonce}]
    assert usd.authorization_used(roles.alice.address, auth.nonce)
    with pytest.raises(errors.AuthorizationAlreadyUsed) as caught:
        usd.execute_authorization(auth, sender=roles.relayer, packed=packed)
    assert caught.value.nonce == auth.nonce


def test_authorization_outside_its_window_is_rejected(chain, usd, roles):
    t = chain.timestamp()
    late = usd.sign_authorization(roles.alice, roles.carol.address, UNIT, valid_before=t - 1)
    with pytest.raises(errors.AuthorizationExpired):
        usd.execute_authorization(late, sender=roles.relayer)
    early = usd.sign_authorization(roles.alice, roles.carol.address, UNIT, valid_after=t + 3600, valid_before=t + 7200)
    with pytest.raises(errors.AuthorizationNotYetValid):
        usd.execute_authorization(early, sender=roles.relayer)
    chain.mine(3700)
    usd.execute_authorization(early, sender=roles.relayer)
    assert usd.balance_of(roles.carol.address) == UNIT


def test_forged_or_tampered_authorization_is_rejected(chain, usd, roles):
    mallory = Account.create()
    forged = usd.sign_authorization(mallory, roles.carol.address, UNIT, valid_before=chain.timestamp() + 600)
    forged = type(forged)(**{**forged.__dict__, "sender": roles.alice.address})
    with pytest.raises(errors.InvalidAuthorizationSignature):
        usd.execute_authorization(forged, sender=roles.relayer)
    honest = usd.sign_authorization(roles.alice, roles.carol.address, UNIT, valid_before=chain.timestamp() + 600)
    tampered = type(honest)(**{**honest.__dict__, "value": 100 * UNIT})
    with pytest.raises(errors.InvalidAuthorizationSignature):
        usd.execute_authorization(tampered, sender=roles.relayer)


def test_receive_with_authorization_only_by_the_payee(chain, usd, roles):
    auth = usd.sign_authorization(roles.alice, roles.carol.address, 3 * UNIT, kind="receive", valid_before=chain.timestamp() + 600)
    with pytest.raises(errors.CallerMustBePayee) as caught:
        usd.execute_authorization(auth, sender=roles.relayer)
    assert (caught.value.caller, caught.value.payee) == (roles.relayer.address, roles.carol.address)
    usd.execute_authorization(auth, sender=roles.carol)
    assert usd.balance_of(roles.carol.address) == 3 * UNIT
    transfer_kind = type(auth)(**{**auth.__dict__, "kind": "transfer"})  # same signature, other type
    with pytest.raises((errors.AuthorizationAlreadyUsed, errors.InvalidAuthorizationSignature)):
        usd.execute_authorization(transfer_kind, sender=roles.relayer)


def test_cancelled_authorization_cannot_be_used(chain, usd, roles):
    auth = usd.sign_authorization(roles.alice, roles.carol.address, UNIT, valid_before=chain.timestamp() + 600)
    signature = usd.sign_cancel_authorization(roles.alice, auth.nonce)
    sent = usd.cancel_authorization(roles.alice.address, auth.nonce, signature, sender=roles.relayer)
    assert sent.events(usd.contract, "AuthorizationCanceled") == [{"authorizer": roles.alice.address, "nonce": auth.nonce}]
    with pytest.raises(errors.AuthorizationAlreadyUsed):
        usd.execute_authorization(auth, sender=roles.relayer)
    with pytest.raises(errors.AuthorizationAlreadyUsed):
        usd.cancel_authorization(roles.alice.address, auth.nonce, signature, sender=roles.relayer)
    bad = usd.sign_cancel_authorization(roles.bob, b"\x01" * 32)
    with pytest.raises(errors.InvalidAuthorizationSignature):
        usd.cancel_authorization(roles.alice.address, b"\x01" * 32, bad, sender=roles.relayer)


def test_python_signature_matches_contract_typehashes(usd):
    from eth_utils import keccak

    c = usd.contract.functions
    assert c.TRANSFER_WITH_AUTHORIZATION_TYPEHASH().call() == keccak(
        text="TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    assert c.CANCEL_AUTHORIZATION_TYPEHASH().call() == keccak(text="CancelAuthorization(address authorizer,bytes32 nonce)")
    assert c.PERMIT_TYPEHASH().call() == keccak(
        text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
