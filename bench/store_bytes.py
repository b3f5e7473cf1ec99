"""Bytes per stored reading on SQLite: this layout against the previous one (layout 3), same readings, same run.

Run by hand: PYTHONPATH=$PWD python bench/store_bytes.py [--readings 1000000] [--devices 10000]
Both files get the same signed-looking readings (a device every 15 minutes, realistic times, energies and
meter registers), cut into 1,000-reading batches and anchored: layout 4 through the store as the relayer
does (leaf ranks, tree tops), layout 3 as that release wrote its rows (with the 32-byte digest): inserted
pending, then assigned to their batch. Size is
the database file after a WAL checkpoint, divided by the readings.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from rwa_sdk.oracle import batch_tree
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.reading import Reading, ReadingDomain
from rwa_sdk.oracle.store import SqliteStore

ASSET = bytes.fromhex("ab" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "cd" * 20)
START = 1_767_225_600  # 2026-01-01
OFFSET = 2**63

LAYOUT_3 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE assets (id INTEGER PRIMARY KEY, asset BLOB NOT NULL UNIQUE);
CREATE TABLE batches (id INTEGER PRIMARY KEY, asset BLOB NOT NULL, root BLOB NOT NULL, count INTEGER NOT NULL,
    energy_wh INTEGER NOT NULL, from_time INTEGER NOT NULL, to_time INTEGER NOT NULL, status TEXT NOT NULL,
    nonce INTEGER, tx_hashes BLOB NOT NULL DEFAULT x'', block_number INTEGER, batch_index INTEGER,
    built_block INTEGER NOT NULL, created_at REAL NOT NULL, UNIQUE (asset, root));
CREATE TABLE readings (id INTEGER PRIMARY KEY, device BLOB NOT NULL, seq INTEGER NOT NULL, asset_ref INTEGER NOT NULL,
    period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, energy_wh INTEGER NOT NULL, meter_wh INTEGER NOT NULL,
    flags INTEGER NOT NULL, signature BLOB NOT NULL, digest BLOB NOT NULL, received_at REAL NOT NULL,
    batch INTEGER REFERENCES batches(id), dropped INTEGER NOT NULL DEFAULT 0, UNIQUE (device, seq));
CREATE INDEX readings_pending ON readings (asset_ref, period_start, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX readings_pending_age ON readings (asset_ref, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX readings_batch ON readings (batch);
CREATE TABLE devices (device BLOB PRIMARY KEY, last_seq INTEGER, last_end INTEGER, revoked_at INTEGER);
INSERT INTO meta (key, value) VALUES ('layout', '3');
"""


def readings(n: int, devices: int) -> list[Reading]:
    out = []
    for i in range(n):
        device, seq = i % devices, 1 + i // devices
        start = START + 900 * (seq - 1) + device % 900
        energy = 50 + (i * 7919) % 400
        out.append(Reading(device.to_bytes(20, "big"), ASSET, seq, start, start + 900, energy, 5_000_000 + seq * 250, 0))
    return out


def signature(i: int) -> bytes:
    return os.urandom(64) + bytes([27 + i % 2])


def size_of(path: Path) -> int:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path.stat().st_size


def layout_4(path: Path, rs: list[Reading], sigs: list[bytes], batch: int) -> None:
    store = SqliteStore(path, synchronous="OFF")
    for k in range(0, len(rs), 10_000):
        store.insert_readings([(r, s, b"") for r, s in zip(rs[k:k + 10_000], sigs[k:k + 10_000])])
    index = 0
    while pending := store.pending_readings(ASSET, 0, 2**40, batch):
        digests = [DOMAIN.digest(p.reading) for p in pending]
        tree = MerkleTree.from_digests(digests)
        b = store.create_batch(ASSET, tree.root, [p.id for p in pending], 0, 0, 0, 1,
                               leaf_ranks=batch_tree.ranks(tree, digests), tree_top=batch_tree.top(tree))
        store.mark_anchored({b: index}, 1)
        index += 1
    store.close()


def layout_3(path: Path, rs: list[Reading], sigs: list[bytes], batch: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(LAYOUT_3)
    db.execute("INSERT INTO assets (asset) VALUES (?)", (ASSET,))
    for k in range(0, len(rs), 10_000):  # inserted as they arrive (pending) ...
        db.execute("BEGIN")
        db.executemany("INSERT INTO readings (device, seq, asset_ref, period_start, period_end, energy_wh, meter_wh,"
                       " flags, signature, digest, received_at) VALUES (?,?,1,?,?,?,?,?,?,?,?)",
                       [(r.device, r.seq - OFFSET, r.period_start - OFFSET, r.period_end - OFFSET, r.energy_wh - OFFSET,
                         r.meter_wh - OFFSET, r.flags, s, DOMAIN.digest(r), time.time())
                        for r, s in zip(rs[k:k + 10_000], sigs[k:k + 10_000])])
        db.execute("COMMIT")
    ids = [i for (i,) in db.execute("SELECT id FROM readings ORDER BY id")]
    for k in range(0, len(ids), batch):  # ... then cut into batches
        chunk = ids[k:k + batch]
        digests = [bytes(d) for (d,) in db.execute(f"SELECT digest FROM readings WHERE id BETWEEN {chunk[0]} AND {chunk[-1]}")]
        db.execute("BEGIN")
        b = db.execute("INSERT INTO batches (asset, root, count, energy_wh, from_time, to_time, status, batch_index,"
                       " block_number, built_block, created_at) VALUES (?,?,?,0,0,0,'anchored',?,1,1,0)",
                       (ASSET, MerkleTree.from_digests(digests).root, len(chunk), k // batch)).lastrowid
        db.executemany("UPDATE readings SET batch=? WHERE id=?", [(b, i) for i in chunk])
        db.execute("COMMIT")
    last = {r.device: r for r in rs}
    db.executemany("INSERT INTO devices (device, last_seq, last_end) VALUES (?,?,?)",
                   [(d, r.seq - OFFSET, r.period_end - OFFSET) for d, r in last.items()])
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    rs = readings(args.readings, args.devices)
    sigs = [signature(i) for i in range(len(rs))]
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for name, fill in (("layout3", layout_3), ("layout4", layout_4)):
            path = Path(tmp) / f"{name}.db"
            t0 = time.perf_counter()
            fill(path, rs, sigs, args.batch)
            sizes[name] = size_of(path)
            print(f"{name}: {sizes[name]} bytes, {sizes[name] / len(rs):.1f} B/reading, filled in {time.perf_counter() - t0:.0f} s")
    print(f"readings={len(rs)} devices={args.devices} bytes_per_reading_layout3={sizes['layout3'] / len(rs):.1f} "
          f"bytes_per_reading={sizes['layout4'] / len(rs):.1f}")


if __name__ == "__main__":
    main()
