"""One relayer leads per store: the others stand by and take over when it dies.

On PostgreSQL the leader holds a session advisory lock on a connection of its own: the server drops
it the moment that connection ends (the process died, the machine went away), and a standby's next
``pg_try_advisory_lock`` wins. On SQLite (one machine) the leader holds an exclusive ``flock`` on a
file next to the database, which the kernel drops when the process dies.

Leadership alone does not make a batch go out once: the relayer commits a transaction's hash and
nonce before broadcasting it and looks a batch up in the chain's logs before (re)sending, so a new
leader resumes the old one's batches without sending any of them twice. What leadership adds is that
two live relayers never sign competing transactions; the relayer checks ``held()`` before each
broadcast.
"""

from __future__ import annotations

import fcntl
import os
from typing import Protocol

from .store import StoreError, is_postgres

# pg_advisory_lock key: the first 8 bytes of keccak256("rwa_sdk.oracle.relayer") as a signed int64
LOCK_KEY = int.from_bytes(bytes.fromhex("5d1b6f0b1f29e0a7"), "big", signed=True)


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...
    def describe(self) -> str: ...


class PostgresLeadership:
    """A session advisory lock on a dedicated connection."""

    def __init__(self, url: str, key: int = LOCK_KEY):
        import psycopg

        self._psycopg = psycopg
        self.url = url
        self.key = key
        self._db = None
        self._held = False

    def _connection(self):
        if self._db is None or self._db.closed:
            self._db = self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            self._held = False
        return self._db

    def try_acquire(self) -> bool:
        try:
            if self.held():
                return True
            self._held = bool(self._connection().execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0])
        except self._psycopg.Error:
            self._drop()
        return self._held

    def held(self) -> bool:
        """True only if the server confirms this connection still holds the lock."""
        if not self._held or self._db is None:
            return False
        try:
            row = self._db.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND pid=pg_backend_pid() AND granted"
                " AND classid::bigint=%s AND objid::bigint=%s", ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF)).fetchone()
        except self._psycopg.Error:
            self._drop()
            return False
        self._held = row[0] > 0
        return self._held

    def _drop(self) -> None:
        self._held = False
        if self._db is not None:
            try:
                self._db.close()
            except Exception:
                pass
            self._db = None

    def release(self) -> None:
        self._drop()  # closing the session releases the lock

    def describe(self) -> str:
        return "PostgreSQL advisory lock"


class FileLeadership:
    """An exclusive flock on ``path`` (SQLite stores: relayers on one machine)."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def describe(self) -> str:
        return f"lock file {self.path}"


def leadership_for(location: str) -> Leadership:
    """The leadership of the relayers sharing the store at ``location``."""
    if is_postgres(location):
        try:
            return PostgresLeadership(location)
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: pip install 'rwa-sdk[postgres]'") from None
    return FileLeadership(str(location) + ".leader")
