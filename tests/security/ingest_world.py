"""An ingest HTTP server on loopback with a real SQLite store and known devices, plus raw-socket clients.

These tests attack the HTTP layer itself; the directory is static so each test owns its devices.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rwa_sdk.oracle.http_server import IngestServer, ServerLimits
from rwa_sdk.oracle.ingest import DeviceInfo, Ingestor, StaticDirectory, reading_item
from rwa_sdk.oracle.reading import DeviceSigner, Reading, ReadingDomain
from rwa_sdk.oracle.store import SqliteStore

ASSET = bytes.fromhex("a5" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "34" * 20)
DEVICES = [DeviceSigner.from_secret(bytes([0x51] * 31 + [i + 1])) for i in range(32)]


def signed_item(dev: DeviceSigner, seq: int, end: int | None = None, energy_wh: int = 5) -> dict:
    end = end if end is not None else int(time.time()) - 3_600 + 10 * seq
    r = Reading(dev.address, ASSET, seq, end - 10, end, energy_wh, 1_000 + seq, 0)
    return reading_item(r, DOMAIN.sign(r, dev.key))


@contextmanager
def running_server(tmp_path: Path, store=None, **limits):
    store = store or SqliteStore(tmp_path / "ingest.db")
    directory = StaticDirectory({d.address: DeviceInfo(ASSET, 10_000, 1, 0) for d in DEVICES})
    ingestor = Ingestor(store, directory, DOMAIN)
    server = IngestServer(("127.0.0.1", 0), ingestor, limits=ServerLimits(**limits))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        store.close()


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on a fresh socket: (status, headers, body)."""
    host, port = server.server_address[:2]
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        return read_response(s)


def read_response(s: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def post_readings(server, items, timeout: float = 10.0) -> tuple[int, dict]:
    status, _, body = request(server, "POST", "/v1/readings", json.dumps(items).encode(), timeout=timeout)
    return status, json.loads(body)


def healthy(server, timeout: float = 5.0) -> bool:
    status, _, body = request(server, "GET", "/healthz", timeout=timeout)
    return status == 200 and json.loads(body)["status"] == "ok"
