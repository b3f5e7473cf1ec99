"""`rwa oracle status|simulate|relay` and the daemon's start checks: what a new user sees."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from rwa_sdk.oracle.cli import oracle_cli
from rwa_sdk.oracle.reading import Reading, to_checksum
from rwa_sdk.oracle.relayer import RelayerError, check_relayer_role
from rwa_sdk.oracle.store import open_store

ASSET = bytes.fromhex("ab" * 32)


def test_status_lists_devices_with_last_seq_and_queue(tmp_path):
    db = str(tmp_path / "oracle.db")
    store = open_store(db)
    dev = b"\x11" * 20
    store.insert_readings([(Reading(dev, ASSET, s, 100 * s, 100 * s + 50, 5, s, 0), b"s" * 65, bytes([s]) * 32)
                           for s in (1, 2, 3)])
    rows = store.pending_readings(ASSET, 0, 2**40, 2)
    store.create_batch(ASSET, b"r" * 32, [r.id for r in rows], 10, 100, 250, 1)
    store.close()
    out = CliRunner().invoke(oracle_cli, ["status", "--db", db])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if to_checksum(dev) in x)
    assert line.split()[1:5] == ["3", "1", "2", "0"]  # last seq 3; 1 pending, 2 batched, 0 anchored
    assert "1 pending, 2 batched, 0 anchored" in out.output
    as_json = CliRunner().invoke(oracle_cli, ["status", "--db", db, "--json"])
    assert '"last_seq": 3' in as_json.output


def test_status_of_a_missing_store_is_one_clear_line(tmp_path):
    out = CliRunner().invoke(oracle_cli, ["status", "--db", str(tmp_path / "nope.db")])
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "no oracle store" in out.output


@pytest.fixture(scope="module")
def world(compiled):
    from .daemon_world import make_world

    w = make_world()  # a node on the wall clock: simulated readings come due at once
    yield w
    w.chain.close()


def test_simulate_gives_up_after_a_bounded_time_when_ingest_is_down_and_says_so(world):
    from rwa_sdk.anvil import free_port

    t0 = time.monotonic()
    out = CliRunner().invoke(oracle_cli, [
        "simulate", "--url", f"http://127.0.0.1:{free_port()}", "--rpc", world.url,
        "--oracle", world.contracts.oracle.address, "--devices", "1", "--rate", "5", "--no-register",
        "--give-up-after", "1.5", "--duration", "30"])
    took = time.monotonic() - t0
    assert out.exit_code == 1 and "did not answer for 2s" in out.output and "Traceback" not in out.output, out.output
    assert took < 15


def test_an_unknown_asset_symbol_is_refused_naming_the_known_ones(session_chain, oracle_world):
    out = CliRunner().invoke(oracle_cli, [
        "simulate", "--rpc", session_chain.node.url, "--oracle", oracle_world.oracle.address, "--asset", "NOPE"])
    assert out.exit_code == 2 and "no asset 'NOPE' recorded" in out.output


def test_relayer_role_is_checked_at_start_and_the_message_names_the_account_to_use(session_chain, oracle_world):
    check_relayer_role(session_chain, oracle_world.oracle, oracle_world.relayer.address)  # has it: no error
    with pytest.raises(RelayerError) as caught:
        check_relayer_role(session_chain, oracle_world.oracle, oracle_world.outsider.address)
    message = str(caught.value)
    assert oracle_world.outsider.address in message and oracle_world.relayer.address in message
    assert "dev account #3" in message


def test_load_refuses_a_target_off_this_machine_and_posts_each_device_in_order(tmp_path):
    import threading

    from rwa_sdk.oracle.http_server import IngestServer
    from rwa_sdk.oracle.ingest import DeviceInfo, Ingestor, StaticDirectory
    from rwa_sdk.oracle.load import LoadError, check_loopback, load_devices, post_load, sign_readings
    from rwa_sdk.oracle.reading import ReadingDomain

    with pytest.raises(LoadError):
        check_loopback("http://192.0.2.10:8787")  # TEST-NET: not loopback
    check_loopback("http://127.0.0.1:8787")
    domain = ReadingDomain(31337, "0x" + "12" * 20)
    devices = load_devices(7, start=int(time.time()) - 10_000)
    items = sign_readings(devices, 140, domain, ASSET)
    store = open_store(str(tmp_path / "load.db"))
    server = IngestServer(("127.0.0.1", 0), Ingestor(store, StaticDirectory(
        {d.signer.address: DeviceInfo(ASSET, 10**9, 1, 0) for d in devices}), domain))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = post_load(server.url, items, per_request=9, clients=3)
        assert (result.accepted, result.rejected, result.errors, result.readings) == (140, 0, 0, 140)
        assert store.counts()["readings_pending"] == 140 and result.rate > 0
        again = post_load(server.url, items[:20], per_request=20, clients=1, max_s=5)
        assert again.duplicate == 20  # resent readings are acknowledged, stored once
    finally:
        server.shutdown()
        server.server_close()
        store.close()
