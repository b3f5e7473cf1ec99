"""One asset from plant to payout on a private Anvil (`rwa demo`, `make demo`, `python scripts/demo.py`).

1. Tokenize a 5 MW solar plant from examples/solar-5mw.toml (ERC-3643 suite, oracle, vault, distributor).
2. Onboard investors from three jurisdictions; a US investor (blocked country) and a French one below
   the token's risk tier are refused, with the rule in words, before any money moves.
3. Eligible investors subscribe in stablecoin with an EIP-2612 permit; the issuer accepts the batch.
4. 50 inverters sign three days of 15-minute readings; the relayer verifies and anchors them in
   Merkle batches; one reading is proven on chain.
5. The period's revenue (metered energy x tariff) is deposited and holders claim pro rata.
"""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal
from pathlib import Path

from eth_account import Account

from . import toolchain
from .asset import Asset, InvestorProfile, NotEligible
from .chain import connect
from .compiler import compile_project
from .oracle.proof import reading_proof
from .oracle.simulator import make_devices
from .oracle.store import SqliteStore
from .settlement.stablecoin import UNIT

DAY = 86_400
DAYS = 3
READING_PERIOD_S = 15 * 60


def usd(units: int) -> str:
    return f"{units / UNIT:,.2f} USDC"


def step(text: str) -> None:
    print(f"\n== {text}")


