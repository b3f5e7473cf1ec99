"""Ingest API: check every signed reading before acknowledging it, then store it durably.

``Ingestor`` holds the rules (pure Python, used in-process by benchmarks and tests); ``IngestServer``
exposes them over HTTP (stdlib ``ThreadingHTTPServer``):

- ``POST /v1/readings``  JSON array of readings (each with its ``signature``), or ``{"readings": [...]}``;
  answers per reading ``accepted`` / ``duplicate`` / ``rejected`` with a reason code.
- ``GET /v1/devices/{address}``  what the registry says about a device, and its last accepted seq.
- ``GET /healthz``  liveness and queue depth.   ``GET /metrics``  Prometheus text format.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from eth_abi import encode as abi_encode
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from .metrics import Metrics
from .reading import (
    PubkeyCache,
    Reading,
    ReadingDomain,
    ReadingError,
    address_bytes,
    keccak256,
    recover,
    to_checksum,
)
from .store import InsertOutcome, ReadingStore

log = logging.getLogger("rwa_sdk.oracle.ingest")

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_READINGS_PER_REQUEST = 20_000
MAX_SIGNATURE_BYTES = 1_024  # ECDSA is 65; contract devices (ERC-1271) may send longer ones
ERC1271_SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


class Reason(str, Enum):
    """Why a reading was rejected (stable codes: clients switch on them)."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    INVALID_PERIOD = "invalid_period"
    FUTURE_PERIOD = "future_period"
    UNKNOWN_DEVICE = "unknown_device"
    WRONG_ASSET = "wrong_asset"
    DEVICE_INACTIVE = "device_inactive"
    DEVICE_REVOKED = "device_revoked"
    OVER_CAPACITY = "over_capacity"
    SEQ_NOT_INCREASING = "seq_not_increasing"
    PERIOD_OVERLAP = "period_overlap"
    CONFLICT = "conflict"
    REGISTRY_UNAVAILABLE = "registry_unavailable"
    STORE_UNAVAILABLE = "store_unavailable"


