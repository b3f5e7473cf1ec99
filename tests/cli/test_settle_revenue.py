"""``rwa settle ...`` and ``rwa revenue ...``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from rwa_sdk.asset import Asset, usd_units
from rwa_sdk.oracle.simulator import make_devices
from rwa_sdk.settlement.stablecoin import UNIT

from .conftest import DAY, investor

HOUR = 3600


def test_subscribe_by_permit_and_accept_mints_at_the_period_price(rwa, sun5):
    buyer = investor(sun5)
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "5000", "--json", key=buyer)
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert request["status"] == "pending" and sun5.stablecoin.balance_of(buyer.address) == 95_000 * UNIT
    accepted = rwa("settle", "accept", str(request["request_id"]), "--asset", "SUN5")
    assert accepted.exit_code == 0, accepted.output
    assert sun5.token.balance_of(buyer.address) == 5_000


def test_subscribe_works_after_the_chain_clock_moved_ahead(rwa, sun5):
    buyer = investor(sun5)
    sun5.chain.mine(91 * DAY)  # a permit deadline from the wall clock would have expired
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "2500", "--accept", "--json", key=buyer)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["balance"] == 2_500 == sun5.token.balance_of(buyer.address)


def test_subscribe_needs_the_investor_key(rwa, sun5):
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "5000")
    assert result.exit_code == 1 and "RWA_INVESTOR_KEY" in result.stderr


def test_an_ineligible_investor_is_told_why_and_keeps_its_money(rwa, sun5):
    low_tier = investor(sun5, "FR", 2)
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "5000", "--accept", key=low_tier)
    assert result.exit_code == 1
    assert "may not hold the token" in result.stderr and "risk" in result.stderr.lower()
    assert sun5.stablecoin.balance_of(low_tier.address) == 100_000 * UNIT


def test_redeem_locks_the_tokens_until_the_issuer_accepts(rwa, sun5):
    holder = investor(sun5)
    sun5.accept_subscriptions([sun5.subscribe(holder, 3_000)])
    locked = rwa("settle", "redeem", "--asset", "SUN5", "--shares", "1000", "--json", key=holder)
    assert locked.exit_code == 1 and "RedemptionNotCompliant" in locked.output  # the 90-day lock-up applies
    sun5.chain.mine(91 * DAY)
    result = rwa("settle", "redeem", "--asset", "SUN5", "--shares", "1000", "--json", key=holder)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "pending"
    # held in escrow in the holder's wallet: frozen, still earning revenue, burned on acceptance
    assert (sun5.token.balance_of(holder.address), sun5.token.frozen_tokens(holder.address)) == (3_000, 1_000)


def test_a_signed_sell_order_is_filled_by_a_buyer_paying_by_permit(rwa, sun5, tmp_path):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    sun5.chain.mine(91 * DAY)
    signed = rwa("settle", "order", "--asset", "SUN5", "--side", "sell", "--amount", "800", "--price", "1.25",
                 "--approve", key=seller)
    assert signed.exit_code == 0, signed.output
    order = json.loads(signed.stdout)
    assert order["order"]["price"] == usd_units(1.25) and len(order["signature"]) == 132
    path = tmp_path / "order.json"
    path.write_text(signed.stdout)
    filled = rwa("settle", "fill", path, "--asset", "SUN5", "--amount", "500", "--json", key=buyer)
    assert filled.exit_code == 0, filled.output
    assert json.loads(filled.stdout)["remaining"] == 300
    assert sun5.token.balance_of(buyer.address) == 500
    assert sun5.stablecoin.balance_of(buyer.address) == 100_000 * UNIT - 500 * usd_units(1.25)


def test_a_signed_buy_order_is_filled_by_a_holder_selling_its_tokens(rwa, sun5):
    buyer, seller = investor(sun5, "PT", 3), investor(sun5)
    sun5.token.mint(seller.address, 1_000, sender=sun5.roles.agent)
    sun5.chain.mine(91 * DAY)
    signed = rwa("settle", "order", "--asset", "SUN5", "--side", "buy", "--amount", "400", "--price", "2",
                 "--approve", key=buyer)
    assert signed.exit_code == 0, signed.output
    filled = rwa("settle", "fill", signed.stdout, "--asset", "SUN5", key=seller)
    assert filled.exit_code == 0, filled.output
    assert (sun5.token.balance_of(seller.address), sun5.token.balance_of(buyer.address)) == (600, 400)
    assert sun5.stablecoin.balance_of(seller.address) == 100_000 * UNIT + 400 * usd_units(2)


def test_a_tampered_order_is_refused_by_the_contract(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    signed = json.loads(rwa("settle", "order", "--asset", "SUN5", "--side", "sell", "--amount", "800", "--price",
                            "1", "--approve", key=seller).stdout)
    signed["order"]["price"] = 1
    result = rwa("settle", "fill", json.dumps(signed), "--asset", "SUN5", key=buyer)
    assert result.exit_code == 1 and "transaction reverted" in result.stderr
    assert sun5.token.balance_of(buyer.address) == 0


def produce(asset: Asset, db, days: int, capacity_w: int = 5_000_000) -> int:
    """One device of ``capacity_w`` reporting hourly for ``days`` whole UTC days, anchored one batch a day."""
    start = (asset.chain.timestamp() // DAY + 1) * DAY
    [sim] = make_devices(1, asset.asset_id, start=start, capacity_w=capacity_w, kinds=("pv-inverter",))
    asset.register_devices([sim.signer], capacity_w=capacity_w)
    asset.chain.mine(start + days * DAY + 60 - asset.chain.timestamp())
    for _ in range(days):
        day = []
        for _ in range(DAY // HOUR):
            reading = sim.next_reading(HOUR)
            day.append((reading, asset.oracle.domain.sign(reading, sim.signer.key)))
        assert asset.relay(day, db).acknowledged == len(day)
    return start


def utc_day(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date().isoformat()


def test_revenue_is_deposited_for_whole_days_and_claimed_by_a_holder(rwa, sun5, tmp_path):
    holder = investor(sun5)
    sun5.accept_subscriptions([sun5.subscribe(holder, 4_000)])
    start = produce(sun5, tmp_path / "oracle.db", days=2)
    energy = rwa("revenue", "energy", "--asset", "SUN5", "--json")
    assert [d["day"] for d in json.loads(energy.stdout)] == [utc_day(start), utc_day(start + DAY)]
    deposit = rwa("revenue", "deposit", "--asset", "SUN5", "--from", utc_day(start), "--to", utc_day(start + DAY),
                  "--json")
    assert deposit.exit_code == 0, deposit.output
    paid = json.loads(deposit.stdout)
    assert paid["energy_wh"] == sun5.energy_wh(start, start + 2 * DAY) > 0
    owed = sun5.distributor.claimable(holder.address)
    assert owed == paid["energy_wh"] * 85  # the only holder; 0.085 USD/kWh
    before = sun5.stablecoin.balance_of(holder.address)
    claim = rwa("revenue", "claim", "--asset", "SUN5", "--json", key=holder)
    assert claim.exit_code == 0, claim.output
    assert sun5.stablecoin.balance_of(holder.address) - before == owed
    assert Decimal(json.loads(claim.stdout)["claimed_usd"]) * UNIT == owed


def test_a_deposit_without_anchored_energy_is_refused(rwa, sun5):
    yesterday = utc_day(sun5.chain.timestamp() - DAY)
    result = rwa("revenue", "deposit", "--asset", "SUN5", "--from", yesterday, "--to", yesterday)
    assert result.exit_code == 1 and "no anchored energy" in result.stderr


def test_an_order_for_another_venue_is_refused_before_sending(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    signed = json.loads(rwa("settle", "order", "--asset", "SUN5", "--side", "sell", "--amount", "10", "--price", "1",
                            key=seller).stdout)
    signed["chain_id"] = 1
    result = rwa("settle", "fill", json.dumps(signed), "--asset", "SUN5", key=buyer)
    assert result.exit_code == 1 and "not for SUN5 on this network" in result.stderr


def test_a_deposit_whose_last_day_precedes_its_first_is_a_usage_error(rwa, sun5):
    result = rwa("revenue", "deposit", "--asset", "SUN5", "--from", "2026-03-02", "--to", "2026-03-01")
    assert result.exit_code == 2 and "--to is before --from" in result.output
