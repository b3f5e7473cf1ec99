"""The daemon on its own Anvil: HTTP API, fuzzed input, simulator end to end, RPC outage."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rwa_sdk.chain import connect
from rwa_sdk.oracle.daemon import DaemonConfig, OracleDaemon, proof
from rwa_sdk.oracle.ingest import reading_item
from rwa_sdk.oracle.reading import to_checksum
from rwa_sdk.oracle.relayer import RelayerConfig
from rwa_sdk.oracle.simulator import Simulator
from rwa_sdk.oracle.store import SqliteStore

from .daemon_world import RELAYER_KEY, RpcProxy, http_json, make_world, wait_until

FAST = RelayerConfig(max_batch_size=40, max_batch_age_s=0.3, poll_interval_s=0.05, backoff_initial_s=0.1,
                     backoff_max_s=0.5)


@pytest.fixture(scope="module")
def world(compiled):
    w = make_world()
    yield w
    w.chain.close()


def _daemon(world, tmp_path, rpc_url=None, relayer=FAST, db=None) -> OracleDaemon:
    config = DaemonConfig(rpc_url or world.url, world.contracts.oracle.address, db or str(tmp_path / "oracle.db"),
                          port=0, relayer=relayer, registry_ttl_s=60)
    d = OracleDaemon(config, connect(config.rpc_url, private_key=RELAYER_KEY)).start()
    wait_until(lambda: d.relayer.state.leading, 60, what="the relayer process up and leading")
    return d


@pytest.fixture(scope="module")
def daemon(world, tmp_path_factory):
    d = _daemon(world, tmp_path_factory.mktemp("daemon"))
    yield d
    d.stop(grace_s=5)


def _anchored(url):
    status, health = http_json("GET", url + "/healthz")
    return status == 200 and health["readings_pending"] == 0 and health["readings_batched"] == 0 and health


def test_healthz_metrics_and_device_endpoints(world, daemon):
    devices = world.fresh_devices(1, seed=11)
    sim = Simulator(daemon.url, world.contracts.domain, devices, rate=1)
    wait_until(lambda: sim.due_readings() or None, 5)  # noqa
    status, health = http_json("GET", daemon.url + "/healthz")
    assert status == 200 and health["status"] == "ok" and "relayer" in health
    dev = devices[0]
    status, body = http_json("GET", f"{daemon.url}/v1/devices/{dev.signer.checksum}")
    assert status == 200 and body["registered"] and body["capacityW"] == dev.capacity_w
    assert http_json("GET", f"{daemon.url}/v1/devices/0x{'00' * 20}")[0] == 404
    assert http_json("GET", f"{daemon.url}/v1/devices/nothex")[0] == 400
    assert http_json("GET", f"{daemon.url}/nowhere")[0] == 404
    status, text = http_json("GET", daemon.url + "/metrics")
    assert status == 200 and "rwa_oracle_queue" in text


def test_simulated_devices_end_to_end_with_proof_verified_on_chain(world, daemon):
    devices = world.fresh_devices(6, seed=12)
    sim = Simulator(daemon.url, world.contracts.domain, devices, rate=6)
    stats = sim.run(threading.Event(), duration_s=3.5)
    assert sim.resend_unacked()
    assert stats.accepted >= 12 and stats.rejected == 0
    wait_until(lambda: _anchored(daemon.url), 30, what="all readings anchored")
    status, body = http_json("GET", f"{daemon.url}/v1/devices/{devices[0].signer.checksum}")
    assert body["lastSeq"] == devices[0].seq
    p = proof(daemon.config.db_path, devices[0].signer.checksum, 2, world.url)  # the oracle the store anchors to
    oracle = world.contracts.oracle
    assert oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof, p.batch_index).call()
    status, text = http_json("GET", daemon.url + "/metrics")
    assert 'rwa_oracle_readings_total{status="accepted"}' in text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _valid_item(world, devices, seq):
    dev = devices[0]
    r = dev.next_reading(1)
    return reading_item(r, world.contracts.domain.sign(r, dev.signer.key))


@pytest.fixture(scope="module")
def fuzz_devices(world):
    devices = world.fresh_devices(1, seed=13)
    devices[0].first_start = devices[0].next_start
    return devices


@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
@settings(max_examples=60)
def test_fuzzed_bodies_never_crash_the_server(daemon, body):
    status, answer = http_json("POST", daemon.url + "/v1/readings", body)
    assert status in (200, 400)
    if status == 200:
        assert all(r["status"] == "rejected" and r["reason"] for r in answer["results"])
    assert http_json("GET", daemon.url + "/healthz")[0] == 200


FIELDS = ["device", "assetId", "seq", "periodStart", "periodEnd", "energyWh", "meterWh", "flags", "signature"]


@given(field=st.sampled_from(FIELDS), value=json_values, drop=st.booleans())
@settings(max_examples=60)
def test_fuzzed_fields_of_a_signed_reading_are_rejected_with_a_reason(world, daemon, fuzz_devices, field, value, drop):
    dev = fuzz_devices[0]
    dev.next_start = dev.first_start  # a rejected reading's period may be used again; an accepted one's not
    item = _valid_item(world, fuzz_devices, None)
    original = item[field]
    if drop:
        del item[field]
    else:
        item[field] = value
    status, answer = http_json("POST", daemon.url + "/v1/readings", json.dumps([item]).encode())
    if status == 400:  # NaN/Infinity: Python writes them, JSON has no such values; the body is refused whole
        assert "Infinity" in json.dumps(value) or "NaN" in json.dumps(value)
        return
    assert status == 200
    result = answer["results"][0]
    unchanged = not drop and value == original and type(value) is type(original)
    if unchanged or (drop and field == "flags" and original == 0):  # flags is optional, default 0
        assert result["status"] == "accepted"
        dev.first_start = item["periodEnd"]  # periods of a device's accepted readings never overlap
    else:
        assert result["status"] == "rejected" and result["reason"]


def test_forged_replayed_out_of_order_future_and_over_capacity_readings_rejected(world, daemon):
    devices = world.fresh_devices(2, seed=14)
    dev, other = devices
    domain = world.contracts.domain
    import time as _t
    now = int(_t.time())
    r1, r2 = dev.next_reading(2), dev.next_reading(2)
    sign = lambda r, d=dev: reading_item(r, domain.sign(r, d.signer.key))  # noqa: E731
    batch = [
        sign(r2),  # accepted
        sign(r1),  # out of order
        sign(r2),  # replay: duplicate (idempotent)
        sign(r2.with_(energy_wh=r2.energy_wh + 1)),  # conflict
        sign(r2.with_(seq=9), other),  # forged by another registered device
        sign(r2.with_(seq=10, period_start=now + 3_600, period_end=now + 3_700)),  # future
        sign(r2.with_(seq=11, energy_wh=10**6)),  # over capacity
    ]
    status, answer = http_json("POST", daemon.url + "/v1/readings", json.dumps({"readings": batch}).encode())
    got = [(r["status"], r.get("reason")) for r in answer["results"]]
    assert got == [
        ("accepted", None), ("rejected", "seq_not_increasing"), ("duplicate", None), ("rejected", "conflict"),
        ("rejected", "bad_signature"), ("rejected", "future_period"), ("rejected", "over_capacity"),
    ]


def test_a_revocation_reaches_ingest_through_registry_events_not_the_cache_ttl(world, daemon):
    """The daemon caches devices for 60 s here, but follows the registry's events every 2 s."""
    (dev,) = world.fresh_devices(1, seed=31)
    domain = world.contracts.domain

    def post(r):
        body = json.dumps([reading_item(r, domain.sign(r, dev.signer.key))]).encode()
        return http_json("POST", daemon.url + "/v1/readings", body)[1]["results"][0]

    first = dev.next_reading(2)
    assert post(first)["status"] == "accepted"  # the device is cached as active
    world.chain.transact(world.contracts.registry.functions.revokeDevice(dev.signer.checksum),
                         sender=world.chain.accounts[1])
    revoked_at, seqs = world.chain.timestamp(), iter(range(2, 1_000))

    def rejected_as_revoked():
        seq = next(seqs)
        r = first.with_(seq=seq, period_start=revoked_at + seq, period_end=revoked_at + seq + 1, energy_wh=0)
        return post(r).get("reason") == "device_revoked" or None

    wait_until(rejected_as_revoked, 15, what="the revocation followed by ingest")


