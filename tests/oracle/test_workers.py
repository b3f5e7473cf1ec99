"""Stateless ingest workers on one store: any device routed to any worker, duplicates and reorders across
workers, and the per-device rules still hold because the store transaction decides them."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.oracle.ingest import DeviceInfo, Ingestor, Reason, StaticDirectory, Status, reading_item
from rwa_sdk.oracle.reading import DeviceSigner, Reading, ReadingDomain
from rwa_sdk.oracle.store import InsertOutcome, open_store

ASSET = bytes.fromhex("ab" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "42" * 20)
SIGNERS = [DeviceSigner.from_secret(bytes([7] * 31 + [i + 1])) for i in range(4)]
BASE = int(time.time()) - 500_000


def directory() -> StaticDirectory:
    return StaticDirectory({s.address: DeviceInfo(ASSET, 10**9, 1, 0) for s in SIGNERS})


def signed(dev: DeviceSigner, seq: int, start: int, end: int, energy: int) -> tuple[dict, bytes]:
    r = Reading(dev.address, ASSET, seq, BASE + start, BASE + end, energy, seq, 0)
    return reading_item(r, DOMAIN.sign(r, dev.key)), DOMAIN.digest(r)


def run_workers(location: str, plans: list[list[list[dict]]]) -> dict[str, list]:
    """Each plan is one worker's list of requests, sent from its own thread with its own store connection."""
    stores = [open_store(location) for _ in plans]
    workers = [Ingestor(s, directory(), DOMAIN) for s in stores]
    answers: dict[int, list] = defaultdict(list)
    start = threading.Barrier(len(plans))

    def work(k: int) -> None:
        start.wait()
        for request in plans[k]:
            answers[k] += list(zip(request, workers[k].submit(request)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for s in stores:
        s.close()
    return {"answers": [a for k in sorted(answers) for a in answers[k]]}


def check_invariants(location: str, answers: list, digests: dict[int, bytes]) -> list:
    """What must hold whatever the interleaving; returns the stored readings."""
    store = open_store(location)
    try:
        stored = [r for s in SIGNERS for r in store.device_readings(s.address, 1_000)]
        by_device = defaultdict(list)
        for r in stored:
            by_device[r.reading.device].append(r.reading)
        for readings in by_device.values():
            readings.sort(key=lambda r: r.seq)
            for prev, cur in zip(readings, readings[1:]):
                assert cur.period_start >= prev.period_end, (prev, cur)  # counted periods never overlap
        for item, result in answers:
            found = store.find_reading(bytes.fromhex(item["device"][2:]), item["seq"])
            digest = digests[id(item)]
            if result.acknowledged:  # acknowledged: stored with exactly that content
                assert found is not None and DOMAIN.digest(found.reading) == digest, (item, result)
            elif result.reason in (Reason.SEQ_NOT_INCREASING, Reason.PERIOD_OVERLAP, Reason.CONFLICT):
                assert found is None or DOMAIN.digest(found.reading) != digest, (item, result)
            else:
                raise AssertionError(f"unexpected rejection {result}")
        # two relayers cut batches of whatever is pending, racing; every stored reading ends in one batch
        racers = [open_store(location) for _ in range(2)]
        go = threading.Barrier(2)

        def cut(s, tag: int) -> None:
            go.wait()
            for n in range(50):
                rows = s.pending_readings(ASSET, 0, 2**63, 7)
                if not rows:
                    return
                try:
                    s.create_batch(ASSET, bytes([tag, n]) * 16, [r.id for r in rows],
                                   sum(r.reading.energy_wh for r in rows), 0, 1, 1)
                except Exception:
                    continue  # the other relayer took one of them: this batch was rolled back whole
        threads = [threading.Thread(target=cut, args=(s, k)) for k, s in enumerate(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for s in racers:
            s.close()
        batches = store.batches()
        assert store.counts()["readings_pending"] == 0
        assert sum(b.energy_wh for b in batches) == sum(r.reading.energy_wh for r in stored)  # counted once
        assert sum(b.count for b in batches) == len(stored)
        return stored
    finally:
        store.close()


def test_two_workers_with_random_routing_duplicates_and_reorders_store_each_reading_once(store_location):
    rng = random.Random(5)
    digests: dict[int, bytes] = {}
    sends: list[dict] = []
    for dev in SIGNERS:
        for seq in range(1, 31):
            item, digest = signed(dev, seq, seq * 100, seq * 100 + 100, 10 + seq)
            copies = [item] + [dict(item) for _ in range(rng.randint(0, 2))]  # resends of the same reading
            for c in copies:
                digests[id(c)] = digest
            sends += copies
        # a conflicting reading (same seq, other energy) and an overlapping one (new seq, same hour)
        bad, digest = signed(dev, 7, 700, 800, 999)
        digests[id(bad)] = digest
        overlap, digest = signed(dev, 31, 2950, 3050, 5)
        digests[id(overlap)] = digest
        sends += [bad, overlap]
    # mostly in order with local reorders, like devices retrying through a load balancer
    order = sorted(range(len(sends)), key=lambda i: i + rng.uniform(-6, 6))
    plans: list[list[list[dict]]] = [[], []]
    for i in order:
        k = rng.randrange(2)
        if not plans[k] or len(plans[k][-1]) >= rng.randint(1, 5):
            plans[k].append([])
        plans[k][-1].append(sends[i])
    answers = run_workers(store_location, plans)["answers"]
    assert len(answers) == len(sends)
    stored = check_invariants(store_location, answers, digests)
    accepted = [(i, r) for i, r in answers if r.status is Status.ACCEPTED]
    assert len(accepted) == len(stored) > 10 * len(SIGNERS)  # each stored reading was accepted exactly once
    assert len({(i["device"], i["seq"]) for i, _ in accepted}) == len(accepted)
    reasons = {r.reason for _, r in answers if not r.acknowledged}
    assert Reason.CONFLICT in reasons and Reason.PERIOD_OVERLAP in reasons
    assert not any(r.reading.energy_wh == 999 for r in stored)


def test_store_rules_in_one_transaction_match_the_serial_rules(store_location):
    store = open_store(store_location)
    dev = SIGNERS[0].address
    rs = [Reading(dev, ASSET, 5, 100, 200, 1, 0, 0), Reading(dev, ASSET, 4, 200, 300, 1, 0, 0),
          Reading(dev, ASSET, 6, 150, 250, 1, 0, 0), Reading(dev, ASSET, 6, 200, 300, 1, 0, 0),
          Reading(dev, ASSET, 7, 300, 400, 1, 0, 0)]
    assert store.insert_readings([(r, b"s" * 65, bytes([i]) * 32) for i, r in enumerate(rs)]) == [
        InsertOutcome.INSERTED, InsertOutcome.SEQ_NOT_INCREASING, InsertOutcome.PERIOD_OVERLAP,
        InsertOutcome.INSERTED, InsertOutcome.INSERTED]
    store.mark_revoked({dev: 10_000})
    later = Reading(dev, ASSET, 8, 400, 500, 1, 0, 0)
    assert store.insert_readings([(later, b"s" * 65, b"x" * 32), (rs[0], b"s" * 65, bytes([0]) * 32)]) == [
        InsertOutcome.DEVICE_REVOKED, InsertOutcome.DUPLICATE]  # a resend of what was stored is still acknowledged
    assert store.revocations([dev, SIGNERS[1].address]) == {dev: 10_000}
    assert store.last_seqs() == {dev: 7}
    store.close()


@pytest.fixture(scope="module")
def fresh_location(request, tmp_path_factory):
    """A factory of empty store locations (SQLite files, or new databases when PostgreSQL is asked for)."""
    databases: dict[str, str] = {}

    def make(backend: str) -> str:
        if backend == "sqlite":
            return str(tmp_path_factory.mktemp("w") / f"{uuid.uuid4().hex}.db")
        if "pg" not in databases:  # one database, emptied for each example (CREATE DATABASE is slow)
            server = request.getfixturevalue("postgres_server")
            name = "w" + uuid.uuid4().hex[:16]
            server.psql(f"CREATE DATABASE {name};")
            databases["pg"] = server.get_uri(name)
            open_store(databases["pg"]).close()
        else:
            import psycopg

            with psycopg.connect(databases["pg"], autocommit=True) as db:
                db.execute("TRUNCATE readings, batches, devices, assets, alerts")
        return databases["pg"]
    return make


_reading = st.tuples(st.integers(1, 12), st.integers(0, 30), st.integers(1, 4), st.integers(0, 50))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@given(plan=st.lists(st.tuples(st.integers(0, 3), _reading, st.integers(0, 1), st.integers(1, 4)), min_size=1,
                     max_size=40))
def test_property_energy_counted_once_whatever_the_interleaving(fresh_location, backend, plan):
    """Readings of random seqs and periods (duplicates, overlaps, backdating, conflicts), routed to either of
    two workers in random requests; then two relayers race to batch them. Whatever the interleaving, the
    stored readings obey the per-device rules, every acknowledgement is stored, and the batches count each
    stored reading's energy exactly once."""
    location = fresh_location(backend)
    digests: dict[int, bytes] = {}
    plans: list[list[list[dict]]] = [[], []]
    for dev_index, (seq, start, length, energy), worker, request_size in plan:
        item, digest = signed(SIGNERS[dev_index], seq, start * 10, start * 10 + length * 10, energy)
        digests[id(item)] = digest
        requests = plans[worker]
        if not requests or len(requests[-1]) >= request_size:
            requests.append([])
        requests[-1].append(item)
    answers = run_workers(location, [p for p in plans if p] or [[]])["answers"]
    assert len(answers) == len(plan)
    check_invariants(location, answers, digests)


def test_retention_prunes_anchored_readings_and_the_device_rules_still_hold(store_location):
    store = open_store(store_location)
    dev = SIGNERS[1].address
    rs = [Reading(dev, ASSET, s, 100 * s, 100 * s + 100, 1, s, 0) for s in (1, 2, 3)]
    store.insert_readings([(r, b"s" * 65, bytes([r.seq]) * 32) for r in rs])
    old = store.pending_readings(ASSET, 0, 2**40, 2)
    batch = store.create_batch(ASSET, b"r" * 32, [r.id for r in old], 2, 100, 300, 1)
    store.mark_anchored({batch: 0}, 2)
    assert store.prune_anchored(before_time=1_000) == 2
    assert store.find_reading(dev, 1) is None and store.find_reading(dev, 3) is not None  # pending one kept
    replay = Reading(dev, ASSET, 2, 200, 300, 1, 2, 0)
    assert store.insert_readings([(replay, b"s" * 65, bytes([2]) * 32)]) == [InsertOutcome.SEQ_NOT_INCREASING]
    backdated = Reading(dev, ASSET, 4, 150, 250, 1, 4, 0)
    assert store.insert_readings([(backdated, b"s" * 65, b"b" * 32)]) == [InsertOutcome.PERIOD_OVERLAP]
    assert store.batch(batch).status.value == "anchored" and store.last_seqs() == {dev: 3}
    store.close()