def main(spec_path: Path | None = None) -> dict:
    """Run the whole story and return the closing report's figures."""
    started = time.perf_counter()
    root = toolchain.project_root()
    spec_path = spec_path or root / "examples" / "solar-5mw.toml"
    result = compile_project(root, on_progress=lambda message: print(f"{message}…", flush=True))
    print(f"compiled {len(result.artifacts)} contracts ({'cached' if result.cached else f'{result.seconds:.1f} s'})")
    with connect("anvil") as chain, tempfile.TemporaryDirectory() as work:
        work = Path(work)
        print(f"anvil at {chain.node.url}, chain id {chain.chain_id}")
        first_block = chain.w3.eth.block_number + 1

        step("1. Tokenize the plant")
        asset = Asset.create(chain, spec_path, deployments_dir=work)
        spec = asset.spec
        print(f"{spec.name} ({spec.symbol}): {spec.capacity_kw / 1000:.0f} MW {spec.kind}, risk level {spec.risk_level}")
        for label, address in (("token", asset.addresses.token), ("stablecoin", asset.addresses.stablecoin),
                               ("oracle", asset.addresses.reading_oracle), ("vault", asset.addresses.vault),
                               ("distributor", asset.addresses.distributor)):
            print(f"  {label:<12}{address}")

        step("2. Onboard investors")
        treasury = asset.roles.treasury
        asset.stablecoin.configure_minter(treasury.address, 10**15, sender=asset.roles.owner)
        people = {name: Account.create() for name in ("Ana (ES)", "Bruno (ES)", "Claire (FR)", "Dan (US)")}
        for account in people.values():
            chain.send_value(account.address, 10**17)  # gas money
            asset.stablecoin.mint(account.address, 100_000 * UNIT, sender=treasury)
        asset.onboard([
            InvestorProfile(people["Ana (ES)"].address, "ES", risk_tier=4),
            InvestorProfile(people["Bruno (ES)"].address, "ES", risk_tier=3),
            InvestorProfile(people["Claire (FR)"].address, "FR", risk_tier=2),
            InvestorProfile(people["Dan (US)"].address, "US", risk_tier=5, professional=True),
        ])
        print(f"{len(people)} identities created, KYC/country/risk claims signed, wallets registered")

        step("3. Subscribe with stablecoin (permit: no approve transaction)")
        tickets = {"Ana (ES)": 60_000, "Bruno (ES)": 40_000, "Claire (FR)": 10_000, "Dan (US)": 25_000}
        requests = []
        for name, amount in tickets.items():
            try:
                requests.append(asset.subscribe(people[name], Decimal(amount)))
                print(f"  {name:<12} requested {amount:,} USD")
            except NotEligible as refused:
                print(f"  {name:<12} refused: {'; '.join(refused.reasons)}")
        asset.accept_subscriptions(requests)
        holders = asset.cap_table()
        print(f"issuer accepted {len(requests)} requests: {sum(h.balance for h in holders):,} {spec.symbol} minted "
              f"to {len(holders)} holders; treasury holds {usd(asset.stablecoin.balance_of(treasury.address))}")

        step(f"4. {DAYS} days of metered production from 50 inverters")
        day0 = (chain.timestamp() // DAY + 1) * DAY
        group = spec.devices[0]
        devices = make_devices(group.count, asset.asset_id, start=day0, capacity_w=int(group.capacity_kw * 1000),
                               kinds=("pv-inverter",))
        asset.register_devices([d.signer for d in devices])
        chain.mine(day0 + DAYS * DAY + 60 - chain.timestamp())
        signed = []
        for device in devices:
            while device.next_start < day0 + DAYS * DAY:
                reading = device.next_reading(READING_PERIOD_S)
                signed.append((reading, asset.oracle.domain.sign(reading, device.signer.key)))
        db = work / "oracle.db"
        relay_started = time.perf_counter()
        outcome = asset.relay(signed, db)
        print(f"{len(signed):,} signed readings verified and stored, {outcome.acknowledged:,} acknowledged; "
              f"{outcome.batches} Merkle batches anchored in {time.perf_counter() - relay_started:.1f} s")
        for day, energy in asset.energy_by_day().items():
            print(f"  {day}: {energy / 1e6:,.2f} MWh")
        kept = save_readings(root / ".rwa" / "demo-readings.csv", [reading for reading, _ in signed])
        print(f"readings kept in {kept.relative_to(root)} (periodStart, periodEnd, energyWh, device) for the twin")
        sample_device, sample_seq = devices[7].signer.address, 40
        store = SqliteStore(db)
        proof = reading_proof(store, asset.oracle.oracle, sample_device, sample_seq)
        store.close()
        verified = chain.call(asset.oracle.oracle.functions.verifyReading(
            proof.reading.as_tuple(), proof.signature, proof.proof, proof.batch_index))
        print(f"proof on chain: reading #{sample_seq} of inverter {proof.reading.device_address[:10]}… "
              f"({proof.reading.energy_wh:,} Wh) is in batch {proof.batch_index} of {proof.batch_count} "
              f"({len(proof.proof)} hashes): verifyReading = {verified}")

        step("5. Revenue from metered energy, paid pro rata")
        revenue = asset.deposit_revenue(day0, day0 + DAYS * DAY)
        print(f"{revenue.energy_wh / 1e6:,.2f} MWh x {spec.revenue.tariff_usd_per_kwh} USD/kWh = {usd(revenue.amount)} "
              f"deposited (evidence 0x{revenue.evidence.hex()[:12]}…)")
        paid = 0
        for holder in asset.cap_table():
            name = next(n for n, a in people.items() if a.address == holder.wallet)
            before = asset.stablecoin.balance_of(holder.wallet)
            asset.distributor.claim(sender=people[name])
            received = asset.stablecoin.balance_of(holder.wallet) - before
            paid += received
            print(f"  {name:<12} holds {holder.balance:>7,} {spec.symbol}, claimed {usd(received)}")

        step("Report")
        gas = sum(chain.w3.eth.get_block(n)["gasUsed"] for n in range(first_block, chain.w3.eth.block_number + 1))
        report = {
            "supply": sum(h.balance for h in asset.cap_table()),
            "holders": len(asset.cap_table()),
            "energy_mwh": round(revenue.energy_wh / 1e6, 3),
            "revenue_usd": revenue.amount / UNIT,
            "paid_usd": paid / UNIT,
            "batches": outcome.batches,
            "readings": outcome.acknowledged,
            "gas_used": gas,
        }
        for key, value in report.items():
            print(f"  {key:<12}{value:,}" if isinstance(value, int) else f"  {key:<12}{value}")
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
    print("next: `rwa node &` and the README's shell session; the digital twin on nine months of simulated "
          "readings: `PYTHONPATH=$PWD .venv/bin/python examples/twin_readings.py .rwa/twin-readings.csv` then "
          "`.venv/bin/rwa twin report --spec examples/site_pv.toml --readings .rwa/twin-readings.csv "
          "--out .rwa/twin-report`")
    return report


def save_readings(path: Path, readings: list) -> Path:
    """The demo's readings as the twin reads them (a CSV like the oracle's export), in the project's .rwa/."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["periodStart", "periodEnd", "energyWh", "device"])
        for r in readings:
            writer.writerow([r.period_start, r.period_end, r.energy_wh, r.device_address])
    return path