def test_daemon_on_a_postgresql_store_anchors_and_proves(world, tmp_path, postgres_server):
    name = "daemon" + tmp_path.name.replace("-", "_").lower()[-20:]
    postgres_server.psql(f"CREATE DATABASE {name};")
    url = postgres_server.get_uri(name)
    d = _daemon(world, tmp_path, db=url)
    try:
        devices = world.fresh_devices(3, seed=21)
        lead = max(0.0, world.chain.timestamp() - time.time())  # one block per transaction runs ahead of the wall
        sim = Simulator(d.url, world.contracts.domain, devices, rate=6, clock=lambda: time.time() + lead + 3)
        stats = sim.run(threading.Event(), duration_s=1.0)
        assert sim.resend_unacked()
        assert stats.accepted >= 3 and stats.rejected == 0
        wait_until(lambda: _anchored(d.url), 30, what="all readings anchored")
    finally:
        d.stop(grace_s=5)
    p = proof(url, devices[1].signer.checksum, 1, world.url)
    assert world.contracts.oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof, p.batch_index).call()


def test_rpc_outage_then_restore_ends_with_everything_anchored(world, tmp_path):
    proxy = RpcProxy(world.url).start()
    d = _daemon(world, tmp_path, proxy.url)
    try:
        devices = world.fresh_devices(4, seed=15)
        sim = Simulator(d.url, world.contracts.domain, devices, rate=4)
        stop = threading.Event()
        for _ in range(20):  # until every device has a reading in: the ingest has them cached
            stats = sim.run(stop, duration_s=1.0)
            if {dev for dev, _ in stats.acked} == {d.signer.address for d in devices}:
                break
        proxy.stop()
        assert proxy.port_closed()
        before = stats.accepted
        sim.run(stop, duration_s=2.5)  # ingest keeps acknowledging; the relayer cannot reach the node
        assert stats.accepted > before and sim.unacked == 0
        wait_until(lambda: d.relayer.state.failures > 0, 10, what="relayer noticing the outage")
        _, health = http_json("GET", d.url + "/healthz")
        assert health["readings_pending"] + health["readings_batched"] > 0
        assert health["relayer"]["failures"] > 0
        proxy.start()
        wait_until(lambda: _anchored(d.url), 30, what="anchoring after the outage")
        assert stats.rejected == 0 and len(stats.acked) > 0
        store = SqliteStore(d.config.db_path)
        assert store.counts()["readings_anchored"] == len(stats.acked)
        store.close()
        _, text = http_json("GET", d.url + "/metrics")  # the relayer process's counters, served by the daemon
        errors = [line for line in text.splitlines() if line.startswith("rwa_oracle_relayer_errors_total")]
        assert errors and float(errors[0].split()[-1]) > 0
    finally:
        d.stop(grace_s=5)
        proxy.stop()


