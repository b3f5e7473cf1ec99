"""Ingest rules: check every signed reading before acknowledging it, then store it durably.

``Ingestor`` holds the rules (pure Python, used in-process by benchmarks, tests and the HTTP layer,
:mod:`.http_server`). Checks run cheapest first and never ask the node before the signature is known
good: parse, period, ECDSA recovery (CPU only), then the device directory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .directory import (  # noqa: F401  (re-exported: the directory types used to live here)
    DeviceDirectory,
    DeviceInfo,
    DirectoryUnavailable,
    EventDirectory,
    RegistryDirectory,
    StaticDirectory,
)
from .metrics import Metrics
from .reading import PubkeyCache, Reading, ReadingDomain, ReadingError, recover, to_checksum
from .store import InsertOutcome, ReadingStore

log = logging.getLogger("rwa_sdk.oracle.ingest")

MAX_SIGNATURE_BYTES = 1_024  # ECDSA is 65; contract devices (ERC-1271) may send longer ones


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
    REFUSED = "refused"  # the store refused it for a reason this version does not name
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
        if self.reason is None and not self.detail:
            return _PLAIN[self.status]  # accepted / duplicate: one shared dict, the common answer
        out: dict[str, Any] = {"status": self.status.value}
        if self.reason is not None:
            out["reason"] = self.reason.value
        if self.detail:
            out["detail"] = self.detail
        return out

    @property
    def acknowledged(self) -> bool:
        return self.status is not Status.REJECTED


_PLAIN = {status: {"status": status.value} for status in Status}
ACCEPTED = Result(Status.ACCEPTED)
DUPLICATE = Result(Status.DUPLICATE)


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
        """Stateless checks of one JSON item: (reading, signature, digest) or a rejection.

        The signature is checked before the directory is asked, and a key device's bad signature never
        reaches the node: only a registered device whose ECDSA check failed may be a contract (ERC-1271)."""
        try:
            reading = Reading.from_json(item)
            signature = _signature(item)
        except ReadingError as exc:
            return Result(Status.REJECTED, Reason.MALFORMED, str(exc))
        if reading.period_end <= reading.period_start:
            return Result(Status.REJECTED, Reason.INVALID_PERIOD, "periodEnd must be after periodStart")
        if reading.period_end > now + self.max_clock_skew_s:
            return Result(Status.REJECTED, Reason.FUTURE_PERIOD, "periodEnd is in the future")
        digest = self.domain.digest(reading)
        signed = recover(digest, signature, self._pubkeys) == reading.device
        try:
            info = self.directory.get(reading.device) if signed else None
            if not signed:
                if len(signature) == 65 and signature[64] not in (27, 28):
                    return Result(Status.REJECTED, Reason.BAD_SIGNATURE, "v must be 27 or 28")
                # a device that is a contract signs through ERC-1271 (the slow path, off the key path)
                if not self.directory.contract_signature_valid(reading.device, digest, signature):
                    return Result(Status.REJECTED, Reason.BAD_SIGNATURE)
                info = self.directory.get(reading.device)
        except DirectoryUnavailable:
            return Result(Status.REJECTED, Reason.REGISTRY_UNAVAILABLE, "device registry unreachable, retry")
        if info is None:
            return Result(Status.REJECTED, Reason.UNKNOWN_DEVICE)
        if info.asset_id != reading.asset_id:
            return Result(Status.REJECTED, Reason.WRONG_ASSET)
        if info.revoked_at:  # once revoked, nothing new from the key counts (docs/oracle.md, revocation rule)
            return Result(Status.REJECTED, Reason.DEVICE_REVOKED)
        if info.activated_at == 0 or info.activated_at > reading.period_start:
            return Result(Status.REJECTED, Reason.DEVICE_INACTIVE)
        if reading.energy_wh * 3600 > info.capacity_w * (reading.period_end - reading.period_start):
            return Result(Status.REJECTED, Reason.OVER_CAPACITY)
        return reading, signature, digest

    def submit(self, items: Sequence[Any]) -> list[Result]:
        """Check ``items`` and store the good ones; returns one result per item, in order.

        Nothing is reported accepted unless it was committed. If the store fails, every reading of
        the call that was not yet stored is reported ``store_unavailable`` (safe to resend).
        """
        return self.commit(self.verify(items))

    def verify(self, items: Sequence[Any]) -> list:
        """The stateless checks of :meth:`check` for each item (CPU only: may run ahead of :meth:`commit`)."""
        now = self.clock()
        return [self.check(item, now) for item in items]

    def commit(self, checked: Sequence[Any]) -> list[Result]:
        """Store what :meth:`verify` passed, in order, against each device's committed state; one result per item."""
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
                known = self.store.existing_reading(dev, seq)
                if known is None:
                    results[i] = Result(Status.REJECTED, Reason.SEQ_NOT_INCREASING, f"last seq is {last}")
                elif known == reading:
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
                    inserted_last: dict[bytes, int] = {}
                    for i, outcome in zip(fresh, outcomes):
                        reading = checked[i][0]  # type: ignore[index]
                        results[i] = self._outcome(outcome, reading)
                        if outcome in (InsertOutcome.INSERTED, InsertOutcome.DUPLICATE):
                            inserted_last[reading.device] = max(reading.seq, inserted_last.get(reading.device, -1))
                    for dev, seq in inserted_last.items():
                        if seq > self._last_seq.get(dev, -1):
                            self._last_seq[dev] = seq
        final = [r if r is not None else Result(Status.REJECTED, Reason.STORE_UNAVAILABLE) for r in results]
        self._count(final)
        return final

    def _outcome(self, outcome: InsertOutcome, reading: Reading) -> Result:
        """The API's answer for what the store did with one reading (the store is the authority)."""
        name = getattr(outcome, "name", "")
        if name == "INSERTED":
            return ACCEPTED
        if name == "DUPLICATE":
            return DUPLICATE
        if name == "CONFLICT":
            return self._conflict(reading)
        if name == "SEQ_NOT_INCREASING":
            return Result(Status.REJECTED, Reason.SEQ_NOT_INCREASING, "seq must increase")
        if name == "PERIOD_OVERLAP":
            return Result(Status.REJECTED, Reason.PERIOD_OVERLAP,
                          "period starts before the end of the device's previous counted period")
        if name == "DEVICE_REVOKED":
            return Result(Status.REJECTED, Reason.DEVICE_REVOKED, "the store knows the device is revoked")
        return Result(Status.REJECTED, Reason.REFUSED, f"refused by the store ({getattr(outcome, 'value', outcome)})")

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
        """One counter update per outcome, not per reading (each takes the metrics lock)."""
        m = self.metrics
        for (status, reason), n in Counter((r.status, r.reason) for r in results).items():
            if status is Status.REJECTED:
                m.inc("readings_total", n, help_text="readings received, by outcome", status="rejected", reason=reason.value)
            else:
                m.inc("readings_total", n, help_text="readings received, by outcome", status=status.value)


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
