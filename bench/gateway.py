"""Gateway throughput on loopback: OCPP chargers and SunSpec Modbus devices to acknowledged readings; OCMF gas.

Run by hand: PYTHONPATH=$PWD python bench/gateway.py [--chargers 1000] [--messages 5] [--modbus 200] [--seconds 10]

* OCPP: ``rwa gateway run`` (its own process) serves ``--chargers`` OCPP 2.0.1 charge points (the
  ``ocpp`` package's ChargePoint over websockets, one connection each, in this process), each
  sending ``--messages`` MeterValues; readings/s = readings acknowledged by ingest / wall time from
  the first message to the last acknowledgement.
* Modbus: a second gateway process polls ``--modbus`` SunSpec devices (pymodbus server, one unit
  id each) once a second for ``--seconds``; readings/s = acknowledged readings / polling time.
* The ingest API (HTTP + SQLite store) runs in a third process. RSS is the gateway's peak (VmHWM).
* Gas: ``eth_estimateGas`` of one OcmfVerifier.verify on Anvil with ``--hardfork osaka`` (P256VERIFY
  precompile) and with the default hardfork (OpenZeppelin's Solidity fallback).

Everything is bounded (counts, ``--timeout``) and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rwa_sdk.anvil import DEV_PRIVATE_KEYS, AnvilNode, free_port  # noqa: E402
from rwa_sdk.gateway.keys import create_keystore  # noqa: E402
from rwa_sdk.oracle.reading import DeviceSigner  # noqa: E402

ASSET = "0x" + "be" * 32
ORACLE = "0x" + "0b" * 20
PASSWORD = "bench"


def serve_ingest(db: str, port: int, addresses: list[bytes]) -> None:
    from rwa_sdk.oracle.http_server import IngestServer
    from rwa_sdk.oracle.ingest import DeviceInfo, Ingestor, StaticDirectory
    from rwa_sdk.oracle.reading import ReadingDomain
    from rwa_sdk.oracle.store import SqliteStore

    directory = StaticDirectory({a: DeviceInfo(bytes.fromhex(ASSET[2:]), 50_000, 1, 0) for a in addresses})
    ingestor = Ingestor(SqliteStore(db), directory, ReadingDomain(31337, ORACLE), max_clock_skew_s=3600)
    IngestServer(("127.0.0.1", port), ingestor).serve_forever()


def stored_readings(db: str) -> int:
    import sqlite3

    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0]


def keystores(folder: Path, n: int, prefix: str) -> list[DeviceSigner]:
    return [create_keystore(folder / f"{prefix}{i}.json", PASSWORD, kdf="pbkdf2", iterations=16) for i in range(n)]


def write_config(path: Path, ingest_url: str, ocpp_port: int, devices: list[str]) -> None:
    path.write_text(f"""[gateway]
ingest_url = "{ingest_url}"
chain_id = 31337
oracle = "{ORACLE}"
spool = "{path.stem}.db"

