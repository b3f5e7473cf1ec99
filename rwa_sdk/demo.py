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



# -- the charging site scenario (`rwa gateway demo`) ----------------------------------------------

CHARGING_ASSET = bytes.fromhex("c4" * 32)


def charging_main() -> dict:
    """A charger with a certified meter, through the edge gateway, to the chain.

    1. A private Anvil with the P256VERIFY precompile (``--hardfork osaka``); registry, oracle, OcmfVerifier.
    2. The charger's EVSE is registered with its own key and its meter's P-256 key; `rwa oracle run`'s
       daemon (ingest + relayer) and `rwa gateway` start.
    3. A charger (the ``ocpp`` package's ChargePoint, OCPP 2.0.1 over a WebSocket) runs a session whose
       meter values the meter signs in OCMF; one tampered record is refused with its reason.
    4. The readings are anchored; one is proven on chain, and the meter's own signature of the kept
       OCMF record is verified on chain against the registered key.
    """
    import asyncio
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric import ec
    from ocpp.v201 import ChargePoint
    from ocpp.v201 import call as ocpp_call

    from .anvil import DEV_PRIVATE_KEYS, AnvilNode, free_port
    from .gateway import ocmf
    from .gateway.config import append_device, load_config, write_new_config
    from .gateway.keys import create_keystore
    from .gateway.onchain import deploy_ocmf_verifier, precompile_present, set_meter_key, verify_for_device_call
    from .gateway.service import Gateway, GatewayThread
    from .oracle.contracts import deploy_oracle, grant_relayer, register_device
    from .oracle.daemon import DaemonConfig, OracleDaemon
    from .oracle.relayer import RelayerConfig

    started = time.perf_counter()
    root = toolchain.project_root()
    compile_project(root)
    password = "demo only"
    with AnvilNode(hardfork="osaka") as node, tempfile.TemporaryDirectory() as work:
        work = Path(work)
        chain = connect(node.url)
        chain.accounts[:] = [Account.from_key(k) for k in DEV_PRIVATE_KEYS]
        admin, operator, relayer = chain.accounts[0], chain.accounts[3], chain.accounts[4]
        step("1. Chain with P256VERIFY, oracle contracts")
        contracts = deploy_oracle(chain, admin)
        grant_relayer(chain, contracts, relayer.address, admin)
        chain.transact(contracts.registry.functions.setAssetOperator(CHARGING_ASSET, operator.address), sender=admin)
        verifier = deploy_ocmf_verifier(chain, contracts.registry.address, sender=admin)
        print(f"anvil --hardfork osaka at {node.url}: P256VERIFY precompile {'present' if precompile_present(chain) else 'absent'}")
        print(f"  registry {contracts.registry.address}\n  oracle   {contracts.oracle.address}\n  verifier {verifier.address}")

        step("2. Register the EVSE and its certified meter; start the oracle daemon and the gateway")
        meter = ec.generate_private_key(ec.SECP256R1())
        meter_pub = ocmf.spki_hex(meter.public_key())
        signer = create_keystore(work / "devices" / "evse1.json", password, kdf="pbkdf2", iterations=1_000)
        register_device(chain, contracts, signer, CHARGING_ASSET, "charger", 22_000, operator=operator)
        set_meter_key(chain, contracts.registry, signer.checksum, meter_pub, operator=operator)
        print(f"EVSE key {signer.checksum}, meter key P-256 {meter_pub[-16:]}… registered")
        daemon = OracleDaemon(DaemonConfig(node.url, contracts.oracle.address, str(work / "oracle.db"), port=0,
                                           relayer=RelayerConfig(max_batch_size=50, max_batch_age_s=0.5,
                                                                 poll_interval_s=0.1)),
                              connect(node.url, private_key=DEV_PRIVATE_KEYS[4])).start()
        config_path = work / "gateway.toml"
        write_new_config(config_path, ingest_url=daemon.url, chain_id=chain.chain_id, oracle=contracts.oracle.address,
                         ocpp_port=free_port())
        append_device(config_path, {"name": "evse1", "protocol": "ocpp", "type": "charger", "ocpp_id": "DEMO-CP1",
                                    "evse": 1, "asset": "0x" + CHARGING_ASSET.hex(), "capacity_w": 22_000,
                                    "keystore": "devices/evse1.json", "address": signer.checksum,
                                    "meter_key": meter_pub})
        import os

        os.environ.setdefault("RWA_DEVICE_PASSWORD", password)
        gateway = GatewayThread(Gateway(load_config(config_path))).start()
        print(f"daemon ingest at {daemon.url}; gateway OCPP at {gateway.ocpp_url}/DEMO-CP1")
        try:
            step("3. A charging session, meter values signed by the meter (OCMF)")
            t0 = chain.timestamp() + 1
            session = [(t0 + 60 * i, 2_000_000 + 180 * i, "B" if i == 0 else "E" if i == 4 else "C") for i in range(5)]

            def signed(t: int, wh: int, tx: str, page: int, tamper: bool = False) -> dict:
                record = ocmf.sign_payload(ocmf.transaction_payload(
                    gateway_id="DEMO-CP1", meter_serial="EM-1", pagination=page, readings=[(t, wh, tx)]), meter)
                if tamper:  # one more kWh than the meter measured
                    record = record.replace(f'"RV":{wh / 1000}', f'"RV":{(wh + 1000) / 1000}')
                return {"signed_meter_data": base64.b64encode(record.encode()).decode(),
                        "signing_method": ocmf.P256_ALGORITHM, "encoding_method": "OCMF", "public_key": meter_pub}

            def value(t: int, wh: int, signature: dict) -> dict:
                return {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), "sampled_value": [
                    {"value": wh, "measurand": "Energy.Active.Import.Register", "signed_meter_value": signature}]}

            async def charger() -> None:
                import websockets

                async with websockets.connect(f"{gateway.ocpp_url}/DEMO-CP1", subprotocols=["ocpp2.0.1"]) as ws:
                    cp = ChargePoint("DEMO-CP1", ws)
                    listener = asyncio.create_task(cp.start())
                    await cp.call(ocpp_call.BootNotification(charging_station={"model": "Demo", "vendor_name": "rwa"},
                                                             reason="PowerUp"))
                    for i, (t, wh, tx) in enumerate(session):
                        values = [value(t, wh, signed(t, wh, tx, i))]
                        if i == 2:  # a tampered copy arrives first: refused, then the genuine record
                            await cp.call(ocpp_call.MeterValues(evse_id=1, meter_value=[value(t, wh, signed(t, wh, tx, i, True))]))
                        event = "Started" if i == 0 else "Ended" if i == 4 else "Updated"
                        await cp.call(ocpp_call.TransactionEvent(
                            event_type=event, timestamp=values[0]["timestamp"], trigger_reason="MeterValuePeriodic",
                            seq_no=i, transaction_info={"transaction_id": "demo-tx"}, meter_value=values,
                            **({"evse": {"id": 1, "connector_id": 1}} if i == 0 else {})))
                    listener.cancel()

            asyncio.run(charger())
            deadline = time.monotonic() + 60
            while gateway.gateway.spool.counts()["pending"] and time.monotonic() < deadline:
                time.sleep(0.1)
            records = gateway.gateway.spool.ocmf_records()
            for r in records:
                print(f"  OCMF {r['verdict']:<8} {r['reason'] or r['algorithm']:<24} reading seq {r['readingSeq']}")
            billable = gateway.gateway.transaction_billable_wh("evse1", "demo-tx")
            print(f"billable energy of the transaction (meter's begin/end readings): {billable} Wh")

            step("4. Anchored, proven, and the meter's signature checked on chain")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                counts = daemon.store.counts()
                if counts.get("readings_pending", 1) == 0 and counts.get("readings_batched", 1) == 0:
                    break
                time.sleep(0.2)
            from .oracle.daemon import proof as reading_proof_of

            p = reading_proof_of(daemon.config.db_path, signer.checksum, 2, node.url)
            verified = chain.call(contracts.oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof,
                                                                           p.batch_index))
            print(f"reading #2 ({p.reading.energy_wh} Wh) in batch {p.batch_index}: verifyReading = {verified}")
            kept = next(r for r in records if r["verdict"] == "verified" and r["readingSeq"] == 2)
            fn = verify_for_device_call(verifier, signer.checksum, kept["record"])
            meter_ok = chain.call(fn)
            gas = fn.estimate_gas()
            tampered = next(r for r in records if r["verdict"] == "refused")
            tampered_ok = chain.call(verify_for_device_call(verifier, signer.checksum, tampered["record"]))
            print(f"OcmfVerifier.verifyForDevice(kept record) = {meter_ok} ({gas:,} gas with the precompile); "
                  f"tampered record = {tampered_ok}")
            report = {"readings": gateway.gateway.spool.counts()["sent"], "ocmf_verified": sum(r["verdict"] == "verified" for r in records),
                      "ocmf_refused": sum(r["verdict"] == "refused" for r in records), "billable_wh": billable,
                      "proof_verified": bool(verified), "meter_signature_onchain": bool(meter_ok),
                      "ocmf_verify_gas": gas}
        finally:
            gateway.stop()
            gateway.gateway.close()
            daemon.stop(grace_s=5)
    step("Report")
    print(json.dumps(report, indent=2))
    print(f"\ncharging demo finished in {time.perf_counter() - started:.1f} s")
    return report
