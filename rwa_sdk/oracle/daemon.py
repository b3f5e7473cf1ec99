"""The oracle daemon: ingest API + relayer in one process, with a graceful stop on SIGTERM.

``run(config)`` is what ``rwa oracle run`` calls. On SIGTERM/SIGINT it stops accepting readings,
cuts no new batch, waits up to ``shutdown_grace_s`` for the transaction in flight to be mined and
confirmed, and exits. Whatever is not finished stays in the store and is resumed on the next start
(a batch already mined is recognised by its root in the chain's logs and not sent again).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chain import Chain, ChainError, connect
from .contracts import DEVICE_TYPES
from .ingest import DirectoryUnavailable, Ingestor, IngestServer, RegistryDirectory
from .metrics import Metrics
from .proof import ProofNotFound, ReadingProof, reading_proof
from .reading import ReadingDomain, address_bytes
from .leader import leadership_for
from .relayer import Relayer, RelayerConfig, check_relayer_role
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
    registry_ttl_s: float = 30.0
    registry_poll_s: float = 2.0  # how often registry events are followed (revocations reach ingest this fast)
    max_clock_skew_s: int | None = None  # default: the oracle contract's maxClockSkew
    shutdown_grace_s: float = 30.0
    sqlite_synchronous: str = "FULL"
    connect_timeout_s: float = 60.0


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
        self.oracle = chain.contract("ReadingOracle", config.oracle_address)
        registry = chain.contract("DeviceRegistry", self.oracle.functions.registry().call())
        skew = config.max_clock_skew_s
        if skew is None:
            skew = self.oracle.functions.maxClockSkew().call()
        self.metrics = Metrics()
        self.directory = RegistryDirectory(registry, config.registry_ttl_s)
        self.ingestor = Ingestor(
            self.store, self.directory,
            ReadingDomain(chain.chain_id, self.oracle.address), max_clock_skew_s=skew, metrics=self.metrics,
        )
        check_relayer_role(chain, self.oracle, chain.accounts[0].address)
        # the relayer's own connection: cutting a batch never holds up an ingest commit behind the same lock
        self.relayer_store = open_store(config.db_path, synchronous=config.sqlite_synchronous)
        self.relayer = Relayer(chain, self.oracle, self.relayer_store, chain.accounts[0], config.relayer, metrics=self.metrics,
                               leadership=leadership_for(config.db_path), registry=registry)
        self.metrics.gauges("queue", self.store.counts, "readings and batches by state")
        self.server = IngestServer((config.host, config.port), self.ingestor, self._health)
        self._stop = threading.Event()
        self._drain = threading.Event()
        self._threads: list[threading.Thread] = []
        self.relayer_error: BaseException | None = None

    def _health(self) -> dict[str, Any]:
        s = self.relayer.state
        return {"relayer": {"lastError": s.last_error, "failures": s.failures, "anchoredBatches": s.anchored_batches,
                            "leading": s.leading, "droppedReadings": s.dropped_readings}}

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> OracleDaemon:
        serve = threading.Thread(target=self.server.serve_forever, name="oracle-ingest", daemon=True)
        relay = threading.Thread(target=self._relay, name="oracle-relayer", daemon=True)
        follow = threading.Thread(target=self._follow_registry, name="oracle-registry", daemon=True)
        self._threads = [serve, relay, follow]
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
                self.directory.follow_events()
            except DirectoryUnavailable as exc:  # the TTL still bounds staleness; the next round covers the gap
                log.warning("registry events unavailable: %s", exc)

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
        self.relayer_store.close()

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
        domain = ReadingDomain(chain.chain_id, oracle.address)
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
