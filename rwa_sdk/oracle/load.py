"""Load generator: pre-signed readings from N devices posted over real HTTP to a running ingest API.

``rwa oracle load`` and ``bench/ingest_http.py`` use it. Readings are signed before the clock starts
(signing is the devices' work, not the daemon's), posted by ``clients`` keep-alive connections of one
event loop (uvloop where installed, as the server's), ``per_request`` readings a request, until every
reading was posted or ``max_s`` passed.
Bounded in count and time; loopback only unless asked otherwise. The same readings also go through an
in-process :class:`~.ingest.Ingestor` (static directory, temporary SQLite store) in the same run, so the
HTTP figure comes with the reference it should be compared with.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from .http_server import new_event_loop
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

    def tally(self, results: Sequence[dict[str, Any]]) -> None:
        """Count one answer's per-reading results."""
        for r in results:
            status = r.get("status")
            if status == "accepted":
                self.accepted += 1
            elif status == "duplicate":
                self.duplicate += 1
            else:
                self.rejected += 1
                reason = r.get("reason", "?")
                self.reasons[reason] = self.reasons.get(reason, 0) + 1

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
    request, over ``clients`` keep-alive connections; stops when all are posted or after ``max_s``. With
    ``rate``, readings are offered at about that many per second in all (each client paces its share), else
    as fast as answered.

    Each device is posted by one client only, in order (a device's readings arriving out of order would
    be refused: seqs must increase). Requests are built before the clock starts and the clients are one
    event loop on raw sockets, so the generator costs little next to the server it measures."""
    targets = [urls] if isinstance(urls, str) else list(urls)
    if not allow_remote:
        for url in targets:
            check_loopback(url)
    owner: dict[str, int] = {}
    per_client: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    for item in items:
        k = owner.setdefault(item["device"], len(owner) % clients)
        per_client[k].append(item)
    addresses = [urlsplit(url) for url in targets]
    work = []
    for k, mine in enumerate(per_client):
        host = addresses[k % len(addresses)]
        head = f"POST /v1/readings HTTP/1.1\r\nHost: {host.netloc}\r\nContent-Type: application/json\r\n"
        work.append([((head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body, len(chunk))
                     for chunk in chunked(mine, per_request) for body in (orjson.dumps(chunk),)])
    result = LoadResult()

    async def client(k: int, began: float) -> None:
        target = addresses[k % len(addresses)]
        loop = asyncio.get_running_loop()
        conn: _Client | None = None
        offered = 0
        for request, size in work[k]:
            if time.monotonic() > began + max_s:
                break
            if rate:
                wait = began + offered * clients / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            offered += size
            t0 = time.perf_counter()
            try:
                if conn is None or conn.closed:
                    _, conn = await asyncio.wait_for(
                        loop.create_connection(_Client, target.hostname, target.port or 80), timeout_s)
                status, body = await conn.request(request, timeout_s)
                answer = orjson.loads(body) if status in (200, 503) else None
            except (OSError, asyncio.TimeoutError, orjson.JSONDecodeError, ValueError):
                if conn is not None:
                    conn.close()
                conn, answer = None, None
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            result.readings += size
            if not isinstance(answer, dict) or "results" not in answer:
                result.errors += 1
                continue
            result.tally(answer["results"])
        if conn is not None:
            conn.close()

    async def run_all() -> None:
        began = time.monotonic()
        await asyncio.gather(*(client(k, began) for k in range(clients)))

    t0 = time.perf_counter()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(run_all())
    result.seconds = time.perf_counter() - t0
    return result


class _Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; answers are read by Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        if at < 0:
            waiter.set_exception(ValueError("answer without Content-Length"))
            return
        length = int(head[at + 15:].split(b"\r\n", 1)[0])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        waiter.set_result((int(head[9:12]), body))
        if b"connection: close" in head:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, data: bytes, timeout_s: float) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(timeout_s, _expire, waiter)  # one handle, not wait_for's task and futures
        self.transport.write(data)  # type: ignore[union-attr]
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


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
