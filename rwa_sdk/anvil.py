"""Run a local Anvil node for as long as a ``with`` block (or the process) lasts.

The node dies with us: it gets its own process group, is stopped on exit (``atexit``, ``with``,
Ctrl-C) and, on Linux, is told by the kernel to terminate if our process is killed outright.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

from . import toolchain

ANVIL_CHAIN_ID = 31337
DEFAULT_HARDFORK = "cancun"  # what every node runs unless a caller opts into another (e.g. "osaka" for P256VERIFY)
# Anvil and Hardhat fund the accounts of this public development mnemonic; never use it elsewhere.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10


def _dev_keys() -> tuple[str, ...]:
    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return tuple("0x" + key_from_seed(seed, f"m/44'/60'/0'/0/{i}").hex() for i in range(DEV_ACCOUNT_COUNT))


DEV_PRIVATE_KEYS = _dev_keys()


class AnvilError(RuntimeError):
    """Anvil could not be started or did not answer in time."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies (Linux prctl)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def rpc_answers(url: str, timeout: float = 1.0) -> bool:
    """True if a JSON-RPC node at ``url`` answers ``eth_chainId``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError):
        return False


class AnvilNode:
    """A local Anvil on a free loopback port; use as a context manager or call start/stop."""

    def __init__(
        self,
        port: int | None = None,
        *,
        chain_id: int = ANVIL_CHAIN_ID,
        block_time: float | None = None,
        extra_args: list[str] | None = None,
        log_path: Path | None = None,
        startup_timeout: float = 30.0,
        hardfork: str = DEFAULT_HARDFORK,
    ):
        self.port = port or free_port()
        self.chain_id = chain_id
        self.block_time = block_time
        self.extra_args = list(extra_args or [])
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.hardfork = hardfork
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            str(toolchain.find_anvil()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--hardfork", self.hardfork,
            "--silent",
        ]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        return args + self.extra_args

    def start(self) -> AnvilNode:
        if self.process is not None:
            return self
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise AnvilError(f"anvil exited with code {code} (port {self.port})")
            if rpc_answers(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
