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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from .reading import Reading


class StoreError(RuntimeError):
    """The store is unusable (schema mismatch, closed)."""


class InsertOutcome(str, Enum):
    """What the store transaction decided about one reading (the per-device rules live here, so any number
    of ingest workers on one database agree)."""

    INSERTED = "inserted"
    DUPLICATE = "duplicate"  # same device + seq, same content: idempotent
    CONFLICT = "conflict"  # same device + seq, other content
    SEQ_NOT_INCREASING = "seq_not_increasing"  # seq not above the device's last stored seq
    PERIOD_OVERLAP = "period_overlap"  # periodStart before the end of the device's previous stored period
    DEVICE_REVOKED = "device_revoked"  # the store knows the device was revoked: nothing new from it counts


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
    batch: int | None
    received_at: float = 0.0  # when the store took it (the store's clock): the revocation cut-off compares it
    leaf: int | None = None  # rank of its leaf in its batch's tree (``batch_tree.py``), once batched with one


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
    def existing_reading(self, device: bytes, seq: int) -> Reading | None: ...
    def last_seqs(self) -> dict[bytes, int]: ...
    def record_alert(self, device: bytes, seq: int, kind: str, detail: str) -> None: ...
    def mark_revoked(self, revocations: Mapping[bytes, int]) -> None: ...
    def revocations(self, devices: Iterable[bytes]) -> dict[bytes, int]: ...
    def batch_has_revoked_device(self, batch_id: int) -> bool: ...
    def drop_readings(self, readings: Sequence[StoredReading], kind: str, detail: str) -> None: ...
    def pending_summary(self, cap: int | None = None) -> list[tuple[bytes, int, int, float]]: ...
    def pending_readings(self, asset_id: bytes, epoch: int, epoch_length: int, limit: int) -> list[StoredReading]: ...
    def create_batch(self, asset_id: bytes, root: bytes, reading_ids: Sequence[int],
                     energy_wh: int, from_time: int, to_time: int, built_block: int,
                     leaf_ranks: Sequence[int] | None = None, tree_top: bytes | None = None) -> int: ...
    def batches(self, status: BatchStatus) -> list[BatchRecord]: ...
    def mark_sent(self, batch_ids: Sequence[int], nonce: int, tx_hash: bytes) -> None: ...
    def mark_anchored(self, batch_indexes: Mapping[int, int], block_number: int) -> None: ...
    def anchored_since(self, block_number: int) -> list[BatchRecord]: ...
    def reopen(self, batch_ids: Sequence[int]) -> None: ...
    def release_batch(self, batch_id: int) -> None: ...
    def batch_readings(self, batch_id: int) -> list[StoredReading]: ...
    def batch_tree_top(self, batch_id: int) -> bytes | None: ...
    def batch_readings_by_rank(self, batch_id: int, ranks: Sequence[int]) -> dict[int, StoredReading]: ...
    def find_reading(self, device: bytes, seq: int) -> StoredReading | None: ...
    def counts(self) -> dict[str, int]: ...
    def bind(self, binding: OracleBinding) -> None: ...
    def binding(self) -> OracleBinding | None: ...
    def chain_leaves(self, asset_id: bytes) -> tuple[list[bytes], int]: ...
    def add_chain_leaves(self, asset_id: bytes, first_index: int, leaves: Sequence[bytes], synced_block: int) -> None: ...
    def forget_chain_leaves(self, asset_id: bytes) -> None: ...
    def close(self) -> None: ...


