"""Revenue distributor: deposits traceable to metered energy, pro-rata accrual through the token hook,
claims, frozen holders, agent claims and wallet recovery, dust, and who may do what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from web3 import Web3

from rwa_sdk import errors
from rwa_sdk.settlement.revenue import SCALE, PeriodRevenue, Tariff, revenue_from_energy
from rwa_sdk.settlement.stablecoin import UNIT

ASSET = b"\x01" * 32
EVIDENCE = b"\xee" * 32
ZERO = "0x" + "00" * 20


def revenue(amount: int, start: int = 0, end: int = 86_400, energy_wh: int = 1_000_000) -> PeriodRevenue:
    return PeriodRevenue(ASSET, start, end, energy_wh, EVIDENCE, amount)


def agent_tx(world, fn):
    return world.chain.transact(fn, sender=world.issuer)


def set_verified(world, who):
    agent_tx(world, world.token.functions.setVerified(who.address, True))


def install_energy_oracle(chain, address: str, energy_wh: int) -> None:
    """Runtime code answering every call with `energy_wh` (a constant IEnergyOracle stand-in)."""
    code = "0x7f" + energy_wh.to_bytes(32, "big").hex() + "60005260206000f3"
    chain.rpc("anvil_setCode", address, code)


# -- the tariff -----------------------------------------------------------------------------------
def test_revenue_from_energy_is_energy_times_tariff_rounded_down():
    assert revenue_from_energy(1_234_567, Tariff(Decimal("0.12"))) == 148_148_040  # 1234.567 kWh x 0.12
    assert revenue_from_energy(1, Tariff(Decimal("0.12"))) == 120
    assert revenue_from_energy(1, Tariff(Decimal("0.0001234567"))) == 0
    assert revenue_from_energy(10**6, Tariff(Decimal("0.1"), decimals=18)) == 10**17 * 1000
    with pytest.raises(ValueError):
        revenue_from_energy(-1, Tariff(Decimal("0.1")))


# -- deposits --------------------------------------------------------------------------------------
def test_deposit_records_energy_evidence_and_supply(world):
    dist = world.distributor
    sent = dist.deposit(dist.period_revenue(ASSET, 100, 200, 4_000_000, Tariff(Decimal("0.25")), EVIDENCE),
                        sender=world.issuer)
    [event] = sent.events(dist.contract, "RevenueDeposited")
    assert (event["energyWh"], event["evidence"], event["amount"], event["supply"]) == (
        4_000_000, EVIDENCE, 1_000 * UNIT, 200)
    [recorded] = dist.deposits()
    assert (recorded.period_start, recorded.period_end, recorded.amount, recorded.supply) == (100, 200, 1_000 * UNIT, 200)
    assert dist.contract.functions.depositForPeriod(ASSET, 100, 200).call() == [True, 0]
    assert dist.contract.functions.depositForPeriod(ASSET, 100, 201).call() == [False, 0]
    assert world.usd.balance_of(dist.address) == 1_000 * UNIT


def test_deposit_reverts_on_bad_input(world):
    dist = world.distributor
    with pytest.raises(errors.ZeroRevenue):
        dist.deposit(revenue(0), sender=world.issuer)
    with pytest.raises(errors.InvalidPeriod) as caught:
        dist.deposit(revenue(1, start=10, end=10), sender=world.issuer)
    assert (caught.value.periodStart, caught.value.periodEnd) == (10, 10)
    dist.deposit(revenue(5), sender=world.issuer)
    with pytest.raises(errors.PeriodAlreadyFunded) as again:
        dist.deposit(revenue(7), sender=world.issuer)
    assert again.value.depositId == 0


def test_deposit_without_supply_reverts(world, roles):
    from rwa_sdk.settlement.revenue import RevenueDistributor

    token, _ = world.chain.deploy("SecurityTokenMock", world.issuer.address, 0, sender=world.issuer)
    contract, _ = world.chain.deploy("RevenueDistributor", token.address, world.usd.address, world.issuer.address,
                                     sender=world.issuer)
    dist = RevenueDistributor(world.chain, contract.address)
    dist.grant("OPERATOR_ROLE", world.issuer.address, sender=world.issuer)
    world.usd.approve(dist.address, 10, sender=world.issuer)
    with pytest.raises(errors.NoSupply):
        dist.deposit(revenue(10), sender=world.issuer)


def test_energy_oracle_must_agree_with_the_deposit(world, roles):
    dist, oracle = world.distributor, Web3.to_checksum_address("0x" + "0e" * 20)
    install_energy_oracle(world.chain, oracle, 5_000)
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        dist.set_energy_oracle(oracle, sender=roles.bob)
    dist.set_energy_oracle(oracle, sender=world.issuer)
    with pytest.raises(errors.EnergyMismatch) as caught:
        dist.deposit(revenue(100, energy_wh=4_999), sender=world.issuer)
    assert (caught.value.anchoredWh, caught.value.claimedWh) == (5_000, 4_999)
    dist.deposit(revenue(100, energy_wh=5_000), sender=world.issuer)
    dist.set_energy_oracle(ZERO, sender=world.issuer)  # unset: no check
    dist.deposit(revenue(100, start=86_400, end=172_800, energy_wh=1), sender=world.issuer)


# -- access control ------------------------------------------------------------------------------------
def test_only_the_token_reports_balance_changes(world, roles):
    with pytest.raises(errors.CallerNotToken) as caught:
        world.chain.transact(world.distributor.contract.functions.onBalanceChange(roles.alice.address, roles.bob.address),
                             sender=roles.alice)
    assert caught.value.caller == roles.alice.address


def test_only_operator_deposits_and_only_agent_moves_accruals(world, roles):
    dist = world.distributor
    f = dist.contract.functions
    for call, role in ((lambda: dist.deposit(revenue(1), sender=roles.bob), f.OPERATOR_ROLE().call()),
                       (lambda: dist.claim_for(roles.alice.address, roles.bob.address, sender=roles.bob), f.AGENT_ROLE().call()),
                       (lambda: dist.transfer_accrued(roles.alice.address, roles.bob.address, sender=roles.bob),
                        f.AGENT_ROLE().call())):
        with pytest.raises(errors.AccessControlUnauthorizedAccount) as caught:
            call()
        assert (caught.value.account, caught.value.neededRole) == (roles.bob.address, role)


# -- accrual and claims ---------------------------------------------------------------------------------
def test_holders_accrue_pro_rata_to_balances_at_deposit_time(world, roles):
    dist = world.distributor
    dist.deposit(revenue(1_000 * UNIT), sender=world.issuer)  # alice 100, bob 100
    world.chain.transact(world.token.functions.transfer(roles.bob.address, 50), sender=roles.alice)  # 50 / 150
    dist.deposit(revenue(600 * UNIT, start=86_400, end=172_800), sender=world.issuer)
    assert dist.claimable(roles.alice.address) == 500 * UNIT + 150 * UNIT
    assert dist.claimable(roles.bob.address) == 500 * UNIT + 450 * UNIT
    before = world.usd.balance_of(roles.bob.address)
    sent = dist.claim(sender=roles.bob)
    assert sent.events(dist.contract, "RevenueClaimed")[0]["amount"] == 950 * UNIT
    assert world.usd.balance_of(roles.bob.address) == before + 950 * UNIT
    assert dist.claimable(roles.bob.address) == 0
    with pytest.raises(errors.NothingToClaim) as caught:
        dist.claim(sender=roles.bob)
    assert caught.value.holder == roles.bob.address


def test_minted_and_burned_tokens_accrue_only_while_held(world, roles):
    dist = world.distributor
    set_verified(world, roles.carol)
    agent_tx(world, world.token.functions.mint(roles.carol.address, 200))  # 100 / 100 / 200
    dist.deposit(revenue(400 * UNIT), sender=world.issuer)
    agent_tx(world, world.token.functions.burn(roles.carol.address, 200))
    dist.deposit(revenue(400 * UNIT, start=86_400, end=172_800), sender=world.issuer)
    assert [dist.claimable(a.address) for a in (roles.alice, roles.bob, roles.carol)] == [
        300 * UNIT, 300 * UNIT, 200 * UNIT]


def test_frozen_holder_accrues_but_claims_only_after_unfreezing(world, roles):
    dist, token = world.distributor, world.token
    agent_tx(world, token.functions.setAddressFrozen(roles.alice.address, True))
    dist.deposit(revenue(200 * UNIT), sender=world.issuer)
    assert dist.claimable(roles.alice.address) == 100 * UNIT
    with pytest.raises(errors.HolderFrozen) as caught:
        dist.claim(sender=roles.alice)
    assert caught.value.holder == roles.alice.address
    with pytest.raises(errors.HolderFrozen):  # the freeze binds agents too
        dist.claim_for(roles.alice.address, roles.bob.address, sender=world.issuer)
    agent_tx(world, token.functions.setAddressFrozen(roles.alice.address, False))
    dist.claim(sender=roles.alice)
    assert dist.claimable(roles.alice.address) == 0


def test_agent_claims_for_a_holder_to_another_wallet(world, roles):
    dist = world.distributor
    dist.deposit(revenue(200 * UNIT), sender=world.issuer)
    with pytest.raises(errors.InvalidAddress):
        dist.claim_for(roles.alice.address, ZERO, sender=world.issuer)
    before = world.usd.balance_of(roles.carol.address)
    sent = dist.claim_for(roles.alice.address, roles.carol.address, sender=world.issuer)
    assert sent.events(dist.contract, "RevenueClaimed")[0]["caller"] == world.issuer.address
    assert world.usd.balance_of(roles.carol.address) == before + 100 * UNIT


def test_recovered_wallet_receives_the_lost_wallets_accrual(world, roles):
    dist, token = world.distributor, world.token
    dist.deposit(revenue(300 * UNIT + 1), sender=world.issuer)  # 150.0000005 each: a fractional remainder
    set_verified(world, roles.carol)
    agent_tx(world, token.functions.setAddressFrozen(roles.alice.address, True))  # lost keys: frozen
    agent_tx(world, token.functions.forcedTransfer(roles.alice.address, roles.carol.address, 100))
    dist.deposit(revenue(200 * UNIT, start=86_400, end=172_800), sender=world.issuer)
    assert dist.claimable(roles.alice.address) == 150 * UNIT  # accrued before the recovery
    lost_remainder = dist.remainder(roles.alice.address)
    assert lost_remainder == SCALE // 2
    with pytest.raises(errors.InvalidAddress):
        dist.transfer_accrued(roles.alice.address, roles.alice.address, sender=world.issuer)
    with pytest.raises(errors.InvalidAddress):
        dist.transfer_accrued(roles.alice.address, ZERO, sender=world.issuer)
    sent = dist.transfer_accrued(roles.alice.address, roles.carol.address, sender=world.issuer)
    assert sent.events(dist.contract, "AccruedTransferred")[0]["amount"] == 150 * UNIT
    assert (dist.claimable(roles.alice.address), dist.remainder(roles.alice.address)) == (0, 0)
    assert dist.claimable(roles.carol.address) == 250 * UNIT
    assert dist.remainder(roles.carol.address) == SCALE // 2
    dist.claim(sender=roles.carol)


def test_rounding_dust_is_kept_and_paid_out_later(world, roles):
    dist = world.distributor
    set_verified(world, roles.carol)
    agent_tx(world, world.token.functions.mint(roles.carol.address, 1))  # supply 201
    dist.deposit(revenue(1), sender=world.issuer)
    carry = dist.totals()["carry"]
    assert carry == SCALE - (SCALE // 201) * 201
    holders = [roles.alice.address, roles.bob.address, roles.carol.address]
    assert [dist.claimable(h) for h in holders] == [0, 0, 0]
    total_scaled = sum(dist.claimable(h) * SCALE + dist.remainder(h) for h in holders) + carry
    assert total_scaled == 1 * SCALE  # nothing lost
    dist.deposit(revenue(200, start=86_400, end=172_800), sender=world.issuer)  # 201 units over 201 tokens, plus the carry
    assert [dist.claimable(h) for h in holders] == [100, 100, 1]


def test_sdk_lists_holders_and_their_accrued_revenue(world, roles):
    dist = world.distributor
    dist.deposit(revenue(3 * UNIT), sender=world.issuer)
    agent_tx(world, world.token.functions.setAddressFrozen(roles.bob.address, True))
    holders = dist.holders(world.token)
    assert holders[:2] == [roles.alice.address, roles.bob.address]
    rows = {row.holder: row for row in dist.accrued(holders, world.token)}
    assert (rows[roles.alice.address].claimable, rows[roles.alice.address].remainder) == (1_500_000, 0)
    assert rows[roles.bob.address].frozen and not rows[roles.alice.address].frozen


def test_constructor_rejects_zero_addresses(world):
    with pytest.raises(errors.InvalidAddress):
        world.chain.deploy("RevenueDistributor", ZERO, world.usd.address, world.issuer.address, sender=world.issuer)
    with pytest.raises(errors.InvalidAddress):
        world.chain.deploy("RevenueDistributor", world.token.address, world.usd.address, ZERO, sender=world.issuer)


# -- attack (issue 12, item 5) ---------------------------------------------------------------------
def test_overlapping_periods_cannot_both_be_funded(world):
    """Before: only the exact (start, end) pair was remembered, so [0, 2 days) and [1 day, 3 days) both paid
    for day two."""
    dist, day = world.distributor, 86_400
    dist.deposit(revenue(5 * UNIT, start=10 * day, end=12 * day), sender=world.issuer)
    dist.deposit(revenue(5 * UNIT, start=20 * day, end=21 * day), sender=world.issuer)
    for start, end, funded in ((11 * day, 13 * day, (10, 12)), (9 * day, 11 * day, (10, 12)),
                               (9 * day, 13 * day, (10, 12)), (10 * day + 1, 11 * day, (10, 12)),
                               (15 * day, 25 * day, (20, 21)), (12 * day - 1, 12 * day + 1, (10, 12))):
        with pytest.raises(errors.PeriodOverlapsFunded) as caught:
            dist.deposit(revenue(1 * UNIT, start=start, end=end), sender=world.issuer)
        assert (caught.value.fundedStart, caught.value.fundedEnd) == (funded[0] * day, funded[1] * day)
    # adjacent periods and a backfilled gap are fine, and the gap is then funded too
    for start, end in ((12 * day, 13 * day), (9 * day, 10 * day), (13 * day, 20 * day), (21 * day, 22 * day)):
        dist.deposit(revenue(1 * UNIT, start=start, end=end), sender=world.issuer)
    with pytest.raises(errors.PeriodOverlapsFunded):
        dist.deposit(revenue(1 * UNIT, start=14 * day, end=15 * day), sender=world.issuer)
    assert dist.totals()["deposited"] == 14 * UNIT
