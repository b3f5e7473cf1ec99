"""The daemon's relayer in a process of its own, so that ingest keeps the interpreter lock to itself.

Measured under 1,000-reading requests, the relayer (reading back the batch's rows, hashing its Merkle
tree, assigning the rows, polling the node) took ~40 % of the daemon's CPU, all of it under the same
lock as verification: ingest ran at ~0.7 of its in-process core with the relayer as a thread and at
~1.0 without it. As a child process it runs beside ingest on another core, on its own store connection.

The child is the ordinary :class:`~.relayer.Relayer` (leadership, crash safety and revocation cut-off
unchanged); it reports its state and metrics to the daemon a few times a second over a pipe, obeys
"drain" and "stop", and dies with the daemon (``PR_SET_PDEATHSIG``, and a check of its parent's pid), so a
killed daemon never leaves a relayer behind holding the lead. It is started with ``spawn`` (no threads or
sockets inherited), which imports the program's main module again: a script that starts an
:class:`~.daemon.OracleDaemon` keeps its work under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import asdict
from typing import Any

from .relayer import RelayerConfig, RelayerError, RelayerState

log = logging.getLogger("rwa_sdk.oracle.daemon")

_REPORT_S = 0.2
_PR_SET_PDEATHSIG = 1


class RelayerProcess:
    """Start with :meth:`start`; :meth:`run` (the daemon's relay thread) mirrors ``Relayer.run``: returns when
    the child ends, raises :class:`RelayerError` if it ended on a fatal error."""

    def __init__(self, rpc_url: str, oracle_address: str, db_path: str, config: RelayerConfig, private_key: str,
                 *, synchronous: str = "FULL"):
        self._args = (rpc_url, oracle_address, db_path, synchronous, config, private_key,
                      logging.getLogger("rwa_sdk").getEffectiveLevel(), os.getpid())
        self.state = RelayerState()
        self.metrics_text = ""
        self._proc: Any = None
        self._conn: Any = None

    def start(self) -> RelayerProcess:
        """Start the child; from a thread that lives as long as the daemon (Linux ties the parent-death
        signal to the starting thread), as ``OracleDaemon.start`` in the main thread does."""
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or sockets inherited
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, *self._args), name="oracle-relayer", daemon=True)
        self._proc.start()
        child.close()
        return self

    def run(self, stop: threading.Event, drain: threading.Event | None = None) -> None:
        sent: set[str] = set()
        fatal = None
        try:
            while True:
                for order, event in (("drain", drain), ("stop", stop)):
                    if event is not None and event.is_set() and order not in sent:
                        self._send(order)
                        sent.add(order)
                try:
                    if not self._conn.poll(_REPORT_S):
                        if not self._proc.is_alive():
                            break
                        continue
                    kind, *body = self._conn.recv()
                except (EOFError, OSError):
                    break
                if kind == "state":
                    self._apply(*body)
                elif kind == "fatal":
                    fatal = body[0]
        finally:
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
            self.state.leading = False
        if fatal is not None:
            raise RelayerError(fatal)
        if not (stop.is_set() or (drain is not None and drain.is_set())):
            raise RelayerError(f"relayer process ended unexpectedly (exit code {self._proc.exitcode})")

    def _send(self, order: str) -> None:
        try:
            self._conn.send(order)
        except (OSError, ValueError):  # the child is gone already
            pass

    def _apply(self, state: dict[str, Any], metrics_text: str) -> None:
        for name, value in state.items():
            setattr(self.state, name, value)
        self.metrics_text = metrics_text


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pid check below and the pipe's EOF remain
        pass
    if os.getppid() != parent:  # the daemon died before the signal was armed
        os._exit(1)


def _child(conn: Any, rpc_url: str, oracle_address: str, db_path: str, synchronous: str, config: RelayerConfig,
           private_key: str, log_level: int, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole group: the daemon says when to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from .daemon import RedactingFilter
    from .metrics import Metrics

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    redacting = RedactingFilter(rpc_url)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    stop, drain = threading.Event(), threading.Event()
    lock = threading.Lock()

    def send(*message: Any) -> None:
        with lock:
            try:
                conn.send(message)
            except (OSError, ValueError):
                stop.set()

    def listen() -> None:
        while not stop.is_set():
            try:
                order = conn.recv()
            except (EOFError, OSError):  # the daemon is gone
                stop.set()
                return
            (drain if order == "drain" else stop).set()

    threading.Thread(target=listen, name="relayer-orders", daemon=True).start()
    metrics = Metrics()
    state = RelayerState()
    try:
        started = _start(rpc_url, oracle_address, db_path, synchronous, config, private_key, metrics, state, stop,
                         drain, lambda: send("state", asdict(state), metrics.render()))
    except Exception as exc:  # e.g. the store is bound to another oracle: the daemon stops on it
        send("fatal", str(exc) if isinstance(exc, RelayerError) else f"{type(exc).__name__}: {exc}")
        return
    if started is None:
        return
    chain, store, relayer = started

    def report() -> None:
        while not stop.wait(_REPORT_S):
            if os.getppid() != parent:
                stop.set()
                return
            send("state", asdict(relayer.state), metrics.render())

    threading.Thread(target=report, name="relayer-report", daemon=True).start()
    try:
        relayer.run(stop, drain)
    except RelayerError as exc:
        send("fatal", str(exc))
    except BaseException as exc:  # anything else ends the relayer: the daemon stops on it
        send("fatal", f"{type(exc).__name__}: {exc}")
    finally:
        send("state", asdict(relayer.state), metrics.render())
        stop.set()
        store.close()
        chain.close()


def _start(rpc_url: str, oracle_address: str, db_path: str, synchronous: str, config: RelayerConfig,
           private_key: str, metrics: Any, state: RelayerState, stop: threading.Event, drain: threading.Event,
           report: Any) -> tuple | None:
    """(chain, store, relayer), retried with backoff while the node cannot be reached (the daemon itself
    started, so the outage is passing); None if told to stop first."""
    from ..chain import connect
    from .leader import leadership_for
    from .relayer import Relayer
    from .store import StoreError, open_store

    delay = config.backoff_initial_s
    while not (stop.is_set() or drain.is_set()):
        chain = store = None
        try:
            chain = connect(rpc_url, private_key=private_key)
            oracle = chain.contract("ReadingOracle", oracle_address)
            store = open_store(db_path, synchronous=synchronous)
            relayer = Relayer(chain, oracle, store, chain.accounts[0], config, metrics=metrics,
                              leadership=leadership_for(db_path))
            relayer.state = state
            return chain, store, relayer
        except Exception as exc:  # node or store not reachable yet; a wrong store or role is final
            for closing in (store, chain):
                if closing is not None:
                    closing.close()
            if isinstance(exc, (RelayerError, StoreError)):
                raise
            state.failures += 1
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]
            metrics.inc("relayer_errors_total", help_text="relayer iterations that failed (retried)")
            log.warning("relayer cannot start yet (retry in %.1fs): %s", delay, state.last_error)
            report()
            stop.wait(delay)
            delay = min(delay * 2, config.backoff_max_s)
    return None