[ocpp]
host = "127.0.0.1"
port = {ocpp_port}
""" + "".join(devices))


def start_gateway(config: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RWA_DEVICE_PASSWORD": PASSWORD}
    return subprocess.Popen([sys.executable, "-m", "rwa_sdk.cli", "gateway", "run", "--config", str(config),
                             "--log-level", "ERROR"], env=env, stdin=subprocess.DEVNULL, cwd=ROOT)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def wait_count(db: str, target: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stored_readings(db) >= target:
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"ingest holds {stored_readings(db)} of {target} readings")


async def run_chargers(url: str, n: int, messages: int, t0: int) -> None:
    import websockets
    from ocpp.v201 import ChargePoint
    from ocpp.v201 import call

    sem = asyncio.Semaphore(200)  # connection handshakes in flight at once (all n stay connected)

    async def one(i: int) -> None:
        async with sem:
            ws = await websockets.connect(f"{url}/CP{i}", subprotocols=["ocpp2.0.1"], open_timeout=60,
                                          ping_interval=None)
        try:
            cp = ChargePoint(f"CP{i}", ws, response_timeout=120)
            listener = asyncio.create_task(cp.start())
            for k in range(messages):
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 60 * k))
                await cp.call(call.MeterValues(evse_id=1, meter_value=[{"timestamp": stamp, "sampled_value": [
                    {"value": 1000 + 100 * k, "measurand": "Energy.Active.Import.Register"}]}]))
            listener.cancel()
        finally:
            await ws.close()

    await asyncio.gather(*(one(i) for i in range(n)))


def bench_ocpp(work: Path, args, ingest_url: str, db: str, signers: list[DeviceSigner]) -> tuple[float, float]:
    port = free_port()
    devices = [f'\n[[devices]]\nname = "cp{i}"\nprotocol = "ocpp"\nocpp_id = "CP{i}"\nevse = 1\nasset = "{ASSET}"\n'
               f'capacity_w = 22000\nkeystore = "keys/cp{i}.json"\naddress = "{s.checksum}"\n'
               for i, s in enumerate(signers)]
    config = work / "ocpp.toml"
    write_config(config, ingest_url, port, devices)
    before = stored_readings(db)
    gateway = start_gateway(config)
    try:
        wait_port(port, args.timeout)
        started = time.monotonic()
        asyncio.run(asyncio.wait_for(run_chargers(f"ws://127.0.0.1:{port}", len(signers), args.messages,
                                                  int(time.time()) - 86_400), args.timeout))
        done = wait_count(db, before + len(signers) * (args.messages - 1), args.timeout)
        rss = peak_rss_mb(gateway.pid)
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(60)
    readings = len(signers) * (args.messages - 1)
    print(f"ocpp: {len(signers)} connections x {args.messages} MeterValues -> {readings} readings acknowledged "
          f"in {done - started:.2f} s; gateway peak RSS {rss:.0f} MB")
    return readings / (done - started), rss


def bench_modbus(work: Path, args, ingest_url: str, db: str, signers: list[DeviceSigner]) -> tuple[float, float]:
    from rwa_sdk.gateway.sunspec_sim import SimUnit, SunSpecSimulator

    sims = []
    per_server = 50
    for first in range(0, len(signers), per_server):
        units = [SimUnit(u + 1, 103, power_w=10_000, sf=0) for u in range(min(per_server, len(signers) - first))]
        sims.append(SunSpecSimulator(units).start())
    devices = [f'\n[[devices]]\nname = "inv{i}"\nprotocol = "modbus"\ntype = "pv-inverter"\nhost = "127.0.0.1"\n'
               f'port = {sims[i // per_server].port}\nunit = {i % per_server + 1}\npoll_s = 1\nasset = "{ASSET}"\n'
               f'capacity_w = 50000\nkeystore = "keys/inv{i}.json"\naddress = "{s.checksum}"\n'
               for i, s in enumerate(signers)]
    config = work / "modbus.toml"
    write_config(config, ingest_url, free_port(), devices)
    gateway = start_gateway(config)
    try:
        deadline = time.monotonic() + args.timeout
        first = stored_readings(db)
        while stored_readings(db) < first + 2 * len(signers) and time.monotonic() < deadline:  # all pollers running
            time.sleep(0.1)
        start_count, started = stored_readings(db), time.monotonic()
        time.sleep(args.seconds)
        end_count, ended = stored_readings(db), time.monotonic()
        rss = peak_rss_mb(gateway.pid)
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(60)
        for sim in sims:
            sim.stop()
    rate = (end_count - start_count) / (ended - started)
    print(f"modbus: {len(signers)} SunSpec devices polled every 1 s: {end_count - start_count} readings acknowledged "
          f"in {ended - started:.1f} s; gateway peak RSS {rss:.0f} MB")
    return rate, rss


def bench_gas() -> tuple[int, int]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from eth_account import Account

    from rwa_sdk.chain import connect
    from rwa_sdk.compiler import compile_project
    from rwa_sdk.gateway import ocmf
    from rwa_sdk.gateway.onchain import deploy_ocmf_verifier, precompile_present, verify_call
    from rwa_sdk.oracle.contracts import deploy_oracle

    compile_project(ROOT)
    key = ec.generate_private_key(ec.SECP256R1())
    record = ocmf.sign_payload(ocmf.transaction_payload(gateway_id="CP", meter_serial="M", pagination=1, readings=[
        (1_700_000_000, 1_000, "B"), (1_700_003_600, 12_000, "E")]), key)
    gas = {}
    for hardfork in ("osaka", "cancun"):
        with AnvilNode(hardfork=hardfork) as node:
            chain = connect(node.url)
            chain.accounts[:] = [Account.from_key(DEV_PRIVATE_KEYS[0])]
            contracts = deploy_oracle(chain)
            verifier = deploy_ocmf_verifier(chain, contracts.registry.address)
            call = verify_call(verifier, record, ocmf.spki_hex(key.public_key()))
            assert call.call() is True
            gas[hardfork] = call.estimate_gas()
            print(f"gas: OcmfVerifier.verify on --hardfork {hardfork} (P256VERIFY {'present' if precompile_present(chain) else 'absent'}): "
                  f"{gas[hardfork]:,} (transaction gas, 21,000 base included)")
    return gas["osaka"], gas["cancun"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=5, help="MeterValues per charger (the first is a baseline)")
    parser.add_argument("--modbus", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="Modbus polling time measured")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    resource_limit = 4096
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, resource_limit), hard), hard))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        chargers = keystores(work / "keys", args.chargers, "cp")
        inverters = keystores(work / "keys", args.modbus, "inv")
        db = str(work / "ingest.db")
        port = free_port()
        ingest = multiprocessing.get_context("fork").Process(
            target=serve_ingest, args=(db, port, [s.address for s in chargers + inverters]), daemon=True)
        ingest.start()
        try:
            wait_port(port, 60)
            url = f"http://127.0.0.1:{port}"
            ocpp_rate, ocpp_rss = bench_ocpp(work, args, url, db, chargers)
            modbus_rate, modbus_rss = bench_modbus(work, args, url, db, inverters)
        finally:
            ingest.terminate()
            ingest.join(10)
    gas_precompile, gas_solidity = bench_gas()
    print(f"ocpp_readings_per_s={ocpp_rate:.0f} modbus_readings_per_s={modbus_rate:.0f} "
          f"ocmf_verify_gas_precompile={gas_precompile} ocmf_verify_gas_solidity={gas_solidity} "
          f"gateway_rss_mb_ocpp={ocpp_rss:.0f} gateway_rss_mb_modbus={modbus_rss:.0f}")


if __name__ == "__main__":
    main()
