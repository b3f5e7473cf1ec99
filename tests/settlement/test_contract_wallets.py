"""Holders and makers that are contracts (a fund's smart wallet) sign through ERC-1271: permit, EIP-3009
transfers and DvP orders accept the wallet's signature and refuse anyone else's."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.settlement.dvp import BUY, ORDER_TYPES, Order
from rwa_sdk.settlement.stablecoin import PERMIT_TYPES, TRANSFER_AUTHORIZATION_TYPES, UNIT

from .test_dvp import PRICE, approve_tokens

OWNER = Account.from_key(bytes([0x51] * 32))  # the wallet's key; it holds nothing itself
STRANGER = Account.from_key(bytes([0x52] * 32))


@pytest.fixture
def wallet(world, roles):
    contract, _ = world.chain.deploy("SmartWalletMock", OWNER.address)
    world.usd.mint(contract.address, 1_000 * UNIT, sender=roles.minter)
    return contract.address


def _typed(signer, domain, types, message, extra=b""):
    return bytes(signer.sign_typed_data(domain_data=domain, message_types=types, message_data=message).signature) + extra


def _permit(world, wallet, spender, value, signer, extra=b""):
    deadline = world.chain.timestamp() + 600
    message = {"owner": wallet, "spender": spender, "value": value, "nonce": world.usd.nonce(wallet), "deadline": deadline}
    signature = _typed(signer, world.usd.domain(), PERMIT_TYPES, message, extra)
    fn = world.usd.contract.get_function_by_signature("permit(address,address,uint256,uint256,bytes)")
    return fn(wallet, spender, value, deadline, signature)


@pytest.mark.parametrize("extra", [b"", b"\x01"], ids=["65-byte", "66-byte"])
def test_permit_from_a_wallet_takes_its_owners_signature_only(world, roles, wallet, extra):
    with pytest.raises(errors.ERC2612InvalidSigner):
        world.chain.transact(_permit(world, wallet, roles.bob.address, 5 * UNIT, STRANGER, extra), sender=roles.carol)
    world.chain.transact(_permit(world, wallet, roles.bob.address, 5 * UNIT, OWNER, extra), sender=roles.carol)
    assert world.usd.contract.functions.allowance(wallet, roles.bob.address).call() == 5 * UNIT


def test_transfer_with_authorization_from_a_wallet(world, roles, wallet):
    now = world.chain.timestamp()
    message = {"from": wallet, "to": roles.bob.address, "value": 7 * UNIT, "validAfter": 0,
               "validBefore": now + 600, "nonce": os.urandom(32)}
    fn = world.usd.contract.get_function_by_signature(
        "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")
    args = (wallet, roles.bob.address, 7 * UNIT, 0, now + 600, message["nonce"])
    forged = _typed(STRANGER, world.usd.domain(), TRANSFER_AUTHORIZATION_TYPES, message)
    with pytest.raises(errors.InvalidAuthorizationSignature):
        world.chain.transact(fn(*args, forged), sender=roles.carol)
    before = world.usd.balance_of(roles.bob.address)
    world.chain.transact(fn(*args, _typed(OWNER, world.usd.domain(), TRANSFER_AUTHORIZATION_TYPES, message)),
                         sender=roles.carol)
    assert world.usd.balance_of(roles.bob.address) == before + 7 * UNIT
    assert world.usd.balance_of(wallet) == 993 * UNIT


def test_dvp_buy_order_of_a_wallet_settles_against_a_seller(world, roles, wallet):
    world.chain.transact(world.token.functions.setVerified(wallet, True), sender=world.issuer)
    world.chain.transact(_permit(world, wallet, world.dvp.address, 2**256 - 1, OWNER), sender=roles.carol)
    approve_tokens(world, roles.alice)
    order = Order(wallet, world.token.address, world.usd.address, BUY, 3, PRICE, 1, world.chain.timestamp() + 600)
    with pytest.raises(errors.InvalidOrderSignature):
        world.chain.transact(world.dvp.contract.functions.fill(
            order.as_tuple(), _typed(STRANGER, world.dvp.domain(), ORDER_TYPES, order.message()), 3), sender=roles.alice)
    signature = _typed(OWNER, world.dvp.domain(), ORDER_TYPES, order.message())
    usd_before = world.usd.balance_of(roles.alice.address)
    world.chain.transact(world.dvp.contract.functions.fill(order.as_tuple(), signature, 3), sender=roles.alice)
    assert world.token.functions.balanceOf(wallet).call() == 3
    assert world.usd.balance_of(roles.alice.address) == usd_before + 3 * PRICE
