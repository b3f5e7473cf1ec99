"""Load generator: pre-signed readings from N devices posted over real HTTP to a running ingest API.

``rwa oracle load`` and ``bench/ingest_http.py`` use it. Readings are signed before the clock starts
(signing is the devices' work, not the daemon's), posted by ``clients`` threads over keep-alive
connections, ``per_request`` readings a request, until every reading was posted or ``max_s`` passed.
Bounded in count and time; loopback only unless asked otherwise. The same readings also go through an
in-process :class:`~.ingest.Ingestor` (static directory, temporary SQLite store) in the same run, so the
HTTP figure comes with the reference it should be compared with.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .ingest import DeviceInfo, Ingestor, StaticDirectory, Status, reading_item
from .reading import DeviceSigner, Reading, ReadingDomain


class LoadError(ValueError):
    """A load that would leave the machine, or an unusable target."""


@dataclass
class LoadDevice:
    """A device's key and where its next reading starts (seqs and periods only move forward)."""

    signer: DeviceSigner
    seq: int = 0
    next_start: int = 0


def load_devices(n: int, *, seed: int = 1, start: int) -> list[LoadDevice]:
    """``n`` devices with keys derived from ``seed`` (the same devices every run: register them once)."""
    out = []
    for i in range(n):
        secret = (seed * 1_000_003 + i + 1).to_bytes(32, "big")
        out.append(LoadDevice(DeviceSigner.from_secret(secret), 0, start))
    return out


def sign_readings(devices: Sequence[LoadDevice], count: int, domain: ReadingDomain, asset_id: bytes,
                  *, period_s: int = 1, energy_wh: int = 1) -> list[dict[str, Any]]:
    """``count`` JSON items, round robin over ``devices``; each device's seq and period move on."""
    items = []
    for k in range(count):
        dev = devices[k % len(devices)]
        dev.seq += 1
        r = Reading(dev.signer.address, asset_id, dev.seq, dev.next_start, dev.next_start + period_s, energy_wh,
                    dev.seq * energy_wh, 0)
        dev.next_start += period_s
        items.append(reading_item(r, domain.sign(r, dev.signer.key)))
    return items


@dataclass
class LoadResult:
    """What one load run measured."""

    readings: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: int = 0  # requests that failed (connection, HTTP error)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Readings acknowledged per second."""
        return (self.accepted + self.duplicate) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {"readings": self.readings, "acknowledged": self.accepted + self.duplicate, "rejected": self.rejected,
                "errors": self.errors, "seconds": round(self.seconds, 3), "readings_per_s": round(self.rate, 1),
                "p50_ms": round(self.percentile(0.50), 2), "p99_ms": round(self.percentile(0.99), 2),
                "reasons": self.reasons}


def check_loopback(url: str) -> None:
    """Refuse a target that is not this machine (a load generator must not hit someone else's server)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise LoadError(f"cannot resolve {host!r}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise LoadError(f"{url} is not a loopback address: pass allow_remote (--allow-remote) to load another machine")


def post_load(urls: str | Sequence[str], items: Sequence[dict[str, Any]], *, per_request: int = 1_000, clients: int = 4,
              max_s: float = 60.0, timeout_s: float = 30.0, allow_remote: bool = False,
              rate: float | None = None) -> LoadResult:
    """Post ``items`` to ``POST /v1/readings`` at ``urls`` (clients spread over them), ``per_request`` a
    request, from ``clients`` threads; stops when all are posted or after ``max_s``. With ``rate``, readings
    are offered at about that many per second in all (each client paces its share), else as fast as answered.

    Each device is posted by one client only, in order (a device's readings arriving out of order would
    be refused: seqs must increase)."""
    targets = [urls] if isinstance(urls, str) else list(urls)
    if not allow_remote:
        for url in targets:
            check_loopback(url)
    owner: dict[str, int] = {}
    per_client: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    for item in items:
        k = owner.setdefault(item["device"], len(owner) % clients)
        per_client[k].append(item)
    work = [[(json.dumps(chunk).encode(), len(chunk)) for chunk in chunked(mine, per_request)] for mine in per_client]
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + max_s
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        target = urlsplit(targets[k % len(targets)])
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=timeout_s)
        mine = LoadResult()
        start.wait()
        began, offered = time.monotonic(), 0
        for body, size in work[k]:
            if time.monotonic() > deadline:
                break
            if rate:
                wait = began + offered * clients / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            offered += size
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/readings", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
                answer = json.loads(raw) if response.status in (200, 503) else None
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=timeout_s)
                answer = None
            mine.latencies_ms.append((time.perf_counter() - t0) * 1000)
            mine.readings += size
            if not isinstance(answer, dict) or "results" not in answer:
                mine.errors += 1
                continue
            for r in answer["results"]:
                status = r.get("status")
                if status == "accepted":
                    mine.accepted += 1
                elif status == "duplicate":
                    mine.duplicate += 1
                else:
                    mine.rejected += 1
                    reason = r.get("reason", "?")
                    mine.reasons[reason] = mine.reasons.get(reason, 0) + 1
        conn.close()
        with lock:
            result.readings += mine.readings
            result.accepted += mine.accepted
            result.duplicate += mine.duplicate
            result.rejected += mine.rejected
            result.errors += mine.errors
            result.latencies_ms += mine.latencies_ms
            for reason, n in mine.reasons.items():
                result.reasons[reason] = result.reasons.get(reason, 0) + n

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(max_s + timeout_s + 5)
    result.seconds = time.perf_counter() - t0
    return result


def reference_rate(items: Sequence[dict[str, Any]], domain: ReadingDomain, asset_id: bytes, *,
                   per_request: int = 1_000, synchronous: str = "FULL") -> float:
    """Readings/s of the in-process ``Ingestor`` (static directory, fresh SQLite store) on ``items``: the
    core rate the HTTP figures are compared with, measured in the same run."""
    devices = {bytes.fromhex(i["device"][2:]) for i in items}
    directory = StaticDirectory({d: DeviceInfo(asset_id, 10**12, 1, 0) for d in devices})
    with tempfile.TemporaryDirectory() as tmp:
        from .store import SqliteStore

        store = SqliteStore(Path(tmp) / "reference.db", synchronous=synchronous)
        try:
            ingestor = Ingestor(store, directory, domain, max_clock_skew_s=10**9)
            acked = 0
            t0 = time.perf_counter()
            for i in range(0, len(items), per_request):
                acked += sum(r.status is not Status.REJECTED for r in ingestor.submit(items[i:i + per_request]))
            seconds = time.perf_counter() - t0
        finally:
            store.close()
    if acked != len(items):
        raise LoadError(f"the in-process reference acknowledged {acked} of {len(items)} readings")
    return acked / seconds


def chunked(items: Sequence[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield list(items[i:i + n])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
