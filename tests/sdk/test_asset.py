"""An asset from its spec to its payout, on Anvil: the SDK an issuer's backend imports."""

from __future__ import annotations

import csv

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.asset import ASSET_TOKEN_ARTIFACT, Asset, AssetError, InvestorProfile, NotEligible, usd_units
from rwa_sdk.oracle.simulator import make_devices
from rwa_sdk.settlement.stablecoin import UNIT

from ..conftest import ROOT

SPEC = ROOT / "examples" / "solar-5mw.toml"
HOUR = 3600


@pytest.fixture(scope="session")
def records_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="session")
def asset_session(session_chain, records_dir):
    return Asset.create(session_chain, SPEC, deployments_dir=records_dir)


@pytest.fixture
def asset(chain, asset_session) -> Asset:
    return asset_session


@pytest.fixture
def investors(asset):
    """Spain (tier 4), France (tier 2: below the token's risk level 3), the US (blocked)."""
    es, fr, us = (Account.create() for _ in range(3))
    treasury = asset.roles.treasury
    for who in (es, fr, us):
        asset.chain.send_value(who.address, 10**18)
    asset.stablecoin.configure_minter(treasury.address, 10**15, sender=asset.roles.owner)
    for who in (es, fr, us):
        asset.stablecoin.mint(who.address, 100_000 * UNIT, sender=treasury)
    asset.onboard([
        InvestorProfile(es.address, "ES", risk_tier=4),
        InvestorProfile(fr.address, "FR", risk_tier=2),
        InvestorProfile(us.address, "US", risk_tier=5, professional=True),
    ])
    return es, fr, us


def test_create_wires_every_contract_and_load_finds_it(chain, asset, tmp_path):
    token = chain.contract(ASSET_TOKEN_ARTIFACT, asset.addresses.token).functions
    assert (token.name().call(), token.symbol().call()) == ("Sunfield Solar 5 MW", "SUN5")
    assert token.revenueHook().call() == asset.addresses.distributor
    assert asset.token.is_agent(asset.addresses.vault)
    assert asset.oracle.registry.functions.operatorOf(asset.asset_id).call() == asset.roles.operator.address
    assert set(asset.addresses.modules) >= {"CountryAllowModule", "CountryRestrictModule", "InvestorSuitabilityModule",
                                            "MaxHoldersModule", "MaxBalanceModule", "SupplyLimitModule", "LockUpModule"}


def test_load_by_symbol_and_unknown_symbol(chain, asset_session, records_dir):
    loaded = Asset.load(chain, "SUN5", deployments_dir=records_dir)
    assert loaded.addresses == asset_session.addresses and loaded.spec == asset_session.spec
    with pytest.raises(AssetError, match="no asset 'NOPE'"):
        Asset.load(chain, "NOPE", deployments_dir=records_dir)


def test_eligibility_explains_country_and_risk_tier(asset, investors):
    es, fr, us = investors
    assert asset.eligibility(es.address, 1000) == ()
    assert any("risk" in reason.lower() for reason in asset.eligibility(fr.address, 1000))
    assert any("country" in reason.lower() for reason in asset.eligibility(us.address, 1000))


def test_ineligible_investor_cannot_subscribe_and_keeps_its_money(asset, investors):
    _, fr, _ = investors
    before = asset.stablecoin.balance_of(fr.address)
    with pytest.raises(NotEligible) as caught:
        asset.subscribe(fr, 5_000)
    assert caught.value.wallet == fr.address and caught.value.reasons
    assert asset.stablecoin.balance_of(fr.address) == before


def test_subscription_by_permit_mints_at_the_period_price(asset, investors):
    es, _, _ = investors
    request = asset.subscribe(es, 5_000)
    asset.accept_subscriptions([request])
    assert asset.token.balance_of(es.address) == 5_000  # 1.00 USD per token
    assert asset.stablecoin.balance_of(asset.roles.treasury.address) >= usd_units(5_000)
    holders = asset.cap_table()
    assert [(h.wallet, h.balance, h.country) for h in holders] == [(es.address, 5_000, 724)]


def test_subscription_below_the_minimum_ticket_is_refused(asset, investors):
    es, _, _ = investors
    with pytest.raises(errors.ContractError):
        asset.subscribe(es, 999)


def test_cap_table_index_resumes_from_its_file(asset, investors, tmp_path):
    es, _, _ = investors
    asset.accept_subscriptions([asset.subscribe(es, 1_500)])
    index = asset.events(tmp_path / "events.sqlite")
    assert [(h.wallet, h.balance) for h in asset.cap_table(index)] == [(es.address, 1_500)]
    index.close()
    asset.accept_subscriptions([asset.subscribe(es, 1_000)])
    resumed = asset.events(tmp_path / "events.sqlite")
    assert [e.args["value"] for e in resumed.sync()] == [1_000]  # only what is new
    assert [(h.wallet, h.balance) for h in asset.cap_table(resumed)] == [(es.address, 2_500)]


def test_cap_table_exports_csv(asset, investors, tmp_path):
    es, _, _ = investors
    asset.accept_subscriptions([asset.subscribe(es, 2_000)])
    path = asset.cap_table_csv(tmp_path / "cap.csv")
    rows = list(csv.DictReader(path.open()))
    assert rows == [{"wallet": es.address, "balance": "2000", "frozen": "False", "frozen_tokens": "0", "country": "724"}]


