"""DvP settlement: signed orders, partial fills, replay, cancellation, compliance before money, fees,
paying with permit or EIP-3009 authorization, and a USDC-style blacklist."""

from __future__ import annotations

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.settlement.dvp import BUY, ORDER_TYPES, SELL, Order, SignedOrder
from rwa_sdk.settlement.stablecoin import UNIT, Signature

PRICE = 100 * UNIT  # per whole token (the mock has 0 decimals)


def token_balances(world, *who) -> list[int]:
    return [world.token.functions.balanceOf(a.address).call() for a in who]


def usd_balances(world, *who) -> list[int]:
    return [world.usd.balance_of(a.address) for a in who]


def sell_order(world, maker, amount=10, price=PRICE, nonce=1, expiry=None) -> SignedOrder:
    return world.dvp.sign_order(maker, token=world.token.address, stablecoin=world.usd.address, side=SELL,
                                amount=amount, price=price, nonce=nonce,
                                expiry=expiry if expiry is not None else world.chain.timestamp() + 3600)


def buy_order(world, maker, amount=10, price=PRICE, nonce=1) -> SignedOrder:
    return world.dvp.sign_order(maker, token=world.token.address, stablecoin=world.usd.address, side=BUY,
                                amount=amount, price=price, nonce=nonce, expiry=world.chain.timestamp() + 3600)


def approve_tokens(world, owner, amount=2**256 - 1):
    world.chain.transact(world.token.functions.approve(world.dvp.address, amount), sender=owner)


@pytest.fixture
def market(world, roles):
    """alice sells (token allowance), bob buys (stablecoin allowance)."""
    approve_tokens(world, roles.alice)
    approve_tokens(world, roles.bob)
    world.usd.approve(world.dvp.address, 2**256 - 1, sender=roles.bob)
    world.usd.approve(world.dvp.address, 2**256 - 1, sender=roles.alice)
    return world


# -- happy paths ------------------------------------------------------------------------------
def test_taker_buys_whole_sell_order_atomically(market, roles):
    w = market
    signed = sell_order(w, roles.alice, amount=10)
    before_t, before_u = token_balances(w, roles.alice, roles.bob), usd_balances(w, roles.alice, roles.bob)
    sent = w.dvp.fill(signed, 10, sender=roles.bob)
    assert token_balances(w, roles.alice, roles.bob) == [before_t[0] - 10, before_t[1] + 10]
    assert usd_balances(w, roles.alice, roles.bob) == [before_u[0] + 10 * PRICE, before_u[1] - 10 * PRICE]
    [event] = sent.events(w.dvp.contract, "OrderFilled")
    assert (event["maker"], event["taker"], event["amount"], event["payment"], event["fee"]) == (
        roles.alice.address, roles.bob.address, 10, 10 * PRICE, 0)
    assert w.dvp.filled(signed.order) == 10 and w.dvp.remaining(signed.order) == 0


def test_maker_buy_order_is_filled_by_a_selling_taker(market, roles):
    w = market
    signed = buy_order(w, roles.bob, amount=5, price=PRICE)
    before_t, before_u = token_balances(w, roles.alice, roles.bob), usd_balances(w, roles.alice, roles.bob)
    w.dvp.fill(signed, 5, sender=roles.alice)
    assert token_balances(w, roles.alice, roles.bob) == [before_t[0] - 5, before_t[1] + 5]
    assert usd_balances(w, roles.alice, roles.bob) == [before_u[0] + 5 * PRICE, before_u[1] - 5 * PRICE]


def test_partial_fills_add_up_and_overfill_and_replay_revert(market, roles):
    w = market
    signed = sell_order(w, roles.alice, amount=10)
    w.dvp.fill(signed, 4, sender=roles.bob)
    assert w.dvp.remaining(signed.order) == 6
    with pytest.raises(errors.OrderOverfill) as caught:
        w.dvp.fill(signed, 7, sender=roles.bob)
    assert (caught.value.remaining, caught.value.requested) == (6, 7)
    w.dvp.fill(signed, 6, sender=roles.bob)
    with pytest.raises(errors.OrderOverfill) as caught:  # replaying the filled order
        w.dvp.fill(signed, 1, sender=roles.bob)
    assert caught.value.remaining == 0
    assert w.dvp.filled(signed.order) == 10


