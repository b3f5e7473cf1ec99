"""Gateway fixtures: a real ingest API (HTTP, SQLite store) on loopback, devices and gateway configs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rwa_sdk.gateway.config import GatewayConfig, parse_config
from rwa_sdk.oracle.http_server import IngestServer
from rwa_sdk.oracle.ingest import DeviceInfo, Ingestor, StaticDirectory
from rwa_sdk.oracle.reading import DeviceSigner, ReadingDomain
from rwa_sdk.oracle.store import SqliteStore

ASSET = bytes.fromhex("c4" * 32)
ORACLE = "0x" + "0a" * 20
CHAIN_ID = 31337
CAPACITY_W = 22_000


@dataclass
class IngestWorld:
    """An ingest API whose directory knows the devices a test registers."""

    path: Path
    domain: ReadingDomain = field(default_factory=lambda: ReadingDomain(CHAIN_ID, ORACLE))
    directory: StaticDirectory = field(default_factory=lambda: StaticDirectory({}))
    server: IngestServer | None = None
    store: SqliteStore | None = None
    port: int = 0  # kept across stop/start, so clients reconnect to the same address

    def register(self, signer: DeviceSigner, capacity_w: int = CAPACITY_W, asset: bytes = ASSET) -> None:
        self.directory.set(signer.address, DeviceInfo(asset, capacity_w, activated_at=1, revoked_at=0))

    def start(self) -> IngestWorld:
        self.store = SqliteStore(self.path)
        ingestor = Ingestor(self.store, self.directory, self.domain, max_clock_skew_s=3600)
        self.server = IngestServer(("127.0.0.1", self.port), ingestor)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.port = self.server.server_address[1]
            self.server.shutdown()
            self.server.server_close()
        if self.store is not None:
            self.store.close()
            self.store = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def readings(self, signer: DeviceSigner) -> list:
        """Every stored reading of ``signer``, by seq (opens the store file read-side)."""
        store = SqliteStore(self.path)
        try:
            last = store.last_seqs().get(signer.address, 0)
            return [store.find_reading(signer.address, seq) for seq in range(1, last + 1)]
        finally:
            store.close()


@pytest.fixture
def ingest(tmp_path):
    world = IngestWorld(tmp_path / "ingest.db").start()
    yield world
    world.stop()


def device_signer(i: int) -> DeviceSigner:
    return DeviceSigner.from_secret(bytes([0x47] * 31 + [i]))


def gateway_config(tmp_path: Path, ingest_url: str, devices: list[dict], **gateway: object) -> GatewayConfig:
    data = {
        "gateway": {"ingest_url": ingest_url, "chain_id": CHAIN_ID, "oracle": ORACLE,
                    "spool": str(tmp_path / "spool.db"), **gateway},
        "ocpp": {"host": "127.0.0.1", "port": 0},
        "devices": [{"asset": "0x" + ASSET.hex(), "capacity_w": CAPACITY_W, "keystore": f"{d['name']}.json", **d}
                    for d in devices],
    }
    return parse_config(data, base=tmp_path)


def wait_until(predicate, timeout_s: float = 15.0, interval_s: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out waiting for {what}")