def test_simulate_registers_its_devices_and_streams_accepted_readings(world, daemon):
    from rwa_sdk.anvil import DEV_PRIVATE_KEYS
    from rwa_sdk.oracle.daemon import simulate

    asset = bytes.fromhex("5f" * 32)  # no operator yet: the registrar appoints itself
    stats = simulate(daemon.url, world.url, world.contracts.oracle.address, devices=3, rate=3, asset_id=asset,
                     seed=99, duration_s=3.0, private_key=DEV_PRIVATE_KEYS[0])
    assert stats.accepted >= 3 and stats.rejected == 0
    assert world.contracts.registry.functions.operatorOf(asset).call() == world.chain.accounts[0].address


def test_proof_endpoint_serves_what_the_cli_prints_and_it_verifies_on_chain(world, daemon):
    devices = world.fresh_devices(2, seed=41)
    lead = max(0.0, world.chain.timestamp() - time.time())  # the chain's clock runs ahead of the wall's
    sim = Simulator(daemon.url, world.contracts.domain, devices, rate=4, clock=lambda: time.time() + lead)
    stats = sim.run(threading.Event(), duration_s=3.0)  # the first readings are due 1.5 s after the start
    assert sim.resend_unacked()
    assert stats.rejected == 0, stats.reasons
    wait_until(lambda: _anchored(daemon.url), 30, what="all readings anchored")
    device, seq = min(stats.acked)  # a reading the simulator got acknowledged
    dev = to_checksum(device)
    status, body = http_json("GET", f"{daemon.url}/v1/proofs/{dev}/{seq}")
    assert status == 200, body
    p = proof(daemon.config.db_path, dev, seq, world.url)
    assert body == json.loads(json.dumps(p.to_json()))
    assert world.contracts.oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof, p.batch_index).call()
    assert http_json("GET", f"{daemon.url}/v1/proofs/{dev}/999999")[0] == 404
    assert http_json("GET", f"{daemon.url}/v1/proofs/{dev}/-1")[0] == 400
    assert http_json("GET", f"{daemon.url}/v1/proofs/nothex/1")[0] == 400