def test_payment_rounds_in_the_makers_favour_for_fractional_tokens(world, roles):
    """With a 2-decimal token, 1 base unit at 1.50 USDC per whole token costs 0.015 USDC."""
    w = world
    token, _ = w.chain.deploy("SecurityTokenMock", w.issuer.address, 2, sender=w.issuer)
    price = 1_500_000
    sell = w.dvp.sign_order(roles.alice, token=token.address, stablecoin=w.usd.address, side=SELL,
                            amount=10, price=price, nonce=1, expiry=w.chain.timestamp() + 600)
    buy = w.dvp.sign_order(roles.bob, token=token.address, stablecoin=w.usd.address, side=BUY,
                           amount=10, price=price, nonce=1, expiry=w.chain.timestamp() + 600)
    assert w.dvp.quote(sell.order, 1) == 15_000  # exact
    assert w.dvp.quote(sell.order, 3) == 45_000
    price_odd = 1_234_567  # 1 base unit = 12_345.67 micro-USDC
    sell_odd = w.dvp.sign_order(roles.alice, token=token.address, stablecoin=w.usd.address, side=SELL,
                                amount=10, price=price_odd, nonce=2, expiry=w.chain.timestamp() + 600)
    buy_odd = w.dvp.sign_order(roles.bob, token=token.address, stablecoin=w.usd.address, side=BUY,
                               amount=10, price=price_odd, nonce=2, expiry=w.chain.timestamp() + 600)
    assert w.dvp.quote(sell_odd.order, 1) == 12_346  # maker sells: the taker pays rounded up
    assert w.dvp.quote(buy_odd.order, 1) == 12_345  # maker buys: the maker pays rounded down
    assert w.dvp.quote(buy.order, 1) == 15_000
    for fn in (token.functions.setVerified(roles.alice.address, True), token.functions.setVerified(roles.bob.address, True),
               token.functions.mint(roles.alice.address, 10)):
        w.chain.transact(fn, sender=w.issuer)
    w.chain.transact(token.functions.approve(w.dvp.address, 10), sender=roles.alice)
    w.usd.approve(w.dvp.address, 10**12, sender=roles.bob)
    before = usd_balances(w, roles.alice, roles.bob)
    w.dvp.fill(sell_odd, 3, sender=roles.bob)  # 3 x 12_345.67 = 37_037.01 -> 37_038
    assert usd_balances(w, roles.alice, roles.bob) == [before[0] + 37_038, before[1] - 37_038]
    assert token.functions.balanceOf(roles.bob.address).call() == 3


def test_settlement_fee_goes_to_the_fee_recipient(market, roles):
    w = market
    w.dvp.set_fee(50, w.fee_recipient.address, sender=w.issuer)  # 0.5 %
    signed = sell_order(w, roles.alice, amount=10)
    before = usd_balances(w, roles.alice, roles.bob, w.fee_recipient)
    sent = w.dvp.fill(signed, 10, sender=roles.bob)
    fee = 10 * PRICE * 50 // 10_000
    assert usd_balances(w, roles.alice, roles.bob, w.fee_recipient) == [
        before[0] + 10 * PRICE - fee, before[1] - 10 * PRICE, before[2] + fee]
    assert sent.events(w.dvp.contract, "OrderFilled")[0]["fee"] == fee


# -- compliance before money --------------------------------------------------------------------
def test_non_verified_buyer_reverts_with_compliance_reason_and_nothing_moves(market, roles):
    w = market
    w.usd.mint(roles.carol.address, 10_000 * UNIT, sender=roles.minter)
    w.usd.approve(w.dvp.address, 2**256 - 1, sender=roles.carol)
    signed = sell_order(w, roles.alice, amount=10)
    people = (roles.alice, roles.carol, w.fee_recipient)
    before = token_balances(w, *people), usd_balances(w, *people)
    with pytest.raises(errors.RecipientNotVerified) as caught:
        w.dvp.fill(signed, 10, sender=roles.carol)
    assert caught.value.recipient == roles.carol.address
    assert (token_balances(w, *people), usd_balances(w, *people)) == before
    assert w.dvp.filled(signed.order) == 0


def test_non_verified_maker_buying_reverts_with_compliance_reason(market, roles):
    w = market
    w.usd.mint(roles.carol.address, 10_000 * UNIT, sender=roles.minter)
    w.usd.approve(w.dvp.address, 2**256 - 1, sender=roles.carol)
    signed = buy_order(w, roles.carol, amount=2)
    before = usd_balances(w, roles.alice, roles.carol)
    with pytest.raises(errors.RecipientNotVerified):
        w.dvp.fill(signed, 2, sender=roles.alice)
    assert usd_balances(w, roles.alice, roles.carol) == before


def test_frozen_seller_cannot_deliver(market, roles):
    w = market
    w.chain.transact(w.token.functions.setAddressFrozen(roles.alice.address, True), sender=w.issuer)
    with pytest.raises(errors.WalletFrozen) as caught:
        w.dvp.fill(sell_order(w, roles.alice), 1, sender=roles.bob)
    assert caught.value.account == roles.alice.address


