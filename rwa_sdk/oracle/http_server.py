"""The ingest API over HTTP/1.1: one asyncio event loop for the sockets, a verifier and a writer thread behind it.

- ``POST /v1/readings``  JSON array of readings (each with its ``signature``), or ``{"readings": [...]}``;
  answers per reading ``accepted`` / ``duplicate`` / ``rejected`` with a reason code.
- ``GET /v1/devices/{address}``  what the registry says about a device, and its last accepted seq.
- ``GET /v1/proofs/{device}/{seq}``  the inclusion proof of an anchored reading (as ``rwa oracle proof --json``).
- ``GET /healthz``  liveness and queue depth.   ``GET /metrics``  Prometheus text format.

Why this shape: a thread per connection (the stdlib server) spends more than the work on one-reading
requests, and leaves sockets, timeouts and memory unbounded. Here the loop only parses (orjson, with
its nesting limit of 1,024: a million-deep body is refused, not recursed into) and answers; a
verifier thread checks every request that arrived meanwhile while a writer thread stores the previous
group in one transaction (group commit, pipelined), and each request is answered only after its commit.

Limits, all in :class:`ServerLimits`: header and body read deadlines (a slow client cannot hold a
slot), a connection cap, a per-request body cap plus a cap on body bytes held at once, a listen
backlog, TCP_NODELAY, and a backlog of readings waiting for the committer above which requests get
``503`` with ``Retry-After`` instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson

from .ingest import DirectoryUnavailable, Ingestor, Reason, Result, Status
from .reading import ReadingError, address_bytes, to_checksum

log = logging.getLogger("rwa_sdk.oracle.http")

MAX_BODY_BYTES = 4 * 1024 * 1024  # ~10,000 readings
MAX_READINGS_PER_REQUEST = 10_000
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


@dataclass(frozen=True)
class ServerLimits:
    """What one client, or all of them together, may hold of the server."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_readings_per_request: int = MAX_READINGS_PER_REQUEST
    max_inflight_body_bytes: int = 32 * 1024 * 1024  # bodies being received or parsed, all connections
    max_connections: int = 1_024
    backlog: int = 1_024  # listen(2) backlog
    header_timeout_s: float = 10.0  # request line + headers, from the first byte or from keep-alive idle
    body_timeout_s: float = 30.0  # the whole body
    idle_timeout_s: float = 60.0  # keep-alive connection with no request
    max_header_bytes: int = 16 * 1024
    max_backlog_readings: int = 50_000  # queued for the committer; above: 503 + Retry-After
    max_group_readings: int = 5_000  # one store transaction at most
    retry_after_s: int = 1


class _Busy(Exception):
    pass


class _Deadlines:
    """Per-connection deadlines, checked by one sweep every ``tick_s`` seconds: setting one costs a dict entry,
    where two timer handles armed and cancelled per request took ~7 µs of a one-reading request's ~25 µs of
    HTTP work (uvloop). A deadline fires between its time and one tick later."""

    def __init__(self, tick_s: float):
        self.tick_s = tick_s
        self._due: dict[Any, tuple[float, Callable[[], None]]] = {}

    def set(self, key: Any, seconds: float, action: Callable[[], None]) -> None:
        self._due[key] = (time.monotonic() + seconds, action)

    def clear(self, key: Any) -> None:
        self._due.pop(key, None)

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            for key, action in [(key, action) for key, (due, action) in self._due.items() if due <= now]:
                del self._due[key]
                try:
                    action()
                except Exception:  # the sweep must outlive any one connection: it enforces every deadline
                    log.exception("deadline action failed")


