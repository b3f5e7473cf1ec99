"""Simulated devices that measure, sign and post readings: PV inverters, batteries, EV chargers.

Each device reports the energy it delivered over consecutive periods of real time, with a running
meter register. The models are simple but shaped like the real thing: PV follows a clear-sky day
dimmed by drifting clouds, a battery discharges in the evening peak, a charger delivers energy in
random sessions. ``Simulator.run`` posts to an ingest API and resends until every reading is
acknowledged, keeping each device's order (so a daemon restart loses nothing).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .ingest import reading_item
from .reading import DeviceSigner, Reading, ReadingDomain

log = logging.getLogger("rwa_sdk.oracle.simulator")

KINDS = ("pv-inverter", "battery", "charger")
RETRYABLE = {"store_unavailable", "registry_unavailable"}


class IngestUnreachable(RuntimeError):
    """The ingest API did not answer for longer than the simulator waits."""


def clear_sky_fraction(t_unix: float, longitude_deg: float = 0.0) -> float:
    """Share of nameplate a PV plant delivers under a clear sky at ``t_unix`` (0 at night)."""
    solar_hour = ((t_unix / 3600.0) + longitude_deg / 15.0) % 24.0
    if not 6.0 <= solar_hour <= 18.0:
        return 0.0
    return math.sin(math.pi * (solar_hour - 6.0) / 12.0) ** 1.3 * 0.9


@dataclass
class SimDevice:
    """One simulated device: its key, model parameters and meter state."""

    signer: DeviceSigner
    kind: str
    asset_id: bytes
    capacity_w: int
    longitude_deg: float = 0.0
    seq: int = 0
    meter_wh: int = 0
    next_start: int = 0
    cloud: float = 1.0
    session_left_s: float = 0.0
    session_power_w: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def power_w(self, t: float, period_s: int) -> float:
        """Average delivered power over the period ending at ``t``."""
        if self.kind == "pv-inverter":
            self.cloud = min(1.0, max(0.15, self.cloud + self.rng.gauss(0.0, 0.08) * math.sqrt(period_s / 60)))
            return self.capacity_w * clear_sky_fraction(t, self.longitude_deg) * self.cloud
        if self.kind == "battery":
            hour = ((t / 3600.0) + self.longitude_deg / 15.0) % 24.0
            return self.capacity_w * 0.6 if 17.0 <= hour < 22.0 else 0.0  # charging delivers nothing
        if self.session_left_s <= 0:  # charger: maybe a car arrives
            if self.rng.random() < period_s / 1800.0:
                self.session_left_s = self.rng.uniform(1200, 5400)
                self.session_power_w = self.capacity_w * self.rng.uniform(0.5, 1.0)
            else:
                return 0.0
        self.session_left_s -= period_s
        return self.session_power_w

    def next_reading(self, period_s: int) -> Reading:
        start = self.next_start
        end = start + period_s
        energy = int(self.power_w(end, period_s) * period_s / 3600.0)
        energy = min(energy, self.capacity_w * period_s // 3600)
        self.seq += 1
        self.meter_wh += energy
        self.next_start = end
        return Reading(self.signer.address, self.asset_id, self.seq, start, end, energy, self.meter_wh, 0)


@dataclass
class SimStats:
    """What the simulator sent and what the API acknowledged."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retries: int = 0
    acked: dict[tuple[bytes, int], bytes] = field(default_factory=dict)  # (device, seq) -> digest
    reasons: dict[str, int] = field(default_factory=dict)


def make_devices(n: int, asset_id: bytes, *, seed: int = 1, capacity_w: int = 10_000, start: int | None = None,
                 kinds: Sequence[str] = KINDS) -> list[SimDevice]:
    """``n`` devices cycling through ``kinds``, keys derived from ``seed`` (reproducible)."""
    rng = random.Random(seed)
    start = int(time.time()) if start is None else start
    devices = []
    for i in range(n):
        secret = rng.getrandbits(256).to_bytes(32, "big")
        devices.append(SimDevice(DeviceSigner.from_secret(secret), kinds[i % len(kinds)], asset_id, capacity_w,
                                 longitude_deg=rng.uniform(-10, 30), next_start=start, rng=random.Random(seed * 7919 + i)))
    return devices


