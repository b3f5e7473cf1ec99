"""The portal's JSON API against a demo world on Anvil: every endpoint, and what bad parameters get."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from eth_utils import keccak

from rwa_sdk.cli import main
from rwa_sdk.portal.app import create_app
from rwa_sdk.portal.data import Portal, PortalConfig
from rwa_sdk.settlement.stablecoin import UNIT

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")
STATIC = Path(__file__).resolve().parents[2] / "rwa_sdk" / "portal" / "static"


def test_asset_list_shows_the_recorded_asset_with_figures_from_the_chain(client, world):
    body = client.get("/api/assets").json()
    [sun5] = body["assets"]
    asset = world.asset
    assert (sun5["symbol"], sun5["kind"], sun5["capacity_kw"]) == ("SUN5", "pv", 5000)
    assert sun5["location"]["country"] == "ES" and sun5["location"]["latitude"] == pytest.approx(39.47)
    assert sun5["supply"] == asset.token.total_supply() == 100_000
    assert sun5["holders"] == len(asset.cap_table()) == 2
    month = dt.datetime.fromtimestamp(world.chain.timestamp(), dt.timezone.utc).strftime("%Y-%m")
    assert sun5["energy_this_month_wh"] == asset.energy_by_month().get(month, 0)
    assert sun5["forecast_this_month_wh"] > 0
    paid = sum(d.amount for d in asset.distributor.deposits()) / UNIT / 100_000
    days = sum(d.period_end - d.period_start for d in asset.distributor.deposits()) / 86_400
    assert sun5["trailing_yield"] == pytest.approx(paid / 1.0 * 365 / days)


def test_energy_per_day_is_the_oracles_anchored_total_with_the_twin_band(client, world):
    body = client.get("/api/assets/SUN5/energy").json()
    chain = world.asset.energy_by_day()
    assert body["unit"] == "Wh" and body["step"] == "day"
    assert {p["period"]: p["energy_wh"] for p in body["points"]} == chain
    for point in body["points"]:
        assert 0 <= point["p90_wh"] <= point["p50_wh"] <= point["p10_wh"]


def test_energy_per_month_and_a_date_range(client, world):
    days = sorted(world.asset.energy_by_day())
    months = client.get("/api/assets/SUN5/energy?step=month").json()["points"]
    assert {p["period"]: p["energy_wh"] for p in months} == world.asset.energy_by_month()
    assert sum(p["days"] for p in months) == len(days)
    ranged = client.get(f"/api/assets/SUN5/energy?from={days[2]}&to={days[5]}").json()["points"]
    assert [p["period"] for p in ranged] == days[2:6]


def test_devices_and_anchors_match_the_registry_and_the_oracle(client, world):
    body = client.get("/api/assets/SUN5/devices").json()
    assert body["active"] == len(world.devices) and body["revoked"] == 0
    assert {d["device"] for d in body["list"]} == {d.signer.checksum for d in world.devices}
    batches = world.asset.anchored_batches()
    assert body["anchors"]["batches"] == len(batches)
    assert body["anchors"]["readings"] == sum(b["count"] for b in batches)
    last_block = world.chain.w3.eth.get_logs({"address": world.asset.addresses.reading_oracle, "fromBlock": 0})[-1]
    assert body["anchors"]["last_anchor_time"] == world.chain.w3.eth.get_block(last_block["blockNumber"])["timestamp"]


def test_revenue_lists_the_distributors_deposits_and_a_wallets_claimable(client, world):
    ana = world.people["Ana (ES)"].address
    body = client.get(f"/api/assets/SUN5/revenue?wallet={ana.lower()}").json()
    deposits = world.asset.distributor.deposits()
    assert [(d["period_start"], d["energy_wh"]) for d in body["deposits"]] == [(d.period_start, d.energy_wh)
                                                                                for d in deposits]
    assert body["total_usd"] == pytest.approx(sum(d.amount for d in deposits) / UNIT)
    assert body["investor"]["claimable_usd"] == world.asset.distributor.claimable(ana) / UNIT > 0
    assert body["investor"]["balance"] == 60_000
    running = 0.0
    for d in body["deposits"]:
        running += d["amount_usd"] / d["supply"]
        assert d["cumulative_per_token_usd"] == pytest.approx(running)


def test_forecast_has_both_horizons_the_tornado_and_the_backtest(client, world, portal):
    body = _forecast(client, len(world.asset.anchored_batches()))
    assert body["available"], body
    assert set(body["horizons"]) == {"6", "12"}
    six, twelve = body["horizons"]["6"], body["horizons"]["12"]
    assert 0 < six["energy_p90_wh"] < six["energy_p50_wh"] < twelve["energy_p50_wh"]
    assert twelve["yield_p50"] > twelve["yield_p90"]
    assert {r["driver"] for r in body["tornado"]} >= {"tariff", "availability", "opex"}
    backtest = body["backtest"]
    assert backtest["available"] and backtest["holdout_days"] == 7
    held = sorted(world.asset.energy_by_day().items())[-7:]
    assert backtest["actual_wh"] == sum(e for _, e in held)


def _forecast(client, batches: int, tries: int = 240) -> dict:
    """The forecast once the twin has caught up with ``batches`` anchored batches."""
    import time

    for _ in range(tries):
        body = client.get("/api/assets/SUN5/forecast").json()
        if body.get("batches") == batches:
            return body
        time.sleep(0.5)
    raise AssertionError(f"no forecast: {body}")


def test_token_shows_holders_by_country_rules_in_words_and_no_wallets(client, world):
    response = client.get("/api/assets/SUN5/token")
    body = response.json()
    assert body["holders_by_country"] == [{"country": "ES", "holders": 2, "tokens": 100_000}]
    assert body["paused"] is world.asset.token.paused() is False
    assert any("US" in r and "may not hold" in r for r in body["rules"])
    assert any("locked for 90 days" in r for r in body["rules"])
    for person in world.people.values():
        assert person.address.lower() not in response.text.lower()


def test_proof_is_the_same_json_as_rwa_oracle_proof(client, world):
    device = world.devices[1].signer.checksum
    body = client.get(f"/api/assets/SUN5/proofs/{device}/30").json()
    cli = CliRunner().invoke(main, ["oracle", "proof", device, "30", "--db", str(world.oracle_db),
                                    "--rpc", world.chain.node.url])
    assert cli.exit_code == 0, cli.output
    assert body == json.loads(cli.stdout)
    reading = world.asset.oracle.oracle.functions.verifyReading
    assert reading((body["reading"]["device"], bytes.fromhex(body["reading"]["assetId"][2:]), 30,
                    body["reading"]["periodStart"], body["reading"]["periodEnd"], body["reading"]["energyWh"],
                    body["reading"]["meterWh"], body["reading"]["flags"]), bytes.fromhex(body["signature"][2:]),
                   [bytes.fromhex(p[2:]) for p in body["proof"]], body["batchIndex"]).call()


def test_proof_of_a_reading_not_anchored_is_a_404_in_words(client, world):
    device = world.devices[0].signer.checksum
    response = client.get(f"/api/assets/SUN5/proofs/{device}/{world.days * 24 + 30}")
    assert response.status_code == 404 and "no proof" in response.json()["error"]


BAD = [
    ("/api/assets/SUN5/energy?step=week", 400, "step must be one of"),
    ("/api/assets/SUN5/energy?from=2026-13-01", 400, "not a calendar date"),
    ("/api/assets/SUN5/energy?from=yesterday", 400, "YYYY-MM-DD"),
    ("/api/assets/SUN5/energy?from=2026-02-01&to=2026-01-01", 400, "is after"),
    ("/api/assets/SUN5/energy?form=2026-01-01", 400, "unknown parameter 'form'"),
    ("/api/assets/SUN5/revenue?wallet=0x1234", 400, "wallet must be an address"),
    ("/api/assets/SUN5/revenue?wallet=%3Cscript%3E", 400, "wallet must be an address"),
    ("/api/assets/SUN5/proofs/not-an-address/1", 400, "device must be an address"),
    ("/api/assets/SUN5/proofs/0x" + "11" * 20 + "/-1", 400, "seq must be a whole number"),
    ("/api/assets/SUN5/proofs/0x" + "11" * 20 + "/" + str(2**64), 400, "seq must be a whole number"),
    ("/api/assets/SUN5/proofs/0x" + "11" * 20 + "/1", 404, "no proof"),
    ("/api/assets/SUN5/issuer/eligibility", 400, "wallet is required"),
    ("/api/assets/SUN5/issuer/eligibility?wallet=0x" + "11" * 20 + "&amount=0", 400, "amount must be"),
    ("/api/assets/NOPE/energy", 404, "no asset 'NOPE'"),
    ("/api/nothing-here", 404, "Not Found"),
    ("/api/assets?x=1", 400, "unknown parameter"),
]


@pytest.mark.parametrize(("path", "status", "words"), BAD, ids=[b[0][12:60] for b in BAD])
def test_bad_parameters_get_a_clear_4xx_and_never_a_traceback(client, path, status, words):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"]
    assert "Traceback" not in response.text and "File \"" not in response.text


def test_issuer_sees_refused_investors_with_each_failing_rule(client, world):
    investors = client.get("/api/assets/SUN5/issuer/investors").json()["investors"]
    refused = {i["wallet"]: tuple(i["reasons"]) for i in investors if not i["eligible"]}
    assert refused == world.refused and len(refused) == 2
    assert all(i["reasons"] == [] for i in investors if i["eligible"])
    dan = world.people["Dan (US)"].address
    check = client.get(f"/api/assets/SUN5/issuer/eligibility?wallet={dan}").json()
    assert not check["eligible"] and any("blocked" in r for r in check["reasons"])


def test_issuer_cap_table_and_pending_requests(client, world):
    caps = client.get("/api/assets/SUN5/issuer/cap-table").json()
    assert {h["wallet"]: h["balance"] for h in caps["holders"]} == {h.wallet: h.balance for h in world.asset.cap_table()}
    pending = client.get("/api/assets/SUN5/issuer/requests").json()["pending"]
    assert [(r["id"], r["kind"], r["amount"], r["unit"]) for r in pending] == [
        (world.pending_request, "subscription", 5_000, "USD")]


def test_issuer_audit_reads_the_records_folder(client, world):
    assert client.get("/api/assets/SUN5/issuer/audit").json() == {"symbol": "SUN5", "available": False,
                                                                   "reason": "no audit run yet"}
    from click.testing import CliRunner

    from rwa_sdk.cli import main

    run = CliRunner().invoke(main, ["asset", "audit", "SUN5", "--json", "--network", world.chain.node.url,
                                    "--deployments", str(world.records)])
    path = world.records / f"{world.chain.chain_id}.audit.json"
    try:
        assert run.exit_code in (0, 2), run.output
        body = client.get("/api/assets/SUN5/issuer/audit").json()
        assert body["available"] and body["file"] == path.name
        assert body["result"]["checks"] == json.loads(run.stdout)["checks"]
    finally:
        path.unlink()


def test_without_issuer_flag_the_issuer_api_and_page_do_not_exist_and_cors_is_off(world, tmp_path):
    config = PortalConfig(rpc_url=world.chain.node.url, deployments=world.records, cache_dir=tmp_path)
    portal = Portal(config)
    try:
        transport = httpx.ASGITransport(app=create_app(portal))
        import asyncio

        async def get(path: str, **headers) -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
                return await http.get(path, headers=headers)

        for path in ("/api/assets/SUN5/issuer/cap-table", "/api/assets/SUN5/issuer/investors", "/assets/SUN5/issuer"):
            assert asyncio.run(get(path)).status_code == 404
        plain = asyncio.run(get("/api/assets", Origin="http://elsewhere.example"))
        assert "access-control-allow-origin" not in plain.headers
    finally:
        portal.stop()


def test_cors_is_on_only_for_configured_origins(world, tmp_path):
    import asyncio

    config = PortalConfig(rpc_url=world.chain.node.url, deployments=world.records, cache_dir=tmp_path,
                          cors_origins=("http://wallet.example",))
    portal = Portal(config)
    try:
        transport = httpx.ASGITransport(app=create_app(portal))

        async def get(origin: str) -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
                return await http.get("/api/assets", headers={"Origin": origin})

        assert asyncio.run(get("http://wallet.example")).headers["access-control-allow-origin"] == "http://wallet.example"
        assert "access-control-allow-origin" not in asyncio.run(get("http://evil.example")).headers
    finally:
        portal.stop()


def test_server_sent_events_announce_the_assets(portal):
    with httpx.stream("GET", portal.url + "/api/events", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        event = next(line for line in lines if line.startswith("event:"))
        data = json.loads(next(lines)[len("data: "):])
    assert event == "event: update" and data["assets"]["SUN5"]["batches"] > 0


def test_chain_info_gives_the_browser_the_rpc_url_and_oracle_error_names(client, world):
    body = client.get("/api/chain").json()
    assert body["rpc_url"] == world.chain.node.url and body["chain_id"] == 31337
    assert body["oracles"] == {"SUN5": world.asset.addresses.reading_oracle}
    selector = "0x" + keccak(text="ReadingInvalidSignature(address)")[:4].hex()
    assert body["oracle_errors"].get(selector, "").startswith("ReadingInvalidSignature")


def test_pages_and_the_local_chart_library_are_served(client):
    assert client.get("/").status_code == 200
    page = client.get("/assets/SUN5").text
    assert '<script id="plotly-js" src="/static/vendor/plotly-basic.min.js" defer></script>' in page
    assert "cdn" not in page.lower() and "https://" not in page and "http://" not in page
    library = client.get("/static/vendor/plotly-basic.min.js")
    assert library.status_code == 200 and "javascript" in library.headers["content-type"]
    assert 500_000 < len(library.content) < 2_000_000  # the basic build, not the 4.8 MB full bundle
    assert b"plotly.js (basic - minified) v" in library.content[:200] and b"MIT license" in library.content[:200]
    assert "MIT License" in client.get("/static/vendor/plotly-basic.LICENSE.txt").text
    assert client.get("/assets/NOPE").status_code == 404


def test_the_browsers_abi_encoder_matches_web3(world, tmp_path):
    """verify.js encodes verifyReading exactly as web3 does, for a real proof and an odd-length signature."""
    proof = json.loads(CliRunner().invoke(main, ["oracle", "proof", world.devices[2].signer.checksum, "3", "--db",
                                                 str(world.oracle_db), "--rpc", world.chain.node.url]).stdout)
    script = tmp_path / "encode.cjs"
    (tmp_path / "verify.cjs").write_text((STATIC / "verify.js").read_text())  # a classic script, not a module
    script.write_text("const v = require('./verify.cjs');\n"
                      f"console.log(v.encodeVerifyReading({json.dumps(proof)}));\n")
    encoded = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout.strip()
    r = proof["reading"]
    oracle = world.asset.oracle.oracle
    expected = oracle.encode_abi("verifyReading", args=[
        (r["device"], bytes.fromhex(r["assetId"][2:]), r["seq"], r["periodStart"], r["periodEnd"], r["energyWh"],
         r["meterWh"], r["flags"]), bytes.fromhex(proof["signature"][2:]), [bytes.fromhex(p[2:]) for p in proof["proof"]],
        proof["batchIndex"]])
    assert encoded == expected
    selector = keccak(text="verifyReading((address,bytes32,uint64,uint64,uint64,uint64,uint64,uint32),bytes,bytes32[],uint256)")
    assert encoded.startswith("0x" + selector[:4].hex())
