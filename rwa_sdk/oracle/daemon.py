"""The oracle daemon: ingest API + relayer in one process, with a graceful stop on SIGTERM.

``run(config)`` is what ``rwa oracle run`` calls. On SIGTERM/SIGINT it stops accepting readings,
cuts no new batch, waits up to ``shutdown_grace_s`` for the transaction in flight to be mined and
confirmed, and exits. Whatever is not finished stays in the store and is resumed on the next start
(a batch already mined is recognised by its root in the chain's logs and not sent again).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chain import Chain, ChainError, connect, redact_url
from .contracts import DEVICE_TYPES
from .directory import DirectoryUnavailable, EventDirectory
from .http_server import IngestServer, ServerLimits
from .ingest import Ingestor
from .metrics import Metrics
from .proof import ProofNotFound, ReadingProof, reading_proof
from .reading import ReadingDomain, address_bytes
from .leader import leadership_for
from .relayer import Relayer, RelayerConfig, check_relayer_role
from .relayer_process import RelayerProcess
from .simulator import SimDevice, SimStats, Simulator, make_devices
from .store import open_store

log = logging.getLogger("rwa_sdk.oracle.daemon")


@dataclass(frozen=True)
class DaemonConfig:
    """Everything ``rwa oracle run`` needs; the relayer key comes from RWA_PRIVATE_KEY or a keystore."""

    rpc_url: str
    oracle_address: str
    db_path: str = ".rwa/oracle.db"
    host: str = "127.0.0.1"
    port: int = 8787
    relayer: RelayerConfig = field(default_factory=RelayerConfig)
    registry_ttl_s: float = 3_600.0  # how long "this device address has (no) code" is cached (ERC-1271 devices)
    registry_poll_s: float = 2.0  # how often registry events are followed (revocations reach ingest this fast)
    max_clock_skew_s: int | None = None  # default: the oracle contract's maxClockSkew
    shutdown_grace_s: float = 30.0
    sqlite_synchronous: str = "FULL"
    connect_timeout_s: float = 60.0
    limits: ServerLimits = field(default_factory=ServerLimits)
    max_unanchored_readings: int = 0  # above this many stored readings not yet anchored, ingest answers 503 (0: off)
    relayer_process: bool = True  # the relayer in a child process (ingest keeps a core); False: a thread


_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+")


def _secret_parts(url: str) -> list[str]:
    """The parts of an RPC URL that may hold a credential, longest first (HTTP errors quote the path alone)."""
    if "://" not in url:
        return [url] if url else []
    parts = urlsplit(url)
    found = [url, parts.path + ("?" + parts.query if parts.query else ""), parts.path, parts.query,
             parts.username or "", parts.password or ""]
    return sorted({p for p in found if len(p.strip("/")) >= 4}, key=len, reverse=True)


def redact(text: str, *secrets: str) -> str:
    """``text`` without credentials: every URL cut to scheme://host:port, and ``secrets`` (RPC URLs: their
    path, query and user info too) replaced by "…"."""
    for secret in secrets:
        for part in _secret_parts(secret):
            text = text.replace(part, redact_url(part) if "://" in part else "…")
    return _URL.sub(_redact_match, text)


def _redact_match(match: re.Match) -> str:
    url = match.group(0)
    tail = len(url) - len(url.rstrip(".,;:!?]}"))
    url, rest = (url[:-tail], url[-tail:]) if tail else (url, "")
    try:
        return redact_url(url) + rest
    except ValueError:  # not parseable as a URL: keep the scheme only
        return url.split("://", 1)[0] + "://…" + rest


class RedactingFilter(logging.Filter):
    """Formats each record and strips URLs' paths, queries and user info (provider API keys) from it."""

    def __init__(self, *secrets: str):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = redact(message, *self.secrets), ()
        if record.exc_info and record.exc_info[1] is not None:  # tracebacks carry the URL too
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), *self.secrets)
            record.exc_info = None
        return True


_DAEMON_LOGGERS = tuple("rwa_sdk.oracle." + name for name in (
    "daemon", "relayer", "ingest", "http", "directory", "store", "pg_store", "proof", "batch_log"))


def _connect(config: DaemonConfig, private_key: str | None) -> Chain:
    """Connect, retrying while the node is down (the daemon may start before its node)."""
    deadline = time.monotonic() + config.connect_timeout_s
    while True:
        try:
            return connect(config.rpc_url, private_key=private_key)
        except ChainError as exc:
            if "no node answers" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


