"""Send the spool's readings to the ingest API (``POST /v1/readings``) until each is acknowledged.

Oldest first, in chunks. An outage (refused connection, timeout, 5xx without results) keeps the
chunk and waits with exponential backoff; a 503 or 429 with ``Retry-After`` waits what it says
(bounded). Per-item answers decide each reading: accepted or duplicate is done, a retryable
refusal (store or registry unavailable) stays pending, any other refusal is final and recorded
with its reason (a gateway cannot make a bad reading good by resending it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .spool import Spool

log = logging.getLogger("rwa_sdk.gateway.poster")

RETRYABLE = frozenset({"store_unavailable", "registry_unavailable"})
MAX_RETRY_AFTER_S = 60.0


@dataclass
class PosterStats:
    posts: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    outages: int = 0
    retry_after_waits: int = 0


def retry_after_s(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (delta-seconds or an HTTP date), bounded; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class Poster:
    """Drains a :class:`Spool` into an ingest API; ``run(stop)`` in a thread, or ``drain()`` once."""

    def __init__(self, spool: Spool, ingest_url: str, *, chunk: int = 500, timeout_s: float = 10.0,
                 backoff_initial_s: float = 0.2, backoff_max_s: float = 5.0, idle_s: float = 0.1):
        self.spool = spool
        self.url = ingest_url.rstrip("/") + "/v1/readings"
        self.chunk = chunk
        self.timeout_s = timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.idle_s = idle_s
        self.stats = PosterStats()
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                outcome = self.post_once()
            except Exception:  # a bug must not stop the gateway from trying again
                log.exception("posting failed")
                outcome = self._backoff()
            if outcome is None:  # nothing pending: sleep until woken by a new reading
                self.wake.wait(self.idle_s)
                self.wake.clear()
            elif outcome > 0:  # the wait the server asked for, or our backoff
                stop.wait(outcome)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Post until the spool has nothing pending (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            outcome = self.post_once()
            if outcome is None:
                return True
            if outcome > 0:
                time.sleep(min(outcome, max(0.0, deadline - time.monotonic())))
        return not self.spool.pending(1)

    def post_once(self) -> float | None:
        """Post one chunk. None: nothing pending; 0: progress; > 0: seconds to wait before retrying."""
        rows = self.spool.pending(self.chunk)
        if not rows:
            return None
        body = json.dumps([item for _, item in rows]).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        self.stats.posts += 1
        wait: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = _results(response.read())
        except urllib.error.HTTPError as exc:
            answer = _results(exc.read())
            if exc.code in (429, 503):
                wait = retry_after_s(exc.headers.get("Retry-After"))
                if wait is not None:
                    self.stats.retry_after_waits += 1
            if answer is None:
                log.warning("ingest answered %d; keeping %d readings", exc.code, len(rows))
        except (OSError, ValueError) as exc:  # refused, reset, timeout: ingest or the network is down
            log.debug("post failed (%s); keeping %d readings", exc, len(rows))
            answer = None
        if answer is None or len(answer) != len(rows):
            self.stats.outages += 1
            return wait if wait is not None else self._backoff()
        sent, rejected, retry = [], [], 0
        for (row_id, _), result in zip(rows, answer):
            status = result.get("status") if isinstance(result, dict) else None
            reason = result.get("reason") if isinstance(result, dict) else None
            if status in ("accepted", "duplicate"):
                sent.append(row_id)
                setattr(self.stats, status, getattr(self.stats, status) + 1)
            elif reason in RETRYABLE or status is None:
                retry += 1
            else:
                rejected.append((row_id, str(reason)))
                self.stats.rejected += 1
                log.warning("ingest refused a reading for good: %s %s", reason, result.get("detail", ""))
        self.spool.mark(sent, rejected)
        if retry:
            return wait if wait is not None else self._backoff()
        self._failures = 0
        return 0.0

    _failures = 0

    def _backoff(self) -> float:
        self._failures += 1
        return min(self.backoff_initial_s * 2 ** (self._failures - 1), self.backoff_max_s)


def _results(raw: bytes) -> list | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    results = value.get("results") if isinstance(value, dict) else None
    return results if isinstance(results, list) else None