def _produce(asset, days: int = 2, devices: int = 5, period_s: int = HOUR):
    """Devices registered now, then `days` whole days (from the next midnight UTC) of hourly readings."""
    start = (asset.chain.timestamp() // 86_400 + 1) * 86_400
    sims = make_devices(devices, asset.asset_id, start=start, capacity_w=100_000, kinds=("pv-inverter",))
    asset.register_devices([d.signer for d in sims], capacity_w=100_000)
    asset.chain.mine(start + days * 86_400 + 60 - asset.chain.timestamp())
    signed = []
    for sim in sims:
        while sim.next_start + period_s <= start + days * 86_400:
            reading = sim.next_reading(period_s)
            signed.append((reading, asset.oracle.domain.sign(reading, sim.signer.key)))
    return start, signed


def test_readings_are_relayed_anchored_and_paid_out_pro_rata(asset, investors, tmp_path):
    es, _, _ = investors
    other = Account.create()
    asset.chain.send_value(other.address, 10**18)
    asset.stablecoin.mint(other.address, 100_000 * UNIT, sender=asset.roles.treasury)
    asset.onboard([InvestorProfile(other.address, "PT", risk_tier=3)])
    asset.accept_subscriptions([asset.subscribe(es, 3_000), asset.subscribe(other, 1_000)])

    start, signed = _produce(asset)
    outcome = asset.relay(signed, tmp_path / "oracle.db")
    assert outcome.acknowledged == len(signed) and not outcome.rejected and outcome.batches >= 1
    end = start + 2 * 86_400
    energy = asset.energy_wh(start, end)
    assert energy == sum(r.energy_wh for r, _ in signed) > 0
    assert sum(asset.energy_by_day().values()) == energy
    assert len(asset.energy_by_day()) == 2
    assert sum(asset.energy_by_month().values()) == energy

    revenue = asset.deposit_revenue(start, end)
    assert revenue.amount == energy * 85 and revenue.energy_wh == energy  # 0.085 USD/kWh = 85 units per Wh
    assert asset.distributor.claimable(es.address) == revenue.amount * 3 // 4
    assert asset.distributor.claimable(other.address) == revenue.amount // 4
    before = asset.stablecoin.balance_of(es.address)
    asset.distributor.claim(sender=es)
    assert asset.stablecoin.balance_of(es.address) - before == revenue.amount * 3 // 4


def test_transfer_after_deposit_keeps_revenue_with_the_holder_at_deposit_time(asset, investors, tmp_path):
    es, _, _ = investors
    other = Account.create()
    asset.chain.send_value(other.address, 10**18)
    asset.onboard([InvestorProfile(other.address, "PT", risk_tier=3)])
    asset.accept_subscriptions([asset.subscribe(es, 2_000)])
    start, signed = _produce(asset, days=1, devices=2)
    asset.relay(signed, tmp_path / "oracle.db")
    revenue = asset.deposit_revenue(start, start + 86_400)
    asset.chain.mine(91 * 86_400)  # past the lock-up
    asset.token.forced_transfer(es.address, other.address, 2_000, sender=asset.roles.agent)
    assert asset.distributor.claimable(es.address) == revenue.amount
    assert asset.distributor.claimable(other.address) == 0


def test_only_the_owner_sets_the_revenue_hook(asset, investors):
    es, _, _ = investors
    token = asset.chain.contract(ASSET_TOKEN_ARTIFACT, asset.addresses.token)
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        asset.chain.transact(token.functions.setRevenueHook(es.address), sender=asset.roles.agent)


def test_no_energy_no_deposit_and_periods_are_whole_days(asset):
    day = asset.chain.timestamp() // 86_400 * 86_400
    with pytest.raises(AssetError, match="no anchored energy"):
        asset.deposit_revenue(day - 86_400, day)
    with pytest.raises(AssetError, match="multiples of 86400"):
        asset.deposit_revenue(day - 10, day)


def test_oracle_period_energy_must_be_aligned(asset):
    with pytest.raises(errors.PeriodNotAligned):
        asset.chain.call(asset.oracle.oracle.functions.periodEnergyWh(asset.asset_id, 5, 86_400))


def test_deposit_must_match_the_oracles_metered_energy(asset, investors, tmp_path):
    from rwa_sdk.settlement.revenue import PeriodRevenue

    es, _, _ = investors
    asset.accept_subscriptions([asset.subscribe(es, 1_000)])
    start, signed = _produce(asset, days=1, devices=2)
    asset.relay(signed, tmp_path / "oracle.db")
    metered = asset.chain.call(asset.oracle.oracle.functions.periodEnergyWh(asset.asset_id, start, start + 86_400))
    inflated = PeriodRevenue(asset.asset_id, start, start + 86_400, metered + 1, b"\x00" * 32, 10 * UNIT)
    operator = asset.roles.operator
    asset.stablecoin.transfer(operator.address, 10 * UNIT, sender=asset.roles.treasury)
    asset.stablecoin.approve(asset.distributor.address, 10 * UNIT, sender=operator)
    with pytest.raises(errors.EnergyMismatch) as caught:
        asset.distributor.deposit(inflated, sender=operator)
    assert caught.value.args_dict == {"anchoredWh": metered, "claimedWh": metered + 1}