class Simulator:
    """Streams readings of ``devices`` to an ingest API at about ``rate`` readings per second in total."""

    def __init__(self, url: str, domain: ReadingDomain, devices: Sequence[SimDevice], rate: float,
                 *, chunk: int = 500, clock: Callable[[], float] = time.time, timeout_s: float = 10.0,
                 give_up_after_s: float | None = 120.0):
        if not devices:
            raise ValueError("no devices to simulate")
        self.url = url.rstrip("/") + "/v1/readings"
        self.domain = domain
        self.devices = list(devices)
        self.period_s = max(1, round(len(devices) / rate)) if rate > 0 else 1  # one reading per device per period
        self.chunk = chunk
        self.clock = clock
        self.timeout_s = timeout_s
        self.give_up_after_s = give_up_after_s  # raise IngestUnreachable after this long without an answer
        self.stats = SimStats()
        self._unacked: list[tuple[Reading, bytes, bytes]] = []

    def due_readings(self) -> list[tuple[Reading, bytes, bytes]]:
        """Readings whose period has ended by now, signed: (reading, signature, digest)."""
        now = self.clock()
        out = []
        for dev in self.devices:
            while dev.next_start + self.period_s <= now:
                r = dev.next_reading(self.period_s)
                digest = self.domain.digest(r)
                out.append((r, self.domain.sign(r, dev.signer.key), digest))
        return out

    def run(self, stop: threading.Event, duration_s: float | None = None) -> SimStats:
        """Post until ``stop`` is set (or ``duration_s`` passed).

        A reading that is not acknowledged is resent, before any later reading, until it is; when the
        run ends first it stays queued for the next :meth:`run` or :meth:`resend_unacked`.
        """
        deadline = None if duration_s is None else time.monotonic() + duration_s

        def give_up() -> bool:
            return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

        while not give_up():
            if self.resend_unacked(give_up):
                self._unacked.extend(self.due_readings())
                self.resend_unacked(give_up)
            stop.wait(0.2)
        return self.stats

    def resend_unacked(self, give_up: Callable[[], bool] | None = None) -> bool:
        """Post queued readings in chunks until all are acknowledged (True) or ``give_up()`` (False)."""
        while self._unacked:
            chunk = self._unacked[: self.chunk]
            left = self.post(chunk, give_up)
            del self._unacked[: len(chunk)]
            if left:
                self._unacked[:0] = left
                return False
        return True

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    def post(self, items: Sequence[tuple[Reading, bytes, bytes]],
             give_up: Callable[[], bool] | None = None) -> list[tuple[Reading, bytes, bytes]]:
        """Post ``items`` until each is acknowledged or rejected for good, retrying through outages.

        Returns the items still unacknowledged when ``give_up()`` turned true (empty otherwise).
        """
        pending = list(items)
        delay = 0.2
        down_since: float | None = None
        while pending:
            body = json.dumps([reading_item(r, s) for r, s, _ in pending]).encode()
            request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                answer = _json_or_none(exc.read()) if exc.code == 503 else None
                retry_after = _seconds(exc.headers.get("Retry-After"))
                if answer is None and retry_after is None:
                    log.warning("ingest answered %d; retrying", exc.code)
            except (OSError, ValueError) as exc:  # refused, reset, timeout: the daemon may be restarting
                answer = None
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    limit = f", giving up after {self.give_up_after_s:.0f}s" if self.give_up_after_s else ""
                    log.warning("ingest %s unreachable (%s); retrying with backoff%s", self.url, exc, limit)
                elif self.give_up_after_s is not None and now - down_since > self.give_up_after_s:
                    raise IngestUnreachable(f"ingest at {self.url} did not answer for {self.give_up_after_s:.0f}s "
                                            f"({exc}): is `rwa oracle run` up?") from None
            else:
                if down_since is not None:
                    log.warning("ingest %s answers again", self.url)
                down_since = None
            if answer is not None:
                self.stats.sent += len(pending)
                pending = self._tally(pending, answer["results"])
            if pending:
                self.stats.retries += 1
                if give_up is not None and give_up():
                    return pending
                time.sleep(retry_after if retry_after is not None else delay)
                delay = min(delay * 2, 2.0)
        return []

    def _tally(self, items: Sequence[tuple[Reading, bytes, bytes]], results: Sequence[dict]) -> list:
        retry = []
        for item, result in zip(items, results):
            status, reason = result["status"], result.get("reason")
            if status in ("accepted", "duplicate"):
                setattr(self.stats, status, getattr(self.stats, status) + 1)
                self.stats.acked[(item[0].device, item[0].seq)] = item[2]
            elif reason in RETRYABLE:
                retry.append(item)
            else:
                self.stats.rejected += 1
                self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        return retry


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (bounded), or None."""
    try:
        return min(max(float(value), 0.0), 30.0) if value is not None else None
    except ValueError:
        return None


def _json_or_none(raw: bytes) -> dict | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "results" in value else None