def test_healthz_and_logs_never_show_the_rpc_url_secret_and_the_error_clears_after_recovery(world, tmp_path, caplog,
                                                                                            capfd):
    """Issue 11 item 8: the provider API key in the RPC URL appeared in /healthz (never cleared) and in logs."""
    import logging

    secret = "s3cr3tApiKey0123456789"
    proxy = RpcProxy(world.url).start()
    caplog.set_level(logging.DEBUG, logger="rwa_sdk")
    d = _daemon(world, tmp_path, f"{proxy.url}/v3/{secret}?key={secret}")
    try:
        devices = world.fresh_devices(2, seed=42)
        sim = Simulator(d.url, world.contracts.domain, devices, rate=4)
        for _ in range(20):
            stats = sim.run(threading.Event(), duration_s=0.5)
            if stats.accepted:
                break
        proxy.stop()
        sim.run(threading.Event(), duration_s=1.0)
        seen = []

        def failing():
            health = http_json("GET", d.url + "/healthz")[1]
            seen.append(json.dumps(health))
            return health["relayer"]["lastError"]

        wait_until(failing, 15, interval_s=0.05, what="the outage reported in /healthz")
        assert all(secret not in text for text in seen)
        proxy.start()
        assert sim.resend_unacked()
        wait_until(lambda: _anchored(d.url), 30, what="anchoring after the outage")
        health = wait_until(lambda: (h := http_json("GET", d.url + "/healthz")[1])["relayer"]["failures"] == 0 and h,
                            10, what="the relayer recovering")
        assert health["relayer"]["lastError"] == "" and health["readings_anchored"] >= stats.accepted > 0
    finally:
        d.stop(grace_s=5)
        proxy.stop()
    logs = caplog.text + capfd.readouterr().err  # the daemon's records, and its relayer process's stderr
    assert "relayer step failed" in logs  # the outage was logged ...
    assert secret not in logs  # ... without the key


ROOT = Path(__file__).resolve().parents[2]


