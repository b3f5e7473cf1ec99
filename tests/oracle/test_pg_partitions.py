"""PostgreSQL: readings partitioned by period start; retention drops whole anchored partitions, loses nothing else."""

from __future__ import annotations

import uuid

import pytest

from rwa_sdk.oracle.reading import Reading
from rwa_sdk.oracle.store import InsertOutcome

ASSET = bytes.fromhex("5a" * 32)
SPAN = 1_000
NOW = 100_000  # spans [100000, 101000), [101000, 102000), [102000, 103000) get partitions at open


@pytest.fixture
def pg_location(postgres_server) -> str:
    name = "p" + uuid.uuid4().hex[:16]
    postgres_server.psql(f"CREATE DATABASE {name};")
    return postgres_server.get_uri(name)


def store_at(location: str, now: float = NOW):
    from rwa_sdk.oracle.pg_store import PostgresStore

    return PostgresStore(location, clock=lambda: now, partition_span_s=SPAN)


def reading(device: int, start: int) -> Reading:
    return Reading(bytes([device]) * 20, ASSET, 1, start, start + 300, 10, 10, 0)


def rows_in(store, table: str) -> int:
    return store._execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def batch_of(store, rs: list[Reading], to_time: int, index: int, anchored: bool = True) -> int:
    ids = [store.find_reading(r.device, r.seq).id for r in rs]
    batch = store.create_batch(ASSET, bytes([index]) * 32, ids, 0, min(r.period_start for r in rs), to_time, 1)
    if anchored:
        store.mark_anchored({batch: index}, 1)
    return batch


def test_readings_land_in_their_span_and_retention_drops_only_fully_anchored_partitions(pg_location):
    store = store_at(pg_location)
    try:
        assert [p[1:] for p in store.partitions()] == [(100_000, 101_000), (101_000, 102_000), (102_000, 103_000)]
        first = [reading(1, 100_100), reading(2, 100_200), reading(3, 100_600)]
        second = [reading(4, 101_100), reading(5, 101_200)]
        old = [reading(6, 5_000)]  # before any partition: the default one takes it
        assert set(store.insert_readings([(r, b"s" * 65, b"") for r in first + second + old])) == {InsertOutcome.INSERTED}
        assert rows_in(store, "readings_p100000_101000") == 3 and rows_in(store, "readings_p101000_102000") == 2
        assert rows_in(store, "readings_default") == 1
        batch_of(store, first, 100_900, 0)
        batch_of(store, second[:1], 101_400, 1)  # the second span keeps a pending reading
        batch_of(store, old, 5_300, 2)
        assert store.prune_anchored(before_time=102_000) == 3 + 1 + 1  # first span dropped, the rest row by row
        assert [p[1] for p in store.partitions()] == [101_000, 102_000]
        assert store.find_reading(first[0].device, 1) is None and store.find_reading(old[0].device, 1) is None
        assert store.find_reading(second[1].device, 1) is not None
        counts = store.counts()
        assert (counts["readings_pending"], counts["readings_anchored"], counts["batches_anchored"]) == (1, 0, 3)
        # a pruned reading sent again is not stored (nor counted) a second time: the device rows remember it
        assert store.insert_readings([(first[0], b"s" * 65, b"")]) == [InsertOutcome.SEQ_NOT_INCREASING]
    finally:
        store.close()


def test_a_partition_with_a_batch_not_anchored_or_ending_after_the_cut_off_stays(pg_location):
    store = store_at(pg_location)
    try:
        rs = [reading(1, 100_100), reading(2, 100_200)]
        store.insert_readings([(r, b"s" * 65, b"") for r in rs])
        sent = batch_of(store, rs[:1], 100_400, 0, anchored=False)
        batch_of(store, rs[1:], 101_500, 1)  # ends after the cut-off below
        assert store.prune_anchored(before_time=101_000) == 0
        assert rows_in(store, "readings_p100000_101000") == 2
        store.mark_anchored({sent: 0}, 2)
        assert store.prune_anchored(before_time=101_000) == 1  # its reading, row by row; the other stays
        assert store.prune_anchored(before_time=102_000) == 1 and store.counts()["readings_anchored"] == 0
    finally:
        store.close()


def test_a_span_whose_readings_reached_the_default_partition_keeps_them_there(pg_location):
    store = store_at(pg_location)
    try:
        early = reading(1, 200_500)  # no partition for it yet
        assert store.insert_readings([(early, b"s" * 65, b"")]) == [InsertOutcome.INSERTED]
        store.ensure_partitions(200_000)  # cannot take [200000, 201000) over: its row stays in the default
        spans = [p[1] for p in store.partitions()]
        assert 200_000 not in spans and 201_000 in spans
        later = reading(2, 201_500)
        store.insert_readings([(later, b"s" * 65, b"")])
        assert rows_in(store, "readings_default") == 1 and rows_in(store, "readings_p201000_202000") == 1
        assert store.find_reading(early.device, 1).reading == early and store.counts()["readings_pending"] == 2
    finally:
        store.close()
    reopened = store_at(pg_location, now=300_000)  # another process, later: its spans are made too
    try:
        assert 300_000 in [p[1] for p in reopened.partitions()] and reopened.counts()["readings_pending"] == 2
    finally:
        reopened.close()
