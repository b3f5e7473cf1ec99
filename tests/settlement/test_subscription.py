"""Primary issuance vault: subscription and redemption requests, batch accept/reject, minimum tickets,
per-period caps, cancellation, permit and EIP-3009 payment, and deferred payments under a blacklist."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from rwa_sdk.settlement.stablecoin import UNIT
from rwa_sdk.settlement.subscription import Kind, Status

PRICE = 100 * UNIT
ZERO = "0x" + "00" * 20


def tokens(world, who) -> int:
    return world.token.functions.balanceOf(who.address).call()


@pytest.fixture
def vault(world, roles):
    """Period 1 open at 100 USDC/token, caps 1,500 USDC and 50 tokens; alice and bob approved."""
    world.vault.open_period(PRICE, 1_500 * UNIT, 50, sender=world.issuer)
    for investor in (roles.alice, roles.bob):
        world.usd.approve(world.vault.address, 2**256 - 1, sender=investor)
    return world.vault


# -- authorization ---------------------------------------------------------------------------------
def test_only_issuer_runs_periods_and_batches(world, vault, roles):
    rid = vault.subscribe(100 * UNIT, sender=roles.alice)
    role = vault.contract.functions.ISSUER_ROLE().call()
    for call in (lambda: vault.open_period(PRICE, 1, 1, sender=roles.bob),
                 lambda: vault.close_period(sender=roles.bob),
                 lambda: vault.accept([rid], sender=roles.bob),
                 lambda: vault.reject([rid], sender=roles.alice)):
        with pytest.raises(errors.AccessControlUnauthorizedAccount) as caught:
            call()
        assert caught.value.neededRole == role


def test_only_admin_sets_minimums_and_treasury(world, vault, roles):
    for call in (lambda: vault.set_minimums(1, 1, sender=roles.bob),
                 lambda: vault.set_treasury(roles.bob.address, sender=roles.bob)):
        with pytest.raises(errors.AccessControlUnauthorizedAccount) as caught:
            call()
        assert caught.value.neededRole == b"\x00" * 32
    with pytest.raises(errors.InvalidAddress):
        vault.set_treasury(ZERO, sender=world.issuer)
    vault.set_minimums(5 * UNIT, 2, sender=world.issuer)
    assert (vault.contract.functions.minSubscription().call(), vault.contract.functions.minRedemption().call()) == (
        5 * UNIT, 2)


def test_periods_need_a_price_and_an_open_period_takes_requests(world, roles):
    vault = world.vault
    with pytest.raises(errors.NoOpenPeriod):
        vault.subscribe(1 * UNIT, sender=roles.alice)
    with pytest.raises(errors.NoOpenPeriod):
        vault.close_period(sender=world.issuer)
    with pytest.raises(errors.InvalidPrice):
        vault.open_period(0, 1, 1, sender=world.issuer)
    vault.open_period(PRICE, 10 * UNIT, 1, sender=world.issuer)
    vault.close_period(sender=world.issuer)
    assert not vault.period(1).open
    with pytest.raises(errors.NoOpenPeriod):
        vault.redeem(1, sender=roles.alice)


# -- subscriptions -----------------------------------------------------------------------------------
def test_accepted_subscription_mints_at_period_price_and_refunds_the_rest(world, vault, roles):
    usd, treasury = world.usd, world.treasury.address
    before_usd, before_treasury, before_tok = usd.balance_of(roles.alice.address), usd.balance_of(treasury), tokens(world, roles.alice)
    rid = vault.subscribe(250 * UNIT, sender=roles.alice)
    assert vault.status(rid) == Status.PENDING
    assert vault.position(roles.alice.address).pending_subscription == 250 * UNIT
    assert usd.balance_of(roles.alice.address) == before_usd - 250 * UNIT
    sent = vault.accept([rid], sender=world.issuer)
    assert tokens(world, roles.alice) == before_tok + 2
    assert usd.balance_of(treasury) == before_treasury + 200 * UNIT
    assert usd.balance_of(roles.alice.address) == before_usd - 200 * UNIT
    [event] = sent.events(vault.contract, "RequestAccepted")
    assert (event["result"], event["refund"], event["kind"]) == (2, 50 * UNIT, Kind.SUBSCRIPTION)
    request = vault.request(rid)
    assert (request.status, request.result, request.kind) == (Status.ACCEPTED, 2, Kind.SUBSCRIPTION)
    assert vault.position(roles.alice.address).pending_subscription == 0


def test_batch_accepts_at_each_requests_own_period_price(world, vault, roles):
    first = vault.subscribe(300 * UNIT, sender=roles.alice)  # period 1 at 100
    vault.open_period(150 * UNIT, 1_000 * UNIT, 10, sender=world.issuer)
    second = vault.subscribe(300 * UNIT, sender=roles.bob)  # period 2 at 150
    a, b = tokens(world, roles.alice), tokens(world, roles.bob)
    vault.accept([first, second], sender=world.issuer)
    assert (tokens(world, roles.alice) - a, tokens(world, roles.bob) - b) == (3, 2)
    assert [vault.request(i).period for i in (first, second)] == [1, 2]


def test_subscription_with_permit_needs_no_approve(world, roles):
    world.vault.open_period(PRICE, 10_000 * UNIT, 10, sender=world.issuer)
    assert world.usd.allowance(roles.alice.address, world.vault.address) == 0
    rid = world.vault.subscribe_with_permit(world.usd, roles.alice, 100 * UNIT, deadline=world.chain.timestamp() + 600)
    assert world.vault.request(rid).amount == 100 * UNIT
    assert world.usd.balance_of(world.vault.address) == 100 * UNIT


def test_subscription_with_eip3009_authorization(world, roles):
    world.vault.open_period(PRICE, 10_000 * UNIT, 10, sender=world.issuer)
    rid = world.vault.subscribe_with_authorization(world.usd, roles.bob, 200 * UNIT,
                                                   valid_before=world.chain.timestamp() + 600)
    world.vault.accept([rid], sender=world.issuer)
    assert world.vault.request(rid).result == 2


def test_minimum_ticket_and_period_cap(world, vault, roles):
    vault.set_minimums(50 * UNIT, 0, sender=world.issuer)
    with pytest.raises(errors.BelowMinimum) as small:
        vault.subscribe(49 * UNIT, sender=roles.alice)
    assert (small.value.amount, small.value.minimum) == (49 * UNIT, 50 * UNIT)
    with pytest.raises(errors.BelowMinimum):
        vault.subscribe(0, sender=roles.alice)
    first = vault.subscribe(900 * UNIT, sender=roles.alice)
    with pytest.raises(errors.PeriodCapExceeded) as capped:
        vault.subscribe(700 * UNIT, sender=roles.bob)
    assert (capped.value.period, capped.value.cap, capped.value.total) == (1, 1_500 * UNIT, 1_600 * UNIT)
    vault.reject([first], sender=world.issuer)  # a rejection frees the cap
    vault.subscribe(700 * UNIT, sender=roles.bob)
    assert vault.period().subscribed == 700 * UNIT


def test_rejected_subscription_is_refunded_and_cannot_be_settled_again(world, vault, roles):
    before = world.usd.balance_of(roles.alice.address)
    rid = vault.subscribe(100 * UNIT, sender=roles.alice)
    sent = vault.reject([rid], sender=world.issuer)
    assert sent.events(vault.contract, "RequestRejected")[0]["amount"] == 100 * UNIT
    assert world.usd.balance_of(roles.alice.address) == before
    assert vault.status(rid) == Status.REJECTED
    with pytest.raises(errors.RequestNotPending) as caught:
        vault.accept([rid], sender=world.issuer)
    assert (caught.value.requestId, caught.value.status) == (rid, Status.REJECTED)
    with pytest.raises(errors.RequestNotPending) as unknown:
        vault.accept([99], sender=world.issuer)
    assert unknown.value.status == Status.NONE


def test_investor_cancels_own_pending_request(world, vault, roles):
    before = world.usd.balance_of(roles.alice.address)
    rid = vault.subscribe(100 * UNIT, sender=roles.alice)
    with pytest.raises(errors.NotRequestOwner) as caught:
        vault.cancel(rid, sender=roles.bob)
    assert caught.value.caller == roles.bob.address
    vault.cancel(rid, sender=roles.alice)
    assert vault.status(rid) == Status.CANCELLED
    assert world.usd.balance_of(roles.alice.address) == before
    assert vault.requests(Status.CANCELLED)[0].request_id == rid
    with pytest.raises(errors.RequestNotPending):
        vault.cancel(rid, sender=roles.alice)


def test_subscription_of_non_verified_investor_fails_compliance_until_rejected(world, vault, roles):
    world.usd.mint(roles.carol.address, 500 * UNIT, sender=roles.minter)
    world.usd.approve(vault.address, 2**256 - 1, sender=roles.carol)
    ok = vault.subscribe(100 * UNIT, sender=roles.alice)
    bad = vault.subscribe(100 * UNIT, sender=roles.carol)
    with pytest.raises(errors.RecipientNotVerified) as caught:
        vault.accept([ok, bad], sender=world.issuer)
    assert caught.value.recipient == roles.carol.address
    assert vault.status(ok) == Status.PENDING  # the whole batch reverted
    vault.reject([bad], sender=world.issuer)
    vault.accept([ok], sender=world.issuer)
    assert world.usd.balance_of(roles.carol.address) == 500 * UNIT


def test_ticket_below_one_token_cannot_be_accepted(world, vault, roles):
    rid = vault.subscribe(99 * UNIT, sender=roles.alice)
    with pytest.raises(errors.ZeroResult) as caught:
        vault.accept([rid], sender=world.issuer)
    assert caught.value.requestId == rid


def test_refund_to_a_blacklisted_investor_becomes_claimable(world, vault, roles):
    rid = vault.subscribe(150 * UNIT, sender=roles.alice)
    world.usd.blacklist(roles.alice.address, sender=roles.blacklister)
    sent = vault.accept([rid], sender=world.issuer)  # refund of 50 cannot be pushed
    assert sent.events(vault.contract, "PaymentDeferred") == [{"investor": roles.alice.address, "amount": 50 * UNIT}]
    assert vault.position(roles.alice.address).claimable == 50 * UNIT
    with pytest.raises(errors.StablecoinBlacklisted):
        vault.withdraw(sender=roles.alice)
    world.usd.un_blacklist(roles.alice.address, sender=roles.blacklister)
    before = world.usd.balance_of(roles.alice.address)
    vault.withdraw(sender=roles.alice)
    assert world.usd.balance_of(roles.alice.address) == before + 50 * UNIT
    with pytest.raises(errors.NothingToWithdraw):
        vault.withdraw(sender=roles.alice)


# -- redemptions ---------------------------------------------------------------------------------
def test_redemption_locks_tokens_then_treasury_pays_on_acceptance(world, vault, roles):
    before_tok, before_usd = tokens(world, roles.alice), world.usd.balance_of(roles.alice.address)
    rid = vault.redeem(5, sender=roles.alice)
    assert tokens(world, roles.alice) == before_tok - 5
    assert vault.position(roles.alice.address).pending_redemption == 5
    vault.accept([rid], sender=world.issuer)
    assert world.usd.balance_of(roles.alice.address) == before_usd + 5 * PRICE
    assert vault.request(rid).result == 5 * PRICE
    assert vault.position(roles.alice.address).pending_redemption == 0


def test_rejected_or_cancelled_redemption_returns_the_tokens(world, vault, roles):
    before = tokens(world, roles.alice)
    first, second = vault.redeem(3, sender=roles.alice), vault.redeem(2, sender=roles.alice)
    assert tokens(world, roles.alice) == before - 5
    vault.reject([first], sender=world.issuer)
    vault.cancel(second, sender=roles.alice)
    assert tokens(world, roles.alice) == before
    assert vault.period().redeemed == 0


def test_redemption_rules_minimum_cap_and_freezes(world, vault, roles):
    vault.set_minimums(0, 2, sender=world.issuer)
    with pytest.raises(errors.BelowMinimum):
        vault.redeem(1, sender=roles.alice)
    with pytest.raises(errors.PeriodCapExceeded):
        vault.redeem(51, sender=roles.alice)
    world.chain.transact(world.token.functions.setFrozenTokens(roles.alice.address, 95), sender=world.issuer)
    with pytest.raises(errors.RedemptionExceedsFreeTokens) as partial:
        vault.redeem(6, sender=roles.alice)
    assert (partial.value.free, partial.value.shares) == (5, 6)
    world.chain.transact(world.token.functions.setAddressFrozen(roles.alice.address, True), sender=world.issuer)
    with pytest.raises(errors.InvestorFrozen):
        vault.redeem(2, sender=roles.alice)


def test_redemption_fails_when_treasury_cannot_fund(world, vault, roles):
    rid = vault.redeem(2, sender=roles.bob)
    world.usd.approve(vault.address, 0, sender=world.treasury)
    with pytest.raises(errors.ERC20InsufficientAllowance):
        vault.accept([rid], sender=world.issuer)


def test_constructor_rejects_zero_addresses(world):
    for args in ((ZERO, world.usd.address, world.issuer.address, world.issuer.address),
                 (world.token.address, world.usd.address, world.issuer.address, ZERO)):
        with pytest.raises(errors.InvalidAddress):
            world.chain.deploy("SubscriptionVault", *args, sender=world.issuer)


def test_redemption_worth_less_than_one_unit_cannot_be_accepted(world, roles):
    """With a 2-decimal token priced at 50 base units per whole token, 1 base unit is worth 0.5."""
    from rwa_sdk.settlement.subscription import SubscriptionVault

    token, _ = world.chain.deploy("SecurityTokenMock", world.issuer.address, 2, sender=world.issuer)
    contract, _ = world.chain.deploy("SubscriptionVault", token.address, world.usd.address, world.issuer.address,
                                     world.treasury.address, sender=world.issuer)
    vault = SubscriptionVault(world.chain, contract.address)
    for fn in (token.functions.setAgent(vault.address, True), token.functions.setVerified(roles.alice.address, True),
               token.functions.mint(roles.alice.address, 10)):
        world.chain.transact(fn, sender=world.issuer)
    vault.grant_issuer(world.issuer.address, sender=world.issuer)
    vault.open_period(50, 10**12, 10**6, sender=world.issuer)
    small, enough = vault.redeem(1, sender=roles.alice), vault.redeem(2, sender=roles.alice)
    with pytest.raises(errors.ZeroResult) as caught:
        vault.accept([small], sender=world.issuer)
    assert caught.value.requestId == small
    world.usd.approve(vault.address, 2**256 - 1, sender=world.treasury)
    vault.accept([enough], sender=world.issuer)
    assert vault.request(enough).result == 1