def test_a_viem_client_signs_with_the_oracles_domain_and_posts_bigint_strings(world, daemon):
    """Issue 16 item 9: a JS client (viem) reads eip712Domain(), signs, and sends uint64s as strings."""
    (dev,) = world.fresh_devices(1, seed=43)
    node = shutil.which("node") or str(ROOT / "node_modules/.bin/node")
    start = dev.next_start
    cmd = [node, str(ROOT / "examples/post_reading_viem.mjs"), "--ingest", daemon.url, "--rpc", world.url,
           "--oracle", world.contracts.oracle.address, "--key", "0x" + dev.signer.key.secret.hex(),
           "--asset", "0x" + dev.asset_id.hex(), "--start", str(start), "--end", str(start + 2), "--energy", "3",
           "--meter", str(2**53 + 1)]  # past JS's safe integers: must arrive exact
    done = subprocess.run([*cmd, "--seq", "1"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout)["accepted"] == 1
    store = SqliteStore(daemon.config.db_path)
    try:
        assert store.existing_reading(dev.signer.address, 1) is not None
    finally:
        store.close()
    status, body = http_json("GET", f"{daemon.url}/v1/devices/{dev.signer.checksum}")
    assert body["lastSeq"] == 1
    again = subprocess.run([*cmd, "--seq", "1", "--energy", "4"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert again.returncode == 1 and json.loads(again.stdout)["results"][0]["reason"] == "conflict"


def test_the_published_json_schema_matches_what_ingest_accepts(world):
    import jsonschema

    from rwa_sdk.oracle.reading import DeviceSigner, Reading, ReadingError

    schema = json.loads((ROOT / "docs/reading.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    signer = DeviceSigner.from_secret(b"\x61" * 32)
    r = Reading(signer.address, bytes(32), 5, 10, 20, 1, 2**63, 0)
    item = reading_item(r, world.contracts.domain.sign(r, signer.key))
    for good in (item, {**item, "seq": "5", "meterWh": hex(2**63)}, {**item, "flags": "0x0"}):
        assert not list(validator.iter_errors(good))
        assert Reading.from_json(good) == r  # ingest reads what the schema allows, as the same reading
    for field, value in (("seq", "-5"), ("seq", "0x" + "1" * 17), ("flags", 2**32), ("seq", 5.5), ("meterWh", " 1"),
                         ("flags", "0x" + "1" * 9), ("energyWh", "1" * 21)):
        assert list(validator.iter_errors({**item, field: value}))
        with pytest.raises(ReadingError):
            Reading.from_json({**item, field: value})
    assert list(validator.iter_errors({k: v for k, v in item.items() if k != "signature"}))
    assert list(validator.iter_errors({**item, "signature": "0x12"}))


def test_a_relayer_process_that_cannot_reach_the_node_at_start_retries_and_reports_it(world, tmp_path):
    """The relayer process connects on its own: a node down at that moment is retried, shown in /healthz
    and /metrics, and the relayer leads and anchors once the node is back."""
    proxy = RpcProxy(world.url).start()
    config = DaemonConfig(proxy.url, world.contracts.oracle.address, str(tmp_path / "oracle.db"), port=0,
                          relayer=FAST, registry_ttl_s=60)
    d = OracleDaemon(config, connect(config.rpc_url, private_key=RELAYER_KEY))
    try:
        proxy.stop()
        d.start()
        health = wait_until(lambda: (h := http_json("GET", d.url + "/healthz")[1])["relayer"]["failures"] > 0 and h,
                            30, what="the failed start reported")
        assert not health["relayer"]["leading"] and health["relayer"]["lastError"]
        assert not d.stopped  # retried, not fatal
        proxy.start()
        wait_until(lambda: d.relayer.state.leading, 30, what="the relayer leading once the node is back")
        devices = world.fresh_devices(2, seed=51)
        sim = Simulator(d.url, world.contracts.domain, devices, rate=4)
        stats = sim.run(threading.Event(), duration_s=3.0)
        assert sim.resend_unacked() and stats.accepted > 0
        wait_until(lambda: _anchored(d.url), 30, what="anchoring after the late start")
        text = http_json("GET", d.url + "/metrics")[1]
        assert any(line.startswith("rwa_oracle_relayer_errors_total") for line in text.splitlines())
    finally:
        d.stop(grace_s=5)
        proxy.stop()