def test_blacklisted_seller_on_the_stablecoin_reverts_the_whole_trade(market, roles):
    w = market
    w.usd.blacklist(roles.alice.address, sender=roles.blacklister)
    signed = sell_order(w, roles.alice, amount=3)
    before = token_balances(w, roles.alice, roles.bob)
    with pytest.raises(errors.StablecoinBlacklisted) as caught:
        w.dvp.fill(signed, 3, sender=roles.bob)
    assert caught.value.account == roles.alice.address
    assert token_balances(w, roles.alice, roles.bob) == before


def test_missing_token_allowance_reverts(world, roles):
    world.usd.approve(world.dvp.address, 2**256 - 1, sender=roles.bob)
    with pytest.raises(errors.ERC20InsufficientAllowance):
        world.dvp.fill(sell_order(world, roles.alice), 1, sender=roles.bob)


def test_missing_stablecoin_allowance_reverts(world, roles):
    approve_tokens(world, roles.alice)
    with pytest.raises(errors.ERC20InsufficientAllowance):
        world.dvp.fill(sell_order(world, roles.alice), 1, sender=roles.bob)


# -- order validity -------------------------------------------------------------------------------
def test_expired_order_reverts(market, roles):
    w = market
    signed = sell_order(w, roles.alice, expiry=w.chain.timestamp() + 10)
    w.chain.mine(20)
    with pytest.raises(errors.OrderExpired) as caught:
        w.dvp.fill(signed, 1, sender=roles.bob)
    assert caught.value.expiry == signed.order.expiry
    assert w.dvp.remaining(signed.order) == 0


def test_cancel_by_nonce_stops_every_order_with_that_nonce(market, roles):
    w = market
    first, second = sell_order(w, roles.alice, nonce=5), sell_order(w, roles.alice, amount=3, nonce=5)
    other = sell_order(w, roles.alice, nonce=6)
    sent = w.dvp.cancel(5, sender=roles.alice)
    assert sent.events(w.dvp.contract, "NonceCancelled") == [{"maker": roles.alice.address, "nonce": 5}]
    for signed in (first, second):
        with pytest.raises(errors.OrderCancelled) as caught:
            w.dvp.fill(signed, 1, sender=roles.bob)
        assert (caught.value.maker, caught.value.nonce) == (roles.alice.address, 5)
    w.dvp.fill(other, 1, sender=roles.bob)


def test_someone_elses_cancel_does_not_touch_the_makers_orders(market, roles):
    w = market
    signed = sell_order(w, roles.alice, nonce=9)
    w.dvp.cancel(9, sender=roles.bob)
    w.dvp.fill(signed, 1, sender=roles.bob)


def test_signature_of_another_key_or_tampered_order_is_rejected(market, roles):
    w = market
    forged = sell_order(w, roles.bob)  # signed by bob
    as_alice = SignedOrder(Order(roles.alice.address, *forged.order.as_tuple()[1:]), forged.signature)
    with pytest.raises(errors.InvalidOrderSignature) as caught:
        w.dvp.fill(as_alice, 1, sender=roles.bob)
    assert caught.value.maker == roles.alice.address
    genuine = sell_order(w, roles.alice)
    cheaper = SignedOrder(Order(*genuine.order.as_tuple()[:5], 1, *genuine.order.as_tuple()[6:]), genuine.signature)
    with pytest.raises(errors.InvalidOrderSignature):
        w.dvp.fill(cheaper, 1, sender=roles.bob)


def test_zero_fill_and_zero_payment_revert(market, roles):
    w = market
    with pytest.raises(errors.ZeroFill):
        w.dvp.fill(sell_order(w, roles.alice), 0, sender=roles.bob)
    with pytest.raises(errors.ZeroFill):
        w.dvp.fill(sell_order(w, roles.alice, price=0, nonce=2), 1, sender=roles.bob)


def test_invalid_side_is_rejected(market, roles):
    w = market
    order = Order(roles.alice.address, w.token.address, w.usd.address, 2, 1, PRICE, 1, w.chain.timestamp() + 60)
    signed = roles.alice.sign_typed_data(domain_data=w.dvp.domain(), message_types=ORDER_TYPES,
                                         message_data=order.message())
    with pytest.raises(errors.InvalidSide) as caught:
        w.dvp.fill(SignedOrder(order, Signature(bytes(signed.signature))), 1, sender=roles.bob)
    assert caught.value.side == 2


