"""Follow a contract's events into SQLite, surviving restarts and short reorgs.

The indexer stores every decoded event with its block hash and remembers the hashes of the last
blocks it read. On each :meth:`EventIndexer.sync` it first checks those hashes against the chain:
if a block it indexed is no longer canonical, everything from the fork point on is dropped and
read again. A restart resumes from the last block stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3.contract import Contract

from .chain import Chain

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    contract TEXT NOT NULL, block_number INTEGER NOT NULL, block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL,
    PRIMARY KEY (contract, block_number, log_index)
);
CREATE TABLE IF NOT EXISTS blocks (contract TEXT NOT NULL, number INTEGER NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (contract, number));
CREATE TABLE IF NOT EXISTS cursor (contract TEXT PRIMARY KEY, last_block INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class IndexedEvent:
    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class EventIndexer:
    """Index ``contract``'s events from ``start_block``; keep ``reorg_depth`` block hashes."""

    def __init__(self, chain: Chain, contract: Contract, db_path: str | Path, *, start_block: int = 0,
                 reorg_depth: int = 64, batch_blocks: int = 5_000):
        self.chain = chain
        self.contract = contract
        self.key = contract.address
        self.start_block = start_block
        self.reorg_depth = reorg_depth
        self.batch_blocks = batch_blocks
        self.db = sqlite3.connect(str(db_path))
        self.db.executescript(SCHEMA)
        self._names = {
            "0x" + event_abi_to_log_topic(entry).hex(): entry["name"]
            for entry in contract.abi
            if entry.get("type") == "event" and not entry.get("anonymous")
        }

    def close(self) -> None:
        self.db.close()

    @property
    def last_block(self) -> int:
        row = self.db.execute("SELECT last_block FROM cursor WHERE contract = ?", (self.key,)).fetchone()
        return row[0] if row else self.start_block - 1

    def sync(self) -> list[IndexedEvent]:
        """Read new blocks (after undoing any that were reorganised away); returns new events."""
        self._undo_reorg()
        head = self.chain.w3.eth.block_number
        added: list[IndexedEvent] = []
        start = self.last_block + 1
        while start <= head:
            end = min(head, start + self.batch_blocks - 1)
            added += self._index_range(start, end)
            start = end + 1
        return added

    def events(self, name: str | None = None) -> list[IndexedEvent]:
        """Stored events in chain order, optionally of one name."""
        query = "SELECT name, args, block_number, tx_hash, log_index FROM events WHERE contract = ?"
        params: list[Any] = [self.key]
        if name:
            query += " AND name = ?"
            params.append(name)
        rows = self.db.execute(query + " ORDER BY block_number, log_index", params).fetchall()
        return [IndexedEvent(n, json.loads(a), b, t, i) for n, a, b, t, i in rows]

    # -- internals ------------------------------------------------------------------------
    def _index_range(self, start: int, end: int) -> list[IndexedEvent]:
        logs = self.chain.w3.eth.get_logs({"address": self.contract.address, "fromBlock": start, "toBlock": end})
        decoded = list(self._decode(logs))
        hashes = self._block_hashes(max(start, end - self.reorg_depth + 1), end)
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.key, e.block_number, block_hash, e.tx_hash, e.log_index, e.name, json.dumps(e.args))
                 for e, block_hash in decoded],
            )
            self.db.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)",
                                [(self.key, n, h) for n, h in hashes.items()])
            self.db.execute("DELETE FROM blocks WHERE contract = ? AND number <= ?", (self.key, end - self.reorg_depth))
            self.db.execute("INSERT OR REPLACE INTO cursor VALUES (?, ?)", (self.key, end))
        return [e for e, _ in decoded]

    def _decode(self, logs: Iterable[Any]) -> Iterable[tuple[IndexedEvent, str]]:
        for log in logs:
            if not log["topics"]:
                continue
            name = self._names.get("0x" + bytes(log["topics"][0]).hex())
            if name is None:
                continue
            event = getattr(self.contract.events, name)().process_log(log)
            yield (
                IndexedEvent(name, _jsonable(dict(event["args"])), log["blockNumber"],
                             "0x" + bytes(log["transactionHash"]).hex(), log["logIndex"]),
                "0x" + bytes(log["blockHash"]).hex(),
            )

    def _block_hashes(self, start: int, end: int) -> dict[int, str]:
        return {n: "0x" + bytes(self.chain.w3.eth.get_block(n)["hash"]).hex() for n in range(start, end + 1)}

    def _undo_reorg(self) -> None:
        """Drop what was indexed above the newest stored block that is still canonical."""
        stored = self.db.execute(
            "SELECT number, hash FROM blocks WHERE contract = ? ORDER BY number DESC", (self.key,)
        ).fetchall()
        if not stored:
            return
        head = self.chain.w3.eth.block_number
        fork_point = None
        for number, block_hash in stored:
            if number <= head and "0x" + bytes(self.chain.w3.eth.get_block(number)["hash"]).hex() == block_hash:
                fork_point = number
                break
        if fork_point == stored[0][0]:
            return  # the newest block we read is still canonical
        if fork_point is None:
            fork_point = stored[-1][0] - 1  # deeper than we can see: re-read all we remember
        with self.db:
            self.db.execute("DELETE FROM events WHERE contract = ? AND block_number > ?", (self.key, fork_point))
            self.db.execute("DELETE FROM blocks WHERE contract = ? AND number > ?", (self.key, fork_point))
            self.db.execute("INSERT OR REPLACE INTO cursor VALUES (?, ?)", (self.key, fork_point))
