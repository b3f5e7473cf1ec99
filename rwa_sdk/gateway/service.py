"""``rwa gateway run``: one process at the edge wiring chargers and inverters to the ingest API.

Samples from the OCPP central system and the SunSpec pollers become signed readings in the spool
(one transaction per message), the poster thread sends them on. A device with a registered meter
key counts only meter-signed (OCMF) samples: its unsigned values are ignored and a record that
fails verification is kept in the spool with its reason and yields no reading.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..oracle.reading import FLAG_CLOCK_UNSYNCED, FLAG_ESTIMATED, DeviceSigner, ReadingDomain
from .config import DeviceConfig, GatewayConfig
from .keys import load_signer, password_from_env
from .meter import Sample
from .ocmf import OcmfRefused, load_public_key, verify_record
from .ocpp_csms import CsmsServer, RawSample
from .poster import Poster
from .spool import Batch, OcmfEntry, Spool
from .sunspec import SunSpecDevice, SunSpecError

log = logging.getLogger("rwa_sdk.gateway")

MAX_GROUP = 1_000  # messages committed together at most


@dataclass
class DeviceRuntime:
    config: DeviceConfig
    signer: DeviceSigner
    meter_key: Any = None  # cryptography EllipticCurvePublicKey of the certified meter
    status: str = "unknown"
    last_seen: float = 0.0
    unsigned_ignored: int = 0
    errors: int = 0


@dataclass
class GatewayStats:
    samples: int = 0
    readings: int = 0
    ocmf_verified: int = 0
    ocmf_refused: int = 0
    polls_failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def decode_signed_data(data: str) -> str:
    """The OCMF text of an OCPP signed value: plain ``OCMF|...`` or base64 of it (2.0.1 signedMeterData)."""
    text = data.strip()
    if text.startswith("OCMF|"):
        return text
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return text
    return decoded if decoded.startswith("OCMF|") else text


class Gateway:
    """Devices, spool, poster, CSMS and pollers of one config; ``serve()`` runs them all."""

    def __init__(self, config: GatewayConfig, signers: dict[str, DeviceSigner] | None = None):
        self.config = config
        self.domain = ReadingDomain(config.chain_id, config.oracle)
        password = None
        self.devices: dict[str, DeviceRuntime] = {}
        for device in config.devices:
            if signers and device.name in signers:
                signer = signers[device.name]
            else:
                password = password or password_from_env(config.password_env)
                signer = load_signer(device.keystore, password)
            if device.address and device.address.lower() != signer.checksum.lower():
                raise ValueError(f"device {device.name!r}: keystore holds {signer.checksum}, config says {device.address}")
            meter_key = load_public_key(device.meter_key) if device.meter_key else None
            self.devices[device.name] = DeviceRuntime(device, signer, meter_key)
        self.by_ocpp = {(d.config.ocpp_id, d.config.evse): d for d in self.devices.values() if d.config.protocol == "ocpp"}
        self._ocpp_ids = {key[0] for key in self.by_ocpp}
        self.spool = Spool(config.spool, config.synchronous)
        self.poster = Poster(self.spool, config.ingest_url)
        self.stats = GatewayStats()
        self.csms: CsmsServer | None = None
        self._stop = threading.Event()
        self._writes: asyncio.Queue | None = None

    # -- samples to readings ----------------------------------------------------------------
    def _batch(self, device: DeviceRuntime, samples: list[Sample], ocmf: Sequence[OcmfEntry] = (),
               rollover_wh: int | None = None) -> Batch:
        c = device.config
        return Batch(device.signer.address, c.asset_id, c.capacity_w, samples,
                     lambda r: self.domain.sign(r, device.signer.key), rollover_wh, tuple(ocmf))

    def record(self, device: DeviceRuntime, samples: list[Sample], ocmf: Sequence[OcmfEntry] = (),
               rollover_wh: int | None = None) -> int:
        """Record one device's samples now (its own transaction)."""
        return self._recorded(self.spool.record_many([self._batch(device, samples, ocmf, rollover_wh)]), len(samples))

    def _recorded(self, made: list[list], samples: int) -> int:
        count = sum(len(m) for m in made)
        self.stats.samples += samples
        self.stats.readings += count
        if count:
            self.poster.wake.set()
        return count

    async def submit(self, device: DeviceRuntime, samples: list[Sample], ocmf: Sequence[OcmfEntry] = (),
                     rollover_wh: int | None = None) -> None:
        """Record through the group-commit writer: returns once the samples are durably spooled."""
        if self._writes is None:
            await asyncio.to_thread(self.record, device, samples, ocmf, rollover_wh)
            return
        done = asyncio.get_running_loop().create_future()
        await self._writes.put((self._batch(device, samples, ocmf, rollover_wh), len(samples), done))
        await done

    async def _writer(self) -> None:
        """Commit every message waiting at once in one transaction (group commit), then answer them all."""
        assert self._writes is not None
        while True:
            pending = [await self._writes.get()]
            while not self._writes.empty() and len(pending) < MAX_GROUP:
                pending.append(self._writes.get_nowait())
            try:
                made = await asyncio.to_thread(self.spool.record_many, [b for b, _, _ in pending])
            except Exception as exc:  # nothing of the group was stored: every sender gets the error
                for _, _, done in pending:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self._recorded(made, sum(n for _, n, _ in pending))
            for _, _, done in pending:
                if not done.done():
                    done.set_result(None)

    # MeterSink (the CSMS calls these)
    def knows(self, charge_point_id: str) -> bool:
        return charge_point_id in self._ocpp_ids

    def password(self, charge_point_id: str) -> str | None:
        """The Basic-auth password a charger must present (from the env variable its config names), if any."""
        import os

        for (cp, _), device in self.by_ocpp.items():
            if cp == charge_point_id and device.config.ocpp_password_env:
                value = os.environ.get(device.config.ocpp_password_env)
                if not value:  # configured but unset: refuse rather than run open
                    return "\0unset"
                return value
        return None

    def status(self, charge_point_id: str, evse: int, status: str) -> None:
        device = self.by_ocpp.get((charge_point_id, evse))
        if device is not None:
            device.status = status
            device.last_seen = time.time()

    async def samples(self, charge_point_id: str, evse: int, raw: list[RawSample]) -> None:
        device = self.by_ocpp.get((charge_point_id, evse))
        if device is None:
            if raw:
                log.warning("charger %s EVSE %d is not configured; %d samples skipped", charge_point_id, evse, len(raw))
            return
        device.last_seen = time.time()
        samples, entries = self.check_samples(device, raw)
        if samples or entries:
            await self.submit(device, samples, entries)

    def check_samples(self, device: DeviceRuntime, raw: list[RawSample]) -> tuple[list[Sample], list[OcmfEntry]]:
        """Plain samples, or for a device with a meter key only the OCMF-verified ones (with the records)."""
        samples: list[Sample] = []
        entries: list[OcmfEntry] = []
        for s in raw:
            if s.signed is None:
                if device.meter_key is not None:
                    device.unsigned_ignored += 1
                elif s.register_wh is not None:
                    samples.append(Sample(s.time, s.register_wh))
                continue
            record = decode_signed_data(s.signed)
            digest = hashlib.sha256(record.encode()).hexdigest()
            try:
                verified = verify_record(record, device.meter_key, s.public_key)
            except OcmfRefused as refused:
                self.stats.ocmf_refused += 1
                self.stats.reasons[refused.reason] = self.stats.reasons.get(refused.reason, 0) + 1
                log.warning("device %s: OCMF record refused: %s", device.config.name, refused)
                entries.append(OcmfEntry(record, digest, "refused", refused.reason, transaction_id=s.transaction_id))
                continue
            self.stats.ocmf_verified += 1
            entries.append(OcmfEntry(record, digest, "verified", None, verified.algorithm, verified.onchain,
                                     verified.billable_wh, s.transaction_id))
            for m in verified.samples:
                flags = (0 if m.status in (None, "G") else FLAG_ESTIMATED) | (0 if m.clock_synced else FLAG_CLOCK_UNSYNCED)
                samples.append(Sample(m.time, m.register_wh, flags))
        samples.sort(key=lambda x: x.time)
        return samples, entries

    # -- Modbus ---------------------------------------------------------------------------------
    async def poll(self, device: DeviceRuntime) -> None:
        c = device.config
        client = SunSpecDevice(c.host, c.port, c.unit)
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    register_wh, rollover = await client.read_energy()
                except SunSpecError as exc:
                    if device.status != "unreachable":
                        log.warning("device %s unreachable: %s", c.name, exc)
                    device.status = "unreachable"
                    device.errors += 1
                    self.stats.polls_failed += 1
                else:
                    device.status, device.last_seen = "ok", time.time()
                    await self.submit(device, [Sample(int(time.time()), register_wh)], (), rollover)
                next_at += c.poll_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()

    # -- running --------------------------------------------------------------------------------
    async def serve(self, stop: asyncio.Event, ready: threading.Event | None = None) -> None:
        poster = threading.Thread(target=self.poster.run, args=(self._stop,), name="gateway-poster", daemon=True)
        poster.start()
        self._writes = asyncio.Queue()
        tasks = [asyncio.create_task(self._writer(), name="spool-writer")]
        try:
            if self.by_ocpp:
                self.csms = await CsmsServer(self, self.config.ocpp_host, self.config.ocpp_port).start()
            for device in self.devices.values():
                if device.config.protocol == "modbus":
                    tasks.append(asyncio.create_task(self.poll(device), name=f"poll-{device.config.name}"))
            if ready is not None:
                ready.set()
            await stop.wait()
        finally:
            self._stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.csms is not None:
                await self.csms.close()
            self.poster.wake.set()
            poster.join(15)

    def transaction_billable_wh(self, name: str, transaction_id: str) -> int | None:
        """Billable energy of a charging transaction from its verified OCMF begin and end readings."""
        from .ocmf import transaction_billable_wh

        device = self.devices[name]
        records = [r["record"] for r in self.spool.ocmf_records(device.signer.address)
                   if r["verdict"] == "verified" and r["transactionId"] == transaction_id]
        return transaction_billable_wh(records) if records else None

    def health(self) -> dict[str, Any]:
        return {
            "spool": self.spool.counts(),
            "devices": {n: {"address": d.signer.checksum, "status": d.status, "errors": d.errors,
                            "unsignedIgnored": d.unsigned_ignored} for n, d in self.devices.items()},
            "stats": self.stats.__dict__,
            "poster": self.poster.stats.__dict__,
        }

    def close(self) -> None:
        self.spool.close()


class GatewayThread:
    """A gateway running in a background thread (tests, demos); ``stop()`` ends it cleanly."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> GatewayThread:
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            try:
                loop.run_until_complete(self.gateway.serve(self._stop, ready))
            except BaseException as exc:
                self.error = exc
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="gateway", daemon=True)
        self._thread.start()
        ready.wait(30)
        if self.error:
            raise self.error
        return self

    @property
    def ocpp_url(self) -> str:
        csms = self.gateway.csms
        assert csms is not None
        return f"ws://{csms.host}:{csms.port}"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
        self._thread = None


def run(config: GatewayConfig) -> None:
    """Serve until SIGTERM/SIGINT (what ``rwa gateway run`` calls)."""
    gateway = Gateway(config)
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("gateway: %d devices, spool %s, ingest %s", len(gateway.devices), config.spool, config.ingest_url)
        await gateway.serve(stop)

    try:
        asyncio.run(main())
    finally:
        gateway.close()