class OracleDaemon:
    """Ingest server thread + relayer thread around one store; ``start``/``stop`` or ``run``."""

    def __init__(self, config: DaemonConfig, chain: Chain):
        self.config = config
        self.chain = chain
        if not chain.accounts:
            raise ChainError("the relayer needs a signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE")
        if "://" not in config.db_path:
            Path(config.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.store = open_store(config.db_path, synchronous=config.sqlite_synchronous)
        try:
            self._wire(config, chain)
        except BaseException:
            self.store.close()
            if getattr(self, "relayer_store", None) is not None:
                self.relayer_store.close()
            raise

    def _wire(self, config: DaemonConfig, chain: Chain) -> None:
        """The contracts, ingest rules, relayer and HTTP server around the open store."""
        self._log_filter = RedactingFilter(config.rpc_url)
        for name in _DAEMON_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self.oracle = chain.contract("ReadingOracle", config.oracle_address)
        registry = chain.contract("DeviceRegistry", self.oracle.functions.registry().call())
        skew = config.max_clock_skew_s
        if skew is None:
            skew = self.oracle.functions.maxClockSkew().call()
        self.metrics = Metrics()
        self.directory = EventDirectory(registry, code_ttl_s=config.registry_ttl_s)
        t0 = time.perf_counter()
        self.directory.sync()  # the whole device set before the first request: no RPC on the request path
        self.cold_start_s = time.perf_counter() - t0
        log.info("device registry loaded: %d devices from %d events in %.1fs", len(self.directory),
                 self.directory.events_applied, self.cold_start_s)
        self.domain = ReadingDomain.from_contract(self.oracle)
        if self.domain.chain_id != chain.chain_id:
            raise ChainError(f"oracle domain is for chain {self.domain.chain_id}, the node is chain {chain.chain_id}")
        self.ingestor = Ingestor(self.store, self.directory, self.domain, max_clock_skew_s=skew, metrics=self.metrics)
        check_relayer_role(chain, self.oracle, chain.accounts[0].address)
        self.relayer_store = None
        self.relayer: Relayer | RelayerProcess
        if config.relayer_process:
            self.relayer = RelayerProcess(config.rpc_url, config.oracle_address, config.db_path, config.relayer,
                                          "0x" + bytes(chain.accounts[0].key).hex(),
                                          synchronous=config.sqlite_synchronous)
            self.metrics.include(lambda: self.relayer.metrics_text)
        else:
            # the relayer's own connection: cutting a batch never holds up an ingest commit behind the same lock
            self.relayer_store = open_store(config.db_path, synchronous=config.sqlite_synchronous)
            self.relayer = Relayer(chain, self.oracle, self.relayer_store, chain.accounts[0], config.relayer,
                                   metrics=self.metrics, leadership=leadership_for(config.db_path), registry=registry)
        self.metrics.gauges("queue", self.store.counts, "readings and batches by state")
        self.metrics.gauges("devices", lambda: {"known": len(self.directory),
                                                "synced_block": self.directory.synced_block},
                            "devices learnt from the registry's events, and the block they are current to")
        self.server = IngestServer((config.host, config.port), self.ingestor, self._health, limits=config.limits,
                                   proofs=self._proof)
        self._unanchored_over = False
        if config.max_unanchored_readings > 0:
            self.server.set_external_backlog(lambda: self._unanchored_over)
        self._stop = threading.Event()
        self._drain = threading.Event()
        self._threads: list[threading.Thread] = []
        self.relayer_error: BaseException | None = None

    def _health(self) -> dict[str, Any]:
        """The relayer's state for the unauthenticated /healthz: its last error only while it is failing
        (cleared once a step succeeds), with URLs cut to scheme://host:port."""
        s = self.relayer.state
        error = redact(s.last_error, self.config.rpc_url) if s.failures else ""
        return {"relayer": {"lastError": error, "failures": s.failures, "anchoredBatches": s.anchored_batches,
                            "leading": s.leading, "droppedReadings": s.dropped_readings},
                "registry": {"devices": len(self.directory), "syncedBlock": self.directory.synced_block,
                             "loadSeconds": round(self.cold_start_s, 3)}}

    def _proof(self, device: bytes, seq: int) -> dict[str, Any]:
        """What ``rwa oracle proof DEVICE SEQ --json`` prints, from this daemon's store."""
        return reading_proof(self.store, self.oracle, device, seq, domain=self.domain).to_json()

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> OracleDaemon:
        if isinstance(self.relayer, RelayerProcess):
            self.relayer.start()
        serve = threading.Thread(target=self.server.serve_forever, name="oracle-ingest", daemon=True)
        relay = threading.Thread(target=self._relay, name="oracle-relayer", daemon=True)
        follow = threading.Thread(target=self._follow_registry, name="oracle-registry", daemon=True)
        self._threads = [serve, relay, follow]
        if self.config.max_unanchored_readings > 0:
            self._threads.append(threading.Thread(target=self._watch_backlog, name="oracle-backlog", daemon=True))
        for t in self._threads:
            t.start()
        log.info("oracle daemon listening on %s, relaying to %s", self.url, self.oracle.address)
        return self

    def _relay(self) -> None:
        try:
            self.relayer.run(self._stop, self._drain)
        except BaseException as exc:  # a fatal relayer error stops the daemon
            self.relayer_error = exc
            log.error("relayer stopped: %s", exc)
            self._stop.set()

    def _follow_registry(self) -> None:
        while not self._stop.wait(self.config.registry_poll_s):
            try:
                self.directory.sync()
            except DirectoryUnavailable as exc:  # the next round resumes from the last block applied
                log.warning("registry events unavailable: %s", exc)

    def _watch_backlog(self) -> None:
        """Sample the store's unanchored readings once a second (a count is too slow for every request)."""
        limit = self.config.max_unanchored_readings
        while not self._stop.wait(1.0):
            try:
                counts = self.store.counts()
            except Exception as exc:
                log.warning("store counts unavailable: %s", exc)
                continue
            self._unanchored_over = counts.get("readings_pending", 0) + counts.get("readings_batched", 0) > limit

    def stop(self, grace_s: float | None = None) -> None:
        """Stop ingest, let the relayer finish the transaction in flight (up to ``grace_s``), close."""
        grace = self.config.shutdown_grace_s if grace_s is None else grace_s
        self.server.shutdown()
        self.server.server_close()
        self._drain.set()
        relay = self._threads[1] if len(self._threads) > 1 else None
        if relay is not None:
            relay.join(grace)
            if relay.is_alive():
                log.warning("batch still in flight after %.0fs; it will be resumed on the next start", grace)
        self._stop.set()
        for thread in self._threads[1:]:
            thread.join(5)
        self.store.close()
        if self.relayer_store is not None:
            self.relayer_store.close()
        for name in _DAEMON_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    @property
    def stopped(self) -> bool:
        """True once the daemon stops (asked to, or because the relayer hit a fatal error)."""
        return self._stop.is_set()


def run(
    config: DaemonConfig,
    *,
    private_key: str | None = None,
    on_ready: Callable[[OracleDaemon], None] | None = None,
) -> None:
    """Run ingest + relayer until SIGTERM/SIGINT (or a fatal relayer error); what ``rwa oracle run`` calls."""
    chain = _connect(config, private_key)
    try:
        daemon = OracleDaemon(config, chain).start()
    except BaseException:
        chain.close()
        raise
    stop = threading.Event()

    def _signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
    if on_ready is not None:
        on_ready(daemon)
    try:
        while not stop.is_set() and not daemon.stopped:
            stop.wait(0.5)
    finally:
        daemon.stop()
        chain.close()
    if daemon.relayer_error is not None:
        raise daemon.relayer_error


def proof(db_path: str, device: str, seq: int, rpc_url: str, oracle_address: str | None = None) -> ReadingProof:
    """The proof ``verifyReading`` accepts for reading ``seq`` of ``device`` (what ``rwa oracle proof`` prints).

    The oracle defaults to the one the store's relayer anchored to."""
    store = open_store(db_path)
    try:
        bound = store.binding()
        if oracle_address is None and bound is None:
            raise ProofNotFound(f"{store.path} has anchored nothing yet: name the oracle")
        chain = connect(rpc_url)
        try:
            oracle = chain.contract("ReadingOracle", oracle_address or bound.oracle)
            return reading_proof(store, oracle, address_bytes(device), seq)
        finally:
            chain.close()
    finally:
        store.close()


def simulate(
    ingest_url: str,
    rpc_url: str,
    oracle_address: str,
    *,
    devices: int = 10,
    rate: float = 1.0,
    asset_id: bytes = bytes.fromhex("5e" * 32),
    seed: int = 1,
    duration_s: float | None = None,
    register: bool = True,
    private_key: str | None = None,
    stop: threading.Event | None = None,
    give_up_after_s: float | None = 120.0,
) -> SimStats:
    """Simulate ``devices`` devices posting about ``rate`` readings/s to ``ingest_url`` (``rwa oracle simulate``).

    With ``register`` the devices are registered and activated for ``asset_id`` first, signed by the
    asset's operator key (``private_key`` / RWA_PRIVATE_KEY; on a local node the first dev account, which
    appoints itself operator if it holds REGISTRAR_ROLE and the asset has none).
    """
    chain = connect(rpc_url, private_key=private_key)
    try:
        oracle = chain.contract("ReadingOracle", oracle_address)
        registry = chain.contract("DeviceRegistry", oracle.functions.registry().call())
        sims = make_devices(devices, asset_id, seed=seed)
        if register:
            _register_simulated(chain, registry, sims)
        start = max(int(time.time()), chain.timestamp())
        for sim in sims:
            sim.next_start = start
        domain = ReadingDomain.from_contract(oracle)
    finally:
        chain.close()
    simulator = Simulator(ingest_url, domain, sims, rate, give_up_after_s=give_up_after_s)
    stop = stop or threading.Event()
    stats = simulator.run(stop, duration_s)
    simulator.resend_unacked(stop.is_set)  # deliver what was measured before the end
    return stats


def _register_simulated(chain: Chain, registry: Any, sims: list[SimDevice]) -> None:
    me = chain.deployer
    asset = sims[0].asset_id
    fns = registry.functions
    if fns.operatorOf(asset).call() == "0x" + "00" * 20:
        chain.transact(fns.setAssetOperator(asset, me.address), sender=me)
    for sim in sims:
        status = fns.getDevice(sim.signer.checksum).call()[6]
        if status == 0:
            chain.transact(fns.registerDevice(sim.signer.checksum, asset, DEVICE_TYPES[sim.kind], sim.capacity_w,
                                              bytes(32)), sender=me)
            status = 1
        if status == 1:
            chain.transact(fns.activateDevice(sim.signer.checksum), sender=me)