def test_order_hash_matches_python_eip712(world, roles):
    from eth_account.messages import encode_typed_data
    from eth_utils import keccak

    signed = sell_order(world, roles.alice)
    message = encode_typed_data(domain_data=world.dvp.domain(), message_types=ORDER_TYPES,
                                message_data=signed.order.message())
    digest = keccak(b"\x19" + message.version + message.header + message.body)
    assert world.dvp.order_hash(signed.order) == digest
    assert Account._recover_hash(digest, signature=signed.signature.raw) == roles.alice.address


# -- fee administration ------------------------------------------------------------------------------
def test_only_owner_sets_fee_within_bounds(world, roles):
    with pytest.raises(errors.OwnableUnauthorizedAccount) as caught:
        world.dvp.set_fee(10, roles.carol.address, sender=roles.carol)
    assert caught.value.account == roles.carol.address
    with pytest.raises(errors.FeeTooHigh) as too_high:
        world.dvp.set_fee(1001, roles.carol.address, sender=world.issuer)
    assert (too_high.value.feeBps, too_high.value.maxFeeBps) == (1001, 1000)
    with pytest.raises(errors.InvalidFeeRecipient):
        world.dvp.set_fee(10, "0x" + "00" * 20, sender=world.issuer)
    sent = world.dvp.set_fee(0, "0x" + "00" * 20, sender=world.issuer)
    assert sent.events(world.dvp.contract, "FeeSet") == [{"feeBps": 0, "feeRecipient": "0x" + "00" * 20}]


# -- paying without an approve -------------------------------------------------------------------
def test_buyer_pays_with_permit_instead_of_approve(world, roles):
    approve_tokens(world, roles.alice)
    assert world.usd.allowance(roles.bob.address, world.dvp.address) == 0
    signed = sell_order(world, roles.alice, amount=4)
    permit = world.dvp.buyer_permit(world.usd, roles.bob, signed, 4, deadline=world.chain.timestamp() + 600)
    before = usd_balances(world, roles.alice, roles.bob)
    world.dvp.fill_with_permit(signed, 4, permit, sender=roles.bob)
    assert usd_balances(world, roles.alice, roles.bob) == [before[0] + 4 * PRICE, before[1] - 4 * PRICE]
    assert world.usd.allowance(roles.bob.address, world.dvp.address) == 0


def test_front_run_permit_does_not_block_the_fill(world, roles):
    approve_tokens(world, roles.alice)
    signed = sell_order(world, roles.alice, amount=2)
    permit = world.dvp.buyer_permit(world.usd, roles.bob, signed, 2, deadline=world.chain.timestamp() + 600)
    world.usd.permit(permit, sender=roles.carol)  # someone submits the permit first
    world.dvp.fill_with_permit(signed, 2, permit, sender=roles.bob)
    assert world.dvp.filled(signed.order) == 2


def test_invalid_permit_without_allowance_reverts(world, roles):
    approve_tokens(world, roles.alice)
    signed = sell_order(world, roles.alice, amount=2)
    permit = world.dvp.buyer_permit(world.usd, roles.carol, signed, 2)  # signed by the wrong account
    with pytest.raises(errors.ERC20InsufficientAllowance):
        world.dvp.fill_with_permit(signed, 2, permit, sender=roles.bob)


def test_maker_buyer_permit_is_submitted_by_the_taker(world, roles):
    approve_tokens(world, roles.alice)
    signed = buy_order(world, roles.bob, amount=3)
    permit = world.dvp.buyer_permit(world.usd, roles.bob, signed, 3)
    before = token_balances(world, roles.alice, roles.bob)
    world.dvp.fill_with_permit(signed, 3, permit, sender=roles.alice)
    assert token_balances(world, roles.alice, roles.bob) == [before[0] - 3, before[1] + 3]


def test_buyer_pays_with_eip3009_authorization(world, roles):
    approve_tokens(world, roles.alice)
    world.dvp.set_fee(100, world.fee_recipient.address, sender=world.issuer)
    signed = sell_order(world, roles.alice, amount=5)
    auth = world.dvp.buyer_authorization(world.usd, roles.bob, signed, 5, valid_before=world.chain.timestamp() + 600)
    before = usd_balances(world, roles.alice, roles.bob, world.fee_recipient)
    world.dvp.fill_with_authorization(signed, 5, auth, sender=roles.bob)
    fee = 5 * PRICE // 100
    assert usd_balances(world, roles.alice, roles.bob, world.fee_recipient) == [
        before[0] + 5 * PRICE - fee, before[1] - 5 * PRICE, before[2] + fee]
    assert world.usd.balance_of(world.dvp.address) == 0
    again = sell_order(world, roles.alice, amount=5, nonce=2)
    with pytest.raises(errors.AuthorizationAlreadyUsed):  # the authorization cannot be replayed
        world.dvp.fill_with_authorization(again, 5, auth, sender=roles.bob)


