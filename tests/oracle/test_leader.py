"""One relayer leads per store; kill it mid-batch and the standby finishes, anchoring each batch once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rwa_sdk.oracle.ingest import Ingestor, RegistryDirectory, reading_item
from rwa_sdk.oracle.leader import leadership_for
from rwa_sdk.oracle.reading import Reading
from rwa_sdk.oracle.store import BatchStatus, open_store

from .daemon_world import ASSET, RELAYER_KEY, make_world, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_one_relayer_leads_at_a_time_and_the_lead_passes_when_it_lets_go(store_location):
    first, second = leadership_for(store_location), leadership_for(store_location)
    assert first.try_acquire() and first.held()
    assert not second.try_acquire() and not second.held()
    first.release()  # what a dying process does: its lock file closes, its PostgreSQL session ends
    assert wait_until(lambda: second.try_acquire(), 10, what="standby takes the lead")
    assert not first.try_acquire()
    second.release()


@pytest.fixture(scope="module")
def world(compiled):
    w = make_world()
    yield w
    w.chain.close()


def _relay_process(world, db: str, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rwa_sdk.oracle", "relay", "--rpc", world.url, "--oracle",
           world.contracts.oracle.address, "--db", db, "--batch-size", "5", "--batch-age", "0.2",
           "--batches-per-tx", "2", "--poll", "0.05", "--stuck-after", "3"]
    env = {**os.environ, "RWA_PRIVATE_KEY": RELAYER_KEY, "PYTHONPATH": str(ROOT)}
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=out, env=env, cwd=ROOT)


def _fill(world, store, devices, seqs) -> int:
    ingestor = Ingestor(store, RegistryDirectory(world.contracts.registry, ttl_s=600), world.contracts.domain)
    items = []
    energy = 0
    for dev in devices:
        for seq in seqs:
            start = dev.next_start + 5 * (seq - 1)
            r = Reading(dev.signer.address, ASSET, seq, start, start + 5, 3 + seq, seq, 0)
            items.append(reading_item(r, world.contracts.domain.sign(r, dev.signer.key)))
            energy += r.energy_wh
    assert all(res.acknowledged for res in ingestor.submit(items))
    return energy


@pytest.mark.slow
def test_kill_the_leading_relayer_mid_batch_and_the_standby_finishes_each_batch_once(world, postgres_server, tmp_path):
    name = "leader" + str(os.getpid())
    postgres_server.psql(f"CREATE DATABASE {name};")
    db = postgres_server.get_uri(name)
    store = open_store(db)
    devices = world.fresh_devices(6, seed=44)
    chain = world.chain
    start_block = chain.w3.eth.block_number
    chain.rpc("evm_setAutomine", False)
    chain.rpc("evm_setIntervalMining", 1)  # transactions stay in flight for up to a second
    leader = standby = None
    try:
        leader = _relay_process(world, db, tmp_path / "leader.log")
        wait_until(lambda: " leads " in (tmp_path / "leader.log").read_text(), 60, what="the first relayer leads")
        standby = _relay_process(world, db, tmp_path / "standby.log")
        wait_until(lambda: "on standby" in (tmp_path / "standby.log").read_text(), 60, what="the second one stands by")
        energy = _fill(world, store, devices, range(1, 5))
        wait_until(lambda: store.batches(BatchStatus.SENT), 30, what="a batch in flight")
        leader.send_signal(signal.SIGKILL)  # mid-batch: a transaction signed, maybe broadcast, not confirmed
        leader.wait(10)
        energy += _fill(world, store, devices, range(5, 8))  # devices keep reporting
        wait_until(lambda: (lambda c: c["readings_pending"] == 0 and c["readings_batched"] == 0)(store.counts()),
                   90, what="the standby anchors everything")
        assert " leads " in (tmp_path / "standby.log").read_text()
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(30) == 0
    finally:
        for p in (leader, standby):
            if p is not None and p.poll() is None:
                p.kill()
        chain.rpc("evm_setIntervalMining", 0)
        chain.rpc("evm_setAutomine", True)
    events = world.contracts.oracle.events.BatchAnchored().get_logs(from_block=start_block + 1)
    roots = [bytes(e["args"]["merkleRoot"]) for e in events]
    assert len(roots) == len(set(roots))  # no batch anchored twice
    anchored = store.batches(BatchStatus.ANCHORED)
    assert sorted(roots) == sorted(b.root for b in anchored)
    assert sum(e["args"]["count"] for e in events) == len(devices) * 7 == store.counts()["readings_anchored"]
    assert sum(e["args"]["totalEnergyWh"] for e in events) == energy  # counted once
    store.close()


class _Lost:
    """A leadership that was taken over (e.g. the lock's session ended while the process lived on)."""

    def try_acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return False

    def release(self) -> None:
        pass

    def describe(self) -> str:
        return "test lock"


def test_a_relayer_that_lost_the_lead_signs_nothing(chain, oracle_world, tmp_path):
    from rwa_sdk.oracle.relayer import LostLeadership, Relayer, RelayerConfig

    from .conftest import ASSET_A, make_reading

    store = open_store(str(tmp_path / "oracle.db"))
    dev = oracle_world.devices_a[0]
    r = make_reading(dev, ASSET_A, 1, chain.timestamp() - 10, energy_wh=3, length=30)
    store.insert_readings([(r, oracle_world.domain.sign(r, dev.key), oracle_world.domain.digest(r))])
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, RelayerConfig(max_batch_age_s=0),
                      leadership=_Lost())
    nonce = chain.w3.eth.get_transaction_count(oracle_world.relayer.address)
    with pytest.raises(LostLeadership):
        relayer.step()
    assert [b.status for b in store.batches()] == [BatchStatus.BUILT]  # cut, never marked sent nor broadcast
    assert chain.w3.eth.get_transaction_count(oracle_world.relayer.address, "pending") == nonce
    store.close()
