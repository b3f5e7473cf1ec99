from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.anvil import AnvilNode, rpc_answers
from rwa_sdk.chain import ChainError, connect


@pytest.fixture
def probe(chain, probe_artifact):
    contract, _ = chain.deploy(probe_artifact, 10**6)
    return contract


def test_transaction_revert_raises_decoded_openzeppelin_error(chain, probe):
    receiver = chain.accounts[1].address
    with pytest.raises(errors.ERC20InsufficientBalance) as caught:
        chain.transact(probe.functions.transfer(receiver, 10**6 + 1))
    assert caught.value.sender == chain.accounts[0].address
    assert (caught.value.balance, caught.value.needed) == (10**6, 10**6 + 1)


def test_call_reverts_decode_custom_error_string_and_panic(chain, probe):
    with pytest.raises(errors.TooLarge) as caught:
        chain.call(probe.functions.checkAmount(5000))
    assert caught.value.args_dict == {"caller": chain.accounts[0].address, "amount": 5000, "limit": 1000}
    with pytest.raises(errors.Revert, match="unlucky"):
        chain.call(probe.functions.checkAmount(13))
    with pytest.raises(errors.Panic) as panic:
        chain.call(probe.functions.checkAmount(7))
    assert panic.value.code == 0x12
    assert chain.call(probe.functions.checkAmount(8)) == 100


def test_mined_failure_is_replayed_for_its_reason(chain, probe):
    receiver = chain.accounts[1].address
    with pytest.raises(errors.ERC20InsufficientBalance):
        chain.transact(probe.functions.transfer(receiver, 10**7), gas=100_000)


def test_transact_returns_receipt_and_events(chain, probe):
    sent = chain.transact(probe.functions.transfer(chain.accounts[2].address, 25))
    assert sent.receipt["status"] == 1 and sent.gas_used > 21_000
    assert sent.events(probe, "Transfer") == [
        {"from": chain.accounts[0].address, "to": chain.accounts[2].address, "value": 25}
    ]


def test_snapshot_revert_restores_state(chain, probe):
    snapshot = chain.snapshot()
    chain.transact(probe.functions.transfer(chain.accounts[3].address, 1))
    chain.revert(snapshot)
    assert probe.functions.balanceOf(chain.accounts[3].address).call() == 0


def test_keystore_account_signs_on_an_rpc_url(chain, tmp_path, monkeypatch):
    account = Account.create()
    keyfile = tmp_path / "key.json"
    keyfile.write_text(__import__("json").dumps(Account.encrypt(account.key, "correct horse")))
    chain.send_value(account.address, 10**18)
    monkeypatch.setenv("RWA_KEYSTORE_PASSWORD", "correct horse")
    remote = connect(chain.node.url + "/", keystore=keyfile)
    assert [a.address for a in remote.accounts] == [account.address]
    sent = remote.send_value(chain.accounts[5].address, 1234)
    assert sent.receipt["from"] == account.address


def test_wrong_keystore_password_fails_without_leaking_the_key(chain, tmp_path):
    account = Account.create()
    keyfile = tmp_path / "key.json"
    keyfile.write_text(__import__("json").dumps(Account.encrypt(account.key, "right")))
    with pytest.raises(ChainError) as caught:
        connect(chain.node.url, keystore=keyfile, password="wrong")
    assert "wrong password" in str(caught.value)
    assert account.key.hex().removeprefix("0x") not in str(caught.value)


def test_private_key_from_environment_for_remote_urls(chain, monkeypatch):
    account = Account.create()
    monkeypatch.setenv("RWA_PRIVATE_KEY", account.key.hex())
    remote = connect(chain.node.url + "/")
    assert remote.deployer.address == account.address
    assert account.key.hex() not in repr(remote)
    monkeypatch.setenv("RWA_PRIVATE_KEY", "not-a-key")
    with pytest.raises(ChainError) as caught:
        connect(chain.node.url + "/")
    assert "not-a-key" not in str(caught.value)


def test_unknown_network_and_dead_url_are_clear_errors():
    with pytest.raises(ChainError, match="unknown network"):
        connect("mainnet-please")
    with pytest.raises(ChainError, match="no node answers"):
        connect("http://127.0.0.1:9")


def test_anvil_context_manager_stops_the_node():
    with AnvilNode() as node:
        assert rpc_answers(node.url)
        pid = node.process.pid
    assert not rpc_answers(node.url)
    assert not _running(pid)


def test_anvil_dies_with_a_killed_parent(tmp_path):
    script = (
        "import sys, time\n"
        "from rwa_sdk.anvil import AnvilNode\n"
        "node = AnvilNode().start()\n"
        "print(node.url, node.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    url, pid = parent.stdout.readline().split()
    assert rpc_answers(url)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and rpc_answers(url, timeout=0.2):
        time.sleep(0.1)
    assert not rpc_answers(url)
    time.sleep(0.2)
    assert not _running(int(pid))


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper in containers)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_rpc_url_secrets_stay_out_of_errors():
    with pytest.raises(ChainError) as caught:
        connect("http://user:pw@127.0.0.1:9/v3/SECRETKEY?apikey=SECRET2")
    assert "SECRET" not in str(caught.value) and "pw" not in str(caught.value)
    assert "http://127.0.0.1:9/…" in str(caught.value)
