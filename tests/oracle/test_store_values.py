"""uint64 fields survive the store's signed 64-bit columns, and range queries see every one of them."""

from __future__ import annotations

from rwa_sdk.oracle.reading import Reading
from rwa_sdk.oracle.store import InsertOutcome, _i, _stored_ranges, _u, open_store

ASSET = bytes.fromhex("3c" * 32)
TOP = 2**64 - 1


def test_encoding_round_trips_and_keeps_small_values_small():
    for v in (0, 1, 1_767_225_600, 2**63 - 1, 2**63, TOP):
        assert _u(_i(v)) == v and -(2**63) <= _i(v) < 2**63
    assert _i(1_767_225_600) == 1_767_225_600  # 4 bytes in an SQLite row, not 8


def test_ranges_across_the_sign_boundary_cover_exactly_the_range():
    values = [0, 5, 2**63 - 2, 2**63 - 1, 2**63, 2**63 + 1, TOP - 1, TOP]
    for lo, hi in ((0, 2**63), (2**63 - 1, 2**63 + 1), (2**63, 2**64), (2**64 - 2, 2**64 + 5), (3, 6)):
        inside = [v for v in values if any(a <= _i(v) and (b is None or _i(v) < b) for a, b in _stored_ranges(lo, hi))]
        assert inside == [v for v in values if lo <= v < hi], (lo, hi)


def test_pending_readings_of_an_epoch_across_2_63_come_oldest_first(store_location):
    store = open_store(store_location)
    try:
        starts = [2**63 - 20, 2**63 - 10, 2**63 + 5, 2**63 + 30, 40]
        rs = [Reading(bytes([i + 1]) * 20, ASSET, 1, s, s + 1, 1, 1, 0) for i, s in enumerate(starts)]
        assert set(store.insert_readings([(r, b"s" * 65, b"") for r in rs])) == {InsertOutcome.INSERTED}
        epoch_length = 2**62  # epoch 1 is [2**62, 2**63), epoch 2 is [2**63, 3 * 2**62)
        assert [p.reading.period_start for p in store.pending_readings(ASSET, 1, epoch_length, 10)] == starts[:2]
        assert [p.reading.period_start for p in store.pending_readings(ASSET, 2, epoch_length, 10)] == starts[2:4]
        across = 2**63 // 1_000  # [2**63 - 808, 2**63 + 192) with 1,000-second epochs
        assert [p.reading.period_start for p in store.pending_readings(ASSET, across, 1_000, 10)] == starts[:4]
        assert [p.reading.period_start for p in store.pending_readings(ASSET, across, 1_000, 3)] == starts[:3]
        assert store.pending_summary()[0][2] == 40  # the earliest period start
        assert store.find_reading(rs[3].device, 1).reading == rs[3]
    finally:
        store.close()


def test_the_earliest_pending_start_is_found_when_every_period_starts_from_2_63(store_location):
    store = open_store(store_location)
    try:
        starts = [2**63 + 30, 2**63 + 5, 2**64 - 10]
        rs = [Reading(bytes([i + 1]) * 20, ASSET, 1, s, s + 1, 1, 1, 0) for i, s in enumerate(starts)]
        assert set(store.insert_readings([(r, b"s" * 65, b"") for r in rs])) == {InsertOutcome.INSERTED}
        assert store.pending_summary()[0][1:3] == (3, 2**63 + 5)
    finally:
        store.close()