def test_authorization_for_a_different_amount_is_rejected(world, roles):
    approve_tokens(world, roles.alice)
    signed = sell_order(world, roles.alice, amount=5)
    auth = world.dvp.buyer_authorization(world.usd, roles.bob, signed, 4)
    with pytest.raises(errors.AuthorizationValueMismatch) as caught:
        world.dvp.fill_with_authorization(signed, 5, auth, sender=roles.bob)
    assert (caught.value.value, caught.value.payment) == (4 * PRICE, 5 * PRICE)


def test_authorization_to_a_non_verified_buyer_moves_nothing(world, roles):
    approve_tokens(world, roles.alice)
    world.usd.mint(roles.carol.address, 1_000 * UNIT, sender=roles.minter)
    signed = sell_order(world, roles.alice, amount=1)
    auth = world.dvp.buyer_authorization(world.usd, roles.carol, signed, 1)
    with pytest.raises(errors.RecipientNotVerified):
        world.dvp.fill_with_authorization(signed, 1, auth, sender=roles.carol)
    assert not world.usd.authorization_used(roles.carol.address, auth.nonce)
    assert world.usd.balance_of(roles.carol.address) == 1_000 * UNIT


def test_an_18_decimal_stablecoin_settles_the_same_way(world, roles):
    """Any ERC-20 works as the payment leg; an 18-decimal one (here the test double) included."""
    w = world
    coin, _ = w.chain.deploy("SecurityTokenMock", w.issuer.address, 18, sender=w.issuer)
    for fn in (coin.functions.setVerified(roles.alice.address, True), coin.functions.setVerified(roles.bob.address, True),
               coin.functions.mint(roles.bob.address, 1_000 * 10**18)):
        w.chain.transact(fn, sender=w.issuer)
    w.chain.transact(coin.functions.approve(w.dvp.address, 2**256 - 1), sender=roles.bob)
    approve_tokens(w, roles.alice)
    signed = w.dvp.sign_order(roles.alice, token=w.token.address, stablecoin=coin.address, side=SELL, amount=4,
                              price=25 * 10**18, nonce=1, expiry=w.chain.timestamp() + 600)
    before = token_balances(w, roles.bob)
    w.dvp.fill(signed, 4, sender=roles.bob)
    assert coin.functions.balanceOf(roles.alice.address).call() == 100 * 10**18
    assert coin.functions.balanceOf(roles.bob.address).call() == 900 * 10**18
    assert token_balances(w, roles.bob) == [before[0] + 4]


# -- attack (issue 12, item 4) -------------------------------------------------------------------
def test_owner_cannot_raise_the_fee_between_signing_and_fill(market, roles):
    """Before: the fee was not in the signed order, so the owner could raise it to 10 % under a signed order."""
    w = market
    w.dvp.set_fee(50, w.fee_recipient.address, sender=w.issuer)
    signed = sell_order(w, roles.alice, amount=10)  # signed under 0.5 %: maxFeeBps = 50
    assert signed.order.max_fee_bps == 50
    w.dvp.set_fee(1000, w.fee_recipient.address, sender=w.issuer)
    before = token_balances(w, roles.alice, roles.bob), usd_balances(w, roles.alice, roles.bob, w.fee_recipient)
    with pytest.raises(errors.FeeAboveOrderMaximum) as caught:
        w.dvp.fill(signed, 10, sender=roles.bob)
    assert (caught.value.feeBps, caught.value.maxFeeBps) == (1000, 50)
    assert (token_balances(w, roles.alice, roles.bob), usd_balances(w, roles.alice, roles.bob, w.fee_recipient)) == before
    w.dvp.set_fee(20, w.fee_recipient.address, sender=w.issuer)  # a lower fee than signed is fine
    sent = w.dvp.fill(signed, 10, sender=roles.bob)
    assert sent.events(w.dvp.contract, "OrderFilled")[0]["fee"] == 10 * PRICE * 20 // 10_000


def test_max_fee_is_part_of_the_signed_order(market, roles):
    w = market
    signed = sell_order(w, roles.alice)  # maxFeeBps 0
    raised = SignedOrder(Order(*signed.order.as_tuple()[:8], 1000), signed.signature)
    with pytest.raises(errors.InvalidOrderSignature):
        w.dvp.fill(raised, 1, sender=roles.bob)
