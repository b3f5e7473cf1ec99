"""What a new user runs into first: funding a local wallet, keys and addresses, records, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from click.testing import CliRunner
from eth_account import Account
from web3 import HTTPProvider, Web3

from rwa_sdk.asset import InvestorProfile
from rwa_sdk.anvil import DEV_PRIVATE_KEYS, AnvilNode, free_port, rpc_answers
from rwa_sdk.cli import main
from rwa_sdk.settlement.stablecoin import UNIT

from ..conftest import ROOT
from .conftest import DAY, SPEC, investor

CLEAN_ENV = {"RWA_INVESTOR_KEY": None, "RWA_PRIVATE_KEY": None, "RWA_KEYSTORE": None, "RWA_NETWORK": None,
             "RWA_ASSET": None, "RWA_DEPLOYMENTS": None, "RWA_LOCALHOST_URL": None, "RWA_INVESTOR_KEYSTORE": None}


def invoke(*args: str, **env: str | None):
    return CliRunner().invoke(main, list(map(str, args)), env={**CLEAN_ENV, **env})


def one_clean_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    return errors[0]


# -- rwa dev fund -------------------------------------------------------------------------------
def test_dev_fund_gives_a_fresh_wallet_eth_and_usdc_then_it_can_subscribe(rwa, sun5):
    wallet = Account.create()
    funded = rwa("dev", "fund", wallet.address, "--eth", "0.5", "--usdc", "2500", "--asset", "SUN5", "--json")
    assert funded.exit_code == 0, funded.output
    assert sun5.chain.w3.eth.get_balance(wallet.address) == 5 * 10**17
    assert sun5.stablecoin.balance_of(wallet.address) == 2_500 * UNIT and json.loads(funded.stdout)["usdc"] == "2,500 USDC"
    sun5.onboard([InvestorProfile(wallet.address, "ES", 4)])
    subscribed = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "2500", "--accept", "--json", key=wallet)
    assert subscribed.exit_code == 0, subscribed.output
    assert sun5.token.balance_of(wallet.address) == 2_500
    assert f"investor: {wallet.address}" in subscribed.stderr and "signed by" in subscribed.stderr


def test_dev_fund_is_refused_on_a_chain_that_is_not_a_development_chain(compiled):
    with AnvilNode(chain_id=4242) as node:
        result = invoke("dev", "fund", Account.create().address, "--network", node.url,
                        RWA_PRIVATE_KEY=DEV_PRIVATE_KEYS[0])
        balance = Web3(HTTPProvider(node.url)).eth.get_balance(Account.from_key(DEV_PRIVATE_KEYS[0]).address)
    line = one_clean_line(result)
    assert "development chains only" in line and "chain 4242" in line
    assert balance == 10_000 * 10**18  # nothing was sent


def test_dev_fund_refuses_a_real_key_even_on_chain_31337(session_chain, records, sun5):
    result = invoke("dev", "fund", Account.create().address, "--network", session_chain.node.url,
                    "--deployments", records, RWA_PRIVATE_KEY="0x" + "42" * 32)
    assert "development chains only" in one_clean_line(result)


def test_subscribing_without_usdc_says_how_much_is_missing_and_how_to_get_it(rwa, sun5):
    poor = investor(sun5, usd=1)  # 1 USDC
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "1500", key=poor)
    line = one_clean_line(result)
    assert f"{poor.address} holds 1 USDC, less than 1,500 USDC" in line and "rwa dev fund" in line


def test_below_the_minimum_ticket_is_said_in_usdc(rwa, sun5):
    result = rwa("settle", "subscribe", "--asset", "SUN5", "--amount", "500.5", key=investor(sun5))
    assert "500.5 USDC is below the minimum ticket of 1,000 USDC" in one_clean_line(result)


# -- keys and addresses ---------------------------------------------------------------------------
def test_a_mixed_case_address_with_a_bad_checksum_is_refused(rwa, sun5):
    good = investor(sun5, country=None).address
    flipped = good[:-1] + (good[-1].lower() if good[-1].isupper() else good[-1].upper())
    if flipped[-1].isdigit():  # the last character is a digit: flip the case of the last letter instead
        index = max(i for i, c in enumerate(good) if c.isalpha() and i > 1)
        flipped = good[:index] + good[index].swapcase() + good[index + 1:]
    result = rwa("investor", "add", flipped, "--country", "ES", "--asset", "SUN5")
    assert "bad EIP-55 checksum" in one_clean_line(result)
    assert not sun5.token.registry.contains(good)
    typo = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
    assert "bad EIP-55 checksum" in one_clean_line(rwa("token", "can-transfer", good, typo, "1", "--asset", "SUN5"))
    lower = rwa("investor", "add", good.lower(), "--country", "ES", "--asset", "SUN5")  # all lower case: no checksum
    assert lower.exit_code == 0, lower.output


def test_a_private_key_that_is_not_32_bytes_is_refused_not_padded(rwa, sun5):
    holder = investor(sun5)
    short = holder.key.hex().removeprefix("0x")[1:]  # 63 digits: eth-account would sign as another account
    for variable in ("RWA_INVESTOR_KEY", "RWA_PRIVATE_KEY"):
        result = CliRunner().invoke(main, ["settle", "subscribe", "--asset", "SUN5", "--amount", "1000", "--network",
                                           sun5.chain.node.url, "--deployments", "/nonexistent"],
                                    env={**CLEAN_ENV, "RWA_INVESTOR_KEY": holder.key.hex(), variable: short})
        line = one_clean_line(result)
        assert "must be 32 bytes" in line and "63 characters" in line and short not in result.output


def test_a_missing_or_malformed_keystore_is_one_line(rwa, sun5, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"address": "00"}))
    cases = {tmp_path / "absent.json": "does not exist", broken: "is not JSON", wrong: "not an eth-account keyfile"}
    for path, expected in cases.items():
        result = invoke("asset", "list", "--network", sun5.chain.node.url, "--keystore", path)
        assert expected in one_clean_line(result)
        result = invoke("revenue", "claim", "--asset", "SUN5", "--network", sun5.chain.node.url, "--dev-accounts",
                        "--investor-keystore", path)
        assert expected in one_clean_line(result)


def test_an_investor_keystore_signs_investor_commands(rwa, sun5, records, tmp_path):
    holder = investor(sun5)
    keyfile = tmp_path / "ana.json"
    keyfile.write_text(json.dumps(Account.encrypt(holder.key, "pw", iterations=2)))
    result = CliRunner().invoke(main, ["settle", "subscribe", "--asset", "SUN5", "--amount", "1000", "--accept",
                                       "--investor-keystore", str(keyfile), "--network", sun5.chain.node.url,
                                       "--dev-accounts", "--deployments", str(records)],
                                env={**CLEAN_ENV, "RWA_KEYSTORE_PASSWORD": "pw"})
    assert result.exit_code == 0, result.output
    assert sun5.token.balance_of(holder.address) == 1_000 and holder.key.hex() not in result.output


def test_every_command_says_which_addresses_signed(rwa, sun5):
    wallet = Account.create().address
    result = rwa("investor", "add", wallet, "--country", "ES", "--asset", "SUN5")
    assert result.exit_code == 0, result.output
    assert f"signed by {sun5.roles.agent.address} (agent)" in result.stderr
    for key in DEV_PRIVATE_KEYS:
        assert key.removeprefix("0x") not in result.output


def test_localhost_uses_the_development_keys_only_on_chain_31337(compiled):
    with AnvilNode(chain_id=5) as node:
        result = invoke("asset", "list", "--network", "localhost", RWA_LOCALHOST_URL=node.url)
    line = one_clean_line(result)
    assert "chain id 5" in line and "development keys are refused" in line


# -- records --------------------------------------------------------------------------------------
def test_a_second_create_of_a_live_symbol_is_refused_unless_replace(rwa, sun5, fresh_records):
    first = rwa("asset", "create", SPEC, "--json", deployments=fresh_records)
    assert first.exit_code == 0, first.output
    again = rwa("asset", "create", SPEC, deployments=fresh_records)
    line = one_clean_line(again)
    assert "SUN5 is already deployed" in line and json.loads(first.stdout)["token"] in line and "--replace" in line
    replaced = rwa("asset", "create", SPEC, "--replace", "--json", deployments=fresh_records)
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.stdout)["token"] != json.loads(first.stdout)["token"]


def test_records_of_another_chain_with_the_same_id_are_reported_stale(rwa, sun5, fresh_records):
    created = rwa("asset", "create", SPEC, "--json", deployments=fresh_records)
    assert created.exit_code == 0, created.output
    path = fresh_records / f"{sun5.chain.chain_id}.assets.json"
    records = json.loads(path.read_text())
    assert records["SUN5"]["genesis"] == sun5.chain.genesis_hash
    records["SUN5"]["genesis"] = "0x" + "ab" * 32  # as if `rwa node` had restarted
    path.write_text(json.dumps(records))
    line = one_clean_line(rwa("asset", "show", "--asset", "SUN5", deployments=fresh_records))
    assert "stale" in line and "restarted" in line and "--replace" in line
    listed = rwa("asset", "list", "--json", deployments=fresh_records)
    assert "restarted" in json.loads(listed.stdout)[0]["stale"] and "stale record" in listed.stderr
    recreated = rwa("asset", "create", SPEC, "--json", deployments=fresh_records)  # stale: no --replace needed
    assert recreated.exit_code == 0, recreated.output


def test_connect_anvil_never_writes_the_projects_deployments(compiled):
    from rwa_sdk.asset import Asset
    from rwa_sdk.chain import connect

    before = sorted((ROOT / "deployments").glob("*")) if (ROOT / "deployments").exists() else []
    snapshot = {p: p.read_bytes() for p in before}
    with connect("anvil") as chain:
        asset = Asset.create(chain, SPEC)
        folder = chain.records_dir
        assert Asset.load(chain, "SUN5").addresses == asset.addresses
        assert (folder / f"{chain.chain_id}.assets.json").is_file()
    assert not folder.exists()
    after = sorted((ROOT / "deployments").glob("*")) if (ROOT / "deployments").exists() else []
    assert after == before and all(p.read_bytes() == snapshot[p] for p in after)


# -- refusals in words ----------------------------------------------------------------------------
def test_a_refused_transfer_says_the_rule_not_just_not_compliant(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    result = rwa("token", "transfer", buyer.address, "500", "--asset", "SUN5", key=seller)
    line = one_clean_line(result)
    assert "refused" in line and "LockUpModule" in line and "lock" in line.lower()
    assert sun5.token.balance_of(buyer.address) == 0
    sun5.chain.mine(91 * DAY)
    assert rwa("token", "transfer", buyer.address, "500", "--asset", "SUN5", key=seller).exit_code == 0


def test_adding_an_investor_twice_says_already_registered(rwa, sun5):
    wallet = Account.create().address
    assert rwa("investor", "add", wallet, "--country", "ES", "--asset", "SUN5").exit_code == 0
    line = one_clean_line(rwa("investor", "add", wallet, "--country", "ES", "--asset", "SUN5"))
    assert f"already registered for SUN5: {wallet}" in line


def test_can_transfer_names_countries_by_code_and_name(rwa, sun5):
    american = investor(sun5, "US", 5, professional=True)
    result = rwa("token", "can-transfer", "0x" + "00" * 20, american.address, "1000", "--asset", "SUN5")
    assert result.exit_code == 1 and "US (United States of America, 840)" in result.stdout


# -- transport errors, URLs, signals, ports -----------------------------------------------------
def test_oracle_commands_fail_in_one_line_without_the_rpc_secret(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v3/SECRETKEY?apikey=SECRET2"
    result = invoke("oracle", "proof", "0x" + "11" * 20, "1", "--rpc", url, "--db", tmp_path / "oracle.db",
                    "--oracle", "0x" + "22" * 20)
    line = one_clean_line(result)
    assert "SECRET" not in result.output and "127.0.0.1" in line


def test_a_transport_error_is_one_line_without_secrets(monkeypatch):
    import requests

    from rwa_sdk.commands import asset as asset_commands

    def boom(*_args, **_kwargs):
        raise requests.exceptions.ConnectionError("HTTPSConnectionPool(host='rpc.example', port=443): Max retries "
                                                  "exceeded with url: /v3/SECRETKEY (Caused by ...)")

    monkeypatch.setattr(asset_commands, "open_chain", boom)
    result = invoke("asset", "list", "--network", "https://rpc.example/v3/SECRETKEY")
    line = one_clean_line(result)
    assert "cannot reach the node" in line and "SECRET" not in result.output


def test_ctrl_c_exits_130_with_one_line(monkeypatch):
    from rwa_sdk.commands import asset as asset_commands

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(asset_commands, "open_chain", interrupted)
    result = invoke("asset", "list")
    assert result.exit_code == 130 and "interrupted" in result.stderr and "Traceback" not in result.output


def test_h_is_help_everywhere():
    for args in (["-h"], ["token", "-h"], ["asset", "create", "-h"], ["dev", "fund", "-h"]):
        result = invoke(*args)
        assert result.exit_code == 0 and "Usage:" in result.stdout, args


def test_rwa_node_on_a_busy_port_fails_clearly(compiled):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "rwa_sdk.cli", "node", "--port", str(port)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1 and f"port {port}" in result.stderr and "already in use" in result.stderr
    assert "listening" not in result.stderr and time.monotonic() - started < 30


def test_rwa_node_stops_on_sigint_with_its_anvil(compiled):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "rwa_sdk.cli", "node", "--port", str(port)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert "listening" in process.stderr.readline()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) in (0, 130)
    finally:
        if process.poll() is None:
            process.kill()
    assert not rpc_answers(f"http://127.0.0.1:{port}")  # anvil is gone with it


def test_the_oracle_store_defaults_to_the_project_not_the_working_directory(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".rwa").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    result = invoke("oracle", "proof", "0x" + "11" * 20, "1", "--rpc", f"http://127.0.0.1:{free_port()}",
                    RWA_PROJECT_ROOT=str(project), RWA_ORACLE_DB=None)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(project / ".rwa" / "oracle.db") in result.stderr
    assert list(elsewhere.iterdir()) == []
    explicit = invoke("oracle", "proof", "0x" + "11" * 20, "1", "--rpc", f"http://127.0.0.1:{free_port()}",
                      "--db", str(tmp_path / "mine.db"), RWA_PROJECT_ROOT=str(project))
    assert str(tmp_path / "mine.db") in explicit.stderr


def test_vault_errors_read_in_usdc_with_decimals():
    from rwa_sdk import errors
    from rwa_sdk.commands.common import in_words, usdc

    below = errors.error_class("BelowMinimum")({"amount": 500 * UNIT, "minimum": 1_000 * UNIT})
    assert in_words(below) == " (below minimum: 500 USDC < minimum 1,000 USDC)"
    cap = errors.error_class("PeriodCapExceeded")({"period": 0, "cap": 2_000_000 * UNIT, "total": 2_000_000_500_001})
    assert "2,000,000.500001 USDC would exceed the period's cap of 2,000,000 USDC" in in_words(cap)
    assert usdc(1_250_500_000) == "1,250.5 USDC" and usdc(0) == "0 USDC"


def test_urls_in_messages_keep_only_scheme_host_and_port():
    from rwa_sdk.chain import redact_url
    from rwa_sdk.commands.common import _without_urls

    assert redact_url("https://user:pw@rpc.example:8443/v3/KEY?x=1") == "https://rpc.example:8443/…"
    assert redact_url("http://127.0.0.1:8545:") == "http://127.0.0.1:8545"
    text = _without_urls("no node answers at https://rpc.example/v3/SECRET, nor at http://h:1/a?k=SECRET2.")
    assert "SECRET" not in text and "https://rpc.example/…" in text


def test_dev_accounts_lists_the_public_keys_and_their_roles(rwa, sun5):
    result = rwa("dev", "accounts", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["private_key"] for r in rows] == list(DEV_PRIVATE_KEYS)
    assert rows[1]["address"] == sun5.roles.agent.address and rows[1]["role"] == "agent"
    assert rows[9]["role"] == "free (investor)"