SCHEMA_VERSION = 4  # 4: no digest column (hashed again from the fields), small uint64 values stored as they are,
# leaf ranks and tree tops of batches

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    id {id},
    asset {blob} NOT NULL UNIQUE
);
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
    tree_top {blob},
    UNIQUE (asset, root)
);
{readings}
CREATE INDEX IF NOT EXISTS readings_pending ON readings (asset_ref, period_start, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX IF NOT EXISTS readings_pending_age ON readings (asset_ref, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX IF NOT EXISTS readings_batch ON readings (batch, leaf);
CREATE TABLE IF NOT EXISTS devices (
    device {blob} PRIMARY KEY,
    last_seq {int},
    last_end {int},
    revoked_at {int}
);
CREATE TABLE IF NOT EXISTS mmr_nodes (
    asset {blob} NOT NULL,
    height {int} NOT NULL,
    idx {int} NOT NULL,
    hash {blob} NOT NULL,
    PRIMARY KEY (asset, height, idx)
);
CREATE TABLE IF NOT EXISTS chain_sync (
    asset {blob} PRIMARY KEY,
    size {int} NOT NULL,
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

# A reading's row: what the device signed, its signature, and where it went. Its EIP-712 digest is not
# stored: it follows from the fields and the oracle's domain, and is hashed again where a tree needs it.
_READINGS = """{reading_before}
CREATE TABLE IF NOT EXISTS readings (
    {reading_id},
    device {blob} NOT NULL,
    seq {int} NOT NULL,
    asset_ref {int} NOT NULL,
    period_start {int} NOT NULL,
    period_end {int} NOT NULL,
    energy_wh {int} NOT NULL,
    meter_wh {int} NOT NULL,
    flags {int} NOT NULL,
    signature {blob} NOT NULL,
    received_at {real} NOT NULL,
    batch {int} REFERENCES batches(id),
    leaf {int},
    dropped {int} NOT NULL DEFAULT 0{reading_keys}
){partitioned};
{reading_extra}"""

# The columns a layout-3 store's rows carry into layout 4 (all but the digest).
_KEPT_COLUMNS = ("id, device, seq, asset_ref, period_start, period_end, energy_wh, meter_wh, flags, signature,"
                 " received_at, batch, dropped")

_PENDING = "batch IS NULL AND dropped = 0"

# uint64 values do not all fit signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT): those from 2**63 up
# are stored as their two's complement (negative), all others as they are, so the usual values take 1-4 bytes
# in an SQLite row, not 8. Order holds within [0, 2**63), which holds every time the ingest accepts (a period
# may end at most the clock skew ahead); range queries on period_start split at 2**63 (``_stored_ranges``).
_HALF = 2**63


def _i(v: int) -> int:
    return v if v < _HALF else v - 2 * _HALF


def _u(v: int) -> int:
    return v if v >= 0 else v + 2 * _HALF


def _stored_ranges(lo: int, hi: int) -> list[tuple[int, int | None]]:
    """The stored-value ranges ``[a, b)`` (b None: no upper bound) of the uint64 range ``[lo, hi)``, in order."""
    out: list[tuple[int, int | None]] = []
    if lo < _HALF:
        out.append((lo, hi if hi < _HALF else None))
    if hi > _HALF:
        out.append((_i(max(lo, _HALF)), _i(hi) if hi < 2 * _HALF else 0))
    return out


def _from_layout_3(column: str) -> str:
    """SQL turning a layout-3 value (uint64 shifted by -2**63) into this layout's."""
    return (f"CASE WHEN {column} < 0 THEN {column} + 9223372036854775807 + 1"
            f" ELSE {column} - 9223372036854775807 - 1 END")


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

    One connection, shared by the ingest and relayer threads under a lock; every write is one transaction.
    The per-device rules (seq strictly increasing, periods not overlapping, nothing new from a revoked
    device, one content per (device, seq)) are decided inside the insert transaction against the
    ``devices`` row, locked for the transaction: any number of ingest processes may share one database
    and route any device to any of them."""

    placeholder = "?"
    begin = "BEGIN"
    for_update = ""  # row locks (PostgreSQL); SQLite's BEGIN IMMEDIATE already serialises writers
    types = {"id": "INTEGER PRIMARY KEY", "blob": "BLOB", "int": "INTEGER", "numeric": "INTEGER",
             "real": "REAL", "empty_blob": "x''"}
    readings_layout = {"reading_id": "id INTEGER PRIMARY KEY", "reading_keys": ",\n    UNIQUE (device, seq)",
                       "partitioned": "", "reading_before": "", "reading_extra": ""}
    in_chunk = 500  # devices per ``IN (...)`` list

    def __init__(self, path: str, db: Any, *, clock: Callable[[], float] = time.time):
        self.path = path
        self._db = db
        self._lock = threading.RLock()
        self.clock = clock  # received_at of each reading
        self._asset_refs: dict[bytes, int] = {}
        self._assets: dict[int, bytes] = {}
        try:
            layout = self._layout()
            with self._write() as cur:
                if layout == 3:
                    self._leave_layout_3(cur)
                for statement in self._schema():
                    cur.execute(statement)
                if layout == 3:
                    self._copy_layout_3(cur)
                cur.execute("INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                            ("layout", str(SCHEMA_VERSION)))
            self._maintain()
        except BaseException:
            db.close()
            raise

    # -- what differs between databases --------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    def _maintain(self) -> None:
        """Housekeeping the relayer's loop runs now and then (PostgreSQL: partitions ahead of time)."""

    def _schema(self) -> list[str]:
        readings = _READINGS.format(**self.types, **self.readings_layout)
        script = _SCHEMA.replace("{readings}", readings.replace("{", "{{").replace("}", "}}")).format(**self.types)
        return [s.strip() for s in script.split(";") if s.strip()]

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

    def _layout(self) -> int | None:
        """The store's layout (None: a new store). Layout 3 is migrated on open; older ones are refused."""
        if not self._has_table("batches"):
            return None
        layout = 0
        if self._has_table("meta"):
            row = self._execute("SELECT value FROM meta WHERE key='layout'").fetchone()
            layout = int(row[0]) if row else 0
        if layout not in (3, SCHEMA_VERSION):
            raise StoreError(f"{self.path} has store layout {layout}, this release uses {SCHEMA_VERSION} and "
                             "migrates layout 3 (per-device rules in the store since layout 3): anchor it with "
                             "the release that wrote it, or start a new store")
        return layout

    def _leave_layout_3(self, cur: _Cursor) -> None:
        """Set a layout-3 store's readings aside (their rows are copied without the digest, see
        :meth:`_copy_layout_3`); batches gain the tree-top column (empty: such batches' proofs hash
        their whole tree)."""
        for index in ("readings_pending", "readings_pending_age", "readings_batch"):
            cur.execute(f"DROP INDEX IF EXISTS {index}")
        cur.execute("ALTER TABLE readings RENAME TO readings_layout3")
        cur.execute(f"ALTER TABLE batches ADD COLUMN tree_top {self.types['blob']}")

    def _copy_layout_3(self, cur: _Cursor) -> None:
        """Copy the rows without their digest, uint64 values in this layout's encoding (``_i``)."""
        uints = {"seq", "period_start", "period_end", "energy_wh", "meter_wh"}
        values = ", ".join(_from_layout_3(c) if c in uints else c for c in _KEPT_COLUMNS.split(", "))
        cur.execute(f"INSERT INTO readings ({_KEPT_COLUMNS}) SELECT {values} FROM readings_layout3")
        cur.execute("DROP TABLE readings_layout3")
        cur.execute("UPDATE devices SET " + ", ".join(f"{c} = {_from_layout_3(c)}" for c in ("last_seq", "last_end", "revoked_at")))
        cur.execute(f"UPDATE alerts SET seq = {_from_layout_3('seq')}")

    # -- small asset ids -----------------------------------------------------------------------
    def _asset_ref(self, cur: _Cursor, asset: bytes, new: dict[bytes, int]) -> int:
        """The asset's small id (rows carry it instead of 32 bytes). Ids made in a transaction are only
        cached once it commits (``new``), so a rolled-back one is never used."""
        ref = self._asset_refs.get(asset) or new.get(asset)
        if ref is None:
            cur.execute("INSERT INTO assets (asset) VALUES (?) ON CONFLICT (asset) DO NOTHING", (asset,))
            ref = cur.execute("SELECT id FROM assets WHERE asset=?", (asset,)).fetchone()[0]
            new[asset] = ref
        return ref

    def _known_ref(self, asset: bytes) -> int | None:
        ref = self._asset_refs.get(asset)
        if ref is None:
            row = self._execute("SELECT id FROM assets WHERE asset=?", (asset,)).fetchone()
            if row is None:
                return None
            ref = self._remember(asset, row[0])
        return ref

    def _remember(self, asset: bytes, ref: int) -> int:
        self._asset_refs[asset] = ref
        self._assets[ref] = asset
        return ref

    def _asset_of(self, ref: int) -> bytes:
        asset = self._assets.get(ref)
        if asset is None:
            asset = bytes(self._execute("SELECT asset FROM assets WHERE id=?", (ref,)).fetchone()[0])
            self._remember(asset, ref)
        return asset

    def _stored(self, row: tuple) -> StoredReading:
        rid, device, seq, ref, start, end, energy, meter, flags, sig, batch, received, leaf = row
        reading = Reading(bytes(device), self._asset_of(ref), _u(seq), _u(start), _u(end), _u(energy), _u(meter), flags)
        return StoredReading(rid, reading, bytes(sig), batch, received, leaf)

    def _stored_content(self, cur: _Cursor, device: bytes, seq: int) -> Reading | None:
        """What the store holds as reading ``seq`` of ``device`` (the content a resend is compared with)."""
        row = cur.execute("SELECT a.asset, r.period_start, r.period_end, r.energy_wh, r.meter_wh, r.flags FROM readings r"
                          " JOIN assets a ON a.id = r.asset_ref WHERE r.device=? AND r.seq=?", (device, _i(seq))).fetchone()
        if row is None:
            return None
        asset, start, end, energy, meter, flags = row
        return Reading(device, bytes(asset), seq, _u(start), _u(end), _u(energy), _u(meter), flags)

    # -- ingest side --------------------------------------------------------------------------
    def _lock_devices(self, cur: _Cursor, devices: Sequence[bytes]) -> dict[bytes, list]:
        """The ``devices`` rows of ``devices`` (sorted), locked until the transaction ends; missing rows are
        created. Each value is ``[last_seq, last_end, revoked_at]`` (None: never)."""
        state: dict[bytes, list] = {}

        def select(chunk: Sequence[bytes]) -> None:
            marks = ",".join("?" * len(chunk))
            for device, seq, end, revoked in cur.execute(
                    f"SELECT device, last_seq, last_end, revoked_at FROM devices WHERE device IN ({marks})"
                    f" ORDER BY device{self.for_update}", list(chunk)).fetchall():
                state[bytes(device)] = [None if seq is None else _u(seq), None if end is None else _u(end),
                                        None if revoked is None else _u(revoked)]

        for chunk in chunks(devices, self.in_chunk):
            select(chunk)
        missing = [d for d in devices if d not in state]
        if missing:
            cur.executemany("INSERT INTO devices (device) VALUES (?) ON CONFLICT (device) DO NOTHING",
                            [(d,) for d in missing])
            for chunk in chunks(missing, self.in_chunk):  # ours, or another worker's that committed meanwhile
                select(chunk)
        return state

    def insert_readings(self, items: Sequence[tuple[Reading, bytes, bytes]]) -> list[InsertOutcome]:
        """Insert verified (reading, signature, digest) items in one committed transaction.

        Per device, in the order given: an existing (device, seq) is DUPLICATE if the stored content is the
        same (so is its digest: one oracle's domain per store), CONFLICT otherwise; else a seq not above the
        device's last stored seq is SEQ_NOT_INCREASING, a reading of a device the store knows revoked is
        DEVICE_REVOKED, and a period starting before the end of the device's previous stored period is
        PERIOD_OVERLAP. Only INSERTED readings are stored.
        """
        now = self.clock()
        outcomes: list[InsertOutcome] = []
        new_assets: dict[bytes, int] = {}
        with self._write() as cur:
            state = self._lock_devices(cur, sorted({r.device for r, _, _ in items}))
            for asset in sorted({r.asset_id for r, _, _ in items}):  # new asset rows in one order: no deadlock
                self._asset_ref(cur, asset, new_assets)
            rows, seen, changed = [], {}, set()
            for r, sig, digest in items:
                st = state[r.device]
                last_seq, last_end, revoked = st
                if (r.device, r.seq) in seen:
                    outcome = InsertOutcome.DUPLICATE if seen[(r.device, r.seq)] == r else InsertOutcome.CONFLICT
                elif last_seq is not None and r.seq <= last_seq:
                    stored = self._stored_content(cur, r.device, r.seq)
                    if stored is None:
                        outcome = InsertOutcome.SEQ_NOT_INCREASING
                    else:
                        outcome = InsertOutcome.DUPLICATE if stored == r else InsertOutcome.CONFLICT
                elif revoked is not None:
                    outcome = InsertOutcome.DEVICE_REVOKED
                elif last_end is not None and r.period_start < last_end:
                    outcome = InsertOutcome.PERIOD_OVERLAP
                else:
                    outcome = InsertOutcome.INSERTED
                    rows.append((r.device, _i(r.seq), self._asset_ref(cur, r.asset_id, new_assets), _i(r.period_start),
                                 _i(r.period_end), _i(r.energy_wh), _i(r.meter_wh), r.flags, sig, now))
                    seen[(r.device, r.seq)] = r
                    st[0], st[1] = r.seq, r.period_end
                    changed.add(r.device)
                outcomes.append(outcome)
            if rows:
                cur.executemany(
                    "INSERT INTO readings (device, seq, asset_ref, period_start, period_end, energy_wh, meter_wh,"
                    " flags, signature, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                cur.executemany("UPDATE devices SET last_seq=?, last_end=? WHERE device=?",
                                [(_i(state[d][0]), _i(state[d][1]), d) for d in sorted(changed)])
        for asset, ref in new_assets.items():
            self._remember(asset, ref)
        return outcomes

    def existing_reading(self, device: bytes, seq: int) -> Reading | None:
        """The stored content of reading ``seq`` of ``device`` (a resend of the same content is a duplicate)."""
        with self._lock:
            return self._stored_content(_Cursor(self._db.cursor(), self.placeholder), device, seq)

    def last_seqs(self) -> dict[bytes, int]:
        with self._lock:
            rows = self._execute("SELECT device, last_seq FROM devices WHERE last_seq IS NOT NULL").fetchall()
        return {bytes(device): _u(seq) for device, seq in rows}

    def device_states(self, limit: int = 1_000) -> list[tuple[bytes, int | None, int | None, int | None]]:
        """(device, last seq, end of its last stored period, revoked_at) of up to ``limit`` devices."""
        with self._lock:
            rows = self._execute("SELECT device, last_seq, last_end, revoked_at FROM devices ORDER BY device LIMIT ?",
                                 (limit,)).fetchall()
        return [(bytes(d), *(None if v is None else _u(v) for v in (s, e, r))) for d, s, e, r in rows]

    def device_summary(self, limit: int = 100, device: bytes | None = None) -> list[dict[str, Any]]:
        """Per device (up to ``limit``, or just ``device``): last seq, revocation, readings pending / batched /
        anchored / dropped (what ``rwa oracle status`` prints)."""
        where, args = ("WHERE device=?", [device]) if device is not None else ("", [])
        with self._lock:
            rows = self._execute(
                "SELECT d.device, d.last_seq, d.revoked_at,"
                f" SUM(CASE WHEN r.id IS NOT NULL AND r.{_PENDING} THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN b.status IN ('built', 'sent') THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN b.status = 'anchored' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN r.dropped = 1 THEN 1 ELSE 0 END)"
                f" FROM (SELECT * FROM devices {where} ORDER BY device LIMIT ?) d"
                " LEFT JOIN readings r ON r.device = d.device LEFT JOIN batches b ON r.batch = b.id"
                " GROUP BY d.device, d.last_seq, d.revoked_at ORDER BY d.device", [*args, limit]).fetchall()
        return [{"device": bytes(d), "last_seq": None if s is None else _u(s), "revoked_at": None if rv is None else _u(rv),
                 "pending": int(p or 0), "batched": int(bt or 0), "anchored": int(a or 0), "dropped": int(dr or 0)}
                for d, s, rv, p, bt, a, dr in rows]

    def record_alert(self, device: bytes, seq: int, kind: str, detail: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT INTO alerts (device, seq, kind, detail, at) VALUES (?,?,?,?,?)",
                        (device, _i(seq), kind, detail, time.time()))

    def alerts(self) -> list[tuple[bytes, int, str, str]]:
        with self._lock:
            rows = self._execute("SELECT device, seq, kind, detail FROM alerts ORDER BY id").fetchall()
        return [(bytes(d), _u(s), k, t) for d, s, k, t in rows]

    # -- revocations ---------------------------------------------------------------------------
    def mark_revoked(self, revocations: Mapping[bytes, int]) -> None:
        """Record devices revoked at (chain time) ``revoked_at``: the store takes nothing new from them."""
        if not revocations:
            return
        with self._write() as cur:
            items = sorted(revocations.items())
            cur.executemany("INSERT INTO devices (device) VALUES (?) ON CONFLICT (device) DO NOTHING",
                            [(d,) for d, _ in items])
            cur.executemany("UPDATE devices SET revoked_at=? WHERE device=? AND (revoked_at IS NULL OR revoked_at>?)",
                            [(_i(at), d, _i(at)) for d, at in items])

    def revocations(self, devices: Iterable[bytes]) -> dict[bytes, int]:
        """The revocation times the store knows for these devices (absent: not revoked as far as it knows)."""
        out: dict[bytes, int] = {}
        with self._lock:
            for chunk in chunks(sorted(set(devices)), self.in_chunk):
                marks = ",".join("?" * len(chunk))
                for d, at in self._execute(f"SELECT device, revoked_at FROM devices WHERE revoked_at IS NOT NULL"
                                           f" AND device IN ({marks})", chunk).fetchall():
                    out[bytes(d)] = _u(at)
        return out

    def batch_has_revoked_device(self, batch_id: int) -> bool:
        """Whether any device with readings in the batch has a revocation recorded (one query, no rows read
        back: most batches have none, and then none of their readings can be cut off)."""
        with self._lock:
            row = self._execute("SELECT 1 FROM readings r JOIN devices d ON d.device = r.device"
                                " WHERE r.batch=? AND d.revoked_at IS NOT NULL LIMIT 1", (batch_id,)).fetchone()
        return row is not None

    def drop_readings(self, readings: Sequence[StoredReading], kind: str, detail: str) -> None:
        """Never anchor these pending readings (e.g. their device was revoked before they arrived); one
        alert each."""
        if not readings:
            return
        now = time.time()
        with self._write() as cur:
            cur.executemany(f"UPDATE readings SET dropped=1 WHERE id=? AND {_PENDING}", [(r.id,) for r in readings])
            cur.executemany("INSERT INTO alerts (device, seq, kind, detail, at) VALUES (?,?,?,?,?)",
                            [(r.reading.device, _i(r.reading.seq), kind, detail, now) for r in readings])

    # -- relayer side -------------------------------------------------------------------------
    def pending_summary(self, cap: int | None = None) -> list[tuple[bytes, int, int, float]]:
        """Per asset with pending readings: (asset, pending count, earliest period_start, oldest received_at).

        Index lookups per asset, not a scan of the backlog: the count stops at ``cap`` if given (the relayer
        only needs to know whether a full batch is waiting)."""
        self._maintain()
        out = []
        with self._lock:
            assets = self._execute("SELECT id, asset FROM assets ORDER BY id").fetchall()
            for ref, asset in assets:
                self._remember(bytes(asset), ref)
                earliest = self._pending_starting_in("period_start", ref, 0, 2 * _HALF, 1)
                if not earliest:
                    continue
                first = earliest[0]
                oldest = self._execute(f"SELECT received_at FROM readings WHERE asset_ref=? AND {_PENDING}"
                                       " ORDER BY asset_ref, id LIMIT 1", (ref,)).fetchone()
                limit = "" if cap is None else f" LIMIT {int(cap)}"
                count = self._execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM readings WHERE asset_ref=? AND {_PENDING}"
                                      f"{limit}) t", (ref,)).fetchone()[0]
                out.append((bytes(asset), count, _u(first[0]), oldest[0] if oldest else first[0]))
        return out

    def pending_readings(self, asset_id: bytes, epoch: int, epoch_length: int, limit: int) -> list[StoredReading]:
        """Unbatched readings of ``asset_id`` whose period starts in ``epoch``, oldest first."""
        with self._lock:
            ref = self._known_ref(asset_id)
            if ref is None:
                return []
            rows = self._pending_starting_in(_COLUMNS, ref, epoch * epoch_length, (epoch + 1) * epoch_length, limit)
        return [self._stored(row) for row in rows]

    def _pending_starting_in(self, columns: str, ref: int, lo: int, hi: int, limit: int) -> list:
        """Up to ``limit`` pending rows of asset ``ref`` whose period starts in the uint64 range [lo, hi), by
        period start then id (the stored values split at 2**63: ``_stored_ranges``). Caller holds the lock."""
        rows: list = []
        for start, end in _stored_ranges(lo, hi):
            if len(rows) >= limit:
                break
            below = "" if end is None else " AND period_start<?"
            rows += self._execute(
                f"SELECT {columns} FROM readings WHERE asset_ref=? AND {_PENDING} AND period_start>=?{below}"
                " ORDER BY asset_ref, period_start, id LIMIT ?",
                (ref, start, *(() if end is None else (end,)), limit - len(rows)),
            ).fetchall()
        return rows

    def create_batch(self, asset_id: bytes, root: bytes, reading_ids: Sequence[int],
                     energy_wh: int, from_time: int, to_time: int, built_block: int,
                     leaf_ranks: Sequence[int] | None = None, tree_top: bytes | None = None) -> int:
        """Record a batch and assign its readings to it, atomically.

        ``leaf_ranks`` (one per reading id, ``batch_tree.ranks``) and ``tree_top`` (``batch_tree.top``) let a
        proof hash only a few dozen of the batch's readings; without them a proof hashes the whole batch."""
        if leaf_ranks is None:
            leaf_ranks = [None] * len(reading_ids)  # type: ignore[list-item]
        elif len(leaf_ranks) != len(reading_ids):
            raise StoreError("one leaf rank per reading")
        with self._write() as cur:
            batch = cur.execute(
                "INSERT INTO batches (asset, root, count, energy_wh, from_time, to_time, status, built_block,"
                " created_at, tree_top) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (asset_id, root, len(reading_ids), str(energy_wh), from_time, to_time,
                 BatchStatus.BUILT.value, built_block, time.time(), tree_top),
            ).fetchone()[0]
            self._assign(cur, batch, reading_ids, leaf_ranks)
            if cur.execute("SELECT COUNT(*) FROM readings WHERE batch=?", (batch,)).fetchone()[0] != len(reading_ids):
                raise StoreError("a reading of the new batch was already batched")
        return batch

    def _assign(self, cur: _Cursor, batch: int, reading_ids: Sequence[int], leaf_ranks: Sequence[int | None]) -> None:
        """Put the still-pending readings ``reading_ids`` in ``batch``, each with its leaf rank."""
        cur.executemany(f"UPDATE readings SET batch=?, leaf=? WHERE id=? AND {_PENDING}",
                        [(batch, rank, i) for i, rank in zip(reading_ids, leaf_ranks)])

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
            cur.execute("UPDATE readings SET batch=NULL, leaf=NULL WHERE batch=?", (batch_id,))
            cur.execute("DELETE FROM batches WHERE id=?", (batch_id,))

    def batch_readings(self, batch_id: int) -> list[StoredReading]:
        with self._lock:
            rows = self._execute(f"SELECT {_COLUMNS} FROM readings WHERE batch=? ORDER BY id", (batch_id,)).fetchall()
        return [self._stored(row) for row in rows]

    def batch_tree_top(self, batch_id: int) -> bytes | None:
        """The top levels of the batch's tree the relayer stored with it (None: not stored)."""
        with self._lock:
            row = self._execute("SELECT tree_top FROM batches WHERE id=?", (batch_id,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def batch_readings_by_rank(self, batch_id: int, ranks: Sequence[int]) -> dict[int, StoredReading]:
        """The batch's readings whose leaves have these ranks (one indexed lookup per rank)."""
        out: dict[int, StoredReading] = {}
        with self._lock:
            for chunk in chunks(sorted(set(ranks)), self.in_chunk):
                marks = ",".join("?" * len(chunk))
                for row in self._execute(f"SELECT {_COLUMNS} FROM readings WHERE batch=? AND leaf IN ({marks})",
                                         (batch_id, *chunk)).fetchall():
                    stored = self._stored(row)
                    out[stored.leaf] = stored  # type: ignore[index]
        return out

    def find_reading(self, device: bytes, seq: int) -> StoredReading | None:
        with self._lock:
            row = self._execute(f"SELECT {_COLUMNS} FROM readings WHERE device=? AND seq=?", (device, _i(seq))).fetchone()
        return self._stored(row) if row else None

    def device_readings(self, device: bytes, limit: int = 100) -> list[StoredReading]:
        """The device's stored readings, newest first."""
        with self._lock:
            rows = self._execute(f"SELECT {_COLUMNS} FROM readings WHERE device=? ORDER BY seq DESC LIMIT ?",
                                 (device, limit)).fetchall()
        return [self._stored(row) for row in rows]

    def batch(self, batch_id: int) -> BatchRecord | None:
        with self._lock:
            row = self._execute(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id=?", (batch_id,)).fetchone()
        return _batch(row) if row else None

    def counts(self) -> dict[str, int]:
        """Readings by state (pending, batched, anchored, dropped) and batches by status."""
        with self._lock:
            pending = self._execute(f"SELECT COUNT(*) FROM readings WHERE {_PENDING}").fetchone()[0]
            dropped = self._execute("SELECT COUNT(*) FROM readings WHERE dropped=1").fetchone()[0]
            by_status = dict(self._execute(
                "SELECT b.status, COUNT(*) FROM readings r JOIN batches b ON r.batch=b.id GROUP BY b.status"
            ).fetchall())
            batches = dict(self._execute("SELECT status, COUNT(*) FROM batches GROUP BY status").fetchall())
        return {
            "readings_pending": pending,
            "readings_batched": by_status.get("built", 0) + by_status.get("sent", 0),
            "readings_anchored": by_status.get("anchored", 0),
            "readings_dropped": dropped,
            **{f"batches_{s.value}": batches.get(s.value, 0) for s in BatchStatus},
        }

    def prune_anchored(self, before_time: int) -> int:
        """Retention: delete the readings of anchored batches whose span ended before ``before_time``
        (their batches, roots and the devices' last seq and period stay, so the rules still hold; proofs
        of pruned readings can no longer be built). Returns how many readings were deleted."""
        with self._write() as cur:
            ids = [b for (b,) in cur.execute("SELECT id FROM batches WHERE status=? AND to_time<?",
                                             (BatchStatus.ANCHORED.value, before_time)).fetchall()]
            deleted = 0
            for chunk in chunks(ids, self.in_chunk):
                marks = ",".join("?" * len(chunk))
                deleted += cur.execute(f"DELETE FROM readings WHERE batch IN ({marks})", chunk).rowcount
        return deleted

    def bind(self, binding: OracleBinding) -> None:
        """Tie the store to ``binding`` on first use; refuse a store already tied to another oracle or chain."""
        with self._lock:
            existing = self.binding()
            if existing is None:
                with self._write() as cur:
                    cur.executemany("INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT (key) DO NOTHING", [
                        ("chain_id", str(binding.chain_id)), ("genesis", binding.genesis.hex()), ("oracle", binding.oracle)])
                existing = self.binding()
            if existing != binding:
                raise StoreError(f"{self.path} holds the readings and batches of {existing.describe()}, not of "
                                 f"{binding.describe()}: use another store for it")

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                        (key, value))

    def binding(self) -> OracleBinding | None:
        """The oracle this store's batches go to, once a relayer has used it."""
        with self._lock:
            meta = dict(self._execute("SELECT key, value FROM meta").fetchall())
        if "oracle" not in meta:
            return None
        return OracleBinding(int(meta["chain_id"]), bytes.fromhex(meta["genesis"]), meta["oracle"])

    # -- copy of the chain's mountain range of batches (for proofs) -----------------------------
    def chain_leaves(self, asset_id: bytes) -> tuple[list[bytes], int]:
        """The asset's batch leaves (``mmr.leaf``: root and span) as last read from the chain's logs, and the
        block read up to (-1: never)."""
        with self._lock:
            leaves = [bytes(r) for (r,) in self._execute(
                "SELECT hash FROM mmr_nodes WHERE asset=? AND height=0 ORDER BY idx", (asset_id,)).fetchall()]
        return leaves, self.chain_size(asset_id)[1]

    def chain_size(self, asset_id: bytes) -> tuple[int, int]:
        """How many batch leaves of the asset the copy holds, and the block read up to (-1: never)."""
        with self._lock:
            row = self._execute("SELECT size, synced_block FROM chain_sync WHERE asset=?", (asset_id,)).fetchone()
        return (row[0], row[1]) if row else (0, -1)

    def mmr_nodes(self, asset_id: bytes, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Nodes of the asset's mountain range by (height, index at that height); height 0 are batch leaves."""
        out = {}
        with self._lock:
            for height, idx in positions:
                row = self._execute("SELECT hash FROM mmr_nodes WHERE asset=? AND height=? AND idx=?",
                                    (asset_id, height, idx)).fetchone()
                if row is not None:
                    out[(height, idx)] = bytes(row[0])
        return out

    def add_chain_leaves(self, asset_id: bytes, first_index: int, leaves: Sequence[bytes], synced_block: int) -> None:
        """Append leaves ``first_index``, ``first_index + 1``, … read from the logs up to ``synced_block``, and
        the inner nodes they complete (each append costs O(1) amortised; proofs then read O(log n) nodes)."""
        from .mmr import parent

        with self._write() as cur:
            row = cur.execute("SELECT size FROM chain_sync WHERE asset=?", (asset_id,)).fetchone()
            size = row[0] if row else 0
            if leaves and first_index != size:
                raise StoreError(f"leaves from {first_index} appended to a copy of {size}")
            made: dict[tuple[int, int], bytes] = {}

            def node(height: int, idx: int) -> bytes:
                if (height, idx) in made:
                    return made[(height, idx)]
                return bytes(cur.execute("SELECT hash FROM mmr_nodes WHERE asset=? AND height=? AND idx=?",
                                         (asset_id, height, idx)).fetchone()[0])

            for i, leaf in enumerate(leaves):
                height, idx, h = 0, first_index + i, leaf
                made[(0, idx)] = h
                while idx & 1:
                    h = parent(node(height, idx - 1), h)
                    height, idx = height + 1, idx >> 1
                    made[(height, idx)] = h
            cur.executemany("INSERT INTO mmr_nodes (asset, height, idx, hash) VALUES (?,?,?,?)",
                            [(asset_id, hgt, idx, h) for (hgt, idx), h in made.items()])
            cur.execute("INSERT INTO chain_sync (asset, size, synced_block) VALUES (?,?,?) ON CONFLICT (asset)"
                        " DO UPDATE SET size=excluded.size, synced_block=excluded.synced_block",
                        (asset_id, size + len(leaves), synced_block))

    def forget_chain_leaves(self, asset_id: bytes) -> None:
        """Drop the copy (it no longer matches the chain, e.g. after a reorg): it is read again."""
        with self._write() as cur:
            cur.execute("DELETE FROM mmr_nodes WHERE asset=?", (asset_id,))
            cur.execute("DELETE FROM chain_sync WHERE asset=?", (asset_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SqliteStore(SqlStore):
    """The store on one SQLite file in WAL mode (no server); safe to share between threads."""

    begin = "BEGIN IMMEDIATE"  # take the write lock at once: two writers never deadlock on an upgrade

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", clock: Callable[[], float] = time.time):
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA busy_timeout=10000")
        super().__init__(str(path), db, clock=clock)

    def _has_table(self, name: str) -> bool:
        return self._execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()[0] > 0


def open_store(location: str | Path, *, synchronous: str = "FULL", clock: Callable[[], float] = time.time) -> SqlStore:
    """The store at ``location``: a ``postgresql://`` URL (needs the ``postgres`` extra) or an SQLite file."""
    if is_postgres(location):
        from .pg_store import PostgresStore

        return PostgresStore(str(location), clock=clock)
    return SqliteStore(location, synchronous=synchronous, clock=clock)


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


_COLUMNS = ("id, device, seq, asset_ref, period_start, period_end, energy_wh, meter_wh, flags, signature, batch,"
            " received_at, leaf")
_BATCH_COLUMNS = ("id, asset, root, count, energy_wh, from_time, to_time, status, nonce, tx_hashes,"
                  " block_number, batch_index, built_block")


def _batch(row: tuple) -> BatchRecord:
    bid, asset, root, count, energy, start, end, status, nonce, hashes, block, index, built = row
    asset, root, hashes = bytes(asset), bytes(root), bytes(hashes)
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
