"""``rwa serve`` as a user starts it, its one-line errors, and the parameter checks under attack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from rwa_sdk.cli import main
from rwa_sdk.commands.serve import browser_rpc_default
from rwa_sdk.portal.api import parse_day, parse_int, parse_wallet

from ..conftest import ROOT

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_rwa_serve_serves_the_recorded_assets_until_stopped(world, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from rwa_sdk.cli import main; main()", "serve", "--network", world.chain.node.url,
         "--deployments", str(world.records), "--oracle-db", str(world.oracle_db), "--port", str(port),
         "--cache", str(tmp_path / "cache"), "--poll", "0.5"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/api/assets", timeout=5).json()
                if body["assets"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert body and [a["symbol"] for a in body["assets"]] == ["SUN5"], process.stderr.read() if process.poll() else body
        assert httpx.get(f"http://127.0.0.1:{port}/api/assets/SUN5/issuer/cap-table").status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "words"), [
    (["--network", "anvil"], "use --network localhost"),
    (["--network", "http://127.0.0.1:9"], "no node answers at http://127.0.0.1:9"),
    (["--network", "ftp://example"], "unknown network"),
    (["--port", "70000"], "70000"),
])
def test_rwa_serve_errors_are_one_line_without_traceback(args, words):
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code in (1, 2) and words in result.output
    assert "Traceback" not in result.output


def test_a_node_url_that_may_hold_a_key_is_never_given_to_the_browser():
    assert browser_rpc_default("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    for url in ("https://mainnet.example/v3/SECRETKEY", "https://user:pass@node.example", "https://node.example/?key=1"):
        assert browser_rpc_default(url) is None


@given(st.text(max_size=80))
def test_any_text_is_a_valid_date_or_a_400(text):
    try:
        day = parse_day(text, "from")
    except HTTPException as exc:
        assert exc.status_code == 400 and "from" in exc.detail
    else:
        assert day is None or len(day) == 10


@given(st.text(max_size=80))
def test_any_text_is_an_address_or_a_400(text):
    try:
        wallet = parse_wallet(text)
    except HTTPException as exc:
        assert exc.status_code == 400
    else:
        assert wallet is None or (wallet.startswith("0x") and len(wallet) == 42 and wallet.lower() == text.lower())


@given(st.one_of(st.text(max_size=40), st.integers().map(str)))
def test_any_text_is_a_seq_in_range_or_a_400(text):
    try:
        seq = parse_int(text, "seq", 0, 2**64 - 1)
    except HTTPException as exc:
        assert exc.status_code == 400
    else:
        assert 0 <= seq < 2**64 and seq == int(text) and text.isascii()
