"""From chargers to the chain: `rwa device add` registers the devices, the gateway relays their sessions to
`rwa oracle run`'s ingest, the readings are anchored and `rwa oracle proof` proves them; the OCMF record kept
with a reading verifies on chain against the meter key in the registry."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from rwa_sdk.cli import main as rwa
from rwa_sdk.gateway import ocmf
from rwa_sdk.gateway.config import load_config
from rwa_sdk.gateway.onchain import deploy_ocmf_verifier, verify_for_device_call
from rwa_sdk.gateway.service import Gateway, GatewayThread
from rwa_sdk.oracle.daemon import DaemonConfig, OracleDaemon
from tests.oracle.daemon_world import RELAYER_KEY, http_json, make_world
from tests.oracle.test_daemon import FAST

from .chargers import Charger16, Charger201, connected
from .conftest import wait_until

ASSET = "0x" + "ec" * 32
PASSWORD = "gateway test password"
METER = ec.derive_private_key(0xC0FFEE_BEEF, ec.SECP256R1())


@pytest.fixture(scope="module")
def world(compiled):
    w = make_world()
    admin = w.chain.accounts[0]
    w.chain.transact(w.contracts.registry.functions.setAssetOperator(bytes.fromhex(ASSET[2:]), w.chain.accounts[3].address),
                     sender=admin)
    yield w
    w.chain.close()


def _cli(*args, env=None):
    result = CliRunner().invoke(rwa, list(args), env={"RWA_DEVICE_PASSWORD": PASSWORD, **(env or {})},
                                catch_exceptions=False)
    return result


def _signed(t: int, wh: int, tx: str, page: int, key=METER) -> dict:
    payload = ocmf.transaction_payload(gateway_id="CP-CHAIN", meter_serial="EM-7", pagination=page,
                                       readings=[(t, wh, tx)])
    record = ocmf.sign_payload(payload, key)
    import base64

    return {"signed_meter_data": base64.b64encode(record.encode()).decode(), "signing_method": "ECDSA-secp256r1-SHA256",
            "encoding_method": "OCMF", "public_key": ocmf.spki_hex(METER.public_key())}


def test_charger_sessions_reach_the_chain_and_are_provable(world, tmp_path, monkeypatch):
    monkeypatch.setenv("RWA_DEVICE_PASSWORD", PASSWORD)
    daemon = OracleDaemon(DaemonConfig(world.url, world.contracts.oracle.address, str(tmp_path / "oracle.db"), port=0,
                                       relayer=FAST, registry_ttl_s=60),
                          __import__("rwa_sdk.chain", fromlist=["connect"]).connect(world.url, private_key=RELAYER_KEY)).start()
    config_path = tmp_path / "gateway.toml"
    net = ["--network", world.url, "--dev-accounts"]
    try:
        r = _cli("gateway", "init", "--config", str(config_path), "--ingest-url", daemon.url, "--oracle",
                 world.contracts.oracle.address, "--chain-id", "31337", "--ocpp-port", "0")
        assert r.exit_code == 0, r.output
        r = _cli("device", "add", "cp201", "--config", str(config_path), "--asset", ASSET, "--capacity-w", "22000",
                 "--ocpp-id", "CP-CHAIN", "--evse", "1", "--meter-key", ocmf.spki_hex(METER.public_key()),
                 "--fast-kdf", "--json", *net)
        assert r.exit_code == 0, r.output
        r = _cli("device", "add", "cp16", "--config", str(config_path), "--asset", ASSET, "--capacity-w", "11000",
                 "--ocpp-id", "CP-SIXTEEN", "--fast-kdf", "--json", *net)
        assert r.exit_code == 0, r.output
        # refusals the issuer can act on, in one line
        r = _cli("device", "add", "cp16", "--config", str(config_path), "--asset", ASSET, "--capacity-w", "1",
                 "--ocpp-id", "X", *net)
        assert r.exit_code == 1 and "already in" in r.output
        r = _cli("device", "add", "bad", "--config", str(config_path), "--asset", ASSET, "--capacity-w", "1",
                 "--ocpp-id", "X", "--meter-key", "3059", *net)
        assert r.exit_code == 1 and "--meter-key" in r.output and "Traceback" not in r.output
        r = _cli("device", "list", "--config", str(config_path), "--json", *net)
        listed = {d["name"]: d for d in json.loads(r.output)}
        assert listed["cp201"]["status"] == "active" and listed["cp201"]["meterKey"] == "yes"
        assert listed["cp16"]["meterKey"] == "no"

        config = load_config(config_path)
        gw = GatewayThread(Gateway(config)).start()
        start = world.chain.timestamp() + 1
        s201 = [(start + 2 * i, 5_000_000 + 10 * i) for i in range(4)]
        s16 = [(start + 2 * i, 100 + 5 * i) for i in range(3)]
        tampered = _signed(start + 7, 5_000_035, "C", 4)
        record = base64_decode(tampered["signed_meter_data"])
        tampered["signed_meter_data"] = __import__("base64").b64encode(
            record.replace("5000.035", "5999.035").encode()).decode()
        signed = [_signed(t, wh, "B" if i == 0 else "E" if i == 3 else "C", i) for i, (t, wh) in enumerate(s201)]

        async def chargers():
            async with connected(Charger201, gw.ocpp_url, "CP-CHAIN", "ocpp2.0.1") as cp:
                await cp.boot()
                await cp.session(1, "tx-chain", s201[:3], signed=signed[:3])
                await cp.session(1, "tx-chain", [s201[2], (start + 7, 5_000_035)], signed=[signed[2], tampered])
                await cp.session(1, "tx-chain", [s201[2], s201[3]], signed=[signed[2], signed[3]])
            async with connected(Charger16, gw.ocpp_url, "CP-SIXTEEN", "ocpp1.6") as cp:
                await cp.boot()
                await cp.session(1, s16)

        wait_until(lambda: time.time() >= s201[-1][0] - 30, 40, what="clock")  # ingest allows 60 s of skew
        asyncio.run(chargers())
        wait_until(lambda: gw.gateway.spool.counts()["sent"] == 3 + 2, 30, what="readings acknowledged")
        wait_until(lambda: (lambda h: h[0] == 200 and h[1]["readings_pending"] == 0 and h[1]["readings_batched"] == 0)(
            http_json("GET", daemon.url + "/healthz")), 60, what="anchored")
        cp201 = gw.gateway.devices["cp201"].signer.checksum
        records = gw.gateway.spool.ocmf_records()
        assert [r["verdict"] for r in records].count("refused") == 1
        assert next(r for r in records if r["verdict"] == "refused")["reason"] == ocmf.BAD_SIGNATURE
        assert gw.gateway.transaction_billable_wh("cp201", "tx-chain") == 30
        gw.stop()
        gw.gateway.close()

        for device, seq in ((cp201, 3), (gw.gateway.devices["cp16"].signer.checksum, 2)):
            r = _cli("oracle", "proof", device, str(seq), "--db", str(tmp_path / "oracle.db"), "--rpc", world.url)
            assert r.exit_code == 0, r.output
            p = json.loads(r.output)
            reading = p["reading"]
            oracle = world.contracts.oracle
            assert oracle.functions.verifyReading(
                (reading["device"], bytes.fromhex(reading["assetId"][2:]), reading["seq"], reading["periodStart"],
                 reading["periodEnd"], reading["energyWh"], reading["meterWh"], reading["flags"]),
                bytes.fromhex(p["signature"][2:]), [bytes.fromhex(x[2:]) for x in p["proof"]], p["batchIndex"]).call()
        # the record behind cp201's third reading, checked on chain against the registry's meter key
        kept = next(r for r in records if r["readingSeq"] == 3 and r["verdict"] == "verified")
        verifier = deploy_ocmf_verifier(world.chain, world.contracts.registry.address)
        assert world.chain.call(verify_for_device_call(verifier, cp201, kept["record"])) is True
        assert world.chain.call(verify_for_device_call(verifier, cp201, record.replace("5000.035", "5999.035"))) is False

        r = _cli("device", "revoke", "cp16", "--config", str(config_path), "--json", *net)
        assert r.exit_code == 0, r.output
        assert [d.name for d in load_config(config_path).devices] == ["cp201"]
    finally:
        daemon.stop(grace_s=5)


def base64_decode(text: str) -> str:
    import base64

    return base64.b64decode(text).decode()
