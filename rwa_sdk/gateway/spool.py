"""The gateway's durable spool (SQLite): meter state, signed readings not yet acknowledged, OCMF records.

One transaction turns a device's samples into readings: the new meter state, the signed reading
items and the OCMF records that back them commit together or not at all. A charger is answered
only after that commit, so a gateway killed at any instant either has a sample (and will send its
reading) or has not answered it (and the charger sends it again; the state's ``last_time`` makes a
second copy a no-op). Readings leave the spool in order, and only an acknowledgement from ingest
(accepted or duplicate) or a final refusal marks them done: nothing is lost while ingest is down,
and a reading sent again after a crash is one ingest already holds with the same signature.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..oracle.ingest import reading_item
from ..oracle.reading import Reading, to_checksum
from .meter import MeterState, Sample, step

SCHEMA = """
CREATE TABLE IF NOT EXISTS meters (
    device TEXT PRIMARY KEY, seq INTEGER NOT NULL, last_time INTEGER, last_register_wh INTEGER
);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL, seq INTEGER NOT NULL, item TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | rejected
    reason TEXT, created_at REAL NOT NULL, sent_at REAL,
    UNIQUE (device, seq)
);
CREATE INDEX IF NOT EXISTS readings_pending ON readings (state, id);
CREATE TABLE IF NOT EXISTS ocmf_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL, reading_seq INTEGER, transaction_id TEXT,
    record TEXT NOT NULL, sha256 TEXT NOT NULL, algorithm TEXT,
    onchain INTEGER NOT NULL DEFAULT 0, verdict TEXT NOT NULL, reason TEXT, billable_wh INTEGER,
    received_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class OcmfEntry:
    """An OCMF record as received, with the gateway's verdict (``verified`` or ``refused``)."""

    record: str
    sha256: str
    verdict: str
    reason: str | None = None
    algorithm: str | None = None
    onchain: bool = False
    billable_wh: int | None = None
    transaction_id: str | None = None


@dataclass(frozen=True)
class Batch:
    """One device's samples (and the OCMF records behind them) to record together."""

    device: bytes
    asset_id: bytes
    capacity_w: int
    samples: Sequence[Sample]
    sign: Callable[[Reading], bytes]
    rollover_wh: int | None = None
    ocmf: tuple[OcmfEntry, ...] = ()


class Spool:
    """Thread-safe access to one spool file (one connection, serialised by a lock; WAL journal)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL"):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- samples in ---------------------------------------------------------------------------
    def state(self, device: bytes) -> MeterState:
        with self._lock:
            return self._state(to_checksum(device))

    def _state(self, device: str) -> MeterState:
        row = self._db.execute("SELECT seq, last_time, last_register_wh FROM meters WHERE device = ?", (device,)).fetchone()
        return MeterState(*row) if row else MeterState()

    def record(self, device: bytes, asset_id: bytes, capacity_w: int, samples: Sequence[Sample],
               sign: Callable[[Reading], bytes], *, rollover_wh: int | None = None,
               ocmf: Iterable[OcmfEntry] = ()) -> list[Reading]:
        """Turn ``samples`` into signed readings and store them with the new state, in one transaction."""
        return self.record_many([Batch(device, asset_id, capacity_w, samples, sign, rollover_wh, tuple(ocmf))])[0]

    def record_many(self, batches: Sequence[Batch]) -> list[list[Reading]]:
        """Several devices' samples in one transaction (one fsync for many chargers' messages)."""
        now = time.time()
        out: list[list[Reading]] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for batch in batches:
                    out.append(self._record(batch, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def _record(self, b: Batch, now: float) -> list[Reading]:
        address = to_checksum(b.device)
        state = self._state(address)
        made: list[Reading] = []
        for sample in b.samples:
            state, reading = step(state, sample, device=b.device, asset_id=b.asset_id, capacity_w=b.capacity_w,
                                  rollover_wh=b.rollover_wh)
            if reading is not None:
                made.append(reading)
                item = json.dumps(reading_item(reading, b.sign(reading)))
                self._db.execute("INSERT INTO readings (device, seq, item, created_at) VALUES (?, ?, ?, ?)",
                                 (address, reading.seq, item, now))
        self._db.execute(
            "INSERT INTO meters (device, seq, last_time, last_register_wh) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET seq = excluded.seq, last_time = excluded.last_time, "
            "last_register_wh = excluded.last_register_wh",
            (address, state.seq, state.last_time, state.last_register_wh))
        for entry in b.ocmf:
            self._db.execute(
                "INSERT INTO ocmf_records (device, reading_seq, transaction_id, record, sha256, algorithm, onchain,"
                " verdict, reason, billable_wh, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (address, made[-1].seq if made and entry.verdict == "verified" else None, entry.transaction_id,
                 entry.record, entry.sha256, entry.algorithm, int(entry.onchain), entry.verdict, entry.reason,
                 entry.billable_wh, now))
        return made

    # -- readings out -------------------------------------------------------------------------
    def pending(self, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
        """The oldest readings not yet acknowledged, in the order they were made."""
        with self._lock:
            rows = self._db.execute("SELECT id, item FROM readings WHERE state = 'pending' ORDER BY id LIMIT ?",
                                    (limit,)).fetchall()
        return [(row_id, json.loads(item)) for row_id, item in rows]

    def mark(self, sent: Sequence[int], rejected: Sequence[tuple[int, str]] = ()) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("UPDATE readings SET state = 'sent', sent_at = ? WHERE id = ?", [(now, i) for i in sent])
            self._db.executemany("UPDATE readings SET state = 'rejected', reason = ?, sent_at = ? WHERE id = ?",
                                 [(reason, now, i) for i, reason in rejected])
            self._db.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM readings GROUP BY state").fetchall()
            ocmf = self._db.execute("SELECT verdict, COUNT(*) FROM ocmf_records GROUP BY verdict").fetchall()
        out = {"pending": 0, "sent": 0, "rejected": 0, **dict(rows)}
        out.update({f"ocmf_{verdict}": n for verdict, n in ocmf})
        return out

    def rejections(self) -> list[tuple[str, int, str]]:
        with self._lock:
            return self._db.execute("SELECT device, seq, reason FROM readings WHERE state = 'rejected' ORDER BY id").fetchall()

    def ocmf_records(self, device: bytes | None = None) -> list[dict[str, Any]]:
        query = ("SELECT device, reading_seq, transaction_id, record, sha256, algorithm, onchain, verdict, reason, "
                 "billable_wh FROM ocmf_records")
        args: tuple = ()
        if device is not None:
            query += " WHERE device = ?"
            args = (to_checksum(device),)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        keys = ("device", "readingSeq", "transactionId", "record", "sha256", "algorithm", "onchain", "verdict",
                "reason", "billableWh")
        return [dict(zip(keys, row)) | {"onchain": bool(row[6])} for row in rows]
