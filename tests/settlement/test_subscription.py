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
    failed = vault.failures(vault.accept([rid, 99], sender=world.issuer))
    assert isinstance(failed[rid], errors.RequestNotPending)
    assert (failed[rid].requestId, failed[rid].status) == (rid, Status.REJECTED)
    assert failed[99].status == Status.NONE
    assert world.usd.balance_of(roles.alice.address) == before


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
    sent = vault.accept([bad, ok], sender=world.issuer)
    failed = vault.failures(sent)
    assert list(failed) == [bad] and isinstance(failed[bad], errors.RecipientNotVerified)
    assert failed[bad].recipient == roles.carol.address
    assert (vault.status(ok), vault.status(bad)) == (Status.ACCEPTED, Status.PENDING)  # one failure, the rest go on
    vault.reject([bad], sender=world.issuer)
    assert world.usd.balance_of(roles.carol.address) == 500 * UNIT


def test_ticket_below_one_token_cannot_be_accepted(world, vault, roles):
    rid = vault.subscribe(99 * UNIT, sender=roles.alice)
    failed = vault.failures(vault.accept([rid], sender=world.issuer))
    assert isinstance(failed[rid], errors.ZeroResult) and failed[rid].requestId == rid
    assert vault.status(rid) == Status.PENDING


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
def frozen(world, who) -> int:
    return world.token.functions.getFrozenTokens(who.address).call()


def test_redemption_escrows_tokens_then_treasury_pays_on_acceptance(world, vault, roles):
    before_tok, before_usd = tokens(world, roles.alice), world.usd.balance_of(roles.alice.address)
    supply = world.token.functions.totalSupply().call()
    rid = vault.redeem(5, sender=roles.alice)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (before_tok, 5)  # escrowed in the wallet
    assert vault.position(roles.alice.address).pending_redemption == 5
    vault.accept([rid], sender=world.issuer)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (before_tok - 5, 0)
    assert world.token.functions.totalSupply().call() == supply - 5
    assert world.usd.balance_of(roles.alice.address) == before_usd + 5 * PRICE
    assert vault.request(rid).result == 5 * PRICE
    assert vault.position(roles.alice.address).pending_redemption == 0


def test_rejected_or_cancelled_redemption_returns_the_tokens(world, vault, roles):
    before, supply = tokens(world, roles.alice), world.token.functions.totalSupply().call()
    first, second = vault.redeem(3, sender=roles.alice), vault.redeem(2, sender=roles.alice)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (before, 5)
    with pytest.raises(errors.InsufficientFreeTokens):  # escrowed tokens cannot move
        world.chain.transact(world.token.functions.transfer(roles.bob.address, before - 4), sender=roles.alice)
    vault.reject([first], sender=world.issuer)
    vault.cancel(second, sender=roles.alice)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (before, 0)
    assert world.token.functions.totalSupply().call() == supply  # returned without a fresh issuance
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
    failed = vault.failures(vault.accept([rid], sender=world.issuer))
    assert isinstance(failed[rid], errors.ERC20InsufficientAllowance)
    assert (vault.status(rid), frozen(world, roles.bob), tokens(world, roles.bob)) == (Status.PENDING, 2, 100)


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
    failed = vault.failures(vault.accept([small], sender=world.issuer))
    assert isinstance(failed[small], errors.ZeroResult) and failed[small].requestId == small
    world.usd.approve(vault.address, 2**256 - 1, sender=world.treasury)
    vault.accept([enough], sender=world.issuer)
    assert vault.request(enough).result == 1


# -- attacks (issue 12, items 2 and 3) -----------------------------------------------------------
def test_redemption_of_an_investor_who_lost_eligibility_is_still_returned(world, vault, roles):
    """Before: cancel and reject minted the shares back through compliance, so they reverted for ever once the
    investor was no longer verified, and one such request reverted a whole reject batch."""
    stuck = vault.redeem(4, sender=roles.alice)
    other = vault.redeem(3, sender=roles.bob)
    world.chain.transact(world.token.functions.setVerified(roles.alice.address, False), sender=world.issuer)
    sent = vault.reject([stuck, 10**6, other], sender=world.issuer)  # an unknown id in the middle
    failed = vault.failures(sent)
    assert list(failed) == [10**6] and isinstance(failed[10**6], errors.RequestNotPending)
    assert (vault.status(stuck), vault.status(other)) == (Status.REJECTED, Status.REJECTED)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (100, 0)
    again = vault.redeem(2, sender=roles.alice)
    vault.cancel(again, sender=roles.alice)
    assert (tokens(world, roles.alice), frozen(world, roles.alice)) == (100, 0)


def test_escrowed_redemption_shares_keep_earning_revenue(world, vault, roles):
    """Before: requested shares were burned, so a deposit while the request waited paid the others only."""
    from rwa_sdk.settlement.revenue import PeriodRevenue

    rid = vault.redeem(50, sender=roles.alice)  # half of alice's 100; bob holds 100
    world.distributor.deposit(PeriodRevenue(b"\x01" * 32, 0, 3600, 0, b"\x00" * 32, 200 * UNIT), sender=world.issuer)
    assert world.distributor.claimable(roles.alice.address) == 100 * UNIT
    assert world.distributor.claimable(roles.bob.address) == 100 * UNIT
    vault.accept([rid], sender=world.issuer)
    assert world.distributor.claimable(roles.alice.address) == 100 * UNIT  # settled before the burn


def test_redemption_request_respects_pause_and_lock_up(world, vault, roles):
    world.chain.transact(world.token.functions.setPaused(True), sender=world.issuer)
    with pytest.raises(errors.TokenPaused):
        vault.redeem(2, sender=roles.alice)
    world.chain.transact(world.token.functions.setPaused(False), sender=world.issuer)
    world.chain.transact(world.token.functions.setLocked(roles.alice.address, True), sender=world.issuer)
    with pytest.raises(errors.RedemptionNotCompliant) as caught:
        vault.redeem(2, sender=roles.alice)
    assert (caught.value.investor, caught.value.shares) == (roles.alice.address, 2)
    assert frozen(world, roles.alice) == 0


def test_only_the_vault_runs_a_batch_step(world, vault, roles):
    rid = vault.redeem(2, sender=roles.alice)
    for who in (world.issuer, roles.alice):
        with pytest.raises(errors.CallerNotVault):
            world.chain.transact(vault.contract.functions.settleRequest(rid, True), sender=who)
    assert vault.status(rid) == Status.PENDING


def test_a_batch_short_of_gas_reverts_instead_of_failing_requests(world, vault, roles):
    """A gas limit (or a gas estimate) too low for a step must not turn into a RequestFailed that leaves a good
    request pending: the batch reverts with BatchOutOfGas and the request can be accepted with enough gas."""
    rid = vault.subscribe(100 * UNIT, sender=roles.alice)
    fn = vault.contract.functions.acceptRequests([rid])
    with pytest.raises(errors.BatchOutOfGas) as caught:
        world.chain.transact(fn, sender=world.issuer, gas=60_000)
    assert caught.value.requestId == rid
    sent = world.chain.transact(fn, sender=world.issuer)  # estimated: enough for the step to succeed
    assert not vault.failures(sent) and vault.status(rid) == Status.ACCEPTED
