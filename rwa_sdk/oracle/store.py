"""Durable queue of verified readings and of the batches that anchor them.

``ReadingStore`` is the interface the ingest API and the relayer use. ``SqlStore`` implements it in
SQL that SQLite and PostgreSQL both speak; ``SqliteStore`` runs it on one SQLite file in WAL mode (no
server) and ``PostgresStore`` (``pg_store.py``) on a PostgreSQL database that several processes can
share. Every method that changes state commits before it returns: the ingest API acknowledges a
reading only after :meth:`ReadingStore.insert_readings` has returned. ``open_store`` picks the backend
from the location: a ``postgresql://`` URL or a file path.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from .reading import Reading


class StoreError(RuntimeError):
    """The store is unusable (schema mismatch, closed)."""


class InsertOutcome(str, Enum):
    INSERTED = "inserted"
    DUPLICATE = "duplicate"  # same device + seq, same content: idempotent
    CONFLICT = "conflict"  # same device + seq, other content


class BatchStatus(str, Enum):
    BUILT = "built"  # readings assigned, nothing sent yet
    SENT = "sent"  # a transaction carrying the batch was signed and (probably) broadcast
    ANCHORED = "anchored"  # receipt seen with enough confirmations


@dataclass(frozen=True)
class StoredReading:
    """A reading as stored: what the device signed plus where it went."""

    id: int
    reading: Reading
    signature: bytes
    digest: bytes
    batch: int | None


@dataclass(frozen=True)
class BatchRecord:
    """A Merkle batch of one asset's readings and the transaction that carries it."""

    id: int
    asset_id: bytes
    root: bytes
    count: int
    energy_wh: int
    from_time: int
    to_time: int
    status: BatchStatus
    nonce: int | None
    tx_hashes: tuple[bytes, ...]
    block_number: int | None
    batch_index: int | None  # the asset's batch number on chain (``verifyReading``'s handle), once anchored
    built_block: int  # the chain's block when the batch was cut: it cannot be mined before


@dataclass(frozen=True)
class OracleBinding:
    """The one oracle a store's batches are anchored to. The genesis hash tells a restarted development
    chain (same chain id, often the same oracle address) from the one the store was filled on."""

    chain_id: int
    genesis: bytes
    oracle: str

    @classmethod
    def of(cls, oracle: Any) -> OracleBinding:
        """The binding of a web3 ``ReadingOracle`` contract on its chain."""
        w3 = oracle.w3
        return cls(w3.eth.chain_id, bytes(w3.eth.get_block(0)["hash"]), oracle.address)

    def describe(self) -> str:
        return f"ReadingOracle {self.oracle} on chain {self.chain_id} (genesis 0x{self.genesis.hex()[:12]}…)"


class ReadingStore(Protocol):
    """What the ingest API and the relayer need from a store (SQLite today, PostgreSQL later)."""

    def insert_readings(self, items: Sequence[tuple[Reading, bytes, bytes]]) -> list[InsertOutcome]: ...
    def existing_digest(self, device: bytes, seq: int) -> bytes | None: ...
    def last_seqs(self) -> dict[bytes, int]: ...
    def record_alert(self, device: bytes, seq: int, kind: str, detail: str) -> None: ...
    def pending_summary(self) -> list[tuple[bytes, int, int, float]]: ...
    def pending_readings(self, asset_id: bytes, epoch: int, epoch_length: int, limit: int) -> list[StoredReading]: ...
    def create_batch(self, asset_id: bytes, root: bytes, reading_ids: Sequence[int],
                     energy_wh: int, from_time: int, to_time: int, built_block: int) -> int: ...
    def batches(self, status: BatchStatus) -> list[BatchRecord]: ...
    def mark_sent(self, batch_ids: Sequence[int], nonce: int, tx_hash: bytes) -> None: ...
    def mark_anchored(self, batch_indexes: Mapping[int, int], block_number: int) -> None: ...
    def anchored_since(self, block_number: int) -> list[BatchRecord]: ...
    def reopen(self, batch_ids: Sequence[int]) -> None: ...
    def release_batch(self, batch_id: int) -> None: ...
    def batch_readings(self, batch_id: int) -> list[StoredReading]: ...
    def find_reading(self, device: bytes, seq: int) -> StoredReading | None: ...
    def counts(self) -> dict[str, int]: ...
    def bind(self, binding: OracleBinding) -> None: ...
    def binding(self) -> OracleBinding | None: ...
    def chain_roots(self, asset_id: bytes) -> tuple[list[bytes], int]: ...
    def add_chain_roots(self, asset_id: bytes, first_index: int, roots: Sequence[bytes], synced_block: int) -> None: ...
    def forget_chain_roots(self, asset_id: bytes) -> None: ...
    def close(self) -> None: ...


SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id {id},
    asset {blob} NOT NULL,
    root {blob} NOT NULL,
    count {int} NOT NULL,
    energy_wh {numeric} NOT NULL,
    from_time {int} NOT NULL,
    to_time {int} NOT NULL,
    status TEXT NOT NULL,
    nonce {int},
    tx_hashes {blob} NOT NULL DEFAULT {empty_blob},
    block_number {int},
    batch_index {int},
    built_block {int} NOT NULL,
    created_at {real} NOT NULL,
    UNIQUE (asset, root)
);
CREATE TABLE IF NOT EXISTS readings (
    id {id},
    device {blob} NOT NULL,
    seq {int} NOT NULL,
    asset {blob} NOT NULL,
    period_start {int} NOT NULL,
    period_end {int} NOT NULL,
    energy_wh {int} NOT NULL,
    meter_wh {int} NOT NULL,
    flags {int} NOT NULL,
    signature {blob} NOT NULL,
    digest {blob} NOT NULL,
    received_at {real} NOT NULL,
    batch {int} REFERENCES batches(id),
    UNIQUE (device, seq)
);
CREATE INDEX IF NOT EXISTS readings_pending ON readings (asset, period_start) WHERE batch IS NULL;
CREATE INDEX IF NOT EXISTS readings_batch ON readings (batch);
CREATE TABLE IF NOT EXISTS chain_roots (
    asset {blob} NOT NULL,
    batch_index {int} NOT NULL,
    root {blob} NOT NULL,
    PRIMARY KEY (asset, batch_index)
);
CREATE TABLE IF NOT EXISTS chain_sync (
    asset {blob} PRIMARY KEY,
    synced_block {int} NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id {id},
    device {blob} NOT NULL,
    seq {int} NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at {real} NOT NULL
);
"""

# uint64 values do not all fit signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT): store them shifted.
_OFFSET = 2**63


def _i(v: int) -> int:
    return v - _OFFSET


def _u(v: int) -> int:
    return v + _OFFSET


class _Cursor:
    """A cursor that takes ``?`` placeholders whatever its driver's are."""

    def __init__(self, cursor: Any, placeholder: str):
        self._cursor = cursor
        self._placeholder = placeholder

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        self._cursor.execute(sql.replace("?", self._placeholder), args)
        return self._cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql.replace("?", self._placeholder), rows)


