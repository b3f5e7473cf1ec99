"""A bounded abuse run against the real daemon (`rwa oracle run` on its own Anvil), loopback only.

Run by hand: PYTHONPATH=$PWD python bench/ingest_abuse.py [--slow-s 20] [--slow 200]
Phases: 200 concurrent slow connections for 20 s, 1,000,000-deep JSON bodies, four 16 MiB bodies at once,
2,000 unsigned or badly signed readings. The daemon reaches its node through a counting JSON-RPC proxy;
the calls of its background loops (relayer, registry follower) are measured in an idle window first and
subtracted. Last line: daemon_alive=... rpc_calls_per_junk_reading=... peak_rss_mb=... bad_readings_stored=...
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rwa_sdk.anvil import DEV_PRIVATE_KEYS, free_port  # noqa: E402
from rwa_sdk.chain import connect  # noqa: E402
from rwa_sdk.oracle.contracts import deploy_oracle, grant_relayer, register_device  # noqa: E402
from rwa_sdk.oracle.ingest import reading_item  # noqa: E402
from rwa_sdk.oracle.reading import DeviceSigner, Reading  # noqa: E402

ASSET = bytes.fromhex("ab" * 32)


class CountingProxy:
    """Forwards JSON-RPC to the node and counts the calls (each element of a batch counts)."""

    def __init__(self, upstream: str):
        self.calls = 0
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    parsed = json.loads(body)
                    proxy.calls += len(parsed) if isinstance(parsed, list) else 1
                except ValueError:
                    pass
                req = urllib.request.Request(upstream, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as response:
                    data = response.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def http(url: str, method: str = "GET", body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--slow-s", type=float, default=20.0)
    parser.add_argument("--junk", type=int, default=2_000)
    args = parser.parse_args()

    chain = connect("anvil")
    tmp = Path(tempfile.mkdtemp(prefix="ingest-abuse-"))
    proc = None
    try:
        admin, operator, relayer = chain.accounts[0], chain.accounts[1], chain.accounts[3]
        contracts = deploy_oracle(chain, admin)
        grant_relayer(chain, contracts, relayer.address, admin)
        chain.transact(contracts.registry.functions.setAssetOperator(ASSET, operator.address), sender=admin)
        devices = [DeviceSigner.from_secret((0xab00 + i).to_bytes(32, "big")) for i in range(10)]
        for dev in devices:
            register_device(chain, contracts, dev, ASSET, "pv-inverter", 10_000, operator=operator)
        proxy = CountingProxy(chain.node.url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        db = tmp / "oracle.db"
        proc = subprocess.Popen(
            [sys.executable, "-m", "rwa_sdk.oracle", "run", "--rpc", proxy.url, "--oracle", contracts.oracle.address,
             "--db", str(db), "--port", str(port), "--log-level", "WARNING"],
            env={**os.environ, "RWA_PRIVATE_KEY": DEV_PRIVATE_KEYS[3], "PYTHONPATH": str(ROOT)},
            stdout=open(tmp / "daemon.log", "wb"), stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while http(url + "/healthz", timeout=2)[0] != 200:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"daemon did not start: {(tmp / 'daemon.log').read_text()[-2000:]}")
            time.sleep(0.2)
        ps = psutil.Process(proc.pid)
        peak = [ps.memory_info().rss]
        watching = threading.Event()

        def watch():
            while not watching.is_set():
                try:
                    peak[0] = max(peak[0], ps.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.02)

        threading.Thread(target=watch, daemon=True).start()
        print(f"daemon pid {proc.pid} on {url}, rss {peak[0] / 2**20:.0f} MB at start")

        # 1. slow connections: each sends a header byte every second for slow-s seconds
        t0 = time.monotonic()
        slow = []
        for _ in range(args.slow):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /v1/readings HTTP/1.1\r\n")
            slow.append(s)
        health_ms, served = [], 0
        while time.monotonic() - t0 < args.slow_s:
            for s in slow:
                try:
                    s.sendall(b"X")
                except OSError:
                    pass
            h0 = time.perf_counter()
            if http(url + "/healthz", timeout=5)[0] == 200:
                served += 1
                health_ms.append((time.perf_counter() - h0) * 1000)
            time.sleep(1.0)
        cut = sum(1 for s in slow if _closed(s))
        for s in slow:
            s.close()
        print(f"slow connections: {args.slow} for {args.slow_s:.0f}s, /healthz served {served} times "
              f"(max {max(health_ms or [0]):.0f} ms), {cut} cut off by the server's deadline")

        # 2. deep nesting
        for depth in (70_000, 1_000_000):
            for body in (b"[" * depth + b"]" * depth, b'{"readings":' + b"[" * depth + b"]" * depth + b"}"):
                status, _ = http(url + "/v1/readings", "POST", body)
                print(f"depth {depth:,}: HTTP {status}, daemon alive {proc.poll() is None}")

        # 3. four 16 MiB bodies at once
        big = b"[" + b'{"seq":1},' * (16 * 2**20 // 10 - 1) + b"{}]"
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(http(url + "/v1/readings", "POST", big, 30)[0]))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        print(f"16 MiB bodies x4: HTTP {sorted(statuses)} (0 = connection closed by the server)")

        # 4. junk readings: baseline RPC rate of the idle daemon first
        base0, b0 = proxy.calls, time.monotonic()
        time.sleep(4.0)
        idle_rate = (proxy.calls - base0) / (time.monotonic() - b0)
        now = chain.timestamp()
        junk = []
        for i in range(args.junk):
            dev = devices[i % len(devices)]
            r = Reading(dev.address, ASSET, 1 + i, now - 20, now - 10, 1, 1, 0)
            kind = i % 4
            if kind == 0:
                sig = os.urandom(65)
            elif kind == 1:
                sig = bytes(64) + b"\x1b"
            elif kind == 2:  # a registered device, signed by another key
                sig = contracts.domain.sign(r, devices[(i + 1) % len(devices)].key)
            else:  # a random address
                r = r.with_(device=os.urandom(20))
                sig = os.urandom(64) + b"\x1c"
            junk.append(reading_item(r, sig))
        calls0, j0 = proxy.calls, time.monotonic()
        rejected = 0
        for i in range(0, len(junk), 100):
            status, body = http(url + "/v1/readings", "POST", json.dumps(junk[i:i + 100]).encode())
            if status == 200:
                rejected += json.loads(body)["rejected"]
        for item in junk[:200]:  # and one reading per request
            status, body = http(url + "/v1/readings", "POST", json.dumps([item]).encode())
        elapsed = time.monotonic() - j0
        raw_calls = proxy.calls - calls0
        net = max(0.0, raw_calls - idle_rate * elapsed)
        per_junk = net / (args.junk + 200)
        print(f"junk: {args.junk + 200} readings, {rejected} of the first {args.junk} rejected, {raw_calls} RPC calls "
              f"in {elapsed:.1f}s (idle daemon: {idle_rate:.1f} calls/s) -> {net:.0f} attributable")

        alive = proc.poll() is None and http(url + "/healthz")[0] == 200
        watching.set()
        stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        print(f"daemon_alive={str(alive).lower()} rpc_calls_per_junk_reading={per_junk:.4f} "
              f"peak_rss_mb={peak[0] / 2**20:.0f} bad_readings_stored={stored}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        chain.close()


def _closed(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    main()
