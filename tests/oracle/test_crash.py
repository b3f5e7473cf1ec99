"""Kill the daemon with SIGKILL at random moments while devices stream; nothing is lost or counted twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rwa_sdk.anvil import free_port
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.simulator import Simulator
from rwa_sdk.oracle.store import BatchStatus, SqliteStore

from .daemon_world import RELAYER_KEY, http_json, make_world, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(compiled):
    w = make_world()
    yield w
    w.chain.close()


class DaemonProcess:
    """``python -m rwa_sdk.oracle run`` as a child process that can be killed and restarted."""

    def __init__(self, world, db: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.cmd = [
            sys.executable, "-m", "rwa_sdk.oracle", "run", "--rpc", world.url,
            "--oracle", world.contracts.oracle.address, "--db", str(db), "--port", str(self.port),
            "--batch-size", "12", "--batch-age", "0.3", "--batches-per-tx", "2", "--poll", "0.05",
            "--stuck-after", "2", "--grace", "20", "--log-level", "INFO",
        ]
        self.env = {**os.environ, "RWA_PRIVATE_KEY": RELAYER_KEY, "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, env=self.env, cwd=ROOT)
        wait_until(lambda: http_json("GET", self.url + "/healthz", timeout=2)[0] == 200, 30, what="daemon up")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_anchors_each_reading_once(world, tmp_path):
    db = tmp_path / "oracle.db"
    daemon = DaemonProcess(world, db, tmp_path / "daemon.log")
    devices = world.fresh_devices(10, seed=21)
    # blocks every second from now on, so kills often land while an anchor transaction is pending
    world.chain.rpc("evm_setAutomine", False)
    world.chain.rpc("evm_setIntervalMining", 1)
    start_block = world.chain.w3.eth.block_number
    daemon.start()
    sim = Simulator(daemon.url, world.contracts.domain, devices, rate=10, chunk=7)
    stop = threading.Event()
    streaming = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    streaming.start()
    rng = random.Random(os.environ.get("CRASH_SEED", "7"))
    kills = 0
    try:
        for _ in range(5):
            time.sleep(rng.uniform(0.2, 1.6))
            daemon.kill()
            kills += 1
            time.sleep(rng.uniform(0.0, 0.5))
            daemon.start()
        time.sleep(2.0)  # stream a little with the daemon up
        stop.set()
        streaming.join(60)
        assert not streaming.is_alive()
        assert sim.resend_unacked(lambda: False)  # whatever was in flight at the end gets its answer
        wait_until(lambda: (lambda h: h[0] == 200 and h[1]["readings_pending"] == 0 and h[1]["readings_batched"] == 0)(
            http_json("GET", daemon.url + "/healthz")), 60, what="everything anchored")
        code = daemon.terminate()  # graceful SIGTERM
        assert code == 0, f"daemon exited with {code}; see {daemon.log}"
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()

    stats = sim.stats
    assert kills == 5 and stats.rejected == 0 and len(stats.acked) >= 20, (stats.rejected, stats.reasons, len(stats.acked))
    store = SqliteStore(db)
    try:
        # every acknowledged reading is stored, with the content acknowledged, in an anchored batch
        for (device, seq), digest in stats.acked.items():
            stored = store.find_reading(device, seq)
            assert stored is not None and world.contracts.domain.digest(stored.reading) == digest
            assert store.batch(stored.batch).status is BatchStatus.ANCHORED
        assert store.counts()["readings_anchored"] == len(stats.acked)
        batches = {(b.root, b.batch_index): b for b in store.batches(BatchStatus.ANCHORED)}
    finally:
        store.close()
    # the chain saw exactly these batches, once each, and their counts add up to the acknowledged readings
    events = [e for e in world.contracts.oracle.events.BatchAnchored().get_logs(from_block=start_block + 1)]
    on_chain = [(bytes(e["args"]["merkleRoot"]), e["args"]["batchIndex"]) for e in events]
    assert len(on_chain) == len(set(on_chain))
    assert set(on_chain) == set(batches), (len(set(on_chain) - set(batches)), len(set(batches) - set(on_chain)))
    assert sum(e["args"]["count"] for e in events) == len(stats.acked)
    store = SqliteStore(db)
    try:
        for e in events:
            b = batches[(bytes(e["args"]["merkleRoot"]), e["args"]["batchIndex"])]
            digests = [world.contracts.domain.digest(r.reading) for r in store.batch_readings(b.id)]
            assert MerkleTree.from_digests(digests).root == bytes(e["args"]["merkleRoot"]) == b.root
    finally:
        store.close()
    # `proof` from the command line gives arguments that verifyReading accepts
    device, seq = next(iter(stats.acked))
    out = subprocess.run(
        [sys.executable, "-m", "rwa_sdk.oracle", "proof", "0x" + device.hex(), str(seq), "--db", str(db),
         "--rpc", world.url],
        capture_output=True, text=True, env=daemon.env, cwd=ROOT, check=True,
    ).stdout
    printed = json.loads(out)
    r = printed["reading"]
    as_tuple = (r["device"], bytes.fromhex(r["assetId"][2:]), r["seq"], r["periodStart"], r["periodEnd"],
                r["energyWh"], r["meterWh"], r["flags"])
    assert printed["batchCount"] == world.contracts.oracle.functions.batchCount(as_tuple[1]).call()
    assert world.contracts.oracle.functions.verifyReading(
        as_tuple, bytes.fromhex(printed["signature"][2:]), [bytes.fromhex(p[2:]) for p in printed["proof"]],
        printed["batchIndex"],
    ).call()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc")
def test_the_relayer_process_dies_with_a_killed_daemon_and_a_restart_anchors(world, tmp_path):
    """The relayer runs as the daemon's child: a SIGKILLed daemon must not leave it holding the lead."""
    daemon = DaemonProcess(world, tmp_path / "oracle.db", tmp_path / "daemon.log")
    daemon.start()
    try:
        relayers = wait_until(lambda: _children(daemon.proc.pid), 30, what="the relayer process")
        daemon.kill()
        wait_until(lambda: not any(_alive(p) for p in relayers), 10, what="the relayer ending with its daemon")
        daemon.start()  # a new daemon's relayer takes the lead and anchors
        devices = world.fresh_devices(2, seed=23)
        sim = Simulator(daemon.url, world.contracts.domain, devices, rate=4)
        stats = sim.run(threading.Event(), duration_s=3.0)
        assert sim.resend_unacked() and stats.accepted > 0 and stats.rejected == 0
        wait_until(lambda: (lambda h: h[0] == 200 and h[1]["readings_anchored"] >= stats.accepted
                            and h[1]["relayer"]["leading"])(http_json("GET", daemon.url + "/healthz")), 60,
                   what="the restarted daemon anchoring")
        assert daemon.terminate() == 0
        assert not any(_alive(p) for p in _children(daemon.proc.pid))
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()
