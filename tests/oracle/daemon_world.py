"""A private Anvil with a deployed oracle and registered simulated devices, for daemon tests.

The daemon checks reading times against the wall clock, so these tests use their own node whose
clock is not moved by other tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rwa_sdk.anvil import DEV_PRIVATE_KEYS, free_port
from rwa_sdk.chain import Chain, connect
from rwa_sdk.oracle.contracts import (
    OracleContracts,
    deploy_oracle,
    grant_relayer,
    register_device,
)
from rwa_sdk.oracle.simulator import SimDevice, make_devices

ASSET = bytes.fromhex("5e" * 32)
RELAYER_KEY = DEV_PRIVATE_KEYS[3]


@dataclass
class DaemonWorld:
    chain: Chain
    contracts: OracleContracts
    devices: list[SimDevice]

    @property
    def url(self) -> str:
        return self.chain.node.url

    def fresh_devices(self, n: int, seed: int) -> list[SimDevice]:
        """``n`` newly registered devices (their own seq space), starting now."""
        devices = make_devices(n, ASSET, seed=seed)
        for d in devices:
            register_device(self.chain, self.contracts, d.signer, ASSET, d.kind, d.capacity_w, operator=self.chain.accounts[1])
        start = max(int(time.time()), self.chain.timestamp()) + 1
        for d in devices:
            d.next_start = start
        time.sleep(0.3)  # a daemon re-reads the registry on an unknown device at most every 0.25 s
        return devices


def make_world() -> DaemonWorld:
    chain = connect("anvil")
    admin, operator, relayer = chain.accounts[0], chain.accounts[1], chain.accounts[3]
    contracts = deploy_oracle(chain, admin, max_clock_skew_s=60)
    grant_relayer(chain, contracts, relayer.address, admin)
    chain.transact(contracts.registry.functions.setAssetOperator(ASSET, operator.address), sender=admin)
    return DaemonWorld(chain, contracts, [])


def http_json(method: str, url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, object]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def wait_until(predicate, timeout_s: float, interval_s: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out waiting for {what}")


class RpcProxy:
    """A JSON-RPC forwarder that can be switched off (port closed) and on again, to fake an outage."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RpcProxy:
        upstream = self.upstream

        class Forward(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = urllib.request.Request(upstream, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    data = response.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Forward)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def port_closed(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) != 0