class SqlStore:
    """:class:`ReadingStore` in SQL common to SQLite and PostgreSQL; a subclass opens the connection.

    One connection, shared by the ingest and relayer threads under a lock; every write is one transaction."""

    placeholder = "?"
    begin = "BEGIN"
    types = {"id": "INTEGER PRIMARY KEY", "blob": "BLOB", "int": "INTEGER", "numeric": "INTEGER",
             "real": "REAL", "empty_blob": "x''"}

    def __init__(self, path: str, db: Any):
        self.path = path
        self._db = db
        self._lock = threading.RLock()
        try:
            self._check_layout()
            self._run_script(_SCHEMA.format(**self.types))
            with self._write() as cur:
                cur.execute("INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                            ("layout", str(SCHEMA_VERSION)))
        except BaseException:
            db.close()
            raise

    # -- what differs between databases --------------------------------------------------------
    def _run_script(self, script: str) -> None:
        self._db.execute(script)

    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    # -- common plumbing ---------------------------------------------------------------------------
    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """A read outside any write transaction."""
        return self._db.execute(sql.replace("?", self.placeholder), args)

    @contextmanager
    def _write(self) -> Iterator[_Cursor]:
        """One write transaction under the store's lock: committed at the end, rolled back on any error."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute(self.begin)
            try:
                yield _Cursor(cur, self.placeholder)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _check_layout(self) -> None:
        if not self._has_table("batches"):
            return
        layout = 0
        if self._has_table("meta"):
            row = self._execute("SELECT value FROM meta WHERE key='layout'").fetchone()
            layout = int(row[0]) if row else 0
        if layout != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store layout {layout}, this release uses {SCHEMA_VERSION} "
                             "(batches are indexed per asset on chain since layout 2): anchor it with the release "
                             "that wrote it, or start a new store")

    # -- ingest side --------------------------------------------------------------------------
    def insert_readings(self, items: Sequence[tuple[Reading, bytes, bytes]]) -> list[InsertOutcome]:
        """Insert verified (reading, signature, digest) items in one committed transaction.

        Items whose (device, seq) already exists are not inserted: DUPLICATE if the stored digest is
        the same, CONFLICT otherwise.
        """
        now = time.time()
        outcomes: list[InsertOutcome] = []
        with self._write() as cur:
            for r, sig, digest in items:
                inserted = cur.execute(
                    "INSERT INTO readings (device, seq, asset, period_start, period_end, energy_wh, meter_wh,"
                    " flags, signature, digest, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (device, seq) DO NOTHING",
                    (r.device, _i(r.seq), r.asset_id, _i(r.period_start), _i(r.period_end), _i(r.energy_wh),
                     _i(r.meter_wh), r.flags, sig, digest, now),
                ).rowcount
                if inserted == 1:
                    outcomes.append(InsertOutcome.INSERTED)
                else:
                    row = cur.execute("SELECT digest FROM readings WHERE device=? AND seq=?", (r.device, _i(r.seq))).fetchone()
                    same = row is not None and row[0] == digest
                    outcomes.append(InsertOutcome.DUPLICATE if same else InsertOutcome.CONFLICT)
        return outcomes

    def existing_digest(self, device: bytes, seq: int) -> bytes | None:
        with self._lock:
            row = self._execute("SELECT digest FROM readings WHERE device=? AND seq=?", (device, _i(seq))).fetchone()
        return row[0] if row else None

    def last_seqs(self) -> dict[bytes, int]:
        with self._lock:
            rows = self._execute("SELECT device, MAX(seq) FROM readings GROUP BY device").fetchall()
        return {device: _u(seq) for device, seq in rows}

    def record_alert(self, device: bytes, seq: int, kind: str, detail: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT INTO alerts (device, seq, kind, detail, at) VALUES (?,?,?,?,?)",
                        (device, _i(seq), kind, detail, time.time()))

    def alerts(self) -> list[tuple[bytes, int, str, str]]:
        with self._lock:
            rows = self._execute("SELECT device, seq, kind, detail FROM alerts ORDER BY id").fetchall()
        return [(d, _u(s), k, t) for d, s, k, t in rows]

    # -- relayer side -------------------------------------------------------------------------
    def pending_summary(self) -> list[tuple[bytes, int, int, float]]:
        """Per asset: (asset, pending count, earliest period_start, oldest received_at)."""
        with self._lock:
            rows = self._execute(
                "SELECT asset, COUNT(*), MIN(period_start), MIN(received_at) FROM readings"
                " WHERE batch IS NULL GROUP BY asset"
            ).fetchall()
        return [(a, n, _u(start), received) for a, n, start, received in rows]

    def pending_readings(self, asset_id: bytes, epoch: int, epoch_length: int, limit: int) -> list[StoredReading]:
        """Unbatched readings of ``asset_id`` whose period starts in ``epoch``, oldest first."""
        lo, hi = _i(epoch * epoch_length), _i((epoch + 1) * epoch_length)
        with self._lock:
            rows = self._execute(
                f"SELECT {_COLUMNS} FROM readings WHERE batch IS NULL AND asset=? AND period_start>=? AND period_start<?"
                " ORDER BY period_start, id LIMIT ?",
                (asset_id, lo, hi, limit),
            ).fetchall()
        return [_stored(row) for row in rows]

    def create_batch(self, asset_id: bytes, root: bytes, reading_ids: Sequence[int],
                     energy_wh: int, from_time: int, to_time: int, built_block: int) -> int:
        """Record a batch and assign its readings to it, atomically."""
        with self._write() as cur:
            batch = cur.execute(
                "INSERT INTO batches (asset, root, count, energy_wh, from_time, to_time, status, built_block,"
                " created_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                (asset_id, root, len(reading_ids), str(energy_wh), from_time, to_time,
                 BatchStatus.BUILT.value, built_block, time.time()),
            ).fetchone()[0]
            cur.executemany("UPDATE readings SET batch=? WHERE id=? AND batch IS NULL", [(batch, i) for i in reading_ids])
            if cur.execute("SELECT COUNT(*) FROM readings WHERE batch=?", (batch,)).fetchone()[0] != len(reading_ids):
                raise StoreError("a reading of the new batch was already batched")
        return batch

    def batches(self, status: BatchStatus | None = None) -> list[BatchRecord]:
        query = f"SELECT {_BATCH_COLUMNS} FROM batches"
        args: tuple = ()
        if status is not None:
            query += " WHERE status=?"
            args = (status.value,)
        with self._lock:
            rows = self._execute(query + " ORDER BY id", args).fetchall()
        return [_batch(row) for row in rows]

    def mark_sent(self, batch_ids: Sequence[int], nonce: int, tx_hash: bytes) -> None:
        """Remember a signed transaction before it is broadcast (so a restart can look for it)."""
        with self._write() as cur:
            for b in batch_ids:
                row = cur.execute("SELECT tx_hashes FROM batches WHERE id=?", (b,)).fetchone()
                hashes = bytes(row[0]) if row else b""
                if tx_hash not in {hashes[i:i + 32] for i in range(0, len(hashes), 32)}:
                    hashes += tx_hash
                cur.execute("UPDATE batches SET status=?, nonce=?, tx_hashes=? WHERE id=?",
                            (BatchStatus.SENT.value, nonce, hashes, b))

    def mark_anchored(self, batch_indexes: Mapping[int, int], block_number: int) -> None:
        """Record batches as anchored in ``block_number``: store batch id -> the asset's batch index on chain."""
        with self._write() as cur:
            cur.executemany("UPDATE batches SET status=?, block_number=?, batch_index=? WHERE id=?",
                            [(BatchStatus.ANCHORED.value, block_number, index, b) for b, index in batch_indexes.items()])

    def anchored_since(self, block_number: int) -> list[BatchRecord]:
        """Anchored batches mined at ``block_number`` or later (those a reorg could still undo)."""
        with self._lock:
            rows = self._execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE status=? AND block_number>=?"
                                    " ORDER BY id", (BatchStatus.ANCHORED.value, block_number)).fetchall()
        return [_batch(row) for row in rows]

    def reopen(self, batch_ids: Sequence[int]) -> None:
        """A reorg undid these anchors: back to SENT, keeping their nonce and transactions (so a re-send
        replaces the original transaction instead of racing it)."""
        with self._write() as cur:
            cur.executemany("UPDATE batches SET status=?, block_number=NULL, batch_index=NULL WHERE id=?",
                            [(BatchStatus.SENT.value, b) for b in batch_ids])

    def release_batch(self, batch_id: int) -> None:
        """Forget a batch that can never be anchored; its readings go back to the queue."""
        with self._write() as cur:
            cur.execute("UPDATE readings SET batch=NULL WHERE batch=?", (batch_id,))
            cur.execute("DELETE FROM batches WHERE id=?", (batch_id,))

    def batch_readings(self, batch_id: int) -> list[StoredReading]:
        with self._lock:
            rows = self._execute(f"SELECT {_COLUMNS} FROM readings WHERE batch=? ORDER BY id", (batch_id,)).fetchall()
        return [_stored(row) for row in rows]

    def find_reading(self, device: bytes, seq: int) -> StoredReading | None:
        with self._lock:
            row = self._execute(f"SELECT {_COLUMNS} FROM readings WHERE device=? AND seq=?", (device, _i(seq))).fetchone()
        return _stored(row) if row else None

    def batch(self, batch_id: int) -> BatchRecord | None:
        with self._lock:
            row = self._execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id=?", (batch_id,)).fetchone()
        return _batch(row) if row else None

    def counts(self) -> dict[str, int]:
        """Readings by state (pending, batched, anchored) and batches by status."""
        with self._lock:
            pending = self._execute("SELECT COUNT(*) FROM readings WHERE batch IS NULL").fetchone()[0]
            by_status = dict(self._execute(
                "SELECT b.status, COUNT(*) FROM readings r JOIN batches b ON r.batch=b.id GROUP BY b.status"
            ).fetchall())
            batches = dict(self._execute("SELECT status, COUNT(*) FROM batches GROUP BY status").fetchall())
        return {
            "readings_pending": pending,
            "readings_batched": by_status.get("built", 0) + by_status.get("sent", 0),
            "readings_anchored": by_status.get("anchored", 0),
            **{f"batches_{s.value}": batches.get(s.value, 0) for s in BatchStatus},
        }

    def bind(self, binding: OracleBinding) -> None:
        """Tie the store to ``binding`` on first use; refuse a store already tied to another oracle or chain."""
        with self._lock:
            existing = self.binding()
            if existing is None:
                with self._write() as cur:
                    cur.executemany("INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT (key) DO NOTHING", [
                        ("chain_id", str(binding.chain_id)), ("genesis", binding.genesis.hex()), ("oracle", binding.oracle)])
            elif existing != binding:
                raise StoreError(f"{self.path} holds the readings and batches of {existing.describe()}, not of "
                                 f"{binding.describe()}: use another store for it")

    def binding(self) -> OracleBinding | None:
        """The oracle this store's batches go to, once a relayer has used it."""
        with self._lock:
            meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
        if "oracle" not in meta:
            return None
        return OracleBinding(int(meta["chain_id"]), bytes.fromhex(meta["genesis"]), meta["oracle"])

    # -- copy of the chain's batch roots (for proofs) -------------------------------------------
    def chain_roots(self, asset_id: bytes) -> tuple[list[bytes], int]:
        """The asset's batch roots as last read from the chain's logs, and the block read up to (-1: never)."""
        with self._lock:
            roots = [r for (r,) in self._execute(
                "SELECT root FROM chain_roots WHERE asset=? ORDER BY batch_index", (asset_id,)).fetchall()]
            row = self._execute("SELECT synced_block FROM chain_sync WHERE asset=?", (asset_id,)).fetchone()
        return roots, row[0] if row else -1

    def add_chain_roots(self, asset_id: bytes, first_index: int, roots: Sequence[bytes], synced_block: int) -> None:
        """Append roots ``first_index``, ``first_index + 1``, … read from the logs up to ``synced_block``."""
        with self._write() as cur:
            cur.executemany("INSERT INTO chain_roots (asset, batch_index, root) VALUES (?,?,?)",
                            [(asset_id, first_index + i, root) for i, root in enumerate(roots)])
            cur.execute("INSERT INTO chain_sync (asset, synced_block) VALUES (?,?)"
                        " ON CONFLICT (asset) DO UPDATE SET synced_block=excluded.synced_block", (asset_id, synced_block))

    def forget_chain_roots(self, asset_id: bytes) -> None:
        """Drop the copy (it no longer matches the chain, e.g. after a reorg): it is read again."""
        with self._write() as cur:
            cur.execute("DELETE FROM chain_roots WHERE asset=?", (asset_id,))
            cur.execute("DELETE FROM chain_sync WHERE asset=?", (asset_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SqliteStore(SqlStore):
    """The store on one SQLite file in WAL mode (no server); safe to share between threads."""

    begin = "BEGIN IMMEDIATE"  # take the write lock at once: two writers never deadlock on an upgrade

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA busy_timeout=10000")
        super().__init__(str(path), db)

    def _run_script(self, script: str) -> None:
        self._db.executescript(script)

    def _has_table(self, name: str) -> bool:
        return self._execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()[0] > 0


def open_store(location: str | Path, *, synchronous: str = "FULL") -> SqlStore:
    """The store at ``location``: a ``postgresql://`` URL (needs the ``postgres`` extra) or an SQLite file."""
    if str(location).startswith(("postgresql://", "postgres://")):
        from .pg_store import PostgresStore

        return PostgresStore(str(location))
    return SqliteStore(location, synchronous=synchronous)


_COLUMNS = "id, device, seq, asset, period_start, period_end, energy_wh, meter_wh, flags, signature, digest, batch"
_BATCH_COLUMNS = ("id, asset, root, count, energy_wh, from_time, to_time, status, nonce, tx_hashes,"
                  " block_number, batch_index, built_block")


def _stored(row: tuple) -> StoredReading:
    rid, device, seq, asset, start, end, energy, meter, flags, sig, digest, batch = row
    reading = Reading(device, asset, _u(seq), _u(start), _u(end), _u(energy), _u(meter), flags)
    return StoredReading(rid, reading, sig, digest, batch)


def _batch(row: tuple) -> BatchRecord:
    bid, asset, root, count, energy, start, end, status, nonce, hashes, block, index, built = row
    tx_hashes = tuple(hashes[i:i + 32] for i in range(0, len(hashes), 32))
    return BatchRecord(bid, asset, root, count, int(energy), start, end, BatchStatus(status), nonce,
                       tx_hashes, block, index, built)


def chunks(items: Iterable, size: int) -> Iterable[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