class Status(str, Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # already stored with the same content: acknowledged, not counted twice
    REJECTED = "rejected"


@dataclass(frozen=True)
class Result:
    status: Status
    reason: Reason | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        if self.reason is not None:
            out["reason"] = self.reason.value
        if self.detail:
            out["detail"] = self.detail
        return out

    @property
    def acknowledged(self) -> bool:
        return self.status is not Status.REJECTED


ACCEPTED = Result(Status.ACCEPTED)
DUPLICATE = Result(Status.DUPLICATE)
_STORE_REFUSALS = {
    InsertOutcome.SEQ_NOT_INCREASING: Result(Status.REJECTED, Reason.SEQ_NOT_INCREASING, "seq not above the device's last"),
    InsertOutcome.PERIOD_OVERLAP: Result(Status.REJECTED, Reason.PERIOD_OVERLAP,
                                         "periodStart before the end of the device's previous period"),
    InsertOutcome.DEVICE_REVOKED: Result(Status.REJECTED, Reason.DEVICE_REVOKED, "device revoked"),
}


@dataclass(frozen=True)
class DeviceInfo:
    """The registry's record of a device (times in unix seconds, 0 = never)."""

    asset_id: bytes
    capacity_w: int
    activated_at: int
    revoked_at: int
    device_type: int = 0


class DirectoryUnavailable(RuntimeError):
    """The device registry could not be read (RPC down)."""


class DeviceDirectory(Protocol):
    def get(self, device: bytes) -> DeviceInfo | None: ...
    def contract_signature_valid(self, device: bytes, digest: bytes, signature: bytes) -> bool: ...


class StaticDirectory:
    """Devices known in advance (benchmarks, tests, air-gapped ingest); all of them sign with a key."""

    def __init__(self, devices: dict[bytes, DeviceInfo]):
        self._devices = dict(devices)

    def get(self, device: bytes) -> DeviceInfo | None:
        return self._devices.get(device)

    def contract_signature_valid(self, device: bytes, digest: bytes, signature: bytes) -> bool:
        return False

    def set(self, device: bytes, info: DeviceInfo) -> None:
        self._devices[device] = info


# DeviceRegistry events that change what the directory caches; topic 1 (and 2 for a rotation) is a device.
_DEVICE_EVENTS = {
    keccak256(b"DeviceRegistered(address,bytes32,uint8,uint64,bytes32)"): (1,),
    keccak256(b"DeviceActivated(address,bytes32,uint48)"): (1,),
    keccak256(b"DeviceRevoked(address,bytes32,uint48)"): (1,),
    keccak256(b"DeviceMetadataUpdated(address,uint64,bytes32)"): (1,),
    keccak256(b"DeviceKeyRotated(address,address,bytes32,uint48)"): (1, 2),
}


class RegistryDirectory:
    """DeviceRegistry on chain, cached for ``ttl_s`` so the hot path rarely calls the node.

    :meth:`follow_events` drops the devices the registry's events name since the last call, so a
    revocation takes effect in ingest as soon as it is followed (the daemon does every few seconds);
    ``ttl_s`` bounds how stale an entry can get if events are not followed. The chain itself is exact
    (``verifyReading`` checks the registry at call time).
    """

    def __init__(self, registry: Contract, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 1_000_000):
        self.registry = registry
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._cache: dict[bytes, tuple[float, int, DeviceInfo | None]] = {}  # device -> (when, block read at, info)
        self._has_code: dict[bytes, tuple[float, bool]] = {}
        self._lock = threading.Lock()
        self._next_block = registry.w3.eth.block_number + 1  # the cache starts empty: nothing older matters

    def get(self, device: bytes) -> DeviceInfo | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(device)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[2]
        try:
            block = self.registry.w3.eth.block_number
            raw = self.registry.functions.getDevice(to_checksum(device)).call(block_identifier=block)
        except Exception as exc:  # any transport or node failure
            raise DirectoryUnavailable(str(exc)) from None
        asset, _meta, capacity, activated, revoked, dtype, status = raw
        info = None if status == 0 else DeviceInfo(bytes(asset), capacity, activated, revoked, dtype)
        with self._lock:
            if len(self._cache) >= self.max_entries:  # bounded: unknown addresses must not grow it forever
                self._cache.clear()
            self._cache[device] = (now, block, info)
        return info

    def follow_events(self) -> int:
        """Forget cached devices that registry events since the last call name (if the event is newer than
        what was cached); returns how many events.

        Raises :class:`DirectoryUnavailable` if the node cannot be read (the next call covers the gap)."""
        try:
            latest = self.registry.w3.eth.block_number
            if latest < self._next_block:
                return 0
            logs = self.registry.w3.eth.get_logs({
                "address": self.registry.address, "fromBlock": self._next_block, "toBlock": latest,
                "topics": [["0x" + t.hex() for t in _DEVICE_EVENTS]],
            })
        except Exception as exc:  # any transport or node failure
            raise DirectoryUnavailable(str(exc)) from None
        with self._lock:
            for raw in logs:
                for i in _DEVICE_EVENTS[bytes(raw["topics"][0])]:
                    device = bytes(raw["topics"][i])[12:]
                    hit = self._cache.get(device)
                    if hit is not None and hit[1] < raw["blockNumber"]:
                        del self._cache[device]
        self._next_block = latest + 1
        return len(logs)

    def contract_signature_valid(self, device: bytes, digest: bytes, signature: bytes) -> bool:
        """ERC-1271 ``isValidSignature`` of a device that is a contract, as the chain's ``SignatureChecker``.

        Only readings whose ECDSA check failed come here, and a device without code is answered from a
        cache, so a flood of bad signatures for key devices never reaches the node."""
        w3 = self.registry.w3
        now = self._clock()
        with self._lock:
            hit = self._has_code.get(device)
        try:
            if hit is None or now - hit[0] >= self.ttl_s:
                hit = (now, len(w3.eth.get_code(to_checksum(device))) > 0)
                with self._lock:
                    if len(self._has_code) >= self.max_entries:
                        self._has_code.clear()
                    self._has_code[device] = hit
            if not hit[1]:
                return False
            call = ERC1271_SELECTOR + abi_encode(["bytes32", "bytes"], [digest, signature])
            result = bytes(w3.eth.call({"to": to_checksum(device), "data": call}))
        except ContractLogicError:
            return False  # the wallet reverted: not its signature
        except Exception as exc:  # any transport or node failure
            raise DirectoryUnavailable(str(exc)) from None
        return result[:32] == ERC1271_SELECTOR.ljust(32, b"\0")


class Ingestor:
    """Validate, deduplicate and durably store readings; the rules of the ingest API."""

    def __init__(
        self,
        store: ReadingStore,
        directory: DeviceDirectory,
        domain: ReadingDomain,
        *,
        max_clock_skew_s: int = 300,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ):
        self.store = store
        self.directory = directory
        self.domain = domain
        self.max_clock_skew_s = max_clock_skew_s
        self.clock = clock
        self.metrics = metrics or Metrics()
        self._pubkeys = PubkeyCache()
        self._lock = threading.Lock()
        self._last_seq: dict[bytes, int] = store.last_seqs()

    def last_seq(self, device: bytes) -> int | None:
        with self._lock:
            return self._last_seq.get(device)

    # -- the rules ----------------------------------------------------------------------------
    def check(self, item: Any, now: float) -> tuple[Reading, bytes, bytes] | Result:
        """Stateless checks of one JSON item: (reading, signature, digest) or a rejection."""
        try:
            reading = Reading.from_json(item)
            signature = _signature(item)
        except ReadingError as exc:
            return Result(Status.REJECTED, Reason.MALFORMED, str(exc))
        if reading.period_end <= reading.period_start:
            return Result(Status.REJECTED, Reason.INVALID_PERIOD, "periodEnd must be after periodStart")
        if reading.period_end > now + self.max_clock_skew_s:
            return Result(Status.REJECTED, Reason.FUTURE_PERIOD, "periodEnd is in the future")
        try:
            info = self.directory.get(reading.device)
        except DirectoryUnavailable:
            return Result(Status.REJECTED, Reason.REGISTRY_UNAVAILABLE, "device registry unreachable, retry")
        if info is None:
            return Result(Status.REJECTED, Reason.UNKNOWN_DEVICE)
        if info.asset_id != reading.asset_id:
            return Result(Status.REJECTED, Reason.WRONG_ASSET)
        if info.activated_at == 0 or info.activated_at > reading.period_start:
            return Result(Status.REJECTED, Reason.DEVICE_INACTIVE)
        if info.revoked_at and reading.period_end > info.revoked_at:
            return Result(Status.REJECTED, Reason.DEVICE_REVOKED)
        if reading.energy_wh * 3600 > info.capacity_w * (reading.period_end - reading.period_start):
            return Result(Status.REJECTED, Reason.OVER_CAPACITY)
        digest = self.domain.digest(reading)
        if recover(digest, signature, self._pubkeys) != reading.device:
            try:  # a device that is a contract signs through ERC-1271 (the slow path, off the key path)
                if not self.directory.contract_signature_valid(reading.device, digest, signature):
                    return Result(Status.REJECTED, Reason.BAD_SIGNATURE)
            except DirectoryUnavailable:
                return Result(Status.REJECTED, Reason.REGISTRY_UNAVAILABLE, "device registry unreachable, retry")
        return reading, signature, digest

    def submit(self, items: Sequence[Any]) -> list[Result]:
        """Check ``items`` and store the good ones; returns one result per item, in order.

        Nothing is reported accepted unless it was committed. If the store fails, every reading of
        the call that was not yet stored is reported ``store_unavailable`` (safe to resend).
        """
        now = self.clock()
        checked = [self.check(item, now) for item in items]
        results: list[Result | None] = [c if isinstance(c, Result) else None for c in checked]
        with self._lock:
            fresh: list[int] = []
            for i, c in enumerate(checked):
                if isinstance(c, Result):
                    continue
                reading, _sig, digest = c
                dev, seq = reading.device, reading.seq
                last = self._last_seq.get(dev, -1)  # committed: never above the store's (other workers share it)
                if seq > last:  # the store transaction decides, in order, against the device's stored state
                    fresh.append(i)
                    continue
                known = self.store.existing_digest(dev, seq)
                if known is None:
                    results[i] = Result(Status.REJECTED, Reason.SEQ_NOT_INCREASING, f"last seq is {last}")
                elif known == digest:
                    results[i] = DUPLICATE
                else:
                    results[i] = self._conflict(reading)
            if fresh:
                try:
                    outcomes = self.store.insert_readings([checked[i] for i in fresh])  # type: ignore[misc]
                except Exception as exc:
                    log.error("store failed, %d readings not acknowledged: %s", len(fresh), exc)
                    for i in fresh:
                        results[i] = Result(Status.REJECTED, Reason.STORE_UNAVAILABLE, "store failed, retry")
                else:
                    for i, outcome in zip(fresh, outcomes):
                        reading = checked[i][0]  # type: ignore[index]
                        if outcome is InsertOutcome.INSERTED or outcome is InsertOutcome.DUPLICATE:
                            results[i] = ACCEPTED if outcome is InsertOutcome.INSERTED else DUPLICATE
                            if reading.seq > self._last_seq.get(reading.device, -1):
                                self._last_seq[reading.device] = reading.seq
                        elif outcome is InsertOutcome.CONFLICT:
                            results[i] = self._conflict(reading)
                        else:  # the store's per-device rules refused it
                            results[i] = _STORE_REFUSALS.get(outcome, Result(Status.REJECTED, Reason.MALFORMED, outcome.value))
        final = [r if r is not None else Result(Status.REJECTED, Reason.STORE_UNAVAILABLE) for r in results]
        self._count(final)
        return final

    def _conflict(self, reading: Reading) -> Result:
        detail = f"device {to_checksum(reading.device)} signed two different readings with seq {reading.seq}"
        log.warning("ALERT conflicting reading: %s", detail)
        try:
            self.store.record_alert(reading.device, reading.seq, "conflict", detail)
        except Exception as exc:  # the alert is logged even if it cannot be stored
            log.error("could not store alert: %s", exc)
        self.metrics.inc("alerts_total", help_text="conflicting readings (same device+seq, other content)", kind="conflict")
        return Result(Status.REJECTED, Reason.CONFLICT, "another reading with this seq was already accepted")

    def _count(self, results: list[Result]) -> None:
        m = self.metrics
        for r in results:
            if r.status is Status.REJECTED:
                m.inc("readings_total", help_text="readings received, by outcome", status="rejected", reason=r.reason.value)
            else:
                m.inc("readings_total", help_text="readings received, by outcome", status=r.status.value)


def _signature(item: dict) -> bytes:
    value = item.get("signature")
    if not isinstance(value, str):
        raise ReadingError("signature must be a hex string")
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if not 130 <= len(body) <= 2 * MAX_SIGNATURE_BYTES or len(body) % 2:
        raise ReadingError(f"signature must be 65 to {MAX_SIGNATURE_BYTES} bytes")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ReadingError("signature is not hex") from None


def reading_item(reading: Reading, signature: bytes) -> dict[str, Any]:
    """The JSON item for ``POST /v1/readings``."""
    return {**reading.to_json(), "signature": "0x" + signature.hex()}


# -- HTTP ------------------------------------------------------------------------------------------

class IngestServer(ThreadingHTTPServer):
    """The ingest API over HTTP; ``health`` adds fields to ``/healthz`` (e.g. the relayer's state)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], ingestor: Ingestor, health: Callable[[], dict] | None = None):
        super().__init__(address, _Handler)
        self.ingestor = ingestor
        self.health = health or (lambda: {})

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: IngestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # route to logging, not stderr
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        try:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                counts = self.server.ingestor.store.counts()
                self._send(200, {"status": "ok", **counts, **self.server.health()})
            elif path == "/metrics":
                self._send(200, self.server.ingestor.metrics.render(), "text/plain; version=0.0.4")
            elif path.startswith("/v1/devices/"):
                self._device(path.rsplit("/", 1)[1])
            else:
                self._send(404, {"error": "not found"})
        except Exception as exc:
            log.exception("GET %s failed", self.path)
            self._send(500, {"error": type(exc).__name__})

    def _device(self, address: str) -> None:
        try:
            device = address_bytes(address)
        except ReadingError as exc:
            self._send(400, {"error": str(exc)})
            return
        ingestor = self.server.ingestor
        try:
            info = ingestor.directory.get(device)
        except DirectoryUnavailable:
            self._send(503, {"error": "registry unavailable"})
            return
        last = ingestor.last_seq(device)
        if info is None and last is None:
            self._send(404, {"error": "unknown device", "device": to_checksum(device)})
            return
        body: dict[str, Any] = {"device": to_checksum(device), "registered": info is not None, "lastSeq": last}
        if info is not None:
            body.update(
                assetId="0x" + info.asset_id.hex(), capacityW=info.capacity_w, activatedAt=info.activated_at,
                revokedAt=info.revoked_at, deviceType=info.device_type,
            )
        self._send(200, body)

    def do_POST(self) -> None:
        try:
            if self.path.split("?", 1)[0] != "/v1/readings":
                self._send(404, {"error": "not found"})
                return
            items = self._read_items()
            if items is None:
                return
            results = self.server.ingestor.submit(items)
            accepted = sum(r.status is Status.ACCEPTED for r in results)
            duplicate = sum(r.status is Status.DUPLICATE for r in results)
            status = 503 if any(r.reason is Reason.STORE_UNAVAILABLE for r in results) else 200
            self._send(status, {
                "accepted": accepted, "duplicate": duplicate, "rejected": len(results) - accepted - duplicate,
                "results": [r.to_json() for r in results],
            })
        except Exception as exc:  # never let one request take the server down
            log.exception("POST %s failed", self.path)
            self.close_connection = True
            self._send(500, {"error": type(exc).__name__})

    def _read_items(self) -> list | None:
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return None
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            self._send(400, {"error": "body is not JSON"})
            return None
        if isinstance(body, dict):
            body = body.get("readings")
        if not isinstance(body, list):
            self._send(400, {"error": "expected a JSON array of readings or {\"readings\": [...]}"})
            return None
        if len(body) > MAX_READINGS_PER_REQUEST:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"over {MAX_READINGS_PER_REQUEST} readings"})
            return None
        return body
