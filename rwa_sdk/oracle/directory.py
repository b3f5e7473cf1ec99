"""Where ingest learns which devices exist: a static table, the registry read per device, or the
registry's whole device set rebuilt from its events (what the daemon uses).

The request path must not wait on the node: :class:`EventDirectory` reads every ``DeviceRegistered`` /
``Activated`` / ``Revoked`` / ``MetadataUpdated`` log once, in block ranges, then follows new ones; a
lookup is a dict read, and an address the registry never named is unknown without asking anyone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from eth_abi import encode as abi_encode
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from .reading import keccak256, to_checksum

log = logging.getLogger("rwa_sdk.oracle.directory")

ERC1271_SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


@dataclass(frozen=True, slots=True)
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


EV_REGISTERED = keccak256(b"DeviceRegistered(address,bytes32,uint8,uint64,bytes32)")
EV_ACTIVATED = keccak256(b"DeviceActivated(address,bytes32,uint48)")
EV_REVOKED = keccak256(b"DeviceRevoked(address,bytes32,uint48)")
EV_METADATA = keccak256(b"DeviceMetadataUpdated(address,uint64,bytes32)")
EV_ROTATED = keccak256(b"DeviceKeyRotated(address,address,bytes32,uint48)")

# DeviceRegistry events that change what a directory caches; topic 1 (and 2 for a rotation) is a device.
_DEVICE_EVENTS = {EV_REGISTERED: (1,), EV_ACTIVATED: (1,), EV_REVOKED: (1,), EV_METADATA: (1,), EV_ROTATED: (1, 2)}


class _CodeCache:
    """Whether an address has code (an ERC-1271 wallet), asked of the node once per ``ttl_s`` per device."""

    def __init__(self, w3: Any, ttl_s: float, clock: Callable[[], float], max_entries: int):
        self.w3, self.ttl_s, self._clock, self.max_entries = w3, ttl_s, clock, max_entries
        self._has_code: dict[bytes, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def signature_valid(self, device: bytes, digest: bytes, signature: bytes) -> bool:
        """ERC-1271 ``isValidSignature`` of a device that is a contract, as the chain's ``SignatureChecker``."""
        now = self._clock()
        with self._lock:
            hit = self._has_code.get(device)
        try:
            if hit is None or now - hit[0] >= self.ttl_s:
                hit = (now, len(self.w3.eth.get_code(to_checksum(device))) > 0)
                with self._lock:
                    if len(self._has_code) >= self.max_entries:
                        self._has_code.clear()
                    self._has_code[device] = hit
            if not hit[1]:
                return False
            call = ERC1271_SELECTOR + abi_encode(["bytes32", "bytes"], [digest, signature])
            result = bytes(self.w3.eth.call({"to": to_checksum(device), "data": call}))
        except ContractLogicError:
            return False  # the wallet reverted: not its signature
        except Exception as exc:  # any transport or node failure
            raise DirectoryUnavailable(str(exc)) from None
        return result[:32] == ERC1271_SELECTOR.ljust(32, b"\0")


class RegistryDirectory:
    """DeviceRegistry on chain, read per device and cached for ``ttl_s`` (in-process tools and tests).

    :meth:`follow_events` drops the devices the registry's events name since the last call, so a
    revocation takes effect as soon as it is followed; ``ttl_s`` bounds how stale an entry can get
    if events are not followed. Unknown devices are cached too (negatively), so a flood of readings
    naming one unregistered address costs one lookup per ``ttl_s``.
    """

    def __init__(self, registry: Contract, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 1_000_000):
        self.registry = registry
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._cache: dict[bytes, tuple[float, int, DeviceInfo | None]] = {}  # device -> (when, block read at, info)
        self._code = _CodeCache(registry.w3, ttl_s, clock, max_entries)
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
        """ERC-1271 check; only readings whose ECDSA check failed come here, and whether a device has
        code is cached, so a flood of bad signatures for key devices never reaches the node."""
        return self._code.signature_valid(device, digest, signature)


