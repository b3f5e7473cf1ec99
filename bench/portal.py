"""Portal speed on a demo world of 50 devices x 90 days: asset page paint and energy API latency.

Run by hand: PYTHONPATH=$PWD python bench/portal.py [--devices 50] [--days 90] [--requests 2000]
Needs headless Chromium (apt-get install chromium) for the page figures. The world is built with
the SDK on a private Anvil (hourly readings, one anchored batch per day, a deposit every 30 days);
the API load is bounded: --requests GETs from --clients threads against 127.0.0.1.
asset_page_ms is the browser's first contentful paint of /assets/SYMBOL (median of --loads fresh
loads); chart_ms is until the production chart is drawn from the API.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
from eth_account import Account

from rwa_sdk import toolchain
from rwa_sdk.asset import Asset, InvestorProfile
from rwa_sdk.chain import connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.oracle.simulator import make_devices
from rwa_sdk.portal.data import PortalConfig
from rwa_sdk.portal.server import PortalServer
from rwa_sdk.settlement.stablecoin import UNIT

DAY, HOUR = 86_400, 3_600
CHROMIUM = "/usr/bin/chromium"


def build(chain, folder: Path, devices: int, days: int) -> tuple[Path, Path]:
    root = toolchain.project_root()
    records = folder / "records"
    asset = Asset.create(chain, root / "examples" / "solar-5mw.toml", deployments_dir=records)
    treasury = asset.roles.treasury
    asset.stablecoin.configure_minter(treasury.address, 10**15, sender=asset.roles.owner)
    investors = [Account.create() for _ in range(3)]
    for account in investors:
        chain.send_value(account.address, 10**17)
        asset.stablecoin.mint(account.address, 100_000 * UNIT, sender=treasury)
    asset.onboard([InvestorProfile(a.address, "ES", risk_tier=4) for a in investors])
    asset.accept_subscriptions([asset.subscribe(a, Decimal(50_000)) for a in investors])
    start = (chain.timestamp() // DAY + 1) * DAY
    capacity_w = int(asset.spec.capacity_kw * 1000 / devices)
    sims = make_devices(devices, asset.asset_id, start=start, capacity_w=capacity_w, kinds=("pv-inverter",))
    asset.register_devices([s.signer for s in sims], capacity_w=capacity_w)
    chain.mine(start + days * DAY + 60 - chain.timestamp())
    db = folder / "oracle.db"
    began = time.perf_counter()
    for day in range(days):
        signed = []
        for sim in sims:
            for _ in range(DAY // HOUR):
                reading = sim.next_reading(HOUR)
                signed.append((reading, asset.oracle.domain.sign(reading, sim.signer.key)))
        asset.relay(signed, db, batch_size=len(signed))
        if (day + 1) % 30 == 0:
            asset.deposit_revenue(start + (day - 29) * DAY, start + (day + 1) * DAY)
        if (day + 1) % 10 == 0:
            print(f"  {day + 1} days anchored ({time.perf_counter() - began:.0f} s)", flush=True)
    return records, db


def page_figures(url: str, loads: int) -> tuple[float | None, float | None]:
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}: page figures skipped")
        return None, None
    from playwright.sync_api import sync_playwright

    paints, charts = [], []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, headless=True,
                                       args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for _ in range(loads + 1):  # the first load warms the server's and the OS's caches
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(url + "/assets/SUN5")
            page.wait_for_function("() => { const g = document.getElementById('energy-chart');"
                                   " return g && g.data && g.data.length === 4; }", timeout=60_000)
            chart = (time.perf_counter() - began) * 1000
            fcp = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
            timing = page.evaluate("() => performance.getEntriesByType('resource').map(e => [e.name.split('/').pop(),"
                                   " Math.round(e.startTime), Math.round(e.responseEnd)])")
            print(f"  fcp {fcp:.0f} ms, chart {chart:.0f} ms; resources (start, end ms): {timing}")
            paints.append(fcp)
            charts.append(chart)
            context.close()
        browser.close()
    return statistics.median(paints[1:]), statistics.median(charts[1:])


def api_latency(url: str, path: str, requests: int, clients: int) -> tuple[float, float]:
    times: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            http.get(path).raise_for_status()  # connection set up outside the timing
            for _ in range(count):
                began = time.perf_counter()
                response = http.get(path)
                elapsed = (time.perf_counter() - began) * 1000
                response.raise_for_status()
                with lock:
                    times.append(elapsed)

    threads = [threading.Thread(target=worker, args=(requests // clients,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    compile_project(toolchain.project_root())
    with connect("anvil") as chain, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        print(f"building {args.devices} devices x {args.days} days of hourly readings")
        records, db = build(chain, folder, args.devices, args.days)
        print(f"world built in {time.perf_counter() - began:.0f} s")
        config = PortalConfig(rpc_url=chain.node.url, deployments=records, oracle_db=str(db),
                              cache_dir=folder / "cache", browser_rpc=chain.node.url)
        began = time.perf_counter()
        with PortalServer(config) as server:
            print(f"portal ready in {time.perf_counter() - began:.1f} s (first index of the chain)")
            points = len(httpx.get(server.url + "/api/assets/SUN5/energy").json()["points"])
            assert points == args.days, f"{points} days served, {args.days} anchored"
            paint, chart = page_figures(server.url, args.loads)
            p50, p99 = api_latency(server.url, "/api/assets/SUN5/energy?step=day", args.requests, args.clients)
            m50, m99 = api_latency(server.url, "/api/assets/SUN5/energy?step=month", args.requests // 4, args.clients)
            print(f"energy API per day ({points} points): p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                  f"per month: p50 {m50:.1f} ms, p99 {m99:.1f} ms ({args.clients} clients)")
    shown = lambda v: "na" if v is None else f"{v:.0f}"  # noqa: E731
    print(f"asset_page_ms={shown(paint)} chart_ms={shown(chart)} energy_api_p50_ms={p50:.1f} "
          f"energy_api_p99_ms={p99:.1f} month_api_p99_ms={m99:.1f}")


if __name__ == "__main__":
    main()
