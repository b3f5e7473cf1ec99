"""A small demo world for the portal: one solar asset with investors, devices, anchored days and deposits.

Built with the SDK the way ``rwa demo`` does, on its own Anvil (the portal reads it over RPC while
tests add anchors, so it must not share the session chain's snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from rwa_sdk.asset import Asset, InvestorProfile, NotEligible
from rwa_sdk.chain import Chain
from rwa_sdk.oracle.reading import Reading
from rwa_sdk.oracle.simulator import make_devices
from rwa_sdk.settlement.stablecoin import UNIT

DAY = 86_400
HOUR = 3_600


@dataclass
class World:
    chain: Chain
    asset: Asset
    records: Path
    oracle_db: Path
    start: int
    days: int
    people: dict[str, LocalAccount]
    refused: dict[str, tuple[str, ...]]
    pending_request: int
    devices: list = field(default_factory=list)
    held_back: list[list[tuple[Reading, bytes]]] = field(default_factory=list)  # days signed, not yet relayed


def build_world(chain: Chain, spec: Path, folder: Path, *, days: int = 22, held_back_days: int = 2,
                devices: int = 3, deposit_days: int = 7) -> World:
    """``days`` anchored days (one batch per device-day group) and ``held_back_days`` more signed for later."""
    records = folder / "records"
    asset = Asset.create(chain, spec, deployments_dir=records)
    treasury = asset.roles.treasury
    asset.stablecoin.configure_minter(treasury.address, 10**15, sender=asset.roles.owner)
    people = {name: Account.create() for name in ("Ana (ES)", "Bruno (ES)", "Claire (FR)", "Dan (US)")}
    for account in people.values():
        chain.send_value(account.address, 10**17)
        asset.stablecoin.mint(account.address, 100_000 * UNIT, sender=treasury)
    asset.onboard([
        InvestorProfile(people["Ana (ES)"].address, "ES", risk_tier=4),
        InvestorProfile(people["Bruno (ES)"].address, "ES", risk_tier=3),
        InvestorProfile(people["Claire (FR)"].address, "FR", risk_tier=2),
        InvestorProfile(people["Dan (US)"].address, "US", risk_tier=5, professional=True),
    ])
    refused, accepted = {}, []
    for name, amount in {"Ana (ES)": 60_000, "Bruno (ES)": 40_000, "Claire (FR)": 10_000, "Dan (US)": 25_000}.items():
        try:
            accepted.append(asset.subscribe(people[name], Decimal(amount)))
        except NotEligible as exc:
            refused[people[name].address] = exc.reasons
    asset.accept_subscriptions(accepted)
    pending = asset.subscribe(people["Bruno (ES)"], Decimal(5_000))  # left for the issuer to decide

    start = (chain.timestamp() // DAY + 1) * DAY
    group = asset.spec.devices[0]
    capacity_w = int(asset.spec.capacity_kw * 1000 / devices)
    sims = make_devices(devices, asset.asset_id, start=start, capacity_w=capacity_w, kinds=("pv-inverter",))
    asset.register_devices([s.signer for s in sims], capacity_w=capacity_w)
    assert group.count  # the spec's device group sets the type
    total = days + held_back_days
    chain.mine(start + total * DAY + 60 - chain.timestamp())
    per_day = []
    for _ in range(total):
        day = []
        for sim in sims:
            for _ in range(DAY // HOUR):
                reading = sim.next_reading(HOUR)
                day.append((reading, asset.oracle.domain.sign(reading, sim.signer.key)))
        per_day.append(day)
    oracle_db = folder / "oracle.db"
    for day in per_day[:days]:
        outcome = asset.relay(day, oracle_db)
        assert outcome.acknowledged == len(day), outcome.rejected
    for first in range(0, deposit_days * 2, deposit_days):
        asset.deposit_revenue(start + first * DAY, start + (first + deposit_days) * DAY)
    return World(chain, asset, records, oracle_db, start, days, people, refused, pending, sims, per_day[days:])