class EventDirectory:
    """The registry's whole device set, rebuilt from its event logs and kept current by following them.

    :meth:`sync` reads logs from ``from_block`` (default: the block the registry was deployed in,
    found by bisecting ``eth_getCode``) to the latest block in ranges of ``range_blocks``, applying each
    event in chain order; the daemon calls it every few seconds. :meth:`get` never calls the node.
    A lookup that misses (or finds a device not yet activated) runs one more sync first, at most once per ``miss_sync_s`` (0.25 s) whatever the
    number of misses: a device registered a moment ago is found, and a flood of readings signed by
    unregistered keys costs the node a bounded two calls per interval (block number + logs), not one
    per reading.
    """

    def __init__(self, registry: Contract, *, from_block: int | None = None, range_blocks: int = 10_000,
                 code_ttl_s: float = 3_600.0, miss_sync_s: float = 0.25, clock: Callable[[], float] = time.monotonic):
        self.registry = registry
        self.range_blocks = range_blocks
        self.miss_sync_s = miss_sync_s
        self._clock = clock
        self._last_sync = float("-inf")
        self._sync_lock = threading.Lock()
        self._rechecked: set[bytes] = set()
        self._devices: dict[bytes, DeviceInfo] = {}
        self._code = _CodeCache(registry.w3, code_ttl_s, clock, 1_000_000)
        self._lock = threading.Lock()
        self._next_block = from_block
        self.synced_block = -1
        self.events_applied = 0

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device: bytes) -> DeviceInfo | None:
        info = self._devices.get(device)
        if info is not None and info.activated_at:
            return info
        if info is not None and device not in self._rechecked:
            # registered but not yet active when last synced: its activation usually follows in the next
            # block, so look once at once (bounded by the registrations on chain, which cost gas)
            self._rechecked.add(device)
        elif self._clock() - self._last_sync < self.miss_sync_s:
            return info
        self.sync()
        return self._devices.get(device)

    def known(self, device: bytes) -> DeviceInfo | None:
        """The device as last synced; never calls the node."""
        return self._devices.get(device)

    def contract_signature_valid(self, device: bytes, digest: bytes, signature: bytes) -> bool:
        if self.get(device) is None:
            return False  # never a wallet call for an address the registry does not know
        return self._code.signature_valid(device, digest, signature)

    def follow_events(self) -> int:
        return self.sync()

    def sync(self) -> int:
        """Apply every registry event up to the latest block; returns how many were applied.

        Raises :class:`DirectoryUnavailable` if the node cannot be read (the next call resumes where this
        one stopped: ranges already applied are not read again)."""
        with self._sync_lock:
            self._last_sync = self._clock()
            return self._sync()

    def _sync(self) -> int:
        try:
            w3 = self.registry.w3
            latest = w3.eth.block_number
            if self._next_block is None:
                self._next_block = self._deployment_block(latest)
            applied = 0
            topics = [["0x" + t.hex() for t in (EV_REGISTERED, EV_ACTIVATED, EV_REVOKED, EV_METADATA)]]
            while self._next_block <= latest:
                to = min(latest, self._next_block + self.range_blocks - 1)
                logs = self._raw_logs(self._next_block, to, topics)
                applied += self._apply(logs)
                self._next_block = to + 1
                self.synced_block = to
        except DirectoryUnavailable:
            raise
        except Exception as exc:  # any transport or node failure
            raise DirectoryUnavailable(str(exc)) from None
        self.events_applied += applied
        return applied

    def _raw_logs(self, start: int, end: int, topics: list) -> list[dict]:
        """``eth_getLogs`` without web3's per-log formatting (a cold start reads millions of logs)."""
        answer = self.registry.w3.provider.make_request("eth_getLogs", [{
            "address": self.registry.address, "fromBlock": hex(start), "toBlock": hex(end), "topics": topics,
        }])
        if "error" in answer:
            raise DirectoryUnavailable(f"eth_getLogs: {answer['error'].get('message', answer['error'])}")
        return answer["result"]

    def _apply(self, logs: list[dict]) -> int:
        logs.sort(key=lambda raw: (int(raw["blockNumber"], 16), int(raw["logIndex"], 16)))
        with self._lock:
            devices = self._devices
            for raw in logs:
                if raw.get("removed"):
                    continue
                topics = raw["topics"]
                kind = bytes.fromhex(topics[0][2:])
                device = bytes.fromhex(topics[1][-40:])
                data = bytes.fromhex(raw["data"][2:])
                if kind == EV_REGISTERED:
                    asset = bytes.fromhex(topics[2][2:])
                    devices[device] = DeviceInfo(asset, int.from_bytes(data[32:64], "big"), 0, 0,
                                                 int.from_bytes(data[:32], "big"))
                    continue
                info = devices.get(device)
                if info is None:  # an event of a device registered before from_block: read it once
                    log.warning("registry event for %s before its registration was seen", to_checksum(device))
                    continue
                if kind == EV_ACTIVATED:
                    devices[device] = replace(info, activated_at=int.from_bytes(data[:32], "big"))
                elif kind == EV_REVOKED:
                    devices[device] = replace(info, revoked_at=int.from_bytes(data[:32], "big"))
                elif kind == EV_METADATA:
                    devices[device] = replace(info, capacity_w=int.from_bytes(data[:32], "big"))
        return len(logs)

    def _deployment_block(self, latest: int) -> int:
        """The first block where the registry has code (bisection, ~log2(latest) calls); 0 if unknown."""
        eth, address = self.registry.w3.eth, self.registry.address
        try:
            if not eth.get_code(address, block_identifier=latest):
                return 0
            lo, hi = 0, latest
            while lo < hi:
                mid = (lo + hi) // 2
                if eth.get_code(address, block_identifier=mid):
                    hi = mid
                else:
                    lo = mid + 1
            return lo
        except Exception:  # a node without old state: read from genesis
            return 0
