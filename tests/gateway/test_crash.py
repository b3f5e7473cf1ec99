"""``rwa gateway run`` killed with SIGKILL while a charger and an inverter stream, and ingest down for a while:
after the restart every reading the devices produced is at ingest exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import websockets
from ocpp.v201 import call as call201

from rwa_sdk.anvil import free_port
from rwa_sdk.gateway.keys import create_keystore
from rwa_sdk.gateway.sunspec_sim import SimUnit, SunSpecSimulator

from .chargers import Charger201, energy_value_201
from .conftest import ASSET, CHAIN_ID, ORACLE, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
SAMPLES = 80


def _start_gateway(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RWA_DEVICE_PASSWORD": PASSWORD}
    return subprocess.Popen([sys.executable, "-m", "rwa_sdk.cli", "gateway", "run", "--config", str(config),
                             "--log-level", "WARNING"], env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=ROOT)


class StreamingCharger:
    """Sends MeterValues one sample at a time and, like a real charger, resends a sample until it is answered."""

    def __init__(self, url: str, t0: int):
        self.url, self.t0 = url, t0
        self.answered = 0
        self.reconnects = 0
        self.done = threading.Event()

    def sample(self, i: int) -> tuple[int, int]:
        return self.t0 + i, 400_000 + 5 * i

    async def _run(self) -> None:
        i = 0
        while i < SAMPLES:
            try:
                async with websockets.connect(f"{self.url}/CP-CRASH", subprotocols=["ocpp2.0.1"], open_timeout=2) as ws:
                    cp = Charger201("CP-CRASH", ws, response_timeout=3)
                    listener = asyncio.create_task(cp.start())
                    try:
                        while i < SAMPLES:
                            await cp.call(call201.MeterValues(evse_id=1, meter_value=[energy_value_201(*self.sample(i))]))
                            i += 1
                            self.answered = i
                            await asyncio.sleep(0.04)
                    finally:
                        listener.cancel()
            except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
                self.reconnects += 1
                await asyncio.sleep(0.2)
        self.done.set()

    def start(self) -> StreamingCharger:
        threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True).start()
        return self


@pytest.mark.slow
def test_kill_9_during_streaming_loses_nothing_and_stores_nothing_twice(tmp_path, ingest):
    charger_key = create_keystore(tmp_path / "devices/charger.json", PASSWORD, kdf="pbkdf2", iterations=1_000)
    inverter_key = create_keystore(tmp_path / "devices/inverter.json", PASSWORD, kdf="pbkdf2", iterations=1_000)
    ingest.register(charger_key)
    ingest.register(inverter_key, capacity_w=40_000)
    sim = SunSpecSimulator([SimUnit(1, 103, power_w=36_000, sf=0)]).start()
    ocpp_port = free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(f"""
[gateway]
ingest_url = "{ingest.url}"
chain_id = {CHAIN_ID}
oracle = "{ORACLE}"
spool = "spool.db"

[ocpp]
host = "127.0.0.1"
port = {ocpp_port}

[[devices]]
name = "charger"
protocol = "ocpp"
ocpp_id = "CP-CRASH"
evse = 1
asset = "0x{ASSET.hex()}"
capacity_w = 22000
keystore = "devices/charger.json"

[[devices]]
name = "inverter"
protocol = "modbus"
type = "pv-inverter"
host = "127.0.0.1"
port = {sim.port}
unit = 1
poll_s = 1
asset = "0x{ASSET.hex()}"
capacity_w = 40000
keystore = "devices/inverter.json"
""")
    log = tmp_path / "gateway.log"
    gateway = _start_gateway(config, log)
    charger = StreamingCharger(f"ws://127.0.0.1:{ocpp_port}", int(time.time()) - 3600)
    try:
        wait_until(lambda: _port_open(ocpp_port), 60, what="gateway listening")
        charger.start()
        wait_until(lambda: charger.answered >= 15, 30, what="streaming")
        ingest.stop()  # ingest down: readings wait in the spool
        wait_until(lambda: charger.answered >= 30, 30, what="streaming while ingest is down")
        gateway.send_signal(signal.SIGKILL)  # no clean shutdown: whatever was in flight is cut
        gateway.wait(10)
        killed_at = charger.answered
        ingest.start()
        time.sleep(0.5)
        gateway = _start_gateway(config, log)
        wait_until(charger.done.is_set, 60, what="charger finished")
        wait_until(lambda: len(ingest.readings(charger_key)) == SAMPLES - 1, 30, what="charger readings at ingest")
        wait_until(lambda: len(ingest.readings(inverter_key)) >= 3, 30, what="inverter readings at ingest")
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(20)
        sim.stop()
    assert killed_at < SAMPLES and charger.reconnects >= 1
    readings = [s.reading for s in ingest.readings(charger_key)]
    assert [r.seq for r in readings] == list(range(1, SAMPLES))
    for i, r in enumerate(readings, start=1):  # each sample's period exactly once, nothing missing
        (t0, wh0), (t1, wh1) = charger.sample(i - 1), charger.sample(i)
        assert (r.period_start, r.period_end, r.energy_wh, r.meter_wh) == (t0, t1, wh1 - wh0, wh1)
    inverter = [s.reading for s in ingest.readings(inverter_key)]
    for a, b in zip(inverter, inverter[1:]):
        assert b.seq == a.seq + 1 and b.period_start == a.period_end and b.energy_wh == b.meter_wh - a.meter_wh
    text = log.read_text()
    assert "Traceback" not in text and "refused a reading" not in text, text


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