class _Committer:
    """Group commit, pipelined: a verifier thread checks every request queued while the writer thread stores
    the previous group, and the writer stores every verified group waiting in one transaction.

    The checks are CPU only and the store transaction is mostly waiting (SQLite releases the interpreter
    lock in its steps and the fsync), so the two overlap; order is kept (both queues are FIFO) and each
    request is answered only after the transaction that holds its readings committed."""

    def __init__(self, ingestor: Ingestor, limits: ServerLimits, metrics: Any):
        self.ingestor = ingestor
        self.limits = limits
        self.metrics = metrics
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._verified: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.backlog = 0  # readings queued, being verified or being committed
        self.external_backlog: Callable[[], bool] = lambda: False  # e.g. the store's unanchored readings
        self.deliver: Callable[[list[tuple[Any, list[Result]]]], None] = lambda pairs: None
        self._threads = [threading.Thread(target=self._verify_loop, name="oracle-verify", daemon=True),
                         threading.Thread(target=self._write_loop, name="oracle-commit", daemon=True)]
        for thread in self._threads:
            thread.start()

    def submit(self, items: list, done: Any) -> None:
        """Queue ``items``; after their commit the committer passes ``(done, results)`` to ``deliver``
        together with the other requests of the same group (one wake-up of the event loop per group)."""
        with self._lock:
            if self.backlog + len(items) > self.limits.max_backlog_readings and self.backlog > 0:
                raise _Busy
            if self.external_backlog():
                raise _Busy
            self.backlog += len(items)
        self._queue.put((items, done))

    def stop(self) -> None:
        self._queue.put(None)
        for thread in self._threads:
            thread.join(10)

    @staticmethod
    def _take(source: queue.SimpleQueue, first: tuple, limit: int, size: Callable[[tuple], int]) -> list[tuple]:
        """``first`` and whatever else is waiting in ``source``, up to ``limit`` readings (the stop mark stays)."""
        group, total = [first], size(first)
        while total < limit:
            try:
                nxt = source.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                source.put(None)
                break
            group.append(nxt)
            total += size(nxt)
        return group

    def _verify_loop(self) -> None:
        limit = self.limits.max_group_readings
        while True:
            first = self._queue.get()
            if first is None:
                self._verified.put(None)
                return
            group = self._take(self._queue, first, limit, lambda r: len(r[0]))
            items = [item for request, _ in group for item in request]
            try:
                checked: list | None = self.ingestor.verify(items)
            except Exception:  # answered as a store failure by the writer: every reading retryable
                log.exception("checks of %d readings failed", len(items))
                checked = None
            self._verified.put((group, checked))

    def _write_loop(self) -> None:
        m = self.metrics
        limit = self.limits.max_group_readings
        while True:
            first = self._verified.get()
            if first is None:
                return
            batch = self._take(self._verified, first, limit, lambda g: sum(len(r[0]) for r in g[0]))
            group = [request for requests, _ in batch for request in requests]
            n = sum(len(request) for request, _ in group)
            t0 = time.perf_counter()
            try:
                if any(checked is None for _, checked in batch):
                    raise RuntimeError("checks failed")
                results = self.ingestor.commit([c for _, checked in batch for c in checked])
            except Exception:  # never lose the answer: every reading of the group is retryable
                log.exception("ingest of %d readings failed", n)
                results = [Result(Status.REJECTED, Reason.STORE_UNAVAILABLE, "ingest failed, retry")] * n
            m.observe("commit_seconds", time.perf_counter() - t0, help_text="store transaction of one group")
            m.observe("group_readings", n, help_text="readings per store transaction (group commit)",
                      buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000))
            m.observe("group_requests", len(group), help_text="requests per store transaction (group commit)",
                      buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
            pairs, at = [], 0
            for request, done in group:
                pairs.append((done, results[at:at + len(request)]))
                at += len(request)
            with self._lock:
                self.backlog -= n
            try:
                self.deliver(pairs)
            except Exception:  # the loop is closed (shutting down): nothing to answer
                log.debug("answers dropped", exc_info=True)


class _Response(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None, close: bool = False):
        self.status, self.body, self.headers, self.close = status, body, headers or {}, close


class IngestServer:
    """The ingest API on ``address``; ``health`` adds fields to ``/healthz``, ``proofs(device, seq)`` serves
    ``/v1/proofs`` (its exceptions: ``LookupError`` → 404, ``ValueError`` → 400).

    The socket is bound at construction (port 0 picks a free one); :meth:`serve_forever` runs the loop in
    the calling thread until :meth:`shutdown`."""

    def __init__(self, address: tuple[str, int], ingestor: Ingestor, health: Callable[[], dict] | None = None,
                 *, limits: ServerLimits | None = None, proofs: Callable[[bytes, int], dict] | None = None):
        self.ingestor = ingestor
        self.health = health or (lambda: {})
        self.proofs = proofs
        self.limits = limits or ServerLimits()
        self.metrics = ingestor.metrics
        self._sock = socket.create_server(address, backlog=self.limits.backlog, reuse_port=False)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server_address = self._sock.getsockname()
        self._committer = _Committer(ingestor, self.limits, self.metrics)
        timeouts = (self.limits.header_timeout_s, self.limits.body_timeout_s, self.limits.idle_timeout_s)
        self._deadlines = _Deadlines(min(0.25, max(0.01, min(timeouts) / 5)))
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="oracle-http-get")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._running = threading.Event()
        self._finished = threading.Event()
        self.connections = 0
        self._tasks: set = set()
        self._inflight_bytes = 0
        self.metrics.gauges("http", lambda: {"connections": self.connections, "inflight_body_bytes": self._inflight_bytes,
                                             "backlog_readings": self._committer.backlog},
                            "HTTP connections, body bytes held, readings waiting for the committer")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def set_external_backlog(self, busy: Callable[[], bool]) -> None:
        """``busy()`` True makes new POSTs answer 503 (e.g. the store's unanchored backlog is too deep)."""
        self._committer.external_backlog = busy

    # -- lifecycle ---------------------------------------------------------------------------
    def serve_forever(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()
            self._finished.set()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._committer.deliver = lambda pairs: loop.call_soon_threadsafe(_settle, pairs)
        server = await asyncio.start_server(self._client, sock=self._sock, limit=self.limits.max_header_bytes,
                                            backlog=self.limits.backlog)
        self._running.set()
        sweeper = asyncio.ensure_future(self._deadlines.sweep())
        async with server:
            await self._stopped.wait()
            sweeper.cancel()
            server.close()
            tasks = list(self._tasks)
            for task in tasks:  # open and keep-alive connections end now
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def shutdown(self) -> None:
        """Stop accepting and serving; waits for the loop to end."""
        if self._loop is not None and self._stopped is not None and not self._finished.is_set():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._finished.wait(10)

    def server_close(self) -> None:
        self._committer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            self._sock.close()
        except OSError:
            pass

    # -- one connection ----------------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        limits = self.limits
        if self.connections >= limits.max_connections:
            self.metrics.inc("http_refused_total", help_text="connections refused over the cap", why="connections")
            writer.transport.abort()
            return
        self.connections += 1
        task = asyncio.current_task()
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        transport = writer.transport
        try:
            first = True
            while True:
                self._deadlines.set(task, limits.header_timeout_s if first else limits.idle_timeout_s, transport.abort)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except (asyncio.LimitOverrunError, ValueError):
                    await self._write(writer, 431, {"error": "request headers too large"}, close=True)
                    return
                finally:
                    self._deadlines.clear(task)
                first = False
                keep = await self._request(head, reader, writer)
                if not keep:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one connection take the server down
            log.exception("connection failed")
        finally:
            self.connections -= 1
            self._tasks.discard(task)
            self._deadlines.clear(task)
            try:
                writer.close()
            except Exception:
                pass

    async def _request(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; returns whether the connection stays open."""
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
        except ValueError:
            await self._write(writer, 400, {"error": "malformed request"}, close=True)
            return False
        conn = headers.get("connection", "").lower()
        keep = (conn != "close") if version == "HTTP/1.1" else (conn == "keep-alive")
        path = target.split("?", 1)[0]
        try:
            if method == "POST":
                status, body, extra = await self._post(path, headers, reader)
            elif method == "GET":
                if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
                    keep = False  # a body we do not read must not be taken for the next request
                status, body, extra = await self._get(path)
            else:
                raise _Response(405, {"error": "method not allowed"}, {"Allow": "GET, POST"}, close=True)
        except _Response as r:
            status, body, extra = r.status, r.body, r.headers
            keep = keep and not r.close
        await self._write(writer, status, body, extra, close=not keep)
        return keep

    async def _post(self, path: str, headers: dict[str, str], reader: asyncio.StreamReader):
        limits = self.limits
        if "transfer-encoding" in headers:
            raise _Response(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required (no chunked bodies)"},
                            close=True)
        try:
            length = int(headers["content-length"])
        except (KeyError, ValueError):
            length = -1
        if length < 0:
            raise _Response(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"}, close=True)
        if path != "/v1/readings":
            raise _Response(404, {"error": "not found"}, close=length > 0)
        if length > limits.max_body_bytes:
            raise _Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {limits.max_body_bytes} bytes"},
                            close=True)
        if self._inflight_bytes + length > limits.max_inflight_body_bytes:
            self.metrics.inc("http_refused_total", help_text="connections refused over the cap", why="body_bytes")
            raise _Response(503, {"error": "busy, retry"}, {"Retry-After": str(limits.retry_after_s)}, close=True)
        self._inflight_bytes += length
        late: list[bool] = []

        def too_slow() -> None:  # answer 408 and end the read the slow client holds open
            late.append(True)
            reader.feed_eof()

        connection = asyncio.current_task()
        self._deadlines.set(connection, limits.body_timeout_s, too_slow)
        try:
            try:
                raw = await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):
                if late:
                    raise _Response(408, {"error": f"body not received within {limits.body_timeout_s:g}s"},
                                    close=True) from None
                raise _Response(400, {"error": "body shorter than Content-Length"}, close=True) from None
            finally:
                self._deadlines.clear(connection)
            items = self._items(raw)
            del raw
        finally:
            self._inflight_bytes -= length
        answer: asyncio.Future = asyncio.get_running_loop().create_future()
        try:
            self._committer.submit(items, answer)
        except _Busy:
            self.metrics.inc("http_backpressure_total", help_text="requests answered 503 because of the backlog")
            raise _Response(503, {"error": "ingest backlog full, retry later"},
                            {"Retry-After": str(limits.retry_after_s)}) from None
        results: list[Result] = await answer
        accepted = sum(r.status is Status.ACCEPTED for r in results)
        duplicate = sum(r.status is Status.DUPLICATE for r in results)
        status = 503 if any(r.reason is Reason.STORE_UNAVAILABLE for r in results) else 200
        extra = {"Retry-After": str(limits.retry_after_s)} if status == 503 else {}
        return status, {"accepted": accepted, "duplicate": duplicate,
                        "rejected": len(results) - accepted - duplicate,
                        "results": [r.to_json() for r in results]}, extra

    def _items(self, raw: bytes) -> list:
        try:
            body = orjson.loads(raw)  # depth limit 1,024: deep nesting is refused, never recursed into
        except orjson.JSONDecodeError:
            raise _Response(400, {"error": "body is not JSON (UTF-8, nesting depth under 1,024)"}) from None
        if isinstance(body, dict):
            body = body.get("readings")
        if not isinstance(body, list):
            raise _Response(400, {"error": "expected a JSON array of readings or {\"readings\": [...]}"})
        if len(body) > self.limits.max_readings_per_request:
            raise _Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            {"error": f"over {self.limits.max_readings_per_request} readings"})
        return body

    async def _get(self, path: str):
        loop = asyncio.get_running_loop()
        if path == "/healthz":
            def health() -> dict:
                return {"status": "ok", **self.ingestor.store.counts(), "ingestBacklog": self._committer.backlog,
                        **self.health()}
            return 200, await loop.run_in_executor(self._pool, health), {}
        if path == "/metrics":
            text = await loop.run_in_executor(self._pool, self.metrics.render)
            return 200, text, {"Content-Type": "text/plain; version=0.0.4"}
        if path.startswith("/v1/devices/"):
            return await loop.run_in_executor(self._pool, self._device, path[len("/v1/devices/"):])
        if path.startswith("/v1/proofs/") and self.proofs is not None:
            return await loop.run_in_executor(self._pool, self._proof, path[len("/v1/proofs/"):])
        raise _Response(404, {"error": "not found"})

    def _device(self, address: str):
        try:
            device = address_bytes(address)
        except ReadingError as exc:
            return 400, {"error": str(exc)}, {}
        try:
            info = self.ingestor.directory.get(device)
        except DirectoryUnavailable:
            return 503, {"error": "registry unavailable"}, {"Retry-After": "5"}
        last = self.ingestor.last_seq(device)
        if info is None and last is None:
            return 404, {"error": "unknown device", "device": to_checksum(device)}, {}
        body: dict[str, Any] = {"device": to_checksum(device), "registered": info is not None, "lastSeq": last}
        if info is not None:
            body.update(
                assetId="0x" + info.asset_id.hex(), capacityW=info.capacity_w, activatedAt=info.activated_at,
                revokedAt=info.revoked_at, deviceType=info.device_type,
            )
        return 200, body, {}

    def _proof(self, rest: str):
        device_text, _, seq_text = rest.partition("/")
        try:
            device = address_bytes(device_text)
            if not seq_text.isdigit() or len(seq_text) > 20:
                raise ReadingError("seq must be a decimal integer")
            seq = int(seq_text)
        except ReadingError as exc:
            return 400, {"error": str(exc)}, {}
        try:
            return 200, self.proofs(device, seq), {}  # type: ignore[misc]
        except LookupError as exc:
            return 404, {"error": str(exc) or "no proof"}, {}
        except ValueError as exc:
            return 400, {"error": str(exc)}, {}
        except Exception as exc:  # node unreachable while reading the batch roots
            log.warning("proof of %s/%d failed: %s", to_checksum(device), seq, type(exc).__name__)
            return 503, {"error": "proof unavailable, retry"}, {"Retry-After": "5"}

    async def _write(self, writer: asyncio.StreamWriter, status: int, body: Any, headers: dict[str, str] | None = None,
                     close: bool = False) -> None:
        data = body.encode() if isinstance(body, str) else orjson.dumps(body)
        headers = headers or {}
        ctype = headers.pop("Content-Type", "application/json")
        phrase = _PHRASES.get(status, "")
        lines = [f"HTTP/1.1 {status} {phrase}", f"Content-Type: {ctype}", f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if close:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)  # one write: no Nagle stall
        transport = writer.transport
        if transport.get_write_buffer_size() == 0:
            return  # sent at once: the common case, no drain needed
        timer = asyncio.get_running_loop().call_later(self.limits.body_timeout_s, transport.abort)
        try:
            await writer.drain()  # a client that does not read its answer is cut at the deadline
        except ConnectionError:
            transport.abort()
        finally:
            timer.cancel()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where installed (its socket and timer handling is C), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the same server on the stdlib loop
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _settle(pairs: list[tuple[asyncio.Future, list[Result]]]) -> None:
    for future, results in pairs:
        if not future.done():  # a client that went away leaves a cancelled future
            future.set_result(results)
